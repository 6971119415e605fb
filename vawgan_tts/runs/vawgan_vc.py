"""A VAWGAN voice-conversion experiment: many speakers' feature folders, non-parallel training,
many-to-many conversion.

EXP/
  config.toml              [train], [vc] (VAWGAN's settings and the speakers), [data]
  shares.json              which training and dev prompts each speaker was given
  stats.npz                mean/std of every speaker's training frames together: the normalization of
                           [vc] normalization = "global"; with "speaker" each speaker's own mean/std
                           (in the checkpoints) normalizes its frames, and conversion leaves the
                           source's statistics and takes on the target's
  log.csv, dev.json, checkpoints/{vae,critic,adv,last}.pt (+ _best), curves.png, critic.png

Non-parallel: the sorted training prompts are dealt to the speakers in turn (prompt k to speaker
k mod S), so no sentence is seen in two voices during training; the dev prompts the same way.
Each checkpoint carries the normalization and every speaker's log-F0 mean and deviation.

The code at conversion (``code``, `vawgan convert|report --code`): ``as-is`` decodes μ of each source
frame as the target; ``shift`` moves it by the difference of the two speakers' mean codes first
(z − m_src + m_tgt), ``standardize`` by their means and deviations ((z − m_src) / s_src · s_tgt + m_tgt).
m_s and s_s are per dimension, over the speech frames of speaker s's own training share (nothing
parallel), computed from its feature folder when the converter opens. Measured on the dev prompts
(recipes/flite2allison_16k/rules/vc_code_transport.md).

The readout (``knn``, `--knn K`): the decoder (0), or kNN-VC's (Baas et al. 2023): the mean c1..c39 of
the K frames of the target's own training share (every frame) whose codes are nearest to the (moved)
code, so the output is made of the target's real frames (rules/vc_knn.md). With ``knn_context`` = C
(`--knn-context C`) frames are matched by the codes of frames t−C..t+C side by side (each utterance's
edge frames repeated), in the source and in every prompt of the pool alike (rules/vc_knn_context.md).

Prematching (:func:`prematch`, `vawgan prematch`): a speaker's own prompts read out the same way, each
from the rest of its training share — what kNN-VC trains its vocoder on, so that it learns to undo what
the readout does. Here those (readout, recording) pairs train a pair post-filter (`vawgan
train-postfilter`) that gives the readout's output back its spread (rules/vc_prematch.md).
"""

from __future__ import annotations

import dataclasses
import functools
import json
from pathlib import Path
from typing import Callable, Mapping, NamedTuple, Sequence

import numpy as np
import torch

from .. import distributed
from ..batching import TensorBatches, consecutive_crops
from ..choices import CODE_MOVES, VC_MODELS
from ..config import check_choice, load_run_config
from ..data.frames import denormalize, load_frames, normalize
from ..errors import VawganError
from ..feature_folder import FeatureSettings, has_utterance, load_utterance, uniform_settings
from ..f0 import LogF0Stats, convert_f0
from ..features import Features, FeatureStats, speech_mask
from ..fileio import write_text_atomic
from ..knn import nearest_mean
from ..tasks.vawgan_vc import VAWGANVCConfig, VAWGANVCTask, vc_task
from ..trainer import Trainer, TrainerConfig, seed_everything
from ..outputs import claim_experiment
from .converter import context_windows
from .experiment import Trained, load_task, require_kind
from .folder import CONFIG, NORMALIZATION, checkpoint_path, fit
from .vawgan import dev_monitor, plot_experiment_curves, speech_crops, trajectories

SHARES = "shares.json"
SPLITS = ("disjoint", "shared")


@dataclasses.dataclass(frozen=True)
class SpeakersDataConfig:
    feats: tuple[str, ...] = ()  # each speaker's feature folder, in [vc] speakers' order
    ids: tuple[str, ...] = ()  # training prompts, dealt to the speakers
    dev_ids: tuple[str, ...] = ()  # dev prompts, dealt the same way
    split: str = "disjoint"  # disjoint: non-parallel (prompt k to speaker k mod S); shared: every prompt to all

    SECTION = "data"

    def __post_init__(self):
        check_choice(self, "split", SPLITS)


@dataclasses.dataclass(frozen=True)
class VCExperimentConfig:
    train: TrainerConfig = TrainerConfig()
    vc: VAWGANVCConfig = dataclasses.field(default_factory=lambda: VAWGANVCConfig(speakers=("a", "b")))
    data: SpeakersDataConfig = SpeakersDataConfig()


def load_vc_config(path: str | Path | None, speakers: Sequence[str], **overrides) -> VCExperimentConfig:
    """``[train]``, ``[vc]``, ``[data]`` from a TOML file (or defaults); ``speakers`` as given on the
    command line; ``overrides`` as ``section__key=value``."""
    return load_run_config(VCExperimentConfig, path, ignore=("extract",), vc__speakers=tuple(speakers), **overrides)


def deal(ids: Sequence[str], speakers: Sequence[str], split: str) -> dict[str, list[str]]:
    """Each speaker's prompts: ``disjoint`` deals the sorted ids in turn, ``shared`` gives all to all."""
    ordered = sorted(dict.fromkeys(ids))
    if split == "shared":
        return {s: list(ordered) for s in speakers}
    return {s: ordered[k :: len(speakers)] for k, s in enumerate(speakers)}


def _check_folders(speakers: Sequence[str], feats: Sequence[str], shares: dict[str, list[str]]) -> FeatureSettings:
    if len(feats) != len(speakers):
        raise VawganError(None, f"{len(speakers)} speakers but {len(feats)} feature folders")
    settings = {}
    for name, folder in zip(speakers, feats):
        folder = Path(folder)
        if not folder.is_dir():
            raise VawganError(folder, f"speaker {name!r}: no such feature folder")
        missing = [u for u in shares[name] if not has_utterance(folder, u)]
        if missing:
            raise VawganError(folder, f"speaker {name!r} has no features for {len(missing)} of its "
                                      f"{len(shares[name])} prompts, e.g. {missing[0]}")
        if shares[name]:
            settings[name] = uniform_settings(folder, shares[name])
    first = next(iter(settings.values()))
    if not all(s.matches(first) for s in settings.values()):
        listing = "; ".join(f"{n}: {s}" for n, s in settings.items())
        raise VawganError(None, f"the speakers' features differ in rate, α or frame period ({listing}); extract all alike")
    return first


def _speaker_frames(speakers, feats, shares, threshold) -> tuple[np.ndarray, np.ndarray]:
    frames, labels = [], []
    for k, (name, folder) in enumerate(zip(speakers, feats)):
        if shares[name]:
            f = load_frames(folder, shares[name], threshold)
            frames.append(f)
            labels.append(np.full(len(f), k, np.int64))
    return np.concatenate(frames), np.concatenate(labels)


def _normalize(frames: np.ndarray, labels: np.ndarray, stats: Sequence[FeatureStats]) -> np.ndarray:
    """Each frame normalized with its speaker's statistics (all the same under global normalization)."""
    out = np.empty(frames.shape, np.float32)
    for k, st in enumerate(stats):
        out[labels == k] = normalize(frames[labels == k], st)
    return out


def _speaker_trajectories(speakers, feats, shares, v: VAWGANVCConfig, stats: Sequence[FeatureStats], training: bool = True
                          ) -> tuple[tuple[list[torch.Tensor], list[torch.Tensor], list[torch.Tensor]], list[np.ndarray]]:
    """The conv arch's streams over every speaker's prompts — trajectories normalized with the
    speaker's statistics, the likelihood's masks, the speaker's index at every frame — and the speech
    frames of each (:func:`.vawgan.trajectories`; for ``training``, a crop longer than every utterance
    of a speaker is refused, naming its folder)."""
    frames, masks, labels, speech = [], [], [], []
    for k, (name, folder) in enumerate(zip(speakers, feats)):
        f, m, sp = trajectories(Path(folder), shares[name], v, stats[k], training)
        frames += f
        masks += m
        speech += sp
        labels += [torch.full((len(t),), k, dtype=torch.long) for t in f]
    return (frames, masks, labels), speech


def train_vawgan_vc(exp_dir: str | Path, config: VCExperimentConfig, stages: Sequence[str] | None = None,
                    resume: bool = False, dry_run: bool = False, overwrite: bool = False, progress: bool = True,
                    hooks: Sequence = ()) -> Trainer:
    """Train (some stages of) VAWGAN-VC on ``config.data``; writes the experiment folder."""
    exp_dir = Path(exp_dir)
    claim_experiment(exp_dir, "vc", overwrite)
    speakers, d = config.vc.speakers, config.data
    if not d.ids:
        raise VawganError(None, "no training prompts: give --ids")
    shares = deal(d.ids, speakers, d.split)
    dev_shares = deal(d.dev_ids, speakers, d.split)
    settings = _check_folders(speakers, d.feats, {s: shares[s] + dev_shares[s] for s in speakers})
    seed_everything(config.train.seed)
    distributed.join(config.train.device)
    v = config.vc
    threshold = v.silence_threshold_db if v.drop_silence else None
    frames, labels = _speaker_frames(speakers, d.feats, shares, threshold)
    continuing = resume or (stages is not None and list(stages)[0] != "vae")
    stats = FeatureStats.load(exp_dir / NORMALIZATION) if continuing and (exp_dir / NORMALIZATION).is_file() else FeatureStats.from_frames(frames)
    f0 = {s: LogF0Stats.from_f0((load_utterance(Path(folder), u).f0 for u in shares[s]), folder)
          for s, folder in zip(speakers, d.feats)}
    extra = {"mean": torch.from_numpy(stats.mean), "std": torch.from_numpy(stats.std), **settings.as_extra(),
             "f0": {s: [st.mean, st.std, st.count] for s, st in f0.items()}}
    per_speaker = [stats] * len(speakers)
    if v.normalization == "speaker":
        per_speaker = [FeatureStats.from_frames(frames[labels == k]) for k in range(len(speakers))]
        extra |= {"speaker_mean": torch.from_numpy(np.stack([s.mean for s in per_speaker])),
                  "speaker_std": torch.from_numpy(np.stack([s.std for s in per_speaker]))}
    task = vc_task(v, extra)
    if v.arch == "conv":
        streams, speech = _speaker_trajectories(speakers, d.feats, shares, v, per_speaker)
        batches = speech_crops(list(streams), v, speech)
        dev = None
        if any(dev_shares.values()):
            streams, _ = _speaker_trajectories(speakers, d.feats, dev_shares, v, per_speaker, training=False)
            dev = tuple(consecutive_crops(s, v.segment) for s in streams)
    else:
        batches = TensorBatches(torch.from_numpy(_normalize(frames, labels, per_speaker)), torch.from_numpy(labels),
                                batch_size=config.train.batch_size)
        dev = None
        if any(dev_shares.values()):
            dev_frames, dev_labels = _speaker_frames(speakers, d.feats, dev_shares, threshold)
            dev = (torch.from_numpy(_normalize(dev_frames, dev_labels, per_speaker)), torch.from_numpy(dev_labels))
    if dev is not None:
        hooks = [dev_monitor(exp_dir, dev, keep_old=resume), *hooks]
    trainer = Trainer(task, batches, exp_dir, config.train, progress=progress, hooks=hooks)
    tables = {"train": config.train, "vc": v,
              "data": dataclasses.replace(d, feats=tuple(str(Path(f).resolve()) for f in d.feats))}

    def before_fit():
        stats.save(exp_dir / NORMALIZATION)
        write_text_atomic(exp_dir / SHARES, json.dumps({"train": shares, "dev": dev_shares}, indent=1) + "\n")

    return fit(trainer, exp_dir, tables, stages, resume=resume, dry_run=dry_run, overwrite=overwrite,
               before_fit=before_fit, curves=lambda log: plot_experiment_curves(exp_dir, log))


def speaker_folders(exp_dir: str | Path) -> dict[str, Path]:
    """Each speaker's feature folder, as the experiment's config.toml records them."""
    exp_dir = Path(exp_dir)
    cfg = load_run_config(VCExperimentConfig, exp_dir / CONFIG)
    folders = dict(zip(cfg.vc.speakers, map(Path, cfg.data.feats)))
    for folder in folders.values():
        if not folder.is_dir():
            raise VawganError(exp_dir / CONFIG, f"the feature folder it names does not exist ({folder})")
    return folders


def load_vc(exp_dir: str | Path, stage: str = "adv", which: str = "last") -> Trained:
    """The task at the end of ``stage`` (vae: VAE-VC; adv: VAWGAN-VC) with its normalization."""
    require_kind(exp_dir, "vc")
    if stage not in VC_MODELS:
        raise VawganError(None, f"--stage {stage}: choose vae (VAE-VC) or adv (VAWGAN-VC)")
    return load_task(checkpoint_path(exp_dir, stage, which), VAWGANVCTask, VAWGANVCConfig,
                     make=lambda cfg, ckpt: vc_task(cfg, ckpt["extra"]))


def speaker_stats(trained: Trained, speaker: str) -> FeatureStats:
    """The normalization of ``speaker``'s frames: every speaker's together ([vc] normalization = "global")
    or its own ("speaker")."""
    k = trained.task.speaker_index(speaker)
    if trained.task.config.normalization != "speaker":
        return trained.normalization
    extra = trained.extra
    return FeatureStats(mean=extra["speaker_mean"][k].numpy(), std=extra["speaker_std"][k].numpy(), count=0)


class SpeakerCodes(NamedTuple):
    """Every frame of a speaker's prompts: its code μ (N, latent), its c1..c39 (N, 39), and whether its
    training selected it (N,) ([vc] drop_silence and silence_threshold_db)."""

    codes: torch.Tensor
    frames: torch.Tensor
    selected: torch.Tensor


def speaker_codes(trained: Trained, stats: FeatureStats, folder: str | Path, ids: Sequence[str]) -> SpeakerCodes:
    """:class:`SpeakerCodes` of the prompts ``ids`` in ``folder``, each utterance normalized with ``stats``
    and encoded whole."""
    if not ids:
        raise VawganError(folder, "this speaker had no training prompts: there are no codes of its own")
    v = trained.task.config
    codes, frames, selected = [], [], []
    for utt in ids:
        mcep = load_utterance(Path(folder), utt).mcep
        codes.append(trained.task.codes(torch.from_numpy(normalize(mcep[:, 1:], stats))))
        frames.append(torch.from_numpy(np.ascontiguousarray(mcep[:, 1:], dtype=np.float32)))
        keep = speech_mask(mcep[:, 0], v.silence_threshold_db) if v.drop_silence else np.ones(len(mcep), bool)
        selected.append(torch.from_numpy(keep))
    return SpeakerCodes(torch.cat(codes), torch.cat(frames), torch.cat(selected))


def prompt_codes(trained: Trained, stats: FeatureStats, folder: str | Path, ids: Sequence[str]) -> list[SpeakerCodes]:
    """:func:`speaker_codes` of each prompt of ``ids`` on its own, in order (the pool of a readout, whose
    windows stay inside a prompt and whose prompts can be left out one at a time)."""
    if not ids:
        speaker_codes(trained, stats, folder, ids)  # its refusal
    return [speaker_codes(trained, stats, folder, [utt]) for utt in ids]


def windowed(codes: Sequence[torch.Tensor], context: int) -> torch.Tensor:
    """The codes (T_i, latent) of utterances -> (Σ T_i, (2·context+1)·latent): each frame's code beside those
    of the ``context`` frames either side of it in its own utterance (edge frames repeated)."""
    if context == 0:
        return torch.cat(list(codes))
    return torch.cat([torch.from_numpy(context_windows(c.numpy(), context)) for c in codes])


def read_out(codes: torch.Tensor, keys: torch.Tensor, frames: torch.Tensor, knn: int, context: int) -> np.ndarray:
    """The readout of one utterance's codes (T, latent): the mean c1..c39 (T, 39) of the ``knn`` rows of
    ``frames`` whose ``keys`` (the pool's codes, :func:`windowed` by ``context``) are nearest to its own."""
    return nearest_mean(windowed([codes], context), keys, frames, knn).numpy()


def check_knn_context(knn: int, knn_context: int) -> None:
    """``--knn-context`` is a count of frames, and widens a readout that is given."""
    if knn_context < 0:
        raise VawganError(None, f"--knn-context {knn_context}: give a number of frames either side, or 0")
    if knn_context and not knn:
        raise VawganError(None, f"--knn-context {knn_context} widens the kNN readout's match: give --knn K too")


def code_statistics(codes: SpeakerCodes) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and deviation (latent,) of a speaker's codes over the frames its training selected."""
    chosen = codes.codes[codes.selected]
    return chosen.mean(0), chosen.std(0)


def code_move(code: str, source: tuple[torch.Tensor, torch.Tensor], target: tuple[torch.Tensor, torch.Tensor]
              ) -> Callable[[torch.Tensor], torch.Tensor]:
    """The move of codes (…, latent) from ``source``'s (mean, deviation) to ``target``'s (module docstring)."""
    (m_s, s_s), (m_t, s_t) = source, target
    if code == "shift":
        return lambda z: z - m_s + m_t
    if code == "standardize":
        return lambda z: (z - m_s) / s_s.clamp_min(1e-8) * s_t + m_t
    raise VawganError(None, f"--code {code!r}: choose from {', '.join(CODE_MOVES)}")


class SpeakerConverter:
    """Features -> features of speaker ``to``: c1..c39 through the encoder (z = μ, or moved by ``code``:
    module docstring) and the decoder with ``to``'s embedding, or with ``knn`` = k > 0 the mean c1..c39 of
    the k frames of ``to``'s own training share whose codes are nearest (:mod:`vawgan_tts.knn`); log F0 by
    the Gaussian transform from ``source``'s statistics (the model's, when the source speaker is named;
    else the utterance's own voiced frames) to ``to``'s; c0, V/UV and aperiodicity of the input."""

    def __init__(self, exp_dir: str | Path, to: str, source: str | None = None, stage: str = "adv", which: str = "last",
                 code: str = "as-is", knn: int = 0, knn_context: int = 0):
        if code not in CODE_MOVES:
            raise VawganError(None, f"--code {code!r}: choose from {', '.join(CODE_MOVES)}")
        if knn < 0:
            raise VawganError(None, f"--knn {knn}: give a number of frames, or 0 for the decoder")
        check_knn_context(knn, knn_context)
        self.trained = load_vc(exp_dir, stage, which)
        self.task, stats, extra = self.trained.task, self.trained.normalization, self.trained.extra
        self.to = self.task.speaker_index(to)
        if source is not None:
            self.task.speaker_index(source)
            if source == to:
                raise VawganError(None, f"--to {to!r} is the source speaker: nothing to convert")
        if self.task.config.normalization == "speaker" and source is None:
            raise VawganError(None, "this model normalizes each speaker with its own statistics: name the source "
                                    "speaker with --from")
        self.stats_in = speaker_stats(self.trained, source) if source is not None else stats
        self.stats_out = speaker_stats(self.trained, to)
        self.f0 = {s: LogF0Stats(*v) for s, v in extra["f0"].items()}
        self.source, self.target = source, to
        self.move, self.pool, self.knn, self.context = None, None, knn, knn_context
        if code != "as-is" and source is None:
            raise VawganError(None, f"--code {code} moves the source speaker's codes: name it with --from")
        if code != "as-is" or knn:
            folders, shares = speaker_folders(exp_dir), json.loads((Path(exp_dir) / SHARES).read_text())["train"]
            prompts = prompt_codes(self.trained, self.stats_out, folders[to], shares[to])
            target = SpeakerCodes(*map(torch.cat, zip(*prompts)))
        if code != "as-is":
            own = speaker_codes(self.trained, self.stats_in, folders[source], shares[source])
            self.move = code_move(code, code_statistics(own), code_statistics(target))
        if knn:
            if knn > len(target.codes):
                raise VawganError(folders[to], f"--knn {knn}: {to}'s training share has {len(target.codes)} frames")
            self.pool, self.keys = target, windowed([p.codes for p in prompts], knn_context)

    def __call__(self, feats: Features) -> Features:
        self.trained.check(feats, "the VAWGAN-VC model")
        x = torch.from_numpy(normalize(feats.mcep[:, 1:], self.stats_in))
        if self.pool is None:
            y = denormalize(self.task.convert(x, self.to, self.move).numpy(), self.stats_out)
        else:
            z = self.task.codes(x)
            y = read_out(self.move(z) if self.move else z, self.keys, self.pool.frames, self.knn, self.context)
        mcep = np.concatenate([feats.mcep[:, :1], y.astype(feats.mcep.dtype)], axis=1)
        voiced_f0 = np.where(feats.vuv, feats.f0, 0.0)
        if self.source is not None:
            src = self.f0[self.source]
        else:
            src = LogF0Stats.from_f0([voiced_f0], "the input utterance")
        f0 = np.where(feats.vuv, convert_f0(voiced_f0, src, self.f0[self.target]), feats.f0)
        return dataclasses.replace(feats, mcep=mcep, f0=f0.astype(feats.f0.dtype))


def vc_systems(exp_dir: str | Path, source: str, target: str, stages: Mapping[str, str], checkpoint: str = "last",
               code: str = "as-is", knn: int = 0, knn_context: int = 0) -> Callable[[Features], dict[str, Features]]:
    """A report's VC systems (name → stage, "vae" or "adv") of one direction as one transform
    (``synthesis.synthesize_systems``; picklable through ``functools.partial``); ``checkpoint``: each
    stage's ``last`` or its ``best`` dev epoch; ``code``, ``knn``, ``knn_context``: the code at conversion and
    the readout (module docstring)."""
    converters = {name: SpeakerConverter(exp_dir, target, source, stage=stage, which=checkpoint, code=code, knn=knn,
                                         knn_context=knn_context)
                  for name, stage in stages.items()}
    return functools.partial(_convert_each, converters)


def _convert_each(converters: Mapping[str, "SpeakerConverter"], feats: Features) -> dict[str, Features]:
    return {name: convert(feats) for name, convert in converters.items()}


PREMATCH_FILES = ("*.npz", "train.ids", "dev.ids")  # what `vawgan prematch` writes (and --overwrite removes)


def prematch(exp_dir: str | Path, speaker: str, out_dir: str | Path, knn: int, stage: str = "adv", which: str = "last",
             overwrite: bool = False, on_progress: Callable[[str], None] | None = None, knn_context: int = 0
             ) -> tuple[list[str], list[str]]:
    """``speaker``'s own prompts read out as `--knn` reads a conversion to it (module docstring): each prompt
    of its training share from the rest of the share (the prompt's own frames left out of the pool), each
    of its dev share from the whole share; c1..c39 the mean of the ``knn`` pool frames whose codes (μ of
    ``stage``'s encoder at checkpoint ``which``, in windows of ``knn_context`` frames either side) are nearest;
    c0, F0, V/UV and aperiodicity the recording's.
    Writes OUT/<id>.npz, OUT/train.ids and OUT/dev.ids (the shares) into ``out_dir``, claimed first
    (:func:`.outputs.claim_folder`). Returns the two shares."""
    from ..feature_folder import save_utterance
    from ..outputs import claim_folder

    if knn < 1:
        raise VawganError(None, f"--knn {knn}: give the number of frames the conversion reads out (1 or more)")
    check_knn_context(knn, knn_context)
    trained = load_vc(exp_dir, stage, which)
    stats = speaker_stats(trained, speaker)
    folder = speaker_folders(exp_dir)[speaker]
    shares = json.loads((Path(exp_dir) / SHARES).read_text())
    train, dev = shares["train"][speaker], shares.get("dev", {}).get(speaker, [])
    if not train:
        raise VawganError(folder, f"{speaker} was given no training prompts: there are no frames to read out of")
    own = prompt_codes(trained, stats, folder, train)  # the pool, prompt by prompt
    least = sum(len(c.codes) for c in own) - max((len(c.codes) for c in own), default=0)
    if knn > least:
        raise VawganError(folder, f"--knn {knn}: {speaker}'s training share less its longest prompt has {least} frames")
    readout = f"--knn {knn}" + (f" --knn-context {knn_context}" if knn_context else "")
    claim_folder(out_dir, f"prematch {speaker} {readout} --stage {stage} --checkpoint {which}", [exp_dir, folder],
                 overwrite, written=PREMATCH_FILES)
    keys = [windowed([c.codes], knn_context) for c in own]
    for i, utt in enumerate(train + dev):
        pool = [j for j in range(len(own)) if j != i]
        feats = load_utterance(folder, utt)
        z = trained.task.codes(torch.from_numpy(normalize(feats.mcep[:, 1:], stats)))
        y = read_out(z, torch.cat([keys[j] for j in pool]), torch.cat([own[j].frames for j in pool]), knn, knn_context)
        mcep = np.concatenate([feats.mcep[:, :1], y.astype(feats.mcep.dtype)], axis=1)
        save_utterance(out_dir, utt, feats.replace(mcep=mcep))
        if on_progress is not None:
            on_progress(utt)
    for name, ids in (("train", train), ("dev", dev)):
        write_text_atomic(Path(out_dir) / f"{name}.ids", "".join(f"{u}\n" for u in ids))
    return train, dev
