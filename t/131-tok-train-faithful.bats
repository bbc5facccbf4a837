#!/usr/bin/env bats
# tok-train against the reference trainer, Hugging Face tokenizers (npm
# binding, whose Tokenizer.train uses the default trainers): BPE merges
# equal, in order; WordPiece and Unigram compression within 1%.

load helper

: "${NODE_PATH:=/opt/tokemb-peers/npm/node_modules}"
export NODE_PATH
B=$BATS_TEST_DIRNAME/../bench

need_hf() {
	need_cmd node
	node -e 'require("tokenizers")' 2>/dev/null || skip "needs the npm tokenizers package (NODE_PATH)"
}

setup_file() {
	if [ -e "$TOKEMB_DATA/corpora/lee_background.cor" ]; then
		tr '\n' ' ' <"$TOKEMB_DATA/corpora/lee_background.cor" >"$BATS_FILE_TMPDIR/lee1.txt"
	fi
}

# merges of a tokenizer.json, one "left right" a line
merges() {
	node -e 'const fs = require("fs");
	for (const x of JSON.parse(fs.readFileSync(process.argv[1])).model.merges)
		console.log(Array.isArray(x) ? x.join(" ") : x)' "$1"
}

@test "tok-train bpe: the merges HF's BpeTrainer makes, in the same order (Metaspace)" {
	need_hf
	need_data corpora/lee_background.cor
	cd "$BATS_FILE_TMPDIR"
	node "$B/train-ref.js" bpe-metaspace lee1.txt hf.json 2>/dev/null
	run -0 tok-train -q lee1.txt -o ours.json
	merges hf.json >hf.txt
	merges ours.json >ours.txt
	[ "$(wc -l <ours.txt)" -gt 10000 ]
	cmp hf.txt ours.txt
}

@test "tok-train bpe --byte-level: HF's merges in the same order" {
	need_hf
	need_data corpora/lee_background.cor
	cd "$BATS_FILE_TMPDIR"
	node "$B/train-ref.js" bpe-bytelevel lee1.txt hfb.json 2>/dev/null
	run -0 tok-train -q -b lee1.txt -o oursb.json
	merges hfb.json >hfb.txt
	merges oursb.json >oursb.txt
	[ "$(wc -l <oursb.txt)" -gt 10000 ]
	cmp hfb.txt oursb.txt
}

@test "tok-train bpe: a smaller vocabulary gives the first merges of a larger one" {
	run -0 tok-train -q --vocab-size 200 "$T/tok-train/hf-input.txt"
	small=$(printf '%s' "$output" | grep -o '"merges":.*')
	run -0 tok-train -q --vocab-size 400 "$T/tok-train/hf-input.txt"
	large=$(printf '%s' "$output" | grep -o '"merges":.*')
	[[ $large == "${small%]]\}\}}"* ]]
}

# tokens per byte of two tokenizers on held-out text; fails when ours is
# more than 1% worse
within_1pct() {
	run -0 --separate-stderr node "$B/train-compress.js" "$D/corpora/lee.cor" "$1" "$2"
	echo "$output"
	ours=$(echo "$output" | awk 'NR==1 {print $4}')
	ref=$(echo "$output" | awk 'NR==2 {print $4}')
	awk -v o="$ours" -v r="$ref" 'BEGIN { exit !(o <= r * 1.01) }'
}

@test "tok-train wordpiece: compression within 1% of HF's WordPieceTrainer" {
	need_hf
	need_data corpora/lee_background.cor corpora/lee.cor
	cd "$BATS_FILE_TMPDIR"
	node "$B/train-ref.js" wordpiece lee1.txt hfw.json 2>/dev/null
	run -0 tok-train -q -p bert lee1.txt -o oursw.json
	within_1pct oursw.json hfw.json
}

@test "tok-train unigram: compression within 1% of HF's UnigramTrainer" {
	need_hf
	need_data corpora/lee_background.cor corpora/lee.cor
	cd "$BATS_FILE_TMPDIR"
	node "$B/train-ref.js" unigram lee1.txt hfu.json 2>/dev/null
	run -0 tok-train -q -p sentencepiece lee1.txt -o oursu.json
	within_1pct oursu.json hfu.json
}
