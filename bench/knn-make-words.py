#!/usr/bin/python3
"""Write t/data/knn/words.txt: 16 made-up 8-dimensional word vectors on
meaning axes (person, royal, female, young, capital, country, and a
two-dimensional nation) plus a little noise, so that king - man + woman
lands on queen and paris - france + germany on berlin.  Deterministic;
run from the repository root."""
import random

random.seed(8)
FR, DE, IT = (1, 0), (0, 1), (-0.7, -0.7)
words = {  # person, royal, female, young, capital, country, nation
    "king": (1, 1, 0, 0, 0, 0, (0, 0)), "queen": (1, 1, 1, 0, 0, 0, (0, 0)),
    "man": (1, 0, 0, 0, 0, 0, (0, 0)), "woman": (1, 0, 1, 0, 0, 0, (0, 0)),
    "prince": (1, 1, 0, 0.7, 0, 0, (0, 0)), "princess": (1, 1, 1, 0.7, 0, 0, (0, 0)),
    "boy": (1, 0, 0, 0.7, 0, 0, (0, 0)), "girl": (1, 0, 1, 0.7, 0, 0, (0, 0)),
    "paris": (0, 0, 0, 0, 1, 0, FR), "france": (0, 0, 0, 0, 0, 1, FR),
    "berlin": (0, 0, 0, 0, 1, 0, DE), "germany": (0, 0, 0, 0, 0, 1, DE),
    "rome": (0, 0, 0, 0, 1, 0, IT), "italy": (0, 0, 0, 0, 0, 1, IT),
    "the": (0.2, 0.2, 0.2, 0.2, 0.2, 0.2, (0.2, 0.2)),
    "of": (0.2, 0.1, 0.2, 0.1, 0.2, 0.1, (0.1, 0.2)),
}
with open("t/data/knn/words.txt", "w") as fo:
    fo.write("%d 8\n" % len(words))
    for w, a in words.items():
        v = [x + random.uniform(-0.1, 0.1) for x in a[:6] + a[6]]
        fo.write(w + " " + " ".join("%.4f" % x for x in v) + "\n")
