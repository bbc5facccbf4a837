#!/usr/bin/env bats
# emb-pool: the command-line contract (help, version, usage errors, man examples).

load helper

@test "emb-pool --help prints usage on stdout and exits 0" {
	run -0 --separate-stderr emb-pool --help
	[[ $output == usage:* ]]
}

@test "emb-pool --version says how it was built" {
	run -0 emb-pool --version
	[[ $output == *BLAS* ]]
	[[ $output == *CUDA* ]]
}

@test "emb-pool with an unknown option exits 2 with a usage line" {
	run -2 --separate-stderr emb-pool --no-such-option
	[[ $stderr == *usage:* ]]
}

@test "emb-pool man page examples run" {
	run_man_examples emb-pool
}

@test "emb-pool -m: rows of another width than the model's are reported with the line and both widths, the document written empty" {
	run -1 --separate-stderr emb-pool -m "$T/emb/tiny-bert" <<<$'\n1 2 3\n4 5 6'
	[ "$output" = $'0 0 0 0 0 0 0 0\n0 0 0 0 0 0 0 0' ]
	[ "$stderr" = "emb-pool: -:2: rows of 3 components, the model takes 8" ]
	# token ids are not vectors
	run -1 --separate-stderr emb-pool -m "$T/emb/tiny-bert" <<<$'101 2023 102'
	[ "$stderr" = "emb-pool: -:1: rows of 3 components, the model takes 8" ]
	run -0 emb-pool -m "$T/emb/tiny-bert" <<<"1 0 0 0 0 0 0 0"
	[ "$output" = "1 0 0 0 0 0 0 0" ]
}
