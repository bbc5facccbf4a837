#!/usr/bin/env bats
# tok-decode on the tiny fixtures of t/data/tok: decoding, errors, streams.

load helper

B=$T/tok/tiny-bert.json
P=$T/tok/tiny-bpe.json

@test "tok-decode: ids back to text, --skip-special, --tokens" {
	run -0 tok-decode -m "$B" <<<'2 12 6 13 5 3'
	[ "$output" = "[CLS] hello, world! [SEP]" ]
	run -0 tok-decode -m "$B" --skip-special <<<'2 12 6 13 5 3'
	[ "$output" = "hello, world!" ]
	run -0 tok-decode -m "$B" --tokens <<<'15 18 16'
	[ "$output" = "token ##r ##s" ]
	run -0 tok-decode -m "$P" --tokens <<<'259 32 264'
	[ "$output" = 'hello \s \sworld' ]
}

@test "tok-decode: a round trip through tok-encode gives the text back" {
	run -0 bash -c "tok-encode -m '$P' '$T/tok/hello.txt' | tok-decode -m '$P'"
	[ "$output" = "$(cat "$T/tok/hello.txt")" ]
}

@test "tok-decode: a character split across byte-level tokens decodes whole" {
	# é is c3 a9: two byte tokens
	run -0 tok-decode -m "$P" <<<'104 195 169 108'
	[ "$output" = "hél" ]
	run -0 bash -c "echo '104 195 108' | tok-decode -m '$P' | od -An -tx1"
	[[ $output == *"68 ef bf bd 6c"* ]]
}

@test "tok-decode: an id outside the vocabulary is an error naming the line and the id" {
	run -1 --separate-stderr tok-decode -m "$B" < <(printf '12\n12 99999\n13\n')
	[ "${lines[0]}" = "hello" ]
	[ "${lines[1]}" = "world" ]
	[[ $stderr == *"-:2: id 99999 is not in the vocabulary"* ]]
	run -1 --separate-stderr tok-decode -m "$B" <<<'12 x'
	[[ $stderr == *"-:1:"* ]]
}

@test "tok-decode: empty lines stay empty; -z ends records with NUL; /dev/full is an error" {
	run -0 bash -c "printf '\n12\n' | tok-decode -m '$B' | od -An -c | tr -d ' '"
	[ "$output" = '\nhello\n' ]
	run -0 bash -c "printf '12\00013\000' | tok-decode -z -m '$B' | tr '\0' '|'"
	[ "$output" = "hello|world|" ]
	run -1 --separate-stderr bash -c "echo 12 | tok-decode -m '$B' >/dev/full"
	[[ $stderr == *"tok-decode: "* ]]
}
