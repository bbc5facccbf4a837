#!/usr/bin/env bats
# recommend: bad input is reported with its place, never a crash.

load helper

R=$BATS_TEST_DIRNAME/data/recommend

@test "an unknown id is reported with its line and left out of the query" {
	run -1 --separate-stderr recommend -v "$R/songs.vec" -n 2 <<<$'3822\nnope 2172\nnope'
	[[ $stderr == *"recommend: -:2: unknown id 'nope'"* ]]
	[[ $stderr == *"recommend: -:3: unknown id 'nope'"* ]]
	[ "${#lines[@]}" -eq 4 ]
	[ "$(cut -f1 <<<"$output" | uniq | tr '\n' ' ')" = "1 2 " ]
	# as an argument
	run -1 --separate-stderr recommend -v "$R/songs.vec" -n 1 3822 nope
	[[ $stderr == *"argument:2: unknown id 'nope'"* ]]
	[ "${#lines[@]}" -eq 1 ]
}

@test "an empty query line is reported; the next lines are answered" {
	run -1 --separate-stderr recommend -v "$R/songs.vec" -n 1 <<<$'3822\n\n  \n2172'
	[[ $stderr == *"-:2: empty query"* ]]
	[[ $stderr == *"-:3: empty query"* ]]
	[ "${lines[1]%%$'\t'*}" = 4 ]
}

@test "metadata with malformed lines and missing ids: reported with line numbers" {
	printf '3822 \tBillie Jean\tMichael Jackson\nno tab here\n\t\tempty id\n3822\tagain\tx\n3493\tInto The Groove\n' \
		>"$BATS_TEST_TMPDIR/m.tsv"
	run -1 --separate-stderr recommend -v "$R/songs.vec" --meta "$BATS_TEST_TMPDIR/m.tsv" -n 3 3501
	[[ $stderr == *"m.tsv:2: no tab after the id"* ]]
	[[ $stderr == *"m.tsv:3: empty id"* ]]
	[[ $stderr == *"m.tsv:4: repeated id, first kept: '3822'"* ]]
	[[ $stderr == *"m.tsv: no metadata for id '3567'"* ]]
	# rows without metadata keep the column count of the widest line
	[ "${lines[1]}" = $'1\t3822\t0.977553\tBillie Jean\tMichael Jackson' ]
	[ "${lines[0]}" = $'1\t3567\t0.992625\t\t' ]
	[ "$(awk -F'\t' '{ print NF }' <<<"$output" | sort -u)" = 5 ]
}

@test "CSV metadata without --csv: one message suggesting --csv, exit 1" {
	run -1 --separate-stderr recommend -v "$R/movies.vec" --meta "$R/movies.csv" -n 2 858
	[ "$stderr" = "recommend: $R/movies.csv:1: 'movieId,title,genres' looks like CSV, not TSV: use --csv" ]
	[ -z "$output" ]
	if [ -r "$TOKEMB_DATA/movielens/ml-latest-small/movies.csv" ]; then
		run -1 --separate-stderr recommend -v "$R/movies.vec" \
			--meta "$TOKEMB_DATA/movielens/ml-latest-small/movies.csv" 858
		[ "${#stderr_lines[@]}" -eq 1 ]
		[[ $stderr == *"looks like CSV, not TSV: use --csv" ]]
	fi
	# a one-line CSV file too; a TSV whose first line alone has a comma is
	# TSV with a bad line
	printf 'a,b\n' >"$BATS_TEST_TMPDIR/one.tsv"
	run -1 --separate-stderr recommend -v "$R/songs.vec" --meta "$BATS_TEST_TMPDIR/one.tsv" 3822
	[[ $stderr == *"one.tsv:1: 'a,b' looks like CSV, not TSV: use --csv" ]]
	printf 'x,y\n3493\tInto The Groove\n' >"$BATS_TEST_TMPDIR/two.tsv"
	run -1 --separate-stderr recommend -v "$R/songs.vec" --meta "$BATS_TEST_TMPDIR/two.tsv" -n 1 3822
	[ "$output" = $'1\t3493\t0.978909\tInto The Groove' ]
	[[ $stderr == *"two.tsv:1: no tab after the id"* ]]
}

@test "CSV metadata with a quote left open is an error with its line" {
	printf 'id,title\n1,"Toy Story\n2,Jumanji\n' >"$BATS_TEST_TMPDIR/m.csv"
	run -1 --separate-stderr recommend -v "$R/movies.vec" --meta "$BATS_TEST_TMPDIR/m.csv" --csv 1
	[[ $stderr == *"m.csv:2: quoted field not closed before the end of the file"* ]]
	[ -z "$output" ]
}

@test "vectors: missing, without keys, truncated, binary garbage" {
	run -1 --separate-stderr recommend -v /nonexistent 1
	[[ $stderr == *"/nonexistent: No such file or directory"* ]]
	printf '1 0\n0 1\n' >"$BATS_TEST_TMPDIR/nokeys.txt"
	run -1 --separate-stderr recommend -v "$BATS_TEST_TMPDIR/nokeys.txt" 1
	[[ $stderr == *"no keys"* ]]
	printf '5 2\na 1 0\n' >"$BATS_TEST_TMPDIR/short.txt"
	run -1 --separate-stderr recommend -v "$BATS_TEST_TMPDIR/short.txt" a
	[[ $stderr == *"header says 5"* ]]
	head -c 3000 /dev/urandom >"$BATS_TEST_TMPDIR/junk"
	run -1 --separate-stderr recommend -v "$BATS_TEST_TMPDIR/junk" a
	: >"$BATS_TEST_TMPDIR/empty"
	run -1 --separate-stderr recommend -v "$BATS_TEST_TMPDIR/empty" a
}

@test "binary and NUL bytes in queries, a 10 MB line: reported, no crash" {
	run -1 --separate-stderr bash -c "printf '3822\0x 2172\n\xff\xfe\n' | recommend -v '$R/songs.vec' -n 1"
	[[ $stderr == *"-:1: unknown id (holds a NUL byte)"* ]]
	[ "${#lines[@]}" -eq 1 ]
	run -1 --separate-stderr bash -c "head -c 10000000 /dev/zero | tr '\\0' x | recommend -v '$R/songs.vec' -n 1"
	[[ $stderr == *"unknown id 'xxxx"* ]]
	[ -z "$output" ]
	run -0 bash -c "yes '3822 2172' | head -20000 | tr '\n' ' ' | recommend -v '$R/songs.vec' -n 2 | wc -l"
	[ "$output" -eq 2 ]
}

@test "usage errors exit 2" {
	run -2 --separate-stderr recommend 3822
	[[ $stderr == *"no vectors"* ]]
	run -2 recommend -v "$R/songs.vec" -n 0 3822
	run -2 recommend -v "$R/songs.vec" -n 10x 3822
	run -2 recommend -v "$R/songs.vec" --csv 3822
	run -2 recommend -v "$R/songs.vec" --context x --eval /dev/null
	run -2 recommend -v "$R/songs.vec" --context 2 3822
}

@test "empty input: no output, exit 0" {
	run -0 recommend -v "$R/songs.vec" </dev/null
	[ -z "$output" ]
	run -0 recommend --sequences --cornell </dev/null
	run -0 recommend --sequences --csv </dev/null
	# an evaluation of nothing is not one (as knn --eval): tokemb(5), ERRORS
	run -1 --separate-stderr recommend -v "$R/songs.vec" --eval /dev/null --train /dev/null
	[ "$output" = "" ]
	[ "$stderr" = "recommend: /dev/null: nothing to evaluate: no sequence of two items or more" ]
}
