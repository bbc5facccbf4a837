#!/usr/bin/env bash
# The demonstration the README opens with ("make demo"): the whole suite on
# data the repository ships, nothing downloaded.  With $TOKEMB_DATA (the
# shared data) present it also lines up real tokenizers.
set -euo pipefail
cd "$(dirname "$0")/.."
R=$PWD
export PATH="${TOKEMB_BIN:-$R/build/bin}:$PATH"
D=${TOKEMB_DATA:-$R/../shared/data}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
ln -s "$R/t/data" data
if [ -t 1 ]; then b=$(printf '\033[1m') n=$(printf '\033[0m'); else b='' n=''; fi
section() { printf '\n%s== %s%s\n' "$b" "$1" "$n"; }
run() { printf '$ %s\n' "$*"; "$@"; }

section "1. Train two tokenizers on this repository: its prose and its C code"
cat "$R"/README.md "$R"/INSTALL "$R"/share/man/man*/* | tok-train -q --preset gpt2 --vocab-size 1000 -o prose.json
cat "$R"/lib/*.c "$R"/lib/tok/*.c | tok-train -q --preset gpt2 --vocab-size 1000 -o code.json
echo "prose.json: byte-level BPE, 1000 tokens, learned from README, INSTALL and the man pages"
echo "code.json:  byte-level BPE, 1000 tokens, learned from lib/*.c and lib/tok/*.c"

section "2. Unseen code through each: the tokenizer trained on code needs fewer tokens"
cp "$R/cmd/common/common.c" common.c
run tok-show --summary -m prose.json -m code.json common.c
sed -n '/^fshut_stdout/,/^}/p' common.c | head -7 >snippet.c
run tok-show -m prose.json -m code.json snippet.c

section "3. Text to token ids, and back"
printf 'Hello, world!\nThe cat sat on the mat.\n' >hello.txt
run tok-encode -m code.json hello.txt
tok-encode -m code.json hello.txt >ids
run tok-decode -m code.json ids
run tok-encode -m code.json --count-docs hello.txt

section "4. Token vectors and text vectors (a tiny random-weight BERT shipped for tests)"
run emb-token --static -m data/emb/tiny-bert <<<'2 4 5 3'
echo "(static: the rows of the input embedding table; without --static, the encoder's output)"
printf '2 4 5 3\n2 9 10 11 3\n' >ids2
run emb-token -m data/emb/tiny-bert ids2
emb-token -m data/emb/tiny-bert ids2 | emb-pool -m data/emb/tiny-bert >docs.vec
echo "$ emb-token -m data/emb/tiny-bert ids2 | emb-pool -m data/emb/tiny-bert   # one vector per line of ids"
cat docs.vec

section "5. word2vec on playlists: songs that keep each other company"
run recommend --sequences --cornell data/recommend/playlists.txt >playlists.seq
head -3 playlists.seq
run w2v-train --sg 1 --vector-size 16 --window 20 --negative 20 --min-count 1 --epochs 100 \
	--threads 1 --seed 1 -q -o songs.vec playlists.seq
head -1 songs.vec
echo "The nearest songs to Billie Jean (3822) and to Fade To Black (2172):"
printf '%s\n' '$ printf "3822\n2172\n" | knn -k 3 songs.vec'
printf '3822\n2172\n' | knn -k 3 songs.vec
echo "The same as recommendations, with titles:"
run recommend -v songs.vec --meta data/recommend/songs.tsv -n 3 3822 2172
echo "How good the trained vectors are at predicting the next song, next to popularity:"
run recommend -v songs.vec --eval playlists.seq --train playlists.seq -n 5

section "6. Real tokenizers side by side (needs \$TOKEMB_DATA)"
if [ -d "$D/tokenizers" ]; then
	t=$D/tokenizers
	run tok-show --summary -m "$t/bert-base-uncased" -m "$t/gpt2" -m "$t/t5-small" \
		-m "$t/gpt-4-cl100k-hf" -m "$t/phi-3-mini" -m "$t/llama3" -m code.json data/show/showcase.txt
	run tok-show -m "$t/gpt2" -m "$t/gpt-4-cl100k-hf" data/show/showcase.txt
else
	echo "skipped: $D/tokenizers is absent (set TOKEMB_DATA to the shared data)"
fi
