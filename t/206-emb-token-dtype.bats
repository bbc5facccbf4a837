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

# DIR DTYPE: a BERT of width 256 and two layers (zero weights, LayerNorm
# gains too) whose safetensors hold its tensors in DTYPE (F32 or F16).
zero_bert() {
	local dir=$1 dt=$2 es off=0 hdr="" name shape n l
	es=$([ "$dt" = F32 ] && echo 4 || echo 2)
	mkdir -p "$dir"
	printf '%s' '{"architectures": ["BertModel"], "model_type": "bert", "hidden_size": 256,
"num_attention_heads": 4, "intermediate_size": 1024, "num_hidden_layers": 2,
"vocab_size": 100, "max_position_embeddings": 64, "type_vocab_size": 2,
"hidden_act": "gelu", "layer_norm_eps": 1e-12}' >"$dir/config.json"
	{
		echo "embeddings.word_embeddings.weight 100,256"
		echo "embeddings.position_embeddings.weight 64,256"
		echo "embeddings.token_type_embeddings.weight 2,256"
		echo "embeddings.LayerNorm.weight 256"
		echo "embeddings.LayerNorm.bias 256"
		for l in 0 1; do
			for name in attention.self.query attention.self.key attention.self.value \
			    attention.output.dense; do
				echo "encoder.layer.$l.$name.weight 256,256"
				echo "encoder.layer.$l.$name.bias 256"
			done
			echo "encoder.layer.$l.intermediate.dense.weight 1024,256"
			echo "encoder.layer.$l.intermediate.dense.bias 1024"
			echo "encoder.layer.$l.output.dense.weight 256,1024"
			echo "encoder.layer.$l.output.dense.bias 256"
			for name in attention.output.LayerNorm output.LayerNorm; do
				echo "encoder.layer.$l.$name.weight 256"
				echo "encoder.layer.$l.$name.bias 256"
			done
		done
	} >"$dir/tensors"
	while read -r name shape; do
		n=$((${shape/,/*} * es))
		hdr+="${hdr:+, }\"$name\": {\"dtype\": \"$dt\", \"shape\": [$shape], \"data_offsets\": [$off, $((off + n))]}"
		off=$((off + n))
	done <"$dir/tensors"
	hdr="{$hdr}"
	while [ $((${#hdr} % 8)) -ne 0 ]; do hdr+=" "; done
	perl -e 'print pack("Q<", $ARGV[0])' "${#hdr}" >"$dir/model.safetensors"
	printf '%s' "$hdr" >>"$dir/model.safetensors"
	head -c "$off" /dev/zero >>"$dir/model.safetensors"
}

# The least ulimit -v (KB, to 1 MB) under which emb-token -m DIR --dtype
# DTYPE encodes one short document.  OpenBLAS's thread server retries a
# failed allocation for ever: one BLAS thread, and a time limit.
emb_floor_kb() {
	local lo=1000 hi=1000000 mid
	while [ $((hi - lo)) -gt 1024 ]; do
		mid=$(((lo + hi) / 2))
		if OPENBLAS_NUM_THREADS=1 timeout 20 bash -c 'ulimit -v "$1" &&
		    echo 1 2 3 | emb-token -m "$2" --dtype "$3" -t 1' - "$mid" "$1" "$2" \
		    >/dev/null 2>&1; then
			hi=$mid
		else
			lo=$mid
		fi
	done
	echo "$hi"
}

@test "emb-token --dtype bf16 and int8 pack F16 weights from the file, never widened to float32" {
	[ -z "${TOKEMB_SAN:-}" ] ||
		skip "ulimit -v: the sanitizers reserve terabytes of address space"
	local t=$BATS_TEST_TMPDIR f32 f16
	zero_bert "$t/f32" F32
	zero_bert "$t/f16" F16
	run -0 emb-token -m "$t/f16" --dtype bf16 <<<'1 2 3'
	run -0 emb-token -m "$t/f16" --dtype int8 <<<'1 2 3'
	# the layers' matrices: 6.3 MB in float32, 3.1 MB in F16; widened, the
	# F16 model would need 3.1 MB more than the F32 one, not 3.1 MB less
	for dt in bf16 int8; do
		f32=$(emb_floor_kb "$t/f32" "$dt")
		f16=$(emb_floor_kb "$t/f16" "$dt")
		echo "# $dt: F32 file $f32 KB, F16 file $f16 KB" >&3
		[ "$f16" -lt $((f32 - 1500)) ]
	done
}
