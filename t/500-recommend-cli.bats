#!/usr/bin/env bats
# recommend: the command-line contract (help, version, usage errors, man examples).

load helper

@test "recommend --help prints usage on stdout and exits 0" {
	run -0 --separate-stderr recommend --help
	[[ $output == usage:* ]]
}

@test "recommend --version says how it was built" {
	run -0 recommend --version
	[[ $output == *BLAS* ]]
	[[ $output == *CUDA* ]]
}

@test "recommend with an unknown option exits 2 with a usage line" {
	run -2 --separate-stderr recommend --no-such-option
	[[ $stderr == *usage:* ]]
}

@test "recommend man page examples run" {
	run_man_examples recommend
}
