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

@test "w2v-train's learning rate without --alpha is word2vec.c's: 0.05 for CBOW, 0.025 for skip-gram" {
	local f=$T/w2v/playlists.txt sg a
	for sg in 0 1; do
		a=0.05
		[ "$sg" = 1 ] && a=0.025
		run -0 w2v-train --sg "$sg" --threads 1 --epochs 1 --vector-size 8 -q -o "$BATS_TEST_TMPDIR/d.vec" "$f"
		run -0 w2v-train --sg "$sg" --threads 1 --epochs 1 --vector-size 8 --alpha "$a" -q -o "$BATS_TEST_TMPDIR/a.vec" "$f"
		run -0 w2v-train --sg "$sg" --threads 1 --epochs 1 --vector-size 8 --alpha 0.03 -q -o "$BATS_TEST_TMPDIR/o.vec" "$f"
		cmp "$BATS_TEST_TMPDIR/d.vec" "$BATS_TEST_TMPDIR/a.vec"
		! cmp -s "$BATS_TEST_TMPDIR/d.vec" "$BATS_TEST_TMPDIR/o.vec"
	done
}
