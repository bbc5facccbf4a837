#!/usr/bin/env bats
# tok-encode on the tiny fixtures of t/data/tok: output forms, streams, errors.

load helper

B=$T/tok/tiny-bert.json
P=$T/tok/tiny-bpe.json

@test "tok-encode: one line of ids per document, special tokens added" {
	run -0 tok-encode -m "$B" "$T/tok/hello.txt"
	[ "${lines[0]}" = "2 12 6 13 5 3" ]
	[ "${lines[1]}" = "2 11 24 25 26 11 27 7 3" ]
}

@test "tok-encode --no-special, --tokens, --count, --total" {
	run -0 tok-encode -m "$B" --no-special <<<'Hello, world!'
	[ "$output" = "12 6 13 5" ]
	run -0 tok-encode -m "$B" --tokens <<<'tokenizers unaffable'
	[ "$output" = "[CLS] token ##ize ##r ##s un ##aff ##able [SEP]" ]
	run -0 tok-encode -m "$B" --count-docs "$T/tok/hello.txt"
	[ "$output" = $'6\n9' ]
	run -0 tok-encode -m "$B" --total "$T/tok/hello.txt" "$T/tok/hello.txt"
	[ "$output" = "30" ]
}

@test "tok-encode --offsets gives byte spans in the input, whole characters as HF's" {
	run -0 tok-encode -m "$B" --offsets <<<'Hello, world!'
	[ "$output" = "0:0 0:5 5:6 7:12 12:13 0:0" ]
	# é and ö are two byte-level tokens each: both span the character, as
	# HF tokenizers' [[0,1],[1,2],[1,2],[2,4],[4,5],[5,7],[7,8],[7,8],...]
	run -0 tok-encode -m "$P" --offsets <<<'Héllo wörld'
	[ "$output" = "0:1 1:3 1:3 3:5 5:6 6:8 8:10 8:10 10:11 11:13" ]
}

@test "tok-encode --max-tokens keeps the first tokens and the closing special token" {
	run -0 tok-encode -m "$B" --max-tokens 4 <<<'the cat sat on the mat'
	[ "$output" = "2 11 24 3" ]
	run -0 tok-encode -m "$B" --max-tokens 0 <<<'the cat'
	[ "$output" = "" ]
	run -0 tok-encode -m "$P" --max-tokens 2 <<<'hello world'
	[ "$output" = "$(tok-encode -m "$P" <<<'hello world' | cut -d' ' -f1-2)" ]
}

@test "tok-encode: empty documents give empty lines; -z for NUL-terminated records" {
	run -0 bash -c "printf '\nhello\n\n' | tok-encode -m '$B' --no-special | od -An -c | tr -d ' '"
	[ "$output" = '\n12\n\n' ]
	run -0 bash -c "printf 'hello\nworld\0cat\0' | tok-encode -z -m '$B' --no-special | tr '\0' '|'"
	[ "$output" = "12 13|24|" ]
}

@test "tok-encode: special-token text is the special token in a tokenizer.json" {
	run -0 tok-encode -m "$P" --no-special <<<'a<|endoftext|>b'
	[ "$output" = "97 267 98" ]
	run -0 tok-encode -m "$P" --no-special --special-as-text <<<'a<|endoftext|>b'
	[ "$output" != "97 267 98" ]
	run -0 tok-encode -m "$B" --no-special <<<'[SEP] x [MASK]'
	[ "$output" = "3 1 4" ]
}

@test "tok-encode: invalid UTF-8 is U+FFFD with a warning naming the line, raw bytes for byte-level" {
	run -0 --separate-stderr tok-encode -m "$B" --no-special < <(printf 'hello\nworld \xff\n')
	[ "${lines[1]}" = "13" ]	# BertNormalizer drops U+FFFD, as HF does
	[[ $stderr == *"-:2: invalid UTF-8"* ]]
	run -0 --separate-stderr tok-encode -m "$P" --no-special < <(printf 'a\xffb\n')
	[ "$output" = "97 255 98" ]
	[ -z "$stderr" ]
	run -0 bash -c "printf 'a\xe9b' | tok-encode -m '$P' --no-special | tok-decode -m '$P' | od -An -c"
	[[ $output == *"a 357 277 275   b"* ]]
}

@test "tok-encode: NUL bytes and binary input do not crash" {
	run -0 bash -c "head -c 20000 /dev/urandom | tok-encode -m '$B' >/dev/null 2>&1"
	run -0 bash -c "head -c 20000 /dev/urandom | tok-encode -m '$P' -z | wc -l"
}

@test "tok-encode: a file that cannot be opened is reported, the next one is read, exit 1" {
	run -1 --separate-stderr tok-encode -m "$B" --no-special /nonexistent "$T/tok/hello.txt"
	[ "${lines[0]}" = "12 6 13 5" ]
	[[ $stderr == *"/nonexistent"* ]]
}

@test "tok-encode: bad model files are refused with the file and a reason" {
	run -2 --separate-stderr tok-encode
	[[ $stderr == *"no model"* ]]
	run -1 --separate-stderr tok-encode -m /nonexistent/x.json </dev/null
	[[ $stderr == *"tok-encode: "* ]]
	tmp=$BATS_TEST_TMPDIR
	head -c 1000 "$B" >"$tmp/trunc.json"
	run -1 --separate-stderr tok-encode -m "$tmp/trunc.json" </dev/null
	[[ $stderr == *"trunc.json"*"not valid JSON"* ]]
	sed 's/"BertPreTokenizer"/"FancySplit"/' "$B" >"$tmp/unk.json"
	run -1 --separate-stderr tok-encode -m "$tmp/unk.json" </dev/null
	[[ $stderr == *"unk.json:"*": unknown pre-tokenizer 'FancySplit'"* ]]
	head -c 3000 /dev/urandom >"$tmp/junk.tiktoken"
	run -1 --separate-stderr tok-encode -m "$tmp/junk.tiktoken" </dev/null
	[[ $stderr == *"junk.tiktoken"* ]]
	printf 'IQ== 0\nIg== x\n' >"$tmp/bad.tiktoken"
	run -1 --separate-stderr tok-encode -m "$tmp/bad.tiktoken" </dev/null
	[[ $stderr == *"bad.tiktoken:2:"* ]]
	# model.vocab and model.merges found where they overlap, in a file that
	# is not JSON (found by fuzz-tokjson: a copy of negative length)
	run -1 --separate-stderr tok-encode -m "$T/tok/fuzz-spans-overlap.json" </dev/null
	[ "$stderr" = "tok-encode: $T/tok/fuzz-spans-overlap.json:1: not valid JSON" ]
	# a byte piece with a sign in its hex digits (found by fuzz-spm)
	perl -pe 's/<0x00>/<0x-1>/' "$T/spm/bpe-user.model" >"$tmp/sign.model"
	run -1 --separate-stderr tok-encode -m "$tmp/sign.model" </dev/null
	[[ $stderr == *"sign.model: byte piece 7 '<0x-1>' is not <0xXX>"* ]]
	# a rank file must be one tiktoken could load (first found by fuzz-spm:
	# one rank read as a whole encoding that encoded every text to nothing)
	printf '22 414' >"$tmp/tokenizer.model"
	run -1 --separate-stderr tok-encode -m "$tmp/tokenizer.model" <<<'Hello, world!'
	[[ $stderr == *"tokenizer.model:1: not a tiktoken rank file"* ]] && [ -z "$output" ]
	printf '22== 414\n' >"$tmp/tokenizer.model"
	run -1 --separate-stderr tok-encode -m "$tmp/tokenizer.model" <<<'Hello, world!'
	[[ $stderr == *"byte 0x00 has no rank"* ]]
	perl -e 'use MIME::Base64; print encode_base64($_ < 256 ? chr : "x" . chr($_ - 191), ""), " $_\n" for 0..299' >"$tmp/mine.tiktoken"
	run -1 --separate-stderr tok-encode -m "$tmp/mine.tiktoken" </dev/null
	[[ $stderr == *"last rank 299 is none of the known encodings'"*"name the file after its encoding"* ]]
	cp "$tmp/mine.tiktoken" "$tmp/r50k_mine.tiktoken"
	run -0 tok-encode -m "$tmp/r50k_mine.tiktoken" <<<'hi'
	[ "$output" = "104 105" ]
	echo 'IQ== 300' >>"$tmp/r50k_mine.tiktoken"
	run -1 --separate-stderr tok-encode -m "$tmp/r50k_mine.tiktoken" </dev/null
	[[ $stderr == *"a token is given more than one rank"* ]]
	printf 'aGk= 299\n' >>"$tmp/mine.tiktoken"
	mv "$tmp/mine.tiktoken" "$tmp/r50k_two.tiktoken"
	run -1 --separate-stderr tok-encode -m "$tmp/r50k_two.tiktoken" </dev/null
	[[ $stderr == *"rank 299 is given to more than one token"* ]]
}

@test "tok-encode: output errors are caught; a closed pipe ends quietly" {
	run -1 --separate-stderr tok-encode -m "$B" "$T/tok/hello.txt" ">/dev/full"
	run -1 --separate-stderr bash -c "tok-encode -m '$B' '$T/tok/hello.txt' >/dev/full"
	[[ $stderr == *"tok-encode: "* ]]
	run -0 --separate-stderr bash -c "yes hello world | head -100000 | tok-encode -m '$B' | head -1"
	[ "$output" = "2 12 13 3" ]
	[ -z "$stderr" ]
}

@test "tok-encode --threads keeps the input order" {
	yes 'the cat sat on the mat, hello world!' | head -20000 | awk '{print NR, $0}' >"$BATS_TEST_TMPDIR/in"
	tok-encode -m "$P" "$BATS_TEST_TMPDIR/in" >"$BATS_TEST_TMPDIR/one"
	tok-encode -m "$P" --threads 4 "$BATS_TEST_TMPDIR/in" >"$BATS_TEST_TMPDIR/four"
	cmp "$BATS_TEST_TMPDIR/one" "$BATS_TEST_TMPDIR/four"
	run -2 --separate-stderr tok-encode -m "$P" --threads -1
	[[ $stderr == *"--threads"* ]]
}

@test "tok-encode: GNU parallel --pipe -k gives the same output as one tok-encode" {
	need_cmd parallel
	yes 'the cat sat on the mat, hello world!' | head -20000 | awk '{print NR, $0}' >"$BATS_TEST_TMPDIR/in"
	tok-encode -m "$P" "$BATS_TEST_TMPDIR/in" >"$BATS_TEST_TMPDIR/one"
	parallel --pipe -k --block 100k -j 2 tok-encode -m "$P" <"$BATS_TEST_TMPDIR/in" >"$BATS_TEST_TMPDIR/par"
	cmp "$BATS_TEST_TMPDIR/one" "$BATS_TEST_TMPDIR/par"
}
