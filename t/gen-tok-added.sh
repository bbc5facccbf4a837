#!/usr/bin/env bash
# Regenerate t/data/tok/added-norm.json (tiny-bpe.json with an NFKC +
# Lowercase normalizer and added tokens that are "normalized" or not, with
# lstrip/rstrip) and the ids Hugging Face tokenizers gives for
# t/data/tok/added-texts.txt (one text a line) in added-expected.txt (one
# line of ids a text, no special tokens added), by npm tokenizers@0.23.2;
# and added-raw.json, the same tokens without a normalizer (where only a
# "normalized" token that can overlap another is matched apart), with
# added-raw-expected.txt.
set -eu
cd "$(dirname "$0")/.."
NM=${TOKEMB_PEERS:-/opt/tokemb-peers/npm/node_modules}
NODE_PATH=$NM node - <<'JS'
const fs = require('fs');
const {Tokenizer} = require('tokenizers');
const dir = 't/data/tok/';
const j = JSON.parse(fs.readFileSync(dir + 'tiny-bpe.json', 'utf8'));
j.normalizer = {type: 'Sequence', normalizers: [{type: 'NFKC'}, {type: 'Lowercase'}]};
const add = (id, content, o) => j.added_tokens.push(Object.assign(
  {id, content, single_word: false, lstrip: false, rstrip: false, normalized: true, special: false}, o));
add(268, '<Mask>', {lstrip: true});                         // matched as "<mask>" after lowercasing
add(269, 'HeLLo', {});                                      // "hello"
add(270, 'ÅB', {normalized: false});                        // raw only
add(271, '[SEP]', {special: true, rstrip: true});           // special, normalized: "[sep]"
add(272, 'ﬁx', {});                                         // NFKC: "fix"
add(273, '<Raw>', {normalized: false, lstrip: true, rstrip: true});
add(274, 'wq', {});                                         // normalized, loses to the raw "qz" first
add(275, 'qz', {normalized: false});
add(276, 'Wörd', {single_word: true});                      // "wörd", a word of its own
fs.writeFileSync(dir + 'added-norm.json', JSON.stringify(j));
const texts = [
  'HELLO world hello HeLLo', 'say <MASK> and <mask>', 'a\u3000<mask> b', 'x\u00a0\u2003<mask>\u2003y',
  '[SEP] after', 'before[sep]\u2003\u00a0next', '[Sep]\u3000x', 'ﬁx fix FIX ﬁX', 'ÅB åb ÅBÅB',
  'x<Raw>y', 'x \u00a0<Raw>\u3000 y', '\u2028<Raw>\u2029', 'a\u0085<Raw>\u0085b', '<raw> <RAW>', 'wqz', 'wq qz wqzwq',
  'wörd WÖRD Wörds xwörd wörd!', 'hello<Raw>hello', '<mask><mask> <mask>', '', '   ',
  'ＨＥＬＬＯ full width', 'He\u0301LLo hello\u0301', 'HeLLoHeLLo', 'xwqzw wqwq',
];
fs.writeFileSync(dir + 'added-texts.txt', texts.join('\n') + '\n');
j.normalizer = null;
fs.writeFileSync(dir + 'added-raw.json', JSON.stringify(j));
(async () => {
  for (const [model, exp] of [['added-norm.json', 'added-expected.txt'], ['added-raw.json', 'added-raw-expected.txt']]) {
    const t = Tokenizer.fromFile(dir + model);
    t.disablePadding(); t.disableTruncation();
    const out = [];
    for (const text of texts)
      out.push(Array.from((await t.encode(text, null, {addSpecialTokens: false})).getIds()).join(' '));
    fs.writeFileSync(dir + exp, out.join('\n') + '\n');
  }
})();
JS
