#!/usr/bin/env bats
# knn: how rows are numbered and named, --pairs, --merge of sharded
# searches, and .npy files, on t/data/knn/words.txt (16 words, 8 dimensions).

load helper

W=$BATS_TEST_DIRNAME/data/knn/words.txt

setup_file() {
	export S=$BATS_FILE_TMPDIR
	tail -n +2 "$W" >"$S/keyed.txt"
	cut -d' ' -f2- "$S/keyed.txt" >"$S/plain.txt"
	# three shards of the collection, in order, and the rows before each
	sed -n 1,6p "$S/keyed.txt" >"$S/k0.txt"
	sed -n 7,11p "$S/keyed.txt" >"$S/k1.txt"
	sed -n 12,16p "$S/keyed.txt" >"$S/k2.txt"
	for i in 0 1 2; do cut -d' ' -f2- "$S/k$i.txt" >"$S/p$i.txt"; done
}

@test "knn: unkeyed rows are numbered from 1, queries and neighbours alike" {
	run -0 knn -k 1 "$S/plain.txt" "$S/plain.txt"
	[ "${#lines[@]}" -eq 16 ]
	# query 1 is row 1 (king); its best other row is row 5 (prince)
	[[ ${lines[0]} == "1	5	0.91"* ]]
	# row N is what sed -n Np prints: as a query labelled 1, it is itself
	run -0 knn -k 1 "$S/plain.txt" <<<"$(sed -n 5p "$S/plain.txt")"
	[ "${lines[0]}" = "1	5	1" ]
}

@test "knn: a query that is a row of the file never answers with itself" {
	run -0 knn -k 15 "$S/plain.txt" "$S/plain.txt"
	[ "${#lines[@]}" -eq $((16 * 15)) ]
	run -0 awk -F '\t' '$1 == $2' <<<"$output"
	[ "$output" = "" ]
	run -0 knn -k 15 "$S/keyed.txt" "$S/keyed.txt"
	run -0 awk -F '\t' '$1 == $2' <<<"$output"
	[ "$output" = "" ]
}

@test "knn: keys with spaces in the TSV form" {
	sed 's/^king /king of spain\t/' "$S/keyed.txt" >"$S/spaced.txt"
	run -0 knn -k 1 "$S/spaced.txt" <<<"king of spain"
	[[ ${lines[0]} == "king of spain	prince	0.91"* ]]
	run -0 knn -k 1 "$S/spaced.txt" <<<"prince"
	[[ ${lines[0]} == "prince	king of spain	0.91"* ]]
	# spaces and a tab both between numbers: refused, not guessed
	printf '1 2\t3\n' >"$S/mixed.txt"
	run -1 --separate-stderr knn "$S/mixed.txt" <<<"1 2 3"
	[[ $stderr == "knn: $S/mixed.txt:1: spaces and a tab both separate"* ]]
}

# The cosine of two rows of the file in awk.
awk_cos() {
	awk -v a="$1" -v b="$2" '
	$1 == a { for (i = 2; i <= NF; i++) x[i] = $i }
	$1 == b { for (i = 2; i <= NF; i++) y[i] = $i }
	END { for (i in x) { d += x[i] * y[i]; p += x[i] ^ 2; q += y[i] ^ 2 }
	      printf "%.9f\n", d / sqrt(p) / sqrt(q) }' "$S/keyed.txt"
}

@test "knn --pairs: the similarity of two keys, in the metric chosen" {
	run -0 knn --pairs "$W" <<<$'king\tqueen\nking\tprince'
	[ "${#lines[@]}" -eq 2 ]
	[[ ${lines[0]} == "king	queen	"* ]]
	for l in 0 1; do
		IFS=$'\t' read -r a b got <<<"${lines[$l]}"
		want=$(awk_cos "$a" "$b")
		awk -v g="$got" -v w="$want" 'BEGIN { exit !(g - w < 1e-6 && w - g < 1e-6) }'
	done
	# symmetric; an expression scores as its query would
	run -0 knn --pairs "$W" <<<$'queen\tking'
	[ "${lines[0]#queen	king	}" = "$(knn --pairs "$W" <<<$'king\tqueen' | cut -f3)" ]
	run -0 knn --pairs "$W" <<<$'king - man + woman\tqueen'
	[[ ${lines[0]} == "king - man + woman	queen	0."* ]]
	run -0 knn --pairs --metric euclidean "$W" <<<$'king\tking'
	[ "${lines[0]}" = "king	king	0" ]
	run -0 knn --pairs --json "$W" <<<$'king\tqueen'
	[[ ${lines[0]} == '{"a":"king","b":"queen","score":'* ]]
}

@test "knn --pairs: an unknown key or a line without one tab is reported, exit 1" {
	run -1 --separate-stderr knn --pairs "$W" <<<$'king\tnosuchword\nking queen\nking\tqueen'
	[ "${#lines[@]}" -eq 1 ]
	[[ ${lines[0]} == "king	queen	"* ]]
	[[ $stderr == *"knn: -:1: warning: unknown key 'nosuchword'"* ]]
	[[ $stderr == *"knn: -:2: not two fields separated by one tab"* ]]
}

@test "knn --merge: three shards searched apart give the whole's answers, byte for byte" {
	for m in cosine dot euclidean; do
		knn -k 5 --metric $m "$S/keyed.txt" "$S/keyed.txt" >"$S/whole"
		for i in 0 1 2; do
			knn -k 5 --metric $m "$S/k$i.txt" "$S/keyed.txt" >"$S/a$i" 2>/dev/null
		done
		knn --merge -k 5 --metric $m "$S/a0" "$S/a1" "$S/a2" >"$S/merged"
		cmp "$S/whole" "$S/merged"
	done
	# unkeyed shards name their rows as the whole does with --row-offset
	knn -k 5 "$S/plain.txt" "$S/plain.txt" >"$S/whole"
	knn -k 5 "$S/p0.txt" "$S/plain.txt" >"$S/a0" 2>/dev/null
	knn -k 5 --row-offset 6 "$S/p1.txt" "$S/plain.txt" >"$S/a1" 2>/dev/null
	knn -k 5 --row-offset 11 "$S/p2.txt" "$S/plain.txt" >"$S/a2" 2>/dev/null
	knn --merge -k 5 "$S/a0" "$S/a1" "$S/a2" >"$S/merged"
	cmp "$S/whole" "$S/merged"
}

@test "knn --merge: ties keep the whole's row order" {
	printf 'a 1 0\nb 1 0\nc 1 0\nd 1 0\n' >"$S/ties.txt"
	sed -n 1,2p "$S/ties.txt" >"$S/t0.txt"
	sed -n 3,4p "$S/ties.txt" >"$S/t1.txt"
	knn -k 3 "$S/ties.txt" <<<"1 0" >"$S/whole"
	knn -k 3 "$S/t0.txt" <<<"1 0" >"$S/a0" 2>/dev/null
	knn -k 3 "$S/t1.txt" <<<"1 0" >"$S/a1" 2>/dev/null
	run -0 knn --merge -k 3 "$S/a0" "$S/a1"
	[ "$output" = "$(cat "$S/whole")" ]
	[ "$(cut -f2 <<<"$output" | tr '\n' ' ')" = "a b c " ]
}

@test "knn --merge: shards that answered other queries are refused" {
	knn -k 2 "$S/k0.txt" <<<"king" >"$S/a0"
	knn -k 2 "$S/k0.txt" <<<"queen" >"$S/a1"
	run -1 --separate-stderr knn --merge "$S/a0" "$S/a1"
	[[ $stderr == "knn: $S/a1:1: answers to queries the first file does not answer"* ]]
	run -2 --separate-stderr knn --merge
	printf 'not knn output\n' >"$S/bad"
	run -1 --separate-stderr knn --merge "$S/bad"
	[[ $stderr == "knn: $S/bad:1: not a line of knn's output"* ]]
}

# A 2 x 3 '<f4' array as numpy saves it: the v1.0 header, padded to 128 bytes.
write_npy() {
	local h="{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }"
	{
		printf '\223NUMPY\001\000\166\000%s' "$h"
		printf '%*s\n' $((117 - ${#h})) ''
		# 1 0 0 / 0 1 0 as little-endian float32
		printf '\000\000\200\077\000\000\000\000\000\000\000\000'
		printf '\000\000\000\000\000\000\200\077\000\000\000\000'
	} >"$1"
}

@test "knn reads .npy (detected by its magic), with keys from FILE.keys" {
	write_npy "$S/v.npy"
	[ "$(wc -c <"$S/v.npy")" -eq $((128 + 24)) ]
	run -0 knn -k 1 "$S/v.npy" <<<"1 0.1 0"
	[ "${lines[0]}" = "1	1	0.9950371" ]
	printf 'east\nnorth\n' >"$S/v.npy.keys"
	run -0 knn -k 1 "$S/v.npy" <<<"east"
	[ "${lines[0]}" = "east	north	0" ]
	# queries from a .npy file, labelled by their keys
	run -0 knn -k 1 "$S/v.npy" "$S/v.npy"
	[ "$output" = $'east\tnorth\t0\nnorth\teast\t0' ]
	printf 'east\n' >"$S/v.npy.keys"
	run -1 --separate-stderr knn "$S/v.npy" <<<"east"
	[[ $stderr == "knn: $S/v.npy.keys:"*"1 keys for the 2 rows"* ]]
	rm "$S/v.npy.keys"
	# float64 is refused with the way to convert it
	sed 's/<f4/<f8/' "$S/v.npy" >"$S/f8.npy"
	run -1 --separate-stderr knn "$S/f8.npy" <<<"1 0 0"
	[[ $stderr == *"not float32 ('<f4')"* ]]
}
