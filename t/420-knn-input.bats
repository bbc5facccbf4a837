#!/usr/bin/env bats
# knn: queries, metrics, output forms and bad input, on the small fixture
# t/data/knn/words.txt (16 words, 8 dimensions).

load helper

W=$BATS_TEST_DIRNAME/data/knn/words.txt

# The best neighbours of a vector by brute force in awk: metric, k, vector.
awk_knn() {
	awk -v metric="$1" -v k="$2" -v q="$3" '
	BEGIN { n = split(q, qv, " ") }
	NR > 1 {
		dot = 0; rn = 0; qn = 0; l2 = 0
		for (i = 1; i <= n; i++) {
			dot += $(i + 1) * qv[i]; rn += $(i + 1) ^ 2; qn += qv[i] ^ 2
			l2 += ($(i + 1) - qv[i]) ^ 2
		}
		s = metric == "cosine" ? dot / sqrt(rn) / sqrt(qn) : metric == "dot" ? dot : -sqrt(l2)
		printf "%s\t%.9f\n", $1, s
	}' "$W" | sort -t "$(printf '\t')" -k2,2gr | head -"$2" | cut -f1
}

@test "a key: its neighbours without itself, best first" {
	run -0 knn -k 3 "$W" <<<"king"
	[ "${#lines[@]}" -eq 3 ]
	[[ ${lines[0]} == "king	prince	0.91"* ]]
	[[ $output != *"king	king"* ]]
}

@test "an expression: king - man + woman is queen, the terms left out" {
	run -0 knn -k 3 "$W" <<<"king - man + woman"
	[[ ${lines[0]} == "king - man + woman	queen	"* ]]
	[[ $output != *"	king	"* && $output != *"	woman	"* ]]
	run -0 knn -k 1 "$W" <<<"paris - france + germany"
	[[ $output == "paris - france + germany	berlin	"* ]]
	run -0 knn -k 1 --cosmul "$W" <<<"king - man + woman"
	[[ $output == *"	queen	"* ]]
}

@test "a raw vector: nothing left out, labelled by its line or its key" {
	local v
	v=$(awk '$1 == "queen" { $1 = ""; print substr($0, 2) }' "$W")
	run -0 knn -k 1 "$W" <<<"$v"
	[ "$output" = "1	queen	1" ]
	run -0 knn -k 1 "$W" <<<"q $v"
	[[ $output == "q	queen	"* ]]
}

@test "cosine, dot and euclidean agree with a brute force in awk" {
	local m q="1 0.5 0 0.2 0 0 0.3 -0.1"
	for m in cosine dot euclidean; do
		run -0 knn -k 5 --metric "$m" "$W" <<<"$q"
		diff <(printf '%s\n' "${lines[@]}" | cut -f2) <(awk_knn "$m" 5 "$q")
	done
	# the Euclidean score is the distance, smallest first
	run -0 knn -k 1 --metric euclidean "$W" <<<"$(awk '$1 == "man" { $1 = ""; print substr($0, 2) }' "$W")"
	[ "$output" = "1	man	0" ]
}

@test "--json writes one object per neighbour" {
	run -0 knn -k 2 --json "$W" <<<'king - man + woman'
	[[ ${lines[0]} == '{"query":"king - man + woman","neighbour":"queen","rank":1,"score":0.'*'}' ]]
	[[ ${lines[1]} == *'"rank":2,'* ]]
}

@test "queries from several files in turn, - for stdin; a missing one is reported" {
	printf 'king\n' >"$BATS_TEST_TMPDIR/q1"
	run -1 --separate-stderr knn -k 1 "$W" "$BATS_TEST_TMPDIR/q1" "$BATS_TEST_TMPDIR/none" - <<<"paris"
	[[ ${lines[0]} == "king	prince	0.913505"* ]]
	[[ ${lines[1]} == "paris	"* ]]
	[[ $stderr == *"none: No such file or directory"* ]]
}

@test "unknown key: a warning naming the line, no output for it, exit 1" {
	run -1 --separate-stderr knn -k 1 "$W" <<<$'king\nkingg\nqueen'
	[ "${#lines[@]}" -eq 2 ]
	[[ $stderr == "knn: -:2: warning: unknown key 'kingg'" ]]
	run -1 --separate-stderr knn -k 1 "$W" <<<"king - mann + woman"
	[[ $stderr == *"-:1: warning: unknown key 'mann'" ]]
	run -1 --separate-stderr knn -k 1 -p king,nope "$W"
	[[ $stderr == *"unknown key 'nope'" ]]
}

@test "dimension mismatch, NaN and infinity name the line" {
	run -1 --separate-stderr knn "$W" <<<$'king\n1 2 3'
	[[ $stderr == "knn: -:2: query has 3 components, the vectors have 8" ]]
	run -1 --separate-stderr knn "$W" <<<"1 nan 0 0 0 0 0 0"
	[[ $stderr == *"-:1: component 2 is not a finite number"* ]]
	run -1 --separate-stderr knn "$W" <<<"1 1e999 0 0 0 0 0 0"
	[[ $stderr == *"-:1: component 2 is not a finite number"* ]]
	run -1 --separate-stderr knn "$W" <<<"king - - man"
	[[ $stderr == *"-:1: two operators in a row"* ]]
	[ -z "$output" ]
}

@test "k larger than the index prints what there is, with a warning" {
	run -0 --separate-stderr knn -k 100 "$W" <<<"king"
	[ "${#lines[@]}" -eq 15 ]
	[[ $stderr == *"warning: -k 100 is more than the 15 vectors"* ]]
}

@test "empty, missing, damaged and unreadable vector files" {
	: >"$BATS_TEST_TMPDIR/empty"
	run -1 --separate-stderr knn "$BATS_TEST_TMPDIR/empty" <<<""
	[[ $stderr == *"no vectors"* ]]
	printf '0 8\n' >"$BATS_TEST_TMPDIR/zero"
	run -1 --separate-stderr knn "$BATS_TEST_TMPDIR/zero" <<<""
	[[ $stderr == *"no vectors"* ]]
	run -1 --separate-stderr knn "$BATS_TEST_TMPDIR/nope" <<<""
	[[ $stderr == *"nope: No such file or directory"* ]]
	printf 'a 1 2\nb 1 nan\n' >"$BATS_TEST_TMPDIR/nan"
	run -1 --separate-stderr knn "$BATS_TEST_TMPDIR/nan" <<<""
	[[ $stderr == *"nan:2: component 2 is not a finite number"* ]]
	printf '3 2\na 1 2\n' >"$BATS_TEST_TMPDIR/short"
	run -1 --separate-stderr knn "$BATS_TEST_TMPDIR/short" <<<""
	[[ $stderr == *"header says 3 vectors"* ]]
	run -1 --separate-stderr knn - <<<""
	[[ $stderr == *"not standard input"* ]]
	# a header whose dimension is the largest long long: no overflow
	printf '1 9223372036854775807\na 1 2\n' >"$BATS_TEST_TMPDIR/huge"
	run -1 --separate-stderr knn "$BATS_TEST_TMPDIR/huge" <<<""
	[[ $stderr == "knn: $BATS_TEST_TMPDIR/huge"* ]]
}

@test "TEVEC vectors (memory-mapped) answer as the text file does" {
	command -v perl >/dev/null || skip "needs perl to write the fixture"
	perl -e '
		open my $in, "<", $ARGV[0] or die; <$in>;
		my (@rows, @keys);
		while (<$in>) { my @f = split; push @keys, shift @f; push @rows, pack("f<*", @f) }
		my $keys = join("", map { "$_\0" } @keys);
		my $n = @rows;
		print pack("a8 V V Q< Q< Q< Q< V x12", "TOKEMBV", 1, 1, $n, 8, 64 + $n * 32, length $keys);
		print @rows, $keys;' "$W" >"$BATS_TEST_TMPDIR/w.tevec"
	diff <(knn "$W" <<<"king - man + woman") <(knn "$BATS_TEST_TMPDIR/w.tevec" <<<"king - man + woman")
	head -c 100 "$BATS_TEST_TMPDIR/w.tevec" >"$BATS_TEST_TMPDIR/cut.tevec"
	run -1 --separate-stderr knn "$BATS_TEST_TMPDIR/cut.tevec" <<<king
	[[ $stderr == *"truncated"* ]]
	# NaN in the vectors: refused, naming the row; in the queries: that
	# query is reported and skipped, the others answered
	perl -pe 'BEGIN { binmode STDIN; binmode STDOUT; $/ = \4 } $_ = pack("f<", "nan") if $. == 16 + 8 + 3' \
	    "$BATS_TEST_TMPDIR/w.tevec" >"$BATS_TEST_TMPDIR/nan.tevec"
	run -1 --separate-stderr knn "$BATS_TEST_TMPDIR/nan.tevec" <<<king
	[[ $stderr == *"nan.tevec: row 2: component 3 is not finite"* ]]
	run -1 --separate-stderr knn "$W" "$BATS_TEST_TMPDIR/nan.tevec"
	[[ $stderr == *"nan.tevec: vector 2: component 3 is not a finite number"* ]]
	[ "$(cut -f 1 <<<"$output" | uniq | tr '\n' ' ')" = "1 3 4 5 6 7 8 9 10 11 12 13 14 15 16 " ]
}

@test "binary, NUL bytes, invalid UTF-8 and a 20 MB line as queries" {
	run -1 --separate-stderr knn "$W" < <(printf 'ki\0ng\n\377\376\nking\n')
	[[ $stderr == *"-:1: NUL byte"* ]]
	[[ $stderr == *"-:2: warning: unknown key"* ]]
	[[ ${lines[0]} == "king	prince	"* ]]
	run -1 --separate-stderr knn "$W" < <(head -c 20000000 /dev/zero | tr '\0' 'x')
	[[ $stderr == *"-:1: warning: unknown key 'xxxx"* ]]
	[ "${#stderr}" -lt 400 ]
}

@test "empty input is no output; write errors and closed pipes" {
	run -0 knn "$W" <<<""
	[ -z "$output" ]
	run -1 --separate-stderr bash -c "knn '$W' <<<king >/dev/full"
	[[ $stderr == *"write error"* ]]
	run -0 bash -c "yes king | head -100000 | knn '$W' | head -1"
	[[ $output == "king	prince	"* ]]
}

@test "usage errors exit 2" {
	run -2 --separate-stderr knn
	[[ $stderr == *"no vector file"* ]]
	run -2 --separate-stderr knn -k 0 "$W"
	run -2 --separate-stderr knn -k x "$W"
	run -2 --separate-stderr knn --metric manhattan "$W"
	run -2 --separate-stderr knn --cosmul --metric dot "$W"
	run -2 --separate-stderr knn --eval x --eval-pairs y "$W"
	run -2 --separate-stderr knn --ef 10 "$W"
}

@test "knn: a text header that disagrees with the rows is an error naming the line, not binary" {
	f=$BATS_TEST_TMPDIR/v.vec
	awk 'BEGIN { print "20000 50"; for (i = 0; i < 3; i++) { printf "w%d", i
		for (j = 0; j < 100; j++) printf " %d.5", j; print "" } }' >"$f"
	run -1 --separate-stderr knn "$f" <<<"w1"
	[ "$output" = "" ]
	[ "$stderr" = "knn: $f:2: 100 components, expected 50" ]
	# a header the file cannot hold is not taken for binary, nor sized from
	printf '99999999999 100\nab\0\1' >"$f"
	run -1 --separate-stderr knn "$f" </dev/null
	[ "$stderr" = "knn: $f:2: NUL byte in a vector line" ]
}

@test "knn: a header's row count that disagrees with the rows is an error naming the line" {
	f=$BATS_TEST_TMPDIR/v.txt
	printf '5 3\na 1 0 0\nb 0 1 0\nc 0 0 1\nd 1 1 0\n' >"$f"
	run -1 --separate-stderr knn "$f" <<<"a"
	[ "$output" = "" ]
	[ "$stderr" = "knn: $f:1: header says 5 vectors, file holds 4" ]
	printf 'e 1 0 1\nf 0 1 1\n' >>"$f"
	run -1 --separate-stderr knn "$f" <<<"a"
	[ "$output" = "" ]
	[ "$stderr" = "knn: $f:7: vector 6, more than the header's 5" ]
	# as many as it says: read
	head -n 6 "$f" >"$f.5"
	run -0 knn -k 1 "$f.5" <<<"a"
}
