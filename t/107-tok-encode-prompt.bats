#!/usr/bin/env bats
# tok-encode --prompt: the sentence-transformers prompts of
# config_sentence_transformers.json, on a random-weight NomicBERT written by
# t/gen-emb-arch.py, whose prompts are search_query: and search_document:.

load helper

GEN=$BATS_TEST_DIRNAME/gen-emb-arch.py

need_gen() {
	/usr/bin/python3 -c 'import numpy' 2>/dev/null ||
		skip "needs NumPy for /usr/bin/python3 (python3-numpy)"
	need_data tokenizers/bert-base-uncased/tokenizer.json
}

gen() {
	/usr/bin/python3 "$GEN" "$@"
}

setup() {
	M=$BATS_FILE_TMPDIR/nomic
	printf '%s\n' 'Hello, world!' 'The quick brown fox jumps over the lazy dog.' '' >"$BATS_FILE_TMPDIR/docs"
}

model() {
	[ -e "$M/config.json" ] || gen write nomic_bert "$M"
}

# The prompt text of name $1, read from the model's file by Python.
prompt_of() {
	/usr/bin/python3 -c 'import json, sys
print(json.load(open(sys.argv[1]))["prompts"][sys.argv[2]], end="")' \
		"$M/config_sentence_transformers.json" "$1"
}

@test "tok-encode --prompt query: the ids of the prompt and the text as one string" {
	need_gen
	model
	local p
	p=$(prompt_of query)
	[ "$p" = "search_query: " ]
	run -0 tok-encode -m "$M" --prompt query "$BATS_FILE_TMPDIR/docs"
	local got=$output
	run -0 tok-encode -m "$M" < <(sed "s/^/$p/" "$BATS_FILE_TMPDIR/docs")
	[ "$got" = "$output" ]
	[ "${#lines[@]}" -eq 3 ]
	# the empty document is the prompt alone
	run -0 tok-encode -m "$M" --prompt document --tokens <<<""
	[ "$output" = "[CLS] search _ document : [SEP]" ]
	# the tokenizer.json of the model directory finds the same prompts
	run -0 tok-encode -m "$M/tokenizer.json" --prompt query "$BATS_FILE_TMPDIR/docs"
	[ "$got" = "$output" ]
}

@test "tok-encode --prompt query | emb-token | emb-pool: the NumPy reference of the prompted text" {
	need_gen
	model
	local p
	p=$(prompt_of query)
	sed "s/^/$p/" "$BATS_FILE_TMPDIR/docs" | tok-encode -m "$M" >"$BATS_TEST_TMPDIR/ids"
	gen ref "$M" "$BATS_TEST_TMPDIR/ids" >"$BATS_TEST_TMPDIR/ref.jsonl"
	tok-encode -m "$M" --prompt query "$BATS_FILE_TMPDIR/docs" | emb-token -m "$M" |
		emb-pool -m "$M" >"$BATS_TEST_TMPDIR/sent"
	run -0 gen compare "$BATS_TEST_TMPDIR/ref.jsonl" batch_padded sentence_embedding <"$BATS_TEST_TMPDIR/sent"
	echo "$output"
	# and the prompt changes the vectors
	tok-encode -m "$M" "$BATS_FILE_TMPDIR/docs" | emb-token -m "$M" |
		emb-pool -m "$M" >"$BATS_TEST_TMPDIR/plain"
	run -1 gen compare "$BATS_TEST_TMPDIR/ref.jsonl" batch_padded sentence_embedding <"$BATS_TEST_TMPDIR/plain"
}

@test "tok-encode: default_prompt_name applies without --prompt, --no-prompt turns it off" {
	need_gen
	model
	local m=$BATS_TEST_TMPDIR/m
	cp -r "$M" "$m"
	sed -i 's/"default_prompt_name": null/"default_prompt_name": "document"/' \
		"$m/config_sentence_transformers.json"
	run -0 tok-encode -m "$m" --tokens <<<"hi"
	[ "$output" = "[CLS] search _ document : hi [SEP]" ]
	run -0 tok-encode -m "$m" --prompt query --tokens <<<"hi"
	[ "$output" = "[CLS] search _ query : hi [SEP]" ]
	run -0 tok-encode -m "$m" --no-prompt --tokens <<<"hi"
	[ "$output" = "[CLS] hi [SEP]" ]
	# counts, chunks and offsets are of the text itself
	run -0 tok-encode -m "$m" --offsets <<<"hi"
	[ "$output" = "0:0 0:2 0:0" ]
	# without a default, no prompt
	run -0 tok-encode -m "$M" --tokens <<<"hi"
	[ "$output" = "[CLS] hi [SEP]" ]
}

@test "tok-encode --prompt: an unknown name, a model without prompts, include_prompt false" {
	need_gen
	model
	run -1 --separate-stderr tok-encode -m "$M" --prompt passage <<<"hi"
	[ "$stderr" = "tok-encode: $M/config_sentence_transformers.json: no prompt 'passage' (the model's prompts: query, document)" ]
	local m=$BATS_TEST_TMPDIR/m
	mkdir "$m"
	cp "$M/tokenizer.json" "$m"
	run -1 --separate-stderr tok-encode -m "$m" --prompt query <<<"hi"
	[[ $stderr == *"no config_sentence_transformers.json: the model has no prompt 'query'" ]]
	rm -r "$m"
	cp -r "$M" "$m"
	sed -i 's/"include_prompt": true/"include_prompt": false/' "$m/1_Pooling/config.json"
	run -1 --separate-stderr tok-encode -m "$m" --prompt query <<<"hi"
	[ "$stderr" = "tok-encode: $m/1_Pooling/config.json: include_prompt false: the model pools without the prompt's tokens, which emb-pool cannot leave out" ]
	run -2 --separate-stderr tok-encode -m "$M" --prompt query --chunk 4 <<<"hi"
	[[ $stderr == *"--prompt goes with neither --count, --chunk nor --offsets"* ]]
	run -2 --separate-stderr tok-encode -m "$M" --prompt query --no-prompt <<<"hi"
	[[ $stderr == *"--prompt and --no-prompt exclude each other"* ]]
}
