#!/usr/bin/env bash
# Regenerate lib/tok/tok_uni_hf.c: the Unicode classes that Hugging Face
# tokenizers (npm tokenizers@0.23.2) uses for BERT's normalizer and
# pre-tokenizer, and its lowercase mapping where it differs from utf8proc's,
# probed from the reference itself on every code point (t/gen-uni-tables.js).
# Needs the peers in /opt/tokemb-peers, cc and libutf8proc-dev.
set -eu
cd "$(dirname "$0")/.."
NM=${TOKEMB_PEERS:-/opt/tokemb-peers/npm/node_modules}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cat >"$tmp/lower.c" <<'C'
#include <stdio.h>
#include <utf8proc.h>
int main(void) {
	for (int c = 1; c <= 0x10ffff; c++)
		if ((c < 0xd800 || c > 0xdfff) && utf8proc_tolower(c) != c)
			printf("%x %x\n", c, utf8proc_tolower(c));
	return 0;
}
C
cc -o "$tmp/lower" "$tmp/lower.c" -lutf8proc
"$tmp/lower" >"$tmp/lower.txt"
NODE_PATH=$NM node t/gen-uni-tables.js "$tmp/lower.txt" >lib/tok/tok_uni_hf.c
