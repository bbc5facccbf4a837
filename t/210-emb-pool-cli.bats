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
