"""The 5×5 Gaussian-mixture WGAN study: ``gen toy``.

EXP/
  config.toml          [train] [toy] [data]
  log.csv              every step (critic loss, D(x), D(G(z)), W estimate, penalty, generator loss)
  checkpoints/         wgan.pt, last.pt
  snapshots/epoch_NNNN.png   generated samples over the modes on the critic's contour
  metrics.json         modes captured and high-quality share per snapshot; "final"
  curves.png
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import torch

from ..batching import TensorBatches
from ..data.toy import GRID, gaussian_grid, grid_modes, mode_metrics
from ..tasks.toy_wgan import ToyWGANConfig, ToyWGANTask
from ..trainer import Trainer, TrainerConfig, seed_everything
from .folder import METRICS, EpochRecord, is_last_epoch, fit


@dataclasses.dataclass(frozen=True)
class ToyDataConfig:
    n_per_mode: int = 4000
    std: float = 0.05
    data_seed: int = 0
    snapshot_every: int = 10  # epochs between snapshots (and the last epoch)
    n_eval: int = 10000  # generated samples per snapshot

    SECTION = "data"


@dataclasses.dataclass(frozen=True)
class ToyRun:
    train: TrainerConfig = TrainerConfig(batch_size=512)
    toy: ToyWGANConfig = ToyWGANConfig()
    data: ToyDataConfig = ToyDataConfig()


def evaluate_sampler(task: ToyWGANTask, n: int, std: float, device, seed: int = 1234) -> tuple[np.ndarray, dict]:
    """``n`` generated points (from a fixed noise seed, so snapshots are comparable) and their metrics."""
    g = torch.Generator().manual_seed(seed)
    z = torch.randn(n, task.config.z_dim, generator=g).to(device)
    task.generator.eval()
    with torch.no_grad():
        x = (task.generator(z) * task.config.scale).float().cpu().numpy()
    return x, mode_metrics(x, grid_modes(), std)


def critic_surface(task: ToyWGANTask, device, n: int = 121):
    lim = max(abs(v) for v in GRID) + 1.5
    xs = np.linspace(-lim, lim, n, dtype=np.float32)
    gx, gy = np.meshgrid(xs, xs)
    pts = torch.from_numpy(np.stack([gx.ravel(), gy.ravel()], 1)).to(device)
    task.critic.eval()
    with torch.no_grad():
        d = task.critic_score(pts).float().cpu().numpy().reshape(gx.shape)
    return gx, gy, d


class ToySnapshots:
    """Epoch hook: every ``snapshot_every`` epochs and after the last, a PNG and a metrics entry."""

    def __init__(self, exp_dir: Path, cfg: ToyRun, resume: bool):
        self.exp_dir, self.cfg = exp_dir, cfg
        self.record = EpochRecord(exp_dir / METRICS, keep_old=resume)

    def __call__(self, trainer: Trainer, stage: str, epoch: int) -> None:
        last = is_last_epoch(trainer, epoch)
        if (epoch + 1) % self.cfg.data.snapshot_every and not last:
            return
        from ..plots import toy_snapshot

        task = trainer.task
        x, m = evaluate_sampler(task, self.cfg.data.n_eval, self.cfg.data.std, trainer.device)
        gx, gy, d = critic_surface(task, trainer.device)
        title = (f"{task.config.critic} · epoch {epoch + 1} · {m['modes_captured']}/25 modes · "
                 f"{100 * m['high_quality_ratio']:.1f} % high quality")
        toy_snapshot(x, grid_modes(), gx, gy, d, self.exp_dir / "snapshots" / f"epoch_{epoch + 1:04d}.png", title)
        self.record.add({"epoch": epoch + 1, "step": trainer.position.step, **m}, final=last)


def train_toy(exp_dir: str | Path, cfg: ToyRun, resume: bool = False, dry_run: bool = False,
              overwrite: bool = False, progress: bool = True) -> Trainer:
    exp_dir = Path(exp_dir)
    seed_everything(cfg.train.seed)
    x, _ = gaussian_grid(cfg.data.n_per_mode, cfg.data.std, cfg.data.data_seed)
    task = ToyWGANTask(cfg.toy)
    batches = TensorBatches(torch.from_numpy(x), batch_size=cfg.train.batch_size, drop_last=True)
    hooks = [] if dry_run else [ToySnapshots(exp_dir, cfg, resume)]
    trainer = Trainer(task, batches, exp_dir, cfg.train, progress=progress, hooks=hooks)
    from ..plots import plot_curves

    panels = [("critic", ("d_real", "d_fake", "w_distance")), ("generator", ("g_loss",)), ("penalty", ("gp",))]
    return fit(trainer, exp_dir, cfg, resume=resume, dry_run=dry_run, overwrite=overwrite,
               curves=lambda log: plot_curves(log, panels, exp_dir / "curves.png"))
