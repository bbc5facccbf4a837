#!/usr/bin/env bash
# Regenerate t/data/tok/expected/*.jsonl: encodings of hard cases (whitespace
# runs, digits, contractions in capitals, combining marks, scripts without
# spaces, emoji sequences, control characters, special-token text inside
# text, very long words) by the reference implementations:
#   tokenizer.json  npm tokenizers@0.23.2 (Hugging Face tokenizers, native)
#   .tiktoken       npm tiktoken@1.0.22 (OpenAI tiktoken, WASM)
#   .model          Debian python3-sentencepiece 0.1.97 (/usr/bin/python3)
# Needs $TOKEMB_DATA (../shared/data) and the peers in /opt/tokemb-peers.
set -eu
cd "$(dirname "$0")/.."
D=${TOKEMB_DATA:-$PWD/../shared/data}
NM=${TOKEMB_PEERS:-/opt/tokemb-peers/npm/node_modules}
out=t/data/tok/expected
mkdir -p "$out"
export D out
NODE_PATH=$NM node t/gen-tok-cases.js
/usr/bin/python3 - <<'PY'
import json, os, sentencepiece as spm
D, out = os.environ['D'], os.environ['out']
texts = json.load(open(out + '/texts.json'))
sp = spm.SentencePieceProcessor(model_file=D + '/tokenizers/llama2/tokenizer.model')
with open(out + '/spm-llama2.jsonl', 'w') as f:
    for t in texts:
        ids = sp.encode(t)
        f.write(json.dumps({'text': t, 'ids': ids, 'decoded': sp.decode(ids)}, ensure_ascii=False) + '\n')
PY
