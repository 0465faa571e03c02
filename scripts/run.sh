#!/usr/bin/env bash
# Installs what is missing and opens Keyward on the embedded local directory
# (keyward.db in your data directory; pass --db PATH to open another file).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/common.sh
ensure_packages "${APP_PACKAGES[@]}"
ensure_rust
exec cargo run --release --locked --features custom-protocol -- "$@"
