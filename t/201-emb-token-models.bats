#!/usr/bin/env bats
# emb-token | emb-pool on the reference encoders and static models in
# $TOKEMB_DATA: the command-line path gives the reference numbers (the unit
# test test-emb checks every case through the library).

load helper

M=models

# ids of a reference case, one document per line (batches: real tokens only)
ref_ids() {
	python3 -c '
import json, sys
for l in open(sys.argv[1]):
    c = json.loads(l)
    if c["name"] != sys.argv[2]:
        continue
    ids = c["ids"] if isinstance(c["ids"][0], list) else [c["ids"]]
    mask = c.get("attention_mask") or [[1] * len(x) for x in ids]
    if not isinstance(mask[0], list):
        mask = [mask]
    for x, m in zip(ids, mask):
        print(" ".join(str(i) for i, k in zip(x, m) if k))
' "$1" "$2"
}

# compare token vectors (stdin: emb-token text) or sentence vectors with a case
compare() {	# file case field
	python3 -c '
import json, math, sys
ref = [json.loads(l) for l in open(sys.argv[1])]
c = [x for x in ref if x["name"] == sys.argv[2]][0]
field = sys.argv[3]
docs, cur = [], []
for line in sys.stdin.read().split("\n"):
    if field == "last_hidden_state":
        if line == "":
            docs.append(cur); cur = []
        else:
            cur.append([float(v) for v in line.split()])
    elif line:
        docs.append([float(v) for v in line.split()])
want = c[field]
batched = isinstance(c["ids"][0], list)
if not batched:
    want = [want]
worst = 0.0
if field == "last_hidden_state":
    if batched:
        masks = c["attention_mask"]
        want = [[r for r, k in zip(w, m) if k] for w, m in zip(want, masks)]
    docs = docs[:len(want)]
    for g, w in zip(docs, want):
        assert len(g) == len(w), (len(g), len(w))
        for a, b in zip(g, w):
            worst = max(worst, max(abs(x - y) for x, y in zip(a, b)))
else:
    assert len(docs) == len(want), (len(docs), len(want))
    for a, b in zip(docs, want):
        worst = max(worst, max(abs(x - y) for x, y in zip(a, b)))
        cos = sum(x * y for x, y in zip(a, b)) / math.sqrt(sum(x * x for x in a) * sum(y * y for y in b))
        assert cos >= 0.99999, cos
print("max abs diff", worst)
sys.exit(0 if worst <= 1e-5 else 1)
' "$1" "$2" "$3"
}

setup() {
	need_cmd python3
}

@test "emb-token: BERT sentence pair (token types from the [SEP]) matches the reference" {
	need_data $M/bert-random-small/reference.jsonl
	ref=$D/$M/bert-random-small/reference.jsonl
	ref_ids "$ref" pair >"$BATS_TEST_TMPDIR/ids"
	emb-token -m "$D/$M/bert-random-small" "$BATS_TEST_TMPDIR/ids" >"$BATS_TEST_TMPDIR/tok"
	run -0 compare "$ref" pair last_hidden_state <"$BATS_TEST_TMPDIR/tok"
	emb-pool -m "$D/$M/bert-random-small" "$BATS_TEST_TMPDIR/tok" >"$BATS_TEST_TMPDIR/sent"
	run -0 compare "$ref" pair sentence_embedding <"$BATS_TEST_TMPDIR/sent"
}

@test "emb-token --token-types zero changes a pair (the types matter)" {
	need_data $M/bert-random-small/reference.jsonl
	ref=$D/$M/bert-random-small/reference.jsonl
	ref_ids "$ref" pair >"$BATS_TEST_TMPDIR/ids"
	emb-token --token-types zero -m "$D/$M/bert-random-small" "$BATS_TEST_TMPDIR/ids" >"$BATS_TEST_TMPDIR/tok"
	run -1 compare "$ref" pair last_hidden_state <"$BATS_TEST_TMPDIR/tok"
}

@test "emb-token | emb-pool -m: the padded batch, F16 weights, 2 threads, binary stream" {
	need_data $M/bert-random-small-f16/reference.jsonl
	ref=$D/$M/bert-random-small-f16/reference.jsonl
	ref_ids "$ref" batch_padded >"$BATS_TEST_TMPDIR/ids"
	[ "$(wc -l <"$BATS_TEST_TMPDIR/ids")" -eq 4 ]
	emb-token -b -t 2 -m "$D/$M/bert-random-small-f16" "$BATS_TEST_TMPDIR/ids" |
		emb-pool -m "$D/$M/bert-random-small-f16" >"$BATS_TEST_TMPDIR/sent"
	run -0 compare "$ref" batch_padded sentence_embedding <"$BATS_TEST_TMPDIR/sent"
}

@test "emb-token: MPNet 512-token input matches the reference" {
	need_data $M/mpnet-random-small/reference.jsonl
	ref=$D/$M/mpnet-random-small/reference.jsonl
	ref_ids "$ref" max_len_512 >"$BATS_TEST_TMPDIR/ids"
	emb-token -m "$D/$M/mpnet-random-small" "$BATS_TEST_TMPDIR/ids" >"$BATS_TEST_TMPDIR/tok"
	run -0 compare "$ref" max_len_512 last_hidden_state <"$BATS_TEST_TMPDIR/tok"
}

@test "emb-token: DeBERTa-v3 batch matches the reference, mean pooling without Normalize" {
	need_data $M/deberta-v3-random-small/reference.jsonl
	ref=$D/$M/deberta-v3-random-small/reference.jsonl
	ref_ids "$ref" batch_padded >"$BATS_TEST_TMPDIR/ids"
	emb-token -m "$D/$M/deberta-v3-random-small" "$BATS_TEST_TMPDIR/ids" >"$BATS_TEST_TMPDIR/tok"
	run -0 compare "$ref" batch_padded last_hidden_state <"$BATS_TEST_TMPDIR/tok"
	emb-pool -m "$D/$M/deberta-v3-random-small" "$BATS_TEST_TMPDIR/tok" >"$BATS_TEST_TMPDIR/sent"
	run -0 compare "$ref" batch_padded sentence_embedding <"$BATS_TEST_TMPDIR/sent"
}

@test "emb-token: 513 tokens is an error naming the line; --truncate keeps [SEP]" {
	need_data $M/bert-random-small/config.json
	ids="101$(printf ' 1996%.0s' $(seq 511)) 102"
	run -1 --separate-stderr emb-token -m "$D/$M/bert-random-small" <<<"$ids"
	[[ $stderr == *"-:1: 513 tokens, more than the 512"* ]]
	run -0 emb-token --truncate -m "$D/$M/bert-random-small" <<<"$ids"
	[ "${#lines[@]}" -eq 512 ]
	# the kept last token is [SEP]: the same vector as without the cut
	ids2="101$(printf ' 1996%.0s' $(seq 510)) 102"
	run -0 diff <(emb-token --truncate -m "$D/$M/bert-random-small" <<<"$ids") \
		<(emb-token -m "$D/$M/bert-random-small" <<<"$ids2")
}

@test "emb-token | emb-pool -m on Model2Vec models matches the reference" {
	need_data reference/model2vec static-embeddings/model2vec-rs-fixtures
	for m in test-model-float32 test-model-vocab-quantized; do
		python3 -c '
import json, sys
for l in open(sys.argv[1]):
    c = json.loads(l)
    if isinstance(c["ids_used"], list):
        print(" ".join(map(str, c["ids_used"])))
' "$D/reference/model2vec/$m.jsonl" >"$BATS_TEST_TMPDIR/ids"
		emb-token -m "$D/static-embeddings/model2vec-rs-fixtures/$m" "$BATS_TEST_TMPDIR/ids" |
			emb-pool -m "$D/static-embeddings/model2vec-rs-fixtures/$m" >"$BATS_TEST_TMPDIR/sent"
		run -0 python3 -c '
import json, sys
want = [json.loads(l)["embedding"] for l in open(sys.argv[1]) if isinstance(json.loads(l)["ids_used"], list)]
got = [[float(x) for x in l.split()] for l in open(sys.argv[2])]
assert len(got) == len(want), (len(got), len(want))
w = max(abs(a - b) for g, e in zip(got, want) for a, b in zip(g, e))
print(w); sys.exit(w > 1e-5)
' "$D/reference/model2vec/$m.jsonl" "$BATS_TEST_TMPDIR/sent"
	done
}

@test "emb-token --static: input embedding rows of an encoder checkpoint" {
	need_data $M/bert-random-small/model.safetensors
	run -0 emb-token --static -m "$D/$M/bert-random-small" <<<"101 102"
	[ "${#lines[@]}" -eq 2 ]
	# row 101 of embeddings.word_embeddings.weight, read independently
	row=$(python3 -c '
import json, struct, sys
f = open(sys.argv[1], "rb"); n = struct.unpack("<Q", f.read(8))[0]; h = json.loads(f.read(n))
t = h["embeddings.word_embeddings.weight"]; f.seek(8 + n + t["data_offsets"][0] + 101 * 64 * 4)
print(" ".join("%.9g" % x for x in struct.unpack("<64f", f.read(256))))
' "$D/$M/bert-random-small/model.safetensors")
	[ "${lines[0]}" = "$row" ]
}

@test "emb-token reads tok-encode output when tok-encode is ready" {
	need_data $M/bert-random-small/tokenizer.json
	out=$(echo hi | tok-encode -m "$D/$M/bert-random-small" 2>&1) || true
	if [[ $out == *"not implemented"* || $out == *"invalid option"* || $out == *"unrecognized option"* ]]; then
		skip "tok-encode is not implemented yet"
	fi
	run -0 --separate-stderr bash -c 'echo "Hello, world!" | tok-encode -m "$1" | emb-token -m "$1" | emb-pool -m "$1"' _ "$D/$M/bert-random-small"
	[ "${#lines[@]}" -eq 1 ]
}

@test "emb-token on a Model2Vec model drops [UNK] and keeps 512 ids, as model2vec does" {
	need_data static-embeddings/model2vec-rs-fixtures/embeddings_long.json
	m=$D/static-embeddings/model2vec-rs-fixtures/test-model-float32
	run -0 emb-token -m "$m" <<<"1 6598 1 1094"
	[ "${#lines[@]}" -eq 2 ]
	# "hello" x 1000, recorded from Python model2vec: [-0.7980846762657166, -0.6025453805923462]
	run -0 bash -c 'yes 6598 | head -1000 | paste -sd" " | emb-token -m "$1" | emb-pool -m "$1"' _ "$m"
	[ "$output" = "-0.798084617 -0.602545321" ]
	# --static keeps every id
	run -0 emb-token -s -m "$m" <<<"1 6598 1 1094"
	[ "${#lines[@]}" -eq 4 ]
}
