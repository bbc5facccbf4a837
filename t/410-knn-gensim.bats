#!/usr/bin/env bats
# knn agrees with gensim 4.2 (most_similar, most_similar_cosmul,
# evaluate_word_analogies, evaluate_word_pairs) and FAISS IndexFlatIP, on the
# real vector files of $TOKEMB_DATA.  The expected outputs in t/data/knn/ref
# were written by bench/knn-gensim-ref.py (versions in ref/VERSIONS.json).

load helper

R=$BATS_TEST_DIRNAME/data/knn/ref
GLOVE=wordvectors/glove.6B.100d.wink-first20k.txt

# Compare knn output ($2) with a reference ($1): same queries and neighbours
# line by line, scores within 1e-5.
same_as_ref() {
	awk -F '\t' '
	NR == FNR { q[FNR] = $1; nb[FNR] = $2; sc[FNR] = $3; n = FNR; next }
	{
		m = FNR
		if ($1 != q[m] || $2 != nb[m]) {
			printf "line %d: got %s %s %s, expected %s %s %s\n", m, $1, $2, $3, q[m], nb[m], sc[m]
			bad++; next
		}
		d = $3 - sc[m]; if (d < 0) d = -d
		if (d > 1e-5) { printf "line %d: score %s, expected %s\n", m, $3, sc[m]; bad++ }
	}
	END { if (m != n) { printf "%d lines, expected %d\n", m, n; bad++ } exit bad ? 1 : 0 }
	' "$1" "$2"
}

@test "most_similar(key) as gensim on five vector files in four formats" {
	need_data "$GLOVE" wordvectors/gensim-test wordvectors/glove.6B.50d.head-subset.txt
	local n f
	for n in glove100:$GLOVE glove50:wordvectors/glove.6B.50d.head-subset.txt \
		w2vbin:wordvectors/gensim-test/euclidean_vectors.bin \
		fasttext:wordvectors/gensim-test/lee_fasttext.vec \
		w2vtext:wordvectors/gensim-test/word2vec_pre_kv_c.txt; do
		f=$D/${n#*:} n=${n%%:*}
		knn "$f" <"$R/$n.keys" >"$BATS_TEST_TMPDIR/$n.out"
		same_as_ref "$R/$n.most_similar" "$BATS_TEST_TMPDIR/$n.out"
	done
}

@test "expressions as most_similar(positive, negative) and most_similar_cosmul" {
	need_data "$GLOVE"
	knn "$D/$GLOVE" <"$R/glove100.exprs" >"$BATS_TEST_TMPDIR/a"
	same_as_ref "$R/glove100.analogies" "$BATS_TEST_TMPDIR/a"
	knn --cosmul "$D/$GLOVE" <"$R/glove100.exprs" >"$BATS_TEST_TMPDIR/c"
	same_as_ref "$R/glove100.cosmul" "$BATS_TEST_TMPDIR/c"
}

@test "--positive/--negative is the same query as the expression" {
	need_data "$GLOVE"
	run -0 knn -k 3 -p king,woman --negative man "$D/$GLOVE"
	[[ ${lines[0]} == "king + woman - man	queen	0.769854"* ]]
	[ "${#lines[@]}" -eq 3 ]
}

@test "--restrict as restrict_vocab" {
	need_data "$GLOVE"
	printf 'king\ncomputer\n' | knn -r 1000 "$D/$GLOVE" >"$BATS_TEST_TMPDIR/r"
	same_as_ref "$R/glove100.restrict1000" "$BATS_TEST_TMPDIR/r"
}

@test "raw vector queries as FAISS IndexFlatIP on unit vectors" {
	need_data "$GLOVE"
	[ -e "$R/glove100.faiss" ] || skip "no FAISS reference"
	knn "$D/$GLOVE" <"$R/glove100.vecq" >"$BATS_TEST_TMPDIR/f"
	same_as_ref "$R/glove100.faiss" "$BATS_TEST_TMPDIR/f"
}

@test "--eval prints evaluate_word_analogies' sections and total" {
	need_data "$GLOVE" wordvec-eval/questions-words.txt
	run -0 knn --eval "$D/wordvec-eval/questions-words.txt" "$D/$GLOVE"
	diff <(printf '%s\n' "${lines[@]}") "$R/glove100.eval"
	[[ ${lines[-1]} == "Total accuracy: 67.6% (8356/12363)" ]]
	run -0 knn --case-sensitive --eval "$D/wordvec-eval/questions-words.txt" "$D/$GLOVE"
	diff <(printf '%s\n' "${lines[@]}") "$R/glove100.eval.case"
}

@test "--eval-pairs gives evaluate_word_pairs' Pearson, Spearman and OOV ratio" {
	need_data "$GLOVE" wordvec-eval/wordsim353.tsv wordvec-eval/simlex999.txt
	local f got
	for f in wordsim353.tsv simlex999.txt; do
		got=$(knn --json --eval-pairs "$D/wordvec-eval/$f" "$D/$GLOVE")
		awk -v got="$got" -F '\t' '
		BEGIN {
			split("pearson spearman oov_ratio", k, " ")
			for (i = 1; i <= 3; i++) {
				s = got; sub(".*\"" k[i] "\":", "", s); sub("[,}].*", "", s); v[k[i]] = s
			}
		}
		{ d = v[$1] - $2; if (d < 0) d = -d; if (d > 1e-5) { print $1, v[$1], $2; bad = 1 } }
		END { exit bad }' "$R/glove100.pairs.${f%.*}"
	done
	run -0 knn --eval-pairs "$D/wordvec-eval/wordsim353.tsv" "$D/$GLOVE"
	[[ ${lines[0]} == "Pearson correlation coefficient against "*": 0.5931" ]]
	[[ ${lines[2]} == "Pairs with unknown words ratio: 8.2%" ]]
}

@test "live: knn and gensim agree on most_similar of 200 keys" {
	need_data "$GLOVE"
	/usr/bin/python3 -c 'import gensim' 2>/dev/null || skip "needs gensim for /usr/bin/python3"
	head -c 300000 "$D/$GLOVE" | awk 'NR % 5 == 0 { print $1 }' | head -200 >"$BATS_TEST_TMPDIR/keys"
	knn -k 5 "$D/$GLOVE" <"$BATS_TEST_TMPDIR/keys" >"$BATS_TEST_TMPDIR/knn"
	/usr/bin/python3 - "$D/$GLOVE" "$BATS_TEST_TMPDIR/keys" >"$BATS_TEST_TMPDIR/gensim" <<'EOF'
import sys
from gensim.models import KeyedVectors
kv = KeyedVectors.load_word2vec_format(sys.argv[1], no_header=True)
for k in open(sys.argv[2]).read().split():
    for w, s in kv.most_similar(k, topn=5):
        print("%s\t%s\t%.7g" % (k, w, s))
EOF
	same_as_ref "$BATS_TEST_TMPDIR/gensim" "$BATS_TEST_TMPDIR/knn"
}
