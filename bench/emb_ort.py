#!/usr/bin/python3
"""emb-token vs ONNX Runtime on the MiniLM-L6-shaped BERT of bench/emb_bench.py
(the same random weights, written by its make_model).

Usage: /usr/bin/python3 bench/emb_ort.py [--bin build/bin] [--threads 1,2]
       [--short N] [--long N] [--batch 32] [--dtype f32,bf16,int8]

The model is exported to ONNX with Debian's torch (torch.onnx.export, opset
14, the forward of emb_bench.py's PyTorch side: input_ids in, last hidden
state out) and run by onnxruntime-node (bench/emb_ort.js; installed by
../shared/tools/install-peers.sh under /opt/tokemb-peers/ort, or
$TOKEMB_PEERS/ort) on the CPU: graph optimisation 'all', intra-op threads as
emb-token's -t, after one warm-up batch, timed on its runs only.  emb-token
runs as a whole process (loading and output included) on the same ids, for
each --dtype.  Reports sentences/second, peak RSS, the ratio, the max
|diff| of the last hidden states of the first sentences against ORT, and the
least cosine of their mean-pooled sentence vectors (the figure that matters
for bf16 and int8).
"""
import argparse, json, os, shutil, struct, subprocess, sys, tempfile, time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from emb_bench import make_model  # noqa: E402  (the one home of the weights)

NREF = 8


def export(d):
    """model.safetensors of d -> d/model.onnx (float32)."""
    import torch
    import torch.nn.functional as Fn
    with open(os.path.join(d, "config.json")) as f:
        cfg = json.load(f)
    H, NH, L = cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_hidden_layers"]
    eps = cfg["layer_norm_eps"]
    with open(os.path.join(d, "model.safetensors"), "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        hdr = json.loads(f.read(n))
        blob = f.read()
    W = {k: torch.from_numpy(np.frombuffer(blob[v["data_offsets"][0]:v["data_offsets"][1]],
                                           dtype=np.float32).reshape(v["shape"]).copy())
         for k, v in hdr.items() if k != "__metadata__"}
    dh = H // NH

    class Bert(torch.nn.Module):
        def forward(self, ids):
            B, T = ids.shape
            x = W["embeddings.word_embeddings.weight"][ids] + \
                W["embeddings.token_type_embeddings.weight"][0] + \
                W["embeddings.position_embeddings.weight"][:T]
            x = Fn.layer_norm(x, (H,), W["embeddings.LayerNorm.weight"],
                              W["embeddings.LayerNorm.bias"], eps)
            for i in range(L):
                p = "encoder.layer.%d." % i
                lin = lambda t, n: Fn.linear(t, W[p + n + ".weight"], W[p + n + ".bias"])
                q = lin(x, "attention.self.query").view(B, T, NH, dh).transpose(1, 2)
                k = lin(x, "attention.self.key").view(B, T, NH, dh).transpose(1, 2)
                v = lin(x, "attention.self.value").view(B, T, NH, dh).transpose(1, 2)
                a = torch.softmax(torch.matmul(q, k.transpose(-1, -2)) / (dh ** 0.5), dim=-1)
                c = torch.matmul(a, v).transpose(1, 2).reshape(B, T, H)
                x = Fn.layer_norm(lin(c, "attention.output.dense") + x, (H,),
                                  W[p + "attention.output.LayerNorm.weight"],
                                  W[p + "attention.output.LayerNorm.bias"], eps)
                f = Fn.gelu(lin(x, "intermediate.dense"))
                x = Fn.layer_norm(lin(f, "output.dense") + x, (H,),
                                  W[p + "output.LayerNorm.weight"],
                                  W[p + "output.LayerNorm.bias"], eps)
            return x

    ids = torch.tensor([[101, 2000, 3000, 102]] * 2)
    torch.onnx.export(Bert(), (ids,), os.path.join(d, "model.onnx"), opset_version=14,
                      input_names=["input_ids"], output_names=["last_hidden_state"],
                      dynamic_axes={"input_ids": {0: "batch", 1: "tokens"},
                                    "last_hidden_state": {0: "batch", 1: "tokens"}})
    return H, torch.__version__


def read_tevec(path, n, H):
    """The first n documents of a TEVEC token stream (emb-token -b)."""
    raw, pos, docs = open(path, "rb").read(), 64, []
    for _ in range(n):
        c = struct.unpack("<I", raw[pos:pos + 4])[0]
        pos += 4
        docs.append(np.frombuffer(raw[pos:pos + c * H * 4], dtype=np.float32).reshape(c, H))
        pos += c * H * 4
    return np.stack(docs)


def min_cos(a, b):
    """Least cosine between the mean-pooled rows of a and b, (n, T, H) each."""
    ma, mb = a.mean(axis=1).astype(np.float64), b.mean(axis=1).astype(np.float64)
    c = (ma * mb).sum(1) / np.linalg.norm(ma, axis=1) / np.linalg.norm(mb, axis=1)
    return float(c.min())


def run_tokemb(a, tmp, ids_path, th, dtype):
    out_bin = os.path.join(tmp, "out.bin")
    cmd = ["/usr/bin/time", "-f", "%M %U %S", os.path.join(a.bin, "emb-token"), "-m", tmp,
           "-t", str(th), "-b", "--batch", str(a.batch)]
    if dtype != "f32":
        cmd += ["--dtype", dtype]
    t0 = time.perf_counter()
    r = subprocess.run(cmd + [ids_path], stdout=open(out_bin, "wb"), stderr=subprocess.PIPE,
                       text=True)
    dt = time.perf_counter() - t0
    if r.returncode:
        sys.exit("emb-token failed: " + r.stderr)
    rss, u, s = r.stderr.strip().split("\n")[-1].split()
    return dt, float(u) + float(s), int(rss) / 1024, out_bin


def run_ort(a, tmp, ids_path, th):
    ref = os.path.join(tmp, "ort.f32")
    js = os.path.join(os.path.dirname(os.path.abspath(__file__)), "emb_ort.js")
    r = subprocess.run(["node", js, os.path.join(tmp, "model.onnx"), ids_path, str(th),
                        str(a.batch), str(NREF), ref], capture_output=True, text=True)
    if r.returncode:
        sys.exit("onnxruntime failed: " + r.stderr)
    return json.loads(r.stdout.strip().split("\n")[-1]), ref


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default="build/bin")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--short", type=int, default=512, help="16-token sentences")
    ap.add_argument("--long", type=int, default=32, help="256-token sentences")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--dtype", default="f32", help="emb-token's --dtype values to run")
    a = ap.parse_args()
    peers = os.environ.get("TOKEMB_PEERS", "/opt/tokemb-peers")
    if not os.path.isdir(os.path.join(peers, "ort/node_modules/onnxruntime-node")):
        sys.exit("emb_ort.py: no onnxruntime-node under %s/ort (../shared/tools/install-peers.sh)"
                 % peers)
    tmp = tempfile.mkdtemp(prefix="emb-ort-")
    make_model(tmp)
    H, tv = export(tmp)
    ver = subprocess.run([os.path.join(a.bin, "emb-token"), "--version"], capture_output=True,
                         text=True).stdout.strip().split("\n")
    ortv = json.load(open(os.path.join(peers, "ort/node_modules/onnxruntime-node/package.json")))
    print("model: emb_bench.py's MiniLM-L6 shape, random F32; torch %s (export); "
          "onnxruntime-node %s; %s" % (tv, ortv["version"], " / ".join(ver[1:])))
    print("%-9s %3s %5s %5s | %9s %7s %7s | %9s %7s %7s | %6s %6s | %8s %9s" % (
        "input", "thr", "sents", "dtype", "tokemb/s", "cpu-s", "RSS MB", "ort/s", "cpu-s",
        "RSS MB", "wall x", "cpu x", "max|diff|", "min cos"))
    rng = np.random.default_rng(1)
    V = 30522
    for name, T, N in (("short", 16, a.short), ("long", 256, a.long)):
        ids_path = os.path.join(tmp, "ids-%d.txt" % T)
        with open(ids_path, "w") as f:
            for _ in range(N):
                body = rng.integers(1000, V, size=T - 2)
                f.write(" ".join(map(str, [101, *body, 102])) + "\n")
        for th in [int(x) for x in a.threads.split(",")]:
            oj, ref_path = run_ort(a, tmp, ids_path, th)
            ref = np.fromfile(ref_path, dtype=np.float32).reshape(NREF, T, H)
            for dt_name in a.dtype.split(","):
                te_dt, te_cpu, te_rss, out_bin = run_tokemb(a, tmp, ids_path, th, dt_name)
                got = read_tevec(out_bin, NREF, H)
                te_sps, ort_sps = N / te_dt, N / oj["seconds"]
                print("%-9s %3d %5d %5s | %9.1f %7.2f %7.1f | %9.1f %7.2f %7.1f | %5.2fx %5.2fx"
                      " | %8.2g %9.6f" % (
                          "%s/%d" % (name, T), th, N, dt_name, te_sps, te_cpu, te_rss, ort_sps,
                          oj["cpu"], oj["maxrss_kb"] / 1024, te_sps / ort_sps,
                          oj["cpu"] / te_cpu, float(np.abs(got - ref).max()),
                          min_cos(got, ref)), flush=True)
    print("wall x: sentences/second (tokemb / ort); cpu x: CPU seconds (ort / tokemb), "
          "fairer on a shared machine.  tokemb: the whole process; ort: its timed runs only "
          "(session creation and a warm-up batch excluded).")
    shutil.rmtree(tmp)


if __name__ == "__main__":
    main()
