#!/usr/bin/env bats
# emb-token --dtype bf16 and int8: the sentence vectors stay within cosine
# 0.999 of float32's (the reference files', and emb-token's own on real
# text); the option's errors; the kernels --version names.

load helper

M=models

# "MODEL DTYPE": the least cosine, over every reference case of MODEL,
# between its sentence_embedding and emb-token --dtype DTYPE | emb-pool
least_cos_ref() {	# model dtype
	python3 -c '
import json, math, subprocess, sys
model, dtype = sys.argv[1], sys.argv[2]
docs, want = [], []
for l in open(model + "/reference.jsonl"):
    c = json.loads(l)
    ids = c["ids"] if c["ids"] and isinstance(c["ids"][0], list) else [c["ids"]]
    mask = c.get("attention_mask") or [[1] * len(x) for x in ids]
    if not isinstance(mask[0], list):
        mask = [mask]
    se = c["sentence_embedding"]
    se = se if isinstance(se[0], list) else [se]
    for x, k, s in zip(ids, mask, se):
        d = [i for i, kk in zip(x, k) if kk]
        if d:
            docs.append(d)
            want.append(s)
inp = "".join(" ".join(map(str, d)) + "\n" for d in docs)
tok = subprocess.run(["emb-token", "-m", model, "--dtype", dtype], input=inp,
                     capture_output=True, text=True, check=True).stdout
out = subprocess.run(["emb-pool", "-m", model], input=tok, capture_output=True, text=True,
                     check=True).stdout
got = [[float(v) for v in l.split()] for l in out.split("\n") if l]
assert len(got) == len(docs), (len(got), len(docs))
cos = lambda a, b: sum(x * y for x, y in zip(a, b)) / math.sqrt(
    sum(x * x for x in a) * sum(y * y for y in b))
print("%s %s: %d cases, least cosine %.6f" % (model.split("/")[-1], dtype, len(docs),
      min(cos(a, b) for a, b in zip(got, want))))
' "$1" "$2"
}

# the least cosine between two files of sentence vectors, line by line
least_cos() {	# a b
	python3 -c '
import math, sys
rd = lambda p: [[float(v) for v in l.split()] for l in open(p) if l.strip()]
a, b = rd(sys.argv[1]), rd(sys.argv[2])
assert len(a) == len(b) and a, (len(a), len(b))
cos = lambda x, y: sum(p * q for p, q in zip(x, y)) / math.sqrt(
    sum(p * p for p in x) * sum(q * q for q in y))
print("%d documents, least cosine %.6f" % (len(a), min(cos(x, y) for x, y in zip(a, b))))
' "$1" "$2"
}

above() {	# output of least_cos*, threshold
	awk -v t="$2" '{ exit !($NF >= t) }' <<<"$1"
}

setup() {
	need_cmd python3
}

@test "emb-token --dtype bf16: every reference case within cosine 0.999" {
	for m in bert-random-small bert-random-small-f16 mpnet-random-small deberta-v3-random-small; do
		need_data "$M/$m/reference.jsonl"
		run -0 least_cos_ref "$D/$M/$m" bf16
		echo "$output"
		above "$output" 0.999
	done
}

@test "emb-token --dtype int8: every reference case within cosine 0.999" {
	for m in bert-random-small bert-random-small-f16 mpnet-random-small deberta-v3-random-small; do
		need_data "$M/$m/reference.jsonl"
		run -0 least_cos_ref "$D/$M/$m" int8
		echo "$output"
		above "$output" 0.999
	done
}

@test "emb-token --dtype bf16 and int8 on real text (lee.cor): within cosine 0.999 of f32" {
	need_data corpora/lee.cor "$M/bert-random-small/tokenizer.json"
	m=$D/$M/bert-random-small
	head -200 "$D/corpora/lee.cor" | tok-encode -m "$m" >"$BATS_TEST_TMPDIR/ids"
	emb-token -b -t 2 -m "$m" "$BATS_TEST_TMPDIR/ids" | emb-pool -m "$m" >"$BATS_TEST_TMPDIR/f32"
	for t in bf16 int8; do
		emb-token -b -t 2 --dtype "$t" -m "$m" "$BATS_TEST_TMPDIR/ids" |
			emb-pool -m "$m" >"$BATS_TEST_TMPDIR/$t"
		run -0 least_cos "$BATS_TEST_TMPDIR/f32" "$BATS_TEST_TMPDIR/$t"
		echo "$t: $output"
		above "$output" 0.999
	done
}

@test "emb-token --dtype f32 gives the default's numbers" {
	need_data "$M/bert-random-small/reference.jsonl"
	m=$D/$M/bert-random-small
	echo "101 7592 2088 102" >"$BATS_TEST_TMPDIR/ids"
	emb-token -m "$m" "$BATS_TEST_TMPDIR/ids" >"$BATS_TEST_TMPDIR/a"
	emb-token --dtype f32 -m "$m" "$BATS_TEST_TMPDIR/ids" >"$BATS_TEST_TMPDIR/b"
	cmp "$BATS_TEST_TMPDIR/a" "$BATS_TEST_TMPDIR/b"
}

@test "emb-token --dtype with an unknown type exits 2 naming it" {
	run -2 --separate-stderr emb-token --dtype fp8 -m x
	[[ $stderr == *"'fp8' is not f32, bf16 or int8"* ]]
}

@test "emb-token --dtype int8 on a static model exits 1: it runs in float32 only" {
	need_data "$M/bert-random-small/model.safetensors"
	run -1 --separate-stderr emb-token -s --dtype int8 -m "$D/$M/bert-random-small" /dev/null
	[[ $stderr == "emb-token: "*"float32 only"* ]]
}

@test "emb-token --version names the matrix-product kernels picked for this CPU" {
	run -0 emb-token --version
	[[ $output == *"kernels: f32 "*", bf16 "*", int8 "* ]]
}
