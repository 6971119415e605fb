#!/usr/bin/env bash
# WGAN on the 5×5 Gaussian mixture (modes at {-4,-2,0,2,4}², σ 0.05, 4000 samples each):
#   stage 1: weight clipping 0.1      stage 2: gradient penalty
#   stage 3: copy final snapshots and metrics into results/
# Both with a 4 x 512 generator against the 3 x 256 critic (conf/deep_generator.toml) and Adam's
# rate falling linearly from LR to 0 at the last epoch.
# Usage: ./run.sh [--stage N] [--stop-stage M] [--epochs E] [--lr LR]
set -euo pipefail
cd "$(dirname "$0")"
stage=1
stop_stage=3
epochs=400
lr=2e-4
while [ $# -gt 0 ]; do
  case $1 in
    --stage) stage=$2; shift 2 ;;
    --stop-stage) stop_stage=$2; shift 2 ;;
    --epochs) epochs=$2; shift 2 ;;
    --lr) lr=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
GEN=${GEN:-gen}

for critic in clip gp; do
  n=$([ $critic = clip ] && echo 1 || echo 2)
  if [ "$stage" -le $n ] && [ "$stop_stage" -ge $n ]; then
    start=$SECONDS
    $GEN toy --critic $critic -c conf/deep_generator.toml --epochs "$epochs" --lr "$lr" --lr-decay linear \
      --snapshot-every 25 -o exp/$critic --overwrite
    echo "$critic: wall time $((SECONDS - start)) s for $epochs epochs"
  fi
done
if [ "$stage" -le 3 ] && [ "$stop_stage" -ge 3 ]; then
  mkdir -p results
  for critic in clip gp; do
    [ -d exp/$critic ] || continue
    last=$(ls exp/$critic/snapshots | tail -n 1)
    cp exp/$critic/snapshots/$last results/${critic}_final.png
    cp exp/$critic/metrics.json results/${critic}_metrics.json
    cp exp/$critic/curves.png results/${critic}_curves.png
  done
fi
