#!/usr/bin/env bats
# w2v-train: input of any shape, the output formats, reproducibility, errors.

load helper

P=$T/w2v/playlists.txt

setup() {
	tmp=$(mktemp -d)
}

teardown() {
	rm -rf "$tmp"
}

@test "w2v-train writes a word2vec text file, items by falling frequency" {
	run -0 --separate-stderr w2v-train --min-count 1 --vector-size 8 --threads 1 -q "$P"
	[ "${lines[0]}" = "48 8" ]
	[ "${#lines[@]}" -eq 49 ]
	# every row is an item and 8 numbers
	[ "$(printf '%s\n' "${lines[@]:1}" | awk 'NF != 9' | wc -l)" -eq 0 ]
	# the first item is the most frequent one
	top=$(tr ' ' '\n' <"$P" | sort | uniq -c | sort -k1,1nr | head -1 | awk '{print $2}')
	[ "$(printf '%s\n' "${lines[1]}" | cut -d' ' -f1)" = "$top" ]
	[ -z "$stderr" ]
}

@test "w2v-train prints a summary line on stderr unless --quiet" {
	run -0 --separate-stderr w2v-train --min-count 1 --vector-size 4 "$P"
	[[ $stderr == "w2v-train: vocabulary 48 items, 20000 items trained"* ]]
}

@test "w2v-train --threads 1 --seed gives byte-identical output; another seed differs" {
	w2v-train --threads 1 --seed 7 --min-count 1 --vector-size 16 -q "$P" >"$tmp/a"
	w2v-train --threads 1 --seed 7 --min-count 1 --vector-size 16 -q <"$P" >"$tmp/b"
	w2v-train --threads 1 --seed 8 --min-count 1 --vector-size 16 -q "$P" >"$tmp/c"
	cmp "$tmp/a" "$tmp/b"
	run -1 cmp -s "$tmp/a" "$tmp/c"
}

@test "w2v-train skip-gram, hierarchical softmax, CBOW sum and 2 threads all train" {
	for opts in "--sg 1" "--sg 1 --batch 0" "--hs 1 --negative 0" "--sg 1 --hs 1" \
		"--cbow-mean 0" "--threads 2" "--sample 0 --window 2 --ns-exponent 0.5"; do
		# shellcheck disable=SC2086
		run -0 --separate-stderr w2v-train $opts --min-count 1 --vector-size 8 -q "$P"
		[ "${lines[0]}" = "48 8" ]
	done
}

@test "w2v-train: fewer sequences than a thread's lanes train, the same at each run" {
	# four lanes a thread: one, two and three sequences leave lanes empty
	for n in 1 2 3; do
		head -n "$n" "$P" >"$tmp/few"
		v=$(tr ' ' '\n' <"$tmp/few" | sort -u | grep -c .)
		w2v-train --threads 2 --min-count 1 --vector-size 8 -q "$tmp/few" >"$tmp/t2"
		[ "$(head -1 "$tmp/t2")" = "$v 8" ]
		[ "$(wc -l <"$tmp/t2")" -eq $((v + 1)) ]
		w2v-train --threads 1 --min-count 1 --vector-size 8 -q "$tmp/few" >"$tmp/a"
		w2v-train --threads 1 --min-count 1 --vector-size 8 -q "$tmp/few" >"$tmp/b"
		[ "$(head -1 "$tmp/a")" = "$v 8" ]
		cmp "$tmp/a" "$tmp/b"
	done
}

@test "w2v-train -o writes the file whole; --binary and --format tevec" {
	run -0 w2v-train --min-count 1 --vector-size 8 -q -o "$tmp/v.txt" "$P"
	[ -z "$output" ]
	[ "$(head -1 "$tmp/v.txt")" = "48 8" ]
	w2v-train --min-count 1 --vector-size 8 -q --binary -o "$tmp/v.bin" "$P"
	[ "$(head -c 5 "$tmp/v.bin")" = "48 8" ]
	[ "$(stat -c %s "$tmp/v.bin")" -gt $((48 * 8 * 4)) ]
	w2v-train --min-count 1 --vector-size 8 -q --format tevec "$P" >"$tmp/v.tevec"
	[ "$(head -c 7 "$tmp/v.tevec")" = "TOKEMBV" ]
	[ "$(ls "$tmp")" = "$(printf 'v.bin\nv.tevec\nv.txt')" ]
}

@test "w2v-train -o creates its file with the user's umask" {
	(umask 022 && w2v-train --min-count 1 --vector-size 4 -q -o "$tmp/a.txt" "$P")
	(umask 077 && w2v-train --min-count 1 --vector-size 4 -q -o "$tmp/b.txt" "$P")
	(umask 027 && w2v-train --min-count 1 --vector-size 4 -q -o "$tmp/c.txt" "$P")
	[ "$(stat -c %a "$tmp/a.txt")" = 644 ]
	[ "$(stat -c %a "$tmp/b.txt")" = 600 ]
	[ "$(stat -c %a "$tmp/c.txt")" = 640 ]
}

@test "w2v-train output loads in gensim (text and binary), same vectors" {
	/usr/bin/python3 -c 'import gensim' 2>/dev/null || skip "needs gensim in /usr/bin/python3"
	w2v-train --min-count 1 --vector-size 16 --epochs 20 -q --threads 1 -o "$tmp/v.txt" "$P"
	w2v-train --min-count 1 --vector-size 16 --epochs 20 -q --threads 1 --binary -o "$tmp/v.bin" "$P"
	run -0 --separate-stderr /usr/bin/python3 -c '
import sys
from gensim.models import KeyedVectors as K
a = K.load_word2vec_format(sys.argv[1])
b = K.load_word2vec_format(sys.argv[2], binary=True)
assert len(a) == len(b) == 48 and a.index_to_key == b.index_to_key
assert (a.vectors == b.vectors).all()
print(a.most_similar("rock01", topn=1)[0][0][:4])' "$tmp/v.txt" "$tmp/v.bin"
	[ "$output" = rock ]
}

@test "w2v-train: empty input is an error and leaves no file" {
	: >"$tmp/empty"
	run -1 --separate-stderr w2v-train -o "$tmp/v" "$tmp/empty"
	[ "$stderr" = "w2v-train: no items in the input" ]
	[ "$(ls "$tmp")" = empty ]
}

@test "w2v-train: every item below --min-count is an error naming it" {
	run -1 --separate-stderr w2v-train -o "$tmp/v" <<<"a b c"
	[[ $stderr == *"--min-count"*"vocabulary is empty"* ]]
	[ -z "$(ls "$tmp")" ]
}

@test "w2v-train: a single line trains" {
	run -0 --separate-stderr w2v-train --min-count 1 --vector-size 3 <<<"a b c a"
	[ "${lines[0]}" = "3 3" ]
	[[ ${lines[1]} == "a "* ]]
}

@test "w2v-train: items are bytes (invalid UTF-8, CR, tabs); NUL separates" {
	printf 'caf\xe9 \xff\xfe x\r\ny\tcaf\xe9 \xff\xfe\0x\n' >"$tmp/in"
	run -0 --separate-stderr w2v-train --min-count 1 --vector-size 2 "$tmp/in"
	[ "${lines[0]}" = "4 2" ]
	cut -d' ' -f1 <<<"$output" | LC_ALL=C grep -qx $'caf\xe9'
	cut -d' ' -f1 <<<"$output" | LC_ALL=C grep -qx $'\xff\xfe'
}

@test "w2v-train: a 100 MB line of items trains in pieces" {
	[ -n "${TOKEMB_SAN:-}" ] && n=10000000 || n=100000000
	yes 'w1 w2 w3 w4 w5 w6 w7' | head -c "$n" | tr '\n' ' ' >"$tmp/in"
	run -0 --separate-stderr w2v-train --min-count 1 --vector-size 4 --epochs 1 "$tmp/in"
	# 7 items and the cut "w" at the end
	[ "${lines[0]}" = "8 4" ]
}

@test "w2v-train: a 100 MB item is one item" {
	[ -n "${TOKEMB_SAN:-}" ] && n=10000000 || n=100000000
	{ head -c "$n" /dev/zero | tr '\0' 'x'; echo ' y'; } >"$tmp/in"
	run -0 --separate-stderr w2v-train --min-count 1 --vector-size 2 -o "$tmp/v" "$tmp/in"
	[ "$(head -1 "$tmp/v")" = "2 2" ]
	[ "$(wc -c <"$tmp/v")" -gt "$n" ]
}

@test "w2v-train: a missing file is reported, the next one is used, exit 1" {
	run -1 --separate-stderr w2v-train --min-count 1 --vector-size 2 -q "$tmp/nope" "$P"
	[ "$stderr" = "w2v-train: $tmp/nope: No such file or directory" ]
	[ "${lines[0]}" = "48 2" ]
}

@test "w2v-train: a directory as input is a read error" {
	run -1 --separate-stderr w2v-train "$tmp"
	[[ $stderr == "w2v-train: $tmp"*"Is a directory" ]]
}

@test "w2v-train: output errors are caught" {
	run -1 --separate-stderr bash -c "w2v-train --min-count 1 -q '$P' >/dev/full"
	[[ $stderr == *"No space left on device"* ]]
	run -1 --separate-stderr w2v-train --min-count 1 -q -o "$tmp/no/such/dir/v" "$P"
	[[ $stderr == *"No such file or directory"* ]]
	run -0 bash -c "w2v-train --min-count 1 -q '$P' | head -1"
	[ "$output" = "48 100" ]
}

@test "w2v-train: bad option values are usage errors" {
	run -2 --separate-stderr w2v-train --window 0
	[[ $stderr == *"--window"* ]]
	run -2 --separate-stderr w2v-train --sg 2
	run -2 --separate-stderr w2v-train --vector-size 10x
	run -2 --separate-stderr w2v-train --negative 0
	[[ $stderr == *"--hs 1"* ]]
	run -2 --separate-stderr w2v-train --format json
}

@test "w2v-train warns once, with the first line, on a NUL byte or invalid UTF-8" {
	printf 'a b c\nd \377 e\nf\000g\nh \376\n' >"$tmp/bin.txt"
	run -0 --separate-stderr w2v-train --min-count 1 --vector-size 4 -q "$tmp/bin.txt"
	[ "$stderr" = "w2v-train: $tmp/bin.txt:2: warning: invalid UTF-8; is this a text file? (trained on as it is)" ]
	[ "${lines[0]}" = "10 4" ]
	run -0 --separate-stderr w2v-train --min-count 1 --vector-size 4 -q < <(printf 'a b\nc d\ne\000f\n')
	[ "$stderr" = "w2v-train: -:3: warning: a NUL byte; is this a text file? (trained on as it is)" ]
	# UTF-8 text, whatever the script, passes in silence
	run -0 --separate-stderr w2v-train --min-count 1 --vector-size 4 -q < <(printf 'caf\303\251 \316\273 \360\237\230\200\n')
	[ -z "$stderr" ]
}
