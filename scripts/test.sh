#!/usr/bin/env bash
# Installs what the tests need and runs them all: formatting, lints (also for Windows), the
# build without GTK/WebKit, the installers, and the test suite (unit, contract, CLI, end-to-end
# in the real webview, the Windows build under Wine, the .deb installed).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/common.sh
ensure_packages "${APP_PACKAGES[@]}" "${TEST_PACKAGES[@]}"
ensure_rust
ensure_windows_target
# The OpenID Connect provider the tests sign in through, at the versions of its lock file.
(cd tests/oidc && npm ci --no-audit --no-fund --loglevel=error)
if ! command -v tauri-driver >/dev/null 2>&1; then
  cargo install tauri-driver --locked --version '^2'
fi

cargo fmt --check
cargo clippy --locked --all-targets -- -D warnings
cargo clippy --locked --all-targets --no-default-features --features server -- -D warnings
cargo clippy --locked --all-targets --target x86_64-pc-windows-gnu -- -D warnings
# The CLI and the server must build without the webview libraries.
cargo build --locked --no-default-features --features server
# The installers, built once: the Windows files are tested under Wine, the .deb is installed.
# They are built with the profile `package-test` (Cargo.toml), not `release`: the same code
# and features in a fraction of the build time, which is most of a clean run's length.
KEYWARD_PACKAGE_PROFILE=package-test ./scripts/package.sh all
# End-to-end tests open real windows: give them a virtual screen.
xvfb-run -a --server-args="-screen 0 1280x860x24" cargo test --locked
