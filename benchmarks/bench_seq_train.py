"""How long the VAWGANs over trajectories take to train on 2 cores, beside the frame VAWGAN, measured
side by side in one run (issue 25's budget: each model trains in at most 20 minutes on 2 CPU cores).

On the demo corpus (Allison 8 kHz prompts, dio; data/train.ids of recipes/allison_8k when present,
else every prompt but each tenth), each configuration trains through `vawgan train`'s own path
(`runs.vawgan.train_vawgan`: frame store or crops, the Trainer, the dev hook) for ``--epochs`` epochs
of every stage; the seconds of each stage's epoch are read off the step log's wall clock, and the
full run's time is projected from the configuration's own epoch counts:
  frame        recipes/allison_8k/conf/demo.toml (MLPs over frames, a frame critic)
  conv         recipes/allison_8k/conf/demo_conv.toml (the conv VAE, the segment critic; five critic
               updates per adversarial step)
The variants run round-robin ``--repeats`` times; the median epoch time of each stage is reported.
The 16 kHz post-filter and VC runs of recipes/flite2allison_16k record their own train times
(`train.time`); RESULTS.md lists them.
Usage: python benchmarks/bench_seq_train.py [--quick] [--epochs 1] [--repeats 2] [--threads 2]
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import time
from pathlib import Path
from tempfile import TemporaryDirectory

import torch

from common import demo_features, table
from vawgan_tts.runs.vawgan import load_experiment_config, train_vawgan

REPO = Path(__file__).resolve().parents[1]
CONFS = {"frame": REPO / "recipes/allison_8k/conf/demo.toml", "conv": REPO / "recipes/allison_8k/conf/demo_conv.toml"}
STAGES = ("vae", "critic", "adv")


class Clock:
    """An epoch hook: the wall-clock seconds of every (stage, epoch)."""

    def __init__(self):
        self.times: dict[str, list[float]] = {s: [] for s in STAGES}
        self.t = time.perf_counter()

    def __call__(self, trainer, stage: str, epoch: int, final: bool = False) -> None:
        now = time.perf_counter()
        self.times[stage].append(now - self.t)
        self.t = now


def one_run(name: str, feats: Path, ids: list[str], epochs: int) -> tuple[dict[str, float], dict[str, int]]:
    """Seconds per epoch of each stage for ``epochs`` epochs of each, and the config's own epoch counts."""
    full = load_experiment_config(CONFS[name])
    counts = {s: getattr(full.vawgan, f"{s}_epochs") for s in STAGES}
    # One more VAE epoch than asked: the first also holds the set-up (frame store, crops), left out.
    cfg = dataclasses.replace(full, data=dataclasses.replace(full.data, feats=str(feats), ids=tuple(ids), dev_share=0.0),
                              vawgan=dataclasses.replace(full.vawgan, vae_epochs=epochs + 1, critic_epochs=epochs,
                                                         adv_epochs=epochs))
    clock = Clock()
    with TemporaryDirectory() as tmp:
        train_vawgan(Path(tmp) / "exp", cfg, progress=False, hooks=[clock])
    clock.times["vae"] = clock.times["vae"][1:]
    return {s: statistics.median(v) for s, v in clock.times.items()}, counts


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="one epoch, one round")
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    repeats = 1 if args.quick else args.repeats
    feats, ids = demo_features()
    train_list = REPO / "recipes/allison_8k/data/train.ids"
    ids = train_list.read_text().split() if train_list.is_file() else [u for i, u in enumerate(sorted(ids)) if i % 10]
    seen: dict[str, list[dict[str, float]]] = {name: [] for name in CONFS}
    counts = {}
    for _ in range(repeats):
        for name in CONFS:
            per_epoch, counts[name] = one_run(name, feats, ids, args.epochs)
            seen[name].append(per_epoch)
    rows = []
    for name, runs in seen.items():
        sec = {s: statistics.median(r[s] for r in runs) for s in STAGES}
        total = sum(sec[s] * counts[name][s] for s in STAGES)
        rows.append([name, *(f"{sec[s]:.1f}" for s in STAGES),
                     " + ".join(f"{counts[name][s]}" for s in STAGES), f"{total / 60:.1f}",
                     "yes" if total <= 20 * 60 else "no"])
    print(f"{len(ids)} training prompts, {args.threads} threads, median of {repeats} round(s):")
    print(table(rows, ["arch", "s/epoch vae", "critic", "adv", "epochs (vae + critic + adv)", "projected min",
                       "<= 20 min"]))


if __name__ == "__main__":
    main()
