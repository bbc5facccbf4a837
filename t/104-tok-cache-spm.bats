#!/usr/bin/env bats
# The compiled cache of a SentencePiece .model file (tokemb(5)): made on
# first load, used after, rebuilt when stale or damaged, none with
# TOKEMB_CACHE=0; the output never changes.

load helper

setup_file() {
	export FIX=$BATS_FILE_TMPDIR/src
	mkdir -p "$FIX"
	printf 'Hello world, the quick brown fox.\n  spaces  and\ttabs 中文 😀 ÿ\nxyzzy 12345\n' \
		>"$FIX/in.txt"
}

setup() {
	need_data tokenizers/llama2/tokenizer.model
	export TOKEMB_CACHE_DIR=$BATS_TEST_TMPDIR/cache
	unset TOKEMB_CACHE
	M=$BATS_TEST_TMPDIR/tokenizer.model
	cp "$D/tokenizers/llama2/tokenizer.model" "$M"
}

cached() {	# the .model caches in $TOKEMB_CACHE_DIR
	find "$TOKEMB_CACHE_DIR" -name '*.spm.tokemb' 2>/dev/null
}

@test "tok-cache-spm: the first load makes the cache, the next ones use it, same ids and offsets" {
	want=$(tok-encode --no-cache -m "$M" --offsets "$FIX/in.txt")
	[ "$(cached)" = "" ]
	run -0 --separate-stderr tok-encode -m "$M" --offsets "$FIX/in.txt"
	[ "$output" = "$want" ] && [ "$stderr" = "" ]
	c=$(cached)
	[ -n "$c" ] && [ "$(wc -l <<<"$c")" -eq 1 ]
	case $c in */tokenizer.model-*.spm.tokemb) ;; *) false ;; esac
	ino=$(stat -c %i "$c")
	run -0 --separate-stderr tok-encode -m "$M" --offsets "$FIX/in.txt"
	[ "$output" = "$want" ] && [ "$stderr" = "" ]
	[ "$(stat -c %i "$c")" -eq "$ino" ]
	run -0 tok-decode -m "$M" <<<"$(tok-encode -m "$M" "$FIX/in.txt" | head -1)"
	[ "$output" = "$(head -1 "$FIX/in.txt")" ]
}

@test "tok-cache-spm: a truncated, corrupt or stale cache is rebuilt, the output is the same" {
	want=$(tok-encode --no-cache -m "$M" "$FIX/in.txt")
	tok-encode -m "$M" </dev/null
	c=$(cached)
	size=$(stat -c %s "$c")
	truncate -s $((size / 2)) "$c"
	run -0 --separate-stderr tok-encode -m "$M" "$FIX/in.txt"
	[ "$output" = "$want" ] && [ "$stderr" = "" ]
	[ "$(stat -c %s "$c")" -eq "$size" ]
	printf 'garbage' | dd of="$c" bs=1 seek=300000 conv=notrunc status=none
	ino=$(stat -c %i "$c")
	run -0 --separate-stderr tok-encode -m "$M" "$FIX/in.txt"
	[ "$output" = "$want" ] && [ "$stderr" = "" ]
	[ "$(stat -c %i "$c")" -ne "$ino" ]
	ino=$(stat -c %i "$c")
	touch -d '2001-01-01' "$M"
	run -0 --separate-stderr tok-encode -m "$M" "$FIX/in.txt"
	[ "$output" = "$want" ] && [ "$stderr" = "" ]
	[ "$(stat -c %i "$c")" -ne "$ino" ]
}

@test "tok-cache-spm: a cache writable by others is not used; TOKEMB_CACHE=0 makes none" {
	want=$(tok-encode --no-cache -m "$M" "$FIX/in.txt")
	TOKEMB_CACHE=0 run -0 tok-encode -m "$M" "$FIX/in.txt"
	[ "$output" = "$want" ]
	[ "$(cached)" = "" ]
	tok-encode -m "$M" </dev/null
	c=$(cached)
	chmod 666 "$c"
	ino=$(stat -c %i "$c")
	run -0 --separate-stderr tok-encode -m "$M" "$FIX/in.txt"
	[ "$output" = "$want" ] && [ "$stderr" = "" ]
	[ "$(stat -c %i "$c")" -ne "$ino" ]
}
