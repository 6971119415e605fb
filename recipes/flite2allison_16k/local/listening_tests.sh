#!/usr/bin/env bash
# Blind MUSHRA pages of what stages 7 and 8 made, with Allison's recordings as the reference; the
# first 10 eval prompts, 20 listener pages each (`vawgan listening-test`; the keys beside them):
#   local/listening_tests.sh VOICE
# exp/<voice>/pfconv/listening_test/   stage 8: the DNN (the low anchor), its GV and MS post-filters and
#                                      seed 0 (z = μ) of every sequence post-filter configuration trained;
#                                      with the two-part post-filter (local/mean_postfilter.sh), seed 0 of
#                                      each configuration scored on PM's eval output (exp/<voice>/pm/eval/)
# exp/<voice>/pm/listening_test/       without stage 8: the same page of the two-part post-filter alone, the
#                                      DNN's GV and MS post-filters from exp/<voice>/pm/eval/dnn+{gv,ms}-pf
# exp/vc/listening_test/               stage 7: slt→allison — the source (the anchor), the parallel DNN,
#                                      VAE-VC and VAWGAN-VC, the kNN readout and its post-filter, and their
#                                      conv versions when exp/vc_conv exists
set -euo pipefail
voice=$1
vawgan=${VAWGAN:-vawgan}
head -n 10 lists/eval.ids > lists/listening.ids
pf=exp/$voice/pfconv
pm=exp/$voice/pm
refs=  # the folder that holds the DNN's GV and MS post-filters of the eval prompts, and the page's folder
if [ -d "$pf/eval" ]; then refs=$pf; elif [ -f "$pm/eval/dnn+ms-pf/.complete" ]; then refs=$pm; fi
if [ -n "$refs" ]; then
  systems=(dnn="exp/$voice/converted_eval" gv-pf="$refs/eval/dnn+gv-pf" ms-pf="$refs/eval/dnn+ms-pf")
  for d in "$pf"/eval/dnn+*-s0-mean; do
    [ -d "$d" ] && systems+=("$(basename "$d" | sed 's/^dnn+//; s/-s0-mean$//')=$d")
  done
  for d in "$pm"/eval/pm+*-s0; do
    [ -f "$d/.complete" ] && systems+=("$(basename "$d" | sed 's/-s0$//')=$d")
  done
  "$vawgan" listening-test "${systems[@]}" --reference dump/natural --anchor dnn --ids lists/listening.ids \
    --listeners 20 -o "$refs/listening_test" --overwrite --title "vawgan-tts: the DNN's $voice→Allison conversion post-filtered"
fi
vc=exp/vc/systems-best/slt-to-allison  # stage 7's reports: each stage's best dev epoch
if [ -d "$vc" ]; then
  systems=(source=data/corpus/slt vae-vc="$vc/vae-vc" vawgan-vc="$vc/vawgan-vc")
  [ -f exp/slt/converted_eval/.complete ] && systems+=(dnn=exp/slt/converted_eval)
  [ -d exp/vc/knn_slt_to_allison+pf ] && systems+=(knn=exp/vc/knn_slt_to_allison knn+pf=exp/vc/knn_slt_to_allison+pf)
  conv=exp/vc_conv/systems-best/slt-to-allison
  [ -d "$conv" ] && systems+=(vae-vc-conv="$conv/vae-vc" vawgan-vc-conv="$conv/vawgan-vc")
  "$vawgan" listening-test "${systems[@]}" --reference dump/natural --anchor source --ids lists/listening.ids \
    --listeners 20 -o exp/vc/listening_test --overwrite --title "vawgan-tts: slt→Allison voice conversion"
fi
