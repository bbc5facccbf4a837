#!/usr/bin/env bats
# tok-encode's memory on one long document: ids in at most about 12 bytes
# a byte of input beyond the model's own footprint, counts in well under
# that (no ids are kept), checked under ulimit -v; and the counts, the ids
# and the spans of the modes that keep less are the ones of the full
# encoding.

load helper

N=15000000	# bytes; 15 MB: buffers that double stay under 16 MB

# One line of N bytes of prose-like text: words of 1 to 9 letters, some
# capitalised, digits and punctuation, deterministic.
setup_file() {
	awk -v n="$N" 'BEGIN {
		split("the of and to in is was for on that with as by at from his it an were are which this be or",
		    w, " ")
		x = 12345
		while (len < n) {
			x = (x * 1103515245 + 12345) % 2147483648
			r = int(x / 65536)
			if (r % 7 == 0) {
				s = ""
				for (k = 0; k < 1 + r % 9; k++)
					s = s sprintf("%c", 97 + (r * (k + 3)) % 26)
				if (r % 5 == 0)
					s = toupper(substr(s, 1, 1)) substr(s, 2)
			} else if (r % 13 == 0) {
				s = (r % 1000) ","
			} else {
				s = w[1 + r % 22]
			}
			if (r % 11 == 0)
				s = s "."
			line = line s " "
			if (length(line) > 65536) {
				printf "%s", line
				len += length(line)
				line = ""
			}
		}
		printf "%s", line
	}' | head -c "$N" >"$BATS_FILE_TMPDIR/doc"
	echo >>"$BATS_FILE_TMPDIR/doc"
	echo "hello" >"$BATS_FILE_TMPDIR/tiny"
	# long runs without whitespace, N bytes each: one ASCII letter, one
	# CJK character, one 4-byte emoji, base64-like text (deterministic)
	head -c "$N" /dev/zero | tr '\0' a >"$BATS_FILE_TMPDIR/run-a"
	yes '中' | head -n $((N / 3)) | tr -d '\n' >"$BATS_FILE_TMPDIR/run-cjk"
	yes '😀' | head -n $((N / 4)) | tr -d '\n' >"$BATS_FILE_TMPDIR/run-emoji"
	awk -v n="$N" 'BEGIN {
		a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
		x = 4321
		for (i = 0; i < n; i += 4096) {
			s = ""
			for (k = 0; k < 4096 && i + k < n; k++) {
				x = (x * 1103515245 + 12345) % 2147483648
				s = s substr(a, 1 + int(x / 65536) % 64, 1)
			}
			printf "%s", s
		}
	}' >"$BATS_FILE_TMPDIR/run-b64"
	for f in run-a run-cjk run-emoji run-b64; do
		echo >>"$BATS_FILE_TMPDIR/$f"
	done
}

# The least ulimit -v (KB, to 1 MB) under which tok-encode MODEL encodes
# a one-word document: the program's and the model's own footprint.
floor_kb() {
	local lo=1000 hi=4000000 mid
	tok-encode -m "$1" --threads 1 "$BATS_FILE_TMPDIR/tiny" >/dev/null	# the cache
	while [ $((hi - lo)) -gt 1024 ]; do
		mid=$(((lo + hi) / 2))
		if bash -c 'ulimit -v "$1" && tok-encode -m "$2" --threads 1 "$3"' - "$mid" "$1" \
		    "$BATS_FILE_TMPDIR/tiny" >/dev/null 2>&1; then
			hi=$mid
		else
			lo=$mid
		fi
	done
	echo "$hi"
}

# Model [K [KIDS]]: the document's ids in floor + KIDS N (12 unless
# given), its count in floor + KN (8 unless given), both alike (1 MB of
# slack for the floor's measure).
within() {
	local m=$D/tokenizers/$1 k=${2:-8} kids=${3:-12} base ids cnt
	[ -z "${TOKEMB_SAN:-}" ] ||
		skip "ulimit -v: the sanitizers reserve terabytes of address space"
	need_data "tokenizers/$1"
	base=$(floor_kb "$m")
	run -0 --separate-stderr bash -c 'ulimit -v "$1" && tok-encode -m "$2" --threads 1 "$3"' - \
	    $((base + kids * N / 1024 + 1024)) "$m" "$BATS_FILE_TMPDIR/doc"
	ids=$(wc -w <<<"$output")
	run -0 --separate-stderr bash -c 'ulimit -v "$1" && tok-encode -m "$2" --threads 1 --count-docs "$3"' - \
	    $((base + k * N / 1024 + 1024)) "$m" "$BATS_FILE_TMPDIR/doc"
	cnt=$output
	[ "$ids" -gt $((N / 8)) ]
	[ "$cnt" -eq "$ids" ]
}

# Model KIDS KCNT FILE...: each long run FILE's ids in floor + KIDS N, its
# count in floor + KCNT N, both alike.
run_within() {
	local m=$D/tokenizers/$1 kids=$2 kcnt=$3 base ids cnt f
	[ -z "${TOKEMB_SAN:-}" ] ||
		skip "ulimit -v: the sanitizers reserve terabytes of address space"
	need_data "tokenizers/$1"
	shift 3
	base=$(floor_kb "$m")
	for f in "$@"; do
		run -0 --separate-stderr bash -c 'ulimit -v "$1" && tok-encode -m "$2" --threads 1 "$3"' - \
		    $((base + kids * N / 1024 + 1024)) "$m" "$BATS_FILE_TMPDIR/$f"
		ids=$(wc -w <<<"$output")
		run -0 --separate-stderr bash -c 'ulimit -v "$1" && tok-encode -m "$2" --threads 1 --count-docs "$3"' - \
		    $((base + kcnt * N / 1024 + 1024)) "$m" "$BATS_FILE_TMPDIR/$f"
		cnt=$output
		[ "$ids" -gt 0 ]
		[ "$cnt" -eq "$ids" ]
	done
}

# Unigram keeps a byte a byte of the text (the length of the best piece
# ending there) and hands the tokens of a long piece straight to the
# encoding.  t5 knows no CJK character or emoji: the run is one unknown
# token.  A long run of "a" or base64 is about a token a byte: its ids (4
# bytes each) and tok-encode's text of them are what it costs.
@test "tok-encode: a 15 MB run of one CJK character, of one emoji in 12N (ids), 8N (--count-docs) beyond the model: Unigram (t5)" {
	run_within t5-small/tokenizer.json 12 8 run-cjk run-emoji
}

@test "tok-encode: a 15 MB run of 'a', of base64 in 24N (ids), 8N (--count-docs) beyond the model: Unigram (t5)" {
	run_within t5-small/tokenizer.json 24 8 run-a run-b64
}

@test "tok-encode: one 15 MB line in 12N (ids), 8N (--count-docs) beyond the model: byte-level BPE (gpt2)" {
	within gpt2/tokenizer.json
}

# Byte-level BPE takes a long word by backtracking (bpe_bt.c): it keeps
# the word's tokens (an id and a span, 12 bytes each, in room that grows by
# half) and a bit a byte.  A run of 'a' is a token in 4 to 8 bytes, of one
# CJK character one in 3; one of an emoji is two tokens in 4 bytes, more
# than 12N in all (its ids' room alone is some 6N to 9N).
@test "tok-encode: a 15 MB run of 'a', of one CJK character in 12N (ids and --count-docs) beyond the model: byte-level BPE (gpt2)" {
	run_within gpt2/tokenizer.json 12 12 run-a run-cjk
}

@test "tok-encode: a 15 MB run of one emoji in 16N (ids and --count-docs) beyond the model: byte-level BPE (gpt2)" {
	run_within gpt2/tokenizer.json 16 16 run-emoji
}

@test "tok-encode: a 15 MB run of 'a' in 12N (ids and --count-docs) beyond the model: Llama 3, Qwen3" {
	run_within llama3/tokenizer.json 12 12 run-a
	run_within qwen3/tokenizer.json 12 12 run-a
}

@test "tok-encode: a 15 MB run of 'a', of base64 in 12N (ids and --count-docs) beyond the model: cl100k" {
	run_within tiktoken/cl100k_base.tiktoken 12 12 run-a run-b64
}

# phi-3's pre-tokenizer does not split: the document is one word, cut
# before its words' markers (no merge crosses one) and merged a part at a
# time; its tokens are written a block at a time as its parts are proven
# firm (a document of 4 MB or more: tok_batch.c doc_sink).
@test "tok-encode: one 15 MB line in 20N (ids), 16N (--count-docs) beyond the model: SentencePiece-style BPE (phi-3)" {
	within phi-3-mini/tokenizer.json 16 20
}

@test "tok-encode: one 15 MB line in 12N (ids), 8N (--count-docs) beyond the model: BERT normalizer, WordPiece" {
	within bert-base-uncased/tokenizer.json
}

@test "tok-encode: one 15 MB line in 12N (ids), 8N (--count-docs) beyond the model: Precompiled, Unigram (t5)" {
	within t5-small/tokenizer.json
}

# a SentencePiece .model normalizes the whole text at once; its pieces go
# to the ids (or are counted) a segment at a time
@test "tok-encode: one 15 MB line in 12N (ids), 8N (--count-docs) beyond the model: SentencePiece .model (llama2)" {
	within llama2/tokenizer.model
}

@test "tok-encode: counts of a document of more ids than are kept at once are its ids' count, truncated alike" {
	need_data tokenizers/bert-base-uncased/tokenizer.json
	local m=$D/tokenizers/bert-base-uncased/tokenizer.json f=$BATS_TEST_TMPDIR/d ids
	head -c 800000 "$BATS_FILE_TMPDIR/doc" >"$f"
	echo >>"$f"
	ids=$(tok-encode -m "$m" "$f" | wc -w)
	[ "$ids" -gt 100000 ]
	run -0 tok-encode -m "$m" --count-docs "$f"
	[ "$output" -eq "$ids" ]
	run -0 tok-encode -m "$m" --total "$f"
	[ "$output" -eq "$ids" ]
	# truncated: the first 69999 ids and [SEP]
	run -0 tok-encode -m "$m" --max-tokens 70000 --count-docs "$f"
	[ "$output" -eq 70000 ]
	run -0 tok-encode -m "$m" --max-tokens 70000 "$f"
	[ "$(wc -w <<<"$output")" -eq 70000 ]
	[ "${output##* }" = 102 ]
}

@test "tok-encode: ids kept without spans (in windows) are the ids kept with them" {
	need_data tokenizers/llama2/tokenizer.model tokenizers/t5-small/tokenizer.json \
	    tokenizers/bert-base-uncased/tokenizer.json
	local d=$BATS_TEST_TMPDIR/d m
	run -0 tok-encode -m "$D/tokenizers/llama2/tokenizer.model" --no-special --offsets <<<'Hello world'
	[ "$output" = "0:5 5:11" ]
	# 300 KB: windows of 64 KB
	head -c 300000 "$BATS_FILE_TMPDIR/doc" >"$d"
	echo >>"$d"
	for m in llama2/tokenizer.model t5-small/tokenizer.json bert-base-uncased/tokenizer.json; do
		# plain ids keep no spans; --chunk keeps them
		tok-encode -m "$D/tokenizers/$m" --no-special "$d" >"$d.ids"
		tok-encode -m "$D/tokenizers/$m" --chunk 1000000000 --ids "$d" | head -1 >"$d.chunk"
		[ "$(wc -w <"$d.ids")" -gt 50000 ]
		cmp "$d.ids" "$d.chunk"
	done
}

# Model K FILE...: each FILE's spans (--offsets, offsets_within) and its
# chunks (--chunk 512) in floor + K N, the chunks rejoining to the text.
spans_within() {
	local m=$D/tokenizers/$1 k=$2 base f
	offsets_within "$@"
	shift 2
	base=$(floor_kb "$m")
	for f in "$@"; do
		f=$BATS_FILE_TMPDIR/$f
		run -0 --separate-stderr bash -c 'set -o pipefail; ulimit -v "$1" &&
		    tok-encode -m "$2" --threads 1 --chunk 512 "$3" | tr -d "\n" | wc -c' - \
		    $((base + k * N / 1024 + 1024)) "$m" "$f"
		[ "$output" -eq $(($(wc -c <"$f") - 1)) ]
	done
}

# With spans, a normalized text keeps its alignment to the input (runs,
# tk_amap) only where a normalizer or pre-tokenizer moved its bytes: none
# on lowercase ASCII through BERT's normalizer.  Each token keeps 20 bytes (id and span) and
# --offsets' record about 16 more.
@test "tok-encode: one 15 MB line and a 15 MB run of 'a', --offsets and --chunk in 24N beyond the model: BERT normalizer, WordPiece" {
	spans_within bert-base-uncased/tokenizer.json 24 doc run-a
}

# Metaspace gives every word a "▁": a run of alignment each
@test "tok-encode: one 15 MB line, --offsets and --chunk in 40N beyond the model: Precompiled, Unigram (t5)" {
	spans_within t5-small/tokenizer.json 40 doc
}

# The BERT normalizer rewrites an ASCII text in place when no spans are
# kept: a long run costs its pieces and ids, not copies of the text.
@test "tok-encode: a 15 MB run of 'a', of one CJK character, of base64 in 12N (ids), 8N (--count-docs) beyond the model: BERT normalizer, WordPiece" {
	run_within bert-base-uncased/tokenizer.json 12 8 run-a run-cjk run-b64
}

# A SentencePiece .model merges a long run without whitespace in about 4
# bytes a byte (spm.c's bpe_long) beside the normalized text, and hands
# its tokens straight to the encoding once the merges are done (its
# scratch let go of first); the ids are what the rest costs: a run of
# base64 is some 0.8 ids a byte, one of an emoji 4 byte pieces in 4 bytes.
@test "tok-encode: a 15 MB run of 'a', of one CJK character, of base64 in 12N (ids), 8N (--count-docs) beyond the model: SentencePiece .model (llama2)" {
	run_within llama2/tokenizer.model 12 8 run-a run-cjk run-b64
}

@test "tok-encode: a 15 MB run of one emoji in 13N (ids), 8N (--count-docs) beyond the model: SentencePiece .model (llama2)" {
	run_within llama2/tokenizer.model 13 8 run-emoji
}

# A word of SentencePiece-style BPE that no marker cuts (a run of one
# letter, base64, an emoji's fallback bytes; gemma3's text, whose merges
# join words) is merged a part at a time, cut where no merge can cross
# (bpe.c): its scratch is a part's.  Its tokens, an id and a span each,
# are written a block at a time once firm (the part before the last one
# merged: bpe.c cut_tail); a run of 'a' is a token in 4 to 8 bytes, base64
# about one a byte, an emoji four.
@test "tok-encode: a 15 MB run of 'a', of one emoji in 12N (ids and --count-docs) beyond the model: SentencePiece-style BPE (phi-3, gemma3)" {
	run_within phi-3-mini/tokenizer.json 12 12 run-a
	run_within gemma3/tokenizer.json 12 12 run-a run-emoji
}

@test "tok-encode: a 15 MB run of base64, of one emoji's bytes in 36N (ids and --count-docs) beyond the model: SentencePiece-style BPE (phi-3, gemma3)" {
	run_within phi-3-mini/tokenizer.json 36 36 run-b64 run-emoji
	run_within gemma3/tokenizer.json 36 36 run-b64
}

@test "tok-encode: one 15 MB line in 20N (ids and --count-docs) beyond the model: SentencePiece-style BPE whose merges join words (gemma3)" {
	within gemma3/tokenizer.json 20 20
}

# A long word's tokens go to the encoding as its parts are proven final
# (bpe.c hands them on), and the scratch of its tokens is let go of before
# the record is written: an emoji's two byte-level tokens in 4 bytes, or a
# byte-fallback token a byte, cost their ids and their text, no more.
@test "tok-encode: a 15 MB run of one emoji in 12N (ids and --count-docs) beyond the model: byte-level BPE (gpt2, cl100k, Llama 3)" {
	run_within gpt2/tokenizer.json 12 12 run-emoji
	run_within tiktoken/cl100k_base.tiktoken 12 12 run-emoji
	run_within llama3/tokenizer.json 12 12 run-emoji
}

# About a token a byte: its resident ids and text are some 10N, but the
# room they grow by half in is what ulimit -v counts.
@test "tok-encode: a 15 MB run of base64, of one emoji in 20N (ids and --count-docs) beyond the model: SentencePiece-style BPE (phi-3, gemma3)" {
	run_within phi-3-mini/tokenizer.json 20 20 run-b64 run-emoji
	run_within gemma3/tokenizer.json 20 20 run-b64
}

@test "tok-encode: one 15 MB line in 12N (ids and --count-docs) beyond the model: SentencePiece-style BPE (phi-3, gemma3)" {
	within phi-3-mini/tokenizer.json 12 12
	within gemma3/tokenizer.json 12 12
}

# Model K FILE...: each FILE's spans (--offsets) in floor + K N, as many
# as its ids.  A long document's spans are kept packed, a byte a token
# mostly, and written as text a piece at a time (tok_fmt.c): what is held
# is the encoding's 12 bytes a token, and the alignment of a normalized
# text.
offsets_within() {
	local m=$D/tokenizers/$1 k=$2 base f
	[ -z "${TOKEMB_SAN:-}" ] ||
		skip "ulimit -v: the sanitizers reserve terabytes of address space"
	need_data "tokenizers/$1"
	shift 2
	base=$(floor_kb "$m")
	for f in "$@"; do
		f=$BATS_FILE_TMPDIR/$f
		run -0 --separate-stderr bash -c 'set -o pipefail; ulimit -v "$1" &&
		    tok-encode -m "$2" --threads 1 --offsets "$3" | wc -w' - \
		    $((base + k * N / 1024 + 1024)) "$m" "$f"
		[ "$output" -gt 0 ]
		[ "$output" -eq "$(tok-encode -m "$m" --threads 1 --count-docs "$f")" ]
	done
}

@test "tok-encode --offsets: one 15 MB line, a 15 MB run of 'a', of one CJK character in 12N beyond the model: byte-level BPE (gpt2, cl100k, Llama 3, Qwen3)" {
	offsets_within gpt2/tokenizer.json 12 doc run-a run-cjk
	offsets_within tiktoken/cl100k_base.tiktoken 12 doc run-a run-cjk
	offsets_within llama3/tokenizer.json 12 doc run-a run-cjk
	offsets_within qwen3/tokenizer.json 12 doc run-a run-cjk
}

@test "tok-encode --offsets: a 15 MB run of base64 in 16N beyond the model: byte-level BPE (gpt2, cl100k, Llama 3, Qwen3)" {
	offsets_within gpt2/tokenizer.json 16 run-b64
	offsets_within tiktoken/cl100k_base.tiktoken 16 run-b64
	offsets_within llama3/tokenizer.json 16 run-b64
	offsets_within qwen3/tokenizer.json 16 run-b64
}

@test "tok-encode --offsets: a 15 MB run of one emoji in 12N beyond the model: Qwen3, gemma3" {
	offsets_within qwen3/tokenizer.json 12 run-emoji
	offsets_within gemma3/tokenizer.json 12 run-emoji
}

@test "tok-encode --offsets: a 15 MB run of 'a', of one CJK character in 12N beyond the model: SentencePiece-style BPE (gemma3), BERT normalizer and WordPiece" {
	offsets_within gemma3/tokenizer.json 12 run-a run-cjk
	offsets_within bert-base-uncased/tokenizer.json 12 run-a
}

# A normalized text keeps its alignment to the input as runs (tk_amap), 10
# bytes each: a space made "▁" and the word after it, a run of characters
# each their own, a U+FFFD and the bytes after it are a run each, and so
# is a run of CJK characters X that BertNormalizer makes " X " each.  What
# is held is then the encoding's 12 bytes a token, the text and its
# normalized copy; on a line of short words, a run a word and the
# pre-tokenizer's pieces (16 bytes each, BERT, T5) come on top.
@test "tok-encode --offsets: one 15 MB line, a 15 MB run of 'a', of one CJK character, of one emoji in 12N beyond the model: Prepend and Replace (phi-3), SentencePiece .model (llama2), Precompiled and Unigram (t5), BERT normalizer" {
	offsets_within phi-3-mini/tokenizer.json 12 doc run-a run-cjk
	offsets_within llama2/tokenizer.model 12 doc run-a run-cjk
	offsets_within t5-small/tokenizer.json 12 run-cjk run-emoji
	offsets_within bert-base-uncased/tokenizer.json 12 run-emoji
}

@test "tok-encode --offsets: one 15 MB line in 14N (gemma3), 16N (BERT; a run of one CJK character too), 18N (t5) beyond the model" {
	offsets_within gemma3/tokenizer.json 14 doc
	offsets_within bert-base-uncased/tokenizer.json 16 doc run-cjk
	offsets_within t5-small/tokenizer.json 18 doc
}

# A SentencePiece .model's tokens go straight to the encoding: a run of
# base64 (some 0.8 tokens a byte) or of an emoji's fallback bytes (a token
# a byte) costs their ids and spans, the room they grow by half in, the
# normalized text and its alignment.
# A tokenizer.json's byte fallback tokens of one character share its span:
# packed, each after the first a byte (PACK_SAME in tok_fmt.c), not 17.
# (Peak RSS some 15N; ulimit -v counts the room the encoding grows in.)
@test "tok-encode --offsets: a 15 MB run of one emoji in 22N of address space beyond the model: byte fallback (phi-3)" {
	offsets_within phi-3-mini/tokenizer.json 22 run-emoji
}

@test "tok-encode --offsets: a 15 MB run of base64 in 17N, of one emoji in 24N beyond the model: SentencePiece .model (llama2)" {
	offsets_within llama2/tokenizer.model 17 run-b64
	offsets_within llama2/tokenizer.model 24 run-emoji
}

# A long document's spans are kept packed (tok_fmt.c): more than 65536
# tokens.  Its first spans are those of a short document cut from its
# start at a space (the last one's token may differ), and it has as many
# as it has ids.
@test "tok-encode --offsets: a long document's spans, kept packed, are those of the same text as a short document" {
	need_data tokenizers/gpt2/tokenizer.json tokenizers/bert-base-uncased/tokenizer.json
	local d=$BATS_TEST_TMPDIR/d p=$BATS_TEST_TMPDIR/p m long short n
	head -c 400000 "$BATS_FILE_TMPDIR/doc" >"$d"
	echo >>"$d"
	head -c 3000 "$d" | sed 's/ [^ ]*$//' >"$p"
	for m in gpt2/tokenizer.json bert-base-uncased/tokenizer.json; do
		long=$(tok-encode -m "$D/tokenizers/$m" --threads 1 --no-special --offsets "$d")
		short=$(tok-encode -m "$D/tokenizers/$m" --threads 1 --no-special --offsets "$p")
		n=$(wc -w <<<"$short")
		[ "$(wc -w <<<"$long")" -gt 65536 ]
		[ "$(wc -w <<<"$long")" -eq "$(tok-encode -m "$D/tokenizers/$m" --threads 1 --no-special --count-docs "$d")" ]
		[ "$(tr ' ' '\n' <<<"$long" | head -n $((n - 1)))" = "$(tr ' ' '\n' <<<"$short" | head -n $((n - 1)))" ]
	done
}

# Byte fallback's tokens of one character share its span (widened): in a
# packed long document each after the first is a byte too, the same span
# again.
@test "tok-encode --offsets: a long document of emoji, byte fallback, packed, has the spans of a short one" {
	need_data tokenizers/phi-3-mini/tokenizer.json
	local d=$BATS_TEST_TMPDIR/d p=$BATS_TEST_TMPDIR/p m=$D/tokenizers/phi-3-mini long short n
	awk 'BEGIN { for (i = 0; i < 12000; i++) printf "w%d \360\237\244\226\360\237\230\200 \303\251 ", i % 7; print "" }' >"$d"
	awk 'BEGIN { for (i = 0; i < 50; i++) printf "w%d \360\237\244\226\360\237\230\200 \303\251 ", i % 7; print "" }' >"$p"
	long=$(tok-encode -m "$m" --threads 1 --no-special --offsets "$d")
	short=$(tok-encode -m "$m" --threads 1 --no-special --offsets "$p")
	n=$(wc -w <<<"$short")
	[ "$(wc -w <<<"$long")" -gt 65536 ]
	[[ $short == *" 3:7 3:7 3:7 3:7 "* ]]
	[ "$(tr ' ' '\n' <<<"$long" | head -n $((n - 1)))" = "$(tr ' ' '\n' <<<"$short" | head -n $((n - 1)))" ]
	[ "$(tr ' ' '\n' <<<"$long" | tail -n 3 | tr '\n' ' ')" = "$(tr ' ' '\n' <<<"$short" | tail -n 3 | awk -v k=$((11950 * 15)) -F: '{ printf "%d:%d ", $1 + k, $2 + k }')" ]
}

# A document of 4 MB or more (no truncation, limits or prompt) is written
# as it is encoded (tok_batch.c doc_sink): its final tokens are formatted
# and written a block at a time, so neither its tokens (12 bytes each, a
# token a byte for an emoji's fallback bytes or base64) nor its record are
# held whole.  Before, these took 16N to 21N of address space.
@test "tok-encode --offsets: one 15 MB line written as it is encoded in 8N beyond the model: a run of one emoji (phi-3, llama2), of base64 (gemma3), of 'a' (t5), prose (phi-3)" {
	offsets_within phi-3-mini/tokenizer.json 8 run-emoji doc
	offsets_within gemma3/tokenizer.json 8 run-b64
	offsets_within llama2/tokenizer.model 8 run-emoji
	offsets_within t5-small/tokenizer.json 8 run-a
}

# What is written as it is encoded is the record the whole encoding makes
# (--max-tokens, however large, keeps the whole encoding): ids, tokens and
# spans, across added and special tokens, invalid UTF-8, NUL and CR, on
# one thread and two, from a file and from a pipe.
@test "tok-encode: a document written as it is encoded is the record of its whole encoding" {
	need_data tokenizers/phi-3-mini/tokenizer.json tokenizers/gemma3/tokenizer.json \
	    tokenizers/llama2/tokenizer.model tokenizers/t5-small/tokenizer.json \
	    tokenizers/bert-base-uncased/tokenizer.json tokenizers/gpt2/tokenizer.json
	local d=$BATS_TEST_TMPDIR/d m fl
	{
		head -c 2000000 "$BATS_FILE_TMPDIR/doc"
		printf ' <s> [CLS] <|endoftext|> \377\303( \000 x\r\ny '
		head -c 1500000 "$BATS_FILE_TMPDIR/run-emoji"
		printf ' <unk> </s> '
		head -c 1500000 "$BATS_FILE_TMPDIR/run-b64"
		echo
		echo "a short line <s>"
	} >"$d"
	for m in phi-3-mini/tokenizer.json gemma3/tokenizer.json llama2/tokenizer.model \
	    t5-small/tokenizer.json bert-base-uncased/tokenizer.json gpt2/tokenizer.json; do
		for fl in --offsets --tokens --no-special; do
			tok-encode -m "$D/tokenizers/$m" --threads 1 --max-tokens 1000000000 "$fl" "$d" \
			    >"$d.whole" 2>"$d.whole-err"
			[ "$(wc -c <"$d.whole")" -gt 3000000 ]
			tok-encode -m "$D/tokenizers/$m" --threads 1 "$fl" "$d" >"$d.out" 2>"$d.err"
			cmp "$d.whole" "$d.out"
			cmp "$d.whole-err" "$d.err"
			tok-encode -m "$D/tokenizers/$m" --threads 2 "$fl" "$d" 2>/dev/null | cmp "$d.whole" -
			tok-encode -m "$D/tokenizers/$m" --threads 1 "$fl" - <"$d" 2>/dev/null | cmp "$d.whole" -
		done
		run -0 --separate-stderr tok-encode -m "$D/tokenizers/$m" --total "$d"
		[ "$output" -eq "$(tok-encode -m "$D/tokenizers/$m" --count-docs "$d" 2>/dev/null | awk '{ n += $1 } END { print n }')" ]
	done
}

# --chunk on a document written as it is encoded: each chunk is written once
# the tokens after it decide its end (tok_batch.c sink_chunks), so the
# pending tokens are a chunk and a block at most.  Its chunks' ids rejoin
# to its ids, their texts to the document, none holds more than N ids; a
# 15 MB run of one emoji (a token a byte) in 8N.
@test "tok-encode --chunk: a document written as it is encoded: chunks rejoin to its ids and its text, each of N ids at most, in 8N beyond the model" {
	need_data tokenizers/phi-3-mini/tokenizer.json tokenizers/llama2/tokenizer.model \
	    tokenizers/gpt2/tokenizer.json tokenizers/bert-base-uncased/tokenizer.json
	local d=$BATS_TEST_TMPDIR/d m base
	{
		head -c 2000000 "$BATS_FILE_TMPDIR/doc"
		printf ' \377\303( \000 x\r y '
		head -c 1500000 "$BATS_FILE_TMPDIR/run-emoji"
		head -c 1500000 "$BATS_FILE_TMPDIR/run-b64"
		echo
		echo "a short line"
	} >"$d"
	for m in phi-3-mini/tokenizer.json llama2/tokenizer.model gpt2/tokenizer.json \
	    bert-base-uncased/tokenizer.json; do
		tok-encode -m "$D/tokenizers/$m" --threads 1 --no-special "$d" 2>/dev/null | head -n 1 >"$d.ids"
		tok-encode -m "$D/tokenizers/$m" --threads 1 --chunk 50 --ids "$d" 2>/dev/null >"$d.chunks"
		[ "$(awk 'NF > 50' "$d.chunks" | wc -l)" -eq 0 ]
		[ "$(awk '!NF { exit } { print NR }' "$d.chunks" | tail -n 1)" -gt 1000 ]
		awk '!NF { exit } { printf "%s%s", s, $0; s = " " } END { print "" }' "$d.chunks" | cmp "$d.ids" -
		tok-encode -m "$D/tokenizers/$m" --threads 1 --chunk 50 "$d" 2>/dev/null | tr -d '\n' |
		    cmp <(tr -d '\n' <"$d") -
	done
	[ -z "${TOKEMB_SAN:-}" ] || return 0	# ulimit -v: see run_within
	for m in phi-3-mini/tokenizer.json llama2/tokenizer.model; do
		base=$(floor_kb "$D/tokenizers/$m")
		run -0 --separate-stderr bash -c 'set -o pipefail; ulimit -v "$1" &&
		    tok-encode -m "$2" --threads 1 --chunk 512 --overlap 64 "$3" | wc -l' - \
		    $((base + 8 * N / 1024 + 1024)) "$D/tokenizers/$m" "$BATS_FILE_TMPDIR/run-emoji"
		[ "$output" -gt 1000 ]
	done
}
