#!/bin/sh
# spm-fuzz-t5.sh: random texts through t5-small's tokenizer.json (Unigram,
# Precompiled normalizer) in tokemb (bench/unigram-t5, libtokemb's
# tk_precompiled_normalize + tk_unigram_encode) and in Hugging Face
# tokenizers (npm tokenizers@0.23.2); prints how many differ, and times both.
# Usage: bench/spm-fuzz-t5.sh [COUNT [TOKEMB_DATA]]   (after make)
set -eu
count=${1:-2000}
data=${2:-${TOKEMB_DATA:-../shared/data}}
build=${BUILD:-build}
json=$data/tokenizers/t5-small/tokenizer.json
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
[ -f "$json" ] || { echo "$json absent"; exit 0; }
[ -d /opt/tokemb-peers/npm/node_modules/tokenizers ] || { echo "npm tokenizers absent"; exit 0; }
# shellcheck disable=SC2046
cc -O2 -Ilib -o "$tmp/unigram-t5" bench/unigram-t5.c "$build/libtokemb.a" \
	$(pkg-config --libs libutf8proc libcjson) -lm
/usr/bin/python3 - "$count" "$tmp/in" <<'PY'
import random, sys
random.seed(int(sys.argv[1]))
pool = (list("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.,;:!?'\"-_()[]/")
        + [" ", " ", "  ", "\t", "\n", "\u2581", "\u00a0", "\u3000", "\u2009", "\u200b"]
        + list("éèêëñüößçåæøœÅ") + ["e\u0301", "a\u0308", "\u0301", "\u0327", "\u0300\u0301",
           "ｅ\u0301", "ﬁ\u0301", "A\u030a"]
        + list("ｆｕｌｌＡＢ０１ｱｶﾞﾊﾟ") + list("日本語中文한국어テスト") + ["\u1100\u1161\u11a8"]
        + ["😀", "👍🏽", "👨‍👩‍👧", "🇫🇷", "❤️", "☺\ufe0f", "🫠", "🧑🏽‍💻"]
        + ["क्ष", "नमस्ते", "ที่", "กำ", "ᄀ", "ᅡ", "ᆨ", "\u0e33", "ำ", "\u200d", "\u200c"]
        + ["ﬁ", "①", "⑴", "½", "™", "Ω", "ǅ", "𝔘", "𝟘", "㍻", "℃", "\u0007", "\u007f",
           "hello", "the", "ing", "▁the"])
out = []
for _ in range(int(sys.argv[1])):
    out.append("".join(random.choice(pool) for _ in range(random.randint(0, 30))))
open(sys.argv[2], "w").write("".join(t + "\0" for t in out))
PY
cat > "$tmp/peer.js" <<'JS'
const fs = require('fs');
const {Tokenizer} = require('tokenizers');
const tok = Tokenizer.fromFile(process.argv[2]);
tok.disablePadding(); tok.disableTruncation();
const docs = fs.readFileSync(process.argv[3], 'utf8').split('\0'); docs.pop();
(async () => {
  const out = [];
  for (const t of docs) {
    const e = await tok.encode(t, null, {addSpecialTokens: false});
    out.push(e.getIds().join(' '));
  }
  process.stdout.write(out.join('\n') + '\n');
})();
JS
/usr/bin/time -f "tokemb %U+%S s cpu" "$tmp/unigram-t5" "$json" "$tmp/in" > "$tmp/got"
NODE_PATH=/opt/tokemb-peers/npm/node_modules /usr/bin/time -f "HF tokenizers %U+%S s cpu" \
	node "$tmp/peer.js" "$json" "$tmp/in" > "$tmp/want"
if [ "$(wc -l < "$tmp/got")" -ne "$count" ] || [ "$(wc -l < "$tmp/want")" -ne "$count" ]; then
	echo "line counts differ"; exit 1
fi
bad=$(paste -d '|' "$tmp/got" "$tmp/want" | awk -F'|' '$1 != $2' | wc -l)
echo "t5-small: $bad of $count random texts differ"
if [ "$bad" -gt 0 ] && [ -n "${SHOW:-}" ]; then
	paste -d '|' "$tmp/got" "$tmp/want" | awk -F'|' '$1 != $2 { print NR": "$0 }' | head -5
	cp "$tmp/in" "$tmp/got" "$tmp/want" /tmp/ 2>/dev/null || true
fi
