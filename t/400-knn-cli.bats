#!/usr/bin/env bats
# knn: the command-line contract (help, version, usage errors, man examples).

load helper

@test "knn --help prints usage on stdout and exits 0" {
	run -0 --separate-stderr knn --help
	[[ $output == usage:* ]]
}

@test "knn --version says how it was built" {
	run -0 knn --version
	[[ $output == *BLAS* ]]
	[[ $output == *CUDA* ]]
}

@test "knn with an unknown option exits 2 with a usage line" {
	run -2 --separate-stderr knn --no-such-option
	[[ $stderr == *usage:* ]]
}

@test "knn man page examples run" {
	run_man_examples knn
}
