#!/usr/bin/python3
"""emb-token vs PyTorch on a MiniLM-L6-shaped BERT (6 layers, 384 hidden,
12 heads, 1536 FFN, vocab 30522) with random weights written here.

Usage: /usr/bin/python3 bench/emb_bench.py [--bin build/bin] [--threads 1,2]
       [--short N] [--long N] [--batch 32] [--cuda]
       [--arch bert|qwen3|modernbert|gemma3_text] [--layers N]

--arch qwen3, modernbert or gemma3_text: the layers of Qwen3-Embedding-0.6B
(1024 wide, 16 query and 8 K/V heads of 128, SwiGLU 3072, causal),
ModernBERT-base (768 wide, 12 heads, GeGLU 1152, every third layer global,
the others a 128-token window) or EmbeddingGemma-300m (768 wide, 3 query
heads and 1 K/V head of 256, GeGLU 1152, five 512-token sliding layers to a
global one, bidirectional), --layers of them (default 6) on a 32768-row
table, random weights written by t/gen-emb-arch.py's code; PyTorch runs
the forward pass written here from that file's NumPy reference in torch
ops (eager attention, as transformers' eager path does it).

With --cuda (a GPU machine, --bin build-cuda/bin): both sides on the GPU,
emb-token's whole process (CUDA start-up and weight upload included) against
PyTorch's forward passes after a warm-up batch.

Both sides run the same architecture on the same ids: PyTorch (Debian
python3-torch) with torch.nn.functional ops as Hugging Face's BertModel does
them, batch by batch, no_grad, torch.set_num_threads(T); emb-token -t T -b
(TEVEC output to /dev/null) on the same ids.  Reports sentences/second, the
peak RSS of each process, the ratio, and the max abs difference of the last
hidden states on the first sentences (the two must agree).

On an x86-64 CPU with AVX-512, emb-token's matrix products run on its own
packed-weight kernel (lib/kern.c), not OpenBLAS, so OPENBLAS_CORETYPE
(set to Haswell on the dev machines) changes only PyTorch's side: run it
both ways, e.g. env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE /usr/bin/python3
bench/emb_bench.py --short 512 --long 32.  On a busy machine compare the
cpu x column: torch's OpenMP waits inflate its wall time.
"""
import argparse, json, os, resource, struct, subprocess, sys, tempfile, time

import numpy as np

V, H, NH, F, L, P = 30522, 384, 12, 1536, 6, 512


def make_model(d, seed=0):
    rng = np.random.default_rng(seed)
    t = {}
    g = lambda *s, sc=0.02: (rng.standard_normal(s) * sc).astype(np.float32)
    t["embeddings.word_embeddings.weight"] = g(V, H)
    t["embeddings.position_embeddings.weight"] = g(P, H)
    t["embeddings.token_type_embeddings.weight"] = g(2, H)
    t["embeddings.LayerNorm.weight"] = 1 + g(H, sc=0.1)
    t["embeddings.LayerNorm.bias"] = g(H, sc=0.1)
    for i in range(L):
        p = "encoder.layer.%d." % i
        for n in ("attention.self.query", "attention.self.key", "attention.self.value",
                  "attention.output.dense"):
            t[p + n + ".weight"] = g(H, H, sc=H ** -0.5)
            t[p + n + ".bias"] = g(H, sc=0.1)
        t[p + "attention.output.LayerNorm.weight"] = 1 + g(H, sc=0.1)
        t[p + "attention.output.LayerNorm.bias"] = g(H, sc=0.1)
        t[p + "intermediate.dense.weight"] = g(F, H, sc=H ** -0.5)
        t[p + "intermediate.dense.bias"] = g(F, sc=0.1)
        t[p + "output.dense.weight"] = g(H, F, sc=F ** -0.5)
        t[p + "output.dense.bias"] = g(H, sc=0.1)
        t[p + "output.LayerNorm.weight"] = 1 + g(H, sc=0.1)
        t[p + "output.LayerNorm.bias"] = g(H, sc=0.1)
    hdr, off = {"__metadata__": {"format": "pt"}}, 0
    for k in sorted(t):
        n = t[k].nbytes
        hdr[k] = {"dtype": "F32", "shape": list(t[k].shape), "data_offsets": [off, off + n]}
        off += n
    h = json.dumps(hdr).encode()
    h += b" " * (-len(h) % 8)
    with open(os.path.join(d, "model.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h)
        for k in sorted(t):
            f.write(t[k].tobytes())
    cfg = {"architectures": ["BertModel"], "hidden_act": "gelu", "hidden_size": H,
           "intermediate_size": F, "layer_norm_eps": 1e-12, "max_position_embeddings": P,
           "model_type": "bert", "num_attention_heads": NH, "num_hidden_layers": L,
           "pad_token_id": 0, "position_embedding_type": "absolute", "type_vocab_size": 2,
           "vocab_size": V}
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)




def torch_run(model_dir, ids_path, threads, batch, out_path, nref, dev="cpu"):
    """Runs in a child process so that its peak RSS is its own."""
    import torch
    import torch.nn.functional as Fn
    torch.set_num_threads(threads)
    if dev == "cuda":
        # the same float32 arithmetic as the CPU side: no TF32 shortcuts
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
    with open(os.path.join(model_dir, "model.safetensors"), "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        hdr = json.loads(f.read(n))
        base = 8 + n
    mm = np.memmap(os.path.join(model_dir, "model.safetensors"), dtype=np.uint8, mode="r")
    W = {}
    for k, v in hdr.items():
        if k == "__metadata__":
            continue
        b, e = v["data_offsets"]
        W[k] = torch.from_numpy(np.array(mm[base + b: base + e]).view(np.float32).reshape(v["shape"])).to(dev)
    docs = [list(map(int, l.split())) for l in open(ids_path)]
    eps, d = 1e-12, H // NH

    def forward(ids):
        B, T = ids.shape
        x = W["embeddings.word_embeddings.weight"][ids] + \
            W["embeddings.token_type_embeddings.weight"][0] + \
            W["embeddings.position_embeddings.weight"][:T]
        x = Fn.layer_norm(x, (H,), W["embeddings.LayerNorm.weight"], W["embeddings.LayerNorm.bias"], eps)
        for i in range(L):
            p = "encoder.layer.%d." % i
            lin = lambda t, n: Fn.linear(t, W[p + n + ".weight"], W[p + n + ".bias"])
            q = lin(x, "attention.self.query").view(B, T, NH, d).transpose(1, 2)
            k = lin(x, "attention.self.key").view(B, T, NH, d).transpose(1, 2)
            v = lin(x, "attention.self.value").view(B, T, NH, d).transpose(1, 2)
            s = torch.matmul(q, k.transpose(-1, -2)) / (d ** 0.5)
            a = torch.softmax(s, dim=-1)
            c = torch.matmul(a, v).transpose(1, 2).reshape(B, T, H)
            x = Fn.layer_norm(lin(c, "attention.output.dense") + x, (H,),
                              W[p + "attention.output.LayerNorm.weight"],
                              W[p + "attention.output.LayerNorm.bias"], eps)
            f = Fn.gelu(lin(x, "intermediate.dense"))
            x = Fn.layer_norm(lin(f, "output.dense") + x, (H,),
                              W[p + "output.LayerNorm.weight"], W[p + "output.LayerNorm.bias"], eps)
        return x

    cfg = json.load(open(os.path.join(model_dir, "config.json")))
    if cfg["model_type"] != "bert":
        forward = torch_arch_forward(W, cfg)
    ref = []
    if dev == "cuda":   # warm up: CUDA context, cuBLAS handles, kernels
        with torch.no_grad():
            forward(torch.tensor(docs[:batch]).to(dev))
        torch.cuda.synchronize()
    c0 = time.process_time()
    t0 = time.perf_counter()
    with torch.no_grad():
        for i in range(0, len(docs), batch):
            ids = torch.tensor(docs[i:i + batch]).to(dev)
            h = forward(ids)
            if i == 0:
                ref = h[:nref].cpu().numpy().copy()
    if dev == "cuda":
        torch.cuda.synchronize()
    dt = time.perf_counter() - t0
    cpu = time.process_time() - c0
    np.save(out_path, ref)
    return dt, cpu


# ---------------------------------------------------- the newer architectures

SHAPES = {
    "qwen3": {"hidden_size": 1024, "num_attention_heads": 16, "num_key_value_heads": 8,
              "head_dim": 128, "intermediate_size": 3072},
    "modernbert": {"hidden_size": 768, "num_attention_heads": 12, "intermediate_size": 1152,
                   "local_attention": 128},
    "gemma3_text": {"hidden_size": 768, "num_attention_heads": 3, "num_key_value_heads": 1,
                    "head_dim": 256, "intermediate_size": 1152, "query_pre_attn_scalar": 256,
                    "sliding_window": 512, "sliding_window_pattern": 6},
}
ARCH_V = 32768


def gen_module():
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        "gen", os.path.join(os.path.dirname(os.path.abspath(__file__)), "../t/gen-emb-arch.py"))
    g = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(g)
    return g


def make_arch_model(d, arch, layers):
    """The test generator's checkpoint of arch at the real model's widths,
    its matrices rescaled to unit-variance outputs."""
    g = gen_module()
    cfg = dict(g.CONFIGS[arch], **SHAPES[arch], num_hidden_layers=layers, vocab_size=ARCH_V)
    cfg.pop("layer_types", None)
    w = g.weights(arch, cfg, np.random.default_rng(3))
    for k, v in w.items():
        if v.ndim == 2 and "embed" not in k:
            w[k] = (v / v.std() / np.sqrt(v.shape[1])).astype(np.float32)
    g.save_safetensors(os.path.join(d, "model.safetensors"), w, "f32")
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    return cfg


def torch_arch_forward(W, cfg):
    """The forward pass of t/gen-emb-arch.py's reference in torch ops, for
    ids (B, T) without padding."""
    import torch
    import torch.nn.functional as Fn
    arch, Hd, L = cfg["model_type"], cfg["hidden_size"], cfg["num_hidden_layers"]
    nh = cfg["num_attention_heads"]
    nkv = cfg.get("num_key_value_heads", nh)
    hd = cfg.get("head_dim", Hd // nh)
    plus1 = 1.0 if arch == "gemma3_text" else 0.0

    def rms(x, n, eps=1e-6):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * (plus1 + W[n + ".weight"])

    def ln(x, n):
        return Fn.layer_norm(x, (Hd,), W[n + ".weight"], W.get(n + ".bias"), cfg["norm_eps"])

    def tables(theta, T):
        inv = 1.0 / theta ** (torch.arange(0, hd, 2, dtype=torch.float32) / hd)
        f = torch.arange(T, dtype=torch.float32)[:, None] * inv[None, :]
        e = torch.cat([f, f], -1)
        return e.cos(), e.sin()

    def rope(v, cs):
        h = v.shape[-1] // 2
        return v * cs[0] + torch.cat([-v[..., h:], v[..., :h]], -1) * cs[1]

    def attend(q, k, v, mask, scale):
        k = k.repeat_interleave(nh // k.shape[1], 1)
        v = v.repeat_interleave(nh // v.shape[1], 1)
        s = torch.matmul(q, k.transpose(-1, -2)) * scale
        if mask is not None:
            s = s + mask
        c = torch.matmul(torch.softmax(s, -1), v)
        return c.transpose(1, 2).reshape(q.shape[0], q.shape[2], nh * hd)

    def masks(T, window, causal):
        i = torch.arange(T)[:, None]
        j = torch.arange(T)[None, :]
        neg = torch.finfo(torch.float32).min
        full = (j <= i) if causal else torch.ones(T, T, dtype=torch.bool)
        local = (i - j).abs() <= window
        z = torch.zeros(T, T)
        return (None if not causal else z.masked_fill(~full, neg),
                z.masked_fill(~(full & local), neg))

    def forward(ids):
        B, T = ids.shape
        if arch == "qwen3":
            cs = tables(cfg["rope_theta"], T)
            m, _ = masks(T, T, True)
            x = W["embed_tokens.weight"][ids]
            for i in range(L):
                p = "layers.%d." % i
                h = rms(x, p + "input_layernorm")
                q = rms(Fn.linear(h, W[p + "self_attn.q_proj.weight"]).view(B, T, nh, hd),
                        p + "self_attn.q_norm").transpose(1, 2)
                k = rms(Fn.linear(h, W[p + "self_attn.k_proj.weight"]).view(B, T, nkv, hd),
                        p + "self_attn.k_norm").transpose(1, 2)
                v = Fn.linear(h, W[p + "self_attn.v_proj.weight"]).view(B, T, nkv, hd).transpose(1, 2)
                x = x + Fn.linear(attend(rope(q, cs), rope(k, cs), v, m, hd ** -0.5),
                                  W[p + "self_attn.o_proj.weight"])
                h = rms(x, p + "post_attention_layernorm")
                x = x + Fn.linear(Fn.silu(Fn.linear(h, W[p + "mlp.gate_proj.weight"])) *
                                  Fn.linear(h, W[p + "mlp.up_proj.weight"]), W[p + "mlp.down_proj.weight"])
            return rms(x, "norm")
        if arch == "modernbert":
            cg, cl = tables(cfg["global_rope_theta"], T), tables(cfg["local_rope_theta"], T)
            _, ml = masks(T, cfg["local_attention"] // 2, False)
            x = ln(W["embeddings.tok_embeddings.weight"][ids], "embeddings.norm")
            for i in range(L):
                p = "layers.%d." % i
                glob = i % cfg["global_attn_every_n_layers"] == 0
                cs = cg if glob else cl
                h = x if i == 0 else ln(x, p + "attn_norm")
                qkv = Fn.linear(h, W[p + "attn.Wqkv.weight"]).view(B, T, 3, nh, hd)
                q, k, v = qkv.transpose(3, 1).unbind(2)
                c = attend(rope(q, cs), rope(k, cs), v, None if glob else ml, hd ** -0.5)
                x = x + Fn.linear(c, W[p + "attn.Wo.weight"])
                a, g = Fn.linear(ln(x, p + "mlp_norm"), W[p + "mlp.Wi.weight"]).chunk(2, -1)
                x = x + Fn.linear(Fn.gelu(a) * g, W[p + "mlp.Wo.weight"])
            return ln(x, "final_norm")
        # gemma3_text, bidirectional
        cg, cl = tables(cfg["rope_theta"], T), tables(cfg["rope_local_base_freq"], T)
        _, ml = masks(T, cfg["sliding_window"] // 2, False)
        x = W["embed_tokens.weight"][ids] * torch.tensor(Hd ** 0.5)
        for i in range(L):
            p = "layers.%d." % i
            glob = (i + 1) % cfg["sliding_window_pattern"] == 0
            cs = cg if glob else cl
            h = rms(x, p + "input_layernorm")
            q = rms(Fn.linear(h, W[p + "self_attn.q_proj.weight"]).view(B, T, nh, hd),
                    p + "self_attn.q_norm").transpose(1, 2)
            k = rms(Fn.linear(h, W[p + "self_attn.k_proj.weight"]).view(B, T, nkv, hd),
                    p + "self_attn.k_norm").transpose(1, 2)
            v = Fn.linear(h, W[p + "self_attn.v_proj.weight"]).view(B, T, nkv, hd).transpose(1, 2)
            c = attend(rope(q, cs), rope(k, cs), v, None if glob else ml,
                       cfg["query_pre_attn_scalar"] ** -0.5)
            x = x + rms(Fn.linear(c, W[p + "self_attn.o_proj.weight"]), p + "post_attention_layernorm")
            h = rms(x, p + "pre_feedforward_layernorm")
            f = Fn.gelu(Fn.linear(h, W[p + "mlp.gate_proj.weight"]), approximate="tanh") * \
                Fn.linear(h, W[p + "mlp.up_proj.weight"])
            x = x + rms(Fn.linear(f, W[p + "mlp.down_proj.weight"]), p + "post_feedforward_layernorm")
        return rms(x, "norm")
    return forward


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default="build/bin")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--short", type=int, default=1024, help="16-token sentences")
    ap.add_argument("--long", type=int, default=64, help="256-token sentences")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--cuda", action="store_true",
                    help="GPU on both sides: --bin must hold a CUDA build (make CUDA=1), "
                         "PyTorch runs on cuda (float32, TF32 off, after a warm-up batch)")
    ap.add_argument("--arch", default="bert", choices=["bert", *SHAPES],
                    help="the model's architecture: bert (MiniLM-L6's shape) or the "
                         "layers of Qwen3-Embedding-0.6B, ModernBERT-base, EmbeddingGemma-300m")
    ap.add_argument("--layers", type=int, default=6, help="layers of --arch other than bert")
    ap.add_argument("--child", nargs=7, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        md, ids, th, b, out, nref, dev = a.child
        dt, cpu = torch_run(md, ids, int(th), int(b), out, int(nref), dev)
        print(json.dumps({"seconds": dt, "cpu": cpu,
                          "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
        return
    rng = np.random.default_rng(1)
    tmp = tempfile.mkdtemp(prefix="emb-bench-")
    hidden, vocab, what = H, V, "MiniLM-L6 shape (6 x 384, 12 heads, FFN 1536, vocab 30522)"
    if a.arch == "bert":
        make_model(tmp)
    else:
        cfg = make_arch_model(tmp, a.arch, a.layers)
        hidden, vocab = cfg["hidden_size"], ARCH_V
        what = "%s layers (%d x %d, %d/%d heads of %d, FFN %d, vocab %d)" % (
            a.arch, a.layers, hidden, cfg["num_attention_heads"],
            cfg.get("num_key_value_heads", cfg["num_attention_heads"]),
            cfg.get("head_dim", hidden // cfg["num_attention_heads"]),
            cfg["intermediate_size"], vocab)
    import torch
    print("model: %s, random F32, %.1f MB; torch %s; emb-token %s" % (
              what, os.path.getsize(os.path.join(tmp, "model.safetensors")) / 1e6, torch.__version__,
              subprocess.run([os.path.join(a.bin, "emb-token"), "--version"],
                             capture_output=True, text=True).stdout.split("\n")[1]))
    print("%-8s %3s %5s | %9s %9s %7s | %9s %9s %7s | %6s %6s | %s" % (
        "input", "thr", "sents", "tokemb/s", "cpu-s", "RSS MB", "torch/s", "cpu-s", "RSS MB",
        "wall x", "cpu x", "max|diff|"))
    for name, T, N in (("short", 16, a.short), ("long", 256, a.long)):
        ids_path = os.path.join(tmp, "ids-%d.txt" % T)
        with open(ids_path, "w") as f:
            for _ in range(N):
                body = rng.integers(1000, vocab, size=T - 2)
                f.write(" ".join(map(str, [101, *body, 102])) + "\n")
        for th in [int(x) for x in a.threads.split(",")]:
            nref = 4
            # tokemb: binary output to a file; time and peak RSS from /usr/bin/time
            out_bin = os.path.join(tmp, "out.bin")
            ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
            t0 = time.perf_counter()
            timer = ["/usr/bin/time", "-f", "%M"] if os.path.exists("/usr/bin/time") else []
            r = subprocess.run(timer + [os.path.join(a.bin, "emb-token"),
                                "-m", tmp, "-t", str(th), "-b", "--batch", str(a.batch),
                                ids_path], stdout=open(out_bin, "wb"),
                               stderr=subprocess.PIPE, text=True)
            te_dt = time.perf_counter() - t0
            ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
            te_cpu = (ru1.ru_utime + ru1.ru_stime) - (ru0.ru_utime + ru0.ru_stime)
            if r.returncode:
                sys.exit("emb-token failed: " + r.stderr)
            te_rss = (int(r.stderr.strip().split("\n")[-1]) if timer else ru1.ru_maxrss) / 1024
            # torch child
            ref_path = os.path.join(tmp, "ref.npy")
            # torch.set_num_threads alone leaves its BLAS and OpenMP pools at
            # every core; hold them to the same thread count as emb-token
            env = dict(os.environ, OMP_NUM_THREADS=str(th), OPENBLAS_NUM_THREADS=str(th),
                       MKL_NUM_THREADS=str(th))
            r = subprocess.run([sys.executable, __file__, "--child", tmp, ids_path, str(th),
                                str(a.batch), ref_path, str(nref),
                                "cuda" if a.cuda else "cpu"],
                               capture_output=True, text=True, env=env)
            if r.returncode:
                sys.exit("torch failed: " + r.stderr)
            tj = json.loads(r.stdout.strip().split("\n")[-1])
            # agreement on the first sentences
            raw = open(out_bin, "rb").read()
            pos, diff = 64, 0.0
            ref = np.load(ref_path)
            for k in range(nref):
                c = struct.unpack("<I", raw[pos:pos + 4])[0]
                pos += 4
                got = np.frombuffer(raw[pos:pos + c * hidden * 4],
                                    dtype=np.float32).reshape(c, hidden)
                pos += c * hidden * 4
                diff = max(diff, float(np.abs(got - ref[k]).max()))
            te_sps, pt_sps = N / te_dt, N / tj["seconds"]
            print("%-8s %3d %5d | %9.1f %9.2f %7.1f | %9.1f %9.2f %7.1f | %5.2fx %5.2fx | %.2g" % (
                "%s/%d" % (name, T), th, N, te_sps, te_cpu, te_rss, pt_sps, tj["cpu"],
                tj["maxrss_kb"] / 1024, te_sps / pt_sps, tj["cpu"] / te_cpu, diff), flush=True)
    print("wall x: sentences/second ratio (tokemb / torch); cpu x: CPU seconds ratio "
          "(torch / tokemb), fairer on a shared machine.  tokemb time is the whole "
          "process (model loading and output included); torch time is the forward passes "
          "only (loading excluded).")
    subprocess.run(["rm", "-rf", tmp])


if __name__ == "__main__":
    main()
