#!/usr/bin/env bats
# Every recipe tok-train writes is a tokenizer.json that Hugging Face
# tokenizers loads, encodes with and decodes back to the text.

load helper

: "${NODE_PATH:=/opt/tokemb-peers/npm/node_modules}"
export NODE_PATH

need_hf() {
	need_cmd node
	node -e 'require("tokenizers")' 2>/dev/null || skip "needs the npm tokenizers package (NODE_PATH)"
}

# encode then decode a sentence with HF; print tokens, then the decoded text
roundtrip() {
	node -e '
	const t = require("tokenizers");
	(async () => {
		const tok = t.Tokenizer.fromFile(process.argv[1]);
		const e = await tok.encode(process.argv[2]);
		console.log(e.getTokens().join(" "));
		console.log(await tok.decode(e.getIds(), true));
	})().catch((e) => { console.error(String(e)); process.exit(1); });
	' "$1" "$2"
}

S='The trainer counts words, then merges pairs.'

@test "tok-train --preset gpt2: HF loads it and decodes to the same text" {
	need_hf
	tok-train -q -p gpt2 --vocab-size 600 -o "$BATS_TEST_TMPDIR/t.json" "$T/tok-train/prose.txt"
	run -0 roundtrip "$BATS_TEST_TMPDIR/t.json" "$S 😀"
	[ "${lines[1]}" = "$S 😀" ]
	[[ ${lines[0]} == *"Ġtrain"* ]]
}

@test "tok-train --preset bert: [CLS] ... [SEP], lower-cased, ## pieces" {
	need_hf
	tok-train -q -p bert --vocab-size 400 -o "$BATS_TEST_TMPDIR/t.json" "$T/tok-train/prose.txt"
	run -0 roundtrip "$BATS_TEST_TMPDIR/t.json" "$S"
	[[ ${lines[0]} == "[CLS] the "*" [SEP]" ]]
	[[ ${lines[0]} == *"##"* ]]
	[ "${lines[1]}" = "the trainer counts words, then merges pairs." ]
}

@test "tok-train --preset sentencepiece: a Unigram HF decodes back" {
	need_hf
	tok-train -q -p sentencepiece --vocab-size 300 -o "$BATS_TEST_TMPDIR/t.json" "$T/tok-train/prose.txt"
	run -0 roundtrip "$BATS_TEST_TMPDIR/t.json" "$S"
	[[ ${lines[0]} == "▁T"*"▁words"* ]]
	[ "${lines[1]}" = "$S" ]
}

@test "tok-train --preset byte-fallback: unseen characters become bytes and come back" {
	need_hf
	tok-train -q -p byte-fallback --vocab-size 500 -o "$BATS_TEST_TMPDIR/t.json" "$T/tok-train/prose.txt"
	run -0 roundtrip "$BATS_TEST_TMPDIR/t.json" "$S Zoë ☃"
	[[ ${lines[0]} == *"<0xE2>"* ]]
	[ "${lines[1]}" = "$S Zoë ☃" ]
}

@test "tok-train --algorithm bpe and --algorithm unigram on code: HF round trip" {
	need_hf
	for m in bpe unigram wordpiece; do
		tok-train -q --algorithm $m --vocab-size 400 -o "$BATS_TEST_TMPDIR/$m.json" "$T/tok-train/code.txt"
	done
	run -0 roundtrip "$BATS_TEST_TMPDIR/bpe.json" 'static int main(void)'
	[ "${lines[1]}" = 'static int main(void)' ]
	run -0 roundtrip "$BATS_TEST_TMPDIR/unigram.json" 'static int main(void)'
	[ "${lines[1]}" = 'static int main(void)' ]
	run -0 roundtrip "$BATS_TEST_TMPDIR/wordpiece.json" 'static int main'
	[ "${lines[1]}" = 'static int main' ]
}
