#!/usr/bin/env bash
# Run every libFuzzer harness of BUILD/fuzz (make fuzz) for SECONDS each,
# on its seeds (t/fuzz/seeds.c writes them) and on what earlier runs kept
# (BUILD/fuzz/corpus).  Fails when one crashes, reports undefined
# behaviour, leaks, runs past 30 s on one input or past 2 GB; the input
# that did it is left in BUILD/fuzz/found.  Prints executions and coverage
# per harness.  Usage: t/fuzz/run.sh [BUILD [SECONDS [HARNESS...]]]
set -u
cd "$(dirname "$0")/../.." || exit 2
build=${1:-build-fuzz} secs=${2:-30}
shift $(($# < 2 ? $# : 2))
dir=$build/fuzz
export TOKEMB_SRC=$PWD
rm -rf "$dir/seed"
"$dir/seeds" "$dir/seed" || exit 1
mkdir -p "$dir/corpus" "$dir/found"
if [ $# -gt 0 ]; then
	harnesses=("$@")
else
	harnesses=()
	for h in "$dir"/fuzz-*; do
		case $h in *.o|*.d) ;; *) [ -x "$h" ] && harnesses+=("${h##*/fuzz-}") ;; esac
	done
fi
fail=0
for name in "${harnesses[@]}"; do
	mkdir -p "$dir/corpus/$name" "$dir/seed/$name"
	log=$dir/$name.log
	"$dir/fuzz-$name" -max_total_time="$secs" -rss_limit_mb=2048 -timeout=30 \
		-print_final_stats=1 -artifact_prefix="$dir/found/$name-" \
		"$dir/corpus/$name" "$dir/seed/$name" >"$log" 2>&1
	rc=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	cov=$(grep -o 'cov: [0-9]* ft: [0-9]*' "$log" | tail -n 1)
	if [ $rc -eq 0 ]; then
		printf '%-10s ok    %s runs, %s\n' "$name" "${runs:-?}" "${cov:-no coverage line}"
	else
		printf '%-10s FAIL  exit %d, %s runs, %s; see %s\n' "$name" $rc "${runs:-?}" \
			"${cov:-no coverage line}" "$log"
		grep -m 3 -E 'ERROR|runtime error|SUMMARY|Test unit written' "$log"
		fail=1
	fi
done
exit $fail
