#!/usr/bin/env bats
# recommend --eval: next-item hit rate, recall, MRR, coverage, popularity baseline.

load helper

R=$BATS_TEST_DIRNAME/data/recommend

setup() {
	printf '4 2\na 1 0\nb 0.9 0.1\nc 0 1\nd 0.1 0.9\n' >"$BATS_TEST_TMPDIR/v.txt"
	printf 'a b c d\n' >"$BATS_TEST_TMPDIR/test.txt"
	printf 'a a a c\nc d\n' >"$BATS_TEST_TMPDIR/train.txt"
}

@test "figures worked by hand on a four-item catalogue" {
	run -0 --separate-stderr recommend -v "$BATS_TEST_TMPDIR/v.txt" --eval "$BATS_TEST_TMPDIR/test.txt" \
		--train "$BATS_TEST_TMPDIR/train.txt" -n 1 --context 1
	# a->b hit, b->a (c missed), c->d hit; popularity a,c,d: c, a, a
	[ "${lines[0]}" = $'metric\tvectors\tpopularity' ]
	[ "${lines[1]}" = $'queries\t3\t3' ]
	[ "${lines[2]}" = $'hit@1\t0.6667\t0.0000' ]
	[ "${lines[3]}" = $'recall@1\t0.4444\t0.1111' ]
	[ "${lines[4]}" = $'mrr@1\t0.6667\t0.0000' ]
	[ "${lines[5]}" = $'coverage@1\t0.7500\t0.5000' ]
	[ -z "$stderr" ]
}

@test "--context: the query is the mean of the items before the target" {
	run -0 recommend -v "$BATS_TEST_TMPDIR/v.txt" --eval "$BATS_TEST_TMPDIR/test.txt" -n 1 --context 2
	# b from a: hit; c from mean(a,b): d wins over c, miss; d from mean(b,c):
	# d wins over a, hit
	[ "${lines[2]}" = $'hit@1\t0.6667\t-' ]
}

@test "--json gives one object; without --train no popularity" {
	run -0 recommend -v "$BATS_TEST_TMPDIR/v.txt" --eval "$BATS_TEST_TMPDIR/test.txt" --json
	[[ $output == '{"n":10,"context":5,"combine":"mean","queries":3,'* ]]
	[[ $output != *popularity* ]]
	run -0 /usr/bin/python3 -c 'import json,sys; json.load(sys.stdin)' <<<"$output"
}

@test "unknown items count as misses and are counted" {
	printf 'x a y b\nz\n\n' >"$BATS_TEST_TMPDIR/t2.txt"
	run -0 recommend -v "$BATS_TEST_TMPDIR/v.txt" --eval "$BATS_TEST_TMPDIR/t2.txt" -n 1 --context 1
	[ "${lines[1]}" = $'queries\t3\t-' ]
	[ "${lines[2]}" = $'hit@1\t0.0000\t-' ]
	[ "${lines[6]}" = $'no_context\t2\t-' ]
	[ "${lines[7]}" = $'no_target\t1\t-' ]
}

@test "the songs: well above popularity, and hit rate as gensim most_similar counts it" {
	recommend --sequences --cornell "$R/playlists.txt" >"$BATS_TEST_TMPDIR/seq.txt"
	run -0 recommend -v "$R/songs.vec" --eval "$BATS_TEST_TMPDIR/seq.txt" \
		--train "$BATS_TEST_TMPDIR/seq.txt" -n 5 --context 3
	hit=$(awk -F'\t' '$1 == "hit@5" { print $2 }' <<<"$output")
	pop=$(awk -F'\t' '$1 == "hit@5" { print $3 }' <<<"$output")
	awk -v h="$hit" -v p="$pop" 'BEGIN { exit !(h > 1.3 * p) }'
	/usr/bin/python3 -c 'import gensim' 2>/dev/null || skip "needs gensim for /usr/bin/python3"
	run -0 /usr/bin/python3 - "$R/songs.vec" "$BATS_TEST_TMPDIR/seq.txt" <<'PY'
import sys
from gensim.models import KeyedVectors
kv = KeyedVectors.load_word2vec_format(sys.argv[1])
hits = q = 0
for seq in open(sys.argv[2]):
    seq = seq.split()
    for i in range(1, len(seq)):
        q += 1
        ctx = [x for x in seq[max(0, i - 3):i] if x in kv.key_to_index]
        if ctx and seq[i] in [k for k, _ in kv.most_similar(positive=ctx, topn=5)]:
            hits += 1
print("%.4f" % (hits / q))
PY
	[ "${lines[-1]}" = "$hit" ]
}

@test "--eval needs vectors and takes no ids; --train alone is a usage error" {
	run -2 recommend --eval "$BATS_TEST_TMPDIR/test.txt"
	run -2 recommend -v "$BATS_TEST_TMPDIR/v.txt" --eval "$BATS_TEST_TMPDIR/test.txt" a
	run -2 recommend -v "$BATS_TEST_TMPDIR/v.txt" --train "$BATS_TEST_TMPDIR/train.txt" a
	run -2 recommend -v "$BATS_TEST_TMPDIR/v.txt" --eval "$BATS_TEST_TMPDIR/test.txt" --context 0
	run -1 --separate-stderr recommend -v "$BATS_TEST_TMPDIR/v.txt" --eval /nonexistent
	[[ $stderr == *"/nonexistent: No such file or directory"* ]]
}
