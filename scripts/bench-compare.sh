#!/usr/bin/env bash
# Runs benches/directory.rs of an earlier commit and of the work tree back to back, on the
# same machine and sizes, and prints both reports one after the other:
#   scripts/bench-compare.sh BASE_COMMIT
# Sizes as for the bench itself (KEYWARD_BENCH_USERS, KEYWARD_BENCH_KEYS). Both builds share
# one target folder outside the work tree, so dependencies are compiled once.
set -euo pipefail
cd "$(dirname "$0")/.."
base=${1:?usage: scripts/bench-compare.sh BASE_COMMIT}
target=${KEYWARD_BENCH_TARGET:-$PWD/../keyward-bench-target}
tree=$(mktemp -d)
trap 'git worktree remove --force "$tree" >/dev/null 2>&1 || true' EXIT
git worktree add --detach "$tree" "$base" >/dev/null
bench() {
  (cd "$1" && CARGO_TARGET_DIR=$target cargo bench --locked --no-default-features --bench directory 2>/dev/null)
}
(cd "$tree" && CARGO_TARGET_DIR=$target cargo bench --locked --no-default-features --bench directory --no-run)
CARGO_TARGET_DIR=$target cargo bench --locked --no-default-features --bench directory --no-run
echo "## before: $(git log -1 --format='%h %s' "$base" | cut -c1-80)"
bench "$tree"
echo
echo "## after: $(git log -1 --format='%h' HEAD)$(git diff --quiet || echo ' + work tree')"
bench .
