#!/usr/bin/python3
"""Which lines gensim 4.2's Word2Vec(corpus_file=..., workers=W) trains in
one epoch: a model of its reader, to check how much more than the corpus an
epoch trains (bench/w2v-results.md, December 7, second).

  w2v-cf-shares.py CORPUS W > STREAM

Worker t seeks to byte size/W * t (mid-line: its line reader does not look
for the next line) and reads batches of at most 10,000 words (longer lines
in pieces of 10,000) until the words it has read pass total/W, tested
between batches, or the file ends; the batch held back at that point is
dropped.  STREAM gets the lines the W workers train, worker after worker;
standard error gets each worker's raw word count and the sum, which
gensim's log reports as "training on N raw words".
"""
import sys

MAXW = 10000


def chunks(words):
    if len(words) <= MAXW:
        return [words]
    return [words[i:i + MAXW] for i in range(0, len(words), MAXW)]


def worker(data, offset, quota):
    lines = data[offset:].split(b"\n")
    if data.endswith(b"\n"):
        lines.pop()
    pos, held, read, out = 0, [], 0, []
    eof = pos >= len(lines)
    while not (eof or read > quota):
        batch, size = held, sum(len(s) for s in held)
        held = []
        while not eof and size <= MAXW:
            words = lines[pos].split()
            pos += 1
            eof = pos >= len(lines)
            for c in chunks(words):
                batch.append(c)
                size += len(c)
        if size > MAXW:
            keep = 0
            for idx in range(len(batch) - 1, -1, -1):
                if size - len(batch[idx]) <= MAXW:
                    keep = idx + 1
                    break
                size -= len(batch[idx])
            held, batch = batch[keep:], batch[:keep]
        for s in batch:
            if s:
                read += len(s)
                out.append(s)
    return out, read


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    data = open(sys.argv[1], "rb").read()
    w = int(sys.argv[2])
    total = len(data.split())
    allread = 0
    for t in range(w):
        off = int(len(data) / w * t)
        lines, read = worker(data, off, total / w)
        allread += read
        sys.stderr.write("worker %d: byte %d, %d raw words\n" % (t, off, read))
        for s in lines:
            sys.stdout.buffer.write(b" ".join(s) + b"\n")
    sys.stderr.write("all workers: %d raw words; the corpus: %d\n" % (allread, total))


if __name__ == "__main__":
    main()
