#!/usr/bin/env bats
# emb-pool: input whose documents are all empty, so that the token vectors
# never say their dimension.

load helper

E=$T/emb

@test "emb-pool: only empty documents, text: empty lines, or zeros of the model's dimension" {
	run -0 emb-pool <<<$'\n'
	[ "${#lines[@]}" -eq 0 ]
	[ "$output" = "" ]
	run -0 emb-pool -m "$E/tiny-bert" <<<$'\n'
	[ "${#lines[@]}" -eq 2 ]
	[ "${lines[0]}" = "0 0 0 0 0 0 0 0" ]
	[ "${lines[1]}" = "0 0 0 0 0 0 0 0" ]
}

@test "emb-pool -b: only empty documents: zeros of the model's dimension, else an error" {
	emb-pool -m "$E/tiny-bert" -b <<<$'\n' >"$BATS_TEST_TMPDIR/out.bin"
	# the 64-byte header and two rows of 8 floats
	[ "$(wc -c <"$BATS_TEST_TMPDIR/out.bin")" -eq $((64 + 2 * 8 * 4)) ]
	run -1 --separate-stderr emb-pool -b <<<$'\n'
	[ "$output" = "" ]
	[[ "$stderr" == "emb-pool: 2 empty documents and no vector dimension"* ]]
}

@test "emb-pool: a token-vector stream whose count its data cannot fill is truncated, not sized" {
	local f=$BATS_TEST_TMPDIR/lying
	# TEVEC header: a token-vector stream of dimension 4, then a document
	# that says 4294967295 tokens and holds one
	{
		printf 'TOKEMBV\0\1\0\0\0\1\0\0\0\377\377\377\377\377\377\377\377\4\0\0\0\0\0\0\0'
		printf '\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\1\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0'
		printf '\377\377\377\377\0\0\200\077\0\0\200\077\0\0\200\077\0\0\200\077'
	} >"$f"
	# in 1 GB of address space (the sanitizers' shadow memory needs more)
	local lim=1000000
	[ -z "${TOKEMB_SAN:-}" ] || lim=unlimited
	run -1 --separate-stderr bash -c 'ulimit -v "$1" && emb-pool "$2"' - "$lim" "$f"
	[[ $stderr == *"truncated token-vector stream (document 1: 4294967295 rows of 4 said, 4 values there)"* ]]
	[ -z "$output" ]
}

@test "emb-pool: a malformed row is reported with file:line, its document written empty, the stream goes on, exit 1" {
	printf '1 2\n3 4\n\n1 2 3\n5 6\n\nx y\n\n5 5\n' >"$BATS_TEST_TMPDIR/p.txt"
	run -1 --separate-stderr emb-pool "$BATS_TEST_TMPDIR/p.txt"
	[ "$output" = $'2 3\n0 0\n0 0\n5 5' ]
	[ "${#stderr_lines[@]}" -eq 2 ]
	[ "${stderr_lines[0]}" = "emb-pool: $BATS_TEST_TMPDIR/p.txt:4: 3 components, expected 2" ]
	[[ ${stderr_lines[1]} == "emb-pool: $BATS_TEST_TMPDIR/p.txt:7: "* ]]
}

# A token-vector stream of dimension 2: the TEVEC header, then the
# documents printf'd after it.
tokstream() {
	printf 'TOKEMBV\0\1\0\0\0\1\0\0\0\377\377\377\377\377\377\377\377\2\0\0\0\0\0\0\0'
	printf '\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\1\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0'
}
# float32 1, 2, NaN, infinity; a count
one() { printf '\0\0\200\077'; }
two() { printf '\0\0\0\100'; }
nan() { printf '\0\0\300\177'; }
inf() { printf '\0\0\200\177'; }
count() { printf '%b\0\0\0' "\\0$1"; }

@test "emb-pool: a binary document holding NaN or an infinity is reported by number and written empty; the stream goes on; exit 1" {
	local f=$BATS_TEST_TMPDIR/nan
	{
		tokstream
		count 1; one; two
		count 2; one; one; one; nan
		count 1; inf; one
		count 1; two; two
	} >"$f"
	run -1 --separate-stderr emb-pool "$f"
	[ "$output" = $'1 2\n0 0\n0 0\n2 2' ]
	[ "${#stderr_lines[@]}" -eq 2 ]
	[ "${stderr_lines[0]}" = "emb-pool: $f: document 2: row 2: a value that is not a finite number" ]
	[ "${stderr_lines[1]}" = "emb-pool: $f: document 3: row 1: a value that is not a finite number" ]
}

@test "emb-pool: a binary stream cut inside a document stops there, naming it; the next file is read; exit 1" {
	local f=$BATS_TEST_TMPDIR/cut g=$BATS_TEST_TMPDIR/good
	{
		tokstream
		count 1; one; two
		count 2; one; one; one
	} >"$f"
	{
		tokstream
		count 1; two; two
	} >"$g"
	run -1 --separate-stderr emb-pool "$f" "$g"
	[ "$output" = $'1 2\n2 2' ]
	[ "$stderr" = "emb-pool: $f: truncated token-vector stream (document 2: 2 rows of 2 said, 3 values there); a stream has no mark to go on from" ]
	# cut inside a count
	{
		tokstream
		count 1; one; two; printf '\2\0'
	} >"$f"
	run -1 --separate-stderr emb-pool "$f"
	[ "$output" = "1 2" ]
	[ "$stderr" = "emb-pool: $f: truncated token-vector stream (document 2: 2 of the 4 bytes of its count)" ]
}
