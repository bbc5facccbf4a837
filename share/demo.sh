#!/usr/bin/env bash
# The demonstration the README opens with ("make demo"): the whole suite on
# data the repository ships, nothing downloaded.  With $TOKEMB_DATA (the
# shared data) present it also lines up real tokenizers.
set -euo pipefail
cd "$(dirname "$0")/.."
R=$PWD
export PATH="${TOKEMB_BIN:-$R/build/bin}:$PATH"
D=${TOKEMB_DATA:-$R/../shared/data}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
ln -s "$R/t/data" data
if [ -t 1 ]; then b=$(printf '\033[1m') n=$(printf '\033[0m'); else b='' n=''; fi
section() { printf '\n%s== %s%s\n' "$b" "$1" "$n"; }
run() { printf '$ %s\n' "$*"; "$@"; }

section "1. Train two tokenizers on this repository: its prose and its C code"
cat "$R"/README.md "$R"/INSTALL "$R"/share/man/man*/* | tok-train -q --preset gpt2 -n 1000 -o prose.json
cat "$R"/lib/*.c | tok-train -q --preset gpt2 -n 1000 -o code.json
echo "prose.json: byte-level BPE, 1000 tokens, learned from README, INSTALL and the man pages"
echo "code.json:  byte-level BPE, 1000 tokens, learned from lib/*.c"

section "2. Unseen code through each: the tokenizer trained on code needs fewer tokens"
cp "$R/cmd/common.c" common.c
run tok-show --summary -m prose.json -m code.json common.c
sed -n '/^fshut_stdout/,/^}/p' common.c | head -7 >snippet.c
run tok-show -m prose.json -m code.json snippet.c

section "3. Text to token ids, and back"
printf 'Hello, world!\nThe cat sat on the mat.\n' >hello.txt
run tok-encode -m code.json hello.txt
tok-encode -m code.json hello.txt >ids
run tok-decode -m code.json ids
run tok-encode -m code.json --count hello.txt

section "4. Real tokenizers side by side (needs \$TOKEMB_DATA)"
if [ -d "$D/tokenizers" ]; then
	t=$D/tokenizers
	run tok-show --summary -m "$t/bert-base-uncased" -m "$t/gpt2" -m "$t/t5-small" \
		-m "$t/gpt-4-cl100k-hf" -m "$t/phi-3-mini" -m "$t/llama3" -m code.json data/show/showcase.txt
	run tok-show -m "$t/gpt2" -m "$t/gpt-4-cl100k-hf" data/show/showcase.txt
else
	echo "skipped: $D/tokenizers is absent (set TOKEMB_DATA to the shared data)"
fi
