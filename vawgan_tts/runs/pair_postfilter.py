"""A post-filter that learns what one system loses: a VAWGAN trained on pairs of (that system's
output, the natural recording of the same prompt), and the classical post-filters with that
system's own statistics. Its experiment folder, training, and applying it.

The pairs: each training prompt's system output is aligned with the natural recording by DTW of
their speech frames (:mod:`.alignment`); every system frame that DTW paired learns the natural
trajectory at its time (:func:`.alignment.source_time_map`), so a system with its own timing (TTS,
conversion) can be used as it is. Frames on both sides are normalized with the natural frames'
mean and standard deviation. The task is :mod:`.tasks.vawgan_postfilter` (VAWGAN's three stages).

EXP/
  config.toml              [train], [postfilter], [data] (feature folders absolute), [extract]: the
                           analysis settings of the system's features (so WAVs are analysed alike)
  align.npz                the frame pairs (training and dev prompts)
  stats.npz                mean/std of the natural training frames (c1..c39): the normalization
  log.csv, dev.json, checkpoints/{vae,critic,adv}.pt, checkpoints/{vae,adv}_best.pt, curves.png, critic.png
  postfilter_stats.npz     natural GV (mean utterance GV of speech frames) and MS, the system's MS:
                           over the training prompts, for the GV and MS post-filters
  adv-w<w>/                the critic and adversarial stages again from the same VAE at weight w
"""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch

from ..alignment import DEFAULT_BAND, align_corpus, save_alignments, source_time_map
from ..batching import TensorBatches
from ..checkpoint import load_checkpoint
from ..choices import PAIR_POSTFILTER_METHODS
from ..config import check_ranges, from_dict, load_run_config, load_toml
from ..errors import VawganError
from ..extract import ExtractConfig
from ..feature_folder import analysis_settings, paired_prompts
from ..features import Features, FeatureStats, load_features
from ..fileio import atomic_path
from ..postfilters import StatisticalPostfilter, natural_and_system_stats
from ..tasks.vawgan_postfilter import VAWGANPostfilterConfig, VAWGANPostfilterTask
from ..trainer import Trainer, TrainerConfig, seed_everything
from .converter import context_windows
from .folder import CONFIG, checkpoint_path, fit, refuse_existing
from .vawgan import DevMonitor, plot_experiment_curves
ALIGN = "align.npz"
STATS = "stats.npz"
PF_STATS = "postfilter_stats.npz"


@dataclasses.dataclass(frozen=True)
class PairDataConfig:
    system: str = ""  # feature folder of the system's output on the prompts
    natural: str = ""  # feature folder of the natural recordings of the same prompts
    ids: tuple[str, ...] = ()  # training prompts
    dev_ids: tuple[str, ...] = ()  # prompts for the dev loss per epoch and the best checkpoints
    band: float = DEFAULT_BAND  # DTW band, share of the longer utterance

    SECTION = "data"

    def __post_init__(self):
        check_ranges(self, band="0..1")


@dataclasses.dataclass(frozen=True)
class PairPostfilterConfig:
    train: TrainerConfig = TrainerConfig(batch_size=256)
    postfilter: VAWGANPostfilterConfig = VAWGANPostfilterConfig()
    data: PairDataConfig = PairDataConfig()


def load_pair_postfilter_config(path: str | Path | None, **overrides) -> PairPostfilterConfig:
    """``[train]``, ``[postfilter]``, ``[data]`` of a TOML file (or defaults) with ``section__key``
    overrides; an ``[extract]`` table may be there."""
    return load_run_config(PairPostfilterConfig, path, ignore=("extract",), **overrides)


def is_pair_postfilter(exp_dir: str | Path) -> bool:
    """Whether ``exp_dir`` holds a pair-trained post-filter (its config has a ``[postfilter]`` table)."""
    path = Path(exp_dir) / CONFIG
    return path.is_file() and "postfilter" in load_toml(path)


# --------------------------------------------------------------------------------- training


def _pairs(system: Path, natural: Path, aligned: dict[str, np.ndarray], utts: Sequence[str],
           context: int) -> tuple[np.ndarray, np.ndarray]:
    """Encoder inputs (N, (2k+1)·39: the system's frames t-k..t+k) and natural targets (N, 39) of
    ``utts``, unnormalized (float64)."""
    xs, ys = [], []
    for u in utts:
        c_sys = load_features(system / f"{u}.npz").mcep[:, 1:].astype(np.float64)
        c_nat = load_features(natural / f"{u}.npz").mcep[:, 1:].astype(np.float64)
        pairs = aligned[u]
        rows = np.unique(pairs[:, 0])
        xs.append(context_windows(c_sys, context)[rows])
        ys.append(c_nat[source_time_map(pairs, len(c_sys))][rows])
    return np.concatenate(xs), np.concatenate(ys)


def _normalized(x: np.ndarray, y: np.ndarray, stats: FeatureStats) -> tuple[np.ndarray, np.ndarray]:
    """Both sides with the natural frames' mean and std (the input's every frame of its context)."""
    width = x.shape[1] // len(stats.mean)
    x = (x - np.tile(stats.mean, width)) / np.tile(stats.std, width)
    return x.astype(np.float32), ((y - stats.mean) / stats.std).astype(np.float32)


def train_pair_postfilter(exp_dir: str | Path, config: PairPostfilterConfig, jobs: int = 1, overwrite: bool = False,
                          progress: bool = True, say: Callable[[str], None] = lambda _: None) -> dict:
    """Align, then train the VAWGAN post-filter's three stages on the pairs; writes EXP (above).
    A prompt with features missing on a side, or that DTW cannot align, is named through ``say`` and
    left out. Returns ``{"aligned", "failed", "train_frames", "dev_frames"}``."""
    exp_dir = Path(exp_dir)
    data = config.data
    refuse_existing(exp_dir, "post-filter", overwrite)
    system, natural = Path(data.system), Path(data.natural)
    ids, dev_ids, settings = paired_prompts(system, natural, data.ids, data.dev_ids, say, ("system", "natural"))
    aligned, failed = align_corpus(system, natural, ids + dev_ids, data.band, jobs=jobs)
    for utt, reason in sorted(failed.items()):
        say(f"left out {utt}: {reason}")
    ids, dev_ids = [u for u in ids if u in aligned], [u for u in dev_ids if u in aligned]
    if not ids:
        raise VawganError(system, "no training prompt could be aligned")
    seed_everything(config.train.seed)
    cfg = config.postfilter
    x, y = _pairs(system, natural, aligned, ids, cfg.context)
    stats = FeatureStats.from_frames(y)
    x, y = _normalized(x, y, stats)
    extra = {"mean": torch.from_numpy(stats.mean), "std": torch.from_numpy(stats.std), "fs": settings[0],
             "alpha": settings[1], "frame_period": settings[2]}
    task = VAWGANPostfilterTask(cfg, extra)
    hooks = []
    if dev_ids:
        dev = _normalized(*_pairs(system, natural, aligned, dev_ids, cfg.context), stats)
        hooks.append(DevMonitor(exp_dir, tuple(torch.from_numpy(a) for a in dev), keep_old=False))
    tables = {"train": config.train, "postfilter": cfg, "extract": analysis_settings(system) or ExtractConfig(fs=settings[0]),
              "data": dataclasses.replace(data, system=str(system.resolve()), natural=str(natural.resolve()),
                                          ids=tuple(ids), dev_ids=tuple(dev_ids))}

    def write_data():
        save_alignments(exp_dir / ALIGN, aligned)
        stats.save(exp_dir / STATS)
        (exp_dir / PF_STATS).unlink(missing_ok=True)  # an earlier run's statistics are stale

    batches = TensorBatches(torch.from_numpy(x), torch.from_numpy(y), batch_size=config.train.batch_size)
    fit(Trainer(task, batches, exp_dir, config.train, progress=progress, hooks=hooks), exp_dir, tables, overwrite=True,
        before_fit=write_data, curves=lambda log: plot_experiment_curves(exp_dir, log))
    postfilter_stats(exp_dir)
    return {"aligned": len(aligned), "failed": len(failed), "train_frames": len(x),
            "dev_frames": len(hooks[0].dev[0]) if hooks else 0}


def adversarial_dir(exp_dir: str | Path, adv_weight: float) -> Path:
    return Path(exp_dir) / f"adv-w{adv_weight:g}"


def train_adversarial_weight(exp_dir: str | Path, adv_weight: float, progress: bool = True) -> Path:
    """The critic and adversarial stages again, from the experiment's own VAE stage, with the
    adversarial weight ``adv_weight``: ``EXP/adv-w<w>/`` (a point of the GV / MCD trade-off)."""
    exp_dir = Path(exp_dir)
    config = load_pair_postfilter_config(exp_dir / CONFIG)
    cfg = dataclasses.replace(config.postfilter, adv_weight=adv_weight)
    vae = checkpoint_path(exp_dir, "vae")
    if not vae.is_file():
        raise VawganError(vae, "no VAE stage to start from: train the post-filter first")
    out = adversarial_dir(exp_dir, adv_weight)
    (out / "checkpoints").mkdir(parents=True, exist_ok=True)
    shutil.copyfile(vae, out / "checkpoints" / vae.name)
    data = config.data
    stats = FeatureStats.load(exp_dir / STATS)
    from ..alignment import load_alignments

    aligned = load_alignments(exp_dir / ALIGN)
    x, y = _normalized(*_pairs(Path(data.system), Path(data.natural), aligned, [u for u in data.ids if u in aligned],
                               cfg.context), stats)
    seed_everything(config.train.seed)
    ckpt = load_checkpoint(vae, VAWGANPostfilterTask.name)
    task = VAWGANPostfilterTask(cfg, ckpt["extra"])
    batches = TensorBatches(torch.from_numpy(x), torch.from_numpy(y), batch_size=config.train.batch_size)
    fit(Trainer(task, batches, out, config.train, progress=progress), out, {"train": config.train, "postfilter": cfg},
        ["critic", "adv"], overwrite=True, curves=lambda log: plot_experiment_curves(out, log))
    return out


# ------------------------------------------------------------------------------- applying it


def postfilter_stats(exp_dir: str | Path) -> dict[str, np.ndarray]:
    """Over the training prompts: the natural GV (mean of the utterances' GVs over speech frames) and
    MS, and the MS of the system's output; computed once, cached in ``EXP/postfilter_stats.npz``."""
    exp_dir = Path(exp_dir)
    cache = exp_dir / PF_STATS
    if cache.is_file():
        with np.load(cache) as z:
            return {k: z[k] for k in z.files}
    data = load_pair_postfilter_config(exp_dir / CONFIG).data
    stats = natural_and_system_stats(Path(data.natural), Path(data.system), data.ids)
    with atomic_path(cache) as tmp, open(tmp, "wb") as f:
        np.savez(f, **stats)
    return stats


class PairPostfilter:
    """A trained pair post-filter applied to the system's features (callable on :class:`Features`).

    ``method``: ``vawgan`` (the decoder after the adversarial stage; of ``EXP/adv-w<w>/`` with
    ``adv_weight``), ``vae`` (after the VAE stage), ``gv-pf`` / ``ms-pf`` (the classical post-filters
    with the natural GV and MS and the system's MS of the training prompts). c0, F0, V/UV and
    aperiodicity pass through."""

    def __init__(self, exp_dir: str | Path, method: str = "vawgan", checkpoint: str = "last",
                 adv_weight: float | None = None):
        exp_dir = Path(exp_dir)
        if method not in PAIR_POSTFILTER_METHODS:
            raise VawganError(None, f"method {method!r}: choose from {', '.join(PAIR_POSTFILTER_METHODS)}")
        if not is_pair_postfilter(exp_dir):
            raise VawganError(exp_dir, "not a pair post-filter (no config.toml with [postfilter]): train one with "
                                       "`vawgan train-postfilter`")
        self.method = method
        model_dir = exp_dir if adv_weight is None or method != "vawgan" else adversarial_dir(exp_dir, adv_weight)
        path = checkpoint_path(model_dir, "adv" if method == "vawgan" else "vae", checkpoint)
        if not path.is_file():
            raise VawganError(path, "no such checkpoint: the post-filter's training did not reach this stage")
        ckpt = load_checkpoint(path, VAWGANPostfilterTask.name)
        self.task = VAWGANPostfilterTask(from_dict(VAWGANPostfilterConfig, ckpt["config"], path), ckpt["extra"])
        for role, module in self.task.modules().items():
            module.load_state_dict(ckpt["model"][role])
            module.eval()
        e = ckpt["extra"]
        self.source, self.settings = path, (int(e["fs"]), float(e["alpha"]), float(e["frame_period"]))
        self.mean, self.std = e["mean"].numpy(), e["std"].numpy()
        self.statistical = StatisticalPostfilter(method, postfilter_stats(exp_dir), exp_dir) \
            if method in ("gv-pf", "ms-pf") else None

    def check(self, feats: Features) -> None:
        fs, alpha, fp = self.settings
        if feats.fs != fs or abs(feats.alpha - alpha) > 1e-6 or feats.frame_period != fp:
            raise VawganError(None, f"features at {feats.fs} Hz, α {feats.alpha:.3f}, {feats.frame_period:g} ms; the "
                                    f"post-filter {self.source.parent.parent} was trained at {fs} Hz, α {alpha:.3f}, {fp:g} ms")

    @torch.no_grad()
    def c(self, c: np.ndarray, c0: np.ndarray) -> np.ndarray:
        """(T, 39) system c1..c39 (and its (T,) c0, for the speech frames) -> (T, 39) post-filtered."""
        if self.statistical is not None:
            return self.statistical(c, c0)
        x = context_windows((np.asarray(c, np.float64) - self.mean) / self.std, self.task.config.context)
        y = self.task.reconstruct(torch.from_numpy(x.astype(np.float32))).numpy()
        return (y * self.std + self.mean).astype(np.float32)

    def __call__(self, feats: Features) -> Features:
        self.check(feats)
        mc = feats.mcep.copy()
        mc[:, 1:] = self.c(mc[:, 1:], mc[:, 0])
        return feats.replace(mcep=mc)

