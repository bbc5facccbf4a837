#!/bin/sh
# Writes t/data/w2v/playlists.txt, the fixture of the w2v-train tests and man
# page: 400 "playlists" of 10 songs, each drawn from one of four genres of 12
# songs (rock01..rock12, jazz.., techno.., folk..), and one time in ten a song
# of another genre.  Deterministic (a fixed linear congruential generator).
# Usage: bench/w2v-gen-playlists.sh > t/data/w2v/playlists.txt
awk 'BEGIN {
	split("rock jazz techno folk", g, " ")
	s = 12345
	for (line = 0; line < 400; line++) {
		s = (s * 1103515245 + 12345) % 2147483648; k = int(s / 65536) % 4 + 1
		out = ""
		for (i = 0; i < 10; i++) {
			s = (s * 1103515245 + 12345) % 2147483648; n = int(s / 65536) % 12 + 1
			s = (s * 1103515245 + 12345) % 2147483648; o = int(s / 65536) % 10
			gg = k
			if (o == 0) { s = (s * 1103515245 + 12345) % 2147483648; gg = int(s / 65536) % 4 + 1 }
			out = out (i ? " " : "") sprintf("%s%02d", g[gg], n)
		}
		print out
	}
}'
