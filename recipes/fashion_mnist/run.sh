#!/usr/bin/env bash
# Fashion-MNIST (Debian dataset-fashion-mnist; `make data` fetches it without root):
#   stage 1: conv VAE, latent 2, 10 epochs: test loss in nats per image, latent map, manifold
#   stage 2: MLP GAN (z 100; G 128-256-512-1024; D 512-256-1), sample grid per epoch
#   stage 3: the same networks as a WGAN-GP
#   stage 4: copy the figures and metrics into results/
# Usage: ./run.sh [--stage N] [--stop-stage M] [--gan-epochs E]
set -euo pipefail
cd "$(dirname "$0")"
stage=1
stop_stage=4
gan_epochs=10
while [ $# -gt 0 ]; do
  case $1 in
    --stage) stage=$2; shift 2 ;;
    --stop-stage) stop_stage=$2; shift 2 ;;
    --gan-epochs) gan_epochs=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
GEN=${GEN:-gen}

if [ "$stage" -le 1 ] && [ "$stop_stage" -ge 1 ]; then
  start=$SECONDS
  $GEN image vae --data fashion-mnist --arch conv --latent 2 --epochs 10 -o exp/conv_vae_z2 --overwrite
  echo "conv VAE: wall time $((SECONDS - start)) s"
fi
if [ "$stage" -le 2 ] && [ "$stop_stage" -ge 2 ]; then
  start=$SECONDS
  $GEN image gan --data fashion-mnist --epochs "$gan_epochs" -o exp/gan --overwrite
  echo "GAN: wall time $((SECONDS - start)) s"
fi
if [ "$stage" -le 3 ] && [ "$stop_stage" -ge 3 ]; then
  start=$SECONDS
  $GEN image wgan --critic gp --data fashion-mnist --epochs "$gan_epochs" -o exp/wgan_gp --overwrite
  echo "WGAN-GP: wall time $((SECONDS - start)) s"
fi
if [ "$stage" -le 4 ] && [ "$stop_stage" -ge 4 ]; then
  mkdir -p results
  if [ -d exp/conv_vae_z2 ]; then
    cp exp/conv_vae_z2/{latent_map.png,manifold.png,curves.png,metrics.json} results/ 2>/dev/null || true
    cp "exp/conv_vae_z2/recon/$(ls exp/conv_vae_z2/recon | tail -n 1)" results/vae_recon.png
  fi
  for run in gan wgan_gp; do
    [ -d exp/$run ] || continue
    cp "exp/$run/samples/$(ls exp/$run/samples | tail -n 1)" results/${run}_samples.png
    cp exp/$run/curves.png results/${run}_curves.png
  done
fi
