# Shared by run.sh and test.sh: install what is missing, say exactly what to do otherwise.

# The Debian/Ubuntu packages the desktop app needs to build and run.
APP_PACKAGES=(build-essential pkg-config libwebkit2gtk-4.1-dev)
# What the tests add: a virtual screen, the WebKit WebDriver, clipboard and screenshot tools,
# and a headless Chromium with its driver for the server's invitation and reset pages.
TEST_PACKAGES=(xvfb xauth webkit2gtk-driver xclip imagemagick chromium chromium-driver)
# And wrk, the load generator of the server benchmark (benches/server.rs).
TEST_PACKAGES+=(wrk)
# PostgreSQL (with pg_trgm in -contrib): the tests start throwaway servers of their own.
TEST_PACKAGES+=(postgresql postgresql-contrib)
# nginx, to balance two `keyward serve` instances in a test.
TEST_PACKAGES+=(nginx)
# A real SMTP server for the e-mail tests (run with /usr/bin/python3).
TEST_PACKAGES+=(python3-aiosmtpd)
# Building the Windows files (scripts/package.sh windows): MinGW-w64 links them, NSIS makes the
# installer, wixl the .msi, zip the portable archive.
WINDOWS_PACKAGES=(gcc-mingw-w64-x86-64 g++-mingw-w64-x86-64 nsis wixl zip)
# And testing them: Wine runs them (64-bit only, no i386 architecture needed), xdotool answers
# the app's dialog under Xvfb.
TEST_PACKAGES+=("${WINDOWS_PACKAGES[@]}" wine wine64 xdotool)
# And checking the .deb's desktop entry.
TEST_PACKAGES+=(desktop-file-utils)
# A QR code reader: the e2e test reads the two-step set-up's QR code as a phone would.
TEST_PACKAGES+=(zbar-tools)
# Node.js and npm run the OpenID Connect provider of the sign-in tests (npm oidc-provider,
# tests/oidc); a machine that has them from elsewhere keeps its own.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  TEST_PACKAGES+=(nodejs npm)
fi

ensure_packages() {
  local missing=()
  for package in "$@"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" \
      || missing+=("$package")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  local command="apt-get install -y --no-install-recommends ${missing[*]}"
  if [ "$(id -u)" -eq 0 ]; then
    echo "Installing: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $command
  else
    echo "Keyward needs these system packages: ${missing[*]}" >&2
    echo "Install them with:" >&2
    echo "  sudo apt-get update && sudo $command" >&2
    exit 1
  fi
}

ensure_windows_target() {
  rustup target list --installed | grep -qx x86_64-pc-windows-gnu ||
    rustup target add x86_64-pc-windows-gnu
}

ensure_rust() {
  if ! command -v cargo >/dev/null 2>&1; then
    [ -x "$HOME/.cargo/bin/cargo" ] && export PATH="$HOME/.cargo/bin:$PATH"
  fi
  if ! command -v cargo >/dev/null 2>&1; then
    echo "Keyward needs Rust 1.90 or newer. Install it with rustup:" >&2
    echo "  curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh" >&2
    exit 1
  fi
}
