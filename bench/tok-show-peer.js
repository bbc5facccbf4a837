// The textbook's show_tokens, with Hugging Face tokenizers (npm tokenizers,
// Rust): encode the text, then print each token on a coloured background.
// mode "decode": each token as tokenizer.decode([id]) (what the notebook
// does); mode "offsets": each token as the slice of the text its offsets
// cover (what tok-show does).  Usage: node tok-show-peer.js MODE tokenizer.json FILE
const { Tokenizer } = require('tokenizers');
const fs = require('fs');
const colors = ['102;194;165', '252;141;98', '141;160;203', '231;138;195', '166;216;84', '255;217;47'];
(async () => {
  const [mode, json, file] = process.argv.slice(2);
  const t = Tokenizer.fromFile(json);
  const text = fs.readFileSync(file, 'utf8');
  const e = await t.encode(text);
  const ids = e.getIds(), offs = e.getOffsets();
  const out = [];
  for (let i = 0; i < ids.length; i++) {
    const s = mode === 'decode' ? await t.decode([ids[i]], false) : text.slice(offs[i][0], offs[i][1]);
    out.push('\x1b[0;30;48;2;' + colors[i % 6] + 'm' + s + '\x1b[0m');
  }
  out.push('\n');
  fs.writeFileSync(1, out.join(''));
})();
