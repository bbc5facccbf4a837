#!/usr/bin/env bats
# emb-token: the command-line contract (help, version, usage errors, man examples).

load helper

@test "emb-token --help prints usage on stdout and exits 0" {
	run -0 --separate-stderr emb-token --help
	[[ $output == usage:* ]]
}

@test "emb-token --version says how it was built" {
	run -0 emb-token --version
	[[ $output == *BLAS* ]]
	[[ $output == *CUDA* ]]
}

@test "emb-token with an unknown option exits 2 with a usage line" {
	run -2 --separate-stderr emb-token --no-such-option
	[[ $stderr == *usage:* ]]
}

@test "emb-token man page examples run" {
	run_man_examples emb-token
}
