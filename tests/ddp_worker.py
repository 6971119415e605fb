"""Trains a small deterministic regression with the real Trainer, under torchrun or alone.

    python tests/ddp_worker.py OUT BATCH             one process, batch BATCH
    torchrun --nproc-per-node 2 tests/ddp_worker.py OUT BATCH    two processes, BATCH each
    ... OUT BATCH --stop-at K     interrupted (as by Ctrl-C) before step K+1: last.pt holds step K
    ... OUT BATCH --resume        continues from OUT/checkpoints/last.pt

Data-parallel SGD with batch B on each of 2 ranks takes the same steps as one process with batch
2B (rank r gets batches 2i + r of the shared permutation; the averaged gradient of two mean losses
is the gradient of the mean over both), so the two runs must end with the same parameters.
Rank 0 also writes OUT/ranks.json: every rank's parameter checksum, gathered at the end.
"""

import json
from pathlib import Path

import torch
import torch.distributed as dist

from vawgan_tts import distributed
from vawgan_tts.batching import TensorBatches
from vawgan_tts.trainer import Stage, Trainer, TrainerConfig, seed_everything


class Regression:
    name = "regression"
    metric_names = ("loss",)

    def __init__(self):
        self.stages = (Stage("fit", 3),)
        self.net = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.Tanh(), torch.nn.Linear(16, 1))

    def modules(self):
        return {"net": self.net}

    def make_optimizers(self):
        return {"net": torch.optim.SGD(self.net.parameters(), lr=0.1)}

    def train_step(self, batch, stage, ctx):
        x, y = batch
        loss = torch.nn.functional.mse_loss(self.net(x), y)
        ctx.step("net", loss)
        return {"loss": loss.detach()}

    def config_dict(self):
        return {}

    def extra_state(self):
        return {}


def data(batch: int) -> TensorBatches:
    g = torch.Generator().manual_seed(1)
    x = torch.randn(512, 8, generator=g, dtype=torch.float64).float()
    y = (x[:, :1] * 2 - x[:, 1:2]).sin()
    return TensorBatches(x, y, batch_size=batch)


def main(out: Path, batch: int, stop_at: int | None = None, resume: bool = False) -> None:
    seed_everything(0)
    task = Regression()
    if stop_at is not None:
        step = task.train_step

        def interrupted(batch, stage, ctx):
            if ctx.step_index == stop_at:
                raise KeyboardInterrupt
            return step(batch, stage, ctx)

        task.train_step = interrupted
    trainer = Trainer(task, data(batch), out, TrainerConfig(batch_size=batch), progress=False)
    try:
        trainer.fit(resume=resume)
    except KeyboardInterrupt:
        distributed.leave()
        return
    flat = torch.cat([p.detach().reshape(-1) for p in task.net.parameters()]).double()
    if dist.is_initialized():
        sums = [torch.zeros(2, dtype=torch.float64) for _ in range(dist.get_world_size())]
        dist.all_gather(sums, torch.stack([flat.sum(), (flat**2).sum()]))
        if dist.get_rank() == 0:
            (out / "ranks.json").write_text(json.dumps([s.tolist() for s in sums]))
    distributed.leave()


if __name__ == "__main__":
    import argparse

    ap = argparse.ArgumentParser()
    ap.add_argument("out", type=Path)
    ap.add_argument("batch", type=int)
    ap.add_argument("--stop-at", type=int)
    ap.add_argument("--resume", action="store_true")
    a = ap.parse_args()
    main(a.out, a.batch, a.stop_at, a.resume)
