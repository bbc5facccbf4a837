#!/usr/bin/python3
"""Write the recommend test fixtures in t/data/recommend/:

  playlists.txt  playlists in the Cornell yes_* format (two header lines,
                 then one playlist per line, each ending in a space), made
                 up here from three made-up radio formats over real song ids
                 of the yes_complete song_hash.txt
  songs.tsv      those songs' metadata in the song_hash.txt format
                 ("id <TAB>title<TAB>artist", a space after the id)
  songs.vec      word2vec text vectors trained by gensim on playlists.txt

Run: /usr/bin/python3 bench/rec-fixture.py  (gensim 4.2, Debian).
"""
import os
import random

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "t", "data", "recommend")

POP80 = [(3822, "Billie Jean", "Michael Jackson"), (500, "Don't Stop 'Til You Get Enough", "Michael Jackson"),
         (501, "Thriller", "Michael Jackson"), (3396, "Holiday", "Madonna"),
         (3493, "Into The Groove", "Madonna"), (3567, "1999", "Prince"),
         (3722, "Little Red Corvette", "Prince"), (3501, "Girls Just Want To Have Fun", "Cyndi Lauper"),
         (3589, "Time After Time", "Cyndi Lauper"), (4187, "I Wanna Dance With Somebody (Who Loves Me)", "Whitney Houston")]
METAL = [(2172, "Fade To Black", "Metallica"), (1797, "Welcome Home (Sanitarium)", "Metallica"),
         (1954, "The Number Of The Beast", "Iron Maiden"), (2849, "Run To The Hills", "Iron Maiden"),
         (2070, "Symphony Of Destruction", "Megadeth"), (2825, "Iron Man", "Black Sabbath"),
         (2130, "War Pigs", "Black Sabbath"), (3094, "Breaking The Law", "Judas Priest"),
         (11533, "Raining Blood", "Slayer")]
HIPHOP = [(842, "California Love (w\\/ Dr. Dre & Roger Troutman)", "2Pac"), (197, "Changes", "2Pac"),
          (412, "Nuthin' But A G Thang (w\\/ Snoop Dogg)", "Dr. Dre"),
          (831, "The Next Episode (w\\/ Snoop Dogg & Nate Dogg)", "Dr. Dre"),
          (211, "Hypnotize", "The Notorious B.I.G."), (5651, "Big Poppa", "The Notorious B.I.G."),
          (5826, "It Was A Good Day", "Ice Cube")]


def main():
    rng = random.Random(9)
    songs = POP80 + METAL + HIPHOP
    lists = []
    for _ in range(40):
        fmt = rng.choice([POP80, METAL, HIPHOP])
        pl = [s[0] for s in rng.sample(fmt, rng.randint(4, len(fmt)))]
        if rng.random() < 0.1:          # the odd crossover
            pl.insert(rng.randrange(len(pl)), rng.choice(songs)[0])
        lists.append(pl)
    counts = {}
    for pl in lists:
        for s in pl:
            counts[s] = counts.get(s, 0) + 1
    ids = sorted(counts)
    with open(os.path.join(OUT, "playlists.txt"), "w") as f:
        f.write(" ".join("S%d" % i for i in ids) + " \n")      # source ids
        f.write(" ".join(str(counts[i]) for i in ids) + " \n")  # appearances
        for pl in lists:
            f.write(" ".join(map(str, pl)) + " \n")
    with open(os.path.join(OUT, "songs.tsv"), "w") as f:
        for sid, title, artist in sorted(songs):
            f.write("%d \t%s\t%s\n" % (sid, title, artist))

    from gensim.models import Word2Vec
    model = Word2Vec([[str(s) for s in pl] for pl in lists], vector_size=8, window=20,
                     negative=5, min_count=1, sg=1, epochs=200, seed=1, workers=1)
    model.wv.save_word2vec_format(os.path.join(OUT, "songs.vec"))


if __name__ == "__main__":
    main()
