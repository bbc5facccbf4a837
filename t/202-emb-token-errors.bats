#!/usr/bin/env bats
# emb-token: bad input and bad models give a clear error, never a crash.

load helper

E=$T/emb

@test "emb-token: an id outside the vocabulary names the file and line" {
	printf '2 4 3\n2 16 3\n' >"$BATS_TEST_TMPDIR/ids"
	run -1 --separate-stderr emb-token -m "$E/tiny-bert" "$BATS_TEST_TMPDIR/ids"
	[[ $stderr == *"ids:2: token id 16 (token 2) is outside the vocabulary of 16"* ]]
	# the first document (3 tokens) was written before the error
	[ "${#lines[@]}" -eq 3 ]
}

@test "emb-token: a bad record is reported, written as an empty document, and the stream goes on" {
	printf '2 4 3\n2 16 3\n2 x\n4 5\n' >"$BATS_TEST_TMPDIR/ids"
	run -1 --separate-stderr emb-token -m "$E/tiny-bert" "$BATS_TEST_TMPDIR/ids"
	[ "$stderr" = "emb-token: $BATS_TEST_TMPDIR/ids:2: token id 16 (token 2) is outside the vocabulary of 16
emb-token: $BATS_TEST_TMPDIR/ids:3: bad token id at column 3: expected a non-negative integer, found 'x'" ]
	# documents: 3 rows, empty, empty, 2 rows (each ends with an empty line)
	[ "$(printf '%s\n' "$output" | awk '{ printf "%s", NF ? "r" : "." } END { print "" }')" = "rrr...rr" ]
	# as if the bad lines had been empty
	[ "$output" = "$(emb-token -m "$E/tiny-bert" <<<$'2 4 3\n\n\n4 5')" ]
	# a token without a word vector: the same, in a batch with others
	run -1 --separate-stderr emb-token -m "$E/tiny-bert" --vectors "$E/words.vec" <<<$'4\n4 15\n5'
	[ "$stderr" = "emb-token: -:2: token id 15 ('!') has no word vector (--unknown-zero makes it zeros)" ]
	[ "$(printf '%s\n' "$output" | awk '{ printf "%s", NF ? "r" : "." } END { print "" }')" = "r..r" ]
	# binary: the skipped record is a document of no rows
	run -1 --separate-stderr emb-token -b -m "$E/tiny-bert" <<<$'4\n2 x\n5'
	emb-token -b -m "$E/tiny-bert" <<<$'4\n\n5' >"$BATS_TEST_TMPDIR/want"
	emb-token -b -m "$E/tiny-bert" <<<$'4\n2 x\n5' >"$BATS_TEST_TMPDIR/got" || true
	cmp "$BATS_TEST_TMPDIR/got" "$BATS_TEST_TMPDIR/want"
}

@test "emb-token: a malformed id line is an error naming the line" {
	run -1 --separate-stderr emb-token -m "$E/tiny-bert" <<<$'2 3\n2 x 3'
	[[ $stderr == *"-:2: bad token id at column 3"* ]]
}

@test "emb-token: binary input and NUL bytes are refused" {
	run -1 --separate-stderr emb-token -m "$E/tiny-bert" "$E/tiny-bert/model.safetensors"
	[[ $stderr == *"model.safetensors:1: bad "* ]]
	run -1 --separate-stderr emb-token -m "$E/tiny-bert" < <(printf '2 3\0 4\n')
	[[ $stderr == *"-:1: bad separator"* ]]
}

@test "emb-token: empty input gives empty output; an empty line an empty document" {
	run -0 emb-token -m "$E/tiny-bert" </dev/null
	[ -z "$output" ]
	run -0 emb-token -m "$E/tiny-bert" <<<""
	[ "$output" = "" ]
	[ "$(emb-token -m "$E/tiny-bert" <<<$'\n2 3' | wc -l)" -eq 4 ]
}

@test "emb-token: lying safetensors headers are refused with a clear message" {
	declare -A want=(
		[absurd-header]="header length 1152921504606846976 is absurd"
		[truncated]="lie outside the 3800 bytes of data"
		[overlap]="tensors 'pooler.dense.weight' and 'pooler.dense.bias' overlap"
		[shape-bytes]="need 36 bytes, data_offsets give 32"
		[wrong-shape]="has shape [15, 8], config.json implies [16, 8]"
		[wrong-dtype]="'pooler.dense.weight' has dtype I32"
		[missing-tensor]="'encoder.layer.0.intermediate.dense.weight' is missing"
		[not-json]="header is not valid JSON"
		[tiny-file]="3 bytes, shorter than the 8-byte header length"
	)
	for k in "${!want[@]}"; do
		run -1 --separate-stderr emb-token -m "$E/bad-$k" <<<"2 3"
		[[ $stderr == *"bad-$k/model.safetensors: "*"${want[$k]}"* ]] || {
			echo "bad-$k: $stderr"
			return 1
		}
		[ -z "$output" ]
	done
}

@test "emb-token: a shape or a config.json number too big for its integer is refused" {
	local m=$BATS_TEST_TMPDIR/m
	cp -r "$E/tiny-bert" "$m"
	# same header length: [16,8] becomes [3e99]
	sed -i 's/"embeddings.word_embeddings.weight":{"dtype":"F32","shape":\[16,8\]/"embeddings.word_embeddings.weight":{"dtype":"F32","shape":[3e99]/' \
		"$m/model.safetensors"
	run -1 --separate-stderr emb-token -m "$m" <<<"2 3"
	[[ $stderr == *"m/model.safetensors: tensor 'embeddings.word_embeddings.weight': bad shape"* ]]
	cp "$E/tiny-bert/model.safetensors" "$m/"
	sed -i 's/"vocab_size": 16/"vocab_size": 3e20/' "$m/config.json"
	run -1 --separate-stderr emb-token -m "$m" <<<"2 3"
	[[ $stderr == *'m/config.json: "vocab_size" must be an integer in 1..'* ]]
}

@test "emb-token: unsupported architecture and broken config are named" {
	run -1 --separate-stderr emb-token -m "$E/bad-arch" <<<"2 3"
	[[ $stderr == *"bad-arch/config.json: model_type 'gpt2' is not one of bert, roberta, xlm-roberta, mpnet, deberta-v2, nomic_bert, modernbert, qwen3, gemma3_text"* ]]
	run -1 --separate-stderr emb-token -m "$E/bad-config" <<<"2 3"
	[[ $stderr == *"bad-config/config.json: missing \"hidden_size\""* ]]
	run -1 --separate-stderr emb-token -m "$E/bad-config-json" <<<"2 3"
	[[ $stderr == *"bad-config-json/config.json:3: invalid JSON"* ]]
	# --static still gives the input embeddings of the unsupported model
	run -0 emb-token --static -m "$E/bad-arch" <<<"2 3"
	[ "${#lines[@]}" -eq 2 ]
}

@test "emb-token: a missing model, a missing -m and bad options" {
	run -1 --separate-stderr emb-token -m "$BATS_TEST_TMPDIR/nothing-here" <<<"2 3"
	[[ $stderr == *nothing-here* ]]
	run -2 --separate-stderr emb-token <<<"2 3"
	[[ $stderr == *"a model is required"* ]]
	run -2 --separate-stderr emb-token -m "$E/tiny-bert" --threads -1
	[[ $stderr == *"--threads"* ]]
	run -2 --separate-stderr emb-token -m "$E/tiny-bert" --token-types some
	[[ $stderr == *"--token-types"* ]]
}

@test "emb-token: an unreadable file is reported and the next one is read" {
	printf '2 3\n' >"$BATS_TEST_TMPDIR/ok"
	run -1 --separate-stderr emb-token -m "$E/tiny-bert" "$BATS_TEST_TMPDIR/missing" "$BATS_TEST_TMPDIR/ok"
	[[ $stderr == *missing* ]]
	[ "${#lines[@]}" -eq 2 ]
}

@test "emb-token: a full disk is an error, a closed pipe is not" {
	run -1 --separate-stderr bash -c 'emb-token -b -m "$1" <<<"2 3" >/dev/full' _ "$E/tiny-bert"
	[[ $stderr == *"write error"* ]]
	run -1 --separate-stderr bash -c 'emb-token -m "$1" <<<"2 3" >/dev/full' _ "$E/tiny-bert"
	[[ $stderr == *"write error"* ]]
	run -0 --separate-stderr bash -c 'yes "2 4 5 3" | head -2000 | emb-token -m "$1" | head -1 >/dev/null' _ "$E/tiny-bert"
	[ -z "$stderr" ]
}

@test "emb-token: --vectors keyed by token string; tokens without a vector" {
	run -0 emb-token -m "$E/tiny-bert" --vectors "$E/words.vec" <<<"4 5"
	# words.vec: "the 1.7449 -1.1642 0.2695 -0.6690", as float32
	[ "${lines[0]}" = "1.74489999 -1.16419995 0.269499987 -0.66900003" ]
	run -1 --separate-stderr emb-token -m "$E/tiny-bert" --vectors "$E/words.vec" <<<"4 15"
	[[ $stderr == *"-:1: token id 15 ('!') has no word vector"* ]]
	run -0 emb-token -m "$E/tiny-bert" --vectors "$E/words.vec" --unknown-zero <<<"15"
	[ "${lines[0]}" = "0 0 0 0" ]
}

@test "emb-token: binary output is the TEVEC token stream" {
	emb-token -b -m "$E/tiny-bert" <<<$'2 4 3\n\n2 3' >"$BATS_TEST_TMPDIR/b"
	[ "$(head -c 7 "$BATS_TEST_TMPDIR/b")" = "TOKEMBV" ]
	# 64-byte header, then per document a u32 count and count x 8 floats
	[ "$(stat -c %s "$BATS_TEST_TMPDIR/b")" -eq $((64 + 4 + 3 * 32 + 4 + 4 + 2 * 32)) ]
	run -0 diff <(emb-pool "$BATS_TEST_TMPDIR/b") \
		<(emb-token -m "$E/tiny-bert" <<<$'2 4 3\n\n2 3' | emb-pool)
}

@test "emb-token: an encoder checkpoint without config.json is an error unless --static" {
	mkdir "$BATS_TEST_TMPDIR/m"
	cp "$E/tiny-bert/model.safetensors" "$BATS_TEST_TMPDIR/m/"
	run -1 --separate-stderr emb-token -m "$BATS_TEST_TMPDIR/m" <<<"2 3"
	[[ $stderr == *"no config.json in the model directory"* ]]
	run -0 diff <(emb-token -s -m "$BATS_TEST_TMPDIR/m" <<<"2 3") <(emb-token -s -m "$E/tiny-bert" <<<"2 3")
}
