#!/usr/bin/env bats
# tok-show: bad input, bad files, bad output; never a crash, never silence.

load helper

S=$BATS_TEST_DIRNAME/data/show
BPE=$S/tiny-bytebpe
WP=$S/tiny-wordpiece

unshow() {
	perl -0777 -pe 's/\xE2\x9F\xA6.*?\xE2\x9F\xA7//gs; s/\xE2\x81\x87//g;
		s/\xE2\x94\x82//g; s/<0x0A>\n/<0x0A>/g; s/<0x([0-9A-F]{2})>/chr(hex($1))/ge'
}

@test "tok-show: a file that cannot be opened is reported, the next one shown, exit 1" {
	run -1 --separate-stderr tok-show --sep '|' -m "$BPE" "$BATS_TEST_TMPDIR/missing" "$S/showcase.txt"
	[[ $stderr == *"tok-show: $BATS_TEST_TMPDIR/missing: No such file or directory"* ]]
	[[ $output == "English|"* ]]
}

@test "tok-show: a tokenizer file that is not one is refused with its name" {
	printf '{"model": 3' >"$BATS_TEST_TMPDIR/bad.json"
	run -1 --separate-stderr tok-show -m "$BATS_TEST_TMPDIR/bad.json" < <(:)
	[[ $stderr == "tok-show: "*bad.json* ]]
	[ -z "$output" ]
}

@test "tok-show: empty input is an empty document" {
	run -0 tok-show -m "$BPE" < <(:)
	[ -z "$output" ]
	run -0 tok-show -l -m "$BPE" < <(:)
	[ -z "$output" ]
}

@test "tok-show: every byte value, NUL included, shows and comes back (byte-level)" {
	perl -e 'print map { chr } 0 .. 255' >"$BATS_TEST_TMPDIR/bytes"
	run -0 tok-show -m "$BPE" "$BATS_TEST_TMPDIR/bytes"
	tok-show -m "$BPE" "$BATS_TEST_TMPDIR/bytes" | unshow >"$BATS_TEST_TMPDIR/back"
	{ cat "$BATS_TEST_TMPDIR/bytes"; echo; } | cmp - "$BATS_TEST_TMPDIR/back"
}

@test "tok-show: invalid UTF-8 and NUL bytes through WordPiece do not break it" {
	run -0 tok-show -m "$WP" < <(printf 'and \xff\xfe and\0and')
	[[ $output == "⟦[CLS]⟧│and "* ]]
}

@test "tok-show: a 2 MB line is shown whole" {
	perl -e 'print " and" x 524288' >"$BATS_TEST_TMPDIR/long"
	run -0 tok-show --summary -m "$BPE" "$BATS_TEST_TMPDIR/long"
	[[ ${lines[1]} == *$'\t'524288$'\t'4.00$'\t'0 ]]
}

@test "tok-show: a full disk is an error" {
	[ -w /dev/full ] || skip "needs /dev/full"
	run -1 --separate-stderr bash -c "tok-show -m '$BPE' '$S/showcase.txt' >/dev/full"
	[[ $stderr == tok-show:* ]]
}

@test "tok-show | head -1 ends quietly" {
	run -0 --separate-stderr bash -o pipefail -c \
		"perl -e 'print \"and\\n\" x 200000' | tok-show -l -m '$BPE' | head -1 >/dev/null; echo \${PIPESTATUS[1]}"
	[ -z "$stderr" ]
	[[ $output == 0 || $output == 141 ]]
}

@test "tok-show: a document of 150000 tokens is shown in chunks without a seam" {
	perl -e 'print "and 12 " x 50000' >"$BATS_TEST_TMPDIR/many"
	tok-show -m "$WP" "$BATS_TEST_TMPDIR/many" | unshow >"$BATS_TEST_TMPDIR/back"
	{ cat "$BATS_TEST_TMPDIR/many"; echo; } | cmp - "$BATS_TEST_TMPDIR/back"
	# the k-th token has the (k mod 6)-th colour, across chunks too
	tok-show --color=always -m "$BPE" "$BATS_TEST_TMPDIR/many" | grep -o '48;2;[0-9;]*m' >"$BATS_TEST_TMPDIR/colours"
	run -0 awk 'BEGIN { split("102;194;165 252;141;98 141;160;203 231;138;195 166;216;84 255;217;47", p, " ") }
		$0 != "48;2;" p[(NR - 1) % 6 + 1] "m" { bad++ } END { print NR, bad + 0 }' "$BATS_TEST_TMPDIR/colours"
	[ "$output" = "150003 0" ]
}

@test "tok-show: a post-processor id outside the vocabulary is refused at load, with a message" {
	m=$BATS_TEST_TMPDIR/tokenizer.json
	{
		printf '{"post_processor":{"type":"BertProcessing","cls":["[CLS]",-7],"sep":["[SEP]",5000000]},'
		printf '"model":{"type":"WordLevel","unk_token":"u","vocab":{"u":0,"a":1}}}\n'
	} >"$m"
	run -1 --separate-stderr tok-show -i -m "$m" <<<"a"
	[ "$output" = "" ]
	[ "$stderr" = "tok-show: $m: post_processor: special token id -7 is not in the vocabulary (2 ids)" ]
}
