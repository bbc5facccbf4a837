#!/usr/bin/env bash
# Regenerate the reference merges in t/data/tok-train/ with Hugging Face
# tokenizers (npm tokenizers@0.23.2, the Rust BpeTrainer with its defaults:
# 30000 tokens, min frequency 0, no special tokens), on hf-input.txt, a
# single line so that no newline enters the words.  One merge per line,
# "left right".  Needs node and NODE_PATH with the tokenizers package.
set -euo pipefail
cd "$(dirname "$0")/data/tok-train"
: "${NODE_PATH:=/opt/tokemb-peers/npm/node_modules}"
export NODE_PATH
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for kind in metaspace bytelevel; do
	node ../../../bench/train-ref.js "bpe-$kind" hf-input.txt "$tmp/$kind.json"
	node -e '
		const m = require(process.argv[1]).model.merges;
		for (const x of m) console.log(Array.isArray(x) ? x.join(" ") : x);
	' "$tmp/$kind.json" > "hf-merges-$kind.txt"
done
