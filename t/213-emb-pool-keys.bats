#!/usr/bin/env bats
# emb-pool --keys and --format: vectors that keep their labels, in every
# vector format, read back by knn.

load helper

setup_file() {
	export S=$BATS_FILE_TMPDIR
	# three documents of token vectors (2 dimensions): the second is empty
	printf '1 2\n3 4\n\n\n5 6\n\n' >"$S/tok.txt"
	printf 'first doc\nsecond\nthird one\n' >"$S/keys.txt"
}

@test "emb-pool --keys FILE: keys with spaces in the TSV form, read back by knn" {
	run -0 emb-pool --keys "$S/keys.txt" "$S/tok.txt"
	[ "$output" = $'first doc\t2 3\nsecond 0 0\nthird one\t5 6' ]
	emb-pool --keys "$S/keys.txt" "$S/tok.txt" >"$S/v.txt"
	run -0 knn -k 1 "$S/v.txt" <<<"first doc"
	[ "$output" = "first doc	third one	0.9943092" ]
	run -0 emb-pool --format tsv --keys "$S/keys.txt" "$S/tok.txt"
	[ "${lines[1]}" = "second	0 0" ]
}

@test "emb-pool --keys lineno: each document's number, from 1, kept a key" {
	run -0 emb-pool --keys lineno "$S/tok.txt"
	[ "$output" = $'1\t2 3\n2\t0 0\n3\t5 6' ]
	emb-pool --keys lineno "$S/tok.txt" >"$S/n.txt"
	run -0 knn -k 1 "$S/n.txt" <<<"3"
	[ "$output" = "3	1	0.9943092" ]
}

@test "emb-pool --keys: as many keys as documents, else exit 1" {
	printf 'a\nb\n' >"$S/two"
	run -1 --separate-stderr emb-pool --keys "$S/two" "$S/tok.txt"
	[ "$stderr" = "emb-pool: $S/two: 2 keys, fewer than the documents" ]
	printf 'a\nb\nc\nd\n' >"$S/four"
	run -1 --separate-stderr emb-pool --keys "$S/four" "$S/tok.txt"
	[ "$stderr" = "emb-pool: $S/four: more keys than the 3 documents" ]
	printf 'a\tb\nc\nd\n' >"$S/tab"
	run -1 --separate-stderr emb-pool --keys "$S/tab" "$S/tok.txt"
	[[ $stderr == "emb-pool: $S/tab:1: key 'a"*"cannot: write TEVEC"* ]]
}

@test "emb-pool --format tevec --keys: a keyed TEVEC file" {
	emb-pool --format tevec --keys "$S/keys.txt" "$S/tok.txt" >"$S/v.tevec"
	# header, 3 rows of 2 floats, the key table
	[ "$(wc -c <"$S/v.tevec")" -eq $((64 + 3 * 2 * 4 + 10 + 7 + 10)) ]
	run -0 knn -k 2 "$S/v.tevec" <<<"third one"
	[ "$output" = $'third one\tfirst doc\t0.9943092\nthird one\tsecond\t0' ]
}

@test "emb-pool --format npy: NumPy's .npy v1.0, '<f4', C order" {
	emb-pool --format npy "$S/tok.txt" >"$S/v.npy"
	[ "$(wc -c <"$S/v.npy")" -eq $((128 + 3 * 2 * 4)) ]
	[ "$(head -c 8 "$S/v.npy" | od -An -c | tr -s ' ')" = " 223 N U M P Y 001 \0" ]
	run -0 bash -c "head -c 128 '$S/v.npy' | tail -c 118"
	[[ $output == "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 2), }"* ]]
	[ "$(tail -c 24 "$S/v.npy" | od -An -tf4 | tr -s ' \n' ' ')" = " 2 3 0 0 5 6 " ]
	run -0 knn -k 1 "$S/v.npy" <<<"5 6"
	[ "$output" = "1	3	1" ]
	# keys: refused, a .npy file has none
	run -2 --separate-stderr emb-pool --format npy --keys lineno "$S/tok.txt"
	[[ $stderr == "emb-pool: --format npy holds no keys"* ]]
}

@test "emb-pool --format npy: numpy loads it" {
	[ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import numpy' 2>/dev/null ||
		skip "needs numpy for /usr/bin/python3"
	emb-pool --format npy "$S/tok.txt" >"$S/v.npy"
	run -0 /usr/bin/python3 -c "import numpy as np, sys
a = np.load(sys.argv[1])
assert a.dtype == np.float32 and a.shape == (3, 2) and a.flags['C_CONTIGUOUS']
print(' '.join('%g' % x for x in a.ravel()))" "$S/v.npy"
	[ "$output" = "2 3 0 0 5 6" ]
}
