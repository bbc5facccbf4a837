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
# Every code point with a part in utf8proc's normalization (a combining
# class, a decomposition, a composition): its class and utf8proc's NFD, NFKD,
# NFC, NFKC of it, NFD of a+it+U+0334 (class 1) and of a+U+0345 (class 240)+it,
# which the reference's own NFD, NFKD, NFC, NFKC are held against.
cat >"$tmp/norm.c" <<'C'
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>
static void form(const char *in, utf8proc_option_t o) {
	utf8proc_uint8_t *out;
	utf8proc_ssize_t i = 0, n = utf8proc_map((const utf8proc_uint8_t *)in, (utf8proc_ssize_t)strlen(in), &out, o | UTF8PROC_STABLE);
	int32_t c;
	putchar(' ');
	if (!n)
		putchar('-');
	while (i < n) {
		i += utf8proc_iterate(out + i, n - i, &c);
		printf(i < n ? "%x." : "%x", c);
	}
	free(out);
}
int main(void) {
	for (int c = 0x80; c <= 0x10ffff; c++) {
		const utf8proc_property_t *p = utf8proc_get_property(c);
		char s[8], b[32];
		if ((c >= 0xd800 && c <= 0xdfff) || (!p->combining_class &&
		    p->decomp_seqindex == UINT16_MAX && p->comb_index == UINT16_MAX))
			continue;
		s[utf8proc_encode_char(c, (utf8proc_uint8_t *)s)] = 0;
		printf("%x %d", c, p->combining_class);
		form(s, UTF8PROC_DECOMPOSE);
		form(s, UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT);
		form(s, UTF8PROC_COMPOSE);
		form(s, UTF8PROC_COMPOSE | UTF8PROC_COMPAT);
		snprintf(b, sizeof b, "a%s\xcc\xb4", s);
		form(b, UTF8PROC_DECOMPOSE);
		snprintf(b, sizeof b, "a\xcd\x85%s", s);
		form(b, UTF8PROC_DECOMPOSE);
		putchar('\n');
	}
	return 0;
}
C
cc -o "$tmp/norm" "$tmp/norm.c" -lutf8proc
"$tmp/norm" >"$tmp/norm.txt"
NODE_PATH=$NM node t/gen-uni-tables.js "$tmp/lower.txt" "$tmp/norm.txt" >lib/tok/tok_uni_hf.c
# Fixtures: t/data/tok/expected/uni-texts.json holds documents of
# bench/tok-stress.js (--seed 1) that once differed from the reference; their
# HF encodings go to uni-NAME.jsonl (read by build/t/test-tok-exact).
D=${TOKEMB_DATA:-$PWD/../shared/data}
export D
NODE_PATH=$NM node - <<'JS'
const fs = require('fs');
const {Tokenizer} = require('tokenizers');
const out = 't/data/tok/expected/';
const texts = JSON.parse(fs.readFileSync(out + 'uni-texts.json', 'utf8'));
(async () => {
  for (const name of ['all-MiniLM-L6-v2', 'all-mpnet-base-v2', 'bert-base-uncased']) {
    const t = Tokenizer.fromFile(process.env.D + '/tokenizers/' + name + '/tokenizer.json');
    t.disablePadding(); t.disableTruncation();
    const lines = [];
    for (const text of texts) {
      const a = await t.encode(text, null, {addSpecialTokens: false});
      const b = await t.encode(text, null, {addSpecialTokens: true});
      const idsw = Array.from(b.getIds());
      lines.push(JSON.stringify({text, ids: Array.from(a.getIds()), ids_with_special: idsw,
        decoded_skip_special: await t.decode(idsw, true)}));
    }
    fs.writeFileSync(out + 'uni-' + name + '.jsonl', lines.join('\n') + '\n');
  }
})();
JS
# Normalization fixtures: documents of bench/tok-stress.js (--seed 1) that once
# differed (uni-norm-texts.json) and each range of tk_hf_nonorm between marks,
# through the tokenizers whose normalizer is NFC (qwen3) or NFD (BERT's
# strip_accents); to uni-norm-NAME.jsonl.
NODE_PATH=$NM node - <<'JS'
const fs = require('fs');
const {Tokenizer} = require('tokenizers');
const out = 't/data/tok/expected/';
const texts = JSON.parse(fs.readFileSync(out + 'uni-norm-texts.json', 'utf8'));
const src = fs.readFileSync('lib/tok/tok_uni_hf.c', 'utf8');
const tab = src.slice(src.indexOf('tk_hf_nonorm[][2]'), src.indexOf('tk_hf_nnonorm'));
for (const m of tab.matchAll(/\{(0x[0-9a-f]+), (0x[0-9a-f]+)\}/g)) {
  const a = String.fromCodePoint(+m[1]), b = String.fromCodePoint(+m[2]);
  texts.push(`a${a}\u0301 e\u0301${b}\u0334 A\u0345${a}\u0300${b}\u0316 ${a}${b}\u0327c`);
}
(async () => {
  for (const name of ['qwen3', 'bert-base-uncased']) {
    const t = Tokenizer.fromFile(process.env.D + '/tokenizers/' + name + '/tokenizer.json');
    t.disablePadding(); t.disableTruncation();
    const lines = [];
    for (const text of texts) {
      const a = await t.encode(text, null, {addSpecialTokens: false});
      const b = await t.encode(text, null, {addSpecialTokens: true});
      const idsw = Array.from(b.getIds());
      lines.push(JSON.stringify({text, ids: Array.from(a.getIds()), ids_with_special: idsw,
        decoded_skip_special: await t.decode(idsw, true)}));
    }
    fs.writeFileSync(out + 'uni-norm-' + name + '.jsonl', lines.join('\n') + '\n');
  }
})();
JS
# Offsets fixtures (uni-offsets-texts.json: characters that byte-level and
# byte-fallback tokens split, added tokens that strip spaces, marks that
# NFC and BERT's accent stripping reorder, compose and drop, and short
# documents of bench/tok-stress.js --seed 1): HF's character offsets as
# "offsets", read by test-tok-exact against tok-encode --offsets.
NODE_PATH=$NM node - <<'JS'
const fs = require('fs');
const {Tokenizer} = require('tokenizers');
const out = 't/data/tok/expected/';
const texts = JSON.parse(fs.readFileSync(out + 'uni-offsets-texts.json', 'utf8'));
(async () => {
  for (const name of ['gpt2', 'llama3', 'gpt-4o-hf', 'gemma3', 'phi-3-mini', 'all-mpnet-base-v2',
    'bert-base-uncased', 'qwen3']) {
    const t = Tokenizer.fromFile(process.env.D + '/tokenizers/' + name + '/tokenizer.json');
    t.disablePadding(); t.disableTruncation();
    const lines = [];
    for (const text of texts) {
      const a = await t.encode(text, null, {addSpecialTokens: false});
      lines.push(JSON.stringify({text, ids: Array.from(a.getIds()), offsets: a.getOffsets()}));
    }
    fs.writeFileSync(out + 'uni-offsets-' + name + '.jsonl', lines.join('\n') + '\n');
  }
})();
JS
