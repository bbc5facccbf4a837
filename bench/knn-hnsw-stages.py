#!/usr/bin/python3
"""knn's HNSW index against hnswlib, in stages, for sets too large to build
both sides in one sitting (a million vectors on a small machine).

    /usr/bin/python3 bench/knn-hnsw-stages.py ROWS prepare
    /usr/bin/python3 bench/knn-hnsw-stages.py ROWS build-knn [EFC]
    /usr/bin/python3 bench/knn-hnsw-stages.py ROWS build-hnswlib [EFC]
    /usr/bin/python3 bench/knn-hnsw-stages.py ROWS search EF,EF,... [THREADS]
    /usr/bin/python3 bench/knn-hnsw-stages.py ROWS cpu EF,EF,...

Peers: Debian python3-hnswlib 0.6.2, python3-faiss 1.7.3 (exact ground
truth), numpy.  Files go to $TMPDIR/knn-hnsw (vectors, queries, truth and
both indexes: about 1.6 GB for a million rows; delete them after).

prepare: ROWS synthetic low-rank clustered vectors, 100 dims (lowrank() of
knn-bench.py, seed 3), 10000 held-out queries (seed 4), as TEVEC, and the
exact top 10 of each query by FAISS IndexFlatIP on unit vectors.
build-*: M=16, ef_construction EFC (200), same threads (2) for both; wall
and CPU seconds.  search: per ef, recall@10 against the exact answers and
queries per second: knn's whole process (exec, load, all queries, output),
hnswlib's knn_query call alone; best of 3.  cpu: the same on one thread,
CPU seconds (steadier on a loaded machine).  Each line ends with the
1-minute load average.
"""
import importlib.util
import os
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location("kb", os.path.join(HERE, "knn-bench.py"))
kb = importlib.util.module_from_spec(spec)
spec.loader.exec_module(kb)

n, mode = int(sys.argv[1]), sys.argv[2]
D = os.path.join(os.environ.get("TMPDIR", "/tmp"), "knn-hnsw")
os.makedirs(D, exist_ok=True)
tv, qf = "%s/x%d.tevec" % (D, n), "%s/q%d.tevec" % (D, n)
hp, tr, qn = "%s/h%d.bin" % (D, n), "%s/t%d.npy" % (D, n), "%s/q%d.npy" % (D, n)
KNN = os.environ.get("KNN", os.path.join(HERE, "..", "build", "bin", "knn"))
T, DIM = 2, 100


def knn_time(args):
    """Wall and CPU seconds of one knn process, and its output."""
    t = time.perf_counter()
    p = subprocess.Popen([KNN] + args, stdout=subprocess.PIPE)
    out = p.stdout.read()
    _, st, ru = os.wait4(p.pid, 0)
    if st:
        sys.exit("knn failed: %s" % " ".join(args))
    return time.perf_counter() - t, ru.ru_utime + ru.ru_stime, out


def recall(lists, truth):
    return np.mean([len(set(lists[j]) & set(truth[j])) / 10 for j in range(len(truth))])


if mode == "prepare":
    import faiss
    x, q = kb.lowrank(n, DIM, 3), kb.lowrank(10000, DIM, 4)
    kb.write_tevec(tv, x)
    kb.write_tevec(qf, q)
    np.save(qn, q)
    flat = faiss.IndexFlatIP(DIM)
    flat.add(x / np.linalg.norm(x, axis=1, keepdims=True))
    np.save(tr, flat.search(q / np.linalg.norm(q, axis=1, keepdims=True), 10)[1])
    sys.exit(0)
efc = sys.argv[3] if len(sys.argv) > 3 and mode.startswith("build") else "200"
if mode == "build-knn":
    w, c, _ = knn_time(["--build-index", "-M", "16", "--ef-construction", efc, "-t", str(T), tv])
    print("knn build M=16 efC=%s: %.1f s wall, %.1f s CPU" % (efc, w, c))
    sys.exit(0)
import hnswlib
if mode == "build-hnswlib":
    x = np.fromfile(tv, dtype="<f4", offset=64, count=n * DIM).reshape(n, DIM)
    p = hnswlib.Index(space="cosine", dim=DIM)
    t, c = time.perf_counter(), time.process_time()
    p.init_index(max_elements=n, M=16, ef_construction=int(efc), random_seed=100)
    p.set_num_threads(T)
    p.add_items(x, np.arange(n))
    print("hnswlib build M=16 efC=%s: %.1f s wall, %.1f s CPU"
          % (efc, time.perf_counter() - t, time.process_time() - c))
    p.save_index(hp)
    sys.exit(0)
q, truth = np.load(qn), np.load(tr)
p = None
if os.path.exists(hp):
    p = hnswlib.Index(space="cosine", dim=DIM)
    p.load_index(hp, max_elements=n)
threads = 1 if mode == "cpu" else (int(sys.argv[4]) if len(sys.argv) > 4 else T)
print("# %d x %d, %d queries, k=10, %d thread(s); knn: whole process, hnswlib: knn_query;"
      " best of 3" % (n, DIM, len(q), threads))
for ef in [int(e) for e in sys.argv[3].split(",")]:
    runs = [knn_time(["-a", "--ef", str(ef), "-k", "10", "-t", str(threads), tv, qf])
            for _ in range(3)]
    w, c = min(r[0] for r in runs), min(r[1] for r in runs)
    lines = runs[0][2].decode().splitlines()
    rk = recall([[int(l.split("\t")[1]) for l in lines[i * 10:(i + 1) * 10]]
                 for i in range(len(q))], truth)
    s = "ef %3d  knn: recall %.4f, %.3f s wall (%.3f CPU), QPS %.0f" % (ef, rk, w, c, len(q) / w)
    if p:
        p.set_ef(ef)
        best = None
        for _ in range(3):
            t, c0 = time.perf_counter(), time.process_time()
            lab, _ = p.knn_query(q, k=10, num_threads=threads)
            r = (time.perf_counter() - t, time.process_time() - c0)
            best = r if best is None or r[0] < best[0] else best
        s += "  |  hnswlib: recall %.4f, %.3f s wall (%.3f CPU), QPS %.0f  |  wall ratio %.2f" % (
            recall(lab, truth), best[0], best[1], len(q) / best[0], w / best[0])
    print(s + "  |  load %.1f" % os.getloadavg()[0])
    sys.stdout.flush()
