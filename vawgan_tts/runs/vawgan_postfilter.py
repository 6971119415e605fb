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

from ..alignment import DEFAULT_BAND, align_corpus, load_alignments, progress_lines, save_alignments, source_time_map
from ..batching import SegmentBatches, TensorBatches, consecutive_crops, edge_padded
from ..checkpoint import load_checkpoint
from ..choices import PAIR_POSTFILTER_METHODS
from ..config import check_ranges, load_run_config
from ..errors import VawganError
from ..feature_folder import ExtractConfig, analysis_settings, load_utterance, paired_prompts, uniform_settings
from ..features import Features, FeatureStats, speech_mask
from ..postfilters import StatisticalPostfilter, natural_and_system_stats
from ..tasks.vawgan_postfilter import (ConvPostfilterTask, VAWGANPostfilterConfig, VAWGANPostfilterTask,
                                      postfilter_task)
from ..trainer import Trainer, TrainerConfig, seed_everything
from .converter import context_windows
from ..outputs import claim_experiment
from .experiment import adversarial_dir, cached_arrays, load_task, require_kind
from .folder import ALIGNMENT, CONFIG, NORMALIZATION, POSTFILTER_STATS, check_segment, checkpoint_path, fit, refuse_existing, resumed_config
from .vawgan import dev_monitor, plot_experiment_curves, speech_crops


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


# --------------------------------------------------------------------------------- training


def _sides(system: Path, natural: Path, utt: str, pairs: np.ndarray
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """One prompt's system c1..c39 (T, 39), the natural ones as spoken (T', 39), the natural
    trajectory on the system's time axis (T, 39), float64, and the natural recording's speech frames (T',)."""
    c_sys = load_utterance(system, utt).mcep[:, 1:].astype(np.float64)
    nat = load_utterance(natural, utt).mcep
    c_nat = nat[:, 1:].astype(np.float64)
    return c_sys, c_nat, c_nat[source_time_map(pairs, len(c_sys))], speech_mask(nat[:, 0])


def _pairs(system: Path, natural: Path, aligned: dict[str, np.ndarray], utts: Sequence[str],
           context: int) -> tuple[np.ndarray, np.ndarray]:
    """Encoder inputs (N, (2k+1)·39: the system's frames t-k..t+k) and natural targets (N, 39) of
    ``utts``, unnormalized (float64)."""
    xs, ys = [], []
    for u in utts:
        c_sys, _, target, _ = _sides(system, natural, u, aligned[u])
        rows = np.unique(aligned[u][:, 0])
        xs.append(context_windows(c_sys, context)[rows])
        ys.append(target[rows])
    return np.concatenate(xs), np.concatenate(ys)


def _normalized(x: np.ndarray, y: np.ndarray, stats: FeatureStats) -> tuple[np.ndarray, np.ndarray]:
    """Both sides with the natural frames' mean and std (the input's every frame of its context)."""
    width = x.shape[1] // len(stats.mean)
    x = (x - np.tile(stats.mean, width)) / np.tile(stats.std, width)
    return x.astype(np.float32), ((y - stats.mean) / stats.std).astype(np.float32)


def _trajectories(system: Path, natural: Path, aligned: dict[str, np.ndarray], utts: Sequence[str],
                  length: int, training: bool = True, pad_natural: bool = False) -> tuple[list[np.ndarray], ...]:
    """The conv arch's data per utterance, unnormalized (float64): the system's trajectory (T, 39),
    the natural trajectory on its time axis (T, 39), the mask of the frames DTW paired (T,), and the
    natural recording as spoken (T', 39) with its speech frames (T',). An utterance shorter than
    ``length`` is padded by repeating its last frame, the padding masked out. Natural recordings that
    short are left out of the critic's, or with ``pad_natural`` (for a critic that reads speech frames
    only, which the padding is not) padded likewise. For ``training``, a crop longer than every system
    output or every natural recording is refused."""
    sys_c, tgt_c, masks, nat_c, nat_speech = [], [], [], [], []
    longest = {system: 0, natural: 0}
    for u in utts:
        c_sys, c_nat, target, speech = _sides(system, natural, u, aligned[u])
        longest[system], longest[natural] = max(longest[system], len(c_sys)), max(longest[natural], len(c_nat))
        mask = np.zeros(len(c_sys))
        mask[np.unique(aligned[u][:, 0])] = 1.0
        sys_c.append(edge_padded(c_sys, length))
        tgt_c.append(edge_padded(target, length))
        masks.append(np.concatenate([mask, np.zeros(max(0, length - len(c_sys)))]))
        if len(c_nat) >= length or pad_natural:
            nat_c.append(edge_padded(c_nat, length))
            nat_speech.append(np.concatenate([speech, np.zeros(max(0, length - len(c_nat)), bool)]))
    if training and utts:
        for folder, n in longest.items():
            check_segment(length, n, folder, VAWGANPostfilterConfig.SECTION)
    return sys_c, tgt_c, masks, nat_c, nat_speech


def _normalized_trajectories(data: tuple[list[np.ndarray], ...], stats: FeatureStats) -> tuple[list[torch.Tensor], ...]:
    """:func:`_trajectories`' lists as float32 tensors, the frames normalized with the natural mean/std
    (the masks 0 or 1)."""
    norm = lambda c: torch.from_numpy(((c - stats.mean) / stats.std).astype(np.float32))  # noqa: E731
    as_float = lambda m: torch.from_numpy(m.astype(np.float32))  # noqa: E731
    sys_c, tgt_c, masks, nat_c, nat_speech = data
    return ([norm(c) for c in sys_c], [norm(c) for c in tgt_c], [as_float(m) for m in masks],
            [norm(c) for c in nat_c], [as_float(m) for m in nat_speech])


def _segment_batches(data: tuple[list[torch.Tensor], ...], cfg: VAWGANPostfilterConfig) -> SegmentBatches:
    """Random crops (streams as :class:`..tasks.vawgan_postfilter.Segments`' fields); with
    ``crop_speech``, the system's only where DTW paired every frame (its speech) and the natural
    recordings' only over speech frames."""
    sys_c, tgt_c, masks, nat_c, nat_speech = data
    return speech_crops([sys_c, tgt_c, masks], cfg, [m.numpy() > 0 for m in masks],
                        free=[nat_c, nat_speech], free_speech=[m.numpy() > 0 for m in nat_speech])


def _dev_segments(data: tuple[list[torch.Tensor], ...], length: int) -> tuple[torch.Tensor, ...]:
    """The dev prompts as one fixed batch: each cut into consecutive crops of ``length`` frames (the
    last one ending at the utterance's end), natural crops and their speech frames likewise, as many
    as there are system crops."""
    sys_c, tgt_c, masks, nat_c, nat_speech = data
    system, target, mask = (consecutive_crops(s, length) for s in (sys_c, tgt_c, masks))
    pick = torch.arange(len(system))
    nat = consecutive_crops(nat_c, length)
    speech = consecutive_crops(nat_speech, length)
    return system, target, mask, nat[pick % len(nat)], speech[pick % len(nat)]


def _batches_and_dev(cfg: VAWGANPostfilterConfig, system: Path, natural: Path, aligned: dict[str, np.ndarray],
                     ids: Sequence[str], dev_ids: Sequence[str], stats: FeatureStats | None, batch_size: int):
    """The training batches of ``cfg.arch``, the dev prompts as one batch of the same kind (None
    without them), and the normalization: ``stats``, or when None the mean/std of the natural
    frames paired with the training prompts' frames (each prompt read once)."""
    if cfg.arch == "conv":
        train = _trajectories(system, natural, aligned, ids, cfg.segment, pad_natural=cfg.critic_speech_only)
        stats = stats or FeatureStats.from_frames(np.concatenate([t[m > 0] for t, m in zip(train[1], train[2])]))
        batches = _segment_batches(_normalized_trajectories(train, stats), cfg)
        dev = _dev_segments(_normalized_trajectories(_trajectories(system, natural, aligned, dev_ids, cfg.segment,
                                                                   training=False, pad_natural=cfg.critic_speech_only),
                                                     stats),
                            cfg.segment) if dev_ids else None
        return batches, dev, stats
    x, y = _pairs(system, natural, aligned, ids, cfg.context)
    stats = stats or FeatureStats.from_frames(y)
    x, y = _normalized(x, y, stats)
    batches = TensorBatches(torch.from_numpy(x), torch.from_numpy(y), batch_size=batch_size)
    dev = tuple(torch.from_numpy(a) for a in _normalized(*_pairs(system, natural, aligned, dev_ids, cfg.context), stats)) \
        if dev_ids else None
    return batches, dev, stats


def train_pair_postfilter(exp_dir: str | Path, config: PairPostfilterConfig, jobs: int = 1, overwrite: bool = False,
                          progress: bool = True, say: Callable[[str], None] = lambda _: None, resume: bool = False) -> dict:
    """Align, then train the VAWGAN post-filter's three stages on the pairs; writes EXP (above).
    A prompt with features missing on a side, or that DTW cannot align, is named through ``say`` and
    left out. ``resume``: continue an interrupted training from ``checkpoints/last.pt`` with the
    experiment's own configuration, alignment and normalization (the same inputs must be given).
    Returns ``{"aligned", "failed", "train_frames", "dev_frames"}``."""
    exp_dir = Path(exp_dir)
    if resume:
        require_kind(exp_dir, "postfilter")
        config = resumed_config(exp_dir, load_pair_postfilter_config(exp_dir / CONFIG), config, ("system", "natural"))
        data = config.data
        system, natural = Path(data.system), Path(data.natural)
        ids, dev_ids = list(data.ids), list(data.dev_ids)
        settings = uniform_settings(system, ids + dev_ids)
        aligned, failed, stats = load_alignments(exp_dir / ALIGNMENT), {}, FeatureStats.load(exp_dir / NORMALIZATION)
    else:
        data = config.data
        claim_experiment(exp_dir, "postfilter", overwrite)
        refuse_existing(exp_dir, "post-filter", overwrite)
        system, natural = Path(data.system), Path(data.natural)
        ids, dev_ids, settings = paired_prompts(system, natural, data.ids, data.dev_ids, say, ("system", "natural"))
        aligned, failed = align_corpus(system, natural, ids + dev_ids, data.band, jobs=jobs,
                                       on_progress=progress_lines(say, "post-filter pairs"))
        for utt, reason in sorted(failed.items()):
            say(f"left out {utt}: {reason}")
        ids, dev_ids = [u for u in ids if u in aligned], [u for u in dev_ids if u in aligned]
        if not ids:
            raise VawganError(system, "no training prompt could be aligned")
        stats = None  # from the training pairs
    seed_everything(config.train.seed)
    cfg = config.postfilter
    batches, dev, stats = _batches_and_dev(cfg, system, natural, aligned, ids, dev_ids, stats, config.train.batch_size)
    extra = {"mean": torch.from_numpy(stats.mean), "std": torch.from_numpy(stats.std), **settings.as_extra()}
    task = postfilter_task(cfg, extra)
    hooks = [dev_monitor(exp_dir, dev, keep_old=resume)] if dev is not None else []
    tables = {"train": config.train, "postfilter": cfg, "extract": analysis_settings(system) or ExtractConfig(fs=settings.fs),
              "data": dataclasses.replace(data, system=str(system.resolve()), natural=str(natural.resolve()),
                                          ids=tuple(ids), dev_ids=tuple(dev_ids))}

    def write_data():
        save_alignments(exp_dir / ALIGNMENT, aligned)
        stats.save(exp_dir / NORMALIZATION)
        (exp_dir / POSTFILTER_STATS).unlink(missing_ok=True)  # an earlier run's statistics are stale

    fit(Trainer(task, batches, exp_dir, config.train, progress=progress, hooks=hooks), exp_dir, tables, resume=resume,
        overwrite=not resume, before_fit=write_data, curves=lambda log: plot_experiment_curves(exp_dir, log))
    postfilter_stats(exp_dir)
    frames = lambda a: int(np.prod(a.shape[:-1]))  # noqa: E731  (rows, or crops × crop length)
    return {"aligned": len(aligned), "failed": len(failed),
            "train_frames": len(batches.paired[0]) if cfg.arch == "conv" else batches.n_rows,
            "dev_frames": frames(dev[0]) if dev is not None else 0}


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
    stats = FeatureStats.load(exp_dir / NORMALIZATION)
    aligned = load_alignments(exp_dir / ALIGNMENT)
    seed_everything(config.train.seed)
    batches, _, _ = _batches_and_dev(cfg, Path(data.system), Path(data.natural), aligned,
                                     [u for u in data.ids if u in aligned], (), stats, config.train.batch_size)
    task = postfilter_task(cfg, load_checkpoint(vae, VAWGANPostfilterTask.name)["extra"])
    fit(Trainer(task, batches, out, config.train, progress=progress), out, {"train": config.train, "postfilter": cfg},
        ["critic", "adv"], overwrite=True, curves=lambda log: plot_experiment_curves(out, log))
    return out


def parse_weights(spec: str | None) -> list[float]:
    """``--sweep``'s "W1,W2,…" -> the weights (each >= 0); refused in one line before any training."""
    try:
        weights = [float(w) for w in spec.split(",")] if spec else []
    except ValueError:
        raise VawganError(None, f"--sweep {spec!r}: give weights as numbers separated by commas, e.g. 0.1,0.3,1") from None
    if any(not w >= 0 for w in weights):
        raise VawganError(None, f"--sweep {spec!r}: weights must be >= 0")
    return weights


def run_postfilter(exp_dir: str | Path, config: PairPostfilterConfig, sweep: Sequence[float] = (), jobs: int = 1,
                   overwrite: bool = False, say: Callable[[str], None] = lambda _: None, resume: bool = False) -> None:
    """`vawgan train-postfilter`: train the post-filter, then the critic and adversarial stages again at
    each weight of ``sweep`` — only those when EXP already holds a post-filter (and ``overwrite`` is not given)."""
    exp_dir = Path(exp_dir)
    if resume or not (sweep and (exp_dir / CONFIG).is_file() and not overwrite):
        result = train_pair_postfilter(exp_dir, config, jobs=jobs, overwrite=overwrite, say=say, resume=resume)
        say(f"post-filter → {exp_dir} ({result['aligned']} prompts aligned, {result['train_frames']:,} training frames)")
    for w in sweep:
        say(f"adversarial weight {w:g} → {train_adversarial_weight(exp_dir, w)}")


# ------------------------------------------------------------------------------- applying it


def postfilter_stats(exp_dir: str | Path) -> dict[str, np.ndarray]:
    """Over the training prompts: the natural GV (mean of the utterances' GVs over speech frames) and
    MS, and the MS of the system's output; computed once, cached in ``EXP/postfilter_stats.npz``."""
    exp_dir = Path(exp_dir)

    def compute() -> dict[str, np.ndarray]:
        data = load_pair_postfilter_config(exp_dir / CONFIG).data
        return natural_and_system_stats(Path(data.natural), Path(data.system), data.ids)

    return cached_arrays(exp_dir / POSTFILTER_STATS, compute)


class PairPostfilter:
    """A trained pair post-filter applied to the system's features (callable on :class:`Features`).

    ``method``: ``vawgan`` (the decoder after the adversarial stage; of ``EXP/adv-w<w>/`` with
    ``adv_weight``), ``vae`` (after the VAE stage), ``gv-pf`` / ``ms-pf`` (the classical post-filters
    with the natural GV and MS and the system's MS of the training prompts). c0, F0, V/UV and
    aperiodicity pass through. A conv post-filter: ``inference_z`` overrides its configuration's
    (mean | prior | posterior), ``spread_crop`` its spread filter's crop length at enhancement (0:
    whole; docs/design.md, "The spread filter in crops"); ``seed`` seeds the noise, drawn afresh for
    each utterance, so an utterance's output does not depend on which others are enhanced or in what order."""

    def __init__(self, exp_dir: str | Path, method: str = "vawgan", checkpoint: str = "last",
                 adv_weight: float | None = None, seed: int = 0, inference_z: str | None = None,
                 spread_crop: int | None = None):
        exp_dir = Path(exp_dir)
        if method not in PAIR_POSTFILTER_METHODS:
            raise VawganError(None, f"method {method!r}: choose from {', '.join(PAIR_POSTFILTER_METHODS)}")
        require_kind(exp_dir, "postfilter")
        self.method = method
        model_dir = exp_dir if adv_weight is None or method != "vawgan" else adversarial_dir(exp_dir, adv_weight)
        path = checkpoint_path(model_dir, "adv" if method == "vawgan" else "vae", checkpoint)
        if not path.is_file():
            raise VawganError(path, "no such checkpoint: the post-filter's training did not reach this stage")

        def with_options(cfg: VAWGANPostfilterConfig) -> VAWGANPostfilterConfig:
            given = [(option, field, value) for option, field, value in
                     (("--z", "inference_z", inference_z), ("--spread-crop", "spread_crop", spread_crop))
                     if value is not None]
            for option, _, _ in given:
                if cfg.arch != "conv":
                    raise VawganError(exp_dir, f"{option} is for a conv post-filter (arch = \"conv\"); "
                                               f"this one is arch = {cfg.arch!r}")
                if method not in ("vae", "vawgan"):
                    raise VawganError(None, f"{option} is for the vae and vawgan methods, not {method}")
            changed = {field: value for _, field, value in given}
            try:  # the configuration's own checks (a crop without a spread filter, or with an adaptive one)
                return dataclasses.replace(cfg, **changed) if changed else cfg
            except VawganError as e:
                raise VawganError(exp_dir, f"not with this post-filter: {e.reason}") from None

        self.trained = load_task(path, VAWGANPostfilterTask, VAWGANPostfilterConfig, config=with_options,
                                 make=lambda cfg, ckpt: postfilter_task(cfg, ckpt["extra"]))
        self.task, self.seed = self.trained.task, seed
        norm = self.trained.normalization
        self.mean, self.std = norm.mean, norm.std
        self.statistical = StatisticalPostfilter(method, postfilter_stats(exp_dir), exp_dir) \
            if method in ("gv-pf", "ms-pf") else None

    @torch.no_grad()
    def filter_mcep(self, c: np.ndarray, c0: np.ndarray) -> np.ndarray:
        """(T, 39) system c1..c39 (and its (T,) c0, for the speech frames) -> (T, 39) post-filtered."""
        if self.statistical is not None:
            return self.statistical(c, c0)
        if isinstance(self.task, ConvPostfilterTask):  # the whole utterance at once; noise from the seed alone
            x = torch.from_numpy(((np.asarray(c, np.float64) - self.mean) / self.std).astype(np.float32))[None]
            speech = torch.from_numpy(speech_mask(np.asarray(c0)))[None]  # as the alignment picks them
            y = self.task.enhance(x, torch.Generator().manual_seed(self.seed), speech)[0].numpy()
            return (y * self.std + self.mean).astype(np.float32)
        x = context_windows((np.asarray(c, np.float64) - self.mean) / self.std, self.task.config.context)
        y = self.task.reconstruct(torch.from_numpy(x.astype(np.float32))).numpy()
        return (y * self.std + self.mean).astype(np.float32)

    def __call__(self, feats: Features) -> Features:
        self.trained.check(feats, "the post-filter")
        mc = feats.mcep.copy()
        mc[:, 1:] = self.filter_mcep(mc[:, 1:], mc[:, 0])
        return feats.replace(mcep=mc)

