#!/usr/bin/env bash
# bench/train-gcide.sh: tok-train against Hugging Face tokenizers' trainer
# (npm tokenizers 0.23.2, Tokenizer.train with the default BpeTrainer:
# 30000 tokens, min frequency 0) on the 40 MB GCIDE dictionary, side by
# side: wall time, peak memory, the ratio, and how many leading merges agree.
#   usage: bench/train-gcide.sh [bytelevel|metaspace] [LINES]
# LINES limits the corpus to its first lines (default: all, 1.2M lines).
# GCIDE has a few bytes that are not UTF-8, which HF refuses: they are
# dropped (iconv -c) for both.  HF reads each line with its newline,
# tok-train without (one document per line); with trailing blanks removed
# (for both), the newline is a word of its own for HF's byte-level
# pre-tokenizer and the merges should agree throughout.  With Metaspace the
# newline sticks to the last word for HF, so there they part early (the
# exact Metaspace comparison is t/131-tok-train-faithful.bats).
set -euo pipefail
mode=${1:-bytelevel}
lines=${2:-0}
here=$(cd "$(dirname "$0")" && pwd)
bin=${TOKEMB_BIN:-$here/../build/bin}
data=${TOKEMB_DATA:-$here/../../shared/data}
export NODE_PATH=${NODE_PATH:-/opt/tokemb-peers/npm/node_modules}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if [ "$lines" -gt 0 ]; then
	zcat "$data/corpora/gcide.dict.dz" | iconv -f utf-8 -t utf-8 -c | sed -n "1,${lines}p" | sed 's/[[:space:]]*$//' >"$tmp/corpus.txt"
else
	zcat "$data/corpora/gcide.dict.dz" | iconv -f utf-8 -t utf-8 -c | sed 's/[[:space:]]*$//' >"$tmp/corpus.txt"
fi
size=$(wc -c <"$tmp/corpus.txt")
flag=
[ "$mode" = bytelevel ] && flag=-b

/usr/bin/time -f '%e %U %S %M' -o "$tmp/ours.time" "$bin/tok-train" -q $flag -o "$tmp/ours.json" "$tmp/corpus.txt"
/usr/bin/time -f '%e %U %S %M' -o "$tmp/hf.time" node "$here/train-ref.js" "bpe-$mode" "$tmp/corpus.txt" "$tmp/hf.json" 2>/dev/null >/dev/null

# shellcheck disable=SC2016 # JavaScript, not shell
same=$(node -e '
	const fs = require("fs");
	const m = (f) => JSON.parse(fs.readFileSync(f)).model.merges.map((x) => Array.isArray(x) ? x.join(" ") : x);
	const a = m(process.argv[1]), b = m(process.argv[2]);
	let i = 0;
	while (i < a.length && i < b.length && a[i] === b[i]) i++;
	console.log(`${i} of ${a.length} (hf ${b.length})`);
' "$tmp/ours.json" "$tmp/hf.json")
read -r ot ou os om <"$tmp/ours.time"
read -r ht hu hs hm <"$tmp/hf.time"
oc=$(awk -v u="$ou" -v s="$os" 'BEGIN { print u + s }')
hc=$(awk -v u="$hu" -v s="$hs" 'BEGIN { print u + s }')
printf 'corpus: GCIDE, %s bytes, BPE %s, 30000 tokens, %s CPUs\n' "$size" "$mode" "$(nproc)"
printf '%-22s %10s %10s %12s\n' trainer 'wall s' 'CPU s' 'peak MB'
printf '%-22s %10s %10s %12d\n' "tok-train" "$ot" "$oc" $((om / 1024))
printf '%-22s %10s %10s %12d\n' "hf tokenizers 0.23.2" "$ht" "$hc" $((hm / 1024))
awk -v o="$ot" -v h="$ht" -v oc="$oc" -v hc="$hc" \
	'BEGIN { printf "speed-up: %.1fx wall, %.1fx CPU\n", h / o, hc / oc }'
echo "leading merges identical: $same"
