#!/usr/bin/python3
"""Random-weight checkpoints in the Hugging Face layout, and their reference
outputs from an independent NumPy forward pass.

    gen-emb-arch.py write ARCH DIR [--dtype f32|f16|bf16] [--prefix P]
    gen-emb-arch.py ref DIR IDS >DIR/reference.jsonl
    gen-emb-arch.py ids REF CASE
    gen-emb-arch.py compare REF CASE FIELD [TOLERANCE] <OUTPUT

ARCH is xlm-roberta, qwen3, nomic_bert, modernbert or gemma3_text.  `write` makes DIR: config.json with the real
keys, model.safetensors under the names the real checkpoints use, a real
tokenizer from $TOKEMB_DATA/tokenizers and the sentence-transformers files.
`ref` reads IDS (one document per line, ids separated by blanks) and writes
one case per document (doc_N) and one padded batch of all of them
(batch_padded, right-padded; the decoder also batch_left_padded, as
Qwen3-Embedding pads, where transformers' positions 0..T-1 start the
rotary angles of a short document late: equal to the unpadded numbers only
within the rounding of those angles, about 1e-5),
in the format of $TOKEMB_DATA/models/README.md.  `ids` prints a case's real
tokens, one document a line; `compare` reads emb-token's (FIELD
last_hidden_state) or emb-pool's (sentence_embedding) text output and exits
1 unless every number is within 1e-5 (or TOLERANCE) of the case and every sentence vector
has cosine >= 0.99999 with it (padded positions are not compared).

The forward passes are written from transformers' modeling_xlm_roberta.py
(create_position_ids_from_input_ids, post-norm BERT layers) and
modeling_qwen3.py (Qwen3RMSNorm, rotate_half RoPE, grouped K/V heads,
q_norm/k_norm per head, SwiGLU MLP, causal mask) and nomic-embed-text's
modeling_hf_nomic_bert.py (NomicBertModel: word and token type rows, emb_ln,
post-norm blocks of a fused Wqkv with rotary positions on the first
rotary_emb_fraction of each head, out_proj, norm1, then fc2(fc11(x) *
silu(fc12(x))), norm2; no biases; the gated MLP's width is n_inner rounded
up to a multiple of 256) and modeling_modernbert.py (ModernBertModel:
tok_embeddings, norm; pre-norm layers of attn_norm (an Identity in layer 0),
a fused Wqkv with RoPE, Wo, then mlp_norm and Wo(gelu(input) * gate) of
Wi's two halves; every global_attn_every_n_layers-th layer from 0 global with
global_rope_theta, the others seeing only the keys within local_attention // 2
of the query, with local_rope_theta; final_norm; LayerNorms without bias as
norm_bias false says) and modeling_gemma3.py (Gemma3TextModel as
EmbeddingGemma runs it: rows times sqrt(hidden_size), Gemma3RMSNorm
multiplying by 1 + weight, sandwich norms around attention and MLP, q_norm
and k_norm per head, grouped K/V heads, scores scaled by
query_pre_attn_scalar^-0.5, GeGLU with gelu_pytorch_tanh, full_attention
layers with rope_theta and sliding_attention layers with
rope_local_base_freq; use_bidirectional_attention: all keys in the full
layers, |query - key| < sliding_window // 2 + 1 in the sliding ones, as
Gemma3TextConfig and _bidirectional_window_overlay set them, else causal
with the sliding_window - 1 keys before; final norm) with
sentence-transformers' Pooling, Dense (bias-free, Identity, as
EmbeddingGemma's 2_Dense and 3_Dense) and Normalize, eager attention, float32,
with masked scores at the float32 minimum as transformers sets them.
Only NumPy is needed.
"""
import json
import math
import os
import shutil
import struct
import sys

import numpy as np

F32 = np.float32
DATA = os.environ.get("TOKEMB_DATA", os.path.join(os.path.dirname(__file__), "../../shared/data"))

CONFIGS = {
    "xlm-roberta": {
        "architectures": ["XLMRobertaModel"], "model_type": "xlm-roberta",
        "attention_probs_dropout_prob": 0.1, "bos_token_id": 0, "eos_token_id": 2,
        "hidden_act": "gelu", "hidden_dropout_prob": 0.1, "hidden_size": 32,
        "initializer_range": 0.02, "intermediate_size": 64, "layer_norm_eps": 1e-05,
        "max_position_embeddings": 514, "num_attention_heads": 4, "num_hidden_layers": 2,
        "pad_token_id": 1, "position_embedding_type": "absolute", "type_vocab_size": 1,
        "use_cache": True, "vocab_size": 30527, "torch_dtype": "float32",
    },
    "qwen3": {
        "architectures": ["Qwen3Model"], "model_type": "qwen3", "attention_bias": False,
        "attention_dropout": 0.0, "bos_token_id": 151643, "eos_token_id": 151643,
        "head_dim": 16, "hidden_act": "silu", "hidden_size": 32, "initializer_range": 0.02,
        "intermediate_size": 64, "max_position_embeddings": 32768, "max_window_layers": 28,
        "num_attention_heads": 4, "num_hidden_layers": 2, "num_key_value_heads": 2,
        "rms_norm_eps": 1e-06, "rope_scaling": None, "rope_theta": 1000000,
        "sliding_window": None, "tie_word_embeddings": True, "use_cache": True,
        "use_sliding_window": False, "vocab_size": 151936, "torch_dtype": "float32",
    },
    "nomic_bert": {
        "architectures": ["NomicBertModel"], "model_type": "nomic_bert",
        "activation_function": "swiglu", "attn_pdrop": 0.0, "bos_token_id": None,
        "causal": False, "dense_seq_output": True, "embd_pdrop": 0.0, "eos_token_id": None,
        "fused_bias_fc": True, "fused_dropout_add_ln": True, "initializer_range": 0.02,
        "layer_norm_epsilon": 1e-12, "max_trained_positions": 2048, "mlp_fc1_bias": False,
        "mlp_fc2_bias": False, "n_embd": 32, "n_head": 4, "n_inner": 64, "n_layer": 2,
        "n_positions": 8192, "pad_vocab_size_multiple": 64, "prenorm": False,
        "qkv_proj_bias": False, "resid_pdrop": 0.0, "rotary_emb_base": 1000,
        "rotary_emb_fraction": 1.0, "rotary_emb_interleaved": False,
        "rotary_emb_scale_base": None, "rotary_scaling_factor": None,
        "scale_attn_weights": True, "type_vocab_size": 2, "use_cache": True,
        "use_flash_attn": True, "use_rms_norm": False, "vocab_size": 30528,
        "torch_dtype": "float32",
    },
    "modernbert": {
        "architectures": ["ModernBertModel"], "model_type": "modernbert",
        "attention_bias": False, "attention_dropout": 0.0, "bos_token_id": 101,
        "classifier_activation": "gelu", "classifier_bias": False,
        "classifier_dropout": 0.0, "classifier_pooling": "mean", "cls_token_id": 101,
        "decoder_bias": True, "deterministic_flash_attn": False, "embedding_dropout": 0.0,
        "eos_token_id": 102, "global_attn_every_n_layers": 3, "global_rope_theta": 160000.0,
        "gradient_checkpointing": False, "hidden_activation": "gelu", "hidden_size": 32,
        "initializer_cutoff_factor": 2.0, "initializer_range": 0.02,
        "intermediate_size": 48, "layer_norm_eps": 1e-05, "local_attention": 16,
        "local_rope_theta": 10000.0, "max_position_embeddings": 8192, "mlp_bias": False,
        "mlp_dropout": 0.0, "norm_bias": False, "norm_eps": 1e-05,
        "num_attention_heads": 4, "num_hidden_layers": 4, "pad_token_id": 0,
        "position_embedding_type": "absolute", "sep_token_id": 102,
        "sparse_pred_ignore_index": -100, "sparse_prediction": False,
        "vocab_size": 30528, "torch_dtype": "float32",
    },
    # EmbeddingGemma-300m's keys, smaller; a query scalar unlike head_dim
    # and a window of 16 so that both show
    "gemma3_text": {
        "architectures": ["Gemma3TextModel"], "model_type": "gemma3_text",
        "_sliding_window_pattern": 2, "attention_bias": False, "attention_dropout": 0.0,
        "attn_logit_softcapping": None, "bos_token_id": 2, "eos_token_id": 1,
        "final_logit_softcapping": None, "head_dim": 16,
        "hidden_activation": "gelu_pytorch_tanh", "hidden_size": 32,
        "initializer_range": 0.02, "intermediate_size": 48,
        "layer_types": ["sliding_attention", "full_attention", "sliding_attention",
                        "full_attention"],
        "max_position_embeddings": 2048, "num_attention_heads": 4, "num_hidden_layers": 4,
        "num_key_value_heads": 2, "pad_token_id": 0, "query_pre_attn_scalar": 24,
        "rms_norm_eps": 1e-06, "rope_local_base_freq": 10000.0, "rope_scaling": None,
        "rope_theta": 1000000.0, "sliding_window": 16, "sliding_window_pattern": 2,
        "use_bidirectional_attention": True, "use_cache": True, "vocab_size": 262144,
        "torch_dtype": "float32",
    },
}

# EmbeddingGemma's Dense modules after the pooling: hidden -> 2 hidden ->
# hidden, no bias, Identity
DENSE = {"gemma3_text": [(32, 64), (64, 32)]}


def nomic_width(cfg):
    """NomciBertGatedMLP: n_inner (or 8/3 of the width) up to a multiple of 256."""
    f = cfg.get("n_inner") or int(8 * cfg["n_embd"] / 3)
    return (f + 255) // 256 * 256


# ------------------------------------------------------------ safetensors

def bf16_round(a):
    """float32 -> the bf16 bit patterns (round to nearest even)."""
    u = a.astype(F32).view(np.uint32).astype(np.uint64)
    u = (u + 0x7FFF + ((u >> 16) & 1)) >> 16
    return u.astype(np.uint16)


def stored(a, dtype):
    """The array as the file holds it, and its float32 value."""
    if dtype == "f16":
        h = a.astype(np.float16)
        return h, h.astype(F32)
    if dtype == "bf16":
        b = bf16_round(a)
        return b, (b.astype(np.uint32) << 16).view(F32)
    return a.astype(F32), a.astype(F32)


def save_safetensors(path, tensors, dtype):
    code = {"f32": "F32", "f16": "F16", "bf16": "BF16"}[dtype]
    header, blobs, off = {"__metadata__": {"format": "pt"}}, [], 0
    for name in sorted(tensors):
        b = tensors[name].tobytes()
        header[name] = {"dtype": code, "shape": list(tensors[name].shape),
                        "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h)
        for b in blobs:
            f.write(b)


def load_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        raw = data[t["data_offsets"][0]:t["data_offsets"][1]]
        if t["dtype"] == "F32":
            a = np.frombuffer(raw, F32)
        elif t["dtype"] == "F16":
            a = np.frombuffer(raw, np.float16).astype(F32)
        elif t["dtype"] == "BF16":
            a = (np.frombuffer(raw, np.uint16).astype(np.uint32) << 16).view(F32)
        else:
            continue
        out[name] = a.reshape(t["shape"])
    return out


# ----------------------------------------------------------------- write

def weights(arch, cfg, rng):
    if arch == "nomic_bert":
        H, F, L = cfg["n_embd"], nomic_width(cfg), cfg["n_layer"]
    else:
        H, F, L = cfg["hidden_size"], cfg["intermediate_size"], cfg["num_hidden_layers"]
    V = cfg["vocab_size"]

    def r(*shape, s=0.02):
        return (rng.standard_normal(shape) * s).astype(F32)

    def ln():
        return (1 + r(H, s=0.1)), r(H, s=0.1)

    w = {}
    if arch == "gemma3_text":
        nh, nkv, hd = cfg["num_attention_heads"], cfg["num_key_value_heads"], cfg["head_dim"]
        w["embed_tokens.weight"] = r(V, H, s=0.2)
        w["norm.weight"] = r(H, s=0.1)
        for i in range(L):
            p = f"layers.{i}."
            # Gemma3RMSNorm weights are stored less one, near zero
            for n in ("input_layernorm", "post_attention_layernorm",
                      "pre_feedforward_layernorm", "post_feedforward_layernorm"):
                w[p + n + ".weight"] = r(H, s=0.1)
            w[p + "self_attn.q_proj.weight"] = r(nh * hd, H, s=0.3)
            w[p + "self_attn.k_proj.weight"] = r(nkv * hd, H, s=0.3)
            w[p + "self_attn.v_proj.weight"] = r(nkv * hd, H, s=0.3)
            w[p + "self_attn.o_proj.weight"] = r(H, nh * hd, s=0.2)
            w[p + "self_attn.q_norm.weight"] = r(hd, s=0.1)
            w[p + "self_attn.k_norm.weight"] = r(hd, s=0.1)
            w[p + "mlp.gate_proj.weight"] = r(F, H, s=0.3)
            w[p + "mlp.up_proj.weight"] = r(F, H, s=0.3)
            w[p + "mlp.down_proj.weight"] = r(H, F, s=0.2)
    elif arch == "modernbert":
        w["embeddings.tok_embeddings.weight"] = r(V, H, s=0.5)
        w["embeddings.norm.weight"] = 1 + r(H, s=0.1)
        w["final_norm.weight"] = 1 + r(H, s=0.1)
        for i in range(L):
            p = f"layers.{i}."
            if i:
                w[p + "attn_norm.weight"] = 1 + r(H, s=0.1)
            # smaller than the post-norm models': the residual stream grows
            # through pre-norm layers, and with it float32's rounding
            w[p + "attn.Wqkv.weight"] = r(3 * H, H, s=0.2)
            w[p + "attn.Wo.weight"] = r(H, H, s=0.1)
            w[p + "mlp_norm.weight"] = 1 + r(H, s=0.1)
            w[p + "mlp.Wi.weight"] = r(2 * F, H, s=0.2)
            w[p + "mlp.Wo.weight"] = r(H, F, s=0.1)
    elif arch == "xlm-roberta":
        w["embeddings.word_embeddings.weight"] = r(V, H, s=0.5)
        w["embeddings.position_embeddings.weight"] = r(cfg["max_position_embeddings"], H, s=0.5)
        w["embeddings.token_type_embeddings.weight"] = r(cfg["type_vocab_size"], H, s=0.5)
        w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"] = ln()
        for i in range(L):
            p = f"encoder.layer.{i}."
            for n in ("query", "key", "value"):
                w[p + f"attention.self.{n}.weight"] = r(H, H, s=0.3)
                w[p + f"attention.self.{n}.bias"] = r(H, s=0.1)
            w[p + "attention.output.dense.weight"] = r(H, H, s=0.2)
            w[p + "attention.output.dense.bias"] = r(H, s=0.1)
            w[p + "attention.output.LayerNorm.weight"], w[p + "attention.output.LayerNorm.bias"] = ln()
            w[p + "intermediate.dense.weight"] = r(F, H, s=0.2)
            w[p + "intermediate.dense.bias"] = r(F, s=0.1)
            w[p + "output.dense.weight"] = r(H, F, s=0.2)
            w[p + "output.dense.bias"] = r(H, s=0.1)
            w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"] = ln()
        w["pooler.dense.weight"], w["pooler.dense.bias"] = r(H, H), r(H)
    elif arch == "nomic_bert":
        w["embeddings.word_embeddings.weight"] = r(V, H, s=0.5)
        w["embeddings.token_type_embeddings.weight"] = r(cfg["type_vocab_size"], H, s=0.5)
        w["emb_ln.weight"], w["emb_ln.bias"] = ln()
        for i in range(L):
            p = f"encoder.layers.{i}."
            w[p + "attn.Wqkv.weight"] = r(3 * H, H, s=0.3)
            w[p + "attn.out_proj.weight"] = r(H, H, s=0.2)
            w[p + "mlp.fc11.weight"] = r(F, H, s=0.3)
            w[p + "mlp.fc12.weight"] = r(F, H, s=0.3)
            w[p + "mlp.fc2.weight"] = r(H, F, s=0.2)
            w[p + "norm1.weight"], w[p + "norm1.bias"] = ln()
            w[p + "norm2.weight"], w[p + "norm2.bias"] = ln()
    else:
        nh, nkv, hd = cfg["num_attention_heads"], cfg["num_key_value_heads"], cfg["head_dim"]
        w["embed_tokens.weight"] = r(V, H, s=1.0)
        w["norm.weight"] = 1 + r(H, s=0.1)
        for i in range(L):
            p = f"layers.{i}."
            w[p + "input_layernorm.weight"] = 1 + r(H, s=0.1)
            w[p + "post_attention_layernorm.weight"] = 1 + r(H, s=0.1)
            w[p + "self_attn.q_proj.weight"] = r(nh * hd, H, s=0.3)
            w[p + "self_attn.k_proj.weight"] = r(nkv * hd, H, s=0.3)
            w[p + "self_attn.v_proj.weight"] = r(nkv * hd, H, s=0.3)
            w[p + "self_attn.o_proj.weight"] = r(H, nh * hd, s=0.2)
            w[p + "self_attn.q_norm.weight"] = 1 + r(hd, s=0.1)
            w[p + "self_attn.k_norm.weight"] = 1 + r(hd, s=0.1)
            w[p + "mlp.gate_proj.weight"] = r(F, H, s=0.3)
            w[p + "mlp.up_proj.weight"] = r(F, H, s=0.3)
            w[p + "mlp.down_proj.weight"] = r(H, F, s=0.2)
    return w


def write_tokenizer(arch, out):
    if arch == "xlm-roberta":
        # RobertaProcessing <s> A </s>, <pad> = 1: the all-mpnet-base-v2 file
        tok = json.load(open(os.path.join(DATA, "tokenizers/all-mpnet-base-v2/tokenizer.json")))
        tok["truncation"] = None
        tok["padding"] = None
    elif arch in ("nomic_bert", "modernbert"):
        # nomic-embed-text-v1.5 uses bert-base-uncased's tokenizer; ModernBERT's
        # own BPE file is not in $TOKEMB_DATA, and its [CLS] A [SEP] template
        # is BERT's
        tok = json.load(open(os.path.join(DATA, "tokenizers/bert-base-uncased/tokenizer.json")))
        tok["truncation"] = None
        tok["padding"] = None
    elif arch == "gemma3_text":
        # EmbeddingGemma's tokenizer: <bos> A <eos>
        tok = json.load(open(os.path.join(DATA, "tokenizers/gemma3/tokenizer.json")))
        tok["post_processor"] = {
            "type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": "<bos>", "type_id": 0}},
                       {"Sequence": {"id": "A", "type_id": 0}},
                       {"SpecialToken": {"id": "<eos>", "type_id": 0}}],
            "pair": [{"SpecialToken": {"id": "<bos>", "type_id": 0}},
                     {"Sequence": {"id": "A", "type_id": 0}},
                     {"SpecialToken": {"id": "<eos>", "type_id": 0}},
                     {"Sequence": {"id": "B", "type_id": 1}},
                     {"SpecialToken": {"id": "<eos>", "type_id": 1}}],
            "special_tokens": {"<bos>": {"id": "<bos>", "ids": [2], "tokens": ["<bos>"]},
                               "<eos>": {"id": "<eos>", "ids": [1], "tokens": ["<eos>"]}}}
    else:
        # Qwen3-Embedding ends every input with <|endoftext|>, the token pooled
        tok = json.load(open(os.path.join(DATA, "tokenizers/qwen3/tokenizer.json")))
        eos = "<|endoftext|>"
        tok["post_processor"] = {
            "type": "Sequence", "processors": [
                tok["post_processor"],
                {"type": "TemplateProcessing",
                 "single": [{"Sequence": {"id": "A", "type_id": 0}},
                            {"SpecialToken": {"id": eos, "type_id": 0}}],
                 "pair": [{"Sequence": {"id": "A", "type_id": 0}},
                          {"SpecialToken": {"id": eos, "type_id": 0}},
                          {"Sequence": {"id": "B", "type_id": 1}},
                          {"SpecialToken": {"id": eos, "type_id": 1}}],
                 "special_tokens": {eos: {"id": eos, "ids": [151643], "tokens": [eos]}}}]}
    with open(os.path.join(out, "tokenizer.json"), "w") as f:
        json.dump(tok, f, ensure_ascii=False)


def write(arch, out, dtype="f32", prefix=""):
    cfg = dict(CONFIGS[arch])
    cfg["torch_dtype"] = {"f32": "float32", "f16": "float16", "bf16": "bfloat16"}[dtype]
    dense = DENSE.get(arch, [])
    norm_dir = f"{2 + len(dense)}_Normalize"
    os.makedirs(os.path.join(out, "1_Pooling"), exist_ok=True)
    os.makedirs(os.path.join(out, norm_dir), exist_ok=True)
    rng = np.random.default_rng({"qwen3": 19, "xlm-roberta": 20, "modernbert": 22,
                                 "gemma3_text": 23}.get(arch, 21))
    w = weights(arch, cfg, rng)
    save_safetensors(os.path.join(out, "model.safetensors"),
                     {prefix + k: stored(v, dtype)[0] for k, v in w.items()}, dtype)
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2, sort_keys=True)
    last = arch == "qwen3"
    pool = {"word_embedding_dimension": cfg.get("hidden_size", cfg.get("n_embd")), "pooling_mode_cls_token": False,
            "pooling_mode_mean_tokens": not last, "pooling_mode_max_tokens": False,
            "pooling_mode_mean_sqrt_len_tokens": False,
            "pooling_mode_weightedmean_tokens": False, "pooling_mode_lasttoken": last,
            "include_prompt": True}
    with open(os.path.join(out, "1_Pooling/config.json"), "w") as f:
        json.dump(pool, f, indent=2)
    mods = [{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
            {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"}]
    for i, (fin, fout) in enumerate(dense):
        sub = f"{2 + i}_Dense"
        os.makedirs(os.path.join(out, sub), exist_ok=True)
        with open(os.path.join(out, sub, "config.json"), "w") as f:
            json.dump({"in_features": fin, "out_features": fout, "bias": False,
                       "activation_function": "torch.nn.modules.linear.Identity"}, f, indent=2)
        save_safetensors(os.path.join(out, sub, "model.safetensors"),
                         {"linear.weight": stored(
                             (rng.standard_normal((fout, fin)) / math.sqrt(fin)).astype(F32),
                             dtype)[0]}, dtype)
        mods.append({"idx": 2 + i, "name": str(2 + i), "path": sub,
                     "type": "sentence_transformers.models.Dense"})
    mods.append({"idx": len(mods), "name": str(len(mods)), "path": norm_dir,
                 "type": "sentence_transformers.models.Normalize"})
    with open(os.path.join(out, "modules.json"), "w") as f:
        json.dump(mods, f, indent=2)
    with open(os.path.join(out, "sentence_bert_config.json"), "w") as f:
        json.dump({"max_seq_length": 512 if not last else 8192, "do_lower_case": False}, f)
    st = {"prompts": {"query": "Instruct: Given a web search query, retrieve relevant passages "
                               "that answer the query\nQuery:", "document": ""},
          "default_prompt_name": None, "similarity_fn_name": "cosine"} if last else {}
    if arch == "nomic_bert":
        st = {"prompts": {"query": "search_query: ", "document": "search_document: "},
              "default_prompt_name": None, "similarity_fn_name": "cosine"}
    if arch == "gemma3_text":
        st = {"prompts": {"query": "task: search result | query: ",
                          "document": "title: none | text: "},
              "default_prompt_name": None, "similarity_fn_name": "cosine"}
    with open(os.path.join(out, "config_sentence_transformers.json"), "w") as f:
        json.dump(st, f, indent=2)
    write_tokenizer(arch, out)


# ------------------------------------------------------------- reference

def layer_norm(x, g, b, eps):
    mu = x.mean(-1, keepdims=True, dtype=F32)
    var = ((x - mu) ** 2).mean(-1, keepdims=True, dtype=F32)
    return ((x - mu) / np.sqrt(var + F32(eps)) * g + b).astype(F32)


def gelu(x):
    erf = np.vectorize(math.erf, otypes=[np.float64])
    return (0.5 * x * (1.0 + erf(x.astype(np.float64) / math.sqrt(2.0)))).astype(F32)


def softmax(s):
    s = s - s.max(-1, keepdims=True)
    e = np.exp(s)
    return (e / e.sum(-1, keepdims=True)).astype(F32)


def attend(q, k, v, bias, scale):
    """q (B, nh, T, d), k, v (B, nh, T, d), bias (B, 1, T, T) additive."""
    s = np.matmul(q, k.transpose(0, 1, 3, 2)) * F32(scale) + bias
    return np.matmul(softmax(s.astype(F32)), v)


def roberta(w, cfg, ids, mask):
    """XLMRobertaModel: last_hidden_state (B, T, H)."""
    H, nh = cfg["hidden_size"], cfg["num_attention_heads"]
    d, eps, pad = H // nh, cfg["layer_norm_eps"], cfg["pad_token_id"]
    B, T = ids.shape
    # create_position_ids_from_input_ids: cumsum of the non-pad mask, + pad
    real = (ids != pad).astype(np.int64)
    pos = np.cumsum(real, axis=1) * real + pad
    x = w["embeddings.word_embeddings.weight"][ids] + \
        w["embeddings.token_type_embeddings.weight"][np.zeros_like(ids)] + \
        w["embeddings.position_embeddings.weight"][pos]
    x = layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], eps)
    bias = np.where(mask[:, None, None, :] > 0, F32(0), np.finfo(F32).min).astype(F32)

    def lin(t, n):
        return (t @ w[n + ".weight"].T + w[n + ".bias"]).astype(F32)

    def heads(t):
        return t.reshape(B, T, nh, d).transpose(0, 2, 1, 3)

    for i in range(cfg["num_hidden_layers"]):
        p = f"encoder.layer.{i}."
        q, k, v = (heads(lin(x, p + "attention.self." + n)) for n in ("query", "key", "value"))
        c = attend(q, k, v, bias, 1 / math.sqrt(d)).transpose(0, 2, 1, 3).reshape(B, T, H)
        x = layer_norm(lin(c, p + "attention.output.dense") + x,
                       w[p + "attention.output.LayerNorm.weight"],
                       w[p + "attention.output.LayerNorm.bias"], eps)
        f = gelu(lin(x, p + "intermediate.dense"))
        x = layer_norm(lin(f, p + "output.dense") + x, w[p + "output.LayerNorm.weight"],
                       w[p + "output.LayerNorm.bias"], eps)
    return x


def rms_norm(x, g, eps):
    var = (x * x).mean(-1, keepdims=True, dtype=F32)
    return (g * (x / np.sqrt(var + F32(eps)))).astype(F32)


def rotate_half(x):
    h = x.shape[-1] // 2
    return np.concatenate([-x[..., h:], x[..., :h]], axis=-1)


def qwen3(w, cfg, ids, mask):
    """Qwen3Model: last_hidden_state (B, T, H); positions 0..T-1 as
    cache_position gives them, causal and padding mask."""
    H, nh, nkv, hd = (cfg["hidden_size"], cfg["num_attention_heads"],
                      cfg["num_key_value_heads"], cfg["head_dim"])
    eps = cfg["rms_norm_eps"]
    B, T = ids.shape
    # rope_theta, or in rope_parameters as newer transformers write it
    theta = (cfg.get("rope_parameters") or {}).get("rope_theta", cfg.get("rope_theta"))
    inv = (F32(1) / (F32(theta) ** (np.arange(0, hd, 2).astype(F32) / F32(hd)))).astype(F32)
    freqs = np.arange(T).astype(F32)[:, None] * inv[None, :]
    emb = np.concatenate([freqs, freqs], axis=-1)
    cos, sin = np.cos(emb).astype(F32), np.sin(emb).astype(F32)
    allowed = np.tril(np.ones((T, T), bool))[None] & (mask[:, None, :] > 0)
    bias = np.where(allowed, F32(0), np.finfo(F32).min).astype(F32)[:, None]
    x = w["embed_tokens.weight"][ids]

    def rope(t):
        return (t * cos + rotate_half(t) * sin).astype(F32)

    for i in range(cfg["num_hidden_layers"]):
        p = f"layers.{i}."
        h = rms_norm(x, w[p + "input_layernorm.weight"], eps)
        q = (h @ w[p + "self_attn.q_proj.weight"].T).reshape(B, T, nh, hd)
        k = (h @ w[p + "self_attn.k_proj.weight"].T).reshape(B, T, nkv, hd)
        v = (h @ w[p + "self_attn.v_proj.weight"].T).reshape(B, T, nkv, hd)
        q = rope(rms_norm(q, w[p + "self_attn.q_norm.weight"], eps).transpose(0, 2, 1, 3))
        k = rope(rms_norm(k, w[p + "self_attn.k_norm.weight"], eps).transpose(0, 2, 1, 3))
        v = v.transpose(0, 2, 1, 3)
        k, v = np.repeat(k, nh // nkv, axis=1), np.repeat(v, nh // nkv, axis=1)
        c = attend(q, k, v, bias, hd ** -0.5).transpose(0, 2, 1, 3).reshape(B, T, nh * hd)
        x = (x + c @ w[p + "self_attn.o_proj.weight"].T).astype(F32)
        h = rms_norm(x, w[p + "post_attention_layernorm.weight"], eps)
        g = h @ w[p + "mlp.gate_proj.weight"].T
        u = h @ w[p + "mlp.up_proj.weight"].T
        g = (g / (1 + np.exp(-g.astype(np.float64)))).astype(F32)
        x = (x + (g * u) @ w[p + "mlp.down_proj.weight"].T).astype(F32)
    return rms_norm(x, w["norm.weight"], eps)


def nomic_bert(w, cfg, ids, mask):
    """NomicBertModel: last_hidden_state (B, T, H); positions 0..T-1."""
    H, nh = cfg["n_embd"], cfg["n_head"]
    d, eps = H // nh, cfg["layer_norm_epsilon"]
    B, T = ids.shape
    x = w["embeddings.word_embeddings.weight"][ids] + \
        w["embeddings.token_type_embeddings.weight"][np.zeros_like(ids)]
    x = layer_norm(x, w["emb_ln.weight"], w["emb_ln.bias"], eps)
    rd = int(d * cfg["rotary_emb_fraction"])
    inv = (F32(1) / (F32(cfg["rotary_emb_base"]) **
                     (np.arange(0, rd, 2).astype(F32) / F32(rd)))).astype(F32)
    freqs = np.arange(T).astype(F32)[:, None] * inv[None, :]
    cos = np.concatenate([np.cos(freqs)] * 2, axis=-1).astype(F32)
    sin = np.concatenate([np.sin(freqs)] * 2, axis=-1).astype(F32)
    bias = np.where(mask[:, None, None, :] > 0, F32(0), np.finfo(F32).min).astype(F32)

    def rope(t):
        """t (B, nh, T, d): the first rd components of each head turn."""
        r = (t[..., :rd] * cos + rotate_half(t[..., :rd]) * sin).astype(F32)
        return np.concatenate([r, t[..., rd:]], axis=-1)

    for i in range(cfg["n_layer"]):
        p = f"encoder.layers.{i}."
        qkv = (x @ w[p + "attn.Wqkv.weight"].T).reshape(B, T, 3, nh, d)
        q, k, v = (qkv[:, :, j].transpose(0, 2, 1, 3) for j in range(3))
        c = attend(rope(q), rope(k), v, bias, 1 / math.sqrt(d))
        c = c.transpose(0, 2, 1, 3).reshape(B, T, H)
        x = layer_norm((c @ w[p + "attn.out_proj.weight"].T + x).astype(F32),
                       w[p + "norm1.weight"], w[p + "norm1.bias"], eps)
        y = x @ w[p + "mlp.fc11.weight"].T
        g = x @ w[p + "mlp.fc12.weight"].T
        y = (y * (g / (1 + np.exp(-g.astype(np.float64))))).astype(F32)
        x = layer_norm((y @ w[p + "mlp.fc2.weight"].T + x).astype(F32),
                       w[p + "norm2.weight"], w[p + "norm2.bias"], eps)
    return x


def modernbert(w, cfg, ids, mask):
    """ModernBertModel: last_hidden_state (B, T, H); positions 0..T-1."""
    H, nh = cfg["hidden_size"], cfg["num_attention_heads"]
    d, eps = H // nh, cfg["norm_eps"]
    B, T = ids.shape
    zero = np.zeros(H, F32)

    def ln(x, n):
        return layer_norm(x, w[n + ".weight"], w.get(n + ".bias", zero), eps)

    def tables(theta):
        inv = (F32(1) / (F32(theta) ** (np.arange(0, d, 2).astype(F32) / F32(d)))).astype(F32)
        freqs = np.arange(T).astype(F32)[:, None] * inv[None, :]
        emb = np.concatenate([freqs, freqs], axis=-1)
        return np.cos(emb).astype(F32), np.sin(emb).astype(F32)

    # _update_attention_mask: the padding mask, and within it the window
    glob = np.where(mask[:, None, None, :] > 0, F32(0), np.finfo(F32).min).astype(F32)
    rows = np.arange(T)
    near = np.abs(rows[None, :] - rows[:, None]) <= cfg["local_attention"] // 2
    local = np.where(near[None, None], glob, np.finfo(F32).min).astype(F32)
    # the layer types and RoPE bases as older (global_attn_every_n_layers,
    # global_rope_theta, local_rope_theta) or newer transformers (layer_types,
    # rope_parameters) write them
    L, every = cfg["num_hidden_layers"], cfg.get("global_attn_every_n_layers", 3)
    types = cfg.get("layer_types") or [
        "sliding_attention" if i % every else "full_attention" for i in range(L)]
    rp = cfg.get("rope_parameters") or {}
    theta = {"full_attention": rp.get("full_attention", {}).get(
                 "rope_theta", cfg.get("global_rope_theta", 160000.0)),
             "sliding_attention": rp.get("sliding_attention", {}).get(
                 "rope_theta", cfg.get("local_rope_theta", 10000.0))}
    x = ln(w["embeddings.tok_embeddings.weight"][ids], "embeddings.norm")
    for i in range(L):
        p = f"layers.{i}."
        is_global = types[i] == "full_attention"
        cos, sin = tables(theta[types[i]])
        h = x if i == 0 else ln(x, p + "attn_norm")
        qkv = (h @ w[p + "attn.Wqkv.weight"].T).reshape(B, T, 3, nh, d)
        q, k, v = (qkv[:, :, j].transpose(0, 2, 1, 3) for j in range(3))
        q = (q * cos + rotate_half(q) * sin).astype(F32)
        k = (k * cos + rotate_half(k) * sin).astype(F32)
        c = attend(q, k, v, glob if is_global else local, d ** -0.5)
        c = c.transpose(0, 2, 1, 3).reshape(B, T, H)
        x = (x + c @ w[p + "attn.Wo.weight"].T).astype(F32)
        a, g = np.split(ln(x, p + "mlp_norm") @ w[p + "mlp.Wi.weight"].T, 2, axis=-1)
        x = (x + (gelu(a) * g) @ w[p + "mlp.Wo.weight"].T).astype(F32)
    return ln(x, "final_norm")


def gemma3(w, cfg, ids, mask):
    """Gemma3TextModel: last_hidden_state (B, T, H); positions 0..T-1."""
    H, nh, nkv, hd = (cfg["hidden_size"], cfg["num_attention_heads"],
                      cfg["num_key_value_heads"], cfg["head_dim"])
    eps, L = cfg["rms_norm_eps"], cfg["num_hidden_layers"]
    B, T = ids.shape
    bidir = cfg.get("use_bidirectional_attention", False)
    # Gemma3TextConfig: the bidirectional window becomes an exclusive radius
    sw = cfg["sliding_window"] // 2 + 1 if bidir else cfg["sliding_window"]
    pattern = cfg.get("sliding_window_pattern", 6)
    types = cfg.get("layer_types") or [
        "sliding_attention" if (i + 1) % pattern else "full_attention" for i in range(L)]
    rp = cfg.get("rope_parameters") or {}
    theta = {"full_attention": rp.get("full_attention", {}).get("rope_theta", cfg.get("rope_theta")),
             "sliding_attention": rp.get("sliding_attention", {}).get(
                 "rope_theta", cfg.get("rope_local_base_freq"))}

    def norm(x, n):
        # Gemma3RMSNorm: x * rsqrt(mean(x^2) + eps) * (1 + weight)
        return rms_norm(x, (F32(1) + w[n + ".weight"]).astype(F32), eps)

    def tables(base):
        inv = (F32(1) / (F32(base) ** (np.arange(0, hd, 2).astype(F32) / F32(hd)))).astype(F32)
        freqs = np.arange(T).astype(F32)[:, None] * inv[None, :]
        emb = np.concatenate([freqs, freqs], axis=-1)
        return np.cos(emb).astype(F32), np.sin(emb).astype(F32)

    # create_causal_mask / create_sliding_window_causal_mask, with the
    # or_mask_function of use_bidirectional_attention, and the padding
    q, k = np.arange(T)[:, None], np.arange(T)[None, :]
    causal = k <= q
    allow = {"full_attention": np.ones((T, T), bool) if bidir else causal,
             "sliding_attention": (causal & (k > q - sw)) | (bidir & (np.abs(q - k) < sw))}
    bias = {t: np.where(a[None] & (mask[:, None, :] > 0), F32(0),
                        np.finfo(F32).min).astype(F32)[:, None] for t, a in allow.items()}
    # Gemma3TextScaledWordEmbedding: the rows times sqrt(hidden_size) in float32
    x = (w["embed_tokens.weight"][ids] * F32(H ** 0.5)).astype(F32)
    for i in range(L):
        p, t = f"layers.{i}.", types[i]
        cos, sin = tables(theta[t])

        def rope(v):
            return (v * cos + rotate_half(v) * sin).astype(F32)

        h = norm(x, p + "input_layernorm")
        qs = (h @ w[p + "self_attn.q_proj.weight"].T).reshape(B, T, nh, hd)
        ks = (h @ w[p + "self_attn.k_proj.weight"].T).reshape(B, T, nkv, hd)
        vs = (h @ w[p + "self_attn.v_proj.weight"].T).reshape(B, T, nkv, hd)
        qs = rope(norm(qs, p + "self_attn.q_norm").transpose(0, 2, 1, 3))
        ks = rope(norm(ks, p + "self_attn.k_norm").transpose(0, 2, 1, 3))
        vs = vs.transpose(0, 2, 1, 3)
        ks, vs = np.repeat(ks, nh // nkv, axis=1), np.repeat(vs, nh // nkv, axis=1)
        c = attend(qs, ks, vs, bias[t], cfg["query_pre_attn_scalar"] ** -0.5)
        c = c.transpose(0, 2, 1, 3).reshape(B, T, nh * hd)
        x = (x + norm((c @ w[p + "self_attn.o_proj.weight"].T).astype(F32),
                      p + "post_attention_layernorm")).astype(F32)
        h = norm(x, p + "pre_feedforward_layernorm")
        g = (h @ w[p + "mlp.gate_proj.weight"].T).astype(F32)
        g = (F32(0.5) * g * (F32(1) + np.tanh(F32(math.sqrt(2 / math.pi)) *
                                             (g + F32(0.044715) * g * g * g)))).astype(F32)
        u = h @ w[p + "mlp.up_proj.weight"].T
        x = (x + norm(((g * u) @ w[p + "mlp.down_proj.weight"].T).astype(F32),
                      p + "post_feedforward_layernorm")).astype(F32)
    return norm(x, "norm")


def sentence(h, mask, last, dense=()):
    """sentence-transformers Pooling (mean or lasttoken), the Dense modules
    (bias-free, Identity), then Normalize."""
    if last:
        # the last position whose mask is 1 (left or right padding)
        idx = mask.shape[1] - 1 - np.argmax(mask[:, ::-1], axis=1)
        e = h[np.arange(h.shape[0]), idx]
    else:
        m = mask[:, :, None].astype(F32)
        e = (h * m).sum(1) / np.maximum(m.sum(1), F32(1e-9))
    for d in dense:
        e = (e @ d.T).astype(F32)
    n = np.maximum(np.sqrt((e * e).sum(-1, keepdims=True)), F32(1e-12))
    return (e / n).astype(F32)


def fl(a):
    return [fl(x) for x in a] if isinstance(a, np.ndarray) and a.ndim else float(repr(F32(a)))


def ref(out, idsfile):
    cfg = json.load(open(os.path.join(out, "config.json")))
    w = load_safetensors(os.path.join(out, "model.safetensors"))
    emb = [k for k in w if k.endswith(("embeddings.word_embeddings.weight", "embed_tokens.weight",
                                       "embeddings.tok_embeddings.weight"))][0]
    pre = emb[:emb.index("embe")]
    w = {k[len(pre):]: v for k, v in w.items()}
    arch = cfg["model_type"]
    fwd = {"qwen3": qwen3, "nomic_bert": nomic_bert, "modernbert": modernbert,
           "gemma3_text": gemma3}.get(arch, roberta)
    dense = [load_safetensors(os.path.join(out, m["path"], "model.safetensors"))["linear.weight"]
             for m in json.load(open(os.path.join(out, "modules.json")))
             if m["type"].endswith(".Dense")]
    last = arch == "qwen3"
    pad = cfg.get("pad_token_id")
    pad = {"qwen3": 151643}.get(arch, 0) if pad is None else pad
    docs = [[int(t) for t in l.split()] for l in open(idsfile) if l.strip()]
    for i, d in enumerate(docs):
        ids = np.array([d], np.int64)
        mask = np.ones_like(ids)
        h = fwd(w, cfg, ids, mask)
        print(json.dumps({"name": f"doc_{i + 1}", "ids": d, "last_hidden_state": fl(h[0]),
                          "sentence_embedding": fl(sentence(h, mask, last, dense)[0])}))
    T = max(len(d) for d in docs)
    for name, left in (("batch_padded", False), ("batch_left_padded", True)):
        if left and not last:
            continue
        ids = np.full((len(docs), T), pad, np.int64)
        mask = np.zeros_like(ids)
        for i, d in enumerate(docs):
            s = slice(T - len(d), T) if left else slice(0, len(d))
            ids[i, s], mask[i, s] = d, 1
        h = fwd(w, cfg, ids, mask)
        print(json.dumps({"name": name, "ids": ids.tolist(), "attention_mask": mask.tolist(),
                          "last_hidden_state": fl(h),
                          "sentence_embedding": fl(sentence(h, mask, last, dense))}))


def case(path, name):
    c = [json.loads(l) for l in open(path) if json.loads(l)["name"] == name][0]
    batched = isinstance(c["ids"][0], list)
    ids = c["ids"] if batched else [c["ids"]]
    mask = c.get("attention_mask") or [[1] * len(x) for x in ids]
    return c, batched, ids, mask


def print_ids(path, name):
    _, _, ids, mask = case(path, name)
    for x, m in zip(ids, mask):
        print(" ".join(str(i) for i, k in zip(x, m) if k))


def compare(path, name, field, tol=1e-5):
    c, batched, _, mask = case(path, name)
    want = c[field] if batched else [c[field]]
    text = sys.stdin.read()
    if field == "last_hidden_state":
        got = [[[float(v) for v in r.split()] for r in d.split("\n") if r]
               for d in text.split("\n\n") if d.strip()]
        want = [[r for r, k in zip(wd, m) if k] for wd, m in zip(want, mask)]
    else:
        got = [[float(v) for v in r.split()] for r in text.split("\n") if r]
    assert len(got) == len(want), (len(got), len(want))
    worst, cos = 0.0, 1.0
    for g, e in zip(got, want):
        g, e = np.array(g, np.float64), np.array(e, np.float64)
        assert g.shape == e.shape, (g.shape, e.shape)
        worst = max(worst, float(np.abs(g - e).max()))
        if field != "last_hidden_state":
            cos = min(cos, float(g @ e / math.sqrt((g @ g) * (e @ e))))
    print("max abs diff", worst, "min cosine", cos)
    return 0 if worst <= tol and cos >= 0.99999 else 1


def main(argv):
    if len(argv) >= 3 and argv[0] == "write":
        opts = dict(zip(argv[3::2], argv[4::2]))
        write(argv[1], argv[2], opts.get("--dtype", "f32"), opts.get("--prefix", ""))
    elif len(argv) == 3 and argv[0] == "ref":
        ref(argv[1], argv[2])
    elif len(argv) == 3 and argv[0] == "ids":
        print_ids(argv[1], argv[2])
    elif len(argv) in (4, 5) and argv[0] == "compare":
        return compare(argv[1], argv[2], argv[3], float(argv[4]) if len(argv) == 5 else 1e-5)
    else:
        sys.stderr.write(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
