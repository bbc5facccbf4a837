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

# --max-tokens keeps a document whole (tok_batch.c cut_may): one large
# document on any thread count, even one, is encoded in pieces otherwise.
WHOLE=1099511627776

same_threads() {	# model [options]
	local m=$1
	shift
	tok-encode -m "$m" "$@" --max-tokens "$WHOLE" --threads 1 "$BATS_TEST_TMPDIR/in" \
	    >"$BATS_TEST_TMPDIR/one"
	tok-encode -m "$m" "$@" --threads 1 "$BATS_TEST_TMPDIR/in" | cmp - "$BATS_TEST_TMPDIR/one"
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

# Many short lines, then one large document, then short ones again.
mixed() {
	awk 'BEGIN { for (i = 1; i <= 20000; i++) printf "doc %d: some words, 42 (x)%c", i, 0 }'
	big_doc
	printf '\0'
	awk 'BEGIN { for (i = 1; i <= 20000; i++) printf "tail %d%c", i, 0 }'
}

@test "tok-encode --threads: a file, standard input and a pipe give the same ids on 1 to 4 threads" {
	need_data tokenizers/tiktoken/cl100k_base.tiktoken tokenizers/llama3/tokenizer.json \
	    tokenizers/bert-base-uncased/tokenizer.json
	local m t in=$BATS_TEST_TMPDIR/in
	mixed >"$in"
	for m in tiktoken/cl100k_base.tiktoken llama3/tokenizer.json bert-base-uncased/tokenizer.json; do
		m=$TOKEMB_DATA/tokenizers/$m
		tok-encode -m "$m" -z --threads 1 "$in" >"$BATS_TEST_TMPDIR/one"
		[ "$(tr -cd '\0' <"$BATS_TEST_TMPDIR/one" | wc -c)" -eq 40001 ]
		for t in 2 3 4; do
			tok-encode -m "$m" -z --threads "$t" "$in" | cmp - "$BATS_TEST_TMPDIR/one"
			tok-encode -m "$m" -z --threads "$t" <"$in" | cmp - "$BATS_TEST_TMPDIR/one"
			# shellcheck disable=SC2002 # a pipe, not the file
			cat "$in" | tok-encode -m "$m" -z --threads "$t" | cmp - "$BATS_TEST_TMPDIR/one"
		done
		# lines: the NULs are text, each line a document
		tok-encode -m "$m" --threads 1 "$in" >"$BATS_TEST_TMPDIR/one"
		tok-encode -m "$m" --threads 2 "$in" | cmp - "$BATS_TEST_TMPDIR/one"
		# shellcheck disable=SC2002 # a pipe, not the file
		cat "$in" | tok-encode -m "$m" --threads 2 | cmp - "$BATS_TEST_TMPDIR/one"
	done
}

@test "tok-encode --threads: standard input that is a file is read from where it stands, once" {
	need_data tokenizers/tiktoken/cl100k_base.tiktoken
	local m=$TOKEMB_DATA/tokenizers/tiktoken/cl100k_base.tiktoken in=$BATS_TEST_TMPDIR/in
	big_doc >"$in"
	tail -c +7 "$in" | tok-encode -m "$m" --threads 2 >"$BATS_TEST_TMPDIR/want"
	{ head -c 6 >/dev/null; tok-encode -m "$m" --threads 2; } <"$in" >"$BATS_TEST_TMPDIR/got"
	cmp "$BATS_TEST_TMPDIR/got" "$BATS_TEST_TMPDIR/want"
	# "-" twice: the second finds the end, as it does on a pipe
	run -0 bash -c 'tok-encode -m "$1" --threads 2 - - <"$2" | wc -l' - "$m" "$in"
	[ "$output" -eq "$(wc -l <"$in")" ]
}

@test "tok-encode --threads: a cut one letter before the end of a document, the next one right after" {
	need_data tokenizers/tiktoken/o200k_base.tiktoken
	local m=$TOKEMB_DATA/tokenizers/tiktoken/o200k_base.tiktoken in=$BATS_TEST_TMPDIR/in
	# a document whose only line start after its first lines is its last
	# byte: the cuts all fall there, a part of one letter
	{
		printf 'Head line\nSecond line\n'
		yes word | head -c 3000000 | tr '\n' ' '
		printf '\nA\0B and more\0'
	} >"$in"
	same_threads "$m" -z
	[ "$(tr -cd '\0' <"$BATS_TEST_TMPDIR/two" | wc -c)" -eq 2 ]
	same_threads "$m" -z --total
}

@test "tok-encode --threads: a write error is reported once, exit 1" {
	need_data tokenizers/tiktoken/cl100k_base.tiktoken
	local m=$TOKEMB_DATA/tokenizers/tiktoken/cl100k_base.tiktoken
	[ -w /dev/full ] || skip "needs /dev/full"
	mixed >"$BATS_TEST_TMPDIR/in"
	run -1 --separate-stderr bash -c 'tok-encode -m "$1" -z --threads 2 "$2" >/dev/full' - \
	    "$m" "$BATS_TEST_TMPDIR/in"
	[ "$stderr" = "tok-encode: write error: No space left on device" ]
	# one thread, one large document in pieces: the first piece's write
	big_doc >"$BATS_TEST_TMPDIR/in"
	run -1 --separate-stderr bash -c 'tok-encode -m "$1" -z --threads 1 "$2" >/dev/full' - \
	    "$m" "$BATS_TEST_TMPDIR/in"
	[ "$stderr" = "tok-encode: write error: No space left on device" ]
}

# A mapped file on more than one thread is cut in parts of 64 KB
# (tok_batch.c read_parts): each part's documents are those that start in
# it.  Every thread count must give the output and warnings of one.
same_1234() {	# model file [options]
	local m=$1 in=$2 n
	shift 2
	run -0 --separate-stderr tok-encode -m "$m" "$@" --threads 1 "$in"
	local out1=$output err1=$stderr
	for n in 2 3 4; do
		# shellcheck disable=SC2002 # a pipe, not the file
		run -0 --separate-stderr bash -c 'cat "$3" | tok-encode -m "$1" --threads "$2" "${@:4}"' \
		    - "$m" "$n" "$in" "$@"
		[ "$output" = "$out1" ] && [ "$stderr" = "${err1//"$in"/-}" ]
		run -0 --separate-stderr tok-encode -m "$m" "$@" --threads "$n" "$in"
		[ "$output" = "$out1" ] && [ "$stderr" = "$err1" ]
	done
}

@test "tok-encode --threads: a document that starts at a part's first byte, one before, one after" {
	need_data tokenizers/tiktoken/cl100k_base.tiktoken
	local m=$TOKEMB_DATA/tokenizers/tiktoken/cl100k_base.tiktoken in=$BATS_TEST_TMPDIR/in L
	# the first line ends at byte L: the second starts at 65535, 65536 (a
	# part's first byte), 65537; an empty line, then lines across parts
	for L in 65534 65535 65536 131071; do
		{
			yes 'Ab cd' | head -c "$L" | tr '\n' ' '
			printf '\n\n'
			seq 1 30000 | sed 's/^/Line /'
			printf 'no newline at the end'
		} >"$in"
		same_1234 "$m" "$in"
		same_1234 "$m" "$in" --count-docs
		[ "${#lines[@]}" -eq 30003 ]
		same_1234 "$m" "$in" --offsets
		same_1234 "$m" "$in" --total
	done
}

@test "tok-encode --threads: many small documents, CRLF and empty ones, as one thread" {
	need_data tokenizers/tiktoken/o200k_base.tiktoken tokenizers/llama3/tokenizer.json
	local in=$BATS_TEST_TMPDIR/in m
	awk 'BEGIN { for (i = 1; i <= 300000; i++) {
		if (i % 5 == 0) printf "\n"
		else if (i % 3 == 0) printf "crlf %d\r\n", i
		else printf "d%d x\n", i
	} }' >"$in"
	for m in tiktoken/o200k_base.tiktoken llama3/tokenizer.json; do
		same_1234 "$TOKEMB_DATA/tokenizers/$m" "$in"
		same_1234 "$TOKEMB_DATA/tokenizers/$m" "$in" --count-docs
		[ "${#lines[@]}" -eq 300000 ]
	done
}

@test "tok-encode --threads: an invalid line's warning names its line in any part, after a large line" {
	need_data tokenizers/bert-base-uncased/tokenizer.json
	local m=$TOKEMB_DATA/tokenizers/bert-base-uncased/tokenizer.json in=$BATS_TEST_TMPDIR/in
	# line 5000 in the second part, line 300002 beyond the first round,
	# after a line of 3 MB (left to the writer: it would be cut), and the
	# last line, without its newline
	awk 'BEGIN { for (i = 1; i <= 400000; i++) {
		if (i == 5000 || i == 300002) printf "bad \377 %d\n", i
		else if (i == 200000) { for (k = 0; k < 300000; k++) printf "word%d ", k % 10; printf "\n" }
		else printf "d%d\n", i
	} printf "last \376" }' >"$in"
	same_1234 "$m" "$in"
	[ "${stderr_lines[0]}" = "tok-encode: $in:5000: invalid UTF-8 replaced by U+FFFD" ]
	[ "${stderr_lines[1]}" = "tok-encode: $in:300002: invalid UTF-8 replaced by U+FFFD" ]
	[ "${stderr_lines[2]}" = "tok-encode: $in:400001: invalid UTF-8 replaced by U+FFFD" ]
	[ "${#stderr_lines[@]}" -eq 3 ]
	same_1234 "$m" "$in" --count-docs
	[ "${#lines[@]}" -eq 400001 ]
}

# One large document read from a file on more than one thread is encoded
# in pieces (tok_batch.c doc_pieces): each piece starts at the first line
# start (a newline, then an ASCII letter) in its stretch of the document,
# or is empty, and ends where the next one starts.  2.5 MB whose stretches
# begin inside words of 300 KB, in runs of spaces broken by newlines that
# no letter follows, in CRLF and lone CR line ends, newlines before digits,
# marks and non-ASCII letters, and blank lines (a cut between two
# newlines would split the piece they make).
edge_doc() {
	awk 'BEGIN {
		w = "x"; while (length(w) < 300000) w = w w; w = substr(w, 1, 300000)
		s = " "; while (length(s) < 1000) s = s s; s = substr(s, 1, 999)
		for (r = 0; r < 3; r++) {
			printf "Head %d\n%s\nNext %s\n", r, w, w
			for (i = 0; i < 200; i++) printf "%s\n", s
			printf "Word after spaces\n"
			for (i = 0; i < 12000; i++) printf "Line %d ok\r\n", i
			for (i = 0; i < 3000; i++) printf "a\rB\n123\n\x27s\n\xc3\xa9t\xc3\xa9\n(x)\n"
			for (i = 0; i < 12000; i++) printf "Para %d.\n\n \n\t\n", i
		}
	}'
}

# The output of one thread on the whole document, then that of threads 1,
# 2, 3, 4 and 16 on the file and of 1, 2 and 4 on a pipe, byte for byte,
# nothing on stderr.
same_bytes() {	# model file [options]
	local m=$1 in=$2 n
	shift 2
	tok-encode -m "$m" "$@" --max-tokens "$WHOLE" --threads 1 "$in" >"$BATS_TEST_TMPDIR/one" \
	    2>"$BATS_TEST_TMPDIR/err"
	[ ! -s "$BATS_TEST_TMPDIR/err" ]
	for n in 1 2 3 4 16; do
		tok-encode -m "$m" "$@" --threads "$n" "$in" 2>"$BATS_TEST_TMPDIR/err" |
		    cmp - "$BATS_TEST_TMPDIR/one"
		[ ! -s "$BATS_TEST_TMPDIR/err" ]
	done
	for n in 1 2 4; do
		# shellcheck disable=SC2002 # a pipe, not the file
		cat "$in" | tok-encode -m "$m" "$@" --threads "$n" | cmp - "$BATS_TEST_TMPDIR/one"
	done
}

@test "tok-encode --threads: one document cut inside long words, space runs, CRLF: the ids of one thread" {
	need_data tokenizers/tiktoken/cl100k_base.tiktoken tokenizers/tiktoken/o200k_base.tiktoken \
	    tokenizers/llama3/tokenizer.json tokenizers/qwen3/tokenizer.json
	local m in=$BATS_TEST_TMPDIR/in
	edge_doc >"$in"
	[ "$(stat -c %s "$in")" -gt 3000000 ]
	for m in tiktoken/cl100k_base.tiktoken tiktoken/o200k_base.tiktoken \
	         llama3/tokenizer.json qwen3/tokenizer.json; do
		same_bytes "$TOKEMB_DATA/tokenizers/$m" "$in" -z
		[ "$(tr -cd '\0' <"$BATS_TEST_TMPDIR/one" | wc -c)" -eq 1 ]
		same_bytes "$TOKEMB_DATA/tokenizers/$m" "$in" -z --total
	done
}

@test "tok-encode --threads: one document with no line start to cut at, or pieces shorter than its lines" {
	need_data tokenizers/tiktoken/cl100k_base.tiktoken
	local m=$TOKEMB_DATA/tokenizers/tiktoken/cl100k_base.tiktoken in=$BATS_TEST_TMPDIR/in
	# every piece but the first empty: the first holds the whole
	yes 'word 12 ' | head -c 2200000 | tr -d '\n' >"$in"
	same_bytes "$m" "$in" -z
	[ "$(wc -w <"$BATS_TEST_TMPDIR/one")" -gt 500000 ]
	# 16 threads: 64 pieces of 34 KB in lines of 100 KB, most of them
	# empty; a line start in the last byte
	awk 'BEGIN { for (i = 0; i < 22; i++) {
		printf "L%d ", i; for (k = 0; k < 20000; k++) printf "abcd "; printf "\n" } }' >"$in"
	printf 'Z' >>"$in"
	same_bytes "$m" "$in" -z
}

@test "tok-encode --threads: models that are not cut give the ids of one thread, one document or lines" {
	need_data tokenizers/gpt2/tokenizer.json tokenizers/bert-base-uncased/tokenizer.json \
	    tokenizers/t5-small/tokenizer.json tokenizers/gemma3/tokenizer.json \
	    tokenizers/phi-3-mini/tokenizer.json tokenizers/llama2/tokenizer.model
	local m in=$BATS_TEST_TMPDIR/in
	edge_doc | head -c 2200000 >"$in"
	for m in gpt2/tokenizer.json bert-base-uncased/tokenizer.json t5-small/tokenizer.json \
	         gemma3/tokenizer.json phi-3-mini/tokenizer.json llama2/tokenizer.model; do
		same_bytes "$TOKEMB_DATA/tokenizers/$m" "$in" -z
		same_bytes "$TOKEMB_DATA/tokenizers/$m" "$in"
	done
}
