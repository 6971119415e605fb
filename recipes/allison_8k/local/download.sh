#!/usr/bin/env bash
# Fetch Debian's asterisk-core-sounds-en-wav (Allison, 8 kHz, CC-BY-SA-3.0) without root:
# `apt-get download` the .deb into DIR and unpack it there with `dpkg-deb -x`.
# Usage: local/download.sh DIR      (skips when DIR/.done exists)
set -euo pipefail
dir=${1:?usage: $0 DIR}
pkg=asterisk-core-sounds-en-wav
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
n=$(find "$dir/root" -name '*.wav' | wc -l)
[ "$n" -gt 500 ] || { echo "error: expected ~568 WAVs in $deb, found $n" >&2; exit 1; }
touch "$dir/.done"
echo "$pkg: $n WAVs in $dir/root"
