"""A parallel DNN voice converter: its experiment folder, its training rounds, and conversion.

Training alternates alignment and learning (as sprocket does with its GMM): round 1 aligns each
training source utterance with the target's natural recording of the same prompt by DTW of their
mel-cepstra; the DNN learns from those pairs; round k > 1 aligns the previous round's conversion of
the source (frame for frame the source's timing, but nearer the target's spectra, so DTW pairs the
right frames) and trains again from scratch. Eval prompts are never read.

Per source frame the DNN sees c1..c39 of frames t-k..t+k (normalized) and predicts the target's
c1..c39 with Δ and ΔΔ (normalized); with ``[dnn] arch = "conv"`` (the sequence converter) a stack of
convolutions reads the whole normalized source trajectory instead, trained on random crops with a
mask of the frames that have a target, its dev loss and residual variances taken on whole utterances. The target trajectory on the source's time axis comes from the
alignment (:func:`vawgan_tts.alignment.source_time_map`), its dynamic features from that
trajectory, so MLPG's windows see the same timing at training and at conversion. Converted
features: c0 (power) and the band aperiodicity of the source, c1..c39 by MLPG, F0 by the log-F0
mean/variance transform (:mod:`vawgan_tts.f0`), the source's voicing.

EXP/
  config.toml          [train], [dnn], [data]: the effective configuration (feature folders absolute)
  f0.npz               log-F0 mean/std of the source's and the target's voiced training frames
  round<k>/align.npz   the frame pairs this round trained on (training and dev utterances)
  round<k>/stats.npz   input mean/std (39), output mean/std (117), MLPG's variances (117, normalized: the residuals',
                       or the targets' own with the trajectory loss)
  round<k>/log.csv, round<k>/checkpoints/dnn.pt    the trainer's
  round<k>/dev.json    the dev utterances' loss after each epoch
  round<k>/checkpoints/dnn_best.pt   the epoch with the lowest dev loss: the round's model
  round<K>/member<m>/  with ``members`` > 1, network m (m = 1..members-1) of the last round's ensemble: its own
                       log.csv, dev.json, checkpoints/, stats.npz (member 0 is round<K>/ itself)
  round<k>/postfilter_stats.npz      natural GV and MS, the converter's MS (training prompts), on first use
  adv-w<w>/            the adversarial converter (w_d = w) warm-started from the last round:
                       config.toml, log.csv, checkpoints/{critic,adv}.pt, stats.npz (its residuals)
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
from pathlib import Path
from typing import Callable, Mapping, Sequence

import numpy as np
import torch

from ..alignment import align_corpus, load_alignments, progress_lines, save_alignments, source_time_map
from ..batching import SegmentBatches, TensorBatches, edge_padded, frame_positions
from ..checkpoint import load_checkpoint
from ..choices import CONVERTER_POSTFILTERS
from ..config import from_dict, load_run_config, load_toml, save_toml
from ..errors import VawganError
from ..f0 import LogF0Stats, convert_f0
from ..feature_folder import has_utterance, load_utterance, paired_prompts
from ..features import MODEL_DIM, Features
from ..fileio import atomic_path, read_npz, write_text_atomic
from ..mlpg import WINDOWS, delta_features, mlpg
from ..postfilters import StatisticalPostfilter, corpus_ms_db, natural_and_system_stats
from ..tasks.adversarial_converter import AdversarialConverterConfig, AdversarialConverterTask
from ..tasks.dnn_converter import DNNConverterConfig, DNNConverterTask, TrajectoryError
from ..trainer import CHECKPOINTS, LAST, LOG_CSV, Trainer, TrainerConfig, read_log, seed_everything
from ..outputs import claim_experiment
from .experiment import Trained, adversarial_dir, cached_arrays, load_task, load_weights, require_kind
from .folder import ALIGNMENT, CONFIG, DEV_RECORD, NORMALIZATION, POSTFILTER_STATS, BestDev, check_segment, refuse_existing, resumed_config

F0_STATS = "f0.npz"
ROUND_SUMMARY = "round.json"  # a finished round's entry of rounds.json (a resumed run keeps the round)
STAGE = "dnn"
BEST = f"{STAGE}_best.pt"
DIM_OUT = MODEL_DIM * len(WINDOWS)


@dataclasses.dataclass(frozen=True)
class ParallelDataConfig:
    source: str = ""  # feature folder of the source speaker (e.g. a flite voice)
    target: str = ""  # feature folder of the target speaker's natural recordings of the same prompts
    ids: tuple[str, ...] = ()  # training prompts
    dev_ids: tuple[str, ...] = ()  # prompts for the per-epoch dev loss (never trained on)

    SECTION = "data"


@dataclasses.dataclass(frozen=True)
class ConverterConfig:
    train: TrainerConfig = TrainerConfig(batch_size=256)
    dnn: DNNConverterConfig = DNNConverterConfig()
    data: ParallelDataConfig = ParallelDataConfig()
    adv: AdversarialConverterConfig = AdversarialConverterConfig()


def load_converter_config(path: str | Path | None, **overrides) -> ConverterConfig:
    """``[train]``, ``[dnn]``, ``[data]``, ``[adv]`` of a TOML file (or defaults) with ``section__key`` overrides;
    an ``[extract]`` table may be there for extraction."""
    return load_run_config(ConverterConfig, path, ignore=("extract",), **overrides)


@dataclasses.dataclass
class Normalization:
    """Input (c1..c39) and output (statics + Δ + ΔΔ) mean/std, and the variances MLPG weighs the
    predicted streams with, in normalized output units: the training residuals' (the frames loss), or
    the training targets' own, the ones it was trained through (the trajectory loss)."""

    x_mean: np.ndarray
    x_std: np.ndarray
    y_mean: np.ndarray
    y_std: np.ndarray
    residual_var: np.ndarray

    def save(self, path: Path) -> None:
        with atomic_path(path) as tmp, open(tmp, "wb") as f:
            np.savez(f, **dataclasses.asdict(self))

    @classmethod
    def load(cls, path: Path) -> "Normalization":
        arrays = read_npz(path, "normalization", "no normalization file: the round did not finish training")
        missing = [f.name for f in dataclasses.fields(cls) if f.name not in arrays]
        if missing:
            raise VawganError(path, f"not a normalization file: missing {', '.join(missing)}")
        return cls(**{f.name: arrays[f.name] for f in dataclasses.fields(cls)})


def context_windows(c: np.ndarray, k: int) -> np.ndarray:
    """(T, D) -> (T, (2k+1)·D): frames t-k..t+k side by side, the edge frames repeated beyond the ends."""
    t = len(c)
    idx = np.clip(np.arange(t)[:, None] + np.arange(-k, k + 1)[None, :], 0, t - 1)
    return c[idx].reshape(t, -1)


def _safe_std(std: np.ndarray) -> np.ndarray:
    return np.where(std > 1e-8, std, 1.0)


# --------------------------------------------------------------------------------- training


@dataclasses.dataclass
class _Pairs:
    """Per utterance: the source's mel-cepstrum c0..c39 (whole) and the rows to learn, with their targets."""

    src: dict[str, np.ndarray]
    rows: dict[str, np.ndarray]
    dyn: dict[str, np.ndarray]


def _load_sides(src_dir: Path, tgt_dir: Path, utts: Sequence[str]) -> dict[str, tuple[Features, Features]]:
    """Each prompt's (source, target) features, read once for every round."""
    return {u: (load_utterance(src_dir, u), load_utterance(tgt_dir, u)) for u in utts}


def _learning_pairs(sides: dict[str, tuple[Features, Features]], alignments: dict[str, np.ndarray]) -> _Pairs:
    src, rows, dyn = {}, {}, {}
    for utt, pairs in alignments.items():
        c_src = sides[utt][0].mcep.astype(np.float64)
        c_tgt = sides[utt][1].mcep[:, 1:].astype(np.float64)
        trajectory = c_tgt[source_time_map(pairs, len(c_src))]
        r = np.unique(pairs[:, 0])
        src[utt], rows[utt], dyn[utt] = c_src, r, delta_features(trajectory)[r]
    return _Pairs(src, rows, dyn)


def input_columns(cfg: DNNConverterConfig) -> slice:
    """The source's mel-cepstral coefficients the DNN reads: c1..c39, or c0..c39 with ``power_input``."""
    return slice(0 if cfg.power_input else 1, None)


def _design(p: _Pairs, utts: Sequence[str], norm: Normalization, cfg: DNNConverterConfig) -> tuple[np.ndarray, np.ndarray]:
    xs, ys = [], []
    cols = input_columns(cfg)
    for u in utts:
        xs.append(context_windows((p.src[u][:, cols] - norm.x_mean) / norm.x_std, cfg.context)[p.rows[u]])
        ys.append((p.dyn[u] - norm.y_mean) / norm.y_std)
    return np.concatenate(xs).astype(np.float32), np.concatenate(ys).astype(np.float32)


def _sequences(p: _Pairs, utts: Sequence[str], norm: Normalization, cfg: DNNConverterConfig, length: int = 1
               ) -> tuple[list[torch.Tensor], list[torch.Tensor], list[torch.Tensor]]:
    """The conv arch's data per utterance: the normalized source trajectory (T, D_in), the normalized
    targets (T, 117; zero where DTW paired no frame) and the mask of the frames that have one (T,).
    An utterance shorter than ``length`` is padded by repeating its last frame, the padding masked out."""
    xs, ys, masks = [], [], []
    cols = input_columns(cfg)
    for u in utts:
        n = len(p.src[u])
        y = np.zeros((n, DIM_OUT))
        y[p.rows[u]] = (p.dyn[u] - norm.y_mean) / norm.y_std
        mask = np.zeros(max(n, length), np.float32)
        mask[p.rows[u]] = 1.0
        xs.append(torch.from_numpy(edge_padded((p.src[u][:, cols] - norm.x_mean) / norm.x_std, length).astype(np.float32)))
        ys.append(torch.from_numpy(edge_padded(y, length).astype(np.float32)))
        masks.append(torch.from_numpy(mask))
    return xs, ys, masks


def _segment_batches(p: _Pairs, utts: Sequence[str], norm: Normalization, cfg: DNNConverterConfig, src_dir: Path
                     ) -> SegmentBatches:
    """Random crops of ``cfg.segment`` frames of the training utterances (source, targets, mask; with
    ``mask_crop_edges`` each frame's position in its utterance too)."""
    check_segment(cfg.segment, max(len(p.src[u]) for u in utts), src_dir, cfg.SECTION)
    streams = _sequences(p, utts, norm, cfg, cfg.segment)
    if cfg.mask_crop_edges:
        streams += ([torch.from_numpy(frame_positions(len(p.src[u]), cfg.segment)) for u in utts],)
    return SegmentBatches(streams, cfg.segment, cfg.segments_per_batch)


def _normalization(p: _Pairs, utts: Sequence[str], cfg: DNNConverterConfig) -> Normalization:
    x = np.concatenate([p.src[u][p.rows[u], input_columns(cfg)] for u in utts])
    y = np.concatenate([p.dyn[u] for u in utts])
    y_std = _safe_std(y.std(0))
    if cfg.output_scale == "stream":
        # One scale per stream (statics, Δ, ΔΔ): within a stream the loss weighs coefficients as the
        # MCD does (squared cepstral distance), not each one as much as c1.
        y_std = np.repeat(np.sqrt((y_std.reshape(len(WINDOWS), -1) ** 2).mean(1)), MODEL_DIM)
    # What MLPG weighs the streams by: the training residuals' variances, measured after training
    # (ones until then), or with the trajectory loss the targets' own, fixed now, since it trains through MLPG.
    var = np.maximum(y.var(0) / y_std**2, 1e-6) if cfg.loss == "trajectory" else np.ones(y.shape[1])
    return Normalization(x.mean(0), _safe_std(x.std(0)), y.mean(0), y_std, var)


def dev_loss(x: np.ndarray, y: np.ndarray) -> Callable[[Trainer], dict]:
    """The dev rows' loss (same units as training) as :class:`.folder.BestDev` measures it: the round's
    hook keeps the epoch with the lowest one as ``checkpoints/dnn_best.pt`` (what conversion uses)."""
    x, y = torch.from_numpy(x), torch.from_numpy(y)

    @torch.no_grad()
    def measure(trainer: Trainer) -> dict:
        task = trainer.task
        task.model.eval()
        loss = float(task.loss(x.to(trainer.device), y.to(trainer.device)))
        task.model.train()
        return {"dev_loss": loss}

    return measure


def dev_loss_utterances(xs: Sequence[torch.Tensor], ys: Sequence[torch.Tensor], masks: Sequence[torch.Tensor],
                        trajectory: Normalization | None = None) -> Callable[[Trainer], dict]:
    """The conv arch's :func:`dev_loss`: each dev utterance converted whole, as at conversion, the
    squared error averaged over every frame that has a target (the frame arch's units). With
    ``trajectory`` (the normalization, for the trajectory loss) the error is the trajectory loss's:
    of the statics that MLPG makes from the whole utterance's means, with its variances."""

    @torch.no_grad()
    def measure(trainer: Trainer) -> dict:
        model = trainer.task.model
        model.eval()
        total, frames = 0.0, 0.0
        for x, y, m in zip(xs, ys, masks):
            pred = model(x[None].to(trainer.device))[0].cpu()
            if trajectory is None:
                err = ((pred - y) ** 2).mean(-1)
            else:
                err = ((_trajectory(trajectory, pred.double().numpy()) - y[:, :MODEL_DIM].double()) ** 2).mean(-1)
            total, frames = total + float((err * m).sum()), frames + float(m.sum())
        model.train()
        return {"dev_loss": total / max(frames, 1.0)}

    return measure


def _trajectory(norm: Normalization, pred: np.ndarray) -> torch.Tensor:
    """(T, 3D) normalized means -> (T, D) MLPG's statics (with ``norm``'s variances), normalized as the targets' statics."""
    c = mlpg(pred * norm.y_std + norm.y_mean, norm.residual_var * norm.y_std**2)
    return torch.from_numpy((c - norm.y_mean[:MODEL_DIM]) / norm.y_std[:MODEL_DIM])


def train_converter(exp_dir: str | Path, config: ConverterConfig, jobs: int = 1, overwrite: bool = False,
                    progress: bool = True, say: Callable[[str], None] = lambda _: None, resume: bool = False) -> dict:
    """Train the converter in ``config.dnn.rounds`` rounds of alignment and training; writes EXP.

    Returns ``{"rounds": [{"round", "aligned", "failed", "train_loss", "dev_loss"}, ...]}``. An
    utterance that cannot be aligned (no speech frames, mismatched settings) is named through ``say``
    and left out; the rest train. ``resume``: the experiment's own configuration; rounds that finished
    (``round<k>/round.json``) are kept, the interrupted one continues from its ``last.pt`` on its
    saved alignment, the later ones train."""
    exp_dir = Path(exp_dir)
    if resume:
        require_kind(exp_dir, "converter")
        config = resumed_config(exp_dir, from_dict(ConverterConfig, load_toml(exp_dir / CONFIG), exp_dir / CONFIG), config,
                                ("source", "target"))
    data, cfg = config.data, config.dnn
    src_dir, tgt_dir = Path(data.source), Path(data.target)
    if not resume:
        claim_experiment(exp_dir, "converter", overwrite)
        refuse_existing(exp_dir, "converter", overwrite)
    ids, dev_ids, settings = paired_prompts(src_dir, tgt_dir, data.ids, data.dev_ids, say)
    seed_everything(config.train.seed)
    exp_dir.mkdir(parents=True, exist_ok=True)
    save_toml(exp_dir / CONFIG, {"train": config.train, "dnn": cfg, "adv": config.adv,
                                 "data": dataclasses.replace(data, source=str(src_dir.resolve()), target=str(tgt_dir.resolve()))})
    sides = _load_sides(src_dir, tgt_dir, ids + dev_ids)
    f0_src = LogF0Stats.from_f0((sides[u][0].f0 for u in ids), src_dir)
    f0_tgt = LogF0Stats.from_f0((sides[u][1].f0 for u in ids), tgt_dir)
    with atomic_path(exp_dir / F0_STATS) as tmp, open(tmp, "wb") as f:
        np.savez(f, source=[f0_src.mean, f0_src.std, f0_src.count], target=[f0_tgt.mean, f0_tgt.std, f0_tgt.count])

    summary = {"rounds": []}
    converted = None
    for k in range(1, cfg.rounds + 1):
        round_dir = exp_dir / f"round{k}"
        if resume and (round_dir / ROUND_SUMMARY).is_file():  # finished before the interruption
            summary["rounds"].append(json.loads((round_dir / ROUND_SUMMARY).read_text()))
            say(f"round {k}: trained before, kept")
            aligned = load_alignments(round_dir / ALIGNMENT)
            if k < cfg.rounds:
                converted = _conversions(exp_dir, k, sides, aligned)
            continue
        (round_dir / POSTFILTER_STATS).unlink(missing_ok=True)  # a retrained round's post-filter statistics are stale
        continuing = resume and (round_dir / CHECKPOINTS / LAST).is_file() and (round_dir / ALIGNMENT).is_file()
        if continuing:  # the alignment it was training on
            aligned = load_alignments(round_dir / ALIGNMENT)
            failed = {u: "not aligned before the interruption" for u in ids + dev_ids if u not in aligned}
        else:
            aligned, failed = align_corpus(src_dir, tgt_dir, ids + dev_ids, cfg.band, converted, jobs=jobs,
                                           on_progress=progress_lines(say, f"round {k}"))
            for utt, reason in sorted(failed.items()):
                say(f"round {k}: left out {utt}: {reason}")
            save_alignments(round_dir / ALIGNMENT, aligned)
        train_utts = [u for u in ids if u in aligned]
        dev_utts = [u for u in dev_ids if u in aligned]
        if not train_utts:
            raise VawganError(src_dir, "no training prompt could be aligned")
        pairs = _learning_pairs(sides, aligned)
        norm = _normalization(pairs, train_utts, cfg)
        trajectory = cfg.loss == "trajectory"
        # What every network of the round trains on and is measured by (the same for each member).
        loss = (TrajectoryError(cfg.segment, norm.y_mean, norm.y_std, norm.residual_var * norm.y_std**2)
                if trajectory else None)
        if cfg.arch == "conv":
            batches = _segment_batches(pairs, train_utts, norm, cfg, src_dir)
            measure = (dev_loss_utterances(*_sequences(pairs, dev_utts, norm, cfg), trajectory=norm if trajectory else None)
                       if dev_utts else None)

            def residuals(task: DNNConverterTask) -> np.ndarray:
                return _residual_variance_utterances(task, *_sequences(pairs, train_utts, norm, cfg))
        else:
            x, y = _design(pairs, train_utts, norm, cfg)
            batches = TensorBatches(torch.from_numpy(x), torch.from_numpy(y), batch_size=config.train.batch_size)
            measure = dev_loss(*_design(pairs, dev_utts, norm, cfg)) if dev_utts else None

            def residuals(task: DNNConverterTask) -> np.ndarray:
                return _residual_variance(task.model, x, y)
        members = cfg.members if k == cfg.rounds else 1  # the ensemble is the last round's; earlier rounds only align
        round_cfg = round_config(cfg, k)
        lowest = []
        for m in range(members):
            net_dir = member_dir(round_dir, m)
            train_cfg = config.train if m == 0 else dataclasses.replace(config.train, seed=member_seed(config.train.seed, m))
            if m > 0:
                seed_everything(train_cfg.seed)
            task = DNNConverterTask(round_cfg, len(norm.x_mean), DIM_OUT, {"round": k, **settings.as_extra()}, loss)
            lowest.append(_train_network(net_dir, task, batches, measure, None if trajectory else residuals,
                                         dataclasses.replace(norm), train_cfg, progress,
                                         continuing if m == 0 else resume and (net_dir / CHECKPOINTS / LAST).is_file()))
            if members > 1:
                say(f"round {k}: member {m + 1} of {members} trained" + (f", dev loss {lowest[-1]:.4f}" if math.isfinite(lowest[-1]) else ""))
        log = read_log(round_dir / LOG_CSV)
        n_rows = sum(len(pairs.rows[u]) for u in train_utts)
        entry = {"round": k, "aligned": len(aligned), "failed": len(failed), "train_rows": n_rows,
                 "train_loss": float(np.mean(log["loss"][-max(1, len(batches)):])) if log.get("loss") else None,
                 "dev_loss": round(lowest[0], 5) if math.isfinite(lowest[0]) else None}
        if members > 1:
            entry["member_dev_losses"] = [round(v, 5) if math.isfinite(v) else None for v in lowest]
        summary["rounds"].append(entry)
        write_text_atomic(round_dir / ROUND_SUMMARY, json.dumps(entry) + "\n")
        say(f"round {k}: {len(aligned)} prompts aligned, {n_rows:,} frames"
            + (f", train loss {entry['train_loss']:.4f}" if entry["train_loss"] is not None else "")
            + (f", dev loss {entry['dev_loss']:.4f}" if entry["dev_loss"] is not None else ""))
        if k < cfg.rounds:
            converted = _conversions(exp_dir, k, sides, aligned)
    write_text_atomic(exp_dir / "rounds.json", json.dumps(summary, indent=1) + "\n")
    return summary


def round_config(cfg: DNNConverterConfig, k: int) -> DNNConverterConfig:
    """The configuration round ``k`` trains with: ``align_epochs`` as its epochs in the rounds before
    the last (they only align), where that is set; ``cfg`` itself otherwise."""
    if k == cfg.rounds or cfg.align_epochs is None:
        return cfg
    return dataclasses.replace(cfg, epochs=cfg.align_epochs)


def member_dir(round_dir: Path, m: int) -> Path:
    """Where member ``m`` of a round's ensemble lives: the round's folder itself for the first (so a
    one-network converter is laid out as before), ``round<k>/member<m>/`` for the others."""
    return round_dir if m == 0 else round_dir / f"member{m}"


def member_seed(seed: int, m: int) -> int:
    """The training seed of member ``m`` > 0: far from every run's own seed, so no member of one run
    starts where another run (another ``--seed``) does."""
    return seed + 100_003 * m


def _train_network(net_dir: Path, task: DNNConverterTask, batches, measure: Callable[[Trainer], dict] | None,
                   residuals: Callable[[DNNConverterTask], np.ndarray] | None, norm: Normalization, train_cfg: TrainerConfig,
                   progress: bool, continuing: bool) -> float:
    """Train one network of a round in ``net_dir`` (its log, checkpoints, dev record; the best dev
    epoch kept as the model) and save ``norm`` there with the variances MLPG will weigh its output
    by: ``residuals(task)`` after training, or ``norm``'s own where that is None (the trajectory loss
    trained through them). Returns its lowest dev loss (inf without a dev ``measure``)."""
    hooks = [BestDev(net_dir / DEV_RECORD, measure, lambda _: BEST, keep_old=continuing, with_stage=False)] if measure else []
    Trainer(task, batches, net_dir, train_cfg, progress=progress, hooks=hooks).fit(resume=continuing, overwrite=not continuing)
    if (net_dir / CHECKPOINTS / BEST).is_file():  # the best dev epoch is the model of this round
        task.model.load_state_dict(load_checkpoint(net_dir / CHECKPOINTS / BEST, task.name)["model"]["model"])
    if residuals is not None:
        norm.residual_var = residuals(task)
    norm.save(net_dir / NORMALIZATION)
    return hooks[0].lowest() if hooks else math.inf


def _conversions(exp_dir: Path, k: int, sides: dict[str, tuple[Features, Features]], aligned) -> dict[str, np.ndarray]:
    """Round ``k``'s conversion of every prompt (what round k + 1 aligns). A prompt that failed that
    round (no speech) fails the next one too: it keeps its source."""
    conv = Converter(exp_dir, round_=k)
    return {u: conv.convert_mcep(src.mcep) if u in aligned else src.mcep[:, 1:] for u, (src, _) in sides.items()}


def train_adversarial(exp_dir: str | Path, adv: AdversarialConverterConfig, train: TrainerConfig | None = None,
                      progress: bool = True, say: Callable[[str], None] = lambda _: None) -> Path:
    """Warm-start the adversarial converter from the trained DNN (the last round) and train its
    critic and adversarial stages on the same pairs (that round's alignment and normalization);
    writes ``EXP/adv-w<w>/`` (config, log, checkpoints, stats with its own residual variances)."""
    exp_dir = Path(exp_dir)
    dnn = Converter(exp_dir)
    config, k = dnn.config, dnn.round
    if len(dnn.members) > 1:
        raise VawganError(exp_dir / CONFIG, f"the adversarial converter warm-starts one network; this converter's last "
                                            f"round is an ensemble of {len(dnn.members)} (members = 1 trains one)")
    if dnn.task.config.arch != "frame":
        raise VawganError(exp_dir / CONFIG, f"the adversarial converter trains a frame converter (arch = 'frame'); "
                                            f"this one is arch = {dnn.task.config.arch!r}")
    train = train or config.train
    out = adversarial_dir(exp_dir, adv.adv_weight)
    (out / POSTFILTER_STATS).unlink(missing_ok=True)  # statistics of an earlier run at this weight are stale
    seed_everything(train.seed)
    aligned = load_alignments(exp_dir / f"round{k}" / ALIGNMENT)
    data = config.data
    train_utts = [u for u in data.ids if u in aligned]
    pairs = _learning_pairs(_load_sides(Path(data.source), Path(data.target), train_utts),
                            {u: aligned[u] for u in train_utts})
    norm = dnn.norm
    x, y = _design(pairs, train_utts, norm, dnn.task.config)
    task = AdversarialConverterTask(dnn.task.config, adv, dnn.task.extra["dim_in"], DIM_OUT, MODEL_DIM,
                                    {k_: v for k_, v in dnn.task.extra.items() if k_ in ("fs", "alpha", "frame_period", "round")})
    task.model.load_state_dict(dnn.task.model.state_dict())
    out.mkdir(parents=True, exist_ok=True)
    save_toml(out / CONFIG, {"train": train, "adv": adv})
    batches = TensorBatches(torch.from_numpy(x), torch.from_numpy(y), batch_size=train.batch_size)
    Trainer(task, batches, out, train, progress=progress).fit(overwrite=True)
    stats = dataclasses.replace(norm, residual_var=_residual_variance(task.model, x, y))
    stats.save(out / NORMALIZATION)
    say(f"adversarial converter (w_d = {adv.adv_weight:g}) → {out}")
    return out


def run_converter(exp_dir: str | Path, config: ConverterConfig, adversarial: bool = False, jobs: int = 1,
                  overwrite: bool = False, say: Callable[[str], None] = lambda _: None, resume: bool = False) -> None:
    """`vawgan train-converter`: train the converter; with ``adversarial``, then its adversarial
    converter — only that when EXP already holds a converter (and ``overwrite`` is not given)."""
    exp_dir = Path(exp_dir)
    if resume or not (adversarial and (exp_dir / CONFIG).is_file() and not overwrite):
        train_converter(exp_dir, config, jobs=jobs, overwrite=overwrite, say=say, resume=resume)
        say(f"converter → {exp_dir}")
    if adversarial:
        train_adversarial(exp_dir, config.adv, config.train, say=say)


def _residual_variance(model: torch.nn.Module, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """(D_out,) variance of the training residuals, normalized units: what MLPG weighs streams by."""
    model.eval()
    pred = _predict(model, x, next(model.parameters()).device)
    return np.maximum(((pred - y) ** 2).mean(0), 1e-6)


def _residual_variance_utterances(task: DNNConverterTask, xs: Sequence[torch.Tensor], ys: Sequence[torch.Tensor],
                                  masks: Sequence[torch.Tensor]) -> np.ndarray:
    """:func:`_residual_variance` of the conv arch: each training utterance converted whole, the
    residuals of the frames that have a target."""
    sq, frames = np.zeros(DIM_OUT), 0.0
    for x, y, m in zip(xs, ys, masks):
        pred = predict_utterance(task, x.numpy())
        keep = m.numpy() > 0
        sq += ((pred[keep] - y.numpy()[keep]) ** 2).sum(0)
        frames += keep.sum()
    return np.maximum(sq / max(frames, 1.0), 1e-6)


def predict_utterance(task: DNNConverterTask, x: np.ndarray) -> np.ndarray:
    """(T, D_in) normalized source trajectory -> (T, D_out) normalized predictions: the frame arch
    through context windows (edge frames repeated), the conv arch over the whole utterance."""
    model = task.model
    model.eval()
    device = next(model.parameters()).device
    if task.config.arch == "conv":
        with torch.no_grad():
            return model(torch.from_numpy(np.asarray(x, np.float32))[None].to(device))[0].float().cpu().numpy()
    return _predict(model, context_windows(x, task.config.context).astype(np.float32), device)


@torch.no_grad()
def _predict(model: torch.nn.Module, x: np.ndarray, device: torch.device, batch: int = 65536) -> np.ndarray:
    out = [model(torch.from_numpy(x[i : i + batch]).to(device)).float().cpu().numpy() for i in range(0, len(x), batch)]
    return np.concatenate(out)


# ------------------------------------------------------------------------------- conversion


def _load_network(net_dir: Path) -> tuple[Trained, Normalization]:
    """One trained network of a round (its best dev epoch, or its last without a dev set) and its normalization."""
    path = net_dir / CHECKPOINTS / BEST
    if not path.is_file():  # trained without a dev set: the last epoch
        path = path.with_name(f"{STAGE}.pt")
    trained = load_task(path, DNNConverterTask, DNNConverterConfig,
                        make=lambda cfg, ckpt: DNNConverterTask(cfg, ckpt["extra"]["dim_in"], ckpt["extra"]["dim_out"],
                                                                ckpt["extra"]))
    return trained, Normalization.load(net_dir / NORMALIZATION)


class Converter:
    """A trained converter (the last round, or ``round_``): features of the source speaker → the
    target's. Callable on :class:`Features`, as a ``synthesize_corpus`` transform.

    ``postfilter``: "gv" scales each converted utterance's GV to the target speaker's natural GV;
    "ms" moves its modulation spectrum from the converter's own (over its conversions of the
    training prompts) toward the target's natural one. Statistics: :meth:`postfilter_stats`.
    ``members``: of an ensemble, convert with its first ``members`` networks only (an ablation)."""

    def __init__(self, exp_dir: str | Path, round_: int | None = None, postfilter: str | None = None,
                 adversarial: float | None = None, members: int | None = None):
        exp_dir = Path(exp_dir)
        if postfilter not in (None, *CONVERTER_POSTFILTERS):
            raise VawganError(None, f"post-filter {postfilter!r}: choose from {', '.join(CONVERTER_POSTFILTERS)}")
        self.exp_dir = exp_dir
        require_kind(exp_dir, "converter")
        config = from_dict(ConverterConfig, load_toml(exp_dir / CONFIG), exp_dir / CONFIG)
        k = round_ or config.dnn.rounds
        self.model_dir = exp_dir / f"round{k}"
        trained = config.dnn.members if k == config.dnn.rounds else 1
        if members is not None and not 1 <= members <= trained:
            raise VawganError(exp_dir / CONFIG, f"--members {members}: round {k} of this converter has "
                                                f"{trained} network{'s' if trained > 1 else ''} (1 to {trained})")
        nets = [_load_network(member_dir(self.model_dir, m)) for m in range(members or trained)]
        (self.trained, self.norm), self.members = nets[0], nets
        if adversarial is not None:  # the same network, its weights after adversarial training
            self.model_dir = adversarial_dir(exp_dir, adversarial)
            adv_path = self.model_dir / "checkpoints" / "adv.pt"
            if not adv_path.is_file():
                raise VawganError(adv_path, f"no adversarial converter with w_d = {adversarial:g}: train it with "
                                            f"`vawgan train-converter … --adversarial --adv-weight {adversarial:g}`")
            self.trained = load_weights(self.trained, adv_path, AdversarialConverterTask)
            self.norm = Normalization.load(self.model_dir / NORMALIZATION)
            self.members = [(self.trained, self.norm)]
        self.task = self.trained.task
        with np.load(exp_dir / F0_STATS) as z:
            self.f0_src = LogF0Stats(float(z["source"][0]), float(z["source"][1]), int(z["source"][2]))
            self.f0_tgt = LogF0Stats(float(z["target"][0]), float(z["target"][1]), int(z["target"][2]))
        self.config = config
        self.round = k
        self.statistical = self.statistical_postfilter(postfilter) if postfilter else None

    def statistical_postfilter(self, kind: str) -> StatisticalPostfilter:
        """The GV ("gv") or MS ("ms") post-filter of this converter's output: the target's natural
        statistics, and the converter's own MS as the system's."""
        stats = self.postfilter_stats()
        return StatisticalPostfilter(f"{kind}-pf", {**stats, "ms_system": stats["ms_converted"]}, self.exp_dir)

    def postfilter_stats(self) -> dict[str, np.ndarray]:
        """Over the training prompts: the target's natural GV (speech frames) and MS, and the MS of
        this converter's output; computed once, cached in ``EXP/round<k>/postfilter_stats.npz``."""
        def compute() -> dict[str, np.ndarray]:
            data = self.config.data
            source, target = Path(data.source), Path(data.target)
            ids = [u for u in data.ids if has_utterance(source, u) and has_utterance(target, u)]
            stats = natural_and_system_stats(target, None, ids)
            stats["ms_converted"] = corpus_ms_db(self.convert_mcep(load_utterance(source, u).mcep) for u in ids)
            return stats

        return cached_arrays(self.model_dir / POSTFILTER_STATS, compute)

    @torch.no_grad()
    def convert_mcep(self, mcep: np.ndarray) -> np.ndarray:
        """(T, 40) source c0..c39 -> (T, 39) converted c1..c39, by the DNN's means and MLPG. An
        ensemble's means and MLPG variances are each the mean of its members'."""
        x = np.asarray(mcep, np.float64)[:, input_columns(self.task.config)]
        means, variances = 0.0, 0.0
        for trained, n in self.members:
            y = predict_utterance(trained.task, (x - n.x_mean) / n.x_std)
            means = means + (y * n.y_std + n.y_mean) / len(self.members)
            variances = variances + n.residual_var * n.y_std**2 / len(self.members)
        return mlpg(means, variances)

    def systems(self, feats: Features, postfilters: Mapping[str, StatisticalPostfilter | None]) -> dict[str, Features]:
        """One conversion of ``feats``, then each named system's features: the conversion itself
        (None) or it post-filtered."""
        self.trained.check(feats, "the converter")
        c = self.convert_mcep(feats.mcep)
        f0 = convert_f0(feats.f0, self.f0_src, self.f0_tgt).astype(np.float32)
        out = {}
        for name, pf in postfilters.items():
            filtered = c if pf is None else pf(c, feats.mcep[:, 0])
            out[name] = feats.replace(mcep=np.concatenate([feats.mcep[:, :1], filtered.astype(np.float32)], axis=1), f0=f0)
        return out

    def __call__(self, feats: Features) -> Features:
        return self.systems(feats, {"": self.statistical})[""]


def conversion_systems(exp_dir: str | Path, postfilters: Mapping[str, str | None]) -> Callable[[Features], dict[str, Features]]:
    """A report's converter systems (name → None for the conversion, "gv" or "ms" for it post-filtered)
    as one transform: each utterance converted once (``synthesis.synthesize_systems``; picklable
    through ``functools.partial``)."""
    converter = Converter(exp_dir)
    filters = {name: None if pf is None else converter.statistical_postfilter(pf) for name, pf in postfilters.items()}
    return functools.partial(converter.systems, postfilters=filters)
