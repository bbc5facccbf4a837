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
