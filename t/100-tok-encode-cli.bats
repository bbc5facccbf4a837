#!/usr/bin/env bats
# tok-encode: the command-line contract (help, version, usage errors, man examples).

load helper

@test "tok-encode --help prints usage on stdout and exits 0" {
	run -0 --separate-stderr tok-encode --help
	[[ $output == usage:* ]]
}

@test "tok-encode --version says how it was built" {
	run -0 tok-encode --version
	[[ $output == *BLAS* ]]
	[[ $output == *CUDA* ]]
}

@test "tok-encode with an unknown option exits 2 with a usage line" {
	run -2 --separate-stderr tok-encode --no-such-option
	[[ $stderr == *usage:* ]]
}

@test "tok-encode man page examples run" {
	run_man_examples tok-encode
}
