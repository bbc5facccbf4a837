#!/usr/bin/env bats
# emb-pool: pooling modes, the sentence-transformers pipeline, bad input.

load helper

E=$T/emb

@test "emb-pool: every mode on a small document" {
	doc=$'1 2\n3 8\n5 2\n'
	run -0 emb-pool <<<"$doc"
	[ "$output" = "3 4" ]
	run -0 emb-pool -p cls <<<"$doc"
	[ "$output" = "1 2" ]
	run -0 emb-pool -p max <<<"$doc"
	[ "$output" = "5 8" ]
	run -0 emb-pool -p last <<<"$doc"
	[ "$output" = "5 2" ]
	run -0 emb-pool -p weighted-mean <<<"$doc"
	[ "$output" = "3.66666675 4" ]
	run -0 emb-pool -p mean-sqrt-len <<<"$doc"
	[ "$output" = "5.19615269 6.92820358" ]
	run -0 emb-pool --normalize <<<$'3 4\n'
	[ "$output" = "0.600000024 0.800000012" ]
}

@test "emb-pool: one vector per document, empty documents give zeros" {
	run -0 emb-pool <<<$'\n1 2\n3 4\n\n\n5 6\n'
	[ "${#lines[@]}" -eq 4 ]
	[ "${lines[0]}" = "0 0" ]
	[ "${lines[1]}" = "2 3" ]
	[ "${lines[2]}" = "0 0" ]
	[ "${lines[3]}" = "5 6" ]
}

@test "emb-pool -m reads modules.json: mean then Normalize" {
	emb-token -m "$E/tiny-bert" <<<$'2 4 5 3\n2 3' >"$BATS_TEST_TMPDIR/tok"
	run -0 diff <(emb-pool -m "$E/tiny-bert" "$BATS_TEST_TMPDIR/tok") \
		<(emb-pool -p mean --normalize "$BATS_TEST_TMPDIR/tok")
	run -0 emb-pool -m "$E/tiny-bert" "$BATS_TEST_TMPDIR/tok"
	[ "${#lines[@]}" -eq 2 ]
}

@test "emb-pool -m: Dense module and several pooling modes concatenated" {
	m=$BATS_TEST_TMPDIR/m
	mkdir -p "$m/1_Pooling" "$m/2_Dense"
	printf '[{"idx":0,"name":"0","path":"","type":"sentence_transformers.models.Transformer"},
	{"idx":1,"name":"1","path":"1_Pooling","type":"sentence_transformers.models.Pooling"},
	{"idx":2,"name":"2","path":"2_Dense","type":"sentence_transformers.models.Dense"}]' >"$m/modules.json"
	printf '{"word_embedding_dimension":2,"pooling_mode_cls_token":true,"pooling_mode_mean_tokens":true}' >"$m/1_Pooling/config.json"
	printf '{"in_features":4,"out_features":1,"bias":true,"activation_function":"torch.nn.modules.linear.Identity"}' >"$m/2_Dense/config.json"
	# linear.weight [1,4] = 1 10 100 1000, linear.bias [1] = 0.5
	{
		h='{"linear.bias":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"linear.weight":{"dtype":"F32","shape":[1,4],"data_offsets":[4,20]}}'
		printf '%b' "$(printf '\\x%02x' $((${#h} % 256)) $((${#h} / 256)) 0 0 0 0 0 0)"
		printf '%s' "$h"
		printf '\x00\x00\x00\x3f\x00\x00\x80\x3f\x00\x00\x20\x41\x00\x00\xc8\x42\x00\x00\x7a\x44'
	} >"$m/2_Dense/model.safetensors"
	# cls = (1, 2), mean = (2, 3): 1*1 + 10*2 + 100*2 + 1000*3 + 0.5
	run -0 emb-pool -m "$m" <<<$'1 2\n3 4\n'
	[ "$output" = "3221.5" ]
	run -1 --separate-stderr emb-pool -m "$m" <<<$'1 2 3\n'
	[ "$stderr" = "emb-pool: -:1: rows of 3 components, the model takes 2" ]
	# a pooling that does not say its width: the Dense module refuses
	printf '{"pooling_mode_cls_token":true,"pooling_mode_mean_tokens":true}' >"$m/1_Pooling/config.json"
	run -1 --separate-stderr emb-pool -m "$m" <<<$'1 2 3\n'
	[[ $stderr == *"Dense module takes 4 components"* ]]
}

@test "emb-pool --dim: the first N components, normalized again after Normalize" {
	run -0 emb-pool -d 2 <<<$'3 4 12\n'
	[ "$output" = "3 4" ]
	# 3 4 12 has norm 13: the first two of the unit vector, made unit again
	# (float32: 3/13 and 4/13 divided by their norm, 0.6 within rounding)
	run -0 emb-pool --normalize --dim 2 <<<$'3 4 12\n'
	[ "$output" = "0.599999964 0.800000012" ]
	run -0 emb-pool --normalize -d 3 <<<$'3 4 12\n\n'
	[ "${lines[0]}" = "0.230769232 0.307692319 0.923076928" ]
	[ "${lines[1]}" = "0 0 0" ]
	# the model's pipeline ends in Normalize: the same as -p mean --normalize -d
	emb-token -m "$E/tiny-bert" <<<$'2 4 5 3\n2 3' >"$BATS_TEST_TMPDIR/tok"
	run -0 emb-pool -m "$E/tiny-bert" -d 4 "$BATS_TEST_TMPDIR/tok"
	[ "${#lines[@]}" -eq 2 ]
	[ "$(wc -w <<<"${lines[0]}")" -eq 4 ]
	run -0 diff <(emb-pool -m "$E/tiny-bert" -d 4 "$BATS_TEST_TMPDIR/tok") \
		<(emb-pool -p mean --normalize -d 4 "$BATS_TEST_TMPDIR/tok")
	# proportional to the full vector's first 4, of unit length
	emb-pool -m "$E/tiny-bert" "$BATS_TEST_TMPDIR/tok" >"$BATS_TEST_TMPDIR/full"
	emb-pool -m "$E/tiny-bert" -d 4 "$BATS_TEST_TMPDIR/tok" >"$BATS_TEST_TMPDIR/cut"
	run -0 awk 'NR == FNR { n = 0; for (i = 1; i <= 4; i++) n += $i * $i
		for (i = 1; i <= 4; i++) want[FNR, i] = $i / sqrt(n); next }
		{ for (i = 1; i <= 4; i++) { d = $i - want[FNR, i]; if (d * d > 1e-12) bad = 1 } }
		END { exit bad }' "$BATS_TEST_TMPDIR/full" "$BATS_TEST_TMPDIR/cut"
}

@test "emb-pool --dim: more components than the vector has, or none, is refused" {
	run -1 --separate-stderr emb-pool -d 3 <<<$'1 2\n'
	[ "$stderr" = "emb-pool: -:1: cannot keep 3 components of a 2-component vector" ]
	run -2 --separate-stderr emb-pool -d 0 <<<$'1 2\n'
	[[ $stderr == *"--dim"* ]]
	run -2 --separate-stderr emb-pool -d 2x <<<$'1 2\n'
	[[ $stderr == *"--dim"* ]]
}

@test "emb-pool: bad input is an error with its line" {
	run -1 --separate-stderr emb-pool <<<$'1 2\n3 x\n'
	[[ $stderr == *"-:2: bad number 'x'"* ]]
	run -1 --separate-stderr emb-pool <<<$'1 2\n3 4 5\n'
	[[ $stderr == *"-:2: 3 components, expected 2"* ]]
	run -1 --separate-stderr emb-pool <<<$'1 nan\n'
	[[ $stderr == *"not a finite number"* ]]
	run -1 --separate-stderr emb-pool <(printf 'TOKEMBV\0garbage')
	[[ $stderr == *"TEVEC"* ]]
}

@test "emb-pool: usage errors" {
	run -2 --separate-stderr emb-pool -p median
	[[ $stderr == *"unknown mode 'median'"* ]]
	run -2 --separate-stderr emb-pool -m "$E/tiny-bert" -p cls
	[[ $stderr == *"cannot be combined"* ]]
	run -1 --separate-stderr emb-pool -m "$BATS_TEST_TMPDIR/none"
	[[ $stderr == *none* ]]
}

@test "emb-pool: binary output, full disk, closed pipe" {
	emb-pool -b <<<$'1 2\n3 4\n' >"$BATS_TEST_TMPDIR/v"
	[ "$(head -c 7 "$BATS_TEST_TMPDIR/v")" = "TOKEMBV" ]
	[ "$(stat -c %s "$BATS_TEST_TMPDIR/v")" -eq 72 ]
	run -0 emb-pool "$BATS_TEST_TMPDIR/v"
	[ "$output" = "2 3" ]
	run -1 --separate-stderr bash -c 'emb-pool <<<"1 2" >/dev/full'
	[[ $stderr == *"write error"* ]]
	run -0 --separate-stderr bash -c 'yes $'"'"'1 2\n'"'"' | head -20000 | emb-pool | head -1 >/dev/null'
	[ -z "$stderr" ]
}
