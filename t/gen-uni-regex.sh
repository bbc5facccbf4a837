#!/usr/bin/env bash
# Regenerate lib/tok/tok_uni_re.c: the code points that the regex classes of
# tiktoken (Rust regex) and Hugging Face tokenizers (Oniguruma) hold and
# utf8proc's categories do not, probed from the references on every code
# point (t/gen-uni-regex.js).  Needs the peers in /opt/tokemb-peers, cc, and
# build/libtokemb.a (make).
set -eu
cd "$(dirname "$0")/.."
NM=${TOKEMB_PEERS:-/opt/tokemb-peers/npm/node_modules}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cat >"$tmp/ours.c" <<'C'
#include <stdio.h>
#include "tok_uni.h"
int main(void) {
	for (int c = 1; c <= 0x10ffff; c++)
		if (c < 0xd800 || c > 0xdfff)
			printf("%x %x\n", c, (unsigned)(tk_uclass(c) & ~TK_U_P));
	return 0;
}
C
# shellcheck disable=SC2046
cc -Ilib -Ilib/tok -o "$tmp/ours" "$tmp/ours.c" build/libtokemb.a \
	$(pkg-config --libs libutf8proc oniguruma libpcre2-8 libcjson) -lm -lpthread
"$tmp/ours" >"$tmp/ours.txt"
NODE_PATH=$NM node t/gen-uni-regex.js "$tmp/ours.txt" >"$tmp/tok_uni_re.c"
mv "$tmp/tok_uni_re.c" lib/tok/tok_uni_re.c
# Fixtures: the first and last code point of each range in a few words, and
# the documents of bench/tok-stress.js (--seed 1) that once differed, through
# the HF tokenizers whose split patterns use these classes; their encodings
# go to t/data/tok/expected/uni-NAME.jsonl (read by build/t/test-tok-exact).
D=${TOKEMB_DATA:-$PWD/../shared/data}
export D
NODE_PATH=$NM node - <<'JS'
const fs = require('fs');
const {Tokenizer} = require('tokenizers');
const out = 't/data/tok/expected/';
const src = fs.readFileSync('lib/tok/tok_uni_re.c', 'utf8');
const texts = JSON.parse(fs.readFileSync(out + 'uni-regex-texts.json', 'utf8'));
for (const m of src.matchAll(/\{(0x[0-9a-f]+), (0x[0-9a-f]+), \d+\}/g)) {
  const a = String.fromCodePoint(+m[1]), b = String.fromCodePoint(+m[2]);
  texts.push(`x${a}${b} ${a}1${b}'s ${a}${a}${a}${a}${b} A${a}b\n${b}`);
}
(async () => {
  for (const name of ['llama3', 'gpt-4o-hf', 'qwen3', 'gpt2']) {
    const t = Tokenizer.fromFile(process.env.D + '/tokenizers/' + name + '/tokenizer.json');
    t.disablePadding(); t.disableTruncation();
    const lines = [];
    for (const text of texts) {
      const a = await t.encode(text, null, {addSpecialTokens: false});
      const b = await t.encode(text, null, {addSpecialTokens: true});
      lines.push(JSON.stringify({text, ids: Array.from(a.getIds()),
        ids_with_special: Array.from(b.getIds())}));
    }
    fs.writeFileSync(out + 'uni-' + name + '.jsonl', lines.join('\n') + '\n');
  }
})();
JS
