#!/usr/bin/env python3
"""Write the tiny emb-token/emb-pool fixtures in t/data/emb (stdlib only).

tiny-bert/: a 1-layer BERT (vocab 16, hidden 8, 2 heads, FFN 16, 16 positions)
with random weights in the Hugging Face + sentence-transformers layout.
tiny-static/: a Model2Vec-style table (16 x 4) with a Normalize module.
bad-*/: the same BERT with one thing wrong each, for the error tests.
Run from anywhere: python3 t/data/emb/gen.py.  Deterministic (seeded).
"""
import json, os, random, struct, shutil

HERE = os.path.dirname(os.path.abspath(__file__))
rng = random.Random(6)
V, H, NH, F, P, L = 16, 8, 2, 16, 16, 1


def st_bytes(tensors, header_patch=None, pad_to=8):
    """tensors: list of (name, dtype, shape, raw bytes)."""
    hdr, off, blob = {"__metadata__": {"format": "pt"}}, 0, b""
    for name, dt, shape, raw in tensors:
        hdr[name] = {"dtype": dt, "shape": shape, "data_offsets": [off, off + len(raw)]}
        blob += raw
        off += len(raw)
    if header_patch:
        header_patch(hdr)
    h = json.dumps(hdr, separators=(",", ":")).encode()
    h += b" " * (-len(h) % pad_to)
    return struct.pack("<Q", len(h)) + h + blob


def f32(vals):
    return struct.pack("<%df" % len(vals), *vals)


def rand(n, s):
    return [rng.gauss(0, s) for _ in range(n)]


def bert_tensors():
    t = []
    add = lambda n, shape, vals: t.append((n, "F32", shape, f32(vals)))
    add("embeddings.word_embeddings.weight", [V, H], rand(V * H, 0.5))
    add("embeddings.position_embeddings.weight", [P, H], rand(P * H, 0.5))
    add("embeddings.token_type_embeddings.weight", [2, H], rand(2 * H, 0.5))
    add("embeddings.LayerNorm.weight", [H], [1 + x for x in rand(H, 0.1)])
    add("embeddings.LayerNorm.bias", [H], rand(H, 0.1))
    for i in range(L):
        p = "encoder.layer.%d." % i
        for n in ("attention.self.query", "attention.self.key", "attention.self.value",
                  "attention.output.dense"):
            add(p + n + ".weight", [H, H], rand(H * H, H ** -0.5))
            add(p + n + ".bias", [H], rand(H, 0.1))
        add(p + "attention.output.LayerNorm.weight", [H], [1 + x for x in rand(H, 0.1)])
        add(p + "attention.output.LayerNorm.bias", [H], rand(H, 0.1))
        add(p + "intermediate.dense.weight", [F, H], rand(F * H, H ** -0.5))
        add(p + "intermediate.dense.bias", [F], rand(F, 0.1))
        add(p + "output.dense.weight", [H, F], rand(H * F, F ** -0.5))
        add(p + "output.dense.bias", [H], rand(H, 0.1))
        add(p + "output.LayerNorm.weight", [H], [1 + x for x in rand(H, 0.1)])
        add(p + "output.LayerNorm.bias", [H], rand(H, 0.1))
    add("pooler.dense.weight", [H, H], rand(H * H, H ** -0.5))
    add("pooler.dense.bias", [H], rand(H, 0.1))
    return t


CONFIG = {
    "architectures": ["BertModel"], "hidden_act": "gelu", "hidden_size": H,
    "intermediate_size": F, "layer_norm_eps": 1e-12, "max_position_embeddings": P,
    "model_type": "bert", "num_attention_heads": NH, "num_hidden_layers": L,
    "pad_token_id": 0, "position_embedding_type": "absolute", "type_vocab_size": 2,
    "vocab_size": V,
}
MODULES = [
    {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
    {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
    {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
]
POOLING = {"word_embedding_dimension": H, "pooling_mode_cls_token": False,
           "pooling_mode_mean_tokens": True, "pooling_mode_max_tokens": False,
           "pooling_mode_mean_sqrt_len_tokens": False}


def write_model(name, tensors_bytes, config=CONFIG, st=True):
    d = os.path.join(HERE, name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(config, f, indent=2, sort_keys=True)
    if st:
        with open(os.path.join(d, "model.safetensors"), "wb") as f:
            f.write(tensors_bytes)
    return d


tensors = bert_tensors()
good = st_bytes(tensors)
d = write_model("tiny-bert", good)
with open(os.path.join(d, "modules.json"), "w") as f:
    json.dump(MODULES, f, indent=2)
os.makedirs(os.path.join(d, "1_Pooling"))
with open(os.path.join(d, "1_Pooling", "config.json"), "w") as f:
    json.dump(POOLING, f, indent=2)
os.makedirs(os.path.join(d, "2_Normalize"))
open(os.path.join(d, "2_Normalize", ".keep"), "w").close()
# the token names, so that --vectors can be shown on it
with open(os.path.join(d, "vocab.txt"), "w") as f:
    f.write("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "the", "cat", "sat", "on", "mat",
                       "a", "dog", "ran", "far", "away", ".", "!"]) + "\n")

# the same model under other layouts, each must give tiny-bert's numbers:
# "bert." prefixed names plus an MLM head tensor, and two shards with an index
d = write_model("tiny-bert-prefixed", st_bytes(
    [("bert." + n, dt, sh, r) for n, dt, sh, r in tensors] +
    [("cls.predictions.bias", "F32", [V], f32([0.0] * V))]))
d = write_model("tiny-bert-sharded", b"", st=False)
half = len(tensors) // 2
index = {"metadata": {"total_size": sum(len(t[3]) for t in tensors)}, "weight_map": {}}
for k, part in enumerate((tensors[:half], tensors[half:])):
    fn = "model-%05d-of-00002.safetensors" % (k + 1)
    with open(os.path.join(d, fn), "wb") as f:
        f.write(st_bytes(part))
    for t in part:
        index["weight_map"][t[0]] = fn
with open(os.path.join(d, "model.safetensors.index.json"), "w") as f:
    json.dump(index, f, indent=2)
# BF16 weights, and an F32 twin holding exactly the BF16 values
def bf16(raw):
    vals = struct.unpack("<%df" % (len(raw) // 4), raw)
    out = b""
    for v in vals:
        u = struct.unpack("<I", struct.pack("<f", v))[0]
        u = (u + 0x7FFF + ((u >> 16) & 1)) >> 16   # round to nearest even
        out += struct.pack("<H", u)
    return out
def widen(raw16):
    return b"".join(struct.pack("<I", struct.unpack("<H", raw16[i:i + 2])[0] << 16)
                    for i in range(0, len(raw16), 2))
b16 = [(n, "BF16", sh, bf16(r)) for n, dt, sh, r in tensors]
cfg16 = dict(CONFIG, torch_dtype="bfloat16")
write_model("tiny-bert-bf16", st_bytes(b16), cfg16)
write_model("tiny-bert-bf16-as-f32", st_bytes([(n, "F32", sh, widen(r)) for n, dt, sh, r in b16]))

# a static table in the Model2Vec layout
sd = os.path.join(HERE, "tiny-static")
shutil.rmtree(sd, ignore_errors=True)
os.makedirs(os.path.join(sd, "1_Normalize"))
open(os.path.join(sd, "1_Normalize", ".keep"), "w").close()
with open(os.path.join(sd, "model.safetensors"), "wb") as f:
    f.write(st_bytes([("embeddings", "F32", [V, 4], f32(rand(V * 4, 1.0)))]))
with open(os.path.join(sd, "config.json"), "w") as f:
    json.dump({"model_type": "model2vec", "architectures": ["StaticModel"],
               "hidden_dim": 4, "normalize": True}, f, indent=2)
with open(os.path.join(sd, "modules.json"), "w") as f:
    json.dump([{"idx": 0, "name": "0", "path": ".",
                "type": "sentence_transformers.models.StaticEmbedding"},
               {"idx": 1, "name": "1", "path": "1_Normalize",
                "type": "sentence_transformers.models.Normalize"}], f, indent=2)

# word vectors keyed by token string (a few tokens lack one)
with open(os.path.join(HERE, "words.vec"), "w") as f:
    for w in ["the", "cat", "sat", "on", "mat", "a", "dog", "ran", "."]:
        f.write(w + " " + " ".join("%.4f" % x for x in rand(4, 1.0)) + "\n")

# ---- broken models: each differs from tiny-bert in one way
bad = {}
# header length far beyond the file
bad["absurd-header"] = struct.pack("<Q", 1 << 60) + good[8:]
# the file cut short: the last tensor's offsets run past the end
bad["truncated"] = good[:-40]
# two tensors share bytes
def overlap(h):
    a = h["pooler.dense.bias"]["data_offsets"]
    h["pooler.dense.bias"]["data_offsets"] = [a[0] - 16, a[1] - 16]
bad["overlap"] = st_bytes(tensors, overlap)
# shape and dtype that disagree with the byte count
def shape_lie(h):
    h["pooler.dense.bias"]["shape"] = [9]
bad["shape-bytes"] = st_bytes(tensors, shape_lie)
# a tensor whose shape disagrees with config.json
t2 = [(n, dt, [V - 1, H] if n.endswith("word_embeddings.weight") else s,
       r[: (V - 1) * H * 4] if n.endswith("word_embeddings.weight") else r)
      for n, dt, s, r in tensors]
bad["wrong-shape"] = st_bytes(t2)
# a weight stored as integers
t3 = [(n, "I32" if n == "pooler.dense.weight" else dt, s, r) for n, dt, s, r in tensors]
bad["wrong-dtype"] = st_bytes(t3)
# a missing tensor
bad["missing-tensor"] = st_bytes([t for t in tensors if "intermediate.dense.weight" not in t[0]])
# the header is not JSON
bad["not-json"] = struct.pack("<Q", 16) + b"{not json at all" + good[8 + struct.unpack("<Q", good[:8])[0]:]
# shorter than the length field
bad["tiny-file"] = b"\x05\x00\x00"
for k, v in bad.items():
    write_model("bad-" + k, v)
# an architecture the encoder does not run
cfg = dict(CONFIG, model_type="gpt2", architectures=["GPT2Model"])
write_model("bad-arch", good, cfg)
# config.json lacking a required key
cfg = {k: v for k, v in CONFIG.items() if k != "hidden_size"}
write_model("bad-config", good, cfg)
# config.json that is not JSON
d = write_model("bad-config-json", good)
with open(os.path.join(d, "config.json"), "w") as f:
    f.write('{\n  "model_type": "bert",\n  "hidden_size": 8,,\n}\n')
