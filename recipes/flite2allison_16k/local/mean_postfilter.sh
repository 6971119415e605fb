#!/usr/bin/env bash
# The post-filter in two parts (rules/postfilter_mean.md): a trajectory-trained converter from the
# DNN's output to Allison ("PM", a better conditional mean; its only input is the DNN's output), then
# the modulation-critic post-filter trained on PM's (output, Allison) pairs, for each seed, applied to
# the dev prompts (where it is chosen) and to the eval prompts, scored beside the DNN's own GV and MS
# post-filters (stage 8's where it has run for the split; else `vawgan convert --postfilter gv|ms`, the
# DNN's own, from the same statistics of the training prompts, into exp/<voice>/pm/<split>/dnn+{gv,ms}-pf):
#   [SPLITS="dev eval"] local/mean_postfilter.sh VOICE "SEEDS" JOBS [PM_CONF] [PF_CONF]
# SPLITS= (set, empty) trains and converts only: seeds can then train side by side, one call each.
# PM_CONF defaults to conf/dnn_conv_traj_ens.toml, PF_CONF to conf/postfilter_conv_ms.toml. TAG is
# PF_CONF's name less "postfilter_" (conf/postfilter_conv_ms_pm.toml: conv_ms_pm), as in seq_postfilter.sh; a tag
# that names PM's folders (conv_traj_ens, converted_train, converted_eval) is refused.
# exp/<voice>/pm/conv_traj_ens-s<seed>/       PM of each seed
# exp/<voice>/pm/converted_{train,eval}-s<seed>/  PM's output (train+dev prompts, in-sample as stage 6's
#                                              pairs are; eval prompts)
# exp/<voice>/pm/<tag>-s<seed>/               the post-filter trained on PM's pairs
# exp/<voice>/pm/<split>/<system>/            pm-s<seed>, pm+<tag>-s<seed>, and the ablations
#                                              pm+gv-pf-s<seed>, pm+ms-pf-s<seed> (PM's pairs' statistics)
# exp/<voice>/pm/<split>/eval/                metrics.json of them all beside dnn, dnn+gv-pf, dnn+ms-pf
set -euo pipefail
voice=$1; seeds=$2; jobs=$3
pm_conf=${4:-conf/dnn_conv_traj_ens.toml}; pf_conf=${5:-conf/postfilter_conv_ms.toml}
vawgan=${VAWGAN:-vawgan}
exp=exp/$voice
pm=$exp/pm
tag=$(basename "$pf_conf" .toml); tag=${tag#postfilter_}
case $tag in  # pm/<tag>-s<seed> would be PM's own folders, and --overwrite would empty them
  conv_traj_ens|converted_train|converted_eval)
    echo "mean_postfilter.sh: $pf_conf gives the post-filter the tag $tag, which names PM's folders under $pm: rename the file" >&2; exit 2;;
esac
for f in "$exp/converted_train/.complete" "$exp/converted_eval/.complete" "$exp/train_dev.ids"; do
  [ -f "$f" ] || { echo "mean_postfilter.sh: run stage 6 first ($f missing)" >&2; exit 2; }
done
for s in $seeds; do
  if [ ! -f "$pm/conv_traj_ens-s$s/rounds.json" ]; then  # written when the last round has finished
    start=$(date +%s)
    "$vawgan" train-converter "$exp/converted_train" dump/natural -o "$pm/conv_traj_ens-s$s" --ids lists/train.ids \
      --dev-ids lists/dev.ids --config "$pm_conf" --seed "$s" --jobs "$jobs" --overwrite
    echo "train $(( $(date +%s) - start )) s" > "$pm/conv_traj_ens-s$s/train.time"
  fi
  for part in train:"$exp/train_dev.ids" eval:lists/eval.ids; do
    src=$exp/converted_${part%%:*}; out=$pm/converted_${part%%:*}-s$s
    [ -f "$out/.complete" ] || { "$vawgan" convert "$src" -m "$pm/conv_traj_ens-s$s" --ids "${part#*:}" -o "$out" --overwrite \
      && touch "$out/.complete"; }
  done
  if [ ! -f "$pm/$tag-s$s/checkpoints/adv.pt" ]; then
    "$vawgan" train-postfilter "$pm/converted_train-s$s" dump/natural -o "$pm/$tag-s$s" --ids lists/train.ids \
      --dev-ids lists/dev.ids --config "$pf_conf" --seed "$s" --jobs "$jobs" --overwrite
  fi
done
for split in ${SPLITS-dev eval}; do
  dnn=$exp/converted_train; [ "$split" = eval ] && dnn=$exp/converted_eval
  systems=(--generated "dnn=$dnn")
  for m in gv-pf ms-pf; do
    ref=$exp/pfconv/$split/dnn+$m
    if [ ! -f "$ref/.complete" ]; then  # no stage 8: the DNN's own post-filter, the same statistics of the training prompts
      ref=$pm/$split/dnn+$m
      [ -f "$ref/.complete" ] || { "$vawgan" convert "dump/$voice" -m "$exp" --postfilter "${m%-pf}" --ids "lists/$split.ids" \
        -o "$ref" --overwrite && touch "$ref/.complete"; }
    fi
    systems+=(--generated "dnn+$m=$ref")
  done
  for s in $seeds; do
    src=$pm/converted_train-s$s; [ "$split" = eval ] && src=$pm/converted_eval-s$s
    systems+=(--generated "pm-s$s=$src")
    for how in "$tag" gv-pf ms-pf; do  # the post-filter, and its pairs' GV and MS post-filters
      out=$pm/$split/pm+$how-s$s
      opt=(--z mean --seed "$s"); [ "$how" = "$tag" ] || opt=(--method "$how")
      [ -f "$out/.complete" ] || { "$vawgan" enhance "$src" -m "$pm/$tag-s$s" "${opt[@]}" --ids "lists/$split.ids" -o "$out" \
        --jobs "$jobs" --overwrite && touch "$out/.complete"; }
      systems+=(--generated "pm+$how-s$s=$out")
    done
  done
  rm -rf "$pm/$split/eval"  # scored again with every seed
  "$vawgan" eval --natural dump/natural "${systems[@]}" --ids "lists/$split.ids" --align dtw -o "$pm/$split/eval" \
    --jobs "$jobs" --resamples 200
done
