#!/usr/bin/env bash
# bench/train-unigram.sh: Unigram and WordPiece training, tok-train against
# Hugging Face tokenizers (npm 0.23.2: UnigramTrainer with its defaults,
# 8000 pieces; WordPieceTrainer, 30000) and sentencepiece's spm_train
# (Debian; unigram, 8000, NFKC, character coverage 1).  Trained on the
# first LINES lines of GCIDE, measured on 1000 lines far from them:
# tokens per byte (lower is better), wall and CPU seconds.
#   usage: bench/train-unigram.sh [LINES]   (default 30000, about 1 MB)
set -euo pipefail
lines=${1:-30000}
here=$(cd "$(dirname "$0")" && pwd)
bin=${TOKEMB_BIN:-$here/../build/bin}
data=${TOKEMB_DATA:-$here/../../shared/data}
export NODE_PATH=${NODE_PATH:-/opt/tokemb-peers/npm/node_modules}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# sentencepiece drops extra whitespace when it normalises, HF and tok-train
# keep it (each extra space is a token): squeeze it first, for all three
zcat "$data/corpora/gcide.dict.dz" | iconv -f utf-8 -t utf-8 -c |
	sed 's/[[:space:]][[:space:]]*/ /g; s/^ //; s/ $//' >"$tmp/all.txt"
sed -n "1,${lines}p" "$tmp/all.txt" >"$tmp/train.txt"
sed -n '600000,601000p' "$tmp/all.txt" | grep -v '^[[:space:]]*$' >"$tmp/held.txt"
# HF reads lines with their newline, which Metaspace keeps in the last
# word: give it the text as one line (tok-train's word counts are the same)
tr '\n' ' ' <"$tmp/train.txt" >"$tmp/train1.txt"
bytes=$(($(wc -c <"$tmp/held.txt") - $(wc -l <"$tmp/held.txt")))

t() {	# name, command...: time it; "wall cpu" into $tmp/name.time
	local name=$1
	shift
	/usr/bin/time -f '%e %U %S' -o "$tmp/$name.time" "$@" >/dev/null 2>&1
}
cpu() { awk '{ printf "%.2f", $2 + $3 }' "$tmp/$1.time"; }
wall() { awk '{ print $1 }' "$tmp/$1.time"; }

t ours-uni "$bin/tok-train" -q -p sentencepiece --vocab-size 8000 -o "$tmp/ours-uni.json" "$tmp/train.txt"
t hf-uni node "$here/train-ref.js" unigram "$tmp/train1.txt" "$tmp/hf-uni.json"
t spm spm_train --input="$tmp/train.txt" --model_prefix="$tmp/spm" --model_type=unigram \
	--vocab_size=8000 --character_coverage=1.0 --normalization_rule_name=nfkc \
	--input_sentence_size=0 --max_sentence_length=100000 --num_threads="$(nproc)"
t ours-wp "$bin/tok-train" -q -p bert -o "$tmp/ours-wp.json" "$tmp/train.txt"
t hf-wp node "$here/train-ref.js" wordpiece "$tmp/train1.txt" "$tmp/hf-wp.json"

node "$here/train-compress.js" "$tmp/held.txt" "$tmp/ours-uni.json" "$tmp/hf-uni.json" \
	"$tmp/ours-wp.json" "$tmp/hf-wp.json" >"$tmp/compress.txt" 2>"$tmp/compress.err"
spm_tokens=$(spm_encode --model="$tmp/spm.model" --output_format=piece <"$tmp/held.txt" | wc -w)

tpb() { awk -v f="$tmp/$1.json" '$1 == f { print $4 }' "$tmp/compress.txt"; }
printf 'corpus: GCIDE lines 1-%s (%s bytes); held out: %s bytes; %s CPUs\n' \
	"$lines" "$(wc -c <"$tmp/train.txt")" "$bytes" "$(nproc)"
cat "$tmp/compress.err"
printf '%-34s %12s %8s %8s\n' trainer tokens/byte 'wall s' 'CPU s'
printf '%-34s %12s %8s %8s\n' 'tok-train unigram (8000)' "$(tpb ours-uni)" "$(wall ours-uni)" "$(cpu ours-uni)"
printf '%-34s %12s %8s %8s\n' 'hf UnigramTrainer (8000)' "$(tpb hf-uni)" "$(wall hf-uni)" "$(cpu hf-uni)"
printf '%-34s %12s %8s %8s\n' 'spm_train unigram (8000)' \
	"$(awk -v n="$spm_tokens" -v b="$bytes" 'BEGIN { printf "%.5f", n / b }')" "$(wall spm)" "$(cpu spm)"
printf '%-34s %12s %8s %8s\n' 'tok-train wordpiece (30000)' "$(tpb ours-wp)" "$(wall ours-wp)" "$(cpu ours-wp)"
printf '%-34s %12s %8s %8s\n' 'hf WordPieceTrainer (30000)' "$(tpb hf-wp)" "$(wall hf-wp)" "$(cpu hf-wp)"
echo "(the spm figure counts pieces on all held-out lines; the others leave out lines a tokenizer cannot encode, as stated above)"
