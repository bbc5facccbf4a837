// bench/tok-peer.js PEER MODEL FILE: encode each line of FILE with a peer
// tokenizer and print one line of ids per line (as tok-encode does).
//   tiktoken-node cl100k|o200k   @anysphere/tiktoken-node (tiktoken-rs, native)
//   tiktoken      cl100k|o200k   tiktoken (OpenAI tiktoken, WASM), encode_ordinary
//   hf            tokenizer.json tokenizers (Hugging Face, native), no special tokens
const fs = require('fs');
const [peer, model, file] = process.argv.slice(2);
// -whole: the whole file is one document (raw throughput, no per-call cost)
const whole = peer.endsWith('-whole');
const text = fs.readFileSync(file, 'utf8');
const lines = whole ? [text] : text.split('\n');
if (!whole && lines[lines.length - 1] === '') lines.pop();
// TOK_PEER_WARM=N: the encode is run once to warm, then N times more;
// the least CPU time of those (user + system, all threads, seconds) is
// written to stderr: the warm in-process figure, without start-up or load
const warm = parseInt(process.env.TOK_PEER_WARM || '0', 10);
let encode;
(async () => {
  if (peer.startsWith('tiktoken-node')) {
    const t = require('@anysphere/tiktoken-node');
    const k = t.getTokenizer();
    const enc = model === 'o200k' ? t.SupportedEncoding.O200k : t.SupportedEncoding.Cl100k;
    encode = async () => {
      const out = [];
      for (const l of lines)
        out.push((await k.encode(l, enc, t.SpecialTokenAction.NormalText, [])).join(' '));
      return out;
    };
  } else if (peer.startsWith('tiktoken')) {
    const {get_encoding} = require('tiktoken');
    const e = get_encoding(model + '_base');
    encode = async () => lines.map((l) => Array.from(e.encode_ordinary(l)).join(' '));
  } else if (peer.startsWith('hf')) {
    const {Tokenizer} = require('tokenizers');
    const t = Tokenizer.fromFile(model);
    t.disablePadding(); t.disableTruncation();
    encode = async () => {
      const out = [];
      for (let i = 0; i < lines.length; i += 1000) {
        const batch = await t.encodeBatch(lines.slice(i, i + 1000), {addSpecialTokens: false});
        for (const e of batch) out.push(Array.from(e.getIds()).join(' '));
      }
      return out;
    };
  } else {
    throw new Error('unknown peer ' + peer);
  }
  let out = await encode();
  let best = Infinity;
  for (let k = 0; k < warm; k++) {
    const c0 = process.cpuUsage();
    out = await encode();
    const c = process.cpuUsage(c0);
    best = Math.min(best, (c.user + c.system) / 1e6);
  }
  if (warm) process.stderr.write(best.toFixed(4) + '\n');
  fs.writeFileSync(1, out.join('\n') + (out.length ? '\n' : ''));
})();
