#!/usr/bin/env bats
# emb-token built with CUDA=1: the GPU forward pass gives the CPU's numbers.
# Skipped unless the binary was built with CUDA and a GPU is present.

load helper

setup() {
	emb-token --version | grep -q 'CUDA: yes' || skip "emb-token was built without CUDA (make CUDA=1)"
	need_cmd nvidia-smi
	nvidia-smi -L 2>/dev/null | grep -q GPU || skip "no GPU present"
	need_cmd python3
}

# max abs difference of two token-vector text streams
maxdiff() {
	python3 -c '
import sys
a = [l.split() for l in open(sys.argv[1])]
b = [l.split() for l in open(sys.argv[2])]
assert len(a) == len(b), (len(a), len(b))
w = 0.0
for x, y in zip(a, b):
    assert len(x) == len(y)
    for u, v in zip(x, y):
        w = max(w, abs(float(u) - float(v)))
print(w)
sys.exit(0 if w <= float(sys.argv[3]) else 1)
' "$@"
}

@test "emb-token: GPU and CPU agree on the tiny BERT" {
	printf '2 4 5 6 7 8 3\n2 3\n\n2 9 10 11 12 13 14 15 3\n' >"$BATS_TEST_TMPDIR/ids"
	emb-token -m "$T/emb/tiny-bert" "$BATS_TEST_TMPDIR/ids" >"$BATS_TEST_TMPDIR/gpu"
	TOKEMB_NO_CUDA=1 emb-token -m "$T/emb/tiny-bert" "$BATS_TEST_TMPDIR/ids" >"$BATS_TEST_TMPDIR/cpu"
	run -0 maxdiff "$BATS_TEST_TMPDIR/gpu" "$BATS_TEST_TMPDIR/cpu" 1e-5
}

@test "emb-token: GPU and CPU agree on BERT, MPNet and DeBERTa references (512 tokens)" {
	need_data models/bert-random-small models/mpnet-random-small models/deberta-v3-random-small
	for m in bert-random-small mpnet-random-small deberta-v3-random-small; do
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
' "$D/models/$m/reference.jsonl" >"$BATS_TEST_TMPDIR/ids"
		emb-token -m "$D/models/$m" "$BATS_TEST_TMPDIR/ids" >"$BATS_TEST_TMPDIR/gpu"
		TOKEMB_NO_CUDA=1 emb-token -m "$D/models/$m" "$BATS_TEST_TMPDIR/ids" >"$BATS_TEST_TMPDIR/cpu"
		run -0 maxdiff "$BATS_TEST_TMPDIR/gpu" "$BATS_TEST_TMPDIR/cpu" 1e-5
	done
}
