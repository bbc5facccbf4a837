#!/usr/bin/env bash
# Run every C unit test (TAP) and every bats file, or only those named;
# print each result and end with "N passed, N failed, N skipped".
set -u
cd "$(dirname "$0")/.." || exit 2
: "${TOKEMB_BIN:=$PWD/build/bin}"
: "${TOKEMB_UNIT:=$PWD/build/t}"
: "${TOKEMB_DATA:=$PWD/../shared/data}"
export TOKEMB_BIN TOKEMB_UNIT TOKEMB_DATA
export PATH="$TOKEMB_BIN:$PATH"
# compiled tokenizer caches (tokemb(5)) go to a scratch directory, never
# beside the data or into ~
if [ -z "${TOKEMB_CACHE_DIR:-}" ]; then
	TOKEMB_CACHE_DIR=$(mktemp -d "${TMPDIR:-/tmp}/tokemb-cache.XXXXXX") || exit 2
	export TOKEMB_CACHE_DIR
	trap 'rm -rf "$TOKEMB_CACHE_DIR"' EXIT
fi

pass=0 fail=0 skip=0
failed_list=""

tally() {	# reads TAP on stdin, echoes it, counts
	local name=$1 line
	while IFS= read -r line; do
		printf '%s\n' "$line"
		case $line in
		"ok "*" # skip"*|"ok "*" # SKIP"*) skip=$((skip + 1)) ;;
		"ok "*) pass=$((pass + 1)) ;;
		"not ok "*) fail=$((fail + 1)); failed_list="$failed_list
  $name: ${line#not ok }" ;;
		esac
	done
}

units=() bats_files=()
if [ $# -gt 0 ]; then
	for a in "$@"; do
		case $a in
		*.bats) bats_files+=("$a") ;;
		*) units+=("$a") ;;
		esac
	done
else
	for u in "$TOKEMB_UNIT"/test-*; do
		[ -x "$u" ] && [ "${u%.[od]}" = "$u" ] && units+=("$u")
	done
	for b in t/*.bats; do
		[ -e "$b" ] && bats_files+=("$b")
	done
fi

for u in "${units[@]}"; do
	echo "# unit: $(basename "$u")"
	out=$("$u" 2>&1); rc=$?
	tally "$(basename "$u")" <<<"$out"
	if [ $rc -ne 0 ] && ! grep -q '^not ok' <<<"$out"; then
		echo "not ok - $(basename "$u") exited $rc"
		fail=$((fail + 1)); failed_list="$failed_list
  $(basename "$u"): exited $rc"
	fi
done

for b in "${bats_files[@]}"; do
	echo "# bats: $b"
	out=$(bats --tap "$b" 2>&1); rc=$?
	tally "$b" <<<"$out"
	if [ $rc -ne 0 ] && ! grep -q '^not ok' <<<"$out"; then
		echo "not ok - $b: bats exited $rc"
		fail=$((fail + 1)); failed_list="$failed_list
  $b: bats exited $rc"
	fi
done

if [ $fail -gt 0 ]; then
	printf '\nfailed:%s\n' "$failed_list"
fi
echo "$pass passed, $fail failed, $skip skipped"
[ $fail -eq 0 ]
