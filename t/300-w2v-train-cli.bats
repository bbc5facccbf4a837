#!/usr/bin/env bats
# w2v-train: the command-line contract (help, version, usage errors, man examples).

load helper

@test "w2v-train --help prints usage on stdout and exits 0" {
	run -0 --separate-stderr w2v-train --help
	[[ $output == usage:* ]]
}

@test "w2v-train --version says how it was built" {
	run -0 w2v-train --version
	[[ $output == *BLAS* ]]
	[[ $output == *CUDA* ]]
}

@test "w2v-train with an unknown option exits 2 with a usage line" {
	run -2 --separate-stderr w2v-train --no-such-option
	[[ $stderr == *usage:* ]]
}

@test "w2v-train man page examples run" {
	run_man_examples w2v-train
}
