// Used by t/gen-tok-cases.sh: write the texts and the HF tokenizers and
// tiktoken encodings of each (see there).
const fs = require('fs');
const {Tokenizer} = require('tokenizers');
const {Tiktoken} = require('tiktoken/lite');
const D = process.env.D, out = process.env.out;
const texts = [
  // whitespace runs
  'a  b   c    d     e', '\t\t x\t', '  \n\n  \n', 'x \u00a0 y\u00a0\u00a0z', 'trailing   ',
  '\u3000全角\u3000スペース', 'a\u2009b\u200ac\u2028d\u2029e\u0085f', ' \r\n \r\n', '\n\n\n\nx\n',
  'tab\tseparated\tvalues\t\t\tend', ' leading', '   ',
  // digits
  '1234567890', '٣٤٥ ١٢ ۱۲۳', '3.14159265358979', '1,000,000 and 10^10', 'x1y22z333w4444',
  '２０２４年', 'Ⅻ ½ ² ⑳', '0000000000000000000001',
  // contractions, capitals
  "I'M HERE, YOU'RE THERE, IT'S OK, WE'VE GONE, THEY'LL, HE'D", "don't DON'T Don'T dOn'T",
  "'s 'S 'sT 'Ll 'VE", "rock'n'roll o'clock y'all ma'am", 'HeLLo WoRLD CamelCaseWord snake_case_word',
  'İstanbul ΣΑΣ ß ǅ ﬁ ﬀ ℌ', 'ÀÉÎÕÜ àéîõü',
  // combining marks
  'e\u0301 a\u0300 n\u0303 o\u0308', 'Ḁ\u0325\u0301 q\u0307\u0323', 'Z\u0324\u0354\u0367a\u0308\u0356l\u036eg\u030co',
  'नमस्ते दुनिया क्षत्रिय', 'مَرْحَبًا بِكُمْ',
  // scripts without spaces
  '日本語のテキストはスペースなしで書かれます。', 'ภาษาไทยไม่มีการเว้นวรรคระหว่างคำ', '中文文本没有空格分隔，标点符号也不同。',
  '한국어텍스트도가끔붙여쓴다', 'ລາວ ខ្មែរ မြန်မာ',
  // emoji sequences
  '👨‍👩‍👧‍👦 👍🏽 🇫🇷🇩🇪 ❤️ 🏳️‍🌈', '😀😀😀😀😀😀😀😀', 'emoji👍in🎉words', '1️⃣2️⃣ #️⃣',
  // control characters
  'a\u0000b\u0001c\u001fd\u007fe', 'line\rfeed\u000bvt\u000cff', 'zero\u200bwidth\u200djoiner\ufeffbom\u00ad',
  '\u0080\u009f c1 controls', 'rtl\u202eoverride\u202c',
  // special-token text inside text
  'hello<|endoftext|>world', '[CLS]x[SEP] [MASK] <s>a</s> <unk> <pad>', '<|im_start|>user\nhi<|im_end|>\n',
  '<start_of_turn>model\nhi<end_of_turn>', '<|begin_of_text|>x<|eot_id|>', 'a <mask> b<mask>c', '<<|endoftext|>>',
  // very long words
  'a'.repeat(300), 'Pneumonoultramicroscopicsilicovolcanoconiosis'.repeat(5), 'x'.repeat(150) + 'y'.repeat(150),
  'ab'.repeat(200), '🤖'.repeat(60), '1'.repeat(100), '-'.repeat(120), '.'.repeat(50) + ' ' + '!'.repeat(50),
  // code and markup
  'for (int i = 0; i < n; ++i) { x[i] *= 2; }\n', '<div class="a">&amp; &lt;b&gt;</div>', '$ grep -rn "foo" ./src | head -n10',
  'SELECT * FROM t WHERE a>=1 AND b<>2;', '    def f(self):\n        return {"k": [1, 2.5e-3]}\n',
];
fs.writeFileSync(out + '/texts.json', JSON.stringify(texts));
const HF = ['all-MiniLM-L6-v2', 'all-mpnet-base-v2', 'bert-base-uncased', 'gemma3', 'gpt-4-cl100k-hf',
            'gpt-4o-hf', 'gpt2', 'llama3', 'phi-3-mini', 'qwen3', 't5-small'];
const TT = ['cl100k_base', 'o200k_base', 'p50k_base', 'r50k_base'];
(async () => {
  for (const name of HF) {
    const t = Tokenizer.fromFile(D + '/tokenizers/' + name + '/tokenizer.json');
    t.disablePadding(); t.disableTruncation();
    const lines = [];
    for (const text of texts) {
      const a = await t.encode(text, null, {addSpecialTokens: false});
      const b = await t.encode(text, null, {addSpecialTokens: true});
      const ids = Array.from(a.getIds()), idsw = Array.from(b.getIds());
      const dec = await t.decode(idsw, true);
      lines.push(JSON.stringify({text, ids, ids_with_special: idsw, decoded_skip_special: dec}));
    }
    fs.writeFileSync(out + '/hf-' + name + '.jsonl', lines.join('\n') + '\n');
  }
  const ttpath = require.resolve('tiktoken/lite').replace(/lite\.js$|lite\/.*$/, '');
  for (const name of TT) {
    const m = JSON.parse(fs.readFileSync(ttpath + 'encoders/' + name + '.json', 'utf8'));
    const e = new Tiktoken(fs.readFileSync(D + '/tokenizers/tiktoken/' + name + '.tiktoken', 'utf8'),
                           m.special_tokens, m.pat_str);
    const lines = texts.map(text => JSON.stringify({text,
      ids_ordinary: Array.from(e.encode_ordinary(text)), ids_allow_special: Array.from(e.encode(text, 'all'))}));
    fs.writeFileSync(out + '/tt-' + name + '.jsonl', lines.join('\n') + '\n');
    e.free();
  }
  {
    const P = String.raw`(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`;
    const e = new Tiktoken(fs.readFileSync(D + '/tokenizers/llama3/original_tokenizer.model', 'utf8'), {}, P);
    const lines = texts.map(text => JSON.stringify({text, ids_ordinary: Array.from(e.encode_ordinary(text))}));
    fs.writeFileSync(out + '/tt-llama3-original.jsonl', lines.join('\n') + '\n');
    e.free();
  }
})();
