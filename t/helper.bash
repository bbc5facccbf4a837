# Shared by the bats files: where the programs and the data are.
# shellcheck shell=bash
bats_require_minimum_version 1.5.0
: "${TOKEMB_BIN:=$BATS_TEST_DIRNAME/../build/bin}"
: "${TOKEMB_DATA:=$BATS_TEST_DIRNAME/../../shared/data}"
export PATH="$TOKEMB_BIN:$PATH"
D=$TOKEMB_DATA
T=$BATS_TEST_DIRNAME/data

# Skip unless the shared data file or directory exists.
need_data() {
	local f
	for f in "$@"; do
		[ -e "$D/$f" ] || skip "needs \$TOKEMB_DATA/$f (set TOKEMB_DATA to ../shared/data)"
	done
}

# Skip unless a command is available.
need_cmd() {
	command -v "$1" >/dev/null 2>&1 || skip "needs $1"
}

# Run the EXAMPLES section of a man page: each line after ".Sh EXAMPLES"
# that starts with "$ " is a command run in a scratch directory with t/data.
man_examples() {
	local page=$BATS_TEST_DIRNAME/../share/man/man1/$1.1
	sed -n '/^\.Sh EXAMPLES/,/^\.Sh /p' "$page" | sed -n 's/^\.Dl \$ //p' |
		sed 's/\\e/\\/g; s/\\-/-/g; s/\\(dq/"/g'
}

# Run each example of a man page in a scratch copy of t/data; fail on the
# first that exits non-zero.  Examples that need $TOKEMB_DATA are skipped
# when it is absent.
run_man_examples() {
	local cmd tmp rc
	tmp=$(mktemp -d)
	cp -r "$T"/. "$tmp"/
	while IFS= read -r cmd; do
		# shellcheck disable=SC2016 # the literal text $TOKEMB_DATA
		if [[ $cmd == *'$TOKEMB_DATA'* ]] && [ ! -d "$D" ]; then
			continue
		fi
		rc=0
		(cd "$tmp" && TOKEMB_DATA=$D bash -o pipefail -c "$cmd" >/dev/null) || rc=$?
		# 141: a stage ended by SIGPIPE, as "prog | head -3" ends it
		if [ "$rc" -ne 0 ] && [ "$rc" -ne 141 ]; then
			echo "example failed (exit $rc): $cmd"
			rm -rf "$tmp"
			return 1
		fi
	done < <(man_examples "$1")
	rm -rf "$tmp"
}
