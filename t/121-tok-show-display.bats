#!/usr/bin/env bats
# tok-show: what a document looks like: colours, separators, glyphs, markers,
# and that the shown pieces give back the text.  Runs on the tiny tokenizers
# in t/data/show (no shared data needed).

load helper

S=$BATS_TEST_DIRNAME/data/show
BPE=$S/tiny-bytebpe
WP=$S/tiny-wordpiece
ESC=$'\e'
SEP='│'

# Undo the markers of uncoloured output: separators, ⟦special⟧, ⁇ before
# unknown text, <0xHH> back to its byte.  Works on bytes.
unshow() {
	perl -0777 -pe 's/\xE2\x9F\xA6.*?\xE2\x9F\xA7//gs; s/\xE2\x81\x87//g;
		s/\xE2\x94\x82//g; s/<0x0A>\n/<0x0A>/g; s/<0x([0-9A-F]{2})>/chr(hex($1))/ge'
}

@test "tok-show needs a tokenizer" {
	run -2 --separate-stderr tok-show < <(:)
	[[ $stderr == *"-m MODEL"* ]]
	[[ $stderr == *usage:* ]]
}

@test "tok-show: without colour, tokens are split by │ and the text is kept" {
	run -0 tok-show -m "$BPE" <<<"Hello and world"
	[ "$output" = "H${SEP}e${SEP}l${SEP}l${SEP}o${SEP} and${SEP} ${SEP}w${SEP}o${SEP}r${SEP}l${SEP}d${SEP}" ]
	[[ $output != *"$ESC"* ]]
}

@test "tok-show --sep changes the separator" {
	run -0 tok-show --sep '|' -m "$BPE" <<<"12 and"
	[ "$output" = "12| and|" ]
}

@test "tok-show --color=always: 24-bit backgrounds in the classic order, black text, reset" {
	run -0 tok-show --color=always -m "$BPE" --no-special <<<" and and"
	[ "${lines[0]}" = "${ESC}[0;30;48;2;102;194;165m and${ESC}[0m${ESC}[0;30;48;2;252;141;98m and${ESC}[0m" ]
}

@test "tok-show cycles six colours: the seventh token takes the first again" {
	run -0 tok-show --color=always -m "$BPE" <<<"vwxyzqjk"
	[[ $output == "${ESC}[0;30;48;2;102;194;165mv${ESC}[0m${ESC}[0;30;48;2;252;141;98mw${ESC}[0m${ESC}[0;30;48;2;141;160;203mx${ESC}[0m${ESC}[0;30;48;2;231;138;195my${ESC}[0m${ESC}[0;30;48;2;166;216;84mz${ESC}[0m${ESC}[0;30;48;2;255;217;47mq${ESC}[0m${ESC}[0;30;48;2;102;194;165mj${ESC}[0m"* ]]
}

@test "tok-show: colour only for a terminal; NO_COLOR honoured; --color=never" {
	run -0 tok-show --color=auto -m "$BPE" <<<"and"
	[[ $output != *"$ESC"* ]]
	run -0 tok-show --color=never -m "$BPE" <<<"and"
	[[ $output != *"$ESC"* ]]
	command -v script >/dev/null || skip "needs script(1) for a terminal"
	printf 'and\n' >"$BATS_TEST_TMPDIR/in"
	run -0 script -qec "tok-show -m '$BPE' '$BATS_TEST_TMPDIR/in'" /dev/null
	[[ $output == *"${ESC}[0;30;48;2;102;194;165m"* ]]
	NO_COLOR=1 run -0 script -qec "tok-show -m '$BPE' '$BATS_TEST_TMPDIR/in'" /dev/null
	[[ $output != *"${ESC}[0;30"* ]]
	[[ $output == *"a${SEP}n${SEP}d"* ]]
}

@test "tok-show --color rejects an unknown mode" {
	run -2 --separate-stderr tok-show --color=sometimes -m "$BPE" < <(:)
	[[ $stderr == *"'sometimes'"* ]]
}

@test "tok-show -s shows space, tab and newline as · → ↵" {
	run -0 tok-show -s -m "$BPE" < <(printf ' and\t\tx\n')
	[ "${lines[0]}" = "·and${SEP}→${SEP}→${SEP}x${SEP}↵" ]
	[ "${#lines[@]}" -eq 1 ]
}

@test "tok-show without -s keeps a newline token as a line break" {
	run -0 tok-show --sep '|' -m "$BPE" < <(printf 'and\nand')
	[ "$output" = $'a|n|d|\n|a|n|d' ]
}

@test "tok-show -i shows each id as ‹id›" {
	run -0 tok-show -i -m "$BPE" < <(printf ' and')
	[ "$output" = " and‹258›" ]
	run -0 tok-show -i -m "$WP" < <(printf 'and')
	[ "$output" = "⟦[CLS]⟧‹2›${SEP}and‹82›${SEP}⟦[SEP]⟧‹3›" ]
}

@test "tok-show marks special tokens ⟦⟧ and unknown ones ⁇, uncovered input stands between" {
	run -0 tok-show -m "$WP" < <(printf 'English and 🎵')
	[ "$output" = "⟦[CLS]⟧${SEP}English and ⁇🎵${SEP}⟦[SEP]⟧" ]
	run -0 tok-show --no-special -m "$WP" < <(printf 'and  and')
	[ "$output" = "and  and" ]
}

@test "tok-show shows part of a character as <0xHH>" {
	# the tiny BPE has a token for the first two bytes of 鸟 (E9 B8 9F)
	run -0 tok-show -m "$BPE" < <(printf '鸟')
	[ "$output" = "<0xE9><0xB8>${SEP}<0x9F>" ]
	run -0 tok-show -m "$BPE" < <(printf '\xff\xfe')
	[ "$output" = "<0xFF>${SEP}<0xFE>" ]
}

@test "tok-show --vocab shows vocabulary strings" {
	run -0 tok-show --vocab -m "$BPE" < <(printf 'and and')
	[ "$output" = "a${SEP}n${SEP}d${SEP}Ġand" ]
	run -0 tok-show --vocab -m "$WP" < <(printf 'CAPITALIZATION')
	[ "$output" = "⟦[CLS]⟧${SEP}capital${SEP}##ization${SEP}⟦[SEP]⟧" ]
}

@test "tok-show: removing the markers gives back the text (byte-level BPE)" {
	tok-show -m "$BPE" "$S/showcase.txt" | unshow >"$BATS_TEST_TMPDIR/back"
	{ cat "$S/showcase.txt"; echo; } | cmp - "$BATS_TEST_TMPDIR/back"
}

@test "tok-show: removing the markers gives back the text (WordPiece, gaps and unknowns)" {
	tok-show -m "$WP" "$S/showcase.txt" | unshow >"$BATS_TEST_TMPDIR/back"
	{ cat "$S/showcase.txt"; echo; } | cmp - "$BATS_TEST_TMPDIR/back"
}

@test "tok-show -l: one document per line; -z: per NUL record" {
	run -0 tok-show --sep '|' -l -m "$BPE" < <(printf 'and\n\n12\n')
	[ "$output" = $'a|n|d\n\n12' ]
	[ "${#lines[@]}" -eq 2 ]
	run -0 bash -c "printf 'and\0001\n2' | tok-show --sep '|' -z -m '$BPE' | tr '\0' '#'"
	[ "$output" = $'a|n|d#1|\n|2#' ]
}

@test "tok-show: several files are each a document, - is stdin" {
	printf 'and' >"$BATS_TEST_TMPDIR/a"
	run -0 tok-show --sep '|' -m "$BPE" "$BATS_TEST_TMPDIR/a" - "$BATS_TEST_TMPDIR/a" < <(printf '12')
	[ "$output" = $'a|n|d\n12\na|n|d' ]
}

@test "tok-show pictures control characters for a terminal, never sends them raw" {
	command -v script >/dev/null || skip "needs script(1) for a terminal"
	printf 'a\033[2Jb' >"$BATS_TEST_TMPDIR/in"
	run -0 script -qec "tok-show --color=never -m '$BPE' '$BATS_TEST_TMPDIR/in'" /dev/null
	[[ $output == *"␛"* ]]
	[[ $output != *"${ESC}[2J"* ]]
}

@test "tok-show: special-token text in the input is the special token, unless --special-as-text" {
	run -0 tok-show -m "$BPE" < <(printf 'and<|endoftext|>and')
	[ "$output" = "a${SEP}n${SEP}d${SEP}⟦<|endoftext|>⟧${SEP}a${SEP}n${SEP}d" ]
	run -0 tok-show --special-as-text -m "$BPE" < <(printf '<|endoftext|>')
	[ "$output" = "<${SEP}|${SEP}e${SEP}n${SEP}d${SEP}o${SEP}f${SEP}t${SEP}e${SEP}x${SEP}t${SEP}|${SEP}>" ]
}
