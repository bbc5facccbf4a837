#!/usr/bin/env bats
# w2v-train against gensim (skipped when /usr/bin/python3 lacks gensim):
# the same vocabulary from the same corpus and options.

load helper

setup() {
	/usr/bin/python3 -c 'import gensim' 2>/dev/null || skip "needs gensim in /usr/bin/python3"
	tmp=$(mktemp -d)
}

teardown() {
	[ -z "${tmp:-}" ] || rm -rf "$tmp"
}

# gensim_vocab FILE OPTION=VALUE...: gensim's vocabulary, one item a line, sorted
gensim_vocab() {
	/usr/bin/python3 - "$@" <<'PY' | LC_ALL=C sort
import sys
from gensim.models import Word2Vec
kw = dict(a.split("=") for a in sys.argv[2:])
kw = {k: int(v) for k, v in kw.items()}
s = [l.split() for l in open(sys.argv[1], encoding="utf-8")]
m = Word2Vec(s, vector_size=4, epochs=1, workers=1, **kw)
print("\n".join(m.wv.index_to_key))
PY
}

@test "w2v-train: the vocabulary is gensim's, also with --max-vocab-size pruning" {
	w2v-train --max-vocab-size 20 --min-count 1 --vector-size 4 -q "$T/w2v/playlists.txt" |
		tail -n +2 | cut -d' ' -f1 | LC_ALL=C sort >"$tmp/ours"
	gensim_vocab "$T/w2v/playlists.txt" max_vocab_size=20 min_count=1 >"$tmp/gensim"
	[ "$(wc -l <"$tmp/ours")" -eq 20 ]
	diff "$tmp/ours" "$tmp/gensim"
}

@test "w2v-train: the Lee corpus vocabulary is gensim's (min_count 2)" {
	need_data corpora/lee_background.cor
	tr '[:upper:]' '[:lower:]' <"$D/corpora/lee_background.cor" >"$tmp/lee"
	w2v-train --min-count 2 --vector-size 4 --epochs 1 -q "$tmp/lee" |
		tail -n +2 | cut -d' ' -f1 | LC_ALL=C sort >"$tmp/ours"
	gensim_vocab "$tmp/lee" min_count=2 >"$tmp/gensim"
	[ "$(wc -l <"$tmp/ours")" -eq 4646 ]
	diff "$tmp/ours" "$tmp/gensim"
}
