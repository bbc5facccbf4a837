#!/usr/bin/env bats
# Added tokens as Hugging Face tokenizers matches them: "normalized": true
# ones on the normalized text (their contents normalized too), the others on
# the input first; lstrip/rstrip take Unicode whitespace.  The expected ids
# are HF tokenizers' (t/gen-tok-added.sh).

load helper

@test "tok-added: normalized and raw added tokens, lstrip/rstrip, as HF tokenizers" {
	run -0 tok-encode --no-special -m "$T/tok/added-norm.json" "$T/tok/added-texts.txt"
	[ "$output" = "$(cat "$T/tok/added-expected.txt")" ]
}

@test "tok-added: without a normalizer, as HF tokenizers (a normalized token that overlaps a raw one is matched after it)" {
	run -0 tok-encode --no-special -m "$T/tok/added-raw.json" "$T/tok/added-texts.txt"
	[ "$output" = "$(cat "$T/tok/added-raw-expected.txt")" ]
	run -0 tok-encode --no-special -m "$T/tok/added-raw.json" <<<'wqz'
	[ "$output" = "119 275" ]
}

@test "tok-added: a normalized added token found after the normalizer keeps its input span" {
	run -0 tok-encode --no-special --offsets -m "$T/tok/added-norm.json" <<<'say <MASK>'
	[ "$output" = "0:1 1:2 2:3 4:10" ]
	run -0 tok-encode --no-special --tokens -m "$T/tok/added-norm.json" <<<'ＨＥＬＬＯ'
	[ "$output" = "HeLLo" ]
}

@test "tok-added: --special-as-text leaves special added tokens unmatched, normalized or not" {
	run -0 tok-encode --no-special --special-as-text -m "$T/tok/added-norm.json" <<<'[SEP]'
	[ "$output" = "91 115 101 112 93" ]
}
