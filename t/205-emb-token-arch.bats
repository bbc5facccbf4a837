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
	need_data tokenizers/all-mpnet-base-v2/tokenizer.json tokenizers/qwen3/tokenizer.json
}

gen() {
	/usr/bin/python3 "$GEN" "$@"
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
	run -0 gen compare "$dir/reference.jsonl" "$c" last_hidden_state <"$BATS_TEST_TMPDIR/tok"
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
