#!/usr/bin/env bash
# The demonstration the README opens with: runs on data the repository ships.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="${TOKEMB_BIN:-$PWD/build/bin}:$PATH"
echo "tokemb demo: programs in ${TOKEMB_BIN:-build/bin}"
for p in tok-encode tok-decode tok-show tok-train emb-token emb-pool w2v-train knn recommend; do
	"$p" --version | head -1
done
