#!/usr/bin/env bats
# recommend: queries, output format, metadata, --combine, --json.

load helper

R=$BATS_TEST_DIRNAME/data/recommend

@test "one id: neighbours by cosine, best first, as gensim most_similar" {
	run -0 --separate-stderr recommend -v "$R/songs.vec" -n 3 3822
	# gensim 4.2 KeyedVectors.most_similar('3822', topn=3) on songs.vec
	[ "${lines[0]}" = $'1\t3493\t0.978909' ]
	[ "${lines[1]}" = $'1\t3501\t0.977553' ]
	[ "${lines[2]}" = $'1\t3567\t0.972544' ]
	[ "${#lines[@]}" -eq 3 ]
	[ -z "$stderr" ]
}

@test "several ids: mean of unit vectors, as most_similar(positive=[...])" {
	run -0 recommend -v "$R/songs.vec" -n 3 '3822 2172'
	[ "${lines[0]}" = $'1\t3396\t0.938085' ]
	[ "${lines[1]}" = $'1\t3722\t0.932604' ]
	[ "${lines[2]}" = $'1\t3501\t0.920171' ]
}

@test "each argument is a query numbered by its position" {
	run -0 recommend -v "$R/songs.vec" -n 2 3822 2172 842
	[ "${#lines[@]}" -eq 6 ]
	[[ ${lines[0]} == 1$'\t'* ]]
	[[ ${lines[2]} == 2$'\t'* ]]
	[[ ${lines[5]} == 3$'\t'* ]]
}

@test "stdin: one query per line, numbered by line" {
	run -0 recommend -v "$R/songs.vec" -n 1 <<<$'3822\n2172 1954\n842'
	[ "${#lines[@]}" -eq 3 ]
	[[ ${lines[1]} == 2$'\t'* ]]
	[[ ${lines[2]} == 3$'\t'* ]]
}

@test "neighbours stay in their genre (Billie Jean brings pop, Fade To Black metal)" {
	run -0 recommend -v "$R/songs.vec" --meta "$R/songs.tsv" -n 5 3822 2172
	[ "$(grep -c $'^1\t' <<<"$output")" -eq 5 ]
	[ "$(grep $'^1\t' <<<"$output" | grep -c -e Metallica -e Slayer -e 'Iron Maiden' -e 2Pac)" -eq 0 ]
	[ "$(grep $'^2\t' <<<"$output" | grep -c -e Madonna -e Prince -e 'Michael Jackson' -e 2Pac)" -eq 0 ]
	[ "$(grep $'^2\t' <<<"$output" | grep -c -e Metallica -e Slayer -e 'Iron Maiden' -e Megadeth -e 'Black Sabbath' -e 'Judas Priest')" -eq 5 ]
}

@test "the query's ids are never recommended" {
	run -0 recommend -v "$R/songs.vec" -n 100 '3822 3396 3567'
	[ "${#lines[@]}" -eq 23 ]
	[ "$(cut -f2 <<<"$output" | grep -c -x -e 3822 -e 3396 -e 3567)" -eq 0 ]
}

@test "N larger than the catalogue lists every other item" {
	run -0 recommend -v "$R/songs.vec" -n 1000 3822
	[ "${#lines[@]}" -eq 25 ]
}

@test "--meta: TSV fields after the score; the stray space after the id is ignored" {
	run -0 recommend -v "$R/songs.vec" --meta "$R/songs.tsv" -n 1 2130
	[[ $output == 1$'\t'*$'\t'*$'\t'*$'\t'* ]]
	run -0 recommend -v "$R/songs.vec" --meta "$R/songs.tsv" -n 25 3822
	grep -q $'\tFade To Black\tMetallica$' <<<"$output"
}

@test "--meta --csv: quoted fields with commas (movies.csv, CRLF)" {
	run -0 --separate-stderr recommend -v "$R/movies.vec" --meta "$R/movies.csv" --csv -n 2 858
	[ "${lines[0]}" = $'1\t1221\t0.992246\tGodfather: Part II, The (1974)\tCrime|Drama' ]
	[[ ${lines[1]} == *$'\tAmerican President, The (1995)\tComedy|Drama|Romance' ]]
	[ -z "$stderr" ]
}

@test "--json: one object per recommendation, with metadata" {
	run -0 recommend -v "$R/songs.vec" --meta "$R/songs.tsv" --json -n 2 2172
	[ "${#lines[@]}" -eq 2 ]
	[[ ${lines[0]} == '{"query":1,"id":"'*'","score":0.'*',"meta":["'*'","'*'"]}' ]]
	run -0 /usr/bin/python3 -c 'import json,sys; [json.loads(l) for l in sys.stdin]' <<<"$output"
}

@test "--combine: sum keeps mean's order, max and recent differ in scores" {
	run -0 recommend -v "$R/songs.vec" -n 5 '3822 2172'
	mean=$(cut -f2 <<<"$output")
	run -0 recommend -v "$R/songs.vec" -n 5 --combine sum '3822 2172'
	[ "$(cut -f2 <<<"$output")" = "$mean" ]
	run -0 recommend -v "$R/songs.vec" -n 1 --combine max '3822 2172'
	# the best single cosine to either song
	best=$( (recommend -v "$R/songs.vec" -n 1 3822; recommend -v "$R/songs.vec" -n 1 2172) |
		sort -t$'\t' -k3,3gr | head -1 | cut -f2,3)
	[ "$(cut -f2,3 <<<"$output")" = "$best" ]
	run -0 recommend -v "$R/songs.vec" -n 1 --combine recent '3822 2172'
	[ "$(cut -f2 <<<"$output")" != "$(head -1 <<<"$mean")" ]
	run -2 recommend -v "$R/songs.vec" --combine median 1
}

@test "numeric ids under a word2vec header are keys, not a component" {
	printf '3 2\n1 1 0\n2 0.9 0.1\n3 0 1\n' >"$BATS_TEST_TMPDIR/v.txt"
	run -0 recommend -v "$BATS_TEST_TMPDIR/v.txt" -n 1 1
	[ "$output" = $'1\t2\t0.993884' ]
}

@test "word2vec's </s> is never recommended" {
	printf '3 2\n</s> 1 0\na 1 0\nb 0 1\n' >"$BATS_TEST_TMPDIR/v.txt"
	run -0 recommend -v "$BATS_TEST_TMPDIR/v.txt" -n 5 a
	[ "$output" = $'1\tb\t0.000000' ]
}

@test "closed stdout ends quietly, full disk is an error" {
	run -0 bash -c "recommend -v '$R/songs.vec' -n 25 3822 2172 842 | head -1"
	run -1 --separate-stderr bash -c "recommend -v '$R/songs.vec' 3822 >/dev/full"
	[[ $stderr == *"write error"* ]]
}
