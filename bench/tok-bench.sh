#!/usr/bin/env bash
# Tokenizer speed: tok-encode against native tiktoken (@anysphere/tiktoken-node),
# tiktoken (WASM) and Hugging Face tokenizers (npm, native), and against
# sentencepiece (Debian spm_encode) for a SentencePiece model, on the same
# inputs in one run: English prose (GCIDE), C source code, multilingual text,
# and a pathological input (long runs without spaces).  Whole processes are
# timed, start-up and loading included, one thread each (HF: RAYON_NUM_THREADS=1).
# The ids of every peer are compared with tok-encode's first; a speed is only
# reported when they are identical.
#   bench/tok-bench.sh [MB per input (default 4)] [ENCODING...]
#   TOK_BENCH_ONLY=load bench/tok-bench.sh: the load times alone (below)
#   TOK_BENCH_ONLY=quicktok bench/tok-bench.sh [MB]: against quicktok alone
#   TOK_BENCH_ONLY=families bench/tok-bench.sh [MB]: WordPiece, Unigram,
#     SentencePiece and 500 KB runs against their best peers alone
#     (TOK_BENCH_FAMILY=patho: the 500 KB runs alone)
# quicktok (C++, byte-exact with tiktoken; built by ../shared/tools/
# install-peers.sh into $QUICKTOK, default /opt/tokemb-peers/quicktok) is
# driven by a few lines of C++ written and compiled here, in the scratch
# folder, against its header and library: each input is one document;
# quicktok's figure is its warm encode alone (best of 5, thread CPU time),
# tok-encode's the whole process -z (loading, reading and writing ids
# included; best of $TOK_BENCH_RUNS, default 5, CPU time of the process by
# perf stat's task-clock, in ns; user + system by /usr/bin/time, in 10 ms
# steps, where perf cannot count), --threads 1.
# Then --threads 1 against 2 on 16 MB of prose lines, and with TOK_BENCH_1GB=1
# the peak RSS of tok-encode --total on 1 GB of GCIDE prose (built in the
# scratch folder under /tmp, removed at the end).
set -u
cd "$(dirname "$0")/.." || exit 2
MB=${1:-4}
LIMIT=${TOK_BENCH_LIMIT:-60}	# seconds a peer may take on one input
shift || true
ENCS=${*:-cl100k o200k}
D=${TOKEMB_DATA:-$PWD/../shared/data}
BIN=${TOKEMB_BIN:-$PWD/build/bin}
export NODE_PATH=${NODE_PATH:-/opt/tokemb-peers/npm/node_modules}
export RAYON_NUM_THREADS=1 RAYON_RS_NUM_CPUS=1 TOKENIZERS_PARALLELISM=false
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
bytes=$((MB * 1000000))
RUNS=${TOK_BENCH_RUNS:-5}
# perf stat's task-clock where the kernel lets it count (a VM without
# hardware counters still has it)
PERF='' CLOCK='/usr/bin/time user + system'
if perf stat -x, -e task-clock true 2>&1 >/dev/null | grep -q ',task-clock,'; then
	PERF=1 CLOCK='perf stat task-clock'
fi
echo "uptime: $(uptime)"

# load times: one short line, whole process, in ms (perf stat -r $LOAD_RUNS:
# task-clock and wall, means); from the source (no cache), then with the
# compiled cache (made by a first run); an empty process for scale
load_section() {
	local runs=${LOAD_RUNS:-20} line=$W/line m c w cc cw
	echo "The quick brown fox jumps over the lazy dog." >"$line"
	pstat() {	# "cpu_ms wall_ms" of a command, mean of $runs
		perf stat -r "$runs" -x, -e task-clock "$@" <"$line" 2>&1 >/dev/null |
		    awk -F, '/task-clock/ { c = $1 } END { printf "%.2f ", c }'
		{ perf stat -r "$runs" "$@" <"$line" >/dev/null; } 2>&1 |
		    awk '/elapsed/ { printf "%.2f\n", $1 * 1000 }'
	}
	printf '\nload (one short line, whole process, ms, mean of %s; load average %s):\n' "$runs" \
	    "$(cut -d' ' -f1-3 /proc/loadavg)"
	printf '  %-32s %21s | %21s\n' "" "from source cpu  wall" "cached cpu  wall"
	read -r c w < <(pstat /bin/true)
	printf '  %-32s %21s |\n' "/bin/true" "$c $w"
	read -r c w < <(pstat "$BIN/tok-encode" --version)
	printf '  %-32s %21s |\n' "tok-encode --version" "$c $w"
	for m in tiktoken/cl100k_base.tiktoken tiktoken/o200k_base.tiktoken gpt2/tokenizer.json \
	         bert-base-uncased gemma3 gpt-4o-hf llama3/tokenizer.json qwen3 phi-3-mini t5-small \
	         llama2/tokenizer.model; do
		[ -e "$D/tokenizers/$m" ] || continue
		read -r c w < <(TOKEMB_CACHE=0 pstat "$BIN/tok-encode" -m "$D/tokenizers/$m")
		"$BIN/tok-encode" -m "$D/tokenizers/$m" </dev/null >/dev/null
		read -r cc cw < <(pstat "$BIN/tok-encode" -m "$D/tokenizers/$m")
		printf '  %-32s %21s | %21s\n' "$m" "$c $w" "$cc $cw"
	done
}
if [ "${TOK_BENCH_ONLY:-}" = load ]; then
	export TOKEMB_CACHE_DIR=$W/cache
	mkdir -p "$TOKEMB_CACHE_DIR"
	load_section
	exit 0
fi

# ---- inputs
zcat "$D/corpora/gcide.dict.dz" | iconv -f utf-8 -t utf-8 -c | head -c "$bytes" | sed '$d' >"$W/prose"
while [ "$(stat -c %s "$W/code" 2>/dev/null || echo 0)" -lt "$bytes" ]; do
	# without the lines naming special tokens (<|endoftext|>): a
	# tokenizer.json matches them in text, quicktok and tiktoken do not
	cat lib/*.c lib/*.h lib/tok/*.c lib/tok/*.h cmd/*.c | grep -v '<|' >>"$W/code"
done
/usr/bin/python3 - "$W/multi" "$bytes" <<'PY'
import json, sys, glob
texts = []
# Vim's tutor in 30 languages where it is installed: real running text
for f in sorted(glob.glob('/usr/share/vim/vim*/tutor/tutor.*.utf-8')):
    try:
        texts += [l.replace('\r', ' ') for l in open(f, encoding='utf-8').read().split('\n') if l]
    except UnicodeDecodeError:
        pass
for f in sorted(glob.glob('t/data/tok/expected/hf-gpt2.jsonl')) + sorted(glob.glob(sys.argv[0] and '../shared/data/reference/tokenizer-expected/gpt2.jsonl')):
    for l in open(f):
        t = json.loads(l)['text']
        if '\0' not in t:
            texts.append(t.replace('\r', ' ').replace('\n', ' '))
# without the texts naming special tokens (<|endoftext|>): a tokenizer.json
# matches them in text, quicktok and tiktoken do not
texts = [t for t in texts if '<|' not in t]
out, n, i = [], 0, 0
while n < int(sys.argv[2]):
    t = texts[i % len(texts)]; out.append(t); n += len(t.encode()) + 1; i += 1
open(sys.argv[1], 'w').write('\n'.join(out) + '\n')
PY
/usr/bin/python3 - "$W/patho" "$bytes" <<'PY'
import sys
n = int(sys.argv[2]); unit = n // 8
parts = ['a' * unit, 'x' * (unit // 2) + 'y' * (unit // 2), '7' * unit, '🤖' * (unit // 4),
         'ab' * (unit // 2), '.' * unit, '\u00e9' * (unit // 2), 'Z' * unit]
open(sys.argv[1], 'w').write('\n'.join(parts) + '\n')
PY
# four runs of 500 KB without a space, one a line
/usr/bin/python3 - "$W/patho500" <<'PY'
import sys
n = 500000
runs = ['a' * n, 'xy' * (n // 2), '7' * n, '\u00e9' * (n // 2)]
open(sys.argv[1], 'w').write('\n'.join(runs) + '\n')
PY

cpu() {	# cpu seconds (user+sys) and wall seconds of a command, output to $OUT;
	# "T T" when it ran past $LIMIT seconds
	local t
	t=$( { /usr/bin/time -f '%U %S %e %x' timeout "$LIMIT" "$@" >"$OUT"; } 2>&1 | tail -1)
	awk -v t="$t" 'BEGIN { split(t, a, " "); if (a[4] == 124) print "T T";
		else printf "%.2f %.2f", a[1] + a[2], a[3] }'
}

# The best of $RUNS CPU times (seconds) of a command, its output to $OUT:
# perf stat's task-clock of the whole process, else /usr/bin/time's user
# + system
best_cpu() {
	local best='' c t _
	for _ in $(seq "$RUNS"); do
		if [ -n "$PERF" ]; then
			c=$( { perf stat -x, -e task-clock "$@" >"$OUT"; } 2>&1 |
			    awk -F, '$3 == "task-clock" { printf "%.6f", $1 / ($2 == "msec" ? 1e3 : 1e9) }')
		else
			t=$( { /usr/bin/time -f '%U %S' "$@" >"$OUT"; } 2>&1 | tail -1)
			c=$(awk -v t="$t" 'BEGIN { split(t, a, " "); printf "%.3f", a[1] + a[2] }')
		fi
		best=$(awk -v b="$best" -v c="$c" 'BEGIN { print (b == "" || c < b) ? c : b }')
	done
	echo "$best"
}

# quicktok: one row per encoding and input, its ids checked against
# tok-encode's; the ratio is tok-encode's whole-process MB/s over
# quicktok's warm encode (>= 1: tok-encode is the faster)
quicktok_section() {
	local q=${QUICKTOK:-/opt/tokemb-peers/quicktok} enc qenc m in f size t c best qr
	printf '\nagainst quicktok (one document, one thread; tok-encode: whole process, best of %s by %s;\n' \
	    "$RUNS" "$CLOCK"
	printf 'quicktok: warm encode, best of 5 by thread CPU time):\n'
	if [ ! -f "$q/build/libquicktok.a" ] || [ ! -f "$q/include/quicktok.hpp" ]; then
		echo "  skipped: no quicktok in $q (../shared/tools/install-peers.sh builds it)"
		return 0
	fi
	cat >"$W/qt.cpp" <<'CPP'
#include "quicktok.hpp"
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <vector>
static double cpu_s() { timespec t; clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t); return t.tv_sec + t.tv_nsec / 1e9; }
int main(int argc, char **argv) {	// FILE DATA_DIR ENCODING: ids to stdout, MB/s to stderr
	if (argc != 4) return 2;
	auto tok = quicktok::Tokenizer::load_dir(argv[2], argv[3]);
	FILE *f = fopen(argv[1], "rb");
	if (!f) return 1;
	std::vector<uint8_t> t;
	unsigned char b[1 << 16];
	size_t n;
	while ((n = fread(b, 1, sizeof b, f)) > 0) t.insert(t.end(), b, b + n);
	fclose(f);
	std::vector<uint32_t> out;
	tok.encode(t.data(), t.size(), out);
	for (size_t i = 0; i < out.size(); i++) printf(i ? " %u" : "%u", out[i]);
	printf("\n");
	double best = 1e30;
	for (int r = 0; r < 5; r++) {
		out.clear();
		double t0 = cpu_s();
		tok.encode(t.data(), t.size(), out);
		if (cpu_s() - t0 < best) best = cpu_s() - t0;
	}
	fprintf(stderr, "%.3f\n", t.size() / 1e6 / (best > 1e-6 ? best : 1e-6));
	return 0;
}
CPP
	if ! g++ -O3 -std=c++20 -march=native -I"$q/include" "$W/qt.cpp" "$q/build/libquicktok.a" \
	    -o "$W/qt" 2>"$W/qt.err"; then
		echo "  skipped: the quicktok driver does not build:"; sed 's/^/    /' "$W/qt.err"
		return 0
	fi
	printf '  %-7s %-6s %5s | %10s | %10s | %6s\n' enc input MB "tokemb MB/s" "quicktok" ratio
	for enc in cl100k o200k llama3 qwen3; do
		case $enc in
		cl100k|o200k) m=$D/tokenizers/tiktoken/${enc}_base.tiktoken qenc=${enc}_base ;;
		llama3) m=$D/tokenizers/llama3/tokenizer.json qenc=llama3 ;;
		qwen3) m=$D/tokenizers/qwen3/tokenizer.json qenc=qwen3 ;;
		esac
		[ -f "$m" ] || { echo "  $enc: no $m"; continue; }
		"$BIN/tok-encode" -m "$m" </dev/null >/dev/null	# the compiled cache
		for in in prose code multi patho; do
			f=$W/$in
			size=$(stat -c %s "$f")
			best=$(OUT=$W/qt.tok best_cpu "$BIN/tok-encode" --threads 1 --no-special -z -m "$m" "$f")
			if ! qr=$(timeout "$LIMIT" "$W/qt" "$f" "$q/data" "$qenc" 2>&1 >"$W/qt.ids"); then
				printf '  %-7s %-6s | quicktok failed or timed out\n' "$enc" "$in"
				continue
			fi
			note=
			if ! tr '\0' '\n' <"$W/qt.tok" | cmp -s - "$W/qt.ids"; then
				# which is right: the reference (Hugging Face tokenizers)
				# decides where it is at hand; a row where quicktok is
				# wrong is shown, marked, and does not count
				if [ "${m##*.}" = json ] && [ -d "${NODE_PATH%%:*}/tokenizers" ] &&
				    timeout "$LIMIT" node bench/tok-peer.js hf-whole "$m" "$f" >"$W/hf.ids" 2>/dev/null &&
				    tr '\0' '\n' <"$W/qt.tok" | cmp -s - "$W/hf.ids"; then
					note="  quicktok's ids differ from HF tokenizers' (tok-encode's are the same)"
				else
					printf '  %-7s %-6s | ids differ from quicktok: no speed reported\n' "$enc" "$in"
					continue
				fi
			fi
			awk -v e="$enc" -v i="$in" -v s="$size" -v c="$best" -v q="$qr" -v n="$note" 'BEGIN {
				mb = s / 1e6; t = mb / (c > 0.000001 ? c : 0.000001);
				printf "  %-7s %-6s %5.1f | %10.1f | %10.1f | %5.2fx%s\n", e, i, mb, t, q, t / q, n }'
		done
	done
}

# tok-encode's best whole-process CPU seconds (best_cpu), --threads 1,
# ids to $OUT; extra options first
tok_best() {
	best_cpu timeout "$LIMIT" "$BIN/tok-encode" --threads 1 "$@"
}

# One row: family, model, input, its size, tok-encode's and the peer's CPU
# seconds, the goal (the ratio tok-encode must reach)
family_row() {
	awk -v f="$1" -v m="$2" -v i="$3" -v s="$4" -v c="$5" -v p="$6" -v pn="$7" -v g="$8" 'BEGIN {
		mb = s / 1e6; c = c > 0.001 ? c : 0.001; p = p > 0.0001 ? p : 0.0001
		printf "  %-9s %-18s %-7s %5.1f | %8.1f | %-10s %8.1f | %6.2fx %4s\n", f, m, i, mb, mb / c,
		    pn, mb / p, p / c, g "x" }'
}

# The other families against their best peers, ids checked first:
# WordPiece and Unigram (tokenizer.json) against Hugging Face tokenizers
# (npm binding, native) warm in its process (bench/tok-peer.js,
# TOK_PEER_WARM: best of 2 after one warm-up, CPU time of all its threads;
# RAYON_NUM_THREADS=1); SentencePiece BPE (llama2 tokenizer.model) against
# spm_encode, a whole process as tok-encode's; and 500 KB runs without a
# space (patho500) against Hugging Face tokenizers, warm.  tok-encode's
# figure is its whole process, --threads 1, best of 3.
families_section() {
	local fam name m mp in f size c p peer goal
	printf '\nother families (one thread; tok-encode: whole process; HF: warm encode; spm_encode: whole process):\n'
	printf '  %-9s %-18s %-7s %5s | %8s | %-10s %8s | %7s %5s\n' family model input MB "tokemb" peer MB/s ratio goal
	[ -d "${NODE_PATH%%:*}/tokenizers" ] || echo "  (no Hugging Face tokenizers in $NODE_PATH: its rows are skipped)"
	# T5's Unigram as a SentencePiece .model (as its own spiece.model is),
	# made from its tokenizer.json, for spm_encode; a model named @F is $W/F
	[ -f "$D/tokenizers/t5-small/tokenizer.json" ] &&
		/usr/bin/python3 bench/spm-t5model.py "$D/tokenizers/t5-small/tokenizer.json" "$W/t5.model"
	while read -r fam name m peer goal; do
		[ -n "${TOK_BENCH_FAMILY:-}" ] && [ "$fam" != "$TOK_BENCH_FAMILY" ] && continue
		case $m in
		@*) mp=$W/${m#@} ;;
		*) mp=$D/tokenizers/$m ;;
		esac
		[ -f "$mp" ] || { echo "  $name: no $m"; continue; }
		[ "$peer" = hf ] && [ ! -d "${NODE_PATH%%:*}/tokenizers" ] && continue
		[ "$peer" = spm ] && ! command -v spm_encode >/dev/null && { echo "  $name: no spm_encode"; continue; }
		for in in prose code multi patho500; do
			[ "$fam" = patho ] && [ "$in" != patho500 ] && continue
			[ "$fam" != patho ] && [ "$in" = patho500 ] && continue
			f=$W/$in
			size=$(stat -c %s "$f")
			OUT=$W/fam.tok
			c=$(tok_best --no-special -m "$mp" "$f")
			if [ "$peer" = spm ]; then
				OUT=$W/fam.peer
				read -r p _ < <(cpu spm_encode --model="$mp" --output_format=id "$f")
			else
				p=T
				if TOK_PEER_WARM=2 timeout "$LIMIT" node bench/tok-peer.js hf \
				    "$mp" "$f" >"$W/fam.peer" 2>"$W/fam.err"; then
					p=$(tail -1 "$W/fam.err")
				fi
			fi
			if [ "$p" = T ]; then
				printf '  %-9s %-18s %-7s | %s timed out after %s s\n' "$fam" "$name" "$in" "$peer" "$LIMIT"
			elif ! cmp -s "$W/fam.tok" "$W/fam.peer"; then
				printf '  %-9s %-18s %-7s | ids differ from %s: no speed reported\n' "$fam" "$name" "$in" "$peer"
			else
				family_row "$fam" "$name" "$in" "$size" "$c" "$p" \
				    "$([ "$peer" = hf ] && echo "HF warm" || echo spm_encode)" "$goal"
			fi
		done
	done <<-'EOF'
	WordPiece bert-base-uncased bert-base-uncased/tokenizer.json hf 10
	WordPiece all-MiniLM-L6-v2 all-MiniLM-L6-v2/tokenizer.json hf 10
	Unigram t5-small t5-small/tokenizer.json hf 5
	Unigram t5-small.model @t5.model spm 5
	SPM-BPE llama2 llama2/tokenizer.model spm 5
	patho cl100k-hf gpt-4-cl100k-hf/tokenizer.json hf 10
	patho o200k-hf gpt-4o-hf/tokenizer.json hf 10
	patho llama3 llama3/tokenizer.json hf 10
	patho qwen3 qwen3/tokenizer.json hf 10
	EOF
}

# tok-encode's compiled tokenizer caches live in a scratch folder, made here
# by a first load of each tokenizer (timed and shown: that is what a user's
# very first call costs); every timed run below uses them, as every later
# call of a user's does
export TOKEMB_CACHE_DIR=$W/cache
mkdir -p "$TOKEMB_CACHE_DIR"
if [ "${TOK_BENCH_ONLY:-}" = quicktok ]; then
	quicktok_section
	exit 0
fi
if [ "${TOK_BENCH_ONLY:-}" = families ]; then
	families_section
	exit 0
fi
printf 'first load (from source, compiled cache written; whole process, empty input):\n'
for enc in $ENCS; do
	hf=$D/tokenizers/gpt-4-cl100k-hf/tokenizer.json
	[ "$enc" = o200k ] && hf=$D/tokenizers/gpt-4o-hf/tokenizer.json
	for m in "$D/tokenizers/tiktoken/${enc}_base.tiktoken" "$hf"; do
		OUT=/dev/null
		read -r c w < <(cpu "$BIN/tok-encode" -m "$m" /dev/null)
		printf '  %-40s %6.3f s wall %6.3f s cpu\n' "${m#"$D"/tokenizers/}" "$w" "$c"
	done
done
echo

printf '%-7s %-7s %6s | %-14s %9s %8s | %-14s %9s %8s | %7s %7s\n' enc input MB tokemb cpu_s MB/s peer cpu_s MB/s x_cpu x_wall
for enc in $ENCS; do
	tt=$D/tokenizers/tiktoken/${enc}_base.tiktoken
	hf=$D/tokenizers/gpt-4-cl100k-hf/tokenizer.json
	[ "$enc" = o200k ] && hf=$D/tokenizers/gpt-4o-hf/tokenizer.json
	for in in prose code multi patho; do
		f=$W/$in
		size=$(stat -c %s "$f")
		OUT=$W/tok.ids
		read -r tc tw < <(cpu "$BIN/tok-encode" -m "$tt" "$f")
		OUT=$W/tokhf.ids
		read -r hc hw < <(cpu "$BIN/tok-encode" --no-special -m "$hf" "$f")
		for peer in tiktoken-node tiktoken hf; do
			OUT=$W/peer.ids
			if [ "$peer" = hf ]; then
				read -r pc pw < <(cpu node bench/tok-peer.js hf "$hf" "$f")
				ref=$W/tokhf.ids mc=$hc mw=$hw name="tokemb(json)"
			else
				read -r pc pw < <(cpu node bench/tok-peer.js "$peer" "$enc" "$f")
				ref=$W/tok.ids mc=$tc mw=$tw name="tokemb"
			fi
			if [ "$pc" = T ]; then
				printf '%-7s %-7s %6.1f | %-14s %9.2f          | %-14s  timed out after %s s: tokemb >= %sx\n' \
				    "$enc" "$in" "$(awk -v s="$size" 'BEGIN{print s/1e6}')" "$name" "$mc" "$peer" \
				    "$LIMIT" "$(awk -v l="$LIMIT" -v m="$mc" 'BEGIN{printf "%.0f", l / (m > 0.01 ? m : 0.01)}')"
			elif cmp -s "$ref" "$W/peer.ids"; then
				awk -v e="$enc" -v i="$in" -v s="$size" -v n="$name" -v mc="$mc" -v mw="$mw" \
				    -v p="$peer" -v pc="$pc" -v pw="$pw" 'BEGIN {
					mb = s / 1e6; if (mc < 0.01) mc = 0.01; if (pc < 0.01) pc = 0.01;
					printf "%-7s %-7s %6.1f | %-14s %9.2f %8.1f | %-14s %9.2f %8.1f | %6.1fx %6.1fx\n",
					    e, i, mb, n, mc, mb / mc, p, pc, mb / pc, pc / mc, pw / (mw > 0 ? mw : 0.01) }'
			else
				printf '%-7s %-7s %6.1f | ids differ from %s: no speed reported\n' "$enc" "$in" \
				    "$(awk -v s="$size" 'BEGIN{print s/1e6}')" "$peer"
			fi
		done
	done
done

# Each input as one document (the whole file): raw throughput without the
# peers' per-call cost
for enc in $ENCS; do
	tt=$D/tokenizers/tiktoken/${enc}_base.tiktoken
	for in in prose code multi; do
		f=$W/$in
		size=$(stat -c %s "$f")
		OUT=$W/tok.z
		read -r tc tw < <(cpu "$BIN/tok-encode" -z -m "$tt" "$f")
		tr '\0' '\n' <"$W/tok.z" >"$W/tok.ids"
		for peer in tiktoken-node-whole tiktoken-whole; do
			OUT=$W/peer.ids
			read -r pc pw < <(cpu node bench/tok-peer.js "$peer" "$enc" "$f")
			if [ "$pc" = T ]; then
				echo "$enc whole-$in: $peer timed out after $LIMIT s"
			elif cmp -s "$W/tok.ids" "$W/peer.ids"; then
				awk -v e="$enc" -v i="1doc-$in" -v s="$size" -v mc="$tc" -v mw="$tw" \
				    -v p="$peer" -v pc="$pc" -v pw="$pw" 'BEGIN {
					mb = s / 1e6; if (mc < 0.01) mc = 0.01; if (pc < 0.01) pc = 0.01;
					printf "%-7s %-7s %6.1f | %-14s %9.2f %8.1f | %-14s %9.2f %8.1f | %6.1fx %6.1fx\n",
					    e, i, mb, "tokemb", mc, mb / mc, p, pc, mb / pc, pc / mc, pw / (mw > 0 ? mw : 0.01) }'
			else
				echo "$enc whole-$in: ids differ from $peer: no speed reported"
			fi
		done
	done
done

# SentencePiece: llama2 tokenizer.model against spm_encode
if command -v spm_encode >/dev/null && [ -f "$D/tokenizers/llama2/tokenizer.model" ]; then
	for in in prose multi; do
		f=$W/$in
		size=$(stat -c %s "$f")
		OUT=$W/tok.ids
		read -r tc tw < <(cpu "$BIN/tok-encode" -m "$D/tokenizers/llama2/tokenizer.model" "$f")
		OUT=$W/peer.ids
		read -r pc pw < <(cpu spm_encode --model="$D/tokenizers/llama2/tokenizer.model" --output_format=id "$f")
		if cmp -s "$W/tok.ids" "$W/peer.ids"; then
			awk -v i="$in" -v s="$size" -v mc="$tc" -v mw="$tw" -v pc="$pc" -v pw="$pw" 'BEGIN {
				mb = s / 1e6; if (mc < 0.01) mc = 0.01;
				printf "%-7s %-7s %6.1f | %-14s %9.2f %8.1f | %-14s %9.2f %8.1f | %6.1fx %6.1fx\n",
				    "llama2", i, mb, "tokemb", mc, mb / mc, "spm_encode", pc, mb / pc, pc / mc, pw / mw }'
		else
			echo "llama2  $in: ids differ from spm_encode: no speed reported"
		fi
	done
fi

quicktok_section
families_section
load_section

# --threads: 16 MB of prose (GCIDE), as lines (many documents) and as one
# document (-z: cut in parts, te_tok_cuts), one thread and two, same output
for _ in 1 2 3 4; do cat "$W/prose"; done >"$W/prose4"
tt=$D/tokenizers/tiktoken/cl100k_base.tiktoken
for z in '' -z; do
	printf '\n--threads (cl100k, 16 MB of prose, %s, whole process):\n' \
	    "$([ -n "$z" ] && echo "one document" || echo "lines")"
	w1=
	for n in 1 2; do
		OUT=$W/thr$n.ids
		# shellcheck disable=SC2086 # $z: no option, or -z
		read -r c w < <(cpu "$BIN/tok-encode" $z --threads "$n" -m "$tt" "$W/prose4")
		printf '  --threads %d  %6.2f s wall  %6.2f s cpu  %6.1f MB/s wall\n' "$n" "$w" "$c" \
		    "$(awk -v s="$(stat -c %s "$W/prose4")" -v w="$w" 'BEGIN { print s / 1e6 / (w > 0 ? w : 0.01) }')"
		[ -n "$w1" ] || w1=$w
	done
	awk -v a="$w1" -v b="$w" -v l="$(cut -d' ' -f1 /proc/loadavg)" 'BEGIN {
	    printf "  speed-up of --threads 2: %.2fx wall (goal 1.8x; load average %s)\n", a / (b > 0 ? b : 0.01), l }'
	cmp -s "$W/thr1.ids" "$W/thr2.ids" && echo "  same output" || echo "  --threads 2 output DIFFERS from --threads 1"
done
rm -f "$W/prose4" "$W"/thr*.ids

# Peak memory on 1 GB of input (TOK_BENCH_1GB=1): GCIDE prose repeated,
# counted (--total); the file is built in the scratch folder and removed
if [ -n "${TOK_BENCH_1GB:-}" ]; then
	printf '\n1 GB input (GCIDE prose repeated), --total, peak RSS:\n'
	while [ "$(stat -c %s "$W/big" 2>/dev/null || echo 0)" -lt 1000000000 ]; do
		cat "$W/prose" >>"$W/big"
	done
	for m in tiktoken/cl100k_base.tiktoken tiktoken/o200k_base.tiktoken; do
		r=$( { /usr/bin/time -f '%M %e %U %S' "$BIN/tok-encode" --total -m "$D/tokenizers/$m" "$W/big" >"$W/big.n"; } 2>&1 | tail -1)
		e=$( { /usr/bin/time -f '%M' "$BIN/tok-encode" --total -m "$D/tokenizers/$m" /dev/null >/dev/null; } 2>&1 | tail -1)
		awk -v m="$m" -v r="$r" -v e="$e" -v n="$(cat "$W/big.n")" -v s="$(stat -c %s "$W/big")" 'BEGIN {
			split(r, a, " "); printf "  %-30s %d tokens  peak RSS %.0f MB (empty input: %.0f MB)  %.1f s wall  %.1f MB/s\n",
			    m, n, a[1] / 1024, e / 1024, a[2], s / 1e6 / a[2] }'
	done
	rm -f "$W/big" "$W/big.n"
fi
