#!/usr/bin/env bats
# emb-token: the same model stored in other layouts gives the same numbers.

load helper

E=$T/emb
IDS=$'2 4 5 6 3\n2 9 3 10 11 3\n\n2 3'

@test "emb-token: tensor names with the bert. prefix (and an MLM head) load" {
	run -0 diff <(emb-token -m "$E/tiny-bert-prefixed" <<<"$IDS") <(emb-token -m "$E/tiny-bert" <<<"$IDS")
	run -0 diff <(emb-token -s -m "$E/tiny-bert-prefixed" <<<"$IDS") <(emb-token -s -m "$E/tiny-bert" <<<"$IDS")
}

@test "emb-token: sharded safetensors with model.safetensors.index.json" {
	run -0 diff <(emb-token -m "$E/tiny-bert-sharded" <<<"$IDS") <(emb-token -m "$E/tiny-bert" <<<"$IDS")
}

@test "emb-token: BF16 weights are widened exactly" {
	run -0 diff <(emb-token -m "$E/tiny-bert-bf16" <<<"$IDS") <(emb-token -m "$E/tiny-bert-bf16-as-f32" <<<"$IDS")
	# and they are not the F32 model's numbers
	run -1 diff <(emb-token -m "$E/tiny-bert-bf16" <<<"$IDS") <(emb-token -m "$E/tiny-bert" <<<"$IDS")
}

@test "emb-token: a safetensors file given directly, its config.json beside it" {
	run -0 diff <(emb-token -m "$E/tiny-bert/model.safetensors" <<<"$IDS") <(emb-token -m "$E/tiny-bert" <<<"$IDS")
}

@test "emb-token: a shard named in the index but missing is an error" {
	cp -r "$E/tiny-bert-sharded" "$BATS_TEST_TMPDIR/m"
	rm "$BATS_TEST_TMPDIR/m/model-00002-of-00002.safetensors"
	run -1 --separate-stderr emb-token -m "$BATS_TEST_TMPDIR/m" <<<"2 3"
	[[ $stderr == *"model-00002-of-00002.safetensors: No such file"* ]]
}

@test "emb-token: threads and batch size do not change the result beyond rounding" {
	emb-token -m "$E/tiny-bert" <<<"$IDS" >"$BATS_TEST_TMPDIR/a"
	emb-token -t 2 --batch 1 -m "$E/tiny-bert" <<<"$IDS" >"$BATS_TEST_TMPDIR/b"
	run -0 awk 'NR == FNR { a[FNR] = $0; next }
		{ n = split(a[FNR], x, " "); m = split($0, y, " "); if (n != m) exit 1
		  for (i = 1; i <= n; i++) { d = x[i] - y[i]; if (d < 0) d = -d; if (d > 1e-5) exit 1 } }' \
		"$BATS_TEST_TMPDIR/a" "$BATS_TEST_TMPDIR/b"
	[ "$(wc -l <"$BATS_TEST_TMPDIR/a")" -eq "$(wc -l <"$BATS_TEST_TMPDIR/b")" ]
}
