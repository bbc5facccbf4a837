#!/bin/sh
# spm-fuzz.sh: random texts (ASCII, whitespace runs, U+2581, accents and
# combining marks, full-width forms, CJK, emoji, invalid UTF-8) encoded by
# tokemb (bench/spm-encode) and by python3-sentencepiece 0.1.97, and six
# runs of 70 to 120 thousand characters without whitespace; prints the
# number of texts whose ids differ, per model.
# Usage: bench/spm-fuzz.sh [COUNT [TOKEMB_DATA]]   (after make)
set -eu
count=${1:-2000}
data=${2:-${TOKEMB_DATA:-../shared/data}}
build=${BUILD:-build}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT; [ -n "${KEEP:-}" ] && trap - EXIT && echo "$tmp"
# shellcheck disable=SC2046
cc -O2 -Ilib -o "$tmp/spm-encode" bench/spm-encode.c "$build/libtokemb.a" \
	$(pkg-config --libs libutf8proc) -lm
/usr/bin/python3 -c 'import sentencepiece' 2>/dev/null || { echo "python3-sentencepiece absent"; exit 0; }
# A realistic Unigram .model: t5-small's vocabulary, scores and charsmap
# (from its tokenizer.json) written as a SentencePiece ModelProto, as T5's
# own spiece.model is.
t5json=$data/tokenizers/t5-small/tokenizer.json
if [ -f "$t5json" ]; then
	/usr/bin/python3 bench/spm-t5model.py "$t5json" "$tmp/t5.model"
fi
for model in "$data/tokenizers/llama2/tokenizer.model" "$tmp/t5.model" t/data/spm/*.model; do
	[ -f "$model" ] || continue
	/usr/bin/python3 - "$model" "$count" "$tmp/in" "$tmp/want" <<'PY'
import random, sys, sentencepiece as spm
sp = spm.SentencePieceProcessor(model_file=sys.argv[1])
random.seed(int(sys.argv[2]))
pool = (list("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.,;:!?'\"-_()[]<>/\\")
        + [" ", " ", " ", "  ", "\t", "\n", "\r\n", "\u2581", "\u00a0", "\u3000"]
        + list("éèêëñüößçåæøœ") + ["e\u0301", "a\u0308", "\u0301", "\u0327"]
        + list("ｆｕｌｌＡＢ０１ｱｶﾞ") + list("日本語中文한국어テスト") + ["😀", "👍🏽", "👨‍👩‍👧", "🇫🇷", "❤️"]
        + ["ﬁ", "①", "½", "™", "Ω", "ǅ", "𝔘", "\u200b", "\u0007", "<s>", "</s>", "<unk>",
           "<sep>", "[MASK]", "hello", "<0x41>", "the", "ing", " the"])
docs, want = [], []
for _ in range(int(sys.argv[2])):
    t = "".join(random.choice(pool) for _ in range(random.randint(0, 40)))
    b = t.encode("utf-8")
    if random.random() < 0.1 and b:
        i = random.randrange(len(b))
        b = b[:i] + bytes([random.choice([0x80, 0xc3, 0xe2, 0xff, 0xf0])]) + b[i:]
    b = b.replace(b"\0", b"")
    docs.append(b)
    want.append(" ".join(map(str, sp.encode(b))))
# long runs without whitespace (a BPE model merges them in bounded memory,
# spm.c's bpe_long): random characters, and one character repeated
solid = [c for c in pool if not any(x.isspace() or x == "\u2581" for x in c)]
for k in range(6):
    if k < 3:
        t = "".join(random.choice(solid) for _ in range(random.randint(70000, 120000)))
    else:
        t = random.choice(["a", "ab", "\u4e2d", "\U0001f600"]) * random.randint(70000, 100000)
    docs.append(t.encode("utf-8"))
    want.append(" ".join(map(str, sp.encode(t.encode("utf-8")))))
open(sys.argv[3], "wb").write(b"".join(d + b"\0" for d in docs))
open(sys.argv[4], "w").write("".join(w + "\n" for w in want))
PY
	"$tmp/spm-encode" -w "$model" "$tmp/in" > "$tmp/got"
	bad=$(paste -d '|' "$tmp/got" "$tmp/want" | awk -F'|' '$1 != $2' | wc -l)
	echo "$(basename "$model"): $bad of $count random texts and 6 long runs differ"
done
