#!/usr/bin/env bash
# Fetch Debian's asterisk-core-sounds-en-wav (Allison, 8 kHz, CC-BY-SA-3.0) without root into DIR
# (DIR/root holds the unpacked files), and the prompts' transcripts (asterisk-core-sounds-en) into
# DIR/transcripts. Usage: local/download.sh DIR   (skips what is already there)
set -euo pipefail
dir=${1:?usage: $0 DIR}
here=$(cd "$(dirname "$0")" && pwd)
"$here/../../../scripts/fetch_deb.sh" asterisk-core-sounds-en "$dir/transcripts"
"$here/../../../scripts/fetch_deb.sh" asterisk-core-sounds-en-wav "$dir"
n=$(find "$dir/root" -name '*.wav' | wc -l)
if [ "$n" -le 500 ]; then
  rm -f "$dir/.done"
  echo "error: expected ~568 WAVs in $dir/root, found $n" >&2
  exit 1
fi
echo "asterisk-core-sounds-en-wav: $n WAVs"
