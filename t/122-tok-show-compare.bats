#!/usr/bin/env bats
# tok-show: comparing tokenizers: the blocks, the --summary table, and the
# real tokenizers of the textbook comparison (when $TOKEMB_DATA has them).

load helper

S=$BATS_TEST_DIRNAME/data/show
BPE=$S/tiny-bytebpe
WP=$S/tiny-wordpiece
TAB=$'\t'

unshow() {
	perl -0777 -pe 's/\xE2\x9F\xA6.*?\xE2\x9F\xA7//gs; s/\xE2\x81\x87//g;
		s/\xE2\x94\x82//g; s/<0x0A>\n/<0x0A>/g; s/<0x([0-9A-F]{2})>/chr(hex($1))/ge'
}

# Show FILE with tokenizer MODEL into OUT; return 1 (after a note) when the
# library cannot load that kind of tokenizer yet, 2 on any other failure.
show_or_skip() {
	local err
	err=$(tok-show "${@:3}" -m "$1" "$2" 2>&1 >"$BATS_TEST_TMPDIR/shown") && return 0
	[[ $err == *"not supported"* ]] && { echo "# $1: $err"; return 1; }
	echo "$1: $err"
	return 2
}

@test "tok-show with several -m: one block per tokenizer, headed by what it is" {
	run -0 tok-show -m "$WP" -m "$BPE" "$S/showcase.txt"
	[ "${lines[0]}" = "tiny-wordpiece: WordPiece, vocab 110, 55 tokens, 2 unknown" ]
	[[ $output == *$'\n\n'"tiny-bytebpe: BPE byte-level, vocab 342, 91 tokens"$'\n'* ]]
	[ "$(grep -c '^tiny-' <<<"$output")" -eq 2 ]
}

@test "tok-show --header heads a single tokenizer too" {
	run -0 tok-show --header -m "$BPE" < <(printf 'and')
	[ "${lines[0]}" = "tiny-bytebpe: BPE byte-level, vocab 342, 3 tokens" ]
	[ "${lines[1]}" = "a│n│d" ]
}

@test "tok-show --summary: a tab-separated table, one row per tokenizer" {
	run -0 tok-show --summary -m "$WP" -m "$BPE" "$S/showcase.txt"
	[ "${#lines[@]}" -eq 3 ]
	[ "${lines[0]}" = "tokenizer${TAB}algorithm${TAB}vocab${TAB}tokens${TAB}chars_per_token${TAB}unknowns" ]
	[ "${lines[1]}" = "tiny-wordpiece${TAB}WordPiece${TAB}110${TAB}55${TAB}2.89${TAB}2" ]
	[ "${lines[2]}" = "tiny-bytebpe${TAB}BPE/byte-level${TAB}342${TAB}91${TAB}1.75${TAB}0" ]
	run -0 awk -F'\t' 'NR > 1 && NF != 6 { bad = 1 } END { exit bad }' <<<"$output"
}

@test "tok-show --summary adds up every document" {
	run -0 tok-show --summary -l -m "$BPE" < <(printf 'and\n12\n')
	[ "${lines[1]}" = "tiny-bytebpe${TAB}BPE/byte-level${TAB}342${TAB}4${TAB}1.25${TAB}0" ]
	run -0 tok-show --summary -m "$BPE" < <(:)
	[ "${lines[1]}" = "tiny-bytebpe${TAB}BPE/byte-level${TAB}342${TAB}0${TAB}0.00${TAB}0" ]
}

@test "tok-show --no-special leaves out [CLS] and [SEP]" {
	run -0 tok-show --summary --no-special -m "$WP" "$S/showcase.txt"
	[[ ${lines[1]} == "tiny-wordpiece${TAB}WordPiece${TAB}110${TAB}53${TAB}"* ]]
	run -0 tok-show -m "$WP" < <(:)
	[ "$output" = "⟦[CLS]⟧│⟦[SEP]⟧" ]
}

@test "tok-show: a tokenizer that cannot be loaded is reported, the others shown, exit 1" {
	run -1 --separate-stderr tok-show --summary -m "$BPE" -m "$BATS_TEST_TMPDIR/nope.json" "$S/showcase.txt"
	[[ $stderr == *nope.json* ]]
	[ "${#lines[@]}" -eq 2 ]
	[[ ${lines[1]} == tiny-bytebpe* ]]
}

@test "tok-show on the real tokenizers: the display gives back the text exactly" {
	need_data tokenizers/gpt2
	local t n=0 rc
	for t in gpt2 gpt-4-cl100k-hf phi-3-mini bert-base-uncased \
		tiktoken/cl100k_base.tiktoken llama2/tokenizer.model \
		gguf-vocab/ggml-vocab-starcoder.gguf gguf-vocab/ggml-vocab-phi-3.gguf; do
		[ -e "$D/tokenizers/$t" ] || continue
		rc=0; show_or_skip "$D/tokenizers/$t" "$S/showcase.txt" || rc=$?
		[ "$rc" -eq 2 ] && return 1
		[ "$rc" -eq 1 ] && continue
		unshow <"$BATS_TEST_TMPDIR/shown" >"$BATS_TEST_TMPDIR/back"
		if ! { cat "$S/showcase.txt"; echo; } | cmp -s - "$BATS_TEST_TMPDIR/back"; then
			echo "$t: shown pieces do not give back the text"
			diff <({ cat "$S/showcase.txt"; echo; }) "$BATS_TEST_TMPDIR/back" || true
			return 1
		fi
		n=$((n + 1))
	done
	[ "$n" -gt 0 ]
}

@test "tok-show on t5-small (Unigram): a bare ▁ token shows as ▁, the unknown emoji after ⁇" {
	need_data tokenizers/t5-small
	local rc=0
	printf '🎵 elif' >"$BATS_TEST_TMPDIR/in"
	show_or_skip "$D/tokenizers/t5-small" "$BATS_TEST_TMPDIR/in" || rc=$?
	[ "$rc" -eq 1 ] && skip "t5-small: not supported yet"
	[ "$rc" -eq 0 ]
	[ "$(cat "$BATS_TEST_TMPDIR/shown")" = "▁│⁇🎵 ▁│e│l│if│⟦</s>⟧" ]
}

# The textbook's sample text and each tokenizer's pieces
# (reference/hands-on-llm-ch2): tok-show's pieces are the textbook's, where a
# piece is a whole character (the textbook prints U+FFFD for a part of one,
# tok-show <0xHH> for each byte).
textbook() {
	local model=$1 key=$2 json=$D/reference/hands-on-llm-ch2/expected_outputs.json
	need_data reference/hands-on-llm-ch2/expected_outputs.json "tokenizers/$model"
	local rc=0
	perl -MJSON::PP -0777 -ne 'print decode_json($_)->{sample_text}' "$json" \
		>"$BATS_TEST_TMPDIR/sample"
	show_or_skip "$D/tokenizers/$model" "$BATS_TEST_TMPDIR/sample" --sep $'\x01' || rc=$?
	[ "$rc" -eq 1 ] && skip "$model: not supported yet"
	[ "$rc" -eq 0 ]
	perl -MJSON::PP -e '
		local $/;
		open my $j, "<", $ARGV[0] or die; my $want = decode_json(<$j>)->{tokens}{$ARGV[1]};
		open my $g, "<:raw", $ARGV[2] or die; my $got = <$g>; chop $got;
		my @got = split /\x01/, $got, -1;
		@got == @$want or die "pieces: " . scalar(@got) . ", textbook: " . scalar(@$want) . "\n";
		for my $i (0 .. $#got) {
			my $w = $want->[$i]; utf8::encode($w);
			my $pat = join "(?:<0x[0-9A-F]{2}>)+", map { quotemeta } split /\xEF\xBF\xBD/, $w, -1;
			$got[$i] =~ /\A$pat\z/ or $got[$i] eq "\xE2\x9F\xA6$w\xE2\x9F\xA7"
				or die "piece $i: [$got[$i]], textbook [$w]\n";
		}' "$json" "$key" "$BATS_TEST_TMPDIR/shown"
}

@test "tok-show gpt2 on the textbook text: the textbook's 55 pieces" {
	textbook gpt2 gpt2
}

@test "tok-show GPT-4 (cl100k) on the textbook text: the textbook's 41 pieces" {
	textbook gpt-4-cl100k-hf Xenova/gpt-4
}

@test "tok-show StarCoder2 (GGUF vocab) on the textbook text: the textbook's 47 pieces" {
	textbook gguf-vocab/ggml-vocab-starcoder.gguf bigcode/starcoder2-15b
}

@test "tok-show comparing on several files says which file each block is" {
	printf 'and' >"$BATS_TEST_TMPDIR/a"
	printf '12' >"$BATS_TEST_TMPDIR/b"
	run -0 tok-show -m "$BPE" -m "$WP" "$BATS_TEST_TMPDIR/a" "$BATS_TEST_TMPDIR/b"
	[ "${lines[0]}" = "==> $BATS_TEST_TMPDIR/a <==" ]
	[ "${lines[5]}" = "==> $BATS_TEST_TMPDIR/b <==" ]
	[ "${lines[6]}" = "tiny-bytebpe: BPE byte-level, vocab 342, 1 token" ]
	[ "${lines[7]}" = "12" ]
}
