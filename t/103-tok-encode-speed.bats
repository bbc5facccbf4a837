#!/usr/bin/env bats
# tok-encode's fast path (a hand-scanned split into byte-level BPE, with
# per-thread piece caches and tables built after many cache misses) gives
# the same ids and offsets whatever the caches hold: input of more distinct
# pieces than the caches keep, encoded forwards, backwards and on threads.

load helper

P=$T/tok/tiny-bpe.json

# 30000 lines of words seen once: short, 17-56 bytes, and longer
distinct_words() {
	awk 'BEGIN { for (i = 1; i <= 30000; i++) {
		h = (i * 2654435761) % 4294967296
		printf "w%x q%d %s%dz zz%xyy%xxx%d, the cat\n", h, i,
		    (i % 3 ? "ab" : "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"), i, h, i, h
	} }'
}

same_any_order() {	# model [options]: forwards = backwards = threads
	local m=$1
	shift
	tok-encode -m "$m" "$@" "$BATS_TEST_TMPDIR/in" >"$BATS_TEST_TMPDIR/fwd"
	tac "$BATS_TEST_TMPDIR/in" | tok-encode -m "$m" "$@" | tac >"$BATS_TEST_TMPDIR/bwd"
	tok-encode -m "$m" "$@" --threads 3 "$BATS_TEST_TMPDIR/in" >"$BATS_TEST_TMPDIR/thr"
	cmp "$BATS_TEST_TMPDIR/fwd" "$BATS_TEST_TMPDIR/bwd"
	cmp "$BATS_TEST_TMPDIR/fwd" "$BATS_TEST_TMPDIR/thr"
	[ "$(wc -l <"$BATS_TEST_TMPDIR/fwd")" -eq 30000 ]
}

@test "tok-encode fast path: ids and offsets do not depend on what the caches hold" {
	distinct_words >"$BATS_TEST_TMPDIR/in"
	same_any_order "$P"
	same_any_order "$P" --offsets
}

@test "tok-encode fast path: the same on cl100k (ranks) and gpt-4o-hf (merges)" {
	need_data tokenizers/tiktoken/cl100k_base.tiktoken tokenizers/gpt-4o-hf/tokenizer.json
	distinct_words >"$BATS_TEST_TMPDIR/in"
	same_any_order "$TOKEMB_DATA/tokenizers/tiktoken/cl100k_base.tiktoken"
	same_any_order "$TOKEMB_DATA/tokenizers/gpt-4o-hf/tokenizer.json" --offsets
}
