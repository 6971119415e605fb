#!/usr/bin/env bash
# Japanese -> English on the expressions of Debian's EDICT (CC-BY-SA, EUC-JP).
#   stage 0: fetch edict without root (apt-get download + dpkg-deb -x) into downloads/
#   stage 1: expression entries -> data/pairs.tsv (Japanese<TAB>first English gloss)
#   stage 2: train (split by English gloss, 90/5/5)
#   stage 3: BLEU and chrF on the test split (sacrebleu), greedy and beam 5
#   stage 4: translate a few phrases with `gen translate`
# Usage: ./run.sh [--conf conf/default.toml] [--stage N] [--stop-stage M]
set -euo pipefail
cd "$(dirname "$0")"
conf=conf/default.toml
stage=0
stop_stage=4
while [ $# -gt 0 ]; do
  case $1 in
    --conf) conf=$2; shift 2 ;;
    --stage) stage=$2; shift 2 ;;
    --stop-stage) stop_stage=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
exp=exp/$(basename "$conf" .toml)
GEN=${GEN:-gen}
PYTHON=${PYTHON:-python}

if [ "$stage" -le 0 ] && [ "$stop_stage" -ge 0 ]; then
  ../../scripts/fetch_deb.sh edict downloads
fi
if [ "$stage" -le 1 ] && [ "$stop_stage" -ge 1 ]; then
  $PYTHON local/make_pairs.py downloads/root/usr/share/edict/edict data/pairs.tsv
fi
if [ "$stage" -le 2 ] && [ "$stop_stage" -ge 2 ]; then
  start=$SECONDS
  $GEN seq2seq train -o "$exp" --config "$conf" --overwrite
  echo "training wall time $((SECONDS - start)) s"
fi
if [ "$stage" -le 3 ] && [ "$stop_stage" -ge 3 ]; then
  $GEN seq2seq eval -m "$exp" --split test --beam 1
  cp "$exp/eval.json" "$exp/eval_beam1.json"
  $GEN seq2seq eval -m "$exp" --split test --beam 5
  cp "$exp/eval.json" "$exp/eval_beam5.json"
fi
if [ "$stage" -le 4 ] && [ "$stop_stage" -ge 4 ]; then
  printf 'ありがとうございます\nお先に失礼します\n気をつけて\n一石二鳥\n' | $GEN translate -m "$exp" --beam 5
fi
