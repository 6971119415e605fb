#!/usr/bin/env bash
# Fetch, without root, into DIR/<package>/root: Allison's prompts in G.722 at 16 kHz
# (asterisk-core-sounds-en-g722, CC-BY-SA-3.0), their transcripts (asterisk-core-sounds-en), and
# the flite synthesizer with its voices (flite, libflite1). Skips what is already there.
# Usage: local/download.sh DIR
set -euo pipefail
dir=${1:?usage: $0 DIR}
here=$(cd "$(dirname "$0")" && pwd)
for pkg in asterisk-core-sounds-en-g722 asterisk-core-sounds-en flite libflite1; do
  "$here/../../../scripts/fetch_deb.sh" "$pkg" "$dir/$pkg"
done
n=$(find "$dir/asterisk-core-sounds-en-g722/root" -name '*.g722' | wc -l)
if [ "$n" -le 500 ]; then
  rm -f "$dir/asterisk-core-sounds-en-g722/.done"
  echo "error: expected ~568 .g722 prompts in $dir/asterisk-core-sounds-en-g722/root, found $n" >&2
  exit 1
fi
touch "$dir/.done"
echo "Allison G.722 prompts: $n"
