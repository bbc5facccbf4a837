#!/bin/sh
# gen-spm.sh: regenerate the SentencePiece fixtures in t/data/spm/ with the
# reference implementation: Debian sentencepiece (spm_train) and
# python3-sentencepiece 0.1.97 (run as /usr/bin/python3, which sees the
# Debian module).  Usage: t/gen-spm.sh [TOKEMB_DATA]
# Writes tiny trained models (*.model), the expected encodings of a set of
# tricky texts for each (*.jsonl: text, ids, pieces, decoded), and, when the
# shared data is there, llama2-cases.jsonl for llama2/tokenizer.model.
set -eu
cd "$(dirname "$0")/data/spm"
data=${1:-${TOKEMB_DATA:-../../../../shared/data}}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

/usr/bin/python3 - "$tmp/corpus.txt" <<'PY'
import random, sys
random.seed(7)
syl = "ka ri to na me lo su pe da chi ren vol ter mis an ing ed er the qu ick " \
      "bro wn fox jum ps ov la zy dog 12 34 2024 3.14".split()
extra = ["café", "naïve", "Straße", "ｆｕｌｌ", "ＡＢＣ", "日本語", "東京", "😀", "👍🏽",
         "e\u0301", "Ω", "ﬁ", "①", "hello", "<sep>", "[MASK]", "don't", "I'M"]
with open(sys.argv[1], "w") as f:
    for _ in range(3000):
        words = []
        for _ in range(random.randint(3, 12)):
            if random.random() < 0.15:
                words.append(random.choice(extra))
            else:
                words.append("".join(random.choice(syl) for _ in range(random.randint(1, 3))))
        f.write(" ".join(words) + random.choice([".", "!", "?", ",", ""]) + "\n")
PY

train() {
	spm_train --input="$tmp/corpus.txt" --num_threads=1 --seed_sentencepiece_size=5000 \
		--minloglevel=2 "$@" >/dev/null
}
train --model_prefix=bpe-user --model_type=bpe --vocab_size=400 \
	--byte_fallback=true --normalization_rule_name=identity \
	--user_defined_symbols='<sep>,[MASK],hello' --control_symbols='<ctl>'
train --model_prefix=unigram-nfkc --model_type=unigram --vocab_size=400 \
	--normalization_rule_name=nmt_nfkc --user_defined_symbols='<sep>'
train --model_prefix=unigram-id --model_type=unigram --vocab_size=300 \
	--normalization_rule_name=identity --remove_extra_whitespaces=false \
	--character_coverage=0.98
rm -f ./*.vocab

# bpe-edit.model: bpe-user.model edited by hand so that pieces span word
# boundaries ("e\u2581", "s\u2581\u2581") and some merged pieces are UNUSED
# (sentencepiece then splits them again): the paths a trained model rarely
# takes.
/usr/bin/python3 - <<'PY'
import struct
def varint(b, i):
    r = s = 0
    while True:
        c = b[i]; i += 1
        r |= (c & 0x7F) << s; s += 7
        if c < 0x80:
            return r, i
def enc_varint(v):
    out = bytearray()
    while True:
        c = v & 0x7F; v >>= 7
        out.append(c | (0x80 if v else 0))
        if not v:
            return bytes(out)
def fields(b):
    i = 0
    while i < len(b):
        k, i = varint(b, i)
        wt = k & 7
        if wt == 0:
            v, i = varint(b, i)
        elif wt == 5:
            v = b[i:i + 4]; i += 4
        elif wt == 1:
            v = b[i:i + 8]; i += 8
        else:
            n, i = varint(b, i); v = b[i:i + n]; i += n
        yield k >> 3, wt, v
def enc(f, wt, v):
    k = enc_varint(f << 3 | wt)
    if wt == 0:
        return k + enc_varint(v)
    if wt == 2:
        return k + enc_varint(len(v)) + v
    return k + v
def piece(s, score, t):
    return enc(1, 2, s.encode()) + enc(2, 5, struct.pack("<f", score)) + enc(3, 0, t)
src = open("bpe-user.model", "rb").read()
out, unused = bytearray(), 0
for f, wt, v in fields(src):
    if f == 1:
        d = {ff: vv for ff, _, vv in fields(v)}
        s = d[1].decode()
        t = d.get(3, 1)
        if t == 1 and len(s) >= 3 and not s.startswith("\u2581") and unused < 6:
            t, unused = 5, unused + 1
        out += enc(1, 2, piece(s, struct.unpack("<f", d.get(2, b"\0\0\0\0"))[0], t))
    else:
        out += enc(f, wt, v)
for s, score in (("e\u2581", 0.5), ("s\u2581\u2581", 0.25), ("o\u2581t", 0.0)):
    out += enc(1, 2, piece(s, score, 1))
open("bpe-edit.model", "wb").write(bytes(out))
PY

/usr/bin/python3 - "$data" <<'PY'
import json, os, sys, sentencepiece as spm
texts = [
    "", " ", "  ", "\t", "\n", "a", "hello world", "  hello   world  ",
    "Hello, world!", "hello<sep>world [MASK] hellohello", "<ctl> <s> </s> <unk>",
    "café naïve Straße", "ｆｕｌｌ ＷＩＤＴＨ ０１２", "e\u0301 \u00e9 \u212b A\u030a",
    "ﬁ ﬂ ① ㍻ ½", "日本語のテキスト東京", "😀👍🏽👨‍👩‍👧 🇫🇷", "tabs\tand\nnew\r\nlines",
    "don't I'M YOU'RE we'll", "12345 3.14159 1,000,000", "x" * 300,
    "a  b   c    d", "\u00a0nbsp\u2009thin\u3000ideo", "control\u0001\u0007chars",
    "ＡＢＣ abc ＡBC", "ℌ𝔢𝔩𝔩𝔬", "qu ick bro wn fox", "zzzzqqqq ÿÿÿ",
    "\u0301leading combining", "Ω ω Ω", "mixed 日本 and english 😀 text",
    "   leading and trailing   ", "ק שלום עולם", "Привет мир", "🎵 鸟",
]
def varint(b, i):
    r = s = 0
    while True:
        c = b[i]; i += 1
        r |= (c & 0x7F) << s; s += 7
        if c < 0x80:
            return r, i
def fields(b):
    i = 0
    while i < len(b):
        k, i = varint(b, i)
        if k & 7 == 0:
            v, i = varint(b, i)
        else:
            n, i = varint(b, i); v = b[i:i + n]; i += n
        yield k >> 3, v
def spans(sp, t):
    """byte offsets of each piece, from SentencePieceText (EncodeAsSerializedProto)"""
    out = []
    for f, v in fields(sp.EncodeAsSerializedProto(t)):
        if f == 2:
            d = dict(fields(v))
            out.append([d.get(4, 0), d.get(5, 0)])
    return out
# texts that are not valid UTF-8, given as hex
raw = [b"ab\xffcd", b"\xc3", b"x\xe2\x96", b"\xf0\x9f\x98\x80\x80 ok", b"\xed\xa0\x80 surrogate",
       b"\xc0\xaf overlong", b"a\x00b", b"  \xfe\xff  "]
def dump(model, out, texts):
    sp = spm.SentencePieceProcessor(model_file=model)
    with open(out, "w") as f:
        for t in texts:
            ids = sp.encode(t)
            f.write(json.dumps({"text": t, "ids": ids,
                                "pieces": [sp.id_to_piece(i) for i in ids],
                                "spans": spans(sp, t),
                                "decoded": sp.decode(ids)}, ensure_ascii=False) + "\n")
        for b in raw:
            ids = sp.encode(b)
            f.write(json.dumps({"hex": b.hex(), "ids": ids, "spans": spans(sp, b),
                                "decoded": sp.decode(ids)}, ensure_ascii=False) + "\n")
for m in ("bpe-user", "bpe-edit", "unigram-nfkc", "unigram-id"):
    dump(m + ".model", m + ".jsonl", texts)
llama = os.path.join(sys.argv[1], "tokenizers/llama2/tokenizer.model")
if os.path.exists(llama):
    more = texts + [
        "<s>Hello</s>", "<0x41> literal byte piece", "\u2581already\u2581escaped",
        "a\u0000b".replace("\u0000", ""), "ῼ ǅ ß İ", "각 각", "🏳️‍🌈 ❤️",
        "very" * 200, " " * 17 + "x", "\n\n\n", "def f(x):\n    return x  # c",
        "price: $5.99 (USD) 50% off!!!", "Ünïcödé ÀÉÎÕÜ", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
    ]
    dump(llama, "llama2-cases.jsonl", more)
PY
ls -l
