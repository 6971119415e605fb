"""A VAWGAN experiment folder: train it, load it back.

EXP/
  config.toml              the full effective configuration: [train], [vawgan], [data]
  stats.npz                mean/std of the training frames (c1..c39) the model is normalized with
  log.csv                  every training step
  checkpoints/{vae,critic,adv,last}.pt
  curves.png, critic.png   training curves
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Sequence

import torch

from . import distributed
from .checkpoint import load_checkpoint
from .config import from_dict, load_run_config, save_toml
from .data.frames import FrameBatches, frame_store
from .errors import VawganError
from .extract import read_manifest
from .features import FeatureStats, check_uniform_settings, load_features
from .tasks.vawgan import VAWGANConfig, VAWGANTask
from .trainer import LOG_CSV, Trainer, TrainerConfig, choose_device, read_log, seed_everything

CONFIG = "config.toml"
STATS = "stats.npz"


@dataclasses.dataclass(frozen=True)
class DataConfig:
    feats: str = ""  # extraction folder
    ids: tuple[str, ...] = ()  # training utterances; empty: every utterance of the manifest

    SECTION = "data"


@dataclasses.dataclass(frozen=True)
class ExperimentConfig:
    train: TrainerConfig = TrainerConfig()
    vawgan: VAWGANConfig = VAWGANConfig()
    data: DataConfig = DataConfig()


def load_experiment_config(path: str | Path | None, **overrides) -> ExperimentConfig:
    """Read ``[train]``, ``[vawgan]`` and ``[data]`` from a TOML file (or defaults), then apply
    ``overrides`` given as ``section__key=value`` (None means not given). The same file may hold
    an ``[extract]`` table for extraction."""
    return load_run_config(ExperimentConfig, path, ignore=("extract",), **overrides)


def _stats_tensors(stats: FeatureStats) -> dict[str, torch.Tensor]:
    return {"mean": torch.from_numpy(stats.mean), "std": torch.from_numpy(stats.std)}


def train_vawgan(
    exp_dir: str | Path,
    config: ExperimentConfig,
    stages: Sequence[str] | None = None,
    resume: bool = False,
    dry_run: bool = False,
    overwrite: bool = False,
    progress: bool = True,
    hooks: Sequence = (),
) -> Trainer:
    """Train (some stages of) VAWGAN on ``config.data``; writes the experiment folder.

    The frames come memory-mapped from the extraction folder's frame store (built on first use,
    by rank 0 under torchrun). ``hooks``: epoch hooks (see :mod:`.trainer`)."""
    exp_dir = Path(exp_dir)
    feats = Path(config.data.feats)
    ids = list(config.data.ids) or read_manifest(feats)
    check_uniform_settings(feats, ids)
    seed_everything(config.train.seed)
    distributed.init_from_env(choose_device(config.train.device).type)
    v = config.vawgan
    threshold = v.silence_threshold_db if v.drop_silence else None
    if distributed.is_main():
        store = frame_store(feats, ids, threshold)
    distributed.barrier()
    if not distributed.is_main():
        store = frame_store(feats, ids, threshold, build=False)
    continuing = resume or (stages is not None and list(stages)[0] != "vae")
    if continuing and (exp_dir / STATS).is_file():
        stats = FeatureStats.load(exp_dir / STATS)  # the normalization the earlier stages used
    else:
        stats = store.stats
    first = load_features(feats / f"{ids[0]}.npz")
    extra = {**_stats_tensors(stats), "fs": first.fs, "alpha": first.alpha, "frame_period": first.frame_period}
    task = VAWGANTask(config.vawgan, extra)
    batches = FrameBatches(store.open(), stats, batch_size=config.train.batch_size, shuffle=True)
    trainer = Trainer(task, batches, exp_dir, config.train, progress=progress, hooks=hooks)
    if not dry_run and distributed.is_main():
        exp_dir.mkdir(parents=True, exist_ok=True)
        stats.save(exp_dir / STATS)
        # The feature folder as an absolute path: `report`, `synth` run from anywhere find it.
        save_toml(exp_dir / CONFIG, {"train": config.train, "vawgan": config.vawgan,
                                     "data": dataclasses.replace(config.data, feats=str(feats.resolve()), ids=tuple(ids))})
    trainer.fit(stages, resume=resume, dry_run=dry_run, overwrite=overwrite)
    if not dry_run and distributed.is_main():
        plot_experiment_curves(exp_dir)
    return trainer


def experiment_feats(exp_dir: str | Path, config: ExperimentConfig) -> Path:
    """The feature folder an experiment was trained on, as recorded in its config.toml (absolute
    since this version; an older, relative one is taken from the current folder)."""
    feats = Path(config.data.feats)
    if not feats.is_dir():
        raise VawganError(Path(exp_dir) / CONFIG, f"the feature folder it names does not exist (tried {feats.resolve()}); "
                                                  "give the folder with --feats")
    return feats


def plot_experiment_curves(exp_dir: str | Path) -> list[Path]:
    from .plots import plot_critic_curves, plot_training_curves

    exp_dir = Path(exp_dir)
    log = read_log(exp_dir / LOG_CSV)
    return [plot_training_curves(log, exp_dir / "curves.png"), plot_critic_curves(log, exp_dir / "critic.png")]


def load_trained(exp_dir: str | Path, stage: str) -> tuple[VAWGANTask, FeatureStats, dict]:
    """The task as it was at the end of ``stage`` (its checkpoint), with its normalization."""
    path = Path(exp_dir) / "checkpoints" / f"{stage}.pt"
    ckpt = load_checkpoint(path, VAWGANTask.name)
    cfg = from_dict(VAWGANConfig, ckpt["config"], path)
    task = VAWGANTask(cfg, ckpt["extra"])
    for role, module in task.modules().items():
        module.load_state_dict(ckpt["model"][role])
        module.eval()
    extra = ckpt["extra"]
    stats = FeatureStats(mean=extra["mean"].numpy(), std=extra["std"].numpy(), count=0)
    return task, stats, extra
