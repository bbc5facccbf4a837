#!/usr/bin/env bats
# tok-encode: numbers in a tokenizer.json that cannot be what they stand for
# (ids, sizes, counts: fractions, negatives, 1e20) are refused with a
# message before they are used; the library casts none of them out of range
# (make SAN=1 checks float-cast-overflow).

load helper

BPE=$BATS_TEST_DIRNAME/data/tok/tiny-bpe.json
WP=$BATS_TEST_DIRNAME/data/tok/tiny-bert.json

# refused NAME FILE TEXT: tok-encode -m FILE exits 1 naming FILE and saying TEXT
refused() {
	run -1 --separate-stderr tok-encode -m "$2" <<<"hello"
	[[ $stderr == "tok-encode: $2"*"$3"* ]] || {
		echo "$1: $stderr"
		return 1
	}
	[ -z "$output" ]
}

@test "tok-encode: an added token's id or a vocabulary id out of range" {
	local f=$BATS_TEST_TMPDIR/t.json v
	for v in 1e20 2.5 -1 4194305; do
		sed "s/\"added_tokens\": \[{\"id\": 267,/\"added_tokens\": [{\"id\": $v,/" "$BPE" >"$f"
		refused "added $v" "$f" "bad added token '<|endoftext|>'"
		sed "s/\"Ā\": 0,/\"Ā\": $v,/" "$BPE" >"$f"
		refused "vocab $v" "$f" "bad vocab"
	done
	sed 's/"added_tokens": \[{"id": 267,/"added_tokens": [{"id": 267.0,/' "$BPE" >"$f"
	run -0 tok-encode -m "$f" <<<"a<|endoftext|>"
	[ "$output" = "$(tok-encode -m "$BPE" <<<"a<|endoftext|>")" ]
}

@test "tok-encode: truncation, WordPiece and decoder numbers out of range" {
	local f=$BATS_TEST_TMPDIR/t.json
	sed 's/"truncation": null/"truncation": {"max_length": 1e300, "strategy": "LongestFirst"}/' \
		"$WP" >"$f"
	refused max_length "$f" '"max_length" must be an integer in 0..'
	sed 's/"max_input_chars_per_word": 100/"max_input_chars_per_word": -3e20/' "$WP" >"$f"
	refused max_input_chars_per_word "$f" '"max_input_chars_per_word" must be an integer in 0..'
	sed 's/"decoder": {[^}]*}/"decoder": {"type": "Strip", "content": " ", "start": 1e20, "stop": 0}/' \
		"$BPE" >"$f"
	refused strip "$f" '"start" must be an integer in 0..2147483647'
	# a sequence that fails after its first part (which it frees)
	sed 's/"decoder": {[^}]*}/"decoder": {"type": "Sequence", "decoders": [{"type": "Strip", "content": " ", "start": 1, "stop": 0}, {"type": "Strip", "content": " ", "start": 0, "stop": 0.5}]}/' \
		"$BPE" >"$f"
	refused sequence "$f" '"stop" must be an integer in 0..2147483647'
}

@test "tok-encode: post-processor ids out of range" {
	local f=$BATS_TEST_TMPDIR/t.json
	sed 's/"post_processor": {[^}]*}/"post_processor": {"type": "BertProcessing", "sep": ["<|endoftext|>", 267], "cls": ["<|endoftext|>", 1e20]}/' \
		"$BPE" >"$f"
	refused bert "$f" "bad post-processor 'BertProcessing'"
	awk '/"ids": \[/ { ids = 1 } ids && /^ +2$/ { $0 = "     -3e20"; ids = 0 } { print }' \
		"$WP" >"$f"
	refused template "$f" "post-processor: bad id for special token '[CLS]'"
}

@test "tok-encode: a Unigram unk_id out of range" {
	local f=$BATS_TEST_TMPDIR/t.json
	printf '{"model": {"type": "Unigram", "unk_id": %s, "vocab": [["<unk>", 0], ["a", -1], ["b", -2]]}}\n' \
		1e20 >"$f"
	refused unk_id "$f" '"unk_id" must be an integer in -1..'
	printf '{"model": {"type": "Unigram", "unk_id": %s, "vocab": [["<unk>", 0], ["a", -1], ["b", -2]]}}\n' \
		0 >"$f"
	run -0 tok-encode -m "$f" <<<"ab"
}

@test "tok-encode: ids of every width written in full, the first and the rest" {
	local f=$BATS_TEST_TMPDIR/t.json v
	for v in 9 99999 262143 262144 1000000 4194304; do
		sed "s/\"added_tokens\": \[{\"id\": 267,/\"added_tokens\": [{\"id\": $v,/" "$BPE" >"$f"
		run -0 tok-encode -m "$f" <<<"<|endoftext|>a<|endoftext|>a<|endoftext|>"
		[ "$output" = "$v 97 $v 97 $v" ] || { echo "$v: $output"; return 1; }
	done
}
