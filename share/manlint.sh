#!/bin/sh
# Render every man page named and fail on any troff or mdoc warning
# ("make lint"; man-db and groff-base).
set -eu
status=0
for f in "$@"; do
	out=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -E UTF-8 -l "$f" 2>&1 >/dev/null) || {
		echo "$f: man failed: $out" >&2
		status=1
		continue
	}
	if [ -n "$out" ]; then
		printf '%s:\n%s\n' "$f" "$out" >&2
		status=1
	fi
done
exit "$status"
