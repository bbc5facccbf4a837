#!/usr/bin/env bats
# tok-encode and a tokenizer.json's "truncation" and "padding": not applied
# unless asked, and said so once on stderr; --truncate-as-model and
# --pad-as-model apply them as Hugging Face tokenizers' encode does (the
# expected ids are the reference's, written by t/gen-tok-limits.sh).

load helper

E=$T/tok/expected

# Ids of limits-texts.txt through model $2, as the reference's limits-$1*.ids.
same_as_hf() {
	run -0 --separate-stderr tok-encode -m "$2" --truncate-as-model --pad-as-model "$E/limits-texts.txt"
	[ "$output" = "$(cat "$E/limits-$1.ids")" ]
	[ -z "$stderr" ]
	run -0 --separate-stderr tok-encode -m "$2" --no-special --truncate-as-model --pad-as-model \
		"$E/limits-texts.txt"
	[ "$output" = "$(cat "$E/limits-$1.nospecial.ids")" ]
}

@test "tok-encode --truncate-as-model --pad-as-model: Left truncation, Left padding to a multiple, as HF" {
	same_as_hf limits-left "$T/tok/limits-left.json"
}

@test "tok-encode --truncate-as-model --pad-as-model: the sentence-transformers tokenizers, as HF" {
	need_data tokenizers/all-MiniLM-L6-v2 tokenizers/all-mpnet-base-v2
	same_as_hf all-MiniLM-L6-v2 "$D/tokenizers/all-MiniLM-L6-v2"
	same_as_hf all-mpnet-base-v2 "$D/tokenizers/all-mpnet-base-v2"
}

@test "tok-encode: truncation and padding not asked for are not applied, and said so once" {
	m=$T/tok/limits-left.json
	run -0 --separate-stderr tok-encode -m "$m" "$E/limits-texts.txt"
	[ "$output" = "$(tok-encode -m "$T/tok/tiny-bert.json" "$E/limits-texts.txt")" ]
	[ "$stderr" = "tok-encode: $m: the tokenizer.json's truncation and padding, which Hugging Face tokenizers applies on encode, are not applied (--truncate-as-model, --pad-as-model)" ]
	# one of them asked for: the other is named
	run -0 --separate-stderr tok-encode -m "$m" --pad-as-model <<<'hello'
	[ "$stderr" = "tok-encode: $m: the tokenizer.json's truncation, which Hugging Face tokenizers applies on encode, is not applied (--truncate-as-model, --pad-as-model)" ]
	[ "$output" = "$(head -1 "$E/limits-limits-left.ids")" ]
	# --max-tokens is a truncation of its own: only the padding is named
	run -0 --separate-stderr tok-encode -m "$m" --max-tokens 3 <<<'the cat sat'
	[ "$stderr" = "tok-encode: $m: the tokenizer.json's padding, which Hugging Face tokenizers applies on encode, is not applied (--truncate-as-model, --pad-as-model)" ]
	# a tokenizer.json with neither: nothing said
	run -0 --separate-stderr tok-encode -m "$T/tok/tiny-bert.json" <<<'hello'
	[ -z "$stderr" ]
}

@test "tok-encode: --truncate-as-model and --pad-as-model refused with --max-tokens, --count, --chunk" {
	m=$T/tok/limits-left.json
	run -2 --separate-stderr tok-encode -m "$m" --truncate-as-model --max-tokens 3 <<<'hello'
	[[ $stderr == *"--max-tokens and --truncate-as-model exclude each other"* ]]
	run -2 --separate-stderr tok-encode -m "$m" --pad-as-model --count <<<'hello'
	[[ $stderr == *"go with neither --count nor --chunk"* ]]
	run -2 --separate-stderr tok-encode -m "$m" --truncate-as-model --chunk 4 <<<'hello'
	[[ $stderr == *"go with neither --count nor --chunk"* ]]
}

@test "tok-encode --pad-as-model: padding tokens span 0:0 in --offsets" {
	run -0 --separate-stderr tok-encode -m "$T/tok/limits-left.json" --pad-as-model --offsets <<<'hello'
	[ "$output" = "0:0 0:0 0:0 0:0 0:0 0:0 0:0 0:0 0:0 0:0 0:5 0:0" ]
}
