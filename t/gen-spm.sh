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

common="--input=$tmp/corpus.txt --num_threads=1 --seed_sentencepiece_size=5000 --minloglevel=2"
spm_train $common --model_prefix=bpe-user --model_type=bpe --vocab_size=400 \
	--byte_fallback=true --normalization_rule_name=identity \
	--user_defined_symbols='<sep>,[MASK],hello' --control_symbols='<ctl>' >/dev/null
spm_train $common --model_prefix=unigram-nfkc --model_type=unigram --vocab_size=400 \
	--normalization_rule_name=nmt_nfkc --user_defined_symbols='<sep>' >/dev/null
spm_train $common --model_prefix=unigram-id --model_type=unigram --vocab_size=300 \
	--normalization_rule_name=identity --remove_extra_whitespaces=false \
	--character_coverage=0.98 >/dev/null
rm -f ./*.vocab

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
def dump(model, out, texts):
    sp = spm.SentencePieceProcessor(model_file=model)
    with open(out, "w") as f:
        for t in texts:
            ids = sp.encode(t)
            f.write(json.dumps({"text": t, "ids": ids,
                                "pieces": [sp.id_to_piece(i) for i in ids],
                                "decoded": sp.decode(ids)}, ensure_ascii=False) + "\n")
for m in ("bpe-user", "unigram-nfkc", "unigram-id"):
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
