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
