#!/usr/bin/python3
"""The gensim side of bench/rec-movielens.sh: train Word2Vec on TRAIN
sequences and score next-item predictions on TEST with most_similar.

usage: rec-gensim.py TRAIN TEST OUT.vec [--dim D] [--window W] [--negative K]
       [--ns-exponent A] [--epochs E] [--sg 0|1] [--min-count M] [--sample S]
       [--alpha A] [--n N] [--context C] [--threads T] [--no-eval]

Writes the vectors (word2vec text) to OUT.vec and prints
"hit@N <value>", "mrr@N <value>" and the query count: for each test sequence
and each position i >= 1, most_similar(positive=<the up to C items before i
that have vectors>, topn=N) -- the query's items are left out, as recommend
does -- and a hit when the item at i is among them.
"""
import argparse
import sys
import time

from gensim.models import Word2Vec


def read(path):
    with open(path) as f:
        return [line.split() for line in f]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("train")
    ap.add_argument("test")
    ap.add_argument("out")
    ap.add_argument("--dim", type=int, default=64)
    ap.add_argument("--window", type=int, default=5)
    ap.add_argument("--negative", type=int, default=5)
    ap.add_argument("--ns-exponent", type=float, default=0.75)
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--sg", type=int, default=1)
    ap.add_argument("--min-count", type=int, default=1)
    ap.add_argument("--sample", type=float, default=1e-3)
    ap.add_argument("--alpha", type=float, default=0.025)
    ap.add_argument("--n", type=int, default=10)
    ap.add_argument("--context", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--no-eval", action="store_true")
    a = ap.parse_args()

    train = read(a.train)
    t0 = time.time()
    model = Word2Vec(train, vector_size=a.dim, window=a.window, negative=a.negative,
                     ns_exponent=a.ns_exponent, epochs=a.epochs, sg=a.sg,
                     min_count=a.min_count, sample=a.sample, alpha=a.alpha,
                     workers=a.threads, seed=a.seed)
    print("train_s %.2f" % (time.time() - t0))
    kv = model.wv
    kv.save_word2vec_format(a.out)
    if a.no_eval:
        return
    hits = mrr = queries = 0
    t0 = time.time()
    for seq in read(a.test):
        for i in range(1, len(seq)):
            queries += 1
            ctx = [x for x in seq[max(0, i - a.context):i] if x in kv.key_to_index]
            if not ctx:
                continue
            recs = [k for k, _ in kv.most_similar(positive=ctx, topn=a.n)]
            if seq[i] in recs:
                hits += 1
                mrr += 1.0 / (recs.index(seq[i]) + 1)
    print("eval_s %.2f" % (time.time() - t0))
    print("queries %d" % queries)
    print("hit@%d %.4f" % (a.n, hits / max(queries, 1)))
    print("mrr@%d %.4f" % (a.n, mrr / max(queries, 1)))


if __name__ == "__main__":
    sys.exit(main())
