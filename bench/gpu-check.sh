#!/usr/bin/env bash
# The CUDA path on a GPU machine that has no Debian -dev packages and no
# network (the device machine lent to some sessions):
#   bench/gpu-check.sh pack    here: make CUDA=1, then put the CUDA build's
#                              programs and test binary, the shared libraries
#                              they need (OpenBLAS, cJSON, gfortran) and the
#                              reference models into .devcarry/pack.tar.xz
#   bench/gpu-check.sh run     there (carry .devcarry): unpack, find cuBLAS,
#                              then (1) test-emb on the GPU against the reference
#                              outputs, (2) GPU vs CPU hidden states, as
#                              t/203-emb-token-cuda.bats does, (3) emb_bench.py
#                              --cuda: emb-token on the GPU vs PyTorch on the GPU
set -u
cd "$(dirname "$0")/.." || exit 2
D=${TOKEMB_DATA:-$PWD/../shared/data}
case ${1:-} in
pack)
	make CUDA=1 -j2 >/dev/null || exit 1
	P=$(mktemp -d)
	mkdir -p "$P/bin" "$P/t" "$P/lib" "$P/data/models" .devcarry
	cp build-cuda/bin/emb-token build-cuda/bin/emb-pool "$P/bin/"
	cp build-cuda/t/test-emb "$P/t/"
	for l in libopenblas.so.0 libcjson.so.1 libgfortran.so.5 libquadmath.so.0; do
		cp -L "/lib/x86_64-linux-gnu/$l" "$P/lib/"
	done
	for m in bert-random-small bert-random-small-f16 mpnet-random-small deberta-v3-random-small; do
		cp -r "$D/models/$m" "$P/data/models/"
	done
	[ -d "$D/reference/model2vec" ] && mkdir -p "$P/data/reference" &&
		cp -r "$D/reference/model2vec" "$P/data/reference/"
	[ -d "$D/static-embeddings" ] && cp -r "$D/static-embeddings" "$P/data/"
	tar -C "$P" -cJf .devcarry/pack.tar.xz . || exit 1
	rm -rf "$P"
	grep -qx '/.devcarry/' .git/info/exclude 2>/dev/null || echo /.devcarry/ >>.git/info/exclude
	ls -l .devcarry/pack.tar.xz
	;;
run)
	U=/tmp/tokemb-gpu
	rm -rf "$U"; mkdir -p "$U"
	tar -C "$U" -xJf .devcarry/pack.tar.xz || exit 1
	libs=$U/lib
	for l in libcublas.so.13 libcublasLt.so.13 libcudart.so.13; do
		f=$(find / -xdev -name "$l" 2>/dev/null | head -1)
		[ -n "$f" ] && libs=$libs:$(dirname "$f")
	done
	export LD_LIBRARY_PATH=$libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
	export TOKEMB_DATA=$U/data PATH=$U/bin:$PATH
	nvidia-smi -L
	emb-token --version || exit 1
	echo "== 1. test-emb (GPU) against the reference outputs"
	"$U/t/test-emb" | grep -v '^ok' | tail -20
	echo "== 2. GPU vs CPU (TOKEMB_NO_CUDA=1): max abs difference of hidden states"
	for m in t/data/emb/tiny-bert "$U"/data/models/*; do
		[ -f "$m/config.json" ] || continue
		if [ -f "$m/reference.jsonl" ]; then
			python3 -c '
import json, sys
for l in open(sys.argv[1]):
    c = json.loads(l)
    ids = c["ids"] if isinstance(c["ids"][0], list) else [c["ids"]]
    mask = c.get("attention_mask") or [[1] * len(x) for x in ids]
    if not isinstance(mask[0], list):
        mask = [mask]
    for x, k in zip(ids, mask):
        print(" ".join(str(i) for i, z in zip(x, k) if z))
' "$m/reference.jsonl" >"$U/ids"
		else
			printf '2 4 5 6 7 8 3\n2 3\n\n2 9 10 11 12 13 14 15 3\n' >"$U/ids"
		fi
		emb-token -m "$m" "$U/ids" >"$U/gpu" || { echo "FAIL gpu $m"; continue; }
		TOKEMB_NO_CUDA=1 emb-token -m "$m" "$U/ids" >"$U/cpu" || { echo "FAIL cpu $m"; continue; }
		python3 -c '
import sys
a = [l.split() for l in open(sys.argv[1])]
b = [l.split() for l in open(sys.argv[2])]
w = max((abs(float(u) - float(v)) for x, y in zip(a, b) for u, v in zip(x, y)), default=0.0)
ok = len(a) == len(b) and w <= 1e-5
print("%-28s lines %d/%d  max|gpu-cpu| %.3g  %s" % (sys.argv[3], len(a), len(b), w, "ok" if ok else "FAIL"))
' "$U/gpu" "$U/cpu" "$(basename "$m")"
	done
	echo "== 3. speed: emb-token (CUDA build, whole process) vs PyTorch on the GPU"
	PYTHONUNBUFFERED=1 python3 bench/emb_bench.py --bin "$U/bin" --cuda --threads 16 \
		--short "${GPU_SHORT:-20000}" --long "${GPU_LONG:-2000}" --batch "${GPU_BATCH:-256}"
	echo "== 3b. the same inputs on the CPU (16 cores), for scale"
	TOKEMB_NO_CUDA=1 PYTHONUNBUFFERED=1 python3 bench/emb_bench.py --bin "$U/bin" --threads 16 \
		--short 4000 --long 200 --batch 64
	;;
*)
	echo "usage: bench/gpu-check.sh pack|run" >&2
	exit 2
	;;
esac
