#!/usr/bin/env bash
# Long words (pre-tokens of 100-6000 characters: runs, small alphabets,
# periodic patterns with mutations, mixed scripts and emoji), the case
# tok-encode merges with a bucket per rank instead of a heap (lib/tok/bpe.c):
# ids compared with Hugging Face tokenizers (npm, native) for every
# byte-level BPE tokenizer.json and phi-3 (byte fallback), and with native
# tiktoken for cl100k and o200k.  Prints one line per tokenizer.
#   bench/tok-longwords.sh [WORDS (default 300)]
set -u
cd "$(dirname "$0")/.." || exit 2
N=${1:-300}
D=${TOKEMB_DATA:-$PWD/../shared/data}
BIN=${TOKEMB_BIN:-$PWD/build/bin}
export NODE_PATH=${NODE_PATH:-/opt/tokemb-peers/npm/node_modules}
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
export TOKEMB_CACHE_DIR=$W/cache
/usr/bin/python3 - "$W/words" "$N" <<'PY'
import random, sys
random.seed(5)
al = ['a', 'b', 'c', 'e', 's', 't', '\u00e9', '\u4e2d', '\U0001F916', '.', '7', 'ab', 'the', 'ing']
out = []
for i in range(int(sys.argv[2])):
    A = random.sample(al, random.randint(1, 4)); n = random.randint(100, 6000)
    u = ''.join(random.choice(A) for _ in range(random.randint(2, 6)))
    mode = i % 3
    if mode == 0:
        s = ''.join(random.choice(A) for _ in range(n))
    elif mode == 1:
        s = (u * (n // len(u) + 1))[:n]
    else:
        s = ''.join(u if random.random() > 0.05 else random.choice(A) for _ in range(n // len(u) + 1))
    out.append(s)
open(sys.argv[1], 'w').write('\n'.join(out) + '\n')
PY
rc=0
for m in gpt2 gpt-4-cl100k-hf gpt-4o-hf llama3 qwen3 phi-3-mini; do
	f=$D/tokenizers/$m/tokenizer.json
	[ -f "$f" ] || { echo "$m: absent, skipped"; continue; }
	"$BIN/tok-encode" --no-special -m "$f" "$W/words" >"$W/t.ids" || rc=1
	node bench/tok-peer.js hf "$f" "$W/words" >"$W/p.ids" || rc=1
	if cmp -s "$W/t.ids" "$W/p.ids"; then
		echo "$m: identical to HF tokenizers ($(wc -w <"$W/t.ids") ids)"
	else
		echo "$m: DIFFERS from HF tokenizers"; rc=1
	fi
done
for e in cl100k o200k; do
	f=$D/tokenizers/tiktoken/${e}_base.tiktoken
	[ -f "$f" ] || { echo "$e: absent, skipped"; continue; }
	"$BIN/tok-encode" -m "$f" "$W/words" >"$W/t.ids" || rc=1
	node bench/tok-peer.js tiktoken-node "$e" "$W/words" >"$W/p.ids" || rc=1
	if cmp -s "$W/t.ids" "$W/p.ids"; then
		echo "$e: identical to native tiktoken ($(wc -w <"$W/t.ids") ids)"
	else
		echo "$e: DIFFERS from native tiktoken"; rc=1
	fi
done
exit $rc
