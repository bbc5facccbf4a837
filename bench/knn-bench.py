#!/usr/bin/python3
"""knn side by side with FAISS IndexFlatIP (exact) and hnswlib (HNSW).

    /usr/bin/python3 bench/knn-bench.py [--threads T] [--rows N] [--hnsw-rows N]
                                        [--big-queries Q] [--skip-hnsw]

Peers: Debian python3-faiss 1.7.3, python3-hnswlib 0.6.2, numpy.
Run from the repository root after `make`; files go to $TMPDIR/knn-bench.

1. Exact search on the real GloVe 100d vectors ($TOKEMB_DATA, 20000 words),
   saved as TEVEC: knn's whole process (exec, mmap, norms, reading the query
   keys, search, printing) against FAISS IndexFlatIP.search alone on the unit
   vectors, for 1, 1000 and 100000 queries, same threads.  Neighbour lists
   are compared (knn leaves the key out; FAISS is asked for k+1).
2. Exact search on N synthetic vectors (default 1000000 x 100, CLUSTERED:
   1000 Gaussian centres, unit noise), raw-vector queries from a TEVEC file.
3. HNSW, M=16, ef_construction=200 for both, on the GloVe vectors (2000
   queries: words plus N(0, 0.1^2) noise) and on --hnsw-rows synthetic
   vectors (default 100000; CLUSTERED near a 24-dimensional subspace, see
   lowrank()) with --hnsw-queries held-out queries: build time, then
   recall@10 against the exact answers and queries per second at several
   ef; knn's figure is its whole process, hnswlib's the knn_query call alone.
"""
import argparse
import os
import struct
import subprocess
import sys
import time

import numpy as np

KNN = os.path.abspath("build/bin/knn")
DATA = os.environ.get("TOKEMB_DATA", os.path.abspath("../shared/data"))
TMP = os.path.join(os.environ.get("TMPDIR", "/tmp"), "knn-bench")


def write_tevec(path, x, keys=None):
    x = np.ascontiguousarray(x, dtype="<f4")
    rows, dim = x.shape
    kb = b"".join(k.encode() + b"\0" for k in keys) if keys is not None else b""
    koff = 64 + rows * dim * 4 if keys is not None else 0
    with open(path, "wb") as fo:
        fo.write(struct.pack("<8sIIQQQQI12x", b"TOKEMBV\0", 1, 1, rows, dim, koff, len(kb), 0))
        fo.write(x.tobytes())
        fo.write(kb)


def clustered(n, dim, seed, centres=1000):
    rng = np.random.default_rng(seed)
    c = rng.standard_normal((centres, dim)).astype(np.float32) * 3
    out = np.empty((n, dim), np.float32)
    for s in range(0, n, 100000):
        e = min(n, s + 100000)
        out[s:e] = c[rng.integers(0, centres, e - s)] + rng.standard_normal((e - s, dim))
    return out


def run_knn(args, stdin_path=None, repeat=3):
    """Best of `repeat` runs of knn: (wall seconds, CPU seconds, stdout)."""
    best = None
    for _ in range(repeat):
        fin = open(stdin_path, "rb") if stdin_path else subprocess.DEVNULL
        fout = open(os.path.join(TMP, "out"), "wb+")
        t = time.perf_counter()
        p = subprocess.Popen([KNN] + args, stdin=fin, stdout=fout)
        _, status, ru = os.wait4(p.pid, 0)
        dt = time.perf_counter() - t
        if status != 0:
            sys.exit("knn failed: %s" % " ".join(args))
        fout.seek(0)
        out = fout.read()
        fout.close()
        if stdin_path:
            fin.close()
        if best is None or dt < best[0]:
            best = (dt, ru.ru_utime + ru.ru_stime, out)
    return best


def timed(fn, repeat=3):
    """Best of `repeat` calls: (wall seconds, CPU seconds of this process, result)."""
    best = None
    for _ in range(repeat):
        c = time.process_time()
        t = time.perf_counter()
        r = fn()
        dt = time.perf_counter() - t
        if best is None or dt < best[0]:
            best = (dt, time.process_time() - c, r)
    return best


def row(name, ours, peer, note=""):
    """ours and peer are (wall, cpu)."""
    print("%-40s knn %8.4f s (cpu %8.4f)  peer %8.4f s (cpu %8.4f)  ratio %6.2f  %s"
          % (name, ours[0], ours[1], peer[0], peer[1], ours[0] / peer[0], note))
    sys.stdout.flush()


def parse_neighbours(out, k):
    """knn's output as one list of neighbours per query, in query order
    (k lines each; the same query may come again)."""
    res, last = [], None
    for n, line in enumerate(out.decode().splitlines()):
        q, nb, _ = line.split("\t")
        if n % k == 0:
            res.append([])
        res[-1].append(nb)
    return res


def glove(threads, faiss):
    path = os.path.join(DATA, "wordvectors/glove.6B.100d.wink-first20k.txt")
    if not os.path.exists(path):
        print("# GloVe: skipped, no", path)
        return
    keys, vecs = [], []
    with open(path, encoding="utf8") as f:
        for line in f:
            p = line.rstrip("\n").split(" ")
            keys.append(p[0])
            vecs.append([float(v) for v in p[1:]])
    x = np.array(vecs, np.float32)
    tv = os.path.join(TMP, "glove.tevec")
    write_tevec(tv, x, keys)
    xn = x / np.linalg.norm(x, axis=1, keepdims=True)
    index = faiss.IndexFlatIP(x.shape[1])
    index.add(xn)
    print("# 1. exact, GloVe 6B 100d, 20000 x 100 (real vectors, TEVEC), k=10, %d threads" % threads)
    for nq in (1, 1000, 100000):
        idx = np.arange(nq) % len(keys)
        qf = os.path.join(TMP, "glove.q%d" % nq)
        with open(qf, "w", encoding="utf8") as f:
            f.write("".join(keys[i] + "\n" for i in idx))
        w, c, out = run_knn(["-k", "10", "-t", str(threads), tv], qf)
        qv = xn[idx]
        pw, pc, (D, I) = timed(lambda: index.search(qv, 11))
        ours = parse_neighbours(out, 10)
        agree = 0
        for j, i in enumerate(idx[:1000]):
            theirs = [keys[r] for r in I[j] if r != i][:10]
            agree += ours[j] == theirs
        row("GloVe %6d key queries" % nq, (w, c), (pw, pc),
            "same lists %d/%d" % (agree, min(nq, 1000)))


def synthetic(threads, faiss, n, big_q):
    dim = 100
    x = clustered(n, dim, 1)
    tv = os.path.join(TMP, "synth%d.tevec" % n)
    write_tevec(tv, x)
    xn = x / np.linalg.norm(x, axis=1, keepdims=True)
    index = faiss.IndexFlatIP(dim)
    index.add(xn)
    print("# 2. exact, %d x %d synthetic clustered vectors (TEVEC), k=10, %d threads" % (n, dim, threads))
    q = clustered(max(big_q, 1000), dim, 2)
    for nq in (1, 1000, big_q):
        if nq == 0:
            continue
        qf = os.path.join(TMP, "synth.q%d.tevec" % nq)
        write_tevec(qf, q[:nq])
        w, c, out = run_knn(["-k", "10", "-t", str(threads), tv], qf)
        qn = q[:nq] / np.linalg.norm(q[:nq], axis=1, keepdims=True)
        pw, pc, (D, I) = timed(lambda: index.search(qn, 10))
        ours = parse_neighbours(out, 10)
        agree = sum(ours[j] == [str(r) for r in I[j]] for j in range(min(nq, 1000)))
        row("synthetic %7d vector queries" % nq, (w, c), (pw, pc),
            "same lists %d/%d" % (agree, min(nq, 1000)))
    return tv


def lowrank(n, dim, seed, latent=24, centres=1000):
    """Clustered vectors near a 24-dimensional subspace, as embeddings are:
    a Gaussian mixture in the latent space mapped by a fixed random matrix,
    plus a little isotropic noise."""
    rng = np.random.default_rng(seed)
    fixed = np.random.default_rng(12345)
    a = fixed.standard_normal((latent, dim)).astype(np.float32)
    c = fixed.standard_normal((centres, latent)).astype(np.float32) * 2
    out = np.empty((n, dim), np.float32)
    for s in range(0, n, 100000):
        e = min(n, s + 100000)
        z = c[rng.integers(0, centres, e - s)] + rng.standard_normal((e - s, latent))
        out[s:e] = z.astype(np.float32) @ a + 0.1 * rng.standard_normal((e - s, dim))
    return out


def glove_matrix():
    path = os.path.join(DATA, "wordvectors/glove.6B.100d.wink-first20k.txt")
    if not os.path.exists(path):
        return None
    return np.array([[float(v) for v in line.split(" ")[1:]]
                     for line in open(path, encoding="utf8")], np.float32)


def hnsw(threads, faiss, name, x, q):
    import hnswlib
    n, dim = x.shape
    M, efc, k = 16, 200, 10
    tv = os.path.join(TMP, "hnsw-%s.tevec" % name)
    write_tevec(tv, x)
    qf = os.path.join(TMP, "hnsw-%s.q.tevec" % name)
    write_tevec(qf, q)
    xn = x / np.linalg.norm(x, axis=1, keepdims=True)
    qn = q / np.linalg.norm(q, axis=1, keepdims=True)
    flat = faiss.IndexFlatIP(dim)
    flat.add(xn)
    _, truth = flat.search(qn, k)
    print("# 3. HNSW, %s, %d x %d, M=%d ef_construction=%d, %d threads, %d queries, k=%d;"
          " knn: whole process, hnswlib: knn_query alone"
          % (name, n, dim, M, efc, threads, len(q), k))
    w, c, _ = run_knn(["--build-index", "-M", str(M), "--ef-construction", str(efc),
                       "-t", str(threads), tv], repeat=1)
    p = hnswlib.Index(space="cosine", dim=dim)

    def build():
        p.init_index(max_elements=n, M=M, ef_construction=efc, random_seed=100)
        p.set_num_threads(threads)
        p.add_items(x, np.arange(n))
    pw, pc, _ = timed(build, repeat=1)
    row("build", (w, c), (pw, pc))
    for ef in (16, 32, 64, 128, 256):
        w, c, out = run_knn(["-a", "--ef", str(ef), "-k", str(k), "-t", str(threads), tv], qf)
        ours = parse_neighbours(out, k)
        r_ours = np.mean([len(set(int(v) for v in ours[j]) & set(truth[j])) / k
                          for j in range(len(q))])
        p.set_ef(ef)
        pw, pc, (labels, _) = timed(lambda: p.knn_query(q, k=k, num_threads=threads))
        r_peer = np.mean([len(set(labels[j]) & set(truth[j])) / k for j in range(len(q))])
        row("ef %3d: recall knn %.4f hnswlib %.4f" % (ef, r_ours, r_peer), (w, c), (pw, pc),
            "QPS knn %.0f hnswlib %.0f" % (len(q) / w, len(q) / pw))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--rows", type=int, default=1000000)
    ap.add_argument("--big-queries", type=int, default=0,
                    help="also this many queries on the synthetic set (slow)")
    ap.add_argument("--hnsw-rows", type=int, default=100000)
    ap.add_argument("--hnsw-queries", type=int, default=10000)
    ap.add_argument("--skip-hnsw", action="store_true")
    ap.add_argument("--skip-synthetic", action="store_true")
    ap.add_argument("--skip-glove", action="store_true")
    a = ap.parse_args()
    import faiss
    faiss.omp_set_num_threads(a.threads)
    os.makedirs(TMP, exist_ok=True)
    print("# knn: %s" % subprocess.run([KNN, "--version"], stdout=subprocess.PIPE).stdout.decode().split("\n")[1])
    print("# faiss %s, numpy %s; times are the best of 3; ratio = knn / peer (< 1: knn faster)"
          % (faiss.__version__, np.__version__))
    if not a.skip_glove:
        glove(a.threads, faiss)
    if not a.skip_synthetic:
        synthetic(a.threads, faiss, a.rows, a.big_queries)
    if not a.skip_hnsw:
        g = None if a.skip_glove else glove_matrix()
        if g is not None:
            rng = np.random.default_rng(5)
            hnsw(a.threads, faiss, "GloVe (real)", g,
                 g[rng.integers(0, len(g), 2000)] + 0.1 * rng.standard_normal((2000, g.shape[1])).astype(np.float32))
        hnsw(a.threads, faiss, "synthetic low-rank clustered", lowrank(a.hnsw_rows, 100, 3),
             lowrank(a.hnsw_queries, 100, 4))


if __name__ == "__main__":
    main()
