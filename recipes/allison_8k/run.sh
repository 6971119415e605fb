#!/usr/bin/env bash
# Allison 8 kHz recipe (Kaldi style): ./run.sh [--stage N] [--stop-stage M] [--conf conf/demo.toml] [--jobs J]
#   stage 0  data:      fetch Debian asterisk-core-sounds-en-wav into downloads/, write data/ lists
#   stage 1  features:  WORLD + mel-cepstra of every prompt into dump/feats_<f0 method>/
#   stage 2  copy:      analysis-synthesis of the eval list, re-extracted and scored against natural
#   stage 3  vae:       train the VAE               (exp/<conf>/checkpoints/vae.pt)
#   stage 4  critic:    train the critic            (.../critic.pt)
#   stage 5  adv:       adversarial training        (.../adv.pt)
#   stage 6  report:    every system on the eval list, metrics, figures, audio (exp/<conf>/report/index.html),
#                       and a blind MUSHRA listening test of them (exp/<conf>/listening_test/index.html)
#   stage 7  results:   RESULTS.md from the measured metrics of every experiment
set -euo pipefail
cd "$(dirname "$0")"

stage=0
stop_stage=100
conf=conf/default.toml
jobs=$(nproc)
while [ $# -gt 0 ]; do
  case "$1" in
    --stage) stage=$2; shift 2 ;;
    --stop-stage) stop_stage=$2; shift 2 ;;
    --conf) conf=$2; shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
[ -f "$conf" ] || { echo "run.sh: no config $conf" >&2; exit 2; }
vawgan=${VAWGAN:-vawgan}
python=${PYTHON:-python3}
tag=$(basename "$conf" .toml)
# Features depend on the [extract] settings only: one folder per F0 method, shared by configs.
f0=$("$python" -c 'import sys, tomllib; print(tomllib.load(open(sys.argv[1], "rb")).get("extract", {}).get("f0_method", "harvest"))' "$conf")
feats=dump/feats_$f0
exp=exp/$tag

if [ "$stage" -le 0 ] && [ "$stop_stage" -ge 0 ]; then
  echo "== stage 0: data"
  local/download.sh downloads
  "$python" local/make_lists.py downloads/root/usr/share/asterisk/sounds/en_US_f_Allison \
    downloads/transcripts/root/usr/share/doc/asterisk-core-sounds-en/core-sounds-en.txt.gz data
fi

if [ "$stage" -le 1 ] && [ "$stop_stage" -ge 1 ]; then
  echo "== stage 1: features"
  "$vawgan" extract data/wav.scp -o "$feats" --config "$conf" --jobs "$jobs"
fi

if [ "$stage" -le 2 ] && [ "$stop_stage" -ge 2 ]; then
  echo "== stage 2: analysis-synthesis (copy) of the eval list"
  "$vawgan" synth "$feats" -o "$exp/copy/wav" --copy --ids data/eval.ids --overwrite
  # Re-analyse what the vocoder made: the MCD against the originals is the vocoder's own loss.
  "$vawgan" extract "$exp/copy/wav" -o "$exp/copy/feats" --config "$conf" --jobs "$jobs"
  "$vawgan" eval --natural "$feats" --generated natural_self="$feats" --generated copy="$exp/copy/feats" \
    --ids data/eval.ids -o "$exp/eval_copy"
fi
for st in 3:vae 4:critic 5:adv; do
  n=${st%%:*}; name=${st#*:}
  if [ "$stage" -le "$n" ] && [ "$stop_stage" -ge "$n" ]; then
    echo "== stage $n: train $name"
    mkdir -p "$exp"
    [ "$name" = vae ] && : > "$exp/train.times"
    start=$(date +%s)
    "$vawgan" train "$feats" -o "$exp" --stage "$name" --config "$conf" --ids data/train.ids --dev-ids data/dev.ids --overwrite
    echo "$name $(( $(date +%s) - start )) s" >> "$exp/train.times"
  fi
done

if [ "$stage" -le 6 ] && [ "$stop_stage" -ge 6 ]; then
  echo "== stage 6: synthesize the eval list with every system, evaluate, report"
  [ -f "$exp/train.times" ] && awk '{s+=$2} END {print s " s (" NR " stages, 2-core CPU)"}' "$exp/train.times" > "$exp/train.time"
  "$vawgan" report "$exp" -o "$exp/report" --ids data/eval.ids --jobs "$jobs" --overwrite
  # A blind MUSHRA test of the enhancers on 10 eval prompts (hidden reference: the recording; anchor: the VAE).
  head -n 10 data/eval.ids > "$exp/listening.ids"
  rm -rf "$exp/listening_test" "$exp/listening_test-key.json"
  "$vawgan" listening-test vawgan="$exp/systems/vawgan" vae="$exp/systems/vae" gv-pf="$exp/systems/gv-pf" \
    ms-pf="$exp/systems/ms-pf" --reference "$feats" --anchor vae -o "$exp/listening_test" --ids "$exp/listening.ids" \
    --listeners 20 --title "vawgan-tts demo: enhancement of VAE output"
fi

if [ "$stage" -le 7 ] && [ "$stop_stage" -ge 7 ]; then
  echo "== stage 7: RESULTS.md"
  "$python" local/results.py
fi
echo "done: $(pwd)/$exp"
