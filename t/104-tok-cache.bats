#!/usr/bin/env bats
# The compiled tokenizer cache (tokemb(5)): made on first load, used after,
# rebuilt when stale or damaged, skipped when it cannot be written or is
# turned off; the output never changes.

load helper

# A 450 KB BPE tokenizer.json over a-z (every pair and triple merged): big
# enough to be cached (sources under 64 KiB are not).
write_bpe() {
	awk 'BEGIN {
		a = "abcdefghijklmnopqrstuvwxyz"
		printf "{\"version\":\"1.0\",\"added_tokens\":[{\"id\":0,\"content\":\"<unk>\",\"special\":true},"
		printf "{\"id\":1,\"content\":\"<s>\",\"special\":true}],"
		printf "\"pre_tokenizer\":{\"type\":\"Whitespace\"},\"decoder\":{\"type\":\"BPEDecoder\",\"suffix\":\"\"},"
		printf "\"model\":{\"type\":\"BPE\",\"unk_token\":\"<unk>\",\"vocab\":{\"<unk>\":0,\"<s>\":1"
		id = 2
		for (i = 1; i <= 26; i++) printf ",\"%s\":%d", substr(a, i, 1), id++
		for (i = 1; i <= 26; i++) for (j = 1; j <= 26; j++)
			printf ",\"%s%s\":%d", substr(a, i, 1), substr(a, j, 1), id++
		for (i = 1; i <= 26; i++) for (j = 1; j <= 26; j++) for (k = 1; k <= 26; k++)
			printf ",\"%s%s%s\":%d", substr(a, i, 1), substr(a, j, 1), substr(a, k, 1), id++
		printf "},\"merges\":["
		sep = ""
		for (i = 1; i <= 26; i++) for (j = 1; j <= 26; j++) {
			printf "%s\"%s %s\"", sep, substr(a, i, 1), substr(a, j, 1); sep = ","
		}
		for (i = 1; i <= 26; i++) for (j = 1; j <= 26; j++) for (k = 1; k <= 26; k++)
			printf ",\"%s%s %s\"", substr(a, i, 1), substr(a, j, 1), substr(a, k, 1)
		printf "]}}\n"
	}' >"$1"
}

setup_file() {
	export FIX=$BATS_FILE_TMPDIR/src
	mkdir -p "$FIX"
	write_bpe "$FIX/tokenizer.json"
	printf 'hello world\nthe quick brown fox <s> jumps\nzzz ÿ qqq\n' >"$FIX/in.txt"
}

setup() {
	export TOKEMB_CACHE_DIR=$BATS_TEST_TMPDIR/cache
	unset TOKEMB_CACHE
}

cached() {	# the cache files in $TOKEMB_CACHE_DIR
	find "$TOKEMB_CACHE_DIR" -name '*.tokemb' 2>/dev/null
}

# Every slot of cache $1's merge table taken (section 12, the merges'
# keys; offset and length in the section table): no probe chain ends.
fill_merge_keys() {
	local off len
	read -r off len < <(od -An -t u8 -j $((128 + 16 * 12)) -N 16 "$1")
	[ "$len" -gt 0 ]
	head -c "$len" /dev/zero | tr '\0' '\377' |
	    dd of="$1" bs=4096 seek="$off" oflag=seek_bytes conv=notrunc status=none
}

@test "tok-cache: the first load makes the cache, the next ones use it, same output" {
	run -0 --separate-stderr tok-encode --no-cache -m "$FIX/tokenizer.json" "$FIX/in.txt"
	want=$output
	[ "$(cached)" = "" ]
	run -0 --separate-stderr tok-encode -m "$FIX/tokenizer.json" "$FIX/in.txt"
	[ "$output" = "$want" ] && [ "$stderr" = "" ]
	c=$(cached)
	[ -n "$c" ] && [ "$(wc -l <<<"$c")" -eq 1 ]
	case $c in */tokenizer.json-*.tokemb) ;; *) false ;; esac
	ino=$(stat -c %i "$c")
	run -0 --separate-stderr tok-encode -m "$FIX/tokenizer.json" "$FIX/in.txt"
	[ "$output" = "$want" ] && [ "$stderr" = "" ]
	[ "$(stat -c %i "$c")" = "$ino" ]	# used, not rewritten
	run -0 tok-decode -m "$FIX/tokenizer.json" <<<"$want"
	[ "$output" = "$(TOKEMB_CACHE=0 tok-decode -m "$FIX/tokenizer.json" <<<"$want")" ]
	[ "${lines[0]}" = "helloworld" ]
}

@test "tok-cache: a touched source makes a new cache" {
	src=$BATS_TEST_TMPDIR/tokenizer.json
	cp "$FIX/tokenizer.json" "$src"
	tok-encode -m "$src" </dev/null
	c=$(cached)
	[ -n "$c" ]
	ino=$(stat -c %i "$c")
	tok-encode -m "$src" </dev/null
	[ "$(stat -c %i "$c")" = "$ino" ]
	touch -d '2001-01-01 00:00:01' "$src"
	run -0 tok-encode -m "$src" "$FIX/in.txt"
	[ "$(stat -c %i "$c")" != "$ino" ]
	[ "$output" = "$(tok-encode --no-cache -m "$FIX/tokenizer.json" "$FIX/in.txt")" ]
}

@test "tok-cache: a truncated or corrupt cache is rebuilt, the output is the same" {
	want=$(tok-encode --no-cache -m "$FIX/tokenizer.json" "$FIX/in.txt")
	tok-encode -m "$FIX/tokenizer.json" </dev/null
	c=$(cached)
	size=$(stat -c %s "$c")
	truncate -s $((size / 2)) "$c"
	run -0 --separate-stderr tok-encode -m "$FIX/tokenizer.json" "$FIX/in.txt"
	[ "$output" = "$want" ] && [ "$stderr" = "" ]
	[ "$(stat -c %s "$c")" -eq "$size" ]
	printf 'garbage' | dd of="$c" bs=1 seek=5000 conv=notrunc status=none
	run -0 --separate-stderr tok-encode -m "$FIX/tokenizer.json" "$FIX/in.txt"
	[ "$output" = "$want" ] && [ "$stderr" = "" ]
	: >"$c"
	run -0 tok-encode -m "$FIX/tokenizer.json" "$FIX/in.txt"
	[ "$output" = "$want" ]
	[ "$(stat -c %s "$c")" -eq "$size" ]
}

@test "tok-cache: an unwritable cache directory or TOKEMB_CACHE=0 still loads, quietly, and makes none" {
	want=$(tok-encode --no-cache -m "$FIX/tokenizer.json" "$FIX/in.txt")
	TOKEMB_CACHE_DIR=$FIX/tokenizer.json/sub run -0 --separate-stderr \
		tok-encode -m "$FIX/tokenizer.json" "$FIX/in.txt"
	[ "$output" = "$want" ] && [ "$stderr" = "" ]
	TOKEMB_CACHE=0 run -0 tok-encode -m "$FIX/tokenizer.json" "$FIX/in.txt"
	[ "$output" = "$want" ]
	[ "$(cached)" = "" ]
}

@test "tok-cache: beside the source when its directory is writable, else the user cache" {
	unset TOKEMB_CACHE_DIR
	d=$BATS_TEST_TMPDIR/model
	mkdir -p "$d"
	cp "$FIX/tokenizer.json" "$d/"
	HOME=$BATS_TEST_TMPDIR/home XDG_CACHE_HOME='' run -0 tok-encode -m "$d" "$FIX/in.txt"
	[ -f "$d/tokenizer.json.tokemb" ]
	[ ! -e "$BATS_TEST_TMPDIR/home/.cache" ]
	rm "$d/tokenizer.json.tokemb"
	chmod 555 "$d"
	HOME=$BATS_TEST_TMPDIR/home XDG_CACHE_HOME=$BATS_TEST_TMPDIR/xdg run -0 tok-encode -m "$d" "$FIX/in.txt"
	chmod 755 "$d"
	[ ! -e "$d/tokenizer.json.tokemb" ]
	ls "$BATS_TEST_TMPDIR"/xdg/tokemb/tokenizer.json-*.tokemb
}

@test "tok-cache: real tokenizers give the same ids cold and cached" {
	need_data tokenizers/gpt2/tokenizer.json tokenizers/tiktoken/cl100k_base.tiktoken \
		tokenizers/t5-small/tokenizer.json
	text=$'Hello, world! <|endoftext|> ünïcödé 12345\n  spaces\tand\ttabs\n'
	for m in gpt2/tokenizer.json tiktoken/cl100k_base.tiktoken t5-small/tokenizer.json; do
		want=$(tok-encode --no-cache -m "$D/tokenizers/$m" <<<"$text")
		[ "$(tok-encode -m "$D/tokenizers/$m" <<<"$text")" = "$want" ]
		[ "$(tok-encode -m "$D/tokenizers/$m" <<<"$text")" = "$want" ]
	done
	[ "$(cached | wc -l)" -eq 3 ]
}

@test "tok-cache: a forged merge table (not read at load) is found before long" {
	want=$(tok-encode --no-cache -m "$FIX/tokenizer.json" "$FIX/in.txt")
	tok-encode -m "$FIX/tokenizer.json" </dev/null
	c=$(cached)
	fill_merge_keys "$c"	# the count is wrong
	# a short input is encoded from it without a hang (the probes are bounded)
	run -0 --separate-stderr timeout 20 tok-encode -m "$FIX/tokenizer.json" <<<"abc"
	# more than 4096 documents (or 1 MB; 4 KiB on the fast path): the table
	# is checked, found unsound, the cache removed
	awk 'BEGIN { for (i = 0; i < 5000; i++) print "hello world" }' >"$BATS_TEST_TMPDIR/big"
	run -1 --separate-stderr timeout 20 tok-encode -m "$FIX/tokenizer.json" "$BATS_TEST_TMPDIR/big"
	[[ "$stderr" == *"$c"*"compiled tokenizer cache is corrupt"* ]]
	[ ! -e "$c" ]
	run -0 --separate-stderr tok-encode -m "$FIX/tokenizer.json" "$FIX/in.txt"
	[ "$output" = "$want" ] && [ "$stderr" = "" ]
	[ -n "$(cached)" ]
}

@test "tok-cache: a cache writable by group or others is not used but rebuilt, and none is written so" {
	want=$(tok-encode --no-cache -m "$FIX/tokenizer.json" "$FIX/in.txt")
	(umask 002 && tok-encode -m "$FIX/tokenizer.json" </dev/null)
	c=$(cached)
	[ -n "$c" ]
	[ "$(stat -c %a "$c")" = 644 ]	# umask 002 would have given 664
	for mode in 664 646; do
		chmod "$mode" "$c"
		ino=$(stat -c %i "$c")
		run -0 --separate-stderr tok-encode -m "$FIX/tokenizer.json" "$FIX/in.txt"
		[ "$output" = "$want" ] && [ "$stderr" = "" ]
		[ "$(stat -c %i "$c")" != "$ino" ]	# not used: rebuilt
		[ "$(stat -c %a "$c")" = 644 ]
	done
}

@test "tok-cache: a cache in a folder of another user is neither trusted nor written; TOKEMB_CACHE=beside asks" {
	[ "$(id -u)" -eq 0 ] || skip "needs root to give a folder to another user"
	id nobody >/dev/null 2>&1 || skip "needs the user nobody"
	unset TOKEMB_CACHE_DIR
	want=$(tok-encode --no-cache -m "$FIX/tokenizer.json" "$FIX/in.txt")
	d=$BATS_TEST_TMPDIR/hub/snapshot
	mkdir -p "$d"
	cp "$FIX/tokenizer.json" "$d/"
	# a cache beside the source, as another user's tool would leave it
	TOKEMB_CACHE=beside tok-encode -m "$d" </dev/null
	[ -f "$d/tokenizer.json.tokemb" ]
	cp "$d/tokenizer.json.tokemb" "$BATS_TEST_TMPDIR/before"
	chown -R nobody "$d"
	chmod 777 "$d"	# writable for us, but not ours
	export HOME=$BATS_TEST_TMPDIR/home XDG_CACHE_HOME=$BATS_TEST_TMPDIR/xdg
	run -0 --separate-stderr tok-encode -m "$d" "$FIX/in.txt"
	[ "$output" = "$want" ] && [ "$stderr" = "" ]
	cmp "$d/tokenizer.json.tokemb" "$BATS_TEST_TMPDIR/before"	# not written
	[ "$(stat -c %U "$d/tokenizer.json.tokemb")" = nobody ]
	ls "$XDG_CACHE_HOME"/tokemb/tokenizer.json-*.tokemb	# not trusted: rebuilt in ours
	# none beside the source either when there is none yet
	rm "$d/tokenizer.json.tokemb" "$XDG_CACHE_HOME"/tokemb/*
	run -0 tok-encode -m "$d" "$FIX/in.txt"
	[ ! -e "$d/tokenizer.json.tokemb" ]
	# unless asked
	rm "$XDG_CACHE_HOME"/tokemb/*
	TOKEMB_CACHE=beside run -0 tok-encode -m "$d" "$FIX/in.txt"
	[ "$output" = "$want" ]
	[ -f "$d/tokenizer.json.tokemb" ]
}

@test "tok-cache: one 1 MB added token makes a cache in proportion to the file, used on the next load" {
	m=$BATS_TEST_TMPDIR/big.json
	s=$(head -c 1048576 /dev/zero | tr '\0' x)
	printf '{"added_tokens":[{"id":0,"content":"%s","special":true}],' "$s" >"$m"
	printf '"model":{"type":"WordLevel","unk_token":"u","vocab":{"%s":0,"u":1,"a":2}}}\n' "$s" >>"$m"
	run -0 --separate-stderr tok-encode -m "$m" <<<"a"
	[ "$output" = 2 ]
	c=$(cached)
	[ -n "$c" ]
	[ "$(stat -c %s "$c")" -lt $((4 * $(stat -c %s "$m"))) ]
	run -0 --separate-stderr tok-encode -m "$m" <<<"a $s"
	[ "$output" = "1 0" ]	# "a " is not in the vocabulary (no pre-tokenizer)
}

# The merges of a byte-level tokenizer whose backtracking tables map are
# read only where those tables give out (a forged image): checked then,
# not at every load's first encode.
@test "tok-cache: forged merges beside sound backtracking tables are not read; with the tables forged too, they are found" {
	need_data tokenizers/gpt2/tokenizer.json
	m=$D/tokenizers/gpt2/tokenizer.json
	awk 'BEGIN { for (i = 0; i < 300; i++) print "hello world, the quick brown fox " i }' \
	    >"$BATS_TEST_TMPDIR/big"
	want=$(tok-encode --no-cache -m "$m" "$BATS_TEST_TMPDIR/big")
	tok-encode -m "$m" </dev/null
	c=$(cached)
	fill_merge_keys "$c"
	# then section 26, the backtracking tables
	run -0 --separate-stderr timeout 20 tok-encode -m "$m" "$BATS_TEST_TMPDIR/big"
	[ "$output" = "$want" ] && [ "$stderr" = "" ]
	[ -e "$c" ]
	read -r off len < <(od -An -t u8 -j $((128 + 16 * 26)) -N 16 "$c")
	[ "$len" -gt 0 ]
	printf 'XXXXXXXX' | dd of="$c" bs=1 seek="$off" conv=notrunc status=none
	run -1 --separate-stderr timeout 20 tok-encode -m "$m" "$BATS_TEST_TMPDIR/big"
	[[ "$stderr" == *"$c"*"compiled tokenizer cache is corrupt"* ]]
	[ ! -e "$c" ]
	run -0 --separate-stderr tok-encode -m "$m" "$BATS_TEST_TMPDIR/big"
	[ "$output" = "$want" ] && [ "$stderr" = "" ]
}
