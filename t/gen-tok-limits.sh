#!/usr/bin/env bash
# Regenerate the fixtures of t/108-tok-encode-limits.bats: what Hugging Face
# tokenizers (npm tokenizers@0.23.2) encodes with a tokenizer.json's own
# truncation and padding applied, as its encode does.  Models: tiny-bert.json
# with a Left truncation and a Left, Fixed padding to a multiple
# (t/data/tok/limits-left.json, written here), and the two sentence-
# transformers tokenizers of $TOKEMB_DATA (BatchLongest to a multiple of 8;
# Fixed 128).  Each gives limits-NAME.ids (with special tokens) and
# limits-NAME.nospecial.ids, one line per line of limits-texts.txt.
# Needs the peers in /opt/tokemb-peers.
set -eu
cd "$(dirname "$0")/.."
NM=${TOKEMB_PEERS:-/opt/tokemb-peers/npm/node_modules}
D=${TOKEMB_DATA:-$PWD/../shared/data}
export D
jq -c '.truncation = {direction: "Left", max_length: 7, strategy: "LongestFirst", stride: 0}
  | .padding = {strategy: {Fixed: 9}, direction: "Left", pad_to_multiple_of: 4, pad_id: 3,
                pad_type_id: 0, pad_token: "[MASK]"}' t/data/tok/tiny-bert.json \
	>t/data/tok/limits-left.json
NODE_PATH=$NM node - <<'JS'
const fs = require('fs');
const {Tokenizer} = require('tokenizers');
const out = 't/data/tok/expected/';
const texts = ['hello', 'the cat sat on the mat', '', 'a b c d e f g h i j k l',
  'a '.repeat(300).trim(), 'hello world '.repeat(70).trim()];
fs.writeFileSync(out + 'limits-texts.txt', texts.join('\n') + '\n');
const models = {'limits-left': 't/data/tok/limits-left.json',
  'all-MiniLM-L6-v2': process.env.D + '/tokenizers/all-MiniLM-L6-v2/tokenizer.json',
  'all-mpnet-base-v2': process.env.D + '/tokenizers/all-mpnet-base-v2/tokenizer.json'};
(async () => {
  for (const [name, file] of Object.entries(models)) {
    const t = Tokenizer.fromFile(file);
    for (const sp of [true, false]) {
      const lines = [];
      for (const text of texts) {
        const e = await t.encode(text, null, {addSpecialTokens: sp});
        lines.push(Array.from(e.getIds()).join(' '));
      }
      fs.writeFileSync(out + 'limits-' + name + (sp ? '' : '.nospecial') + '.ids',
        lines.join('\n') + '\n');
    }
  }
})();
JS
