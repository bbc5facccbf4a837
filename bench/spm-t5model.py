#!/usr/bin/python3
"""spm-t5model.py TOKENIZER_JSON OUT: write t5-small's vocabulary, scores and
precompiled charsmap (from its tokenizer.json) as a SentencePiece Unigram
ModelProto, as T5's own spiece.model is, for the benchmarks."""
import base64, json, struct, sys
def v(x):
    out = bytearray()
    x &= (1 << 64) - 1
    while True:
        c = x & 0x7F; x >>= 7
        out.append(c | (0x80 if x else 0))
        if not x:
            return bytes(out)
def f(n, wt, val):
    k = v(n << 3 | wt)
    if wt == 0:
        return k + v(val)
    if wt == 2:
        return k + v(len(val)) + val
    return k + val
j = json.load(open(sys.argv[1]))
out = bytearray()
for i, (p, sc) in enumerate(j["model"]["vocab"][:32000]):
    t = 3 if i in (0, 1) else 2 if i == 2 else 1
    out += f(1, 2, f(1, 2, p.encode()) + f(2, 5, struct.pack("<f", sc)) + f(3, 0, t))
out += f(2, 2, f(3, 0, 1) + f(4, 0, 32000) + f(40, 0, 2) + f(41, 0, -1) + f(42, 0, 1) + f(43, 0, 0))
cm = base64.b64decode(j["normalizer"]["precompiled_charsmap"])
out += f(3, 2, f(1, 2, b"nmt_nfkc") + f(2, 2, cm) + f(3, 0, 1) + f(4, 0, 1) + f(5, 0, 1))
open(sys.argv[2], "wb").write(bytes(out))
