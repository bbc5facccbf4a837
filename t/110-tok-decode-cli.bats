#!/usr/bin/env bats
# tok-decode: the command-line contract (help, version, usage errors, man examples).

load helper

@test "tok-decode --help prints usage on stdout and exits 0" {
	run -0 --separate-stderr tok-decode --help
	[[ $output == usage:* ]]
}

@test "tok-decode --version says how it was built" {
	run -0 tok-decode --version
	[[ $output == *BLAS* ]]
	[[ $output == *CUDA* ]]
}

@test "tok-decode with an unknown option exits 2 with a usage line" {
	run -2 --separate-stderr tok-decode --no-such-option
	[[ $stderr == *usage:* ]]
}

@test "tok-decode man page examples run" {
	run_man_examples tok-decode
}
