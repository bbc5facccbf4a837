#!/usr/bin/env bash
# Timing only (no quality), w2v-train against gensim 4.2 (corpus_file) and
# word2vec.c, 1 epoch, on the first 8 MB of the GCIDE text that
# bench/w2v-bench.sh makes.  usage: bench/w2v-quick.sh CORPUS [THREADS]
set -eu
cd "$(dirname "$0")/.."
corpus=$1 t=${2:-1}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cc /opt/tokemb-peers/w2v/node_modules/word2vec/src/word2vec.c -o "$tmp/w2vc" -lm -pthread \
	-O3 -march=native -Wall -funroll-loops -Wno-unused-result 2>/dev/null
B=${TOKEMB_BIN:-build/bin}/w2v-train
echo "items $(wc -w <"$corpus"); threads $t; load $(cut -d' ' -f1 /proc/loadavg)"
for sg in 1 0; do
	/usr/bin/time -f "sg=$sg w2v-train %e wall %U user %S sys" "$B" --sg $sg --threads "$t" \
		--epochs 1 -q "$corpus" -o "$tmp/o.vec"
	if [ $sg = 1 ]; then
		/usr/bin/time -f "sg=$sg w2v-train--batch0 %e wall %U user %S sys" "$B" --sg $sg \
			--batch 0 --threads "$t" --epochs 1 -q "$corpus" -o "$tmp/o.vec"
	fi
	/usr/bin/time -f "sg=$sg gensim %e wall %U user %S sys" /usr/bin/python3 bench/w2v-gensim.py \
		train "$corpus" "$tmp/g.vec" $sg 100 5 5 5 1 "$t" 1 >/dev/null
	/usr/bin/time -f "sg=$sg word2vec.c %e wall %U user %S sys" "$tmp/w2vc" -train "$corpus" \
		-output "$tmp/c.vec" -cbow $((1 - sg)) -size 100 -window 5 -negative 5 -hs 0 \
		-sample 1e-3 -threads "$t" -iter 1 -min-count 5 -alpha 0.025 -binary 0 >/dev/null
done
echo "load $(cut -d' ' -f1 /proc/loadavg)"
