#!/usr/bin/python3
"""emb-token vs PyTorch on a MiniLM-L6-shaped BERT (6 layers, 384 hidden,
12 heads, 1536 FFN, vocab 30522) with random weights written here.

Usage: /usr/bin/python3 bench/emb_bench.py [--bin build/bin] [--threads 1,2]
       [--short N] [--long N] [--batch 32] [--cuda]

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
    make_model(tmp)
    import torch
    print("model: MiniLM-L6 shape (6 x 384, 12 heads, FFN 1536, vocab 30522), random F32, "
          "%.1f MB; torch %s; emb-token %s" % (
              os.path.getsize(os.path.join(tmp, "model.safetensors")) / 1e6, torch.__version__,
              subprocess.run([os.path.join(a.bin, "emb-token"), "--version"],
                             capture_output=True, text=True).stdout.split("\n")[1]))
    print("%-8s %3s %5s | %9s %9s %7s | %9s %9s %7s | %6s %6s | %s" % (
        "input", "thr", "sents", "tokemb/s", "cpu-s", "RSS MB", "torch/s", "cpu-s", "RSS MB",
        "wall x", "cpu x", "max|diff|"))
    for name, T, N in (("short", 16, a.short), ("long", 256, a.long)):
        ids_path = os.path.join(tmp, "ids-%d.txt" % T)
        with open(ids_path, "w") as f:
            for _ in range(N):
                body = rng.integers(1000, V, size=T - 2)
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
                got = np.frombuffer(raw[pos:pos + c * H * 4], dtype=np.float32).reshape(c, H)
                pos += c * H * 4
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
