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

# Inputs of every shape for --threads: empty lines, CRLF, invalid UTF-8,
# long and tiny documents, a last line without its newline; many more
# documents than a batch holds.
shapes() {
	awk 'BEGIN { for (i = 1; i <= 12000; i++) {
		if (i % 7 == 0) printf "\n"
		else if (i % 11 == 0) printf "crlf line %d\r\n", i
		else if (i % 13 == 0) printf "bad \377\376 utf8 %d\n", i
		else if (i % 997 == 0) { for (k = 0; k < 3000; k++) printf "word%d ", k; printf "\n" }
		else printf "d%d\n", i
	} printf "no newline at the end" }'
}

# The same stdout, stderr and exit status for 1, 2 and 3 threads.
same_threads() {
	local n
	run -0 --separate-stderr tok-encode "$@"
	local out1=$output err1=$stderr
	for n in 2 3; do
		run -0 --separate-stderr tok-encode --threads "$n" "$@"
		[ "$output" = "$out1" ]
		[ "$stderr" = "$err1" ]
	done
}

@test "tok-encode --threads: every output mode and input shape as one thread" {
	shapes >"$BATS_TEST_TMPDIR/in"
	tr '\n' '\0' <"$BATS_TEST_TMPDIR/in" >"$BATS_TEST_TMPDIR/in0"
	for opt in "" --tokens --offsets --count --total "--max-tokens 3" --no-special; do
		# shellcheck disable=SC2086
		same_threads -m "$P" $opt "$BATS_TEST_TMPDIR/in"
	done
	same_threads -m "$P" -z "$BATS_TEST_TMPDIR/in0"
	same_threads -m "$P" -z --tokens "$BATS_TEST_TMPDIR/in0"
	# byte for byte with the NULs kept: -z output compared through od
	tok-encode -m "$P" -z "$BATS_TEST_TMPDIR/in0" | od -c >"$BATS_TEST_TMPDIR/z1"
	tok-encode -m "$P" -z --threads 2 "$BATS_TEST_TMPDIR/in0" | od -c >"$BATS_TEST_TMPDIR/z2"
	cmp "$BATS_TEST_TMPDIR/z1" "$BATS_TEST_TMPDIR/z2"
	# several files, one of them empty, one missing: warnings in order, exit 1
	: >"$BATS_TEST_TMPDIR/empty"
	run -1 --separate-stderr tok-encode -m "$P" "$BATS_TEST_TMPDIR/in" "$BATS_TEST_TMPDIR/empty" \
	    "$BATS_TEST_TMPDIR/missing" "$BATS_TEST_TMPDIR/in"
	local out1=$output err1=$stderr
	run -1 --separate-stderr tok-encode --threads 2 -m "$P" "$BATS_TEST_TMPDIR/in" \
	    "$BATS_TEST_TMPDIR/empty" "$BATS_TEST_TMPDIR/missing" "$BATS_TEST_TMPDIR/in"
	[ "$output" = "$out1" ] && [ "$stderr" = "$err1" ]
	[[ "$stderr" == *missing* ]]
	# many tiny documents, and one document alone
	seq 1 50000 >"$BATS_TEST_TMPDIR/tiny"
	same_threads -m "$P" "$BATS_TEST_TMPDIR/tiny"
	printf 'one line' >"$BATS_TEST_TMPDIR/one"
	same_threads -m "$P" "$BATS_TEST_TMPDIR/one"
	same_threads -m "$P" /dev/null
}

@test "tok-encode --threads: the same on cl100k and gpt-4o-hf, every output mode" {
	need_data tokenizers/tiktoken/cl100k_base.tiktoken tokenizers/gpt-4o-hf/tokenizer.json
	shapes >"$BATS_TEST_TMPDIR/in"
	for m in "$TOKEMB_DATA/tokenizers/tiktoken/cl100k_base.tiktoken" \
	         "$TOKEMB_DATA/tokenizers/gpt-4o-hf/tokenizer.json"; do
		for opt in "" --tokens --offsets --total; do
			# shellcheck disable=SC2086
			same_threads -m "$m" $opt "$BATS_TEST_TMPDIR/in"
		done
	done
}

@test "the tokenizer programs do not link the encoders' BLAS (start-up stays a few ms)" {
	command -v nm >/dev/null || skip "needs nm (binutils)"
	# the symbols, not ldd: a sanitizer build records every library
	for p in tok-encode tok-decode tok-show tok-train; do
		run -0 nm -u "$TOKEMB_BIN/$p"
		[[ $output != *cblas_* ]] || { echo "$p calls BLAS"; false; }
	done
}
