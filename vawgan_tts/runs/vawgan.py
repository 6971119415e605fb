"""A VAWGAN experiment folder: train it, load it back.

EXP/
  config.toml              the full effective configuration: [train], [vawgan], [data]
  stats.npz                mean/std of the training frames (c1..c39) the model is normalized with
  log.csv                  every training step
  dev.json                 the dev set's losses after every epoch (when there is a dev set)
  checkpoints/{vae,critic,adv,last}.pt
  checkpoints/{vae,adv}_best.pt   the epoch of the stage with the lowest dev loss
  curves.png, critic.png   training curves
"""

from __future__ import annotations

import dataclasses
import functools
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from .. import distributed
from ..config import check_ranges, load_run_config
from ..data.frames import FrameBatches, denormalize, frame_store, load_frames, normalize
from ..errors import VawganError
from ..batching import SegmentBatches, consecutive_crops, edge_padded
from ..feature_folder import load_utterance, read_manifest, uniform_settings
from ..features import Features, FeatureStats, speech_mask
from ..tasks.vawgan import VAWGANConfig, VAWGANTask, vawgan_task
from ..trainer import LOG_CSV, Trainer, TrainerConfig, read_log, seed_everything
from ..outputs import claim_experiment
from .experiment import Trained, load_task
from .folder import BEST_SUFFIX, CONFIG, DEV_RECORD, NORMALIZATION, BestDev, check_segment, checkpoint_path, fit

BEST_STAGES = ("vae", "adv")  # the critic stage leaves the VAE as it is: its best is its last


@dataclasses.dataclass(frozen=True)
class DataConfig:
    feats: str = ""  # extraction folder
    ids: tuple[str, ...] = ()  # training utterances; empty: every utterance of the manifest
    dev_ids: tuple[str, ...] = ()  # dev utterances; empty: every 1/dev_share-th training one
    dev_share: float = 0.1  # held out of the training list when no dev list is given; 0: no dev set

    SECTION = "data"

    def __post_init__(self):
        check_ranges(self, dev_share="0..0.5")


def split_dev(ids: Sequence[str], data: DataConfig) -> tuple[list[str], list[str]]:
    """(training ids, dev ids): the dev list when given (and left out of training), else every
    k-th id of the sorted list, k = round(1 / dev_share) — none when that leaves no whole utterance."""
    if data.dev_ids:
        dev = set(data.dev_ids)
        return [u for u in ids if u not in dev], list(data.dev_ids)
    n_dev = int(len(ids) * data.dev_share)
    if n_dev == 0:
        return list(ids), []
    k = round(1 / data.dev_share)
    ordered = sorted(ids)
    dev = set(ordered[k - 1 :: k][:n_dev])
    return [u for u in ids if u not in dev], sorted(dev)


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
    claim_experiment(exp_dir, "vawgan", overwrite)
    feats = Path(config.data.feats)
    ids, dev_ids = split_dev(list(config.data.ids) or read_manifest(feats), config.data)
    settings = uniform_settings(feats, ids + dev_ids)
    seed_everything(config.train.seed)
    distributed.join(config.train.device)
    v = config.vawgan
    threshold = v.silence_threshold_db if v.drop_silence else None
    store = distributed.main_first(lambda build: frame_store(feats, ids, threshold, build=build))
    continuing = resume or (stages is not None and list(stages)[0] != "vae")
    if continuing and (exp_dir / NORMALIZATION).is_file():
        stats = FeatureStats.load(exp_dir / NORMALIZATION)  # the normalization the earlier stages used
    else:
        stats = store.stats
    extra = {**_stats_tensors(stats), **settings.as_extra()}
    task = vawgan_task(config.vawgan, extra)
    if v.arch == "conv":
        batches, dev = _crops(feats, ids, dev_ids, v, stats)
    else:
        batches = FrameBatches(store.open(), stats, batch_size=config.train.batch_size, shuffle=True)
        dev = torch.from_numpy(normalize(load_frames(feats, dev_ids, threshold), stats)) if dev_ids else None
    if dev is not None:
        hooks = [dev_monitor(exp_dir, dev, keep_old=resume), *hooks]
    trainer = Trainer(task, batches, exp_dir, config.train, progress=progress, hooks=hooks)
    # The feature folder as an absolute path: `report`, `synth` run from anywhere find it.
    tables = {"train": config.train, "vawgan": config.vawgan,
              "data": dataclasses.replace(config.data, feats=str(feats.resolve()), ids=tuple(ids), dev_ids=tuple(dev_ids))}
    return fit(trainer, exp_dir, tables, stages, resume=resume, dry_run=dry_run, overwrite=overwrite,
               before_fit=lambda: stats.save(exp_dir / NORMALIZATION), curves=lambda log: plot_experiment_curves(exp_dir, log))


def trajectories(feats: Path, ids: Sequence[str], v: VAWGANConfig, stats: FeatureStats,
                 training: bool = True) -> tuple[list[torch.Tensor], list[torch.Tensor], list[np.ndarray]]:
    """The conv arch's data: each utterance's normalized c1..c39 (T, 39), the mask of the frames its
    likelihood counts (T,) (the speech frames; every frame with ``drop_silence`` off) and its speech
    frames (T,) bool; an utterance shorter than the crop padded by repeating its last frame (the
    padding masked out, not speech). For ``training``, a crop longer than every utterance is refused
    in one line, naming the folder: crops of padding alone would train on nothing."""
    frames, masks, speech, longest = [], [], [], 0
    for u in ids:
        mc = load_utterance(feats, u).mcep
        longest = max(longest, len(mc))
        pad = np.zeros(max(0, v.segment - len(mc)), bool)
        is_speech = np.concatenate([speech_mask(mc[:, 0], v.silence_threshold_db), pad])
        frames.append(torch.from_numpy(edge_padded(normalize(mc[:, 1:], stats), v.segment)))
        masks.append(torch.from_numpy((is_speech if v.drop_silence else np.concatenate([np.ones(len(mc), bool), pad]))
                                      .astype(np.float32)))
        speech.append(is_speech)
    if training and ids:
        check_segment(v.segment, longest, feats, v.SECTION)
    return frames, masks, speech


def speech_crops(streams: list, v: VAWGANConfig, speech: Sequence[np.ndarray], free: list = (),
                 free_speech: Sequence[np.ndarray] | None = None) -> SegmentBatches:
    """Random crops of the paired ``streams`` (and of the ``free`` ones at places of their own); with
    ``v.crop_speech`` only where every frame is speech (``speech``, ``free_speech``: per utterance);
    with ``v.crop_per_utterance`` each utterance alike.
    Crops that cannot be cut are refused in one line."""
    within = dict(paired_within=speech, free_within=free_speech) if v.crop_speech else {}
    try:
        return SegmentBatches(streams, v.segment, v.segments_per_batch, free=free, per_utterance=v.crop_per_utterance,
                              **within)
    except ValueError as e:
        raise VawganError(None, f"[{v.SECTION}] segment = {v.segment}{', crop_speech = true' if v.crop_speech else ''}: {e}") from None


def _crops(feats: Path, ids: Sequence[str], dev_ids: Sequence[str], v: VAWGANConfig, stats: FeatureStats):
    """The conv arch's training batches (random crops, :class:`..batching.SegmentBatches`) and its dev
    utterances cut into consecutive crops (None without a dev set)."""
    frames, masks, speech = trajectories(feats, ids, v, stats)
    batches = speech_crops([frames, masks], v, speech)
    if not dev_ids:
        return batches, None
    frames, masks, _ = trajectories(feats, dev_ids, v, stats, training=False)
    return batches, (consecutive_crops(frames, v.segment), consecutive_crops(masks, v.segment))


def experiment_feats(exp_dir: str | Path, config: ExperimentConfig) -> Path:
    """The feature folder an experiment was trained on, as recorded in its config.toml (absolute
    since this version; an older, relative one is taken from the current folder)."""
    feats = Path(config.data.feats)
    if not feats.is_dir():
        raise VawganError(Path(exp_dir) / CONFIG, f"the feature folder it names does not exist (tried {feats.resolve()}); "
                                                  "give the folder with --feats")
    return feats


def plot_experiment_curves(exp_dir: str | Path, log: dict | None = None) -> list[Path]:
    """``curves.png`` (VAE and adversarial terms) and ``critic.png`` (D(x), D(G(z)), W, penalty)."""
    from ..plots import plot_critic_curves, plot_training_curves

    exp_dir = Path(exp_dir)
    log = log if log is not None else read_log(exp_dir / LOG_CSV)
    return [plot_training_curves(log, exp_dir / "curves.png"), plot_critic_curves(log, exp_dir / "critic.png")]


def dev_monitor(exp_dir: Path, dev, keep_old: bool) -> BestDev:
    """The dev hook of a VAWGAN run (and the post-filter's and VC's, the same steps): the dev batch's
    VAE loss (z = μ: NLL + KL at the configured weight) and the critic's Wasserstein estimate on it
    against its reconstructions, into ``EXP/dev.json``; in the VAE and adversarial stages
    ``checkpoints/<stage>_best.pt`` holds the epoch with the lowest dev loss. No noise is drawn, so
    training itself is unchanged by it. ``dev``: a batch as the task's training batches are (frames,
    or (input, target) pairs)."""
    return BestDev(Path(exp_dir) / DEV_RECORD, functools.partial(_vae_dev_figures, dev),
                   lambda stage: f"{stage}{BEST_SUFFIX}.pt" if stage in BEST_STAGES else None, keep_old)


@torch.no_grad()
def _vae_dev_figures(dev, trainer: Trainer) -> dict[str, float]:
    task = trainer.task
    for m in task.modules().values():
        m.eval()
    x, target = task.pair(_to(dev, trainer.device))
    mu, logvar = task.encode(x)
    y = task.generate(mu, x)
    nll, kl = task.nll(target, y), task.kl(mu, logvar)
    w = float(task.critic_score(target, x).mean() - task.critic_score(y, x).mean())
    return {"dev_nll": float(nll), "dev_kl": float(kl), "dev_loss": float(nll + task.config.kl_weight * kl),
            "dev_w_distance": w}


def _to(batch, device):
    """A batch (a tensor or a tuple of them) on ``device``."""
    return tuple(t.to(device) for t in batch) if isinstance(batch, (tuple, list)) else batch.to(device)


def load_trained(exp_dir: str | Path, stage: str, which: str = "last") -> Trained:
    """The task as it was at the end of ``stage`` (or at its best dev epoch), with its normalization."""
    return load_task(checkpoint_path(exp_dir, stage, which), VAWGANTask, VAWGANConfig,
                     make=lambda cfg, ckpt: vawgan_task(cfg, ckpt["extra"]))


class VAWGANEnhancer:
    """An enhancement VAWGAN applied to features (callable on :class:`Features`, as a
    ``synthesize_corpus`` transform): c1..c39 reconstructed through z = μ by the decoder after
    ``stage`` (vae, or adv: VAWGAN), at its last checkpoint or best dev epoch; c0, F0, V/UV and
    aperiodicity pass through."""

    def __init__(self, exp_dir: str | Path, stage: str, checkpoint: str = "last"):
        self.trained = load_trained(exp_dir, stage, checkpoint)
        self.task, self.stats, self.source = self.trained.task, self.trained.normalization, self.trained.path

    @torch.no_grad()
    def reconstruct(self, c: np.ndarray) -> np.ndarray:
        """(T, 39) c1..c39 -> (T, 39) through the VAE (z = μ)."""
        x = torch.from_numpy(normalize(c, self.stats))
        return denormalize(self.task.reconstruct_utterance(x).numpy(), self.stats)

    def __call__(self, feats: Features) -> Features:
        self.trained.check(feats)
        mc = feats.mcep.copy()
        mc[:, 1:] = self.reconstruct(mc[:, 1:])
        return feats.replace(mcep=mc)
