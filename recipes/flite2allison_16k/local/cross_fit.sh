#!/usr/bin/env bash
# Cross-fitted training pairs for the post-filters: the DNN's output on each training prompt from a
# DNN that did not train on it.
#
# Stage 6 and 8 train their post-filters on (the DNN's output, Allison) pairs of the training prompts,
# and that output is in-sample: on the first 56 of slt's training prompts the DNN's DTW-MCD is 4.59 dB,
# and 4.89 from DNNs that did not train on them (5.19 on dev, 5.41 on eval). A post-filter so trained
# learns from inputs 0.3 dB better than a held-out prompt's. Stacking's remedy (Wolpert 1992): split the training
# prompts into FOLDS folds; for each, train the DNN as stage 2 does on the other folds and convert the
# held-out one. The held-out conversions, with the full DNN's dev conversions (already out-of-sample),
# make exp/<voice>/converted_oof, which a post-filter trains on in place of exp/<voice>/converted_train.
#
# Fold k holds the training prompts at positions k, k + FOLDS, k + 2 FOLDS, ... of lists/train.ids.
# Usage: local/cross_fit.sh VOICE [FOLDS] [JOBS] [FOLD ...]
#   FOLDS  4 by default; JOBS  threads per DNN (1); FOLD ...  train only these folds (all by default),
#   so that two can run at once; the merge happens when every fold's conversion is complete.
#   VAWGAN (vawgan), CONF (conf/default.toml: stage 2's).
set -euo pipefail

voice=$1
folds=${2:-4}
jobs=${3:-1}
shift $(( $# < 3 ? $# : 3 ))
vawgan=${VAWGAN:-vawgan}
conf=${CONF:-conf/default.toml}
exp=exp/$voice
out=$exp/crossfit

[ -f "$exp/converted_train/.complete" ] || { echo "cross_fit.sh: $exp/converted_train missing: run stage 6 first" >&2; exit 2; }
mkdir -p "$out"
for k in $(seq 0 $((folds - 1))); do
  awk -v f="$folds" -v k="$k" '(NR - 1) % f == k' lists/train.ids > "$out/fold$k.held.ids"
  awk -v f="$folds" -v k="$k" '(NR - 1) % f != k' lists/train.ids > "$out/fold$k.train.ids"
done

# A fold is done when its conversion is complete for the prompts it now holds out (a run with another
# FOLDS holds out others: that fold is trained again, not merged from the old split).
done_fold() { [ -f "$out/fold$1/converted/.complete" ] && cmp -s "$out/fold$1/held.ids" "$out/fold$1.held.ids"; }

for k in ${@:-$(seq 0 $((folds - 1)))}; do
  d=$out/fold$k
  done_fold "$k" && continue
  start=$(date +%s)
  "$vawgan" train-converter "dump/$voice" dump/natural -o "$d" --ids "$out/fold$k.train.ids" \
    --dev-ids lists/dev.ids --config "$conf" --jobs "$jobs" --overwrite
  echo "train $(( $(date +%s) - start )) s" > "$d/train.time"
  "$vawgan" convert "dump/$voice" -m "$d" --ids "$out/fold$k.held.ids" -o "$d/converted" --overwrite
  cp "$out/fold$k.held.ids" "$d/held.ids"
  touch "$d/converted/.complete"
done

for k in $(seq 0 $((folds - 1))); do
  done_fold "$k" || { echo "cross_fit.sh: fold $k not converted yet; merge waits"; exit 0; }
done
oof=$exp/converted_oof
rm -rf "$oof.tmp" && mkdir -p "$oof.tmp"
for k in $(seq 0 $((folds - 1))); do
  while read -r u; do cp "$out/fold$k/converted/$u".{npz,wav} "$oof.tmp/"; done < "$out/fold$k.held.ids"
done
while read -r u; do cp "$exp/converted_train/$u".{npz,wav} "$oof.tmp/"; done < lists/dev.ids
touch "$oof.tmp/.complete"
rm -rf "$oof" && mv "$oof.tmp" "$oof"
echo "$oof: $(ls "$oof" | grep -c '\.npz$') prompts, each converted by a DNN that did not train on it"
