#!/usr/bin/env bats
# recommend --sequences: Cornell playlists and event logs to one sequence per line.

load helper

R=$BATS_TEST_DIRNAME/data/recommend

@test "--cornell: header lines skipped, trailing space dropped" {
	run -0 recommend --sequences --cornell "$R/playlists.txt"
	[ "${#lines[@]}" -eq 40 ]
	[ "${lines[0]}" = "$(sed -n '3s/ $//p' "$R/playlists.txt")" ]
	[ "$(grep -c ' $' <<<"$output")" -eq 0 ]
}

@test "--cornell reads stdin and several files in turn" {
	run -0 bash -c "recommend --sequences --cornell < '$R/playlists.txt' | wc -l"
	[ "$output" -eq 40 ]
	run -0 bash -c "recommend --sequences --cornell '$R/playlists.txt' - < '$R/playlists.txt' | wc -l"
	[ "$output" -eq 80 ]
}

@test "--csv: each user's items in time order, ties in file order, CRLF ignored" {
	run -0 --separate-stderr recommend --sequences --csv "$R/ratings.csv"
	[ "${lines[0]}" = "260 1196 588 1 2571" ]
	[ "${lines[1]}" = "858 11 1221" ]
	[ "${lines[2]}" = "1 364 588" ]
	[ "${#lines[@]}" -eq 3 ]
	[ -z "$stderr" ]
}

@test "--csv --min-rating keeps the liked items only" {
	run -0 recommend --sequences --csv --min-rating 4 "$R/ratings.csv"
	[ "${lines[0]}" = "260 1196 1 2571" ]
	[ "${lines[1]}" = "858 1221" ]
}

@test "--fields picks the columns; times that are not numbers sort as text" {
	printf 'item,when,user\nb,2024-03-01,u1\na,2024-01-05,u1\nc,2023-12-31,u2\nd,2024-02-01,u1\n' \
		>"$BATS_TEST_TMPDIR/ev.csv"
	run -0 recommend --sequences --csv --fields 3,1,2 "$BATS_TEST_TMPDIR/ev.csv"
	[ "${lines[0]}" = "a d b" ]
	[ "${lines[1]}" = "c" ]
	run -2 recommend --sequences --csv --fields 1,x,3 "$BATS_TEST_TMPDIR/ev.csv"
	run -2 recommend --sequences --csv --fields 1,2 "$BATS_TEST_TMPDIR/ev.csv"
}

@test "--csv: malformed records are reported with their line and skipped" {
	printf 'u,i,r,t\n1,a,4,10\n1\n1,b,x,11\n1,c,5,9\n"2,d,5,1\n' >"$BATS_TEST_TMPDIR/ev.csv"
	run -1 --separate-stderr recommend --sequences --csv --min-rating 1 "$BATS_TEST_TMPDIR/ev.csv"
	[ "$output" = "c a" ]
	[[ $stderr == *"ev.csv:3: "*"too few"* ]]
	[[ $stderr == *"ev.csv:4: rating in column 3 is not a number"* ]]
	[[ $stderr == *"ev.csv:6: quoted field not closed"* ]]
}

@test "--sequences needs exactly one format; --cornell alone is a usage error" {
	run -2 recommend --sequences "$R/playlists.txt"
	run -2 recommend --sequences --cornell --csv "$R/playlists.txt"
	run -2 recommend --cornell "$R/playlists.txt"
	run -2 recommend --sequences --cornell --min-rating 3 "$R/playlists.txt"
}

@test "a missing file is reported, the next one is read, exit 1" {
	run -1 --separate-stderr recommend --sequences --cornell /nonexistent "$R/playlists.txt"
	[ "${#lines[@]}" -eq 40 ]
	[[ $stderr == *"/nonexistent: No such file or directory"* ]]
}

@test "MovieLens ratings.csv: 610 users, 100836 ratings" {
	need_data movielens/ml-latest-small/ratings.csv
	run -0 bash -c "recommend --sequences --csv '$D/movielens/ml-latest-small/ratings.csv' | wc -lw"
	[ "$(tr -s ' ' <<<"$output" | sed 's/^ //')" = "610 100836" ]
}
