#!/usr/bin/env bash
# The report of the two-part post-filter (local/mean_postfilter.sh, rules/postfilter_mean.md) on the
# eval prompts: the DNN's report (the source, the conversion, its GV and MS post-filters, Allison) with
# PM's output and seed 0 of every post-filter configuration scored on PM's eval output beside it:
#   local/pm_report.sh VOICE
# exp/<voice>/pm/report/      `vawgan report` of exp/<voice>, with `--extra pm=…` and `--extra <name>=…`
#                             for each exp/<voice>/pm/eval/pm+<name>-s0/ that `vawgan enhance` completed
# The blind listening page with the same systems is local/listening_tests.sh's.
set -euo pipefail
voice=$1
vawgan=${VAWGAN:-vawgan}
exp=exp/$voice
pm=$exp/pm
[ -f "$pm/converted_eval-s0/.complete" ] || { echo "pm_report.sh: $pm/converted_eval-s0 missing: run local/mean_postfilter.sh $voice 0 … first" >&2; exit 2; }
extra=(--extra "pm=$pm/converted_eval-s0")
for d in "$pm"/eval/pm+*-s0; do
  [ -f "$d/.complete" ] || continue
  name=$(basename "$d")
  extra+=(--extra "${name%-s0}=$d")
done
rm -rf "$pm/report"
"$vawgan" report "$exp" -o "$pm/report" --ids lists/eval.ids --overwrite "${extra[@]}"
