#!/usr/bin/env bats
# A tokenizer tok-train writes is used directly by tok-encode and tok-decode,
# and they agree with Hugging Face tokenizers on it.

load helper

: "${NODE_PATH:=/opt/tokemb-peers/npm/node_modules}"
export NODE_PATH

need_tok() {
	tok-encode --help 2>/dev/null | grep -q -- '-m MODEL' || skip "needs a working tok-encode"
}

S='The trainer counts words, then merges pairs. Zoë ☃ naïve café'

setup_file() {
	for p in gpt2 bert sentencepiece byte-fallback; do
		tok-train -q -p "$p" --vocab-size 600 -o "$BATS_FILE_TMPDIR/$p.json" \
			"$T/tok-train/prose.txt" "$T/tok-train/code.txt"
	done
}

@test "tok-encode and tok-decode load every tok-train recipe and round-trip" {
	need_tok
	for p in gpt2 byte-fallback; do
		run -0 bash -c 'printf "%s\n" "$1" | tok-encode -m "$2" | tok-decode -m "$2"' _ "$S" "$BATS_FILE_TMPDIR/$p.json"
		[ "$output" = "$S" ]
	done
	for p in bert sentencepiece; do
		run -0 bash -c 'printf "%s\n" "$1" | tok-encode -m "$2"' _ "$S" "$BATS_FILE_TMPDIR/$p.json"
		[ -n "$output" ]
	done
}

@test "tok-encode on a tok-train tokenizer gives HF's ids" {
	need_tok
	need_cmd node
	node -e 'require("tokenizers")' 2>/dev/null || skip "needs the npm tokenizers package (NODE_PATH)"
	for p in gpt2 bert sentencepiece byte-fallback; do
		f=$BATS_FILE_TMPDIR/$p.json
		ours=$(printf '%s\n' "$S" | tok-encode -m "$f")
		hf=$(node -e '
			const t = require("tokenizers");
			(async () => {
				const tok = t.Tokenizer.fromFile(process.argv[1]);
				console.log((await tok.encode(process.argv[2])).getIds().join(" "));
			})();' "$f" "$S")
		echo "$p: ours $ours"
		echo "$p: hf   $hf"
		[ "$ours" = "$hf" ]
	done
}
