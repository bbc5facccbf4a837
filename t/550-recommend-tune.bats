#!/usr/bin/env bats
# recommend --tune: word2vec's settings searched on next items held out of the training sequences.

load helper

W=$BATS_TEST_DIRNAME/data/w2v/playlists.txt

@test "--tune: a row per setting tried, popularity, the best; the same table on 1 and 2 threads" {
	run -0 --separate-stderr recommend --tune "$W" --threads 1
	one=$output
	[ "${lines[0]}" = $'varied\tmin_count\tepochs\twindow\tns_exponent\tsample\thit@10\tmrr@10' ]
	[[ ${lines[1]} == $'start\t5\t5\t5\t0.75\t0.001\t'* ]]
	# every grid value but the one in force: 4 + 3 + 5 + 5 + 4 rows
	[ "$(grep -c $'^min_count\t' <<<"$output")" -eq 4 ]
	[ "$(grep -c $'^epochs\t' <<<"$output")" -eq 3 ]
	[ "$(grep -c $'^window\t' <<<"$output")" -eq 5 ]
	[ "$(grep -c $'^ns_exponent\t' <<<"$output")" -eq 5 ]
	[ "$(grep -c $'^sample\t' <<<"$output")" -eq 4 ]
	[[ ${lines[-2]} == $'popularity\t-\t-\t-\t-\t-\t'* ]]
	[[ ${lines[-1]} == $'best\tw2v-train --sg 1 --min-count '* ]]
	[ -z "$stderr" ]
	run -0 recommend --tune "$W" --threads 2
	[ "$output" = "$one" ]
}

@test "--tune: the best is the row of the highest hit rate, above popularity, and w2v-train takes its command" {
	run -0 recommend --tune "$W" --vector-size 16 --seed 3
	# the best hit rate, ties to the better MRR, then to the first tried
	best=$(awk -F'\t' 'NR > 1 && $1 != "popularity" && $1 != "best" && ($7 > h || ($7 == h && $8 > m)) { h = $7; m = $8; r = $0 }
		END { split(r, f, "\t"); printf "--min-count %s --epochs %s --window %s --ns-exponent %s --sample %s", f[2], f[3], f[4], f[5], f[6] }' <<<"$output")
	[ "${lines[-1]}" = $'best\tw2v-train --sg 1 --vector-size 16 '"$best --seed 3" ]
	top=$(awk -F'\t' 'NR > 1 && $1 != "popularity" && $1 != "best" && $7 > h { h = $7 } END { print h }' <<<"$output")
	pop=$(awk -F'\t' '$1 == "popularity" { print $7 }' <<<"$output")
	awk -v t="$top" -v p="$pop" 'BEGIN { exit !(t > 2 * p) }'
	read -ra cmd <<<"${lines[-1]#best$'\t'}"
	run -0 "${cmd[@]}" -q -o "$BATS_TEST_TMPDIR/best.vec" "$W"
	[ "$(head -1 "$BATS_TEST_TMPDIR/best.vec")" = "48 16" ]
}

@test "--tune --holdout: the last items of each sequence are predicted, from the items before them" {
	printf 'x a b\nx b a\nx a b\n' >"$BATS_TEST_TMPDIR/s.txt"
	# --holdout 1: train on "x a", "x b", "x a"; popularity x a b, less the
	# query's items, finds b, a, b first
	run -0 recommend --tune "$BATS_TEST_TMPDIR/s.txt" --holdout 1 -n 1
	[ "${lines[-2]}" = $'popularity\t-\t-\t-\t-\t-\t1.0000\t1.0000' ]
	# the default (5, all but the first item): only x is trained on, and
	# popularity has nothing but the query's own x to offer
	run -0 recommend --tune "$BATS_TEST_TMPDIR/s.txt" -n 1
	[ "${lines[-2]}" = $'popularity\t-\t-\t-\t-\t-\t0.0000\t0.0000' ]
}

@test "--tune on MovieLens histories: the best setting beats the start and popularity" {
	ratings=${TOKEMB_DATA:-}/movielens/ml-latest-small/ratings.csv
	[ -r "$ratings" ] || skip "needs \$TOKEMB_DATA/movielens/ml-latest-small"
	recommend --sequences --csv "$ratings" | awk 'NR % 5 == 1' >"$BATS_TEST_TMPDIR/train.seq"
	run -0 recommend --tune "$BATS_TEST_TMPDIR/train.seq" --vector-size 16 --holdout 10
	awk -F'\t' '$1 == "start" { s = $7 } $1 == "popularity" { p = $7 }
		$1 != "varied" && $1 != "best" && $7 > h { h = $7 }
		END { exit !(h > s && h > p) }' <<<"$output"
}

@test "--tune errors: no sequence of two items, a missing file, options of other modes" {
	printf 'a\nb\n\n' >"$BATS_TEST_TMPDIR/one.txt"
	run -1 --separate-stderr recommend --tune "$BATS_TEST_TMPDIR/one.txt"
	[ "$stderr" = "recommend: $BATS_TEST_TMPDIR/one.txt: nothing to tune on: no sequence of two items or more" ]
	run -1 --separate-stderr recommend --tune "$BATS_TEST_TMPDIR/none.txt"
	[ "$stderr" = "recommend: $BATS_TEST_TMPDIR/none.txt: No such file or directory" ]
	run -2 --separate-stderr recommend --tune "$W" -v "$W"
	[[ ${lines[0]} == "" && $stderr == "recommend: --tune takes no vectors, --eval, --train, --meta or ids"* ]]
	run -2 --separate-stderr recommend --holdout 3 -v "$W"
	[[ $stderr == "recommend: --holdout, --vector-size, --seed and --threads go with --tune"* ]]
	run -2 recommend --tune "$W" --holdout 0
}
