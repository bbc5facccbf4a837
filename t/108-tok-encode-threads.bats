#!/usr/bin/env bats
# tok-encode --threads on one large document: it is cut in parts where the
# model allows (te_tok_cuts) and the parts encoded on every thread; the
# output is the same as on one thread, byte for byte, one record for it.

load helper

# 3 MB, one document: lines of words, numbers, punctuation, CJK, Cyrillic
big_doc() {
	awk 'BEGIN { for (i = 1; i <= 60000; i++) {
		printf "Line %d: the cat\x27s 12345 words, \xe4\xb8\xad\xe6\x96\x87 \xd0\xb7\xd0\xb0\xd0\xb2\xd0\xb8\xd1\x81 (x/y)\n", i
		if (i % 7 == 0) printf "  \n\n"
	} }'
}

same_threads() {	# model [options]
	local m=$1
	shift
	tok-encode -m "$m" "$@" --threads 1 "$BATS_TEST_TMPDIR/in" >"$BATS_TEST_TMPDIR/one"
	tok-encode -m "$m" "$@" --threads 2 "$BATS_TEST_TMPDIR/in" >"$BATS_TEST_TMPDIR/two"
	tok-encode -m "$m" "$@" --threads 5 "$BATS_TEST_TMPDIR/in" >"$BATS_TEST_TMPDIR/five"
	cmp "$BATS_TEST_TMPDIR/one" "$BATS_TEST_TMPDIR/two"
	cmp "$BATS_TEST_TMPDIR/one" "$BATS_TEST_TMPDIR/five"
}

@test "tok-encode --threads: one large document, cut, gives the ids of one thread" {
	need_data tokenizers/tiktoken/cl100k_base.tiktoken tokenizers/tiktoken/o200k_base.tiktoken \
	    tokenizers/llama3/tokenizer.json tokenizers/qwen3/tokenizer.json
	big_doc >"$BATS_TEST_TMPDIR/in"
	for m in tiktoken/cl100k_base.tiktoken tiktoken/o200k_base.tiktoken \
	         llama3/tokenizer.json qwen3/tokenizer.json; do
		same_threads "$TOKEMB_DATA/tokenizers/$m" -z
		[ "$(tr -cd '\0' <"$BATS_TEST_TMPDIR/two" | wc -c)" -eq 1 ]
		same_threads "$TOKEMB_DATA/tokenizers/$m" -z --total
	done
}

@test "tok-encode --threads: documents around a large one keep their order" {
	need_data tokenizers/tiktoken/cl100k_base.tiktoken
	{ printf 'first\0'; big_doc; printf '\0\0last\0'; } >"$BATS_TEST_TMPDIR/in"
	same_threads "$TOKEMB_DATA/tokenizers/tiktoken/cl100k_base.tiktoken" -z
	[ "$(tr -cd '\0' <"$BATS_TEST_TMPDIR/two" | wc -c)" -eq 4 ]
}
