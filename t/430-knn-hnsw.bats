#!/usr/bin/env bats
# knn --build-index and --approx: the HNSW index file beside the vectors.

load helper

setup() {
	cp "$BATS_TEST_DIRNAME/data/knn/words.txt" "$BATS_TEST_TMPDIR/w.txt"
	W=$BATS_TEST_TMPDIR/w.txt
}

@test "--build-index writes VECTORS.hnsw with its magic; --approx answers as exact" {
	run -0 knn --build-index "$W"
	[ -z "$output" ]
	[ "$(head -c 7 "$W.hnsw")" = "TOKEMBH" ]
	local q
	for q in king queen paris "king - man + woman"; do
		# the same neighbours and the same scores, to the last digit
		diff <(knn -k 5 "$W" <<<"$q") <(knn -a -k 5 "$W" <<<"$q")
	done
}

@test "--approx without an index says how to build one" {
	run -1 --separate-stderr knn -a "$W" <<<king
	[[ $stderr == *"w.txt.hnsw: No such file or directory (build it with --build-index)" ]]
}

@test "an index for other vectors, another metric, or damaged is refused" {
	knn --build-index "$W"
	sed 's/^king 0/king 1/' "$W" >"$BATS_TEST_TMPDIR/other.txt"
	cp "$W.hnsw" "$BATS_TEST_TMPDIR/other.txt.hnsw"
	run -1 --separate-stderr knn -a "$BATS_TEST_TMPDIR/other.txt" <<<king
	[[ $stderr == *"built for other vectors"* ]]
	run -1 --separate-stderr knn -a --metric dot "$W" <<<king
	[[ $stderr == *"another metric"* ]]
	head -c 300 "$W.hnsw" >"$BATS_TEST_TMPDIR/cut" && mv "$BATS_TEST_TMPDIR/cut" "$W.hnsw"
	run -1 --separate-stderr knn -a "$W" <<<king
	[[ $stderr == *"truncated or damaged"* ]]
	printf 'not an index at all, not at all, no: more than 128 bytes of text ......................................................................\n' >"$W.hnsw"
	run -1 --separate-stderr knn -a "$W" <<<king
	[[ $stderr == *"bad magic"* ]]
}

@test "an index of another format version is refused with how to rebuild it" {
	knn --build-index "$W"
	# versions 1 (links apart from the vectors) and 2 (nodes in row
	# order) as older knns wrote them
	local v
	for v in 1 2; do
		printf '%b' "\\00$v" | dd of="$W.hnsw" bs=1 seek=8 conv=notrunc status=none
		run -1 --separate-stderr knn -a "$W" <<<king
		[[ $stderr == *"HNSW index version $v, this knn reads version 3: rebuild it with --build-index" ]]
	done
	knn --build-index "$W"
	run -0 knn -a -k 1 "$W" <<<king
}

@test "every metric: --approx prints what the exact search prints" {
	local m
	for m in cosine dot euclidean; do
		knn --build-index --metric "$m" "$W"
		diff <(knn --metric "$m" -k 3 "$W" <t/data/knn/words.txt 2>/dev/null | head -60) \
			<(knn -a --metric "$m" -k 3 "$W" <t/data/knn/words.txt 2>/dev/null | head -60)
	done
}

@test "an index that cannot be written leaves nothing behind" {
	local d=$BATS_TEST_TMPDIR/ro
	mkdir "$d" && cp "$W" "$d/w.txt" && chmod a-w "$d"
	[ "$(id -u)" -ne 0 ] || skip "root can write anywhere"
	run -1 --separate-stderr knn --build-index "$d/w.txt"
	[ ! -e "$d/w.txt.hnsw" ]
}

@test "recall@10 of the index on GloVe is at least 0.95" {
	need_data wordvectors/glove.6B.100d.wink-first20k.txt
	local g=$BATS_TEST_TMPDIR/g.txt
	head -5000 "$D/wordvectors/glove.6B.100d.wink-first20k.txt" >"$g"
	knn --build-index -M 12 --ef-construction 100 "$g"
	awk 'NR % 25 == 0 { print $1 }' "$g" >"$BATS_TEST_TMPDIR/q"
	knn -k 10 "$g" <"$BATS_TEST_TMPDIR/q" | cut -f1,2 | sort >"$BATS_TEST_TMPDIR/e"
	knn -a -k 10 "$g" <"$BATS_TEST_TMPDIR/q" | cut -f1,2 | sort >"$BATS_TEST_TMPDIR/a"
	local hit all
	hit=$(comm -12 "$BATS_TEST_TMPDIR/e" "$BATS_TEST_TMPDIR/a" | wc -l)
	all=$(wc -l <"$BATS_TEST_TMPDIR/e")
	echo "recall $hit / $all"
	[ "$((hit * 100))" -ge "$((all * 95))" ]
}
