#!/usr/bin/env bats
# emb-token | emb-pool on random-weight checkpoints of the newer embedding
# architectures, written at test time by t/gen-emb-arch.py in the Hugging Face
# layout with a real tokenizer, against its independent NumPy forward pass.

load helper

GEN=$BATS_TEST_DIRNAME/gen-emb-arch.py

# Skip unless Debian's python3 has NumPy and the tokenizers are there.
need_gen() {
	/usr/bin/python3 -c 'import numpy' 2>/dev/null ||
		skip "needs NumPy for /usr/bin/python3 (python3-numpy)"
	need_data tokenizers/all-mpnet-base-v2/tokenizer.json tokenizers/qwen3/tokenizer.json \
		tokenizers/bert-base-uncased/tokenizer.json tokenizers/gemma3/tokenizer.json
}

gen() {
	/usr/bin/python3 "$GEN" "$@"
}

# Edit the config.json of model directory $1 with the Python statements $2
# (c is the config).
edit_config() {
	/usr/bin/python3 - "$1/config.json" "$2" <<-'EOF'
		import json, sys
		c = json.load(open(sys.argv[1]))
		exec(sys.argv[2])
		json.dump(c, open(sys.argv[1], "w"), indent=2)
	EOF
}

# Write model $1 of architecture $2 (more options after) in the file's scratch
# directory, with the reference of documents from $TOKEMB_DATA tokenized by
# tok-encode: two sentences, a 512-token story and ids typed by hand.
model() {
	local dir=$BATS_FILE_TMPDIR/$1 arch=$2
	shift 2
	[ -e "$dir/reference.jsonl" ] && return 0
	gen write "$arch" "$dir" "$@"
	{
		printf '%s\n' 'Hello, world!' 'The quick brown fox jumps over the lazy dog.'
		head -c 4000 "$D/corpora/lee_background.cor" | tr '\n' ' '
		echo
	} | tok-encode --max-tokens "${MAXTOK:-512}" -m "$dir" >"$dir/ids"
	[ -z "${EXTRA:-}" ] || echo "$EXTRA" >>"$dir/ids"
	gen ref "$dir" "$dir/ids" >"$dir/reference.jsonl"
}

# emb-token then emb-pool on case $2 of model $1 against the reference
check_case() {
	local dir=$BATS_FILE_TMPDIR/$1 c=$2
	shift 2
	gen ids "$dir/reference.jsonl" "$c" >"$BATS_TEST_TMPDIR/ids"
	emb-token "$@" -m "$dir" "$BATS_TEST_TMPDIR/ids" >"$BATS_TEST_TMPDIR/tok"
	run -0 gen compare "$dir/reference.jsonl" "$c" last_hidden_state ${TOL:+"$TOL"} <"$BATS_TEST_TMPDIR/tok"
	echo "$c tokens: $output"
	emb-pool -m "$dir" "$BATS_TEST_TMPDIR/tok" >"$BATS_TEST_TMPDIR/sent"
	run -0 gen compare "$dir/reference.jsonl" "$c" sentence_embedding <"$BATS_TEST_TMPDIR/sent"
	echo "$c sentences: $output"
}

@test "emb-token: XLM-RoBERTa positions from padding_idx + 1 (512 tokens, rows up to 513)" {
	need_gen
	EXTRA="0 2462 1 5 1 2092 2" model xlmr xlm-roberta
	[ "$(gen ids "$BATS_FILE_TMPDIR/xlmr/reference.jsonl" doc_3 | wc -w)" -eq 512 ]
	for c in doc_1 doc_2 doc_3 doc_4 batch_padded; do
		check_case xlmr "$c"
	done
}

@test "emb-token: XLM-RoBERTa F16 and BF16 weights, two threads" {
	need_gen
	model xlmr-f16 xlm-roberta --dtype f16
	model xlmr-bf16 xlm-roberta --dtype bf16 --prefix roberta.
	check_case xlmr-f16 batch_padded -t 2
	check_case xlmr-bf16 batch_padded
}

@test "emb-token: XLM-RoBERTa, 513 tokens are more than the 514 position rows allow" {
	need_gen
	model xlmr xlm-roberta
	ids="0$(printf ' 2092%.0s' $(seq 511)) 2"
	run -1 --separate-stderr emb-token -m "$BATS_FILE_TMPDIR/xlmr" <<<"$ids"
	[[ $stderr == *"513 tokens, more than the 512"* ]]
}

@test "emb-token | emb-pool: Qwen3 decoder (causal, grouped K/V, RoPE, lasttoken) matches the reference" {
	need_gen
	MAXTOK=600 model qwen3 qwen3
	# the tokenizer closes each input with <|endoftext|>, the token pooled
	[ "$(gen ids "$BATS_FILE_TMPDIR/qwen3/reference.jsonl" doc_3 | wc -w)" -eq 600 ]
	[ "$(gen ids "$BATS_FILE_TMPDIR/qwen3/reference.jsonl" doc_1 | awk '{print $NF}')" -eq 151643 ]
	for c in doc_1 doc_2 doc_3 batch_padded; do
		check_case qwen3 "$c" -t 2
	done
	# left padding moves the rotary angles of the short documents by the
	# pads: the same numbers within the rounding of those angles
	TOL=5e-5 check_case qwen3 batch_left_padded
}

@test "emb-token: Qwen3 F16 weights and BF16 weights under model. names" {
	need_gen
	MAXTOK=600 model qwen3-f16 qwen3 --dtype f16
	MAXTOK=600 model qwen3-bf16 qwen3 --dtype bf16 --prefix model.
	check_case qwen3-f16 batch_padded
	check_case qwen3-bf16 batch_padded -t 2
}

@test "emb-token: Qwen3 settings this forward pass does not have are refused by name" {
	need_gen
	MAXTOK=600 model qwen3 qwen3
	local m=$BATS_TEST_TMPDIR/m
	cp -r "$BATS_FILE_TMPDIR/qwen3" "$m"
	sed -i 's/"attention_bias": false/"attention_bias": true/' "$m/config.json"
	run -1 --separate-stderr emb-token -m "$m" <<<"1 2 3"
	[[ $stderr == *"config.json: unsupported: attention_bias true"* ]]
	sed -i 's/"attention_bias": true/"attention_bias": false/; s/"num_key_value_heads": 2/"num_key_value_heads": 3/' "$m/config.json"
	run -1 --separate-stderr emb-token -m "$m" <<<"1 2 3"
	[[ $stderr == *"num_attention_heads 4 is not a multiple of num_key_value_heads 3"* ]]
	sed -i 's/"num_key_value_heads": 3/"num_key_value_heads": 2/; s/"num_hidden_layers": 2/"num_hidden_layers": 1/' "$m/config.json"
	run -1 --separate-stderr emb-token -m "$m" <<<"1 2 3"
	[[ $stderr == *"num_hidden_layers is 1 but the weights have more layers"* ]]
}

@test "emb-token | emb-pool: NomicBERT (rotary, SwiGLU, fused Wqkv, post-norm) matches the reference" {
	need_gen
	MAXTOK=600 model nomic nomic_bert
	[ "$(gen ids "$BATS_FILE_TMPDIR/nomic/reference.jsonl" doc_3 | wc -w)" -eq 600 ]
	for c in doc_1 doc_2 doc_3 batch_padded; do
		check_case nomic "$c" -t 2
	done
}

@test "emb-token: NomicBERT F16 and BF16 weights" {
	need_gen
	MAXTOK=600 model nomic-f16 nomic_bert --dtype f16
	MAXTOK=600 model nomic-bf16 nomic_bert --dtype bf16
	check_case nomic-f16 batch_padded
	check_case nomic-bf16 batch_padded -t 2
}

@test "emb-token: NomicBERT settings this forward pass does not have are refused by name" {
	need_gen
	MAXTOK=600 model nomic nomic_bert
	local m=$BATS_TEST_TMPDIR/m
	cp -r "$BATS_FILE_TMPDIR/nomic" "$m"
	sed -i 's/"qkv_proj_bias": false/"qkv_proj_bias": true/' "$m/config.json"
	run -1 --separate-stderr emb-token -m "$m" <<<"101 102"
	[[ $stderr == *"config.json: unsupported: qkv_proj_bias true"* ]]
	sed -i 's/"qkv_proj_bias": true/"qkv_proj_bias": false/; s/"rotary_scaling_factor": null/"rotary_scaling_factor": 2/' "$m/config.json"
	run -1 --separate-stderr emb-token -m "$m" <<<"101 102"
	[[ $stderr == *"config.json: unsupported: rotary_scaling_factor"* ]]
	sed -i 's/"rotary_scaling_factor": 2/"rotary_scaling_factor": null/; s/"n_layer": 2/"n_layer": 1/' "$m/config.json"
	run -1 --separate-stderr emb-token -m "$m" <<<"101 102"
	[[ $stderr == *"n_layer is 1 but the weights have more layers"* ]]
}

@test "emb-pool --dim on NomicBERT: the first N of the reference, normalized again" {
	need_gen
	MAXTOK=600 model nomic nomic_bert
	local dir=$BATS_FILE_TMPDIR/nomic
	gen ids "$dir/reference.jsonl" batch_padded >"$BATS_TEST_TMPDIR/ids"
	emb-token -m "$dir" "$BATS_TEST_TMPDIR/ids" | emb-pool -m "$dir" -d 8 >"$BATS_TEST_TMPDIR/cut"
	run -0 /usr/bin/python3 - "$dir/reference.jsonl" "$BATS_TEST_TMPDIR/cut" <<-'EOF'
		import json, sys
		import numpy as np
		ref = [json.loads(l) for l in open(sys.argv[1])]
		want = np.array([c for c in ref if c["name"] == "batch_padded"][0]["sentence_embedding"])
		want = want[:, :8] / np.linalg.norm(want[:, :8], axis=1, keepdims=True)
		got = np.loadtxt(sys.argv[2], ndmin=2)
		assert got.shape == want.shape, (got.shape, want.shape)
		print("max abs diff", np.abs(got - want).max())
		sys.exit(0 if np.abs(got - want).max() <= 1e-5 else 1)
	EOF
}

@test "emb-token | emb-pool: ModernBERT (pre-norm, GeGLU, global and 16-token local attention) matches the reference" {
	need_gen
	MAXTOK=600 model modern modernbert
	# 600 tokens: most keys are outside the local layers' window
	[ "$(gen ids "$BATS_FILE_TMPDIR/modern/reference.jsonl" doc_3 | wc -w)" -eq 600 ]
	grep -q '"local_attention": 16' "$BATS_FILE_TMPDIR/modern/config.json"
	for c in doc_1 doc_2 doc_3 batch_padded; do
		check_case modern "$c" -t 2
	done
}

@test "emb-token: ModernBERT F16 weights and BF16 weights under model. names" {
	need_gen
	MAXTOK=600 model modern-f16 modernbert --dtype f16
	MAXTOK=600 model modern-bf16 modernbert --dtype bf16 --prefix model.
	check_case modern-f16 batch_padded
	check_case modern-bf16 batch_padded -t 2
}

@test "emb-token: ModernBERT with LayerNorm biases (norm_bias true) matches the reference" {
	need_gen
	MAXTOK=600 model modern modernbert
	local m=$BATS_FILE_TMPDIR/modern-nb
	cp -r "$BATS_FILE_TMPDIR/modern" "$m"
	rm "$m/reference.jsonl"
	sed -i 's/"norm_bias": false/"norm_bias": true/' "$m/config.json"
	# the same weights, each LayerNorm given a bias
	/usr/bin/python3 - "$GEN" "$m/model.safetensors" <<-'EOF'
		import importlib.util, sys
		import numpy as np
		spec = importlib.util.spec_from_file_location("g", sys.argv[1])
		g = importlib.util.module_from_spec(spec)
		spec.loader.exec_module(g)
		w = g.load_safetensors(sys.argv[2])
		rng = np.random.default_rng(5)
		w.update({k[:-len("weight")] + "bias": (rng.standard_normal(w[k].shape) * 0.1).astype(np.float32)
		          for k in sorted(w) if "norm" in k})
		g.save_safetensors(sys.argv[2], w, "f32")
	EOF
	gen ref "$m" "$m/ids" >"$m/reference.jsonl"
	check_case modern-nb batch_padded
}

@test "emb-token: ModernBERT and Qwen3 configs as newer transformers write them (layer_types, rope_parameters)" {
	need_gen
	MAXTOK=600 model modern modernbert
	MAXTOK=600 model qwen3 qwen3
	local m=$BATS_FILE_TMPDIR/modern-new q=$BATS_FILE_TMPDIR/qwen3-new
	rm -rf "$m" "$q"
	cp -r "$BATS_FILE_TMPDIR/modern" "$m"
	cp -r "$BATS_FILE_TMPDIR/qwen3" "$q"
	# bases unlike the defaults, so that a key not read shows
	edit_config "$m" 'del c["global_rope_theta"], c["local_rope_theta"]; c["layer_types"] = [
	    "full_attention", "sliding_attention", "sliding_attention", "full_attention"]; c["rope_parameters"] = {
	    "full_attention": {"rope_type": "default", "rope_theta": 50000.0},
	    "sliding_attention": {"rope_type": "default", "rope_theta": 20000.0}}'
	edit_config "$q" 'c["rope_parameters"] = {"rope_type": "default", "rope_theta": 5000.0}; del c["rope_theta"]'
	gen ref "$m" "$m/ids" >"$m/reference.jsonl"
	gen ref "$q" "$q/ids" >"$q/reference.jsonl"
	check_case modern-new batch_padded
	check_case qwen3-new batch_padded
}

@test "emb-token: ModernBERT settings this forward pass does not have are refused by name" {
	need_gen
	MAXTOK=600 model modern modernbert
	local m=$BATS_TEST_TMPDIR/m
	cp -r "$BATS_FILE_TMPDIR/modern" "$m"
	sed -i 's/"mlp_bias": false/"mlp_bias": true/' "$m/config.json"
	run -1 --separate-stderr emb-token -m "$m" <<<"101 102"
	[[ $stderr == *"config.json: unsupported: mlp_bias true"* ]]
	sed -i 's/"mlp_bias": true/"mlp_bias": false/; s/"hidden_activation": "gelu"/"hidden_activation": "silu"/' "$m/config.json"
	run -1 --separate-stderr emb-token -m "$m" <<<"101 102"
	[[ $stderr == *"unsupported hidden_activation 'silu' (gelu supported)"* ]]
	sed -i 's/"hidden_activation": "silu"/"hidden_activation": "gelu"/; s/"num_hidden_layers": 4/"num_hidden_layers": 3/' "$m/config.json"
	run -1 --separate-stderr emb-token -m "$m" <<<"101 102"
	[[ $stderr == *"num_hidden_layers is 3 but the weights have more layers"* ]]
	sed -i 's/"model_type": "modernbert"/"model_type": "x"/' "$m/config.json"
	run -1 --separate-stderr emb-token -m "$m" <<<"101 102"
	[[ $stderr == "emb-token: $m/config.json: model_type 'x' is not one of bert, roberta, xlm-roberta, mpnet, deberta-v2, nomic_bert, modernbert, qwen3, gemma3_text "* ]]
}

@test "emb-token | emb-pool: Gemma 3 as EmbeddingGemma (bidirectional, 16-token sliding window, Dense projections) matches the reference" {
	need_gen
	MAXTOK=600 model gemma gemma3_text
	local dir=$BATS_FILE_TMPDIR/gemma
	# 600 tokens, <bos> first and <eos> last: most keys are outside the
	# sliding layers' window
	[ "$(gen ids "$dir/reference.jsonl" doc_3 | wc -w)" -eq 600 ]
	[ "$(gen ids "$dir/reference.jsonl" doc_1 | awk '{print $1, $NF}')" = "2 1" ]
	grep -q '"sliding_window": 16' "$dir/config.json"
	grep -q '"path": "3_Dense"' "$dir/modules.json"
	for c in doc_1 doc_2 doc_3 batch_padded; do
		check_case gemma "$c" -t 2
	done
}

@test "emb-token: Gemma 3 F16 weights and BF16 weights under model. names" {
	need_gen
	MAXTOK=600 model gemma-f16 gemma3_text --dtype f16
	MAXTOK=600 model gemma-bf16 gemma3_text --dtype bf16 --prefix model.
	check_case gemma-f16 batch_padded
	check_case gemma-bf16 batch_padded -t 2
}

@test "emb-token: Gemma 3 local layers from sliding_window_pattern, RoPE bases from rope_parameters" {
	need_gen
	MAXTOK=600 model gemma gemma3_text
	local m=$BATS_FILE_TMPDIR/gemma-keys
	rm -rf "$m"
	cp -r "$BATS_FILE_TMPDIR/gemma" "$m"
	# the same model as older and newer transformers write its config
	edit_config "$m" 'del c["layer_types"]'
	check_case gemma-keys batch_padded
	edit_config "$m" 'c["rope_parameters"] = {
	    "full_attention": {"rope_type": "default", "rope_theta": c.pop("rope_theta")},
	    "sliding_attention": {"rope_type": "default", "rope_theta": c.pop("rope_local_base_freq")}}'
	check_case gemma-keys batch_padded
}

@test "emb-token: Gemma 3 causal (use_bidirectional_attention false) matches the reference" {
	need_gen
	MAXTOK=600 model gemma gemma3_text
	local m=$BATS_FILE_TMPDIR/gemma-causal
	rm -rf "$m"
	cp -r "$BATS_FILE_TMPDIR/gemma" "$m"
	edit_config "$m" 'c["use_bidirectional_attention"] = False'
	gen ref "$m" "$m/ids" >"$m/reference.jsonl"
	check_case gemma-causal doc_3
	check_case gemma-causal batch_padded -t 2
}

@test "emb-pool --dim on Gemma 3: the first N after the Dense projections, normalized again" {
	need_gen
	MAXTOK=600 model gemma gemma3_text
	local dir=$BATS_FILE_TMPDIR/gemma
	gen ids "$dir/reference.jsonl" batch_padded >"$BATS_TEST_TMPDIR/ids"
	emb-token -m "$dir" "$BATS_TEST_TMPDIR/ids" | emb-pool -m "$dir" -d 8 >"$BATS_TEST_TMPDIR/cut"
	run -0 /usr/bin/python3 - "$dir/reference.jsonl" "$BATS_TEST_TMPDIR/cut" <<-'EOF'
		import json, sys
		import numpy as np
		ref = [json.loads(l) for l in open(sys.argv[1])]
		want = np.array([c for c in ref if c["name"] == "batch_padded"][0]["sentence_embedding"])
		want = want[:, :8] / np.linalg.norm(want[:, :8], axis=1, keepdims=True)
		got = np.loadtxt(sys.argv[2], ndmin=2)
		assert got.shape == want.shape, (got.shape, want.shape)
		print("max abs diff", np.abs(got - want).max())
		sys.exit(0 if np.abs(got - want).max() <= 1e-5 else 1)
	EOF
}

@test "emb-token: Gemma 3 settings this forward pass does not have are refused by name" {
	need_gen
	MAXTOK=600 model gemma gemma3_text
	local m=$BATS_TEST_TMPDIR/m
	cp -r "$BATS_FILE_TMPDIR/gemma" "$m"
	edit_config "$m" 'c["attn_logit_softcapping"] = 50.0'
	run -1 --separate-stderr emb-token -m "$m" <<<"2 1"
	[[ $stderr == *"config.json: unsupported: attn_logit_softcapping"* ]]
	edit_config "$m" 'c["attn_logit_softcapping"] = None; c["hidden_activation"] = "gelu"'
	run -1 --separate-stderr emb-token -m "$m" <<<"2 1"
	[[ $stderr == *"unsupported hidden_activation 'gelu' (gelu_pytorch_tanh supported)"* ]]
	edit_config "$m" 'c["hidden_activation"] = "gelu_pytorch_tanh"; c["rope_parameters"] = {
	    "full_attention": {"rope_type": "linear", "factor": 8.0, "rope_theta": 1e6},
	    "sliding_attention": {"rope_type": "default", "rope_theta": 1e4}}'
	run -1 --separate-stderr emb-token -m "$m" <<<"2 1"
	[[ $stderr == *"unsupported: rope_parameters rope_type 'linear' (default supported)"* ]]
	edit_config "$m" 'del c["rope_parameters"]; c["layer_types"][1] = "chunked_attention"'
	run -1 --separate-stderr emb-token -m "$m" <<<"2 1"
	[[ $stderr == *"unsupported layer type 'chunked_attention'"* ]]
	edit_config "$m" 'c["layer_types"][1] = "full_attention"; c["num_hidden_layers"] = 3'
	run -1 --separate-stderr emb-token -m "$m" <<<"2 1"
	[[ $stderr == *'"layer_types" must list a type for each of the 3 layers'* ]]
	edit_config "$m" 'c["layer_types"] = c["layer_types"][:3]'
	run -1 --separate-stderr emb-token -m "$m" <<<"2 1"
	[[ $stderr == *"num_hidden_layers is 3 but the weights have more layers"* ]]
}
