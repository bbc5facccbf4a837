#!/usr/bin/env bash
# Query speed: recommend against gensim KeyedVectors.most_similar, the same
# queries on the same vectors, timed in one run.
#
#   bench/rec-speed.sh [QUERIES] [CATALOGUE_ROWS] [DIM]
#
# Random vectors (numpy, seed 1) for a catalogue of CATALOGUE_ROWS items
# (default 100000) of DIM (64) dimensions, written as word2vec binary;
# QUERIES (default 2000) lines of one to five random ids.  Both sides ask
# for the 10 best by the mean of the query's unit vectors.  recommend's time
# includes loading the file; gensim's is the query loop alone.
#
# Measured 2026-11-28 (2 shared cores, heavy load): 2000 queries, 100000 x 64:
# recommend 3.57 s, gensim 4.2 most_similar 24.66 s, 6.9x (before queries
# were batched into one sgemm: 17.0 s against 24.7 s, 1.45x).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${TOKEMB_BIN:-$PWD/build/bin}
nq=${1:-2000} rows=${2:-100000} dim=${3:-64}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

/usr/bin/python3 - "$tmp" "$nq" "$rows" "$dim" <<'PY' 2>/dev/null
import sys, time
import numpy as np
from gensim.models import KeyedVectors
tmp, nq, rows, dim = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
rng = np.random.default_rng(1)
kv = KeyedVectors(dim)
kv.add_vectors(["i%d" % i for i in range(rows)], rng.standard_normal((rows, dim)).astype(np.float32))
kv.save_word2vec_format(tmp + "/v.bin", binary=True)
qs = [["i%d" % x for x in rng.integers(0, rows, rng.integers(1, 6))] for _ in range(nq)]
with open(tmp + "/q.txt", "w") as f:
    for q in qs:
        f.write(" ".join(q) + "\n")
kv.fill_norms()
t = time.time()
for q in qs:
    kv.most_similar(positive=q, topn=10)
print("%.3f" % (time.time() - t), file=open(tmp + "/gensim_s", "w"))
PY
t0=$(date +%s.%N)
"$BIN/recommend" -v "$tmp/v.bin" -n 10 <"$tmp/q.txt" >"$tmp/out.txt"
t1=$(date +%s.%N)
g=$(cat "$tmp/gensim_s")
awk -v a="$t0" -v b="$t1" -v g="$g" -v nq="$nq" -v rows="$rows" -v dim="$dim" 'BEGIN {
	printf "%d queries, catalogue %d x %d: recommend %.3f s (with loading), gensim most_similar %.3f s; gensim/recommend %.2fx\n", nq, rows, dim, b - a, g, g / (b - a) }'
