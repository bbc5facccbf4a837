#!/usr/bin/env bats
# tok-encode --count (whole files, as wc) and --chunk N [--overlap K] on
# real tokenizers: chunks rejoin exactly to the document and decode to
# their text.

load helper

# The models cut here: byte-level BPE, tiktoken, WordPiece, SentencePiece.
MODELS=(gpt2 tiktoken/cl100k_base.tiktoken bert-base-uncased llama2/tokenizer.model)

setup_file() {
	export DOCS=$BATS_FILE_TMPDIR/docs
	# documents with newlines, emoji (split across byte tokens), accents
	{
		cat "$BATS_TEST_DIRNAME/../README.md"
		printf '\0'
		printf 'caf\xc3\xa9 \xf0\x9f\x98\x80\xf0\x9f\x98\x80 na\xc3\xafve\n\nend \xe2\x82\xac\0'
		printf '\0'
	} >"$DOCS"
}

# Records of a NUL-separated file, one a line in a directory (for cmp).
split_nul() {
	/usr/bin/python3 - "$1" "$2" <<'PY'
import sys, os
recs = open(sys.argv[1], 'rb').read().split(b'\0')
os.makedirs(sys.argv[2], exist_ok=True)
for i, r in enumerate(recs[:-1]):
    open(os.path.join(sys.argv[2], '%06d' % i), 'wb').write(r)
PY
}

@test "tok-encode --chunk: chunks rejoin exactly to each document, at most N tokens" {
	local m n
	for m in "${MODELS[@]}"; do
		[ -e "$D/tokenizers/$m" ] || continue
		n=$((n + 1))
		for size in 1 7 64; do
			tok-encode -z -m "$D/tokenizers/$m" --chunk "$size" "$DOCS" >"$BATS_TEST_TMPDIR/c"
			# the chunks of a document, then an empty record; rejoined
			/usr/bin/python3 - "$DOCS" "$BATS_TEST_TMPDIR/c" <<'PY'
import sys
docs = open(sys.argv[1], 'rb').read().split(b'\0')[:-1]
recs = open(sys.argv[2], 'rb').read().split(b'\0')[:-1]
got, cur = [], []
for r in recs:
    if r == b'':
        got.append(b''.join(cur)); cur = []
    else:
        cur.append(r)
assert cur == [], cur
assert got == docs, (len(got), len(docs))
PY
			tok-encode -z -m "$D/tokenizers/$m" --chunk "$size" --ids "$DOCS" |
				tr '\0' '\n' | awk -v n="$size" -v m="$m" '
					# a character alone may take more (an emoji: 4 bytes)
					NF > n && NF > 4 { print m ": chunk of " NF " > " n; bad = 1 }
					END { exit bad }'
		done
	done
	[ "${n:-0}" -gt 0 ] || skip "needs \$TOKEMB_DATA/tokenizers"
}

@test "tok-encode --chunk --ids: tok-decode of a chunk's ids gives its text" {
	local m
	for m in gpt2 tiktoken/cl100k_base.tiktoken; do
		need_data "tokenizers/$m"
		tok-encode -z -m "$D/tokenizers/$m" --chunk 5 "$DOCS" >"$BATS_TEST_TMPDIR/text"
		tok-encode -z -m "$D/tokenizers/$m" --chunk 5 --ids "$DOCS" |
			tok-decode -z -m "$D/tokenizers/$m" >"$BATS_TEST_TMPDIR/dec"
		cmp "$BATS_TEST_TMPDIR/text" "$BATS_TEST_TMPDIR/dec"
	done
}

@test "tok-encode --chunk 1: a character split over byte tokens stays whole" {
	need_data tokenizers/gpt2 tokenizers/llama2/tokenizer.model
	run -0 tok-encode -m "$D/tokenizers/gpt2" --chunk 1 <<<$'a\xf0\x9f\x98\x80b'
	[ "$output" = $'a\n\xf0\x9f\x98\x80\nb' ]
	run -0 tok-encode -m "$D/tokenizers/gpt2" --chunk 1 --ids <<<$'a\xf0\x9f\x98\x80b'
	[ "$output" = $'64\n47249 222\n65' ]
	run -0 tok-encode -m "$D/tokenizers/llama2/tokenizer.model" --chunk 2 --ids <<<$'a\xf0\x9f\x98\x80b'
	[ "${lines[0]}" = "263" ]
}

@test "tok-encode --chunk --overlap: chunks repeat the tokens before, and move on" {
	need_data tokenizers/gpt2
	run -0 tok-encode -m "$D/tokenizers/gpt2" --chunk 4 --overlap 2 --ids <<<'one two three four five six'
	[ "${lines[0]}" = "505 734 1115 1440" ]
	[ "${lines[1]}" = "1115 1440 1936 2237" ]
	[ "${#lines[@]}" -eq 2 ]
	run -0 tok-encode -m "$D/tokenizers/gpt2" --chunk 4 --overlap 2 <<<'one two three four five six'
	[ "${lines[1]}" = " three four five six" ]
	run -2 --separate-stderr tok-encode -m "$D/tokenizers/gpt2" --chunk 4 --overlap 4
	[[ $stderr == *"--overlap must be less than --chunk"* ]]
	run -2 --separate-stderr tok-encode -m "$D/tokenizers/gpt2" --overlap 1
	[[ $stderr == *"--overlap needs --chunk"* ]]
	run -2 --separate-stderr tok-encode -m "$D/tokenizers/gpt2" --chunk 4 --tokens
	[[ $stderr == *"exclude each other"* ]]
}

@test "tok-encode --count: each whole file's tokens, newlines included, as wc prints" {
	need_data tokenizers/tiktoken/cl100k_base.tiktoken
	local m=$D/tokenizers/tiktoken/cl100k_base.tiktoken r=$BATS_TEST_DIRNAME/../README.md
	local inst=$BATS_TEST_DIRNAME/../INSTALL whole lines
	# the whole file as one document, as tiktoken counts a file
	whole=$(tok-encode -z -m "$m" --total "$r")
	lines=$(tok-encode -m "$m" --total "$r")
	[ "$whole" -gt "$lines" ]
	run -0 --separate-stderr tok-encode -m "$m" --count "$r"
	[ "$output" = "$whole $r" ]
	run -0 tok-encode -m "$m" --count <"$r"
	[ "$output" = "$whole" ]
	run -0 tok-encode -m "$m" --count "$r" "$inst"
	[ "${#lines[@]}" -eq 3 ]
	[[ ${lines[2]} =~ ^\ *([0-9]+)\ total$ ]]
	[ "${BASH_REMATCH[1]}" -eq $((whole + $(tok-encode -z -m "$m" --total "$inst"))) ]
	run -1 --separate-stderr tok-encode -m "$m" --count "$r" /nonexistent
	[ "${#lines[@]}" -eq 2 ]
	[[ $stderr == *"/nonexistent"* ]]
}

@test "tok-encode: -c still counts each document, with a warning; --count-docs does" {
	need_data tokenizers/gpt2
	run -0 --separate-stderr tok-encode -m "$D/tokenizers/gpt2" -c <<<$'a b\nc'
	[ "$output" = $'2\n1' ]
	[[ $stderr == *"-c is deprecated"*"--count-docs"* ]]
	run -0 --separate-stderr tok-encode -m "$D/tokenizers/gpt2" --count-docs <<<$'a b\nc'
	[ "$output" = $'2\n1' ]
	[ -z "$stderr" ]
}
