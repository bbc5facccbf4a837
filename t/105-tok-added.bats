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

# $1 with two more added tokens (ids 277, 278): $2 and $3, normalized $4
# (shell builtins only: $2 may be larger than an argument list may be).
with_long() {
	local j k='"added_tokens":['
	local f='{"id":%d,"content":"%s","single_word":false,"lstrip":false,"rstrip":false,"normalized":%s,"special":false},'
	j=$(<"$1")
	printf '%s%s' "${j%%"$k"*}" "$k"
	# shellcheck disable=SC2059
	printf "$f$f" 277 "$2" "$4" 278 "$3" "$4"
	printf '%s\n' "${j#*"$k"}"
}

@test "tok-added: tokens longer than the trie is deep match whole, leftmost-longest, raw and normalized" {
	local a b
	a=$(printf 'q%.0s' {1..100})
	b=$(printf 'q%.0s' {1..70})
	for norm in false true; do
		for m in added-raw added-norm; do
			with_long "$T/tok/$m.json" "$a" "$b" "$norm" >"$BATS_TEST_TMPDIR/m.json"
			run -0 tok-encode --no-cache --no-special -m "$BATS_TEST_TMPDIR/m.json" <<<"x${a}q ${b}q x${a:1}"
			[[ "$output" = *" 277 "*" 278 "* ]]
			[ "$(grep -o ' 277 ' <<<" $output " | wc -l)" -eq 1 ]
			[ "$(grep -o ' 278 ' <<<" $output " | wc -l)" -eq 2 ]
		done
	done
}

@test "tok-added: a 10 MB added token loads in memory in proportion to the file" {
	[ -z "${TOKEMB_SAN:-}" ] || skip "memory differs under the sanitizers"
	local big
	big=$(head -c 10485760 /dev/zero | tr '\0' q)
	with_long "$T/tok/added-norm.json" "$big" "qq" true >"$BATS_TEST_TMPDIR/m.json"
	unset big
	# 200 MB of address space, under 20 times the file (it took 1.1 GB):
	# from source, writing the cache, then from the cache
	# shellcheck disable=SC2016
	run -0 --separate-stderr bash -c 'ulimit -v 204800 && tok-encode --no-special -m "$1" <<<"x qq y" &&
	    tok-encode --no-special -m "$1" <<<"x qq y"' - "$BATS_TEST_TMPDIR/m.json"
	[ "${lines[0]}" = "120 32 278 32 121" ]
	[ "${lines[1]}" = "${lines[0]}" ]
}
