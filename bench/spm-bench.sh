#!/bin/sh
# spm-bench.sh: SentencePiece encoding speed, tokemb (libtokemb through
# bench/spm-encode) against python3-sentencepiece 0.1.97 (Debian, via
# /usr/bin/python3, one line at a time and one thread) and, for line input,
# against spm_encode (the same library's C++ command), on the same files in
# the same run; checks that all give the same ids and prints the ratios
# (of CPU time: this machine is shared, wall time is noise).
# Usage: bench/spm-bench.sh [TOKEMB_DATA]   (run from the repository root
# after make)
set -eu
data=${1:-${TOKEMB_DATA:-../shared/data}}
build=${BUILD:-build}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# shellcheck disable=SC2046
cc -O2 -Ilib -o "$tmp/spm-encode" bench/spm-encode.c "$build/libtokemb.a" \
	$(pkg-config --libs libutf8proc) -lm
model=$data/tokenizers/llama2/tokenizer.model
corpus=$data/corpora/head500.noblanks.cor

cpu() {	# run "$@", write "wall user+sys" seconds to $tmp/t
	/usr/bin/time -f "%e %U %S" -o "$tmp/t.raw" "$@"
	awk '{ print $1, $2 + $3 }' "$tmp/t.raw" > "$tmp/t"
}
# the peer: $1 model, $2 file, $3 = line|whole
cat > "$tmp/peer.py" <<'PY'
import sys, sentencepiece as spm
sp = spm.SentencePieceProcessor(model_file=sys.argv[1])
data = open(sys.argv[2], encoding="utf-8", errors="surrogateescape", newline="").read()
out = []
if sys.argv[3] == "whole":
    out.append(sp.encode(data))
else:
    for line in data.split("\n")[:-1] if data.endswith("\n") else data.split("\n"):
        out.append(sp.encode(line))
sys.stdout.write("".join(" ".join(map(str, ids)) + "\n" for ids in out))
PY
run() {	# $1 label, $2 model, $3 file, $4 = line|whole
	flag=
	[ "$4" = whole ] && flag=-w
	# shellcheck disable=SC2086
	cpu "$tmp/spm-encode" $flag "$2" "$3" > "$tmp/ours"
	ours=$(cat "$tmp/t")
	cpu /usr/bin/python3 "$tmp/peer.py" "$2" "$3" "$4" > "$tmp/theirs"
	theirs=$(cat "$tmp/t")
	if cmp -s "$tmp/ours" "$tmp/theirs"; then same=identical; else same=DIFFERENT; fi
	echo "$ours $theirs" | awk -v l="$1" -v s="$same" -v bytes="$(wc -c < "$3")" '{
		printf "%-32s %5.1f MB  tokemb %6.2fs cpu (%5.2fs wall)  python sentencepiece %6.2fs cpu (%5.2fs wall)  ratio %5.1fx  ids %s\n",
		       l, bytes / 1e6, $2, $1, $4, $3, $4 / ($2 > 0 ? $2 : 0.001), s }'
	if [ "$4" = line ] && command -v spm_encode >/dev/null; then
		cpu spm_encode --model="$2" --output_format=id --input="$3" > "$tmp/spm"
		if cmp -s "$tmp/ours" "$tmp/spm"; then same=identical; else same=DIFFERENT; fi
		echo "$ours $(cat "$tmp/t")" | awk -v s="$same" '{
			printf "%-32s %8s  %31s  spm_encode %18.2fs cpu (%5.2fs wall)  ratio %5.1fx  ids %s\n",
			       "", "", "", $4, $3, $4 / ($2 > 0 ? $2 : 0.001), s }'
	fi
}
/usr/bin/python3 -c 'import sentencepiece' 2>/dev/null || { echo "python3-sentencepiece absent"; exit 0; }
[ -f "$model" ] || { echo "$model absent"; exit 0; }
run "llama2 BPE, corpus lines" "$model" "$corpus" line
if [ -f "$data/tokenizers/t5-small/tokenizer.json" ]; then
	/usr/bin/python3 bench/spm-t5model.py "$data/tokenizers/t5-small/tokenizer.json" "$tmp/t5.model"
	run "t5 Unigram .model, corpus lines" "$tmp/t5.model" "$corpus" line
fi
for m in t/data/spm/unigram-nfkc.model t/data/spm/bpe-user.model; do
	run "$(basename "$m") corpus lines" "$m" "$corpus" line
done
/usr/bin/python3 -c 'import sys; sys.stdout.write("abcdefghij" * 100000)' > "$tmp/nospace"
run "llama2 1 MB without a space" "$model" "$tmp/nospace" whole
/usr/bin/python3 -c 'import sys; sys.stdout.write("\U0001F600" * 250000)' > "$tmp/emoji"
run "llama2 1 MB of one emoji" "$model" "$tmp/emoji" whole
run "unigram-nfkc 1 MB of one emoji" t/data/spm/unigram-nfkc.model "$tmp/emoji" whole
