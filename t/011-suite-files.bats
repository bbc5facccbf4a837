#!/usr/bin/env bats
# Files on shared machines and under faults: programs started together on a
# tokenizer with no cache, output files whose writer is killed, full disks.
# Every output file is written to a temporary file beside it
# (NAME.tmp.XXXXXX), synced and renamed into place when whole (tokemb(5),
# ERRORS): a killed writer leaves the old file, or none, under the final name
# (and its temporary file, which nothing can remove after SIGKILL).

load helper

setup() {
	export TOKEMB_CACHE_DIR=$BATS_TEST_TMPDIR/cache
	unset TOKEMB_CACHE
}

teardown() {
	if mountpoint -q "$BATS_TEST_TMPDIR/small" 2>/dev/null; then
		umount "$BATS_TEST_TMPDIR/small"
	fi
}

# A corpus of $1 lines of 20 items out of 5000.
corpus() {
	awk -v n="$1" 'BEGIN { srand(7); for (i = 0; i < n; i++) {
		for (j = 0; j < 20; j++) printf "%sw%d", j ? " " : "", int(rand() * 5000); print "" } }'
}

# Start "$@" in the background, kill it with SIGKILL as soon as a temporary
# file for $out appears; 0 when it was caught so, 1 when it ended first.
kill_mid_write() {
	local pid i
	"$@" >/dev/null 2>&1 &
	pid=$!
	for ((i = 0; i < 20000; i++)); do
		if compgen -G "$out.tmp.*" >/dev/null; then
			kill -KILL "$pid" 2>/dev/null
			wait "$pid" 2>/dev/null || true
			return 0
		fi
		kill -0 "$pid" 2>/dev/null || break
	done
	wait "$pid" 2>/dev/null || true
	return 1
}

# After a kill: the final name holds the old file or a whole new one ($1: a
# command that checks the file is whole).
old_or_whole() {
	cmp -s "$out" "$BATS_TEST_TMPDIR/old" || "$@"
}

@test "suite-files: eight tok-encode started at once on a tokenizer with no cache agree and leave one sound cache" {
	need_data tokenizers/gpt2/tokenizer.json
	m=$BATS_TEST_TMPDIR/tokenizer.json
	cp "$D/tokenizers/gpt2/tokenizer.json" "$m"
	corpus 200 >"$BATS_TEST_TMPDIR/in"
	want=$(tok-encode --no-cache -m "$m" "$BATS_TEST_TMPDIR/in")
	for i in 1 2 3 4 5 6 7 8; do
		tok-encode -m "$m" "$BATS_TEST_TMPDIR/in" >"$BATS_TEST_TMPDIR/out$i" 2>"$BATS_TEST_TMPDIR/err$i" &
	done
	wait
	for i in 1 2 3 4 5 6 7 8; do
		[ "$(cat "$BATS_TEST_TMPDIR/out$i")" = "$want" ]
		[ ! -s "$BATS_TEST_TMPDIR/err$i" ]
	done
	run find "$TOKEMB_CACHE_DIR" -type f
	[ "${#lines[@]}" -eq 1 ]
	[[ ${lines[0]} == */tokenizer.json-*.tokemb ]]
	c=${lines[0]}
	ino=$(stat -c %i "$c")
	run -0 tok-encode -m "$m" "$BATS_TEST_TMPDIR/in"
	[ "$output" = "$want" ]
	[ "$(stat -c %i "$c")" = "$ino" ]	# sound: used, not rebuilt
}

@test "suite-files: w2v-train -o killed while writing leaves the old file" {
	corpus 3000 >"$BATS_TEST_TMPDIR/in"
	out=$BATS_TEST_TMPDIR/v.vec
	echo old >"$out"
	cp "$out" "$BATS_TEST_TMPDIR/old"
	caught=0
	for _ in 1 2 3 4 5; do
		if kill_mid_write w2v-train --min-count 1 --vector-size 400 --epochs 1 --threads 1 \
			-o "$out" "$BATS_TEST_TMPDIR/in"; then
			caught=$((caught + 1))
			cmp "$out" "$BATS_TEST_TMPDIR/old"
		fi
		old_or_whole knn "$out" </dev/null
		rm -f "$out".tmp.*
	done
	[ "$caught" -gt 0 ]
}

@test "suite-files: tok-train -o, knn's index and the tokenizer cache killed while writing leave no partial file" {
	corpus 3000 >"$BATS_TEST_TMPDIR/in"
	out=$BATS_TEST_TMPDIR/tok.json
	echo old >"$out"
	cp "$out" "$BATS_TEST_TMPDIR/old"
	for _ in 1 2 3; do
		kill_mid_write tok-train --vocab-size 3000 -o "$out" "$BATS_TEST_TMPDIR/in" || true
		old_or_whole tok-encode -m "$out" </dev/null
		rm -f "$out".tmp.*
	done
	w2v-train --min-count 1 --vector-size 50 --epochs 1 -o "$BATS_TEST_TMPDIR/v.vec" "$BATS_TEST_TMPDIR/in" 2>/dev/null
	out=$BATS_TEST_TMPDIR/v.vec.hnsw
	for _ in 1 2 3; do
		rm -f "$out"
		kill_mid_write knn --build-index "$BATS_TEST_TMPDIR/v.vec" || true
		[ ! -e "$out" ] || knn -a -k 1 "$BATS_TEST_TMPDIR/v.vec" <<<"w1" >/dev/null
		rm -f "$out".tmp.*
	done
	need_data tokenizers/gpt2/tokenizer.json
	for _ in 1 2 3; do
		rm -rf "$TOKEMB_CACHE_DIR"
		mkdir -p "$TOKEMB_CACHE_DIR"
		out=$TOKEMB_CACHE_DIR/tokenizer.json-
		kill_mid_write tok-encode -m "$D/tokenizers/gpt2/tokenizer.json" /dev/null || true
		run find "$TOKEMB_CACHE_DIR" -name '*.tokemb'
		for c in "${lines[@]}"; do	# a cache under its final name is whole: used
			ino=$(stat -c %i "$c")
			tok-encode -m "$D/tokenizers/gpt2/tokenizer.json" <<<"hello" >/dev/null
			[ "$(stat -c %i "$c")" = "$ino" ]
		done
	done
}

@test "suite-files: a full disk mid-write exits 1 and leaves the old file" {
	[ -w /dev/full ] || skip "needs /dev/full"
	need_data tokenizers/gpt2/tokenizer.json
	# shellcheck disable=SC2016 # expanded by the inner shell
	run -1 --separate-stderr bash -c 'tok-encode -m "$1" <<<"hello world" >/dev/full' _ \
		"$D/tokenizers/gpt2/tokenizer.json"
	[[ $stderr == *"No space left on device"* ]]
	[ "$(id -u)" -eq 0 ] || skip "needs root to mount a small tmpfs"
	mnt=$BATS_TEST_TMPDIR/small
	mkdir -p "$mnt"
	mount -t tmpfs -o size=256k tmpfs "$mnt" 2>/dev/null || skip "cannot mount a tmpfs here"
	echo old >"$mnt/v.vec"
	corpus 3000 >"$BATS_TEST_TMPDIR/in"
	run -1 --separate-stderr w2v-train --min-count 1 --vector-size 100 --epochs 1 --quiet \
		-o "$mnt/v.vec" "$BATS_TEST_TMPDIR/in"
	rc=0
	[ "$(cat "$mnt/v.vec")" = old ] || rc=1
	left=$(find "$mnt" -name '*.tmp.*')
	echo old >"$mnt/tok.json"
	# 8 KiB left: the tokenizer does not fit
	avail=$(df --output=avail -k "$mnt" | tail -1)
	head -c $(((avail - 8) * 1024)) /dev/zero >"$mnt/fill"
	run -1 --separate-stderr tok-train --vocab-size 3000 -o "$mnt/tok.json" "$BATS_TEST_TMPDIR/in"
	[ "$(cat "$mnt/tok.json")" = old ] || rc=1
	left=$left$(find "$mnt" -name '*.tmp.*')
	[ "$rc" -eq 0 ] && [ -z "$left" ]	# and the temporary files are removed
}

@test "suite-files: an input file cut short by another process while tok-encode maps it: a message, exit 1" {
	local in=$BATS_TEST_TMPDIR/in fifo=$BATS_TEST_TMPDIR/out pid rc
	# 32 MB of short lines: far more than the pipe and one batch hold
	yes 'Hello, world! A line of text.' | head -c 32000000 >"$in"
	mkfifo "$fifo"
	tok-encode -m "$T/tok/tiny-bpe.json" --threads 1 "$in" >"$fifo" 2>"$BATS_TEST_TMPDIR/err" &
	pid=$!
	exec 5<"$fifo"
	# its first ids: the file is mapped and being read; the writer waits on
	# the full pipe while the file is cut to nothing
	head -c 1 <&5 >/dev/null
	truncate -s 0 "$in"
	cat <&5 >/dev/null
	exec 5<&-
	rc=0
	wait "$pid" || rc=$?
	[ "$rc" -eq 1 ]
	[ "$(cat "$BATS_TEST_TMPDIR/err")" = "tok-encode: a file being read was cut short by another process" ]
}
