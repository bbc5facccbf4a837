#!/usr/bin/env bash
# Regenerate lib/tok/tok_uni_graph.c: the grapheme cluster classes of the
# Precompiled normalizer of Hugging Face tokenizers (npm tokenizers@0.23.2),
# probed from the reference on every code point (t/gen-uni-graph.js), and
# the fixture t/data/tok/expected/uni-graph-t5-small.jsonl.  Needs the peers
# in /opt/tokemb-peers, Debian's python3-sentencepiece (its trainer compiles
# the probing charsmap), cc and libutf8proc-dev.
set -eu
cd "$(dirname "$0")/.."
NM=${TOKEMB_PEERS:-/opt/tokemb-peers/npm/node_modules}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# A charsmap with the rule "to Y" for every code point but LF and Y itself,
# compiled by sentencepiece's trainer; cm.bin is its precompiled_charsmap
# (field 2 of normalizer_spec, field 3 of the model).
/usr/bin/python3 - "$tmp" <<'PY'
import os, sys
import sentencepiece as spm
os.chdir(sys.argv[1])
with open('rules.tsv', 'w') as f:
    for c in range(1, 0x110000):
        if not (0xd800 <= c <= 0xdfff or c in (0x0a, 0x59)):
            f.write('%X\t59\n' % c)
with open('in.txt', 'w') as f:
    f.write('abc def\n' * 100)
spm.SentencePieceTrainer.train(input='in.txt', model_prefix='m', vocab_size=20,
    model_type='char', normalization_rule_tsv='rules.tsv', add_dummy_prefix=False,
    remove_extra_whitespaces=False, minloglevel=2, hard_vocab_limit=False)
def varint(b, i):
    r = s = 0
    while True:
        x = b[i]; i += 1; r |= (x & 0x7f) << s; s += 7
        if x < 0x80:
            return r, i
def fields(b):
    i = 0
    while i < len(b):
        k, i = varint(b, i)
        if k & 7 == 0:
            v, i = varint(b, i)
        elif k & 7 == 2:
            n, i = varint(b, i); v = b[i:i + n]; i += n
        else:
            n = 4 if k & 7 == 5 else 8; v = b[i:i + n]; i += n
        yield k >> 3, v
spec = [v for f, v in fields(open('m.model', 'rb').read()) if f == 3][0]
open('cm.bin', 'wb').write([v for f, v in fields(spec) if f == 2][0])
PY
cat >"$tmp/bc.c" <<'C'
#include <stdio.h>
#include <utf8proc.h>
int main(void) {
	for (int c = 1; c <= 0x10ffff; c++)
		if (c < 0xd800 || c > 0xdfff)
			printf("%x %d\n", c, utf8proc_get_property(c)->boundclass);
	return 0;
}
C
cc -o "$tmp/bc" "$tmp/bc.c" -lutf8proc
"$tmp/bc" >"$tmp/bc.txt"
NODE_PATH=$NM node t/gen-uni-graph.js "$tmp/cm.bin" "$tmp/bc.txt" >lib/tok/tok_uni_graph.c
# Fixture: documents (uni-graph-texts.json) whose clusters or offsets once
# differed from the reference (one for each class the reference has and
# utf8proc has not, short ones of bench/tok-stress.js --seed 1, and random
# strings of the code points clusters turn on: Indic consonants, linkers
# and nukta, ZWJ, pictographs with rules, new marks, jamo, flags, prepends,
# controls) through t5-small: ids with and without special tokens, decode
# and offsets.
D=${TOKEMB_DATA:-$PWD/../shared/data}
export D
NODE_PATH=$NM node - <<'JS'
const fs = require('fs');
const {Tokenizer} = require('tokenizers');
const out = 't/data/tok/expected/';
const texts = JSON.parse(fs.readFileSync(out + 'uni-graph-texts.json', 'utf8'));
(async () => {
  const t = Tokenizer.fromFile(process.env.D + '/tokenizers/t5-small/tokenizer.json');
  t.disablePadding(); t.disableTruncation();
  const lines = [];
  for (const text of texts) {
    const a = await t.encode(text, null, {addSpecialTokens: false});
    const b = await t.encode(text, null, {addSpecialTokens: true});
    const idsw = Array.from(b.getIds());
    lines.push(JSON.stringify({text, ids: Array.from(a.getIds()), ids_with_special: idsw,
      decoded_skip_special: await t.decode(idsw, true), offsets: a.getOffsets()}));
  }
  fs.writeFileSync(out + 'uni-graph-t5-small.jsonl', lines.join('\n') + '\n');
})();
JS
