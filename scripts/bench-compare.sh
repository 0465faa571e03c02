#!/usr/bin/env bash
# Runs one benchmark of two commits back to back, on the same machine and sizes, and prints
# both reports one after the other:
#   scripts/bench-compare.sh BASE [AFTER]        (AFTER defaults to HEAD)
# BENCH picks the benchmark (directory, the default, or server) and FEATURES its cargo
# features (none for directory, "server" for server); sizes as for the bench itself
# (KEYWARD_BENCH_USERS, KEYWARD_BENCH_KEYS, …). Both commits are checked out in temporary
# worktrees, so the work tree can change meanwhile; they share one target folder outside it,
# so dependencies are compiled once.
set -euo pipefail
cd "$(dirname "$0")/.."
base=${1:?usage: scripts/bench-compare.sh BASE [AFTER]}
after=${2:-HEAD}
bench=${BENCH:-directory}
features=${FEATURES:-}
target=${KEYWARD_BENCH_TARGET:-$PWD/../keyward-bench-target}
trees=()
cleanup() {
  for tree in "${trees[@]}"; do git worktree remove --force "$tree" >/dev/null 2>&1 || true; done
}
trap cleanup EXIT
run() {
  local rev=$1 tree
  tree=$(mktemp -d)
  trees+=("$tree")
  git worktree add --detach "$tree" "$rev" >/dev/null
  (cd "$tree" && CARGO_TARGET_DIR=$target cargo bench --locked --no-default-features \
    ${features:+--features "$features"} --bench "$bench" --no-run)
  echo "## $(git log -1 --format='%h %s' "$rev" | cut -c1-90)"
  (cd "$tree" && CARGO_TARGET_DIR=$target cargo bench --locked --no-default-features \
    ${features:+--features "$features"} --bench "$bench" 2>/dev/null)
  echo
}
run "$base"
run "$after"
