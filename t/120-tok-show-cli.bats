#!/usr/bin/env bats
# tok-show: the command-line contract (help, version, usage errors, man examples).

load helper

@test "tok-show --help prints usage on stdout and exits 0" {
	run -0 --separate-stderr tok-show --help
	[[ $output == usage:* ]]
}

@test "tok-show --version says how it was built" {
	run -0 tok-show --version
	[[ $output == *BLAS* ]]
	[[ $output == *CUDA* ]]
}

@test "tok-show with an unknown option exits 2 with a usage line" {
	run -2 --separate-stderr tok-show --no-such-option
	[[ $stderr == *usage:* ]]
}

@test "tok-show man page examples run" {
	run_man_examples tok-show
}
