#!/usr/bin/python3
"""Helper of bench/w2v-bench.sh (run with /usr/bin/python3, which has gensim).

  w2v-gensim.py train CORPUS OUT.vec SG DIM WINDOW NEG MINCOUNT EPOCHS THREADS SEED
      trains gensim Word2Vec in corpus_file mode (its fastest) with the given
      parameters (the rest at gensim's defaults) and prints the wall seconds.
  w2v-gensim.py eval EVALDIR VEC...
      prints, for each word2vec text file, WordSim353 Spearman and the
      analogy accuracy (questions-words.txt), with gensim's own functions.
"""
import logging
import sys
import time


def train(corpus, out, sg, dim, window, neg, min_count, epochs, threads, seed):
    from gensim.models import Word2Vec
    t0 = time.time()
    m = Word2Vec(corpus_file=corpus, sg=int(sg), vector_size=int(dim),
                 window=int(window), negative=int(neg), min_count=int(min_count),
                 epochs=int(epochs), workers=int(threads), seed=int(seed))
    secs = time.time() - t0
    m.wv.save_word2vec_format(out)
    print("%.3f" % secs)


def evaluate(evaldir, paths):
    from gensim.models import KeyedVectors
    logging.disable(logging.WARNING)
    for p in paths:
        kv = KeyedVectors.load_word2vec_format(p, binary=False)
        ws = kv.evaluate_word_pairs(evaldir + "/wordsim353.tsv")[1][0]
        an = kv.evaluate_word_analogies(evaldir + "/questions-words.txt")[0]
        print("%s\t%d\t%.4f\t%.4f" % (p, len(kv), ws, an))


if __name__ == "__main__":
    if sys.argv[1] == "train":
        train(*sys.argv[2:12])
    else:
        evaluate(sys.argv[2], sys.argv[3:])
