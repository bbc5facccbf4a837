#!/usr/bin/env bats
# Every program against the inputs that break filters: empty input, a binary
# file, invalid UTF-8, NUL bytes, a 100 MB line, a closed stdout, a full disk.
# Each must exit with its documented code (0 or 1) and, on 1, say why with
# "prog: ..."; never crash (no status >= 128 but SIGPIPE), never hang.

load helper

# prog, then its arguments; each reads its natural input on stdin
cmdline() {
	case $1 in
	tok-encode) echo "tok-encode -m $T/tok/tiny-bert.json" ;;
	tok-decode) echo "tok-decode -m $T/tok/tiny-bert.json" ;;
	tok-show) echo "tok-show --color=never -l -m $T/show/tiny-bytebpe" ;;
	tok-train) echo "tok-train -q --vocab-size 300" ;;
	emb-token) echo "emb-token -m $T/emb/tiny-bert" ;;
	emb-pool) echo "emb-pool" ;;
	w2v-train) echo "w2v-train -q --min-count 1 --vector-size 8 --epochs 1" ;;
	knn) echo "knn -k 2 $T/knn/words.txt" ;;
	recommend) echo "recommend -n 2 -v $T/recommend/songs.vec" ;;
	esac
}

PROGS="tok-encode tok-decode tok-show tok-train emb-token emb-pool w2v-train knn recommend"

setup_file() {
	local dir=$BATS_FILE_TMPDIR
	# a valid input for each program, big enough to fill a pipe
	for _ in $(seq 2000); do echo "Hello, world! This is tokemb."; done >"$dir/text"
	tok-encode -m "$T/tok/tiny-bert.json" <"$dir/text" >"$dir/ids"
	for _ in $(seq 2000); do echo "2 4 5 6 9 10 3"; done >"$dir/embids"
	emb-token -m "$T/emb/tiny-bert" <"$dir/embids" >"$dir/tokvec"
	awk 'NR > 1 { print $1 }' "$T/knn/words.txt" | head -20 >"$dir/keys"
	for _ in $(seq 200); do cat "$dir/keys"; done >"$dir/knnq"
	head -c 2000 "$T/recommend/songs.vec" | awk 'NR > 1 { print $1 }' | head -5 >"$dir/recq"
	for _ in $(seq 500); do cat "$dir/recq"; done >"$dir/recq2"
	awk '{ printf "%s%s", $0, (NR % 5 ? " " : "\n") }' "$dir/keys" >"$dir/seqs"
	for _ in $(seq 200); do cat "$dir/seqs"; done >"$dir/seqs2"
	printf 'caf\xe9 \xff\xfe na\xc3\xafve \xed\xa0\x80\n' >"$dir/badutf8"
	printf 'abc\0def\0\nghi\0\n' >"$dir/nul"
	# a deterministic binary file
	awk 'BEGIN { srand(7); for (i = 0; i < 65536; i++) printf "%c", int(rand() * 256) }' \
		</dev/null >"$dir/binary"
}

valid_input() {
	case $1 in
	tok-encode | tok-show | tok-train) echo "$BATS_FILE_TMPDIR/text" ;;
	tok-decode) echo "$BATS_FILE_TMPDIR/ids" ;;
	emb-token) echo "$BATS_FILE_TMPDIR/embids" ;;
	emb-pool) echo "$BATS_FILE_TMPDIR/tokvec" ;;
	w2v-train) echo "$BATS_FILE_TMPDIR/seqs2" ;;
	knn) echo "$BATS_FILE_TMPDIR/knnq" ;;
	recommend) echo "$BATS_FILE_TMPDIR/recq2" ;;
	esac
}

# status must be 0, or 1 with a "prog:" message
check_clean() {
	local p=$1 what=$2
	if [ "$status" -ne 0 ] && [ "$status" -ne 1 ]; then
		echo "$p on $what: exit $status"
		echo "$stderr" | head -5
		return 1
	fi
	if [ "$status" -eq 1 ] && [[ $stderr != *"$p: "* ]]; then
		echo "$p on $what: exit 1 without a '$p: ' message: $stderr"
		return 1
	fi
}

@test "every program: empty input is handled (0, or 1 with a message)" {
	for p in $PROGS; do
		run --separate-stderr bash -c "$(cmdline "$p") < <(:)"
		check_clean "$p" "empty input"
	done
}

@test "every program: a binary file, invalid UTF-8 and NUL bytes never crash" {
	local f
	for p in $PROGS; do
		for f in binary badutf8 nul; do
			run --separate-stderr timeout 60 bash -c "$(cmdline "$p") <'$BATS_FILE_TMPDIR/$f' >/dev/null"
			check_clean "$p" "$f"
		done
	done
}

@test "every program: a full disk is an error with a message (exit 1)" {
	[ -w /dev/full ] || skip "needs /dev/full"
	for p in $PROGS; do
		run --separate-stderr bash -c "$(cmdline "$p") <'$(valid_input "$p")' >/dev/full"
		if [ "$status" -ne 1 ] || [[ $stderr != *"$p: "* ]]; then
			echo "$p >/dev/full: exit $status, stderr: $stderr"
			return 1
		fi
	done
}

@test "every program: a closed stdout ends it quietly, as yes | head -1" {
	for p in $PROGS; do
		run --separate-stderr bash -c "$(cmdline "$p") <'$(valid_input "$p")' | head -c 1 >/dev/null; echo \${PIPESTATUS[0]}"
		if [ "$output" != 0 ] && [ "$output" != 141 ]; then
			echo "$p | head: exit $output, stderr: $stderr"
			return 1
		fi
		if [ -n "$stderr" ]; then
			echo "$p | head: printed on stderr: $stderr"
			return 1
		fi
	done
}

@test "every program: a 100 MB line is handled without a crash" {
	[ -z "${TOKEMB_SAN:-}" ] || skip "slow under the sanitizers; run in the normal build"
	local big=$BATS_FILE_TMPDIR/bigline
	awk 'BEGIN { s = "lorem ipsum dolor sit amet "; while (length(s) < 100000000) s = s s; printf "%s\n", substr(s, 1, 100000000) }' \
		</dev/null >"$big"
	for p in $PROGS; do
		run --separate-stderr timeout 300 bash -c "$(cmdline "$p") <'$big' >/dev/null"
		check_clean "$p" "a 100 MB line"
	done
	rm -f "$big"
}
