#!/bin/sh
# gen-spm-t5.sh: regenerate t/data/spm/t5-cases.jsonl, the ids Hugging Face
# tokenizers (npm tokenizers@0.23.2, the Rust native addon, in
# /opt/tokemb-peers) gives for t5-small's tokenizer.json (Unigram with the
# Precompiled normalizer) on texts that stress per-grapheme normalization.
# Usage: t/gen-spm-t5.sh [TOKEMB_DATA]
set -eu
cd "$(dirname "$0")/data/spm"
data=${1:-${TOKEMB_DATA:-../../../../shared/data}}
NODE_PATH=/opt/tokemb-peers/npm/node_modules node - "$data/tokenizers/t5-small/tokenizer.json" > t5-cases.jsonl <<'JS'
const {Tokenizer} = require('tokenizers');
const texts = [
  "", " ", "hello world", "  many   spaces  ", "Hello, World! 123",
  "ｆｕｌｌ ＷＩＤＴＨ ０１２ ＡBC", "e\u0301 \u00e9 \u212b A\u030a", "ｅ\u0301 ｅ\u0301\u0301",
  "ﬁ ﬂ ① ㍻ ½ ™ ℃", "日本語のテキスト東京", "😀👍🏽👨‍👩‍👧 🇫🇷 ❤️",
  "tabs\tand\nnew\r\nlines", "don't I'M YOU'RE", "x".repeat(200),
  "\u00a0nbsp\u2009thin\u3000ideo\u200bzw", "control\u0001\u0007chars\u007f",
  "ℌ𝔢𝔩𝔩𝔬 𝔚𝔬𝔯𝔩𝔡", "\u0301leading combining", "Ω ω Ω Å",
  "한국어 텍스트 \u1100\u1161\u11a8", "Привет, мир!", "שלום עולם", "مرحبا بالعالم",
  "a\u2581b \u2581\u2581c", "Straße STRASSE naïve café", "ǅ ǈ ǋ ῼ ﬀ",
  "ｱｲｳｴｵ ｶﾞ ﾊﾟ", "①②③ ⑴ ⒈ ㈠", "x\u0300\u0301\u0302\u0303\u0304y",
  "𝟘𝟙𝟚 𝐀𝐁𝐂", "zzzzqqqq ÿÿÿ ǿ", "mixed 日本 and english 😀 text",
];
const tok = Tokenizer.fromFile(process.argv[2]); tok.disablePadding(); tok.disableTruncation();
(async () => {
  for (const t of texts) {
    const e = await tok.encode(t, null, {addSpecialTokens: false});
    console.log(JSON.stringify({text: t, ids: e.getIds()}));
  }
})();
JS
wc -l t5-cases.jsonl
