#!/usr/bin/env bash
# Builds the Debian package, target/debian/newgate_VERSION-1_amd64.deb, with
# cargo-deb (installed into ~/.cargo/bin when absent). Extra arguments go to
# `cargo deb`. Install the result with: sudo apt install ./target/debian/newgate_*.deb
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/setup.sh

cargo_deb_version=3.8.0
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"

if ! cargo deb --version 2>/dev/null | grep -qF "$cargo_deb_version"; then
    echo "==> cargo install cargo-deb $cargo_deb_version"
    cargo install --quiet --locked cargo-deb --version "$cargo_deb_version"
fi
# libpam0g-dev: newgate and pam_newgate.so link against libpam; dpkg-dev:
# dpkg-shlibdeps works out the package's library dependencies.
need_debian_packages libpam0g-dev dpkg-dev

# The same sources give the same package: file dates from the last commit.
SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}
export SOURCE_DATE_EPOCH
deb=$(cargo deb -p newgate "$@" | tail -n 1)

# cargo-deb writes no DEBIAN/md5sums, without which `dpkg --verify newgate`
# and debsums cannot tell a changed file (the setuid runner above all) from
# the packaged one. Add it as dh_md5sums would: every file but the conffiles.
tree=$(mktemp -d)
trap 'rm -rf "$tree"' EXIT
dpkg-deb --raw-extract "$deb" "$tree/pkg"
(
    cd "$tree/pkg"
    find . -path ./DEBIAN -prune -o -type f -printf '%P\n' | LC_ALL=C sort \
        | grep -vxFf <(sed 's|^/||' DEBIAN/conffiles) \
        | xargs -d '\n' md5sum > DEBIAN/md5sums
)
chmod 644 "$tree/pkg/DEBIAN/md5sums"
dpkg-deb --root-owner-group --build "$tree/pkg" "$deb" >/dev/null
echo "$deb"
