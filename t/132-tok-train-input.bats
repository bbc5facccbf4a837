#!/usr/bin/env bats
# tok-train on bad input and bad settings: a clear message, the right exit
# status, and no tokenizer file left behind.

load helper

setup() {
	mkdir "$BATS_TEST_TMPDIR/w"
	cd "$BATS_TEST_TMPDIR/w" || return 1
}

@test "tok-train: an empty corpus is an error and writes nothing" {
	: >"$BATS_TEST_TMPDIR/empty"
	run -1 --separate-stderr tok-train -o out.json <"$BATS_TEST_TMPDIR/empty"
	[[ $stderr == *"empty corpus"* ]]
	[ ! -e out.json ]
	[ -z "$(ls)" ]
}

@test "tok-train: a vocabulary smaller than the alphabet is an error" {
	run -1 --separate-stderr tok-train --vocab-size 10 -o out.json "$T/tok-train/prose.txt"
	[[ $stderr == *"vocabulary size 10 is smaller than the alphabet"* ]]
	[ ! -e out.json ]
	run -1 --separate-stderr tok-train -b --vocab-size 200 "$T/tok-train/prose.txt"
	[[ $stderr == *"256 symbols"* ]]
	run -1 --separate-stderr tok-train --algorithm unigram --vocab-size 5 "$T/tok-train/prose.txt"
	[[ $stderr == *"smaller than the alphabet"* ]]
}

@test "tok-train: an unwritable output fails before reading, no partial file" {
	run -1 --separate-stderr tok-train -o /nonexistent/dir/out.json "$T/tok-train/prose.txt"
	[[ $stderr == *"/nonexistent/dir/out.json"* ]]
	mkdir ro && chmod 555 ro
	if [ "$(id -u)" -ne 0 ]; then
		run -1 --separate-stderr tok-train -o ro/out.json "$T/tok-train/prose.txt"
		[ -z "$(ls ro)" ]
	fi
}

@test "tok-train: a file that cannot be read: the others are read, nothing written, exit 1" {
	run -1 --separate-stderr tok-train -o out.json nosuch "$T/tok-train/prose.txt"
	[[ $stderr == *"nosuch: No such file or directory"* ]]
	[ ! -e out.json ]
	[ -z "$(ls)" ]
}

@test "tok-train: invalid UTF-8 is replaced with a warning; byte-level keeps the bytes" {
	printf 'caf\xe9 ok\nna\xefve ok\n' >bad.txt
	run -0 --separate-stderr tok-train --vocab-size 40 bad.txt
	[[ $stderr == *"bad.txt: 2 invalid UTF-8 sequences replaced by U+FFFD"* ]]
	[[ $output == *'"'$'\xef\xbf\xbd''"'* ]]
	run -0 --separate-stderr tok-train -b --vocab-size 300 bad.txt
	[ -z "$stderr" ]
	[[ $output != *$'\xef\xbf\xbd'* ]]
}

@test "tok-train: NUL-separated documents with -z, CRLF lines, binary input" {
	printf 'one two\0three four\0' | tok-train -z --vocab-size 40 -q >z.json
	grep -q '"▁three"' z.json
	printf 'alpha beta\r\nalpha\r\n' | tok-train --vocab-size 40 -q >crlf.json
	run -1 grep -q "\\\\r" crlf.json
	head -c 20000 /dev/urandom >rand.bin
	run -0 --separate-stderr tok-train -b --vocab-size 600 rand.bin
	[[ $output == '{"version":"1.0"'* ]]
}

@test "tok-train: output errors are caught" {
	run -1 --separate-stderr bash -c 'tok-train --vocab-size 100 "$1" >/dev/full' _ "$T/tok-train/prose.txt"
	[[ $stderr == *"write error"* ]]
}

@test "tok-train: bad option values are usage errors" {
	run -2 --separate-stderr tok-train --vocab-size 12x
	[[ $stderr == *"--vocab-size"* ]]
	run -2 --separate-stderr tok-train --algorithm sentencepiece
	[[ $stderr == *"unknown algorithm 'sentencepiece'"* ]]
	run -2 --separate-stderr tok-train -p llama
	[[ $stderr == *"unknown preset 'llama'"* ]]
	run -2 --separate-stderr tok-train --algorithm unigram -b
	[[ $stderr == *"--byte-level"* ]]
	run -2 --separate-stderr tok-train -p bert --algorithm bpe
	[[ $stderr == *"preset 'bert'"* ]]
}

@test "tok-train: special tokens come first, in order, and are added tokens" {
	run -0 tok-train -s '<pad>' -s '<eos>' --vocab-size 100 "$T/tok-train/prose.txt"
	[[ $output == *'"vocab":{"<pad>":0,"<eos>":1,'* ]]
	[[ $output == *'"added_tokens":[{"id":0,"content":"<pad>"'* ]]
}

@test "tok-train: the output is the same on every run" {
	run -0 tok-train -p sentencepiece --vocab-size 200 "$T/tok-train/prose.txt"
	first=$output
	run -0 tok-train -p sentencepiece --vocab-size 200 "$T/tok-train/prose.txt"
	[ "$output" = "$first" ]
}

@test "tok-train -o to a FIFO writes through it and leaves it a FIFO" {
	mkfifo fifo
	tok-train -q --vocab-size 100 -o fifo "$T/tok-train/prose.txt" &
	cat fifo >out.json
	wait $!
	[ -p fifo ]
	grep -q '"model":{"type":"BPE"' out.json
}

@test "tok-train: a 10 MB line without spaces trains quickly in bounded pieces" {
	head -c 10000000 /dev/zero | tr '\0' 'a' >long.txt
	run -0 --separate-stderr tok-train -q -b --vocab-size 300 long.txt
	[[ $output == *'"aaaa"'* ]]
}
