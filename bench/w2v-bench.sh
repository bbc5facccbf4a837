#!/usr/bin/env bash
# w2v-train against its peers, side by side in one run: gensim 4.2
# (Debian python3-gensim, corpus_file mode, its fastest) and the original
# word2vec.c (npm word2vec@1.1.5, built here with its own makefile flags),
# trained on the same corpus with the same parameters.  For each: wall
# seconds, CPU seconds, items per second (corpus items x epochs / wall
# seconds), WordSim353 Spearman and analogy accuracy (gensim's
# evaluate_word_pairs and evaluate_word_analogies).
#
# usage: bench/w2v-bench.sh [-c gcide|lee] [-m sg|cbow] [-e EPOCHS]
#                           [-t "1 2"] [-d DIM] [-b] [-q]
#   -b  also w2v-train --batch 0 (skip-gram pair by pair, as word2vec.c)
#   -q  quality only at 1 thread (skip the 2-thread runs)
# Needs TOKEMB_DATA (default ../shared/data) and a build (make).
#
# The corpora, made here into one sequence per line, lower case, [a-z0-9]
# words only (LC_ALL=C):
#   lee:   lee_background.cor, one news story per line.
#   gcide: gcide.dict.dz, one dictionary entry per line: the blank-line
#          separated paragraphs joined, then this sed drops the markup --
#          \pro*nun"ci*a`tion\ spans, [bracketed] etymologies and sources,
#          <tags> -- and every other non-alphanumeric run becomes a space:
#            sed -e 's/\\[^\\]*\\//g' -e 's/\[[^]]*\]//g' -e 's/<[^>]*>//g'
set -euo pipefail
cd "$(dirname "$0")/.."

corpus=gcide mode=sg epochs=1 threads="1 2" dim=100 nobatch=0
while getopts "c:m:e:t:d:bq" o; do
	case $o in
	c) corpus=$OPTARG ;;
	m) mode=$OPTARG ;;
	e) epochs=$OPTARG ;;
	t) threads=$OPTARG ;;
	d) dim=$OPTARG ;;
	b) nobatch=1 ;;
	q) threads=1 ;;
	*) echo "usage: $0 [-c gcide|lee] [-m sg|cbow] [-e N] [-t LIST] [-d DIM] [-b]" >&2; exit 2 ;;
	esac
done
DATA=${TOKEMB_DATA:-../shared/data}
BIN=${TOKEMB_BIN:-build/bin}
PY=/usr/bin/python3
W2VSRC=/opt/tokemb-peers/w2v/node_modules/word2vec/src
EVAL=$DATA/wordvec-eval
window=5 neg=5 min_count=5 seed=1
sg=1; [ "$mode" = cbow ] && sg=0

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

export LC_ALL=C
case $corpus in
lee) tr '[:upper:]' '[:lower:]' <"$DATA/corpora/lee_background.cor" ;;
gcide) zcat "$DATA/corpora/gcide.dict.dz" | awk 'BEGIN { RS = "" } { gsub(/\n/, " "); print }' |
	sed -e 's/\\[^\\]*\\//g' -e 's/\[[^]]*\]//g' -e 's/<[^>]*>//g' | tr '[:upper:]' '[:lower:]' ;;
*) echo "unknown corpus $corpus" >&2; exit 2 ;;
esac | sed -e 's/[^a-z0-9]\{1,\}/ /g' -e 's/^ //' -e 's/ $//' | grep -v '^$' >"$tmp/corpus.txt"
items=$(wc -w <"$tmp/corpus.txt")

# word2vec.c built with the flags of its own makefile
cc "$W2VSRC/word2vec.c" -o "$tmp/word2vec" -lm -pthread -O3 -march=native -Wall \
	-funroll-loops -Wno-unused-result 2>/dev/null

echo "corpus $corpus: $items items, $(wc -l <"$tmp/corpus.txt") lines; $mode dim $dim window $window negative $neg min_count $min_count sample 1e-3 epochs $epochs"
echo "load: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) CPUs"
printf '%-22s %3s %8s %8s %10s %8s %8s %6s\n' tool thr wall_s cpu_s items/s ratio ws353 analogy

# run NAME THREADS COMMAND...: time it, keep its vectors in $tmp/NAME-THREADS.vec
run() {
	local name=$1 t=$2
	shift 2
	/usr/bin/time -f '%e %U %S' -o "$tmp/time" "$@" >/dev/null 2>"$tmp/err" ||
		{ cat "$tmp/err" >&2; return 1; }
	read -r wall user sys <"$tmp/time"
	echo "$name $t $wall $(echo "$user + $sys" | bc)" >>"$tmp/results"
}

for t in $threads; do
	run w2v-train "$t" "$BIN/w2v-train" --sg $sg --vector-size "$dim" --window $window \
		--negative $neg --min-count $min_count --epochs "$epochs" --threads "$t" \
		--seed $seed -q -o "$tmp/w2v-train-$t.vec" "$tmp/corpus.txt"
	if [ "$nobatch" = 1 ] && [ $sg = 1 ]; then
		run w2v-train--batch0 "$t" "$BIN/w2v-train" --sg 1 --batch 0 --vector-size "$dim" \
			--window $window --negative $neg --min-count $min_count --epochs "$epochs" \
			--threads "$t" --seed $seed -q -o "$tmp/w2v-train--batch0-$t.vec" "$tmp/corpus.txt"
	fi
	run gensim "$t" $PY bench/w2v-gensim.py train "$tmp/corpus.txt" "$tmp/gensim-$t.vec" \
		$sg "$dim" $window $neg $min_count "$epochs" "$t" $seed
	run word2vec.c "$t" "$tmp/word2vec" -train "$tmp/corpus.txt" -output "$tmp/word2vec.c-$t.vec" \
		-cbow $((1 - sg)) -size "$dim" -window $window -negative $neg -hs 0 -sample 1e-3 \
		-threads "$t" -iter "$epochs" -min-count $min_count -alpha 0.025 -binary 0
done

$PY bench/w2v-gensim.py eval "$EVAL" "$tmp"/*.vec >"$tmp/eval"
cp "$tmp/results" "$tmp/results.in"
while read -r name t wall cpu; do
	q=$(awk -v f="$tmp/$name-$t.vec" '$1 == f { print $3, $4 }' "$tmp/eval")
	ours=$(awk -v t="$t" '$1 == "w2v-train" && $2 == t { print $3 }' "$tmp/results")
	awk -v n="$name" -v t="$t" -v w="$wall" -v c="$cpu" -v i="$items" -v e="$epochs" \
		-v o="$ours" -v q="$q" 'BEGIN {
		split(q, a, " ")
		printf "%-22s %3d %8.2f %8.2f %10.0f %7.2fx %8.4f %6.4f\n", n, t, w, c, i * e / w, w / o, a[1], a[2]
	}'
done <"$tmp/results.in"
echo "ratio: the tool's wall time over w2v-train's at the same thread count (>1: w2v-train is faster)"
