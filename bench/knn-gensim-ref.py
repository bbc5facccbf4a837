#!/usr/bin/python3
"""Write the expected outputs that t/410-knn-gensim.bats compares knn with.

Peers: gensim 4.2.0 (Debian python3-gensim), faiss 1.7.3 (python3-faiss),
numpy; run with /usr/bin/python3 from the repository root:

    /usr/bin/python3 bench/knn-gensim-ref.py [DATA_DIR]

DATA_DIR is $TOKEMB_DATA (default ../shared/data).  Output goes to
t/data/knn/ref/, one file per check, in knn's own output format
(query<TAB>neighbour<TAB>score with scores printed %.7g), so that the test
only has to compare numbers.
"""
import json
import logging
import os
import sys

import numpy as np
from gensim.models import KeyedVectors

logging.disable(logging.CRITICAL)
DATA = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("TOKEMB_DATA", "../shared/data")
OUT = "t/data/knn/ref"
os.makedirs(OUT, exist_ok=True)
GLOVE = "wordvectors/glove.6B.100d.wink-first20k.txt"

FILES = {
    "glove100": (GLOVE, dict(no_header=True)),
    "glove50": ("wordvectors/glove.6B.50d.head-subset.txt", dict(no_header=True)),
    "w2vbin": ("wordvectors/gensim-test/euclidean_vectors.bin", dict(binary=True)),
    "fasttext": ("wordvectors/gensim-test/lee_fasttext.vec", {}),
    "w2vtext": ("wordvectors/gensim-test/word2vec_pre_kv_c.txt", {}),
}


def load(name):
    path, kw = FILES[name]
    return KeyedVectors.load_word2vec_format(os.path.join(DATA, path), **kw)


def fmt(x):
    return "%.7g" % x


def write_sims(fp, label, sims):
    for word, score in sims:
        fp.write("%s\t%s\t%s\n" % (label, word, fmt(score)))


def main():
    meta = {"gensim": __import__("gensim").__version__, "numpy": np.__version__}
    # most_similar(key) on every file, for a fixed choice of keys
    for name in FILES:
        kv = load(name)
        n = len(kv.index_to_key)
        keys = [kv.index_to_key[i] for i in sorted({0, 1, 2, 7, 42 % n, n // 3, n // 2, n - 1})]
        if name == "glove100":
            keys += ["king", "computer", "paris", "frog", "coffee"]
        with open(f"{OUT}/{name}.keys", "w") as fk, open(f"{OUT}/{name}.most_similar", "w") as fo:
            for k in keys:
                fk.write(k + "\n")
                write_sims(fo, k, kv.most_similar(k, topn=10))
    kv = load("glove100")
    exprs = [(["king", "woman"], ["man"]), (["paris", "germany"], ["france"]),
             (["walking", "swam"], ["walked"]), (["good"], ["bad"]),
             (["tokyo", "china", "india"], ["japan"])]
    with open(f"{OUT}/glove100.exprs", "w") as fe, \
            open(f"{OUT}/glove100.analogies", "w") as fa, \
            open(f"{OUT}/glove100.cosmul", "w") as fc:
        for pos, neg in exprs:
            label = " + ".join(pos) + "".join(" - " + w for w in neg)
            fe.write(label + "\n")
            write_sims(fa, label, kv.most_similar(positive=pos, negative=neg, topn=10))
            write_sims(fc, label, kv.most_similar_cosmul(positive=pos, negative=neg, topn=10))
    # restrict_vocab
    with open(f"{OUT}/glove100.restrict1000", "w") as fo:
        for k in ["king", "computer"]:
            write_sims(fo, k, kv.most_similar(k, topn=10, restrict_vocab=1000))
    # evaluations, printed as knn prints them (gensim's log lines)
    qpath = os.path.join(DATA, "wordvec-eval/questions-words.txt")
    for ci, suffix in ((True, ""), (False, ".case")):
        score, sections = kv.evaluate_word_analogies(qpath, restrict_vocab=300000,
                                                     case_insensitive=ci)
        with open(f"{OUT}/glove100.eval{suffix}", "w") as fo:
            for s in sections:
                c, i = len(s["correct"]), len(s["incorrect"])
                if s["section"] == "Total accuracy":
                    quads = sum(1 for line in open(qpath, encoding="utf8")
                                if not line.startswith(": ") and len(line.split()) == 4)
                    oov = quads - (c + i)
                    fo.write("Quadruplets with out-of-vocabulary words: %.1f%%\n"
                             % (100.0 * oov / quads))
                if c + i:
                    fo.write("%s: %.1f%% (%i/%i)\n" % (s["section"], 100.0 * c / (c + i), c, c + i))
        meta["analogy_accuracy" + suffix] = score
    for f in ("wordsim353.tsv", "simlex999.txt"):
        p, s, oov = kv.evaluate_word_pairs(os.path.join(DATA, "wordvec-eval", f),
                                           restrict_vocab=300000)
        with open(f"{OUT}/glove100.pairs.{f.split('.')[0]}", "w") as fo:
            fo.write("pearson\t%.9f\nspearman\t%.9f\noov_ratio\t%.9f\n" % (p[0], s[0], oov))
    # FAISS IndexFlatIP on unit vectors: raw-vector queries, nothing excluded
    try:
        import faiss
    except ImportError:
        faiss = None
    if faiss is not None:
        meta["faiss"] = faiss.__version__
        x = kv.vectors / np.linalg.norm(kv.vectors, axis=1, keepdims=True)
        index = faiss.IndexFlatIP(x.shape[1])
        index.add(x.astype(np.float32))
        rng = np.random.default_rng(8)
        q = np.vstack([kv.vectors[[5, 500, 5000]],
                       rng.standard_normal((5, x.shape[1]))]).astype(np.float32)
        with open(f"{OUT}/glove100.vecq", "w") as fq:
            for row in q:
                fq.write(" ".join("%.9g" % v for v in row) + "\n")
        qn = q / np.linalg.norm(q, axis=1, keepdims=True)
        D, I = index.search(qn.astype(np.float32), 10)
        with open(f"{OUT}/glove100.faiss", "w") as fo:
            for j in range(len(q)):
                for s, i in zip(D[j], I[j]):
                    fo.write("%d\t%s\t%s\n" % (j + 1, kv.index_to_key[i], fmt(s)))
    with open(f"{OUT}/VERSIONS.json", "w") as fo:
        json.dump(meta, fo, indent=1)
        fo.write("\n")


if __name__ == "__main__":
    main()
