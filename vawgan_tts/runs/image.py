"""Image VAE, GAN and WGAN runs: ``gen image vae|gan|wgan``.

EXP/
  config.toml              [train] [image_vae] or [image_gan], [data]
  log.csv, checkpoints/    the trainer's
  samples/epoch_NNNN.png   decoded prior samples (VAE) or generator samples (GAN), fixed noise
  recon/epoch_NNNN.png     VAE: test images (upper rows) and their reconstructions (lower rows)
  metrics.json             VAE: test-set loss per epoch in nats per image and per pixel; "final"
  latent_map.png, manifold.png   VAE with latent 2: test encodings by class; decoded latent grid
  curves.png
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import torch

from ..batching import TensorBatches
from ..data.images import ImageSet, load_image_set
from ..errors import VawganError
from ..tasks.image_gan import ImageGANConfig, ImageGANTask
from ..tasks.image_vae import ImageVAEConfig, ImageVAETask, to_unit
from ..trainer import Trainer, TrainerConfig, seed_everything
from .folder import METRICS, EpochRecord, is_last_epoch, fit

FIXED_NOISE_SEED = 4321


@dataclasses.dataclass(frozen=True)
class ImageDataConfig:
    dataset: str = "fashion-mnist"  # fashion-mnist | mnist | digits
    data_dir: str = ""  # folder of idx files; empty: the usual places (see data/images.py)
    limit: int = 0  # use the first N training images only; 0: all
    test_limit: int = 0  # evaluate on the first N test images only; 0: all

    SECTION = "data"


@dataclasses.dataclass(frozen=True)
class ImageVAERun:
    train: TrainerConfig = TrainerConfig()
    image_vae: ImageVAEConfig = ImageVAEConfig()
    data: ImageDataConfig = ImageDataConfig()


@dataclasses.dataclass(frozen=True)
class ImageGANRun:
    train: TrainerConfig = TrainerConfig(batch_size=64)
    image_gan: ImageGANConfig = ImageGANConfig()
    data: ImageDataConfig = ImageDataConfig()


def load_split(data: ImageDataConfig, split: str) -> ImageSet:
    s = load_image_set(data.dataset, split, data.data_dir or None)
    limit = data.limit if split == "train" else data.test_limit
    if limit:
        s = dataclasses.replace(s, images=s.images[:limit], labels=s.labels[:limit])
    if len(s.images) == 0:
        raise VawganError(None, f"{data.dataset} {split}: no images")
    return s


def _fixed_noise(n: int, dim: int, device) -> torch.Tensor:
    return torch.randn(n, dim, generator=torch.Generator().manual_seed(FIXED_NOISE_SEED)).to(device)


@torch.no_grad()
def vae_test_metrics(task: ImageVAETask, images: np.ndarray, device, batch: int = 1000) -> dict[str, float]:
    """Mean test-set loss terms per image (one posterior sample each, fixed seed)."""
    task.vae.eval()
    state = torch.get_rng_state()
    torch.manual_seed(FIXED_NOISE_SEED)
    sums: dict[str, float] = {}
    for i in range(0, len(images), batch):
        x = to_unit(torch.from_numpy(images[i:i + batch]).to(device))
        for k, v in task.losses(x).items():
            sums[k] = sums.get(k, 0.0) + float(v) * len(x)
    torch.set_rng_state(state)
    return {k: v / len(images) for k, v in sums.items()}


@torch.no_grad()
def encode_means(task: ImageVAETask, images: np.ndarray, device, batch: int = 1000) -> np.ndarray:
    task.vae.eval()
    out = [task.vae.encode(to_unit(torch.from_numpy(images[i:i + batch]).to(device)))[0].float().cpu().numpy()
           for i in range(0, len(images), batch)]
    return np.concatenate(out)


@torch.no_grad()
def decode_grid(task: ImageVAETask, device, n: int = 20, lim: float = 1.645) -> np.ndarray:
    """Decoded images over an n×n grid of the 2-D latent space, at Gaussian quantiles 5 % … 95 %."""
    from statistics import NormalDist

    q = np.array([NormalDist().inv_cdf(p) for p in np.linspace(0.05, 0.95, n)], dtype=np.float32)
    zz = np.array([(a, b) for b in q[::-1] for a in q], dtype=np.float32)
    task.vae.eval()
    return torch.sigmoid(task.vae.decode(torch.from_numpy(zz).to(device))).float().cpu().numpy()


class VAEEpochOutputs:
    """Epoch hook: test-set loss, reconstruction and sample grids, the latent map for latent 2."""

    def __init__(self, exp_dir: Path, test: ImageSet, resume: bool):
        self.exp_dir, self.test = exp_dir, test
        self.record = EpochRecord(exp_dir / METRICS, keep_old=resume)

    def __call__(self, trainer: Trainer, stage: str, epoch: int) -> None:
        from ..plots import image_grid, latent_scatter

        task: ImageVAETask = trainer.task
        dev, tag = trainer.device, f"epoch_{epoch + 1:04d}.png"
        m = vae_test_metrics(task, self.test.images, dev)
        self.record.add({"epoch": epoch + 1, "step": trainer.position.step,
                         **{f"test_{k}": round(v, 4) for k, v in m.items()}}, final=is_last_epoch(trainer, epoch))
        with torch.no_grad():
            x = to_unit(torch.from_numpy(self.test.images[:32]).to(dev))
            rec = torch.sigmoid(task.vae.decode(task.vae.encode(x)[0])).cpu().numpy()
            samples = torch.sigmoid(task.vae.decode(_fixed_noise(64, task.config.latent, dev))).cpu().numpy()
        image_grid(np.concatenate([x.cpu().numpy(), rec]), self.exp_dir / "recon" / tag, nrow=16,
                   title=f"epoch {epoch + 1}: test images (top) and reconstructions (bottom)")
        image_grid(samples, self.exp_dir / "samples" / tag, nrow=8, title=f"epoch {epoch + 1}: samples from the prior")
        if task.config.latent == 2:
            z = encode_means(task, self.test.images, dev)
            latent_scatter(z, self.test.labels, self.test.classes, self.exp_dir / "latent_map.png")
            image_grid(decode_grid(task, dev), self.exp_dir / "manifold.png", nrow=20,
                       title="decoded latent grid (Gaussian quantiles 5–95 %)")


class GANEpochOutputs:
    """Epoch hook: a 5×5 grid of generator samples from fixed noise."""

    def __init__(self, exp_dir: Path):
        self.exp_dir = exp_dir

    def __call__(self, trainer: Trainer, stage: str, epoch: int) -> None:
        from ..plots import image_grid

        task: ImageGANTask = trainer.task
        task.generator.eval()
        with torch.no_grad():
            x = task.generator(_fixed_noise(25, task.config.z_dim, trainer.device)).float().cpu().numpy()
        image_grid((x + 1) / 2, self.exp_dir / "samples" / f"epoch_{epoch + 1:04d}.png", nrow=5,
                   title=f"{stage} · epoch {epoch + 1}")


def _fit(exp_dir: Path, cfg, task, train: ImageSet, hooks, resume, dry_run, overwrite, progress, panels,
         extra_curves=None) -> Trainer:
    from ..plots import plot_curves

    batches = TensorBatches(torch.from_numpy(train.images), batch_size=cfg.train.batch_size,
                            drop_last=len(train.images) > cfg.train.batch_size)
    trainer = Trainer(task, batches, exp_dir, cfg.train, progress=progress, hooks=[] if dry_run else hooks)
    return fit(trainer, exp_dir, cfg, resume=resume, dry_run=dry_run, overwrite=overwrite,
               curves=lambda log: plot_curves(log, panels, exp_dir / "curves.png", extra_curves() if extra_curves else None))


def train_image_vae(exp_dir: str | Path, cfg: ImageVAERun, resume: bool = False, dry_run: bool = False,
                    overwrite: bool = False, progress: bool = True) -> Trainer:
    exp_dir = Path(exp_dir)
    seed_everything(cfg.train.seed)
    train, test = load_split(cfg.data, "train"), load_split(cfg.data, "test")
    task = ImageVAETask(cfg.image_vae, train.shape, {"dataset": train.name, "classes": list(train.classes)})
    hook = VAEEpochOutputs(exp_dir, test, resume)

    def test_curve():
        rows = (hook.record.data or {}).get("epochs", [])
        return {"test loss per pixel": (np.array([r["step"] for r in rows]),
                                        np.array([r["test_loss_per_pixel"] for r in rows]))}

    return _fit(exp_dir, cfg, task, train, [hook], resume, dry_run, overwrite, progress,
                [("loss per pixel (nats)", ("loss_per_pixel",)), ("terms per image (nats)", ("rec", "kl"))],
                test_curve)


def train_image_gan(exp_dir: str | Path, cfg: ImageGANRun, resume: bool = False, dry_run: bool = False,
                    overwrite: bool = False, progress: bool = True) -> Trainer:
    exp_dir = Path(exp_dir)
    seed_everything(cfg.train.seed)
    train = load_split(cfg.data, "train")
    task = ImageGANTask(cfg.image_gan, train.shape, {"dataset": train.name})
    if cfg.image_gan.loss == "gan":
        panels = [("losses", ("d_loss", "g_loss")), ("D output (probability)", ("d_real", "d_fake"))]
    else:
        panels = [("critic", ("d_real", "d_fake", "w_distance")), ("generator", ("g_loss",)), ("penalty", ("gp",))]
    return _fit(exp_dir, cfg, task, train, [GANEpochOutputs(exp_dir)], resume, dry_run, overwrite, progress, panels)
