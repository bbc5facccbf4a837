#!/bin/sh
# tok-show against the textbook's way of showing tokens (Hugging Face
# tokenizers from node, see tok-show-peer.js), on the same text and
# tokenizer, in one run.  Prints the times and the ratios.
# Usage: bench/tok-show.sh [TOKENIZER_DIR [TEXT]]
set -eu
cd "$(dirname "$0")/.."
D=${TOKEMB_DATA:-../shared/data}
TOK=${1:-$D/tokenizers/gpt2}
TEXT=${2:-$D/corpora/head500.noblanks.cor}
BIN=${TOKEMB_BIN:-build/bin}
NODE_PATH="${NODE_PATH:-/opt/tokemb-peers/npm/node_modules}"
export NODE_PATH
[ -x "$BIN/tok-show" ] || { echo "build first (make)" >&2; exit 2; }
command -v node >/dev/null || { echo "needs node and npm tokenizers" >&2; exit 2; }
[ -e "$TOK/tokenizer.json" ] || { echo "needs $TOK/tokenizer.json" >&2; exit 2; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
secs() {	# seconds a command takes, its output to a file
	s=$(date +%s.%N)
	"$@" >"$out/o"
	e=$(date +%s.%N)
	echo "$e - $s" | bc
}
bytes=$(wc -c <"$TEXT")
echo "text: $TEXT ($bytes bytes), tokenizer: $TOK"
t_show=$(secs "$BIN/tok-show" --color=always -m "$TOK" "$TEXT")
n_show=$(wc -c <"$out/o")
t_off=$(secs node bench/tok-show-peer.js offsets "$TOK/tokenizer.json" "$TEXT")
t_dec=$(secs node bench/tok-show-peer.js decode "$TOK/tokenizer.json" "$TEXT")
printf 'tok-show --color=always        %8.2f s  (%s bytes out)\n' "$t_show" "$n_show"
printf 'HF tokenizers, offsets (node)  %8.2f s  ratio %.1fx\n' "$t_off" "$(echo "$t_off / $t_show" | bc -l)"
printf 'HF tokenizers, decode([id])    %8.2f s  ratio %.1fx\n' "$t_dec" "$(echo "$t_dec / $t_show" | bc -l)"
