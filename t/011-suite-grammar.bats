#!/usr/bin/env bats
# The conventions every program follows (tokemb(7)): -m is a model and -n a
# count (old spellings warn), --threads 0 is one per CPU, -z carries
# NUL-separated documents through every program, models by the names users
# know.

load helper

@test "suite: old spellings still work, with one warning naming the new one" {
	printf 'a b a b c\nb c a\n' >"$BATS_TEST_TMPDIR/in"
	run -0 --separate-stderr tok-train -q -m bpe -n 40 "$BATS_TEST_TMPDIR/in"
	[[ $stderr == *"-m ALGORITHM is deprecated"*"--algorithm"* ]]
	[[ $stderr == *"-n N is deprecated"*"--vocab-size"* ]]
	local old=$output
	run -0 --separate-stderr tok-train -q --algorithm bpe --vocab-size 40 "$BATS_TEST_TMPDIR/in"
	[ -z "$stderr" ]
	[ "$output" = "$old" ]
	local W=$T/knn/words.txt
	run -0 --separate-stderr knn -k 2 -m dot "$W" <<<king
	[[ $stderr == *"-m METRIC is deprecated"*"--metric"* ]]
	old=$output
	run -0 --separate-stderr knn -k 2 --metric dot "$W" <<<king
	[ -z "$stderr" ] && [ "$output" = "$old" ]
	run -0 --separate-stderr knn -k 2 -p king -n man "$W"
	[[ $stderr == *"-n KEYS is deprecated"*"--negative"* ]]
	run -0 --separate-stderr emb-pool -p cls -n <<<$'3 4\n1 1\n'
	[[ $stderr == *"--normalize"* ]]
	[ "$output" = "0.600000024 0.800000012" ]
	run -0 --separate-stderr emb-pool -p cls --normalize <<<$'3 4\n1 1\n'
	[ -z "$stderr" ] && [ "$output" = "0.600000024 0.800000012" ]
}

@test "suite: --threads 0 means one per CPU wherever there are threads" {
	need_data tokenizers/gpt2
	run -0 tok-encode -m "$D/tokenizers/gpt2" --threads 0 <<<'hello world'
	[ "$output" = "31373 995" ]
	run -0 knn -t 0 -k 1 "$T/knn/words.txt" <<<king
	run -0 emb-token -t 0 -s -m "$T/emb/tiny-bert" <<<'2 4 3'
	printf 'a b c a b c\n' >"$BATS_TEST_TMPDIR/c"
	run -0 w2v-train -q --threads 0 --min-count 1 --vector-size 4 --epochs 1 \
		-o "$BATS_TEST_TMPDIR/v" "$BATS_TEST_TMPDIR/c"
}

@test "suite: NUL-separated documents round-trip through every program" {
	need_data tokenizers/gpt2
	local m=$D/tokenizers/gpt2 z=$BATS_TEST_TMPDIR/docs.z
	printf 'one\ntwo lines\0third\0\0last, with\ttab\0' >"$z"
	tok-encode -z -m "$m" "$z" | tok-decode -z -m "$m" | cmp - "$z"
	tok-encode -z -m "$m" --chunk 2 "$z" | tr -d '\0' | cmp - <(tr -d '\0' <"$z")
	# tok-show -z: one NUL-terminated display per document
	run -0 bash -c "tok-show -z --color=never -m '$m' '$z' | tr -cd '\\0' | wc -c"
	[ "$output" -eq 4 ]
	# ids -> token vectors -> one vector per document -> queries of knn
	tok-encode -z -m "$T/tok/tiny-bert.json" "$z" >"$BATS_TEST_TMPDIR/ids.z"
	emb-token -z -s -m "$T/emb/tiny-bert" "$BATS_TEST_TMPDIR/ids.z" |
		emb-pool -z >"$BATS_TEST_TMPDIR/vec.z"
	run -0 bash -c "tr -cd '\\0' <'$BATS_TEST_TMPDIR/vec.z' | wc -c"
	[ "$output" -eq 4 ]
	tr '\0' '\n' <"$BATS_TEST_TMPDIR/vec.z" | sed '/^$/d' >"$BATS_TEST_TMPDIR/vec.txt"
	run -0 bash -c "knn -z -k 1 '$BATS_TEST_TMPDIR/vec.txt' <'$BATS_TEST_TMPDIR/vec.z' | tr -cd '\\0' | wc -c"
	[ "$output" -eq 4 ]
}

@test "suite: -m gpt-4o, cl100k_base, gpt2 find tiktoken's cache, TOKEMB_DATA; not found says where" {
	need_data tokenizers/tiktoken/o200k_base.tiktoken tokenizers/tiktoken/cl100k_base.tiktoken
	local c=$BATS_TEST_TMPDIR/cache sha
	mkdir -p "$c"
	# tiktoken names its cache files by the SHA-1 of the URL
	sha=$(printf '%s' https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken |
		sha1sum | cut -d' ' -f1)
	cp "$D/tokenizers/tiktoken/o200k_base.tiktoken" "$c/$sha"
	run -0 env TIKTOKEN_CACHE_DIR="$c" TOKEMB_CACHE=0 tok-encode -m gpt-4o <<<'Hello, world!'
	[ "$output" = "$(tok-encode -m "$D/tokenizers/tiktoken/o200k_base.tiktoken" <<<'Hello, world!')" ]
	run -0 env TIKTOKEN_CACHE_DIR=/nonexistent TOKEMB_DATA="$D" tok-encode -m cl100k_base <<<'Hello, world!'
	[ "$output" = "9906 11 1917 0" ]
	run -1 --separate-stderr env TIKTOKEN_CACHE_DIR=/nonexistent TOKEMB_DATA=/nowhere \
		TOKEMB_MODELS= HOME=/nohome tok-encode -m gpt-4 <<<x
	[[ $stderr == *"/nonexistent"*"/nowhere/tokenizers/tiktoken"* ]]
	[[ $stderr == *"share/tokemb-fetch gpt-4"* ]]
	run -0 "$BATS_TEST_DIRNAME/../share/tokemb-fetch" --help
	[[ $output == *"tiktoken's cache"* ]]
}
