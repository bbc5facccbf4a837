#!/usr/bin/env bash
# w2v-train's defaults against gensim 4.2's Word2Vec with the same
# parameters: quality and training time, seeds 1-3, means and ranges.
#
#   bench/w2v-quality.sh [-c text|seq|all] [-a sg|cbow] [-s SEEDS] [-t THREADS] [-w WORKERS] [-m MODES] [-n MINCOUNTS]
#
#   text  GCIDE (the corpus bench/w2v-bench.sh makes): skip-gram, vector
#         size 100, window 5, negative 5, sample 1e-3, min-count 5, 3 epochs;
#         WordSim353 and SimLex-999 (Spearman) and questions-words.txt
#         (accuracy), with gensim's own evaluation functions.
#   seq   MovieLens ml-latest-small: each user's ratings in time order
#         (recommend --sequences), every 5th user held out; skip-gram,
#         vector size 64, window 5, negative 5, 10 epochs, min-count 1, 5
#         and 20; hit@10 of `recommend --eval --context 5` (the 5 items before
#         each held-out item predict it) on both sides' vectors.
#
# -n gives the min-counts of the seq rows (default "1 5 20").
# -a cbow trains CBOW (sg 0, the context's mean: cbow_mean 1, both sides'
# default) instead of skip-gram, everything else the same.
# w2v-train runs at each count in THREADS (default "1 2"), gensim with each
# count in WORKERS (default "1 2 3", 3 being gensim's default) in each of
# MODES (default "sentences corpus_file": a list in memory, or gensim reading
# the file with one stream per worker).  SEEDS defaults to "1 2 3".  Each row
# gives the mean and [min, max] over the seeds and the mean training seconds;
# "best" lines compare w2v-train's mean with gensim's best mode's mean.
# The seconds are CPU seconds (user + system, all threads) of the training
# (the corpus read and counted included): on a shared machine wall times
# say more about the other jobs than about the tools.
# Needs /usr/bin/python3 with gensim (python3-gensim); runs long (gensim
# takes about a minute a run on GCIDE on an idle core): run it under nice.
set -euo pipefail
cd "$(dirname "$0")/.."
D=${TOKEMB_DATA:-../shared/data}
BIN=${TOKEMB_BIN:-$PWD/build/bin}
export PATH="$BIN:$PATH" LC_ALL=C
PY=/usr/bin/python3
corpora=all sg=1 mincounts="1 5 20" seeds="1 2 3" threads="1 2" workers="1 2 3" modes="sentences corpus_file"
while getopts a:c:s:t:w:m:n: o; do
	case $o in
	a) case $OPTARG in sg) sg=1 ;; cbow) sg=0 ;; *) echo "$0: -a: sg or cbow" >&2; exit 2 ;; esac ;;
	c) corpora=$OPTARG ;;
	s) seeds=$OPTARG ;;
	t) threads=$OPTARG ;;
	w) workers=$OPTARG ;;
	m) modes=$OPTARG ;;
	n) mincounts=$OPTARG ;;
	*) echo "usage: $0 [-c text|seq|all] [-a sg|cbow] [-s SEEDS] [-t THREADS] [-w WORKERS] [-m MODES] [-n MINCOUNTS]" >&2; exit 2 ;;
	esac
done
arch=skip-gram
[ "$sg" = 1 ] || arch=CBOW
$PY -c 'import gensim' 2>/dev/null || { echo "$0: needs $PY with gensim (python3-gensim)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# summarise LABEL < lines of "SECONDS VALUE..." (one per seed): a table row
# on stdout, "LABEL<TAB>MEAN...<TAB>SECONDS" appended to $tmp/rows
summarise() {
	awk -v label="$1" -v rows="$tmp/rows" '
	{ n++; s += $1; for (i = 2; i <= NF; i++) { v = $i + 0; sum[i] += v
		if (n == 1 || v < lo[i]) lo[i] = v; if (n == 1 || v > hi[i]) hi[i] = v }; nf = NF }
	END { printf "%-26s", label; printf "%s", label >>rows
		for (i = 2; i <= nf; i++) {
			printf "  %.4f [%.4f %.4f]", sum[i] / n, lo[i], hi[i]
			printf "\t%.4f", sum[i] / n >>rows
		}
		printf "  %8.2f\n", s / n; printf "\t%.2f\n", s / n >>rows }'
}


# w2v-train's rows: ours CORPUS EVAL_FN ARGS... (EVAL_FN VEC prints values)
ours() {
	local corpus=$1 evalfn=$2 th s secs
	shift 2
	for th in $threads; do
		for s in $seeds; do
			/usr/bin/time -f '%U %S' -o "$tmp/time" w2v-train "$@" --threads "$th" \
				--seed "$s" -q -o "$tmp/o.vec" "$corpus"
			secs=$(awk '{ print $1 + $2 }' "$tmp/time")
			echo "$secs $("$evalfn" "$tmp/o.vec")"
		done | summarise "w2v-train threads=$th"
	done
}

# gensim's rows: theirs CORPUS EVAL_FN KEY=VALUE...
theirs() {
	local corpus=$1 evalfn=$2 mode w s secs
	shift 2
	for mode in $modes; do
		for w in $workers; do
			for s in $seeds; do
				secs=$($PY bench/w2v-quality.py train "$mode" "$corpus" "$tmp/g.vec" "$w" "$s" "$@" 2>/dev/null |
					awk '$1 == "cpu_s" { print $2 }')
				echo "$secs $("$evalfn" "$tmp/g.vec")"
			done | summarise "gensim $mode workers=$w"
		done
	done
}

# best: for each value column, gensim's best mode against w2v-train's rows;
# tolerance per column (absolute, or relative when it ends in %)
best() {
	awk -F'\t' -v tol="$1" '
	BEGIN { split(tol, T, " ") }
	{ for (c = 2; c < NF; c++) v[NR, c - 1] = $c
	  secs[NR] = $NF; lab[NR] = $1; ours[NR] = ($1 ~ /^w2v-train/); n = NR; nc = NF - 2 }
	END {
		for (c = 1; c <= nc; c++) {
			b = -1; bl = ""
			for (r = 1; r <= n; r++) if (!ours[r] && v[r, c] > b) { b = v[r, c]; bl = lab[r]; bs = secs[r] }
			if (bl == "")
				continue	# no gensim row (-w ""): nothing to compare
			t = T[c]; rel = sub(/%$/, "", t)
			for (r = 1; r <= n; r++) if (ours[r]) {
				need = rel ? b * (1 - t / 100) : b - t
				printf "best, column %d: %s %.4f (%.2f s); %s %.4f (%.2f s): %s, %.1fx its speed\n",
					c, bl, b, bs, lab[r], v[r, c], secs[r],
					(v[r, c] >= need ? "as good" : "SHORT"), (secs[r] > 0 ? bs / secs[r] : 0)
			}
		}
	}' "$tmp/rows"
}

eval_text() {
	$PY bench/w2v-quality.py eval "$D/wordvec-eval" "$1" 2>/dev/null | awk '{ print $2, $3, $4 }'
}

eval_seq() {
	recommend -v "$1" --eval "$tmp/test.seq" -n 10 --context 5 | awk -F'\t' '$1 == "hit@10" { print $2 }'
}

text() {
	zcat "$D/corpora/gcide.dict.dz" | awk 'BEGIN { RS = "" } { gsub(/\n/, " "); print }' |
		sed -e 's/\\[^\\]*\\//g' -e 's/\[[^]]*\]//g' -e 's/<[^>]*>//g' | tr '[:upper:]' '[:lower:]' |
		sed -e 's/[^a-z0-9]\{1,\}/ /g' -e 's/^ //' -e 's/ $//' | grep -v '^$' >"$tmp/gcide.txt"
	echo "== GCIDE, $(wc -w <"$tmp/gcide.txt") words: $arch 100d, window 5, negative 5," \
		"sample 1e-3, min-count 5, 3 epochs; seeds $seeds"
	printf '%-26s  %-24s  %-24s  %-24s  %8s\n' run "WS353 [range]" "SimLex [range]" "analogy [range]" cpu_s
	: >"$tmp/rows"
	ours "$tmp/gcide.txt" eval_text --sg "$sg" --vector-size 100 --window 5 --negative 5 \
		--sample 1e-3 --min-count 5 --epochs 3
	theirs "$tmp/gcide.txt" eval_text sg="$sg" vector_size=100 window=5 negative=5 \
		sample=1e-3 min_count=5 epochs=3
	best "0.005 0.005 0.003"
}

seq() {
	local mc
	recommend --sequences --csv "$D/movielens/ml-latest-small/ratings.csv" >"$tmp/all.seq"
	awk 'NR % 5 != 0' "$tmp/all.seq" >"$tmp/train.seq"
	awk 'NR % 5 == 0' "$tmp/all.seq" >"$tmp/test.seq"
	for mc in $mincounts; do
		echo "== MovieLens, $(wc -l <"$tmp/train.seq") users train, $(wc -l <"$tmp/test.seq") test:" \
			"$arch 64d, window 5, negative 5, 10 epochs, min-count $mc; hit@10; seeds $seeds"
		printf '%-26s  %-24s  %8s\n' run "hit@10 [range]" cpu_s
		: >"$tmp/rows"
		ours "$tmp/train.seq" eval_seq --sg "$sg" --vector-size 64 --window 5 --negative 5 \
			--min-count "$mc" --epochs 10
		theirs "$tmp/train.seq" eval_seq sg="$sg" vector_size=64 window=5 negative=5 \
			min_count="$mc" epochs=10
		best "3%"
	done
}

case $corpora in
text) text ;;
seq) seq ;;
all) seq; text ;;
*) echo "$0: -c: text, seq or all" >&2; exit 2 ;;
esac
