#!/usr/bin/env bats
# tok-encode on the real tokenizers of $TOKEMB_DATA: special-token text as
# each reference reads it, and cost linear in the input.  (Exactness over
# every reference text is build/t/test-tok-exact.)

load helper

@test "tok-encode: special-token text: tokenizer.json yes, .tiktoken no, unless told" {
	need_data tokenizers/gpt2/tokenizer.json tokenizers/tiktoken/r50k_base.tiktoken
	run -0 tok-encode -m "$D/tokenizers/gpt2/tokenizer.json" <<<'a<|endoftext|>b'
	[ "$output" = "64 50256 65" ]
	run -0 tok-encode -m "$D/tokenizers/gpt2/tokenizer.json" --special-as-text <<<'a<|endoftext|>b'
	[ "$output" = "64 27 91 437 1659 5239 91 29 65" ]
	run -0 tok-encode -m "$D/tokenizers/tiktoken/r50k_base.tiktoken" <<<'a<|endoftext|>b'
	[ "$output" = "64 27 91 437 1659 5239 91 29 65" ]
	run -0 tok-encode -m "$D/tokenizers/tiktoken/r50k_base.tiktoken" --allow-special <<<'a<|endoftext|>b'
	[ "$output" = "64 50256 65" ]
}

@test "tok-encode: [CLS] ... [SEP] and <s> added by default, as HF's encode" {
	need_data tokenizers/bert-base-uncased tokenizers/all-mpnet-base-v2
	run -0 tok-encode -m "$D/tokenizers/bert-base-uncased" <<<'Hello, world!'
	[ "$output" = "101 7592 1010 2088 999 102" ]
	# (its truncation and padding are not applied: t/108-tok-encode-limits.bats)
	run -0 --separate-stderr tok-encode -m "$D/tokenizers/all-mpnet-base-v2" <<<'Hello, world!'
	[ "$output" = "0 7596 1014 2092 1003 2" ]
}

@test "tok-encode: a 4 MB word and 1 MB of one emoji encode in seconds" {
	need_data tokenizers/tiktoken/cl100k_base.tiktoken tokenizers/gemma3
	head -c 4000000 /dev/zero | tr '\0' 'a' >"$BATS_TEST_TMPDIR/long"
	echo >>"$BATS_TEST_TMPDIR/long"
	run -0 timeout 60 tok-encode --count-docs -m "$D/tokenizers/tiktoken/cl100k_base.tiktoken" "$BATS_TEST_TMPDIR/long"
	[ "$output" -gt 400000 ]
	yes '🤖' | head -250000 | tr -d '\n' >"$BATS_TEST_TMPDIR/emoji"
	echo >>"$BATS_TEST_TMPDIR/emoji"
	run -0 timeout 60 tok-encode --count-docs -m "$D/tokenizers/gemma3" "$BATS_TEST_TMPDIR/emoji"
	[ "$output" -gt 1000 ]
}

# A WordLevel model whose post-processor names special-token ids $1 and $2.
post_model() {
	printf '{"added_tokens":[{"id":0,"content":"[CLS]","special":true}],"pre_tokenizer":{"type":"Whitespace"},'
	printf '"post_processor":{"type":"TemplateProcessing","single":[{"SpecialToken":{"id":"[CLS]","type_id":0}},'
	printf '{"Sequence":{"id":"A","type_id":0}},{"SpecialToken":{"id":"[SEP]","type_id":0}}],"pair":[],'
	printf '"special_tokens":{"[CLS]":{"id":"[CLS]","ids":[%s],"tokens":["[CLS]"]},' "$1"
	printf '"[SEP]":{"id":"[SEP]","ids":[%s],"tokens":["[SEP]"]}}},' "$2"
	printf '"model":{"type":"WordLevel","unk_token":"u","vocab":{"[CLS]":0,"u":1,"a":2}}}\n'
}

@test "tok-encode: an id the model file names outside its vocabulary is refused, naming the key" {
	m=$BATS_TEST_TMPDIR/tokenizer.json
	post_model 0 1 >"$m"
	run -0 tok-encode -m "$m" <<<"a"
	[ "$output" = "0 2 1" ]
	for ids in "-7 1" "0 5000000" "0 3"; do
		# shellcheck disable=SC2086 # two ids
		post_model $ids >"$m"
		run -1 --separate-stderr tok-encode -m "$m" <<<"a"
		[ "$output" = "" ]
		[[ $stderr == "tok-encode: $m: post_processor: special token id "*" is not in the vocabulary (3 ids)" ]]
	done
	printf '{"model":{"type":"Unigram","unk_id":99,"vocab":[["<unk>",0],["a",-1]]}}\n' >"$m"
	run -1 --separate-stderr tok-encode -m "$m" <<<"a"
	[ "$stderr" = "tok-encode: $m: unk id 99 is not in the vocabulary (2 ids)" ]
}

@test "tok-encode: NFC (qwen3) composes around marks alone: decomposed text encodes as composed" {
	need_data tokenizers/qwen3/tokenizer.json
	m=$D/tokenizers/qwen3/tokenizer.json
	run -0 tok-encode -m "$m" <<<$'caf\u00e9 na\u00efve \uac01 \u212b x'
	want=$output
	run -0 tok-encode -m "$m" <<<$'cafe\u0301 nai\u0308ve \u1100\u1161\u11a8 A\u030a x'
	[ "$output" = "$want" ]
	# a mark in a long plain text: only its piece changes
	{ head -c 100000 /dev/zero | tr '\0' 'a'; printf ' cafe\xcc\x81 '; head -c 100000 /dev/zero | tr '\0' 'b'; echo; } >"$BATS_TEST_TMPDIR/d"
	{ head -c 100000 /dev/zero | tr '\0' 'a'; printf ' caf\xc3\xa9 '; head -c 100000 /dev/zero | tr '\0' 'b'; echo; } >"$BATS_TEST_TMPDIR/c"
	run -0 tok-encode -m "$m" "$BATS_TEST_TMPDIR/c"
	want=$output
	run -0 tok-encode -m "$m" "$BATS_TEST_TMPDIR/d"
	[ "$output" = "$want" ]
	# spans in the input: the ! after the two-byte mark is its byte 6
	run -0 tok-encode --offsets -m "$m" <<<$'cafe\u0301!'
	[[ "$output" = *" 6:7" ]]
}
