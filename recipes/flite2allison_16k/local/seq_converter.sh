#!/usr/bin/env bash
# Stage 9 of run.sh: the sequence converter ([dnn] arch = "conv") trained with each seed, the same
# rounds of alignment and training as stage 2's frame DNN, applied to the dev prompts (where its
# settings are chosen) and to the eval prompts, and scored beside stage 2's DNN:
#   [SPLITS="dev eval"] [MEMBERS="2"] local/seq_converter.sh VOICE CONF "SEEDS" JOBS
# TAG is CONF's name less "dnn_" (conf/dnn_conv.toml: conv), so configurations sit side by side:
# exp/<voice>/seqdnn/<tag>-s<seed>/            the trained converter of each seed
# exp/<voice>/seqdnn/<split>/<tag>-s<seed>/    its conversion of the split's prompts (features and WAVs)
# exp/<voice>/seqdnn/<split>/eval/             metrics.json of stage 2's DNN and of every seed of every tag
# MEMBERS="N …": an ensemble ([dnn] members = K > N) is also converted with its first N networks
# (`vawgan convert --members N`), scored as <tag>_m<N>-s<seed>: the ensemble's size as an ablation.
set -euo pipefail
voice=$1; conf=$2; seeds=$3; jobs=$4
vawgan=${VAWGAN:-vawgan}
exp=exp/$voice
seq=$exp/seqdnn
tag=$(basename "$conf" .toml); tag=${tag#dnn_}
[ -f "$exp/converted_train/.complete" ] || { echo "seq_converter.sh: run stage 6 first ($exp/converted_train: the DNN's dev prompts)" >&2; exit 2; }
[ -f "$exp/converted_eval/.complete" ] || { echo "seq_converter.sh: run stage 6 first ($exp/converted_eval)" >&2; exit 2; }
for s in $seeds; do
  if [ ! -f "$seq/$tag-s$s/rounds.json" ]; then  # written when the last round has finished
    start=$(date +%s)
    "$vawgan" train-converter "dump/$voice" dump/natural -o "$seq/$tag-s$s" --ids lists/train.ids --dev-ids lists/dev.ids \
      --config "$conf" --seed "$s" --jobs "$jobs" --overwrite
    echo "train $(( $(date +%s) - start )) s" > "$seq/$tag-s$s/train.time"
  fi
done
for split in ${SPLITS:-dev eval}; do
  src=$exp/converted_train; [ "$split" = eval ] && src=$exp/converted_eval  # stage 2's DNN on the split
  systems=(--generated "dnn=$src")
  for model in "$seq"/*-s[0-9]*/; do  # every configuration trained so far, each seed
    name=$(basename "$model")
    [ -f "$model/rounds.json" ] || continue
    out=$seq/$split/$name
    [ -f "$out/.complete" ] || { "$vawgan" convert "dump/$voice" -m "$model" --ids "lists/$split.ids" -o "$out" --overwrite && touch "$out/.complete"; }
    systems+=(--generated "$name=$out")
    k=$(sed -n 's/^members = \([0-9]*\).*/\1/p' "$model/config.toml"); k=${k:-1}
    for n in ${MEMBERS:-}; do
      [ "$n" -lt "$k" ] || continue
      sub=${name%-s*}_m$n-s${name##*-s}; out=$seq/$split/$sub
      [ -f "$out/.complete" ] || { "$vawgan" convert "dump/$voice" -m "$model" --members "$n" --ids "lists/$split.ids" -o "$out" --overwrite && touch "$out/.complete"; }
      systems+=(--generated "$sub=$out")
    done
  done
  rm -rf "$seq/$split/eval"  # scored again with every configuration
  "$vawgan" eval --natural dump/natural "${systems[@]}" --ids "lists/$split.ids" --align dtw -o "$seq/$split/eval" \
    --reference dnn --jobs "$jobs" --resamples 200
done
