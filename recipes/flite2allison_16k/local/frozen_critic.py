"""How far a post-filter's decoder can climb a frozen critic: the VAE stage's decoder of EXP trained
alone against a trained critic (CRITIC, a checkpoint of the same configuration's critic) on
L = NLL − WEIGHT·E[D(G(z))], z = μ, Adam at RATE (β 0.5, 0.9), for STEPS steps. Every 50 steps, on
the dev prompts' crops: the critic's mean score of the output and of natural recordings, the
output's GV ratio and the ratio of its frame-to-frame difference variance to natural's (both over
c1..c24, normalized units), and the masked mean squared error to the aligned target.

Usage (in the recipe folder): python local/frozen_critic.py EXP CRITIC WEIGHT RATE STEPS
  e.g. python local/frozen_critic.py exp/slt/pfconv/conv_wgan-s0 exp/slt/pfconv/conv_wgan-s0/checkpoints/adv.pt \
         0.05 5e-4 400
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch

from vawgan_tts.alignment import load_alignments
from vawgan_tts.checkpoint import load_checkpoint
from vawgan_tts.features import FeatureStats
from vawgan_tts.runs.folder import ALIGNMENT, CONFIG, NORMALIZATION
from vawgan_tts.runs.vawgan_postfilter import _batches_and_dev, load_pair_postfilter_config, postfilter_task
from vawgan_tts.tasks.vawgan_postfilter import Segments, VAWGANPostfilterTask
from vawgan_tts.trainer import seed_everything


def main(exp: Path, critic: Path, weight: float, rate: float, steps: int) -> None:
    torch.set_num_threads(1)
    seed_everything(0)
    config = load_pair_postfilter_config(exp / CONFIG)
    cfg, data = config.postfilter, config.data
    aligned = load_alignments(exp / ALIGNMENT)
    batches, dev, _ = _batches_and_dev(cfg, Path(data.system), Path(data.natural), aligned,
                                       [u for u in data.ids if u in aligned], [u for u in data.dev_ids if u in aligned],
                                       FeatureStats.load(exp / NORMALIZATION), config.train.batch_size)
    vae = load_checkpoint(exp / "checkpoints/vae.pt", VAWGANPostfilterTask.name)
    task = postfilter_task(cfg, vae["extra"])
    task.vae.load_state_dict(vae["model"]["vae"])
    task.critic.load_state_dict(load_checkpoint(critic, VAWGANPostfilterTask.name)["model"]["critic"])
    task.critic.requires_grad_(False)
    optimizer = torch.optim.Adam(task.vae.decoder.parameters(), lr=rate, betas=(0.5, 0.9))
    dev = Segments(*dev)

    def figures() -> str:
        with torch.no_grad():
            y = task.generate(task.encode(dev)[0], dev)
            ratio = lambda a, b: (a.var(1).mean(0) / b.var(1).mean(0))[:24].mean().item()  # noqa: E731  c1..c24
            mse = (((y - dev.target) ** 2).mean(-1) * dev.mask).sum() / dev.mask.sum()
            return (f"D(output) {task.critic(y).mean().item():9.2f}  D(natural) {task.critic(dev.natural).mean().item():6.2f}"
                    f"  GV ratio {ratio(y, dev.natural):9.3f}  difference variance ratio "
                    f"{ratio(y.diff(dim=1), dev.natural.diff(dim=1)):9.3f}  MSE {mse.item():8.3f}")

    print(f"step 0: {figures()}", flush=True)
    generator, step = torch.Generator().manual_seed(0), 0
    while step < steps:
        for batch in batches.epoch(generator):
            x = Segments(*batch)
            with torch.no_grad():
                mu, _ = task.encode(x)
            y = task.generate(mu, x)
            nll = (((y - x.target) ** 2).mean(-1) * x.mask).sum() / x.mask.sum()
            optimizer.zero_grad()
            (nll - weight * task.critic(y).mean()).backward()
            optimizer.step()
            step += 1
            if step % 50 == 0:
                print(f"step {step}: {figures()}", flush=True)
            if step >= steps:
                break


if __name__ == "__main__":
    if len(sys.argv) != 6:
        sys.exit(__doc__)
    main(Path(sys.argv[1]), Path(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5]))
