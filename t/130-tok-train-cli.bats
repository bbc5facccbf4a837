#!/usr/bin/env bats
# tok-train: the command-line contract (help, version, usage errors, man examples).

load helper

@test "tok-train --help prints usage on stdout and exits 0" {
	run -0 --separate-stderr tok-train --help
	[[ $output == usage:* ]]
}

@test "tok-train --version says how it was built" {
	run -0 tok-train --version
	[[ $output == *BLAS* ]]
	[[ $output == *CUDA* ]]
}

@test "tok-train with an unknown option exits 2 with a usage line" {
	run -2 --separate-stderr tok-train --no-such-option
	[[ $stderr == *usage:* ]]
}

@test "tok-train man page examples run" {
	run_man_examples tok-train
}

@test "tok-train -o creates its file with the user's umask" {
	printf 'hello world\nfoo bar\n' >"$BATS_TEST_TMPDIR/in.txt"
	(umask 022 && tok-train -q --vocab-size 300 -o "$BATS_TEST_TMPDIR/a.json" "$BATS_TEST_TMPDIR/in.txt")
	(umask 077 && tok-train -q --vocab-size 300 -o "$BATS_TEST_TMPDIR/b.json" "$BATS_TEST_TMPDIR/in.txt")
	[ "$(stat -c %a "$BATS_TEST_TMPDIR/a.json")" = 644 ]
	[ "$(stat -c %a "$BATS_TEST_TMPDIR/b.json")" = 600 ]
}
