#!/usr/bin/env bash
# flite voice -> Allison at 16 kHz, a parallel DNN converter (Kaldi style):
#   ./run.sh [--voice slt|rms|awb|kal16] [--stage N] [--stop-stage M] [--conf conf/default.toml] [--jobs J]
#            [--adv-weights "0.1 0.3 1"] [--pf-weights "0.1 0.3 1 3"] [--seeds "0 1 2"]
#            [--vc-conf conf/vc.toml] [--pf-conf conf/postfilter_conv.toml] [--dnn-conf conf/dnn_conv_ens.toml]
#   stage 0  data:      fetch Debian's Allison G.722 prompts, transcripts, flite (downloads/); decode the prompts
#                       and let flite speak every transcript (data/corpus/); the split is fixed in lists/
#   stage 1  features:  WORLD (dio) + mel-cepstra of Allison and of the voice (dump/<side>/)
#   stage 2  train:     DTW alignment rounds and the DNN (exp/<voice>/)
#   stage 3  report:    convert the eval prompts, evaluate against Allison's recordings with DTW, listen
#                       (exp/<voice>/report/index.html)
#   stage 4  results:   RESULTS.md from every voice's measured metrics
#   stage 5  adversarial: the adversarial converter (Saito et al. 2018) at each w_d of --adv-weights, its
#                       eval, the GV-ratio / DTW-MCD trade-off plot (results/<voice>/tradeoff.png), RESULTS.md
#   stage 6  enhance:   a VAWGAN post-filter trained on (the DNN's output, Allison) pairs of the training
#                       prompts, swept over --pf-weights; the DNN's eval output enhanced by it, by the GV/MS
#                       post-filters and by a VAWGAN trained on natural speech only; eval, report, plots
#   stage 7  vc:        VAWGAN voice conversion without parallel data: five speakers (Allison, slt, rms, awb,
#                       kal16; run stages 0-1 with each --voice first), each given a disjoint share of the
#                       training prompts (--vc-conf, default conf/vc.toml: exp/vc; conf/vc_conv.toml: exp/vc_conv); reports of slt→allison, rms→allison, allison→slt
#                       (source, VAE-VC, VAWGAN-VC at each stage's best dev epoch, the kNN readout and its post-filter
#                       trained on the target's prematched prompts, the parallel DNN where trained, the target), speaker
#                       identification of every conversion, blind MUSHRA pages (local/listening_tests.sh), RESULTS.md
#   stage 8  seq-pf:    the sequence (conv) VAWGAN post-filter (--pf-conf, default conf/postfilter_conv_ms.toml: a spread
#                       filter learned from a critic over modulation spectra) trained with each of
#                       --seeds, applied to the dev and the eval prompts beside the GV and MS post-filters
#                       (local/seq_postfilter.sh); every seed's figures, mean and range: exp/<voice>/pfconv/{dev,eval}.md;
#                       results/<voice>/seq_{tradeoff,ms}.png; a blind MUSHRA page (exp/<voice>/pfconv/listening_test/)
#   stage 9  seq-dnn:   the sequence converter (--dnn-conf, default conf/dnn_conv_traj_ens.toml: an ensemble of
#                       three networks of convolutions over the whole trajectory, trained through MLPG) trained with each of --seeds as stage 2 trains the DNN, applied to the dev and the
#                       eval prompts beside stage 2's DNN (local/seq_converter.sh); every seed's figures, mean and
#                       range: exp/<voice>/seqdnn/{dev,eval}.md (local/seq_converter_results.py); the report with
#                       seed 0 beside the DNN (exp/<voice>/seqdnn/report/); needs stage 6
set -euo pipefail
cd "$(dirname "$0")"

stage=0
stop_stage=100
conf=conf/default.toml
voice=slt
adv_weights="0.1 0.3 1"
pf_weights="0.1 0.3 1 3"
seeds="0 1 2"
vc_conf=conf/vc.toml
pf_conf=conf/postfilter_conv_ms.toml
dnn_conf=conf/dnn_conv_traj_ens.toml
jobs=$(nproc)
while [ $# -gt 0 ]; do
  case "$1" in
    --stage) stage=$2; shift 2 ;;
    --stop-stage) stop_stage=$2; shift 2 ;;
    --conf) conf=$2; shift 2 ;;
    --voice) voice=$2; shift 2 ;;
    --adv-weights) adv_weights=$2; shift 2 ;;
    --pf-weights) pf_weights=$2; shift 2 ;;
    --seeds) seeds=$2; shift 2 ;;
    --vc-conf) vc_conf=$2; shift 2 ;;
    --pf-conf) pf_conf=$2; shift 2 ;;
    --dnn-conf) dnn_conf=$2; shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    -h|--help) sed -n '2,31p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
[ -f "$conf" ] || { echo "run.sh: no config $conf" >&2; exit 2; }
vawgan=${VAWGAN:-vawgan}
python=${PYTHON:-python3}
exp=exp/$voice
deb=downloads

if [ "$stage" -le 0 ] && [ "$stop_stage" -ge 0 ]; then
  echo "== stage 0: data ($voice)"
  local/download.sh "$deb"
  "$vawgan" parallel-corpus "$deb/asterisk-core-sounds-en/root/usr/share/doc/asterisk-core-sounds-en/core-sounds-en.txt.gz" \
    --recordings "$deb/asterisk-core-sounds-en-g722/root/usr/share/asterisk/sounds/en_US_f_Allison" \
    --voice "$voice" --flite "$deb" -o data/corpus --jobs "$jobs"
fi

if [ "$stage" -le 1 ] && [ "$stop_stage" -ge 1 ]; then
  echo "== stage 1: features"
  for side in natural "$voice"; do
    "$vawgan" extract "data/corpus/$side/wav.scp" -o "dump/$side" --config "$conf" --jobs "$jobs"
  done
fi

if [ "$stage" -le 2 ] && [ "$stop_stage" -ge 2 ]; then
  echo "== stage 2: alignment rounds and the DNN"
  mkdir -p "$exp"
  start=$(date +%s)
  "$vawgan" train-converter "dump/$voice" dump/natural -o "$exp" --ids lists/train.ids --dev-ids lists/dev.ids \
    --config "$conf" --jobs "$jobs" --overwrite
  echo "train $(( $(date +%s) - start )) s" > "$exp/train.time"
fi

if [ "$stage" -le 3 ] && [ "$stop_stage" -ge 3 ]; then
  echo "== stage 3: convert the eval prompts, evaluate, report"
  "$vawgan" report "$exp" -o "$exp/report" --ids lists/eval.ids --overwrite
fi

if [ "$stage" -le 4 ] && [ "$stop_stage" -ge 4 ]; then
  echo "== stage 4: RESULTS.md"
  "$python" local/results.py
fi
if [ "$stage" -le 5 ] && [ "$stop_stage" -ge 5 ]; then
  echo "== stage 5: adversarial converter at w_d = $adv_weights"
  for w in $adv_weights; do
    "$vawgan" train-converter "dump/$voice" dump/natural -o "$exp" --ids lists/train.ids --config "$conf" \
      --adversarial --adv-weight "$w"
    "$vawgan" convert "dump/$voice" -m "$exp" --adversarial "$w" --ids lists/eval.ids -o "$exp/adv-w$w/converted" --overwrite
    "$vawgan" eval --natural dump/natural --generated "adv-w$w=$exp/adv-w$w/converted" --ids lists/eval.ids \
      --align dtw -o "$exp/adv-w$w/eval"
  done
  "$python" local/tradeoff.py "$voice"
  "$python" local/results.py
fi
if [ "$stage" -le 6 ] && [ "$stop_stage" -ge 6 ]; then
  echo "== stage 6: VAWGAN post-filter on the DNN's output (pairs), swept over $pf_weights"
  pf=$exp/postfilter
  cat lists/train.ids lists/dev.ids > "$exp/train_dev.ids"
  # The system's output on the training and dev prompts: what the post-filter learns from.
  if [ ! -f "$exp/converted_train/.complete" ]; then
    "$vawgan" convert "dump/$voice" -m "$exp" --ids "$exp/train_dev.ids" -o "$exp/converted_train" --overwrite
    touch "$exp/converted_train/.complete"
  fi
  start=$(date +%s)
  "$vawgan" train-postfilter "$exp/converted_train" dump/natural -o "$pf" --ids lists/train.ids \
    --dev-ids lists/dev.ids --config conf/postfilter.toml --jobs "$jobs" --overwrite
  "$vawgan" train-postfilter "$exp/converted_train" dump/natural -o "$pf" --ids lists/train.ids \
    --config conf/postfilter.toml --sweep "$(echo $pf_weights | tr ' ' ,)"
  echo "train $(( $(date +%s) - start )) s" > "$pf/train.time"
  # Today's VAWGAN, natural speech only (one per corpus, not per voice): the reference.
  if [ ! -f exp/natural_vawgan/checkpoints/adv.pt ]; then
    "$vawgan" train dump/natural -o exp/natural_vawgan --ids lists/train.ids --dev-ids lists/dev.ids \
      --config conf/natural_vawgan.toml --overwrite
  fi
  if [ ! -f "$exp/converted_eval/.complete" ]; then
    "$vawgan" convert "dump/$voice" -m "$exp" --ids lists/eval.ids -o "$exp/converted_eval" --overwrite
    touch "$exp/converted_eval/.complete"
  fi
  systems=(--generated "source=dump/$voice" --generated "dnn=$exp/converted_eval")
  for m in gv-pf ms-pf vae vawgan; do
    "$vawgan" enhance "$exp/converted_eval" -m "$pf" --method $m -o "$pf/eval/dnn+$m" --overwrite
    systems+=(--generated "dnn+$m=$pf/eval/dnn+$m")
  done
  for w in $pf_weights; do
    "$vawgan" enhance "$exp/converted_eval" -m "$pf" --adv-weight "$w" -o "$pf/eval/dnn+vawgan-w$w" --overwrite
    systems+=(--generated "dnn+vawgan-w$w=$pf/eval/dnn+vawgan-w$w")
  done
  "$vawgan" enhance "$exp/converted_eval" -m exp/natural_vawgan --method vawgan -o "$pf/eval/dnn+natural-vawgan" --overwrite
  systems+=(--generated "dnn+natural-vawgan=$pf/eval/dnn+natural-vawgan")
  for d in "$exp"/adv-w*/converted; do
    [ -d "$d" ] && systems+=(--generated "dnn-adv-$(basename "$(dirname "$d")" | cut -c5-)=$d")
  done
  "$vawgan" eval --natural dump/natural "${systems[@]}" --ids lists/eval.ids --align dtw -o "$pf/eval"
  "$vawgan" report "$exp" -o "$pf/report" --ids lists/eval.ids --overwrite \
    --extra "VAWGAN pf=$pf/eval/dnn+vawgan" --extra "natural-only VAWGAN=$pf/eval/dnn+natural-vawgan"
  "$python" local/tradeoff.py "$voice"
  "$python" local/results.py
fi
if [ "$stage" -le 7 ] && [ "$stop_stage" -ge 7 ]; then
  echo "== stage 7: VAWGAN voice conversion, non-parallel, five speakers"
  vc=exp/$(basename "$vc_conf" .toml)  # conf/vc.toml: exp/vc
  speakers=(allison=dump/natural)
  for v in slt rms awb kal16; do
    [ -d "dump/$v" ] || { echo "run.sh: dump/$v missing: run ./run.sh --voice $v --stage 0 --stop-stage 1" >&2; exit 2; }
    speakers+=("$v=dump/$v")
  done
  start=$(date +%s)
  "$vawgan" train-vc "${speakers[@]}" -o "$vc" --ids lists/train.ids --dev-ids lists/dev.ids --config "$vc_conf" --overwrite
  echo "train $(( $(date +%s) - start )) s" > "$vc/train.time"
  feats_of() { if [ "$1" = allison ]; then echo dump/natural; else echo "dump/$1"; fi; }
  # The kNN readout (rules/vc_knn.md: the VAE stage's codes, shifted, the mean of the 16 nearest of the
  # target's own training frames) and its post-filter, trained on the target's own prompts read out of her
  # other frames (rules/vc_prematch.md; the adversarial stage as spupn-l05's, rules/postfilter_mean.md)
  for tgt in allison slt; do
    pf=$vc/prematch_pf_$tgt
    "$vawgan" prematch "$vc" --speaker "$tgt" --knn 16 --stage vae --checkpoint best -o "$vc/prematch_$tgt" --overwrite
    "$vawgan" train-postfilter "$vc/prematch_$tgt" "$(feats_of "$tgt")" -o "$pf/conv_ms_pm" --ids "$vc/prematch_$tgt/train.ids" \
      --dev-ids "$vc/prematch_$tgt/dev.ids" --config conf/postfilter_conv_ms_pm.toml --jobs "$jobs" --overwrite
    "$python" local/adv_again.py "$pf/conv_ms_pm" "$pf/spupn-l05" 24 spread_taps=0 \
      spread_knots=0,0.78,1.1,1.56,2.2,3.12,4.42,6.25,8.84,12.5,17.7,25,35.4,50,70.7,99 critic_modulation=16,32,64,128,256 \
      segment=256 spread_lr=0.01 spread_likelihood=0.5 critic_bands_per_octave=2 critic_speech_only=true crop_per_utterance=true
  done
  scores=()
  for direction in slt:allison rms:allison allison:slt; do
    src=${direction%%:*}; tgt=${direction##*:}
    extra=()
    if [ "$tgt" = allison ] && [ -f "exp/$src/converted_eval/.complete" ]; then
      extra=(--extra "dnn=exp/$src/converted_eval")
      scores+=(--score "$src→$tgt dnn=exp/$src/converted_eval" --expect "$src→$tgt dnn=$tgt")
    fi
    knn=$vc/knn_${src}_to_${tgt}
    "$vawgan" convert "$(feats_of "$src")" -m "$vc" --from "$src" --to "$tgt" --stage vae --checkpoint best --code shift \
      --knn 16 --ids lists/eval.ids -o "$knn" --overwrite
    "$vawgan" enhance "$knn" -m "$vc/prematch_pf_$tgt/spupn-l05" --z mean --ids lists/eval.ids -o "$knn+pf" --overwrite
    extra+=(--extra "knn=$knn" --extra "knn+pf=$knn+pf")
    scores+=(--score "$src→$tgt knn+pf=$knn+pf" --expect "$src→$tgt knn+pf=$tgt")
    # each stage's best dev epoch (chosen on dev over three seeds: rules/vc_checkpoint.md)
    "$vawgan" report "$vc" --from "$src" --to "$tgt" -o "$vc/report_${src}_to_${tgt}" --ids lists/eval.ids --overwrite \
      --checkpoint best "${extra[@]}"
    for s in vae-vc vawgan-vc; do
      scores+=(--score "$src→$tgt $s=$vc/systems-best/$src-to-$tgt/$s" --expect "$src→$tgt $s=$tgt")
    done
  done
  "$vawgan" speaker-id "${speakers[@]}" --ids lists/train.ids --eval-ids lists/eval.ids "${scores[@]}" -o "$vc/speaker_id.json"
  VAWGAN=$vawgan local/listening_tests.sh "$voice"
  "$python" local/results.py
fi
if [ "$stage" -le 8 ] && [ "$stop_stage" -ge 8 ]; then
  echo "== stage 8: the sequence post-filter, seeds $seeds (dev first, then eval)"
  VAWGAN=$vawgan SPLITS="dev eval" local/seq_postfilter.sh "$voice" "$pf_conf" "$seeds" "$jobs"
  for split in dev eval; do "$python" local/seq_results.py $split "$voice" > "$exp/pfconv/$split.md"; done
  VAWGAN=$vawgan local/listening_tests.sh "$voice"
fi
if [ "$stage" -le 9 ] && [ "$stop_stage" -ge 9 ]; then
  echo "== stage 9: the sequence converter, seeds $seeds (dev first, then eval)"
  VAWGAN=$vawgan SPLITS="dev eval" MEMBERS=2 local/seq_converter.sh "$voice" "$dnn_conf" "$seeds" "$jobs"
  for split in dev eval; do "$python" local/seq_converter_results.py $split "$voice" > "$exp/seqdnn/$split.md"; done
  # The DNN's report (source, conversion, its GV/MS post-filters, Allison) with seed 0 of each sequence converter beside it
  extra=()
  for d in "$exp"/seqdnn/eval/*-s0; do [ -d "$d" ] && extra+=(--extra "seq $(basename "$d")=$d"); done
  rm -rf "$exp/seqdnn/report"
  "$vawgan" report "$exp" -o "$exp/seqdnn/report" --ids lists/eval.ids --overwrite "${extra[@]}"
  "$python" local/results.py
fi
echo "done: $(pwd)/$exp"
