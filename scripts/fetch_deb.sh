#!/usr/bin/env bash
# Fetch a Debian package's files without root: `apt-get download` the .deb into DIR and unpack it
# into DIR/root with `dpkg-deb -x`. Skips when DIR/.done exists, so reruns fetch nothing.
# Usage: scripts/fetch_deb.sh PACKAGE DIR
set -euo pipefail
pkg=${1:?usage: $0 PACKAGE DIR}
dir=${2:?usage: $0 PACKAGE DIR}
if [ -f "$dir/.done" ]; then
  echo "$pkg: already in $dir"
  exit 0
fi
mkdir -p "$dir"
( cd "$dir" && apt-get download -q "$pkg" 2>&1 | grep -v "^W: Download is performed unsandboxed" || true )
deb=$(ls "$dir"/${pkg}_*.deb 2>/dev/null | head -n 1)
if [ -z "$deb" ]; then
  echo "error: apt-get download $pkg failed (is Debian's package index reachable? try 'apt-get update')" >&2
  exit 1
fi
rm -rf "$dir/root"
dpkg-deb -x "$deb" "$dir/root"
touch "$dir/.done"
echo "$pkg: unpacked into $dir/root"
