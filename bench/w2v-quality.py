#!/usr/bin/python3
"""The gensim side of bench/w2v-quality.sh (run with /usr/bin/python3, which
has Debian's gensim 4.2).

  w2v-quality.py train MODE CORPUS OUT.vec WORKERS SEED KEY=VALUE...
      trains gensim Word2Vec with MODE "sentences" (a list of the corpus's
      lines, split on whitespace, in memory) or "corpus_file" (gensim reads
      the file itself, one stream per worker) and the Word2Vec parameters
      given as KEY=VALUE (sg, vector_size, window, negative, sample,
      min_count, epochs, ns_exponent); writes the vectors as word2vec text
      and prints "train_s SECONDS" (wall clock) and "cpu_s SECONDS" (CPU
      time of all its threads), training only, vocabulary included.
  w2v-quality.py eval EVALDIR VEC...
      prints, for each word2vec text file, a line "VEC WS353 SIMLEX ANALOGY":
      Spearman correlations on WordSim353 and SimLex-999 and the analogy
      accuracy on questions-words.txt, with gensim's own functions
      (evaluate_word_pairs, evaluate_word_analogies; 300000 most frequent
      words, case-insensitive, gensim's defaults).
"""
import logging
import sys
import time

INTS = {"sg", "vector_size", "window", "negative", "min_count", "epochs"}


def train(mode, corpus, out, workers, seed, kvs):
    from gensim.models import Word2Vec
    params = {}
    for kv in kvs:
        k, v = kv.split("=", 1)
        params[k] = int(v) if k in INTS else float(v)
    if mode == "corpus_file":
        t0, c0 = time.time(), time.process_time()
        m = Word2Vec(corpus_file=corpus, workers=int(workers), seed=int(seed), **params)
    else:
        with open(corpus) as f:
            sents = [line.split() for line in f]
        t0, c0 = time.time(), time.process_time()
        m = Word2Vec(sents, workers=int(workers), seed=int(seed), **params)
    print("train_s %.3f" % (time.time() - t0))
    print("cpu_s %.3f" % (time.process_time() - c0))
    m.wv.save_word2vec_format(out)


def evaluate(evaldir, paths):
    from gensim.models import KeyedVectors
    logging.disable(logging.WARNING)
    for p in paths:
        kv = KeyedVectors.load_word2vec_format(p, binary=False)
        ws = kv.evaluate_word_pairs(evaldir + "/wordsim353.tsv")[1][0]
        sl = kv.evaluate_word_pairs(evaldir + "/simlex999.txt")[1][0]
        an = kv.evaluate_word_analogies(evaldir + "/questions-words.txt")[0]
        print("%s %.4f %.4f %.4f" % (p, ws, sl, an))


if __name__ == "__main__":
    if len(sys.argv) >= 7 and sys.argv[1] == "train":
        train(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6], sys.argv[7:])
    elif len(sys.argv) >= 4 and sys.argv[1] == "eval":
        evaluate(sys.argv[2], sys.argv[3:])
    else:
        sys.exit(__doc__)
