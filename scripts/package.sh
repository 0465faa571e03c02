#!/usr/bin/env bash
# Builds Keyward's installers into dist/, on Debian, from a clean clone:
#   ./scripts/package.sh windows   Keyward-<version>-x64-setup.exe (NSIS), Keyward-<version>-x64.zip
#                                  (portable, the same files) and Keyward-<version>-x64.msi (wixl)
#   ./scripts/package.sh deb       keyward_<version>_amd64.deb
#   ./scripts/package.sh all       (the default) both
# Installs what it needs (the Rust target for Windows, MinGW-w64, NSIS, wixl, zip) with apt-get
# and rustup; nothing else is downloaded but crates and Debian packages.
# KEYWARD_PACKAGE_PROFILE picks the cargo profile (release, the default, for what is shipped;
# scripts/test.sh builds the installers it tests with `package-test`: the same code and
# features, compiled in a third of the time, Cargo.toml says how).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/common.sh

what=${1:-all}
case "$what" in windows | deb | all) ;; *)
  echo "usage: $0 [windows|deb|all]" >&2
  exit 2
  ;;
esac
profile=${KEYWARD_PACKAGE_PROFILE:-release}
version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)
mkdir -p dist

windows() {
  ensure_packages "${WINDOWS_PACKAGES[@]}"
  ensure_rust
  ensure_windows_target
  cargo build --profile "$profile" --locked --target x86_64-pc-windows-gnu \
    --features custom-protocol --bins
  local built=target/x86_64-pc-windows-gnu/$profile
  local stage=target/windows-package/Keyward
  rm -rf "$(dirname "$stage")"
  mkdir -p "$stage"
  for exe in keyward.exe keyward-app.exe; do
    x86_64-w64-mingw32-strip -o "$stage/$exe" "$built/$exe"
  done
  cp "$built/WebView2Loader.dll" "$stage/"
  cp icons/icon.ico "$stage/keyward.ico"
  sed "s/@VERSION@/$version/g" packaging/windows/README.txt | sed 's/$/\r/' >"$stage/README.txt"

  local setup="dist/Keyward-$version-x64-setup.exe"
  makensis -V2 -DVERSION="$version" -DSTAGE="$PWD/$stage" -DOUT="$PWD/$setup" \
    packaging/windows/keyward.nsi
  local zip="dist/Keyward-$version-x64.zip"
  rm -f "$zip"
  (cd "$(dirname "$stage")" && zip -q -r -X "$OLDPWD/$zip" Keyward)
  # wixl takes the files' paths relative to where it runs.
  (cd "$stage" && wixl --arch x64 -D Version="$version" -D Stage=. \
    -o "$OLDPWD/dist/Keyward-$version-x64.msi" "$OLDPWD/packaging/windows/keyward.wxs")
  echo "Wrote $setup, $zip and dist/Keyward-$version-x64.msi"
}

deb() {
  ensure_packages "${APP_PACKAGES[@]}" dpkg-dev
  ensure_rust
  cargo build --profile "$profile" --locked --features custom-protocol --bin keyward
  local root=target/deb-package/root
  rm -rf "$(dirname "$root")"
  install -D -m 0755 -s "target/$profile/keyward" "$root/usr/bin/keyward"
  install -D -m 0644 packaging/linux/keyward.desktop "$root/usr/share/applications/keyward.desktop"
  install -D -m 0644 icons/128x128.png "$root/usr/share/icons/hicolor/128x128/apps/keyward.png"
  install -D -m 0644 icons/32x32.png "$root/usr/share/icons/hicolor/32x32/apps/keyward.png"
  install -D -m 0644 packaging/linux/copyright "$root/usr/share/doc/keyward/copyright"
  # The libraries the binary links, as Debian names their packages.
  local scratch=target/deb-package/scratch
  mkdir -p "$scratch/debian"
  printf 'Source: keyward\n\nPackage: keyward\nArchitecture: amd64\n' >"$scratch/debian/control"
  local depends
  depends=$(cd "$scratch" && dpkg-shlibdeps -O "$OLDPWD/$root/usr/bin/keyward" 2>/dev/null |
    sed -n 's/^shlibs:Depends=//p')
  mkdir -p "$root/DEBIAN"
  sed -e "s/@VERSION@/$version/" -e "s/@DEPENDS@/$depends/" \
    -e "s/@SIZE@/$(du -sk "$root/usr" | cut -f1)/" \
    packaging/linux/control >"$root/DEBIAN/control"
  local deb="dist/keyward_${version}_amd64.deb"
  dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >/dev/null
  echo "Wrote $deb"
}

case "$what" in
windows) windows ;;
deb) deb ;;
all) windows && deb ;;
esac
