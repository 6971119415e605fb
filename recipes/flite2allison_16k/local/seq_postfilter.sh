#!/usr/bin/env bash
# Stage 8 of run.sh: the sequence (conv) VAWGAN post-filter on the DNN's output, trained with each
# seed, applied to the dev prompts (where the configuration is chosen) and to the eval prompts, and
# scored beside the GV and MS post-filters of the same pairs:
#   [SPLITS="dev"] local/seq_postfilter.sh VOICE CONF "SEEDS" JOBS   (SPLITS: dev first, to choose; then eval)
# TAG is CONF's name less "postfilter_" (conf/postfilter_conv.toml: conv; conf/postfilter.toml, stage 6's frame
# post-filter: frame), so configurations sit side by side:
# exp/<voice>/pfconv/<tag>-s<seed>/      the trained post-filter of each seed
# exp/<voice>/pfconv/<split>/<system>/   enhanced features and WAVs (split: dev, eval); systems dnn+<tag>-s<seed>-<z>
# exp/<voice>/pfconv/<split>/eval/       metrics.json of every system on that split (every tag trained so far)
set -euo pipefail
voice=$1; conf=$2; seeds=$3; jobs=$4
vawgan=${VAWGAN:-vawgan}
exp=exp/$voice
pf=$exp/pfconv
tag=$(basename "$conf" .toml); tag=${tag#postfilter_}; [ "$tag" = postfilter ] && tag=frame  # stage 6's frame post-filter
[ -f "$exp/converted_train/.complete" ] || { echo "seq_postfilter.sh: run stage 6 first ($exp/converted_train)" >&2; exit 2; }
[ -f "$exp/converted_eval/.complete" ] || { echo "seq_postfilter.sh: run stage 6 first ($exp/converted_eval)" >&2; exit 2; }
for s in $seeds; do
  if [ ! -f "$pf/$tag-s$s/checkpoints/adv.pt" ]; then
    "$vawgan" train-postfilter "$exp/converted_train" dump/natural -o "$pf/$tag-s$s" --ids lists/train.ids \
      --dev-ids lists/dev.ids --config "$conf" --seed "$s" --jobs "$jobs" --overwrite
  fi
done
for split in ${SPLITS:-dev eval}; do
  # The DNN's own output on the split: the dev prompts were converted with the training ones.
  src=$exp/converted_train; [ "$split" = eval ] && src=$exp/converted_eval
  systems=(--generated "dnn=$src")
  first=$(set -- $seeds; echo "$1")
  for m in gv-pf ms-pf; do  # the pairs' own statistics: the same for every seed
    out=$pf/$split/dnn+$m
    [ -f "$out/.complete" ] || { "$vawgan" enhance "$src" -m "$pf/$tag-s$first" --method $m --ids "lists/$split.ids" -o "$out" --jobs "$jobs" --overwrite && touch "$out/.complete"; }
    systems+=(--generated "dnn+$m=$out")
  done
  for model in "$pf"/*-s[0-9]*/; do  # every configuration trained so far, each seed
    name=$(basename "$model")
    [ -f "$model/checkpoints/adv.pt" ] || continue
    s=${name##*-s}
    conv=false; grep -q '^arch = "conv"' "$model/config.toml" && conv=true
    zs=mean; $conv && zs=${ZS:-mean prior}  # a frame post-filter applies z = μ
    for z in $zs; do
      out=$pf/$split/dnn+$name-$z
      zopt=(); $conv && zopt=(--z "$z" --seed "$s")
      [ -f "$out/.complete" ] || { "$vawgan" enhance "$src" -m "$model" "${zopt[@]}" --ids "lists/$split.ids" -o "$out" --jobs "$jobs" --overwrite && touch "$out/.complete"; }
      systems+=(--generated "dnn+$name-$z=$out")
    done
  done
  rm -rf "$pf/$split/eval"  # scored again with every configuration
  "$vawgan" eval --natural dump/natural "${systems[@]}" --ids "lists/$split.ids" --align dtw -o "$pf/$split/eval" \
    --jobs "$jobs" --resamples 200
done
