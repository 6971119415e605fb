"""Enhancement over features. First what `vawgan synth --system` applies (the enhancement VAWGAN's
own layout, natural speech reconstructed); then what `vawgan enhance` applies to another system's
output (:func:`output_enhancer`, :func:`enhance_corpus`: features or WAVs in, per-file failures).

  copy    the features unchanged (the vocoder alone)
  vae     encode c1..c39 (z = μ), decode with the decoder as it was after the VAE stage
  vawgan  the same with the decoder after the adversarial stage
  gv-pf   the VAE output, GV post-filtered to the natural GV of the training set
  ms-pf   the VAE output, MS post-filtered toward the natural MS of the training set

c0, F0, V/UV and aperiodicity are copied through. The post-filters' statistics (natural GV and MS,
the VAE output's MS, all over the training utterances) are computed once and cached in
EXP/postfilter_stats.npz.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Sequence

import numpy as np
import torch

from .choices import SYSTEMS
from .data.frames import denormalize, normalize
from .errors import VawganError
from .feature_folder import load_utterance
from .features import Features, load_features, speech_mask
from .audio import AUDIO_SUFFIXES
from .fileio import atomic_path
from .metrics import global_variance
from .postfilters import corpus_ms_db, gv_postfilter, ms_postfilter
from .synthesis import synthesize_corpus

if TYPE_CHECKING:
    from .extract import ExtractConfig

PF_STATS = "postfilter_stats.npz"


class ModelEnhancer:
    """Reconstruct c1..c39 through a trained VAE's z = μ."""

    def __init__(self, exp_dir: str | Path, stage: str, checkpoint: str = "last"):
        from .runs.folder import checkpoint_path
        from .runs.vawgan import load_trained

        self.task, self.stats, self.extra = load_trained(exp_dir, stage, checkpoint)
        self.source = checkpoint_path(exp_dir, stage, checkpoint)

    def check(self, feats: Features, path) -> None:
        fs, alpha = int(self.extra["fs"]), float(self.extra["alpha"])
        if feats.fs != fs or abs(feats.alpha - alpha) > 1e-6:
            raise VawganError(path, f"features at fs={feats.fs}, alpha={feats.alpha:.3f}; the model {self.source} was trained at fs={fs}, alpha={alpha:.3f}")

    @torch.no_grad()
    def c(self, c: np.ndarray) -> np.ndarray:
        x = torch.from_numpy(normalize(c, self.stats))
        y = self.task.reconstruct(x).numpy()
        return denormalize(y, self.stats)

    def __call__(self, feats: Features) -> Features:
        self.check(feats, None)
        mc = feats.mcep.copy()
        mc[:, 1:] = self.c(mc[:, 1:])
        return feats.replace(mcep=mc)


def postfilter_stats(exp_dir: str | Path, vae: ModelEnhancer) -> dict[str, np.ndarray]:
    """Natural GV and MS and the VAE output's MS over the training utterances (cached)."""
    exp_dir = Path(exp_dir)
    # One cache per VAE checkpoint: the last one's keeps its old name, the best one's its own.
    cache = exp_dir / (PF_STATS if vae.source.stem == "vae" else f"postfilter_stats_{vae.source.stem}.npz")
    if cache.is_file() and cache.stat().st_mtime >= vae.source.stat().st_mtime:
        with np.load(cache) as z:
            return {k: z[k] for k in z.files}
    from .runs.folder import CONFIG
    from .runs.vawgan import experiment_feats, load_experiment_config

    cfg = load_experiment_config(exp_dir / CONFIG)
    feats_dir, threshold = experiment_feats(exp_dir, cfg), cfg.vawgan.silence_threshold_db
    gvs, nat, gen = [], [], []
    for utt in cfg.data.ids:
        f = load_utterance(feats_dir, utt)
        c = f.mcep[:, 1:]
        gvs.append(global_variance(c[speech_mask(f.mcep[:, 0], threshold)]))
        nat.append(c)
        gen.append(vae.c(c))
    stats = {"gv_natural": np.mean(gvs, axis=0), "ms_natural": corpus_ms_db(nat), "ms_vae": corpus_ms_db(gen),
             "threshold_db": np.float64(threshold)}
    with atomic_path(cache) as tmp, open(tmp, "wb") as fh:
        np.savez(fh, **stats)
    return stats


def make_system(name: str, exp_dir: str | Path | None, checkpoint: str = "last") -> Callable[[Features], Features] | None:
    """The transform of system ``name`` (None for copy); ``checkpoint``: each stage's ``last``
    checkpoint or its ``best`` dev epoch."""
    if name not in SYSTEMS:
        raise VawganError(None, f"unknown system {name!r}; choose from {', '.join(SYSTEMS)}")
    if name == "copy":
        return None
    if exp_dir is None:
        raise VawganError(None, f"system {name!r} needs a trained model: give -m EXP")
    systems = enhancement_systems(exp_dir, [name], checkpoint)
    return lambda feats: systems(feats)[name]


_STAGE = {"vae": "vae", "gv-pf": "vae", "ms-pf": "vae", "vawgan": "adv"}  # whose decoder each system uses


def _postfiltered(name: str, vae_output: Features, stats: dict[str, np.ndarray]) -> Features:
    mc = vae_output.mcep.copy()
    if name == "gv-pf":
        mc[:, 1:] = gv_postfilter(mc[:, 1:], stats["gv_natural"], speech_mask(mc[:, 0], float(stats["threshold_db"])))
    else:
        mc[:, 1:] = ms_postfilter(mc[:, 1:], stats["ms_natural"], stats["ms_vae"])
    return vae_output.replace(mcep=mc)


def enhancement_systems(exp_dir: str | Path, names: Sequence[str], checkpoint: str = "last"
                        ) -> Callable[[Features], dict[str, Features]]:
    """The systems ``names`` of the enhancement report as one transform (``synthesis.synthesize_systems``;
    picklable through ``functools.partial``): each stage's decoder runs once per utterance, and the
    post-filters filter the VAE output that the ``vae`` system is."""
    for name in names:
        if name not in SYSTEMS:
            raise VawganError(None, f"unknown system {name!r}; choose from {', '.join(SYSTEMS)}")
    stages = {_STAGE[n] for n in names if n != "copy"}
    enhancers = {stage: ModelEnhancer(exp_dir, stage, checkpoint) for stage in sorted(stages)}
    stats = postfilter_stats(exp_dir, enhancers["vae"]) if {"gv-pf", "ms-pf"} & set(names) else {}
    return functools.partial(_enhance_each, tuple(names), enhancers, stats)


def _enhance_each(names: tuple[str, ...], enhancers: dict[str, ModelEnhancer], stats: dict[str, np.ndarray],
                  feats: Features) -> dict[str, Features]:
    decoded = {stage: enhancer(feats) for stage, enhancer in enhancers.items()}
    return {name: feats if name == "copy" else decoded[_STAGE[name]] if name in ("vae", "vawgan")
            else _postfiltered(name, decoded["vae"], stats) for name in names}


# ------------------------------------------------------------- another system's output: `vawgan enhance`


def output_enhancer(exp_dir: str | Path, method: str, checkpoint: str = "last", adv_weight: float | None = None,
                    system_feats: str | Path | None = None, seed: int = 0,
                    inference_z: str | None = None) -> Callable[[Features], Features]:
    """What `vawgan enhance` applies to a system's output features.

    ``exp_dir`` a pair post-filter (`vawgan train-postfilter`): its VAWGAN or VAE stage, or the GV / MS
    post-filter with its own statistics (natural GV and MS, the system's MS, of its training prompts).
    ``exp_dir`` an enhancement VAWGAN (`vawgan train`, natural speech only): its VAE or VAWGAN applied to
    the output as it is; the GV post-filter to its training set's natural GV; the MS post-filter only
    with ``system_feats``, the system's output on training prompts, whose MS it undoes. ``seed`` and
    ``inference_z``: a conv post-filter's noise and latent (:class:`.runs.pair_postfilter.PairPostfilter`)."""
    from .choices import ENHANCE_METHODS
    from .postfilters import StatisticalPostfilter, natural_and_system_stats
    from .runs.pair_postfilter import PairPostfilter, is_pair_postfilter

    if method not in ENHANCE_METHODS:
        raise VawganError(None, f"method {method!r}: choose from {', '.join(ENHANCE_METHODS)}")
    if is_pair_postfilter(exp_dir):
        if system_feats is not None:
            raise VawganError(exp_dir, "a pair post-filter has its own system's statistics (its training pairs); "
                                       "--system-feats is for an enhancement VAWGAN trained on natural speech")
        return PairPostfilter(exp_dir, method, checkpoint, adv_weight, seed=seed, inference_z=inference_z)
    if inference_z is not None:
        raise VawganError(exp_dir, "--z is for a conv pair post-filter (`vawgan train-postfilter`); this is an "
                                   "enhancement VAWGAN")
    enhancer = ModelEnhancer(exp_dir, "adv" if method == "vawgan" else "vae", checkpoint)
    if method in ("vae", "vawgan"):
        return enhancer
    from .runs.folder import CONFIG
    from .runs.vawgan import experiment_feats, load_experiment_config

    cfg = load_experiment_config(Path(exp_dir) / CONFIG)
    stats = natural_and_system_stats(experiment_feats(exp_dir, cfg), None, cfg.data.ids)
    if system_feats is not None:
        system_feats = Path(system_feats)
        from .feature_folder import feature_ids

        utts = feature_ids(system_feats)
        if not utts:
            raise VawganError(system_feats, "no features (.npz) here: give the system's output on training prompts")
        stats["ms_system"] = corpus_ms_db(load_utterance(system_feats, u).mcep[:, 1:] for u in utts)
    statistical = StatisticalPostfilter(method, stats, exp_dir)

    def postfiltered(feats: Features) -> Features:
        enhancer.check(feats, None)
        mc = feats.mcep.copy()
        mc[:, 1:] = statistical(mc[:, 1:], mc[:, 0])
        return feats.replace(mcep=mc)

    return postfiltered


def analysis_settings(exp_dir: str | Path) -> ExtractConfig:
    """The WORLD analysis settings a model's input features were extracted with (how `vawgan enhance`
    analyses WAVs): a pair post-filter's ``[extract]``, else the extraction folder's settings file of
    an enhancement VAWGAN (its sampling rate alone when that file is gone)."""
    from .config import from_dict, load_toml
    from .runs.folder import CONFIG
    from .runs.vawgan import experiment_feats, load_experiment_config, load_trained
    from .extract import ExtractConfig
    from .feature_folder import analysis_settings as folder_settings
    from .runs.pair_postfilter import is_pair_postfilter

    exp_dir = Path(exp_dir)
    if is_pair_postfilter(exp_dir):
        return from_dict(ExtractConfig, load_toml(exp_dir / CONFIG).get("extract", {}), exp_dir / CONFIG)
    feats = experiment_feats(exp_dir, load_experiment_config(exp_dir / CONFIG))
    settings = folder_settings(feats)
    if settings is not None:
        return settings
    return ExtractConfig(fs=int(load_trained(exp_dir, "vae")[2]["fs"]))


def enhance_corpus(inputs: Sequence[str | Path], out_dir: str | Path, transform: Callable[[Features], Features],
                   analysis: ExtractConfig, ids: Sequence[str] | None = None, jobs: int = 1,
                   on_progress: Callable[[str], None] | None = None) -> tuple[list[str], dict[str, str]]:
    """Enhance a system's output: ``inputs`` one feature folder (``.npz``), or WAV/FLAC files, folders
    or lists, first analysed with ``analysis`` into ``out_dir/input/``. Writes ``out_dir/<id>.npz``
    and ``.wav`` for every utterance that can be enhanced; each one that cannot (analysis failed,
    unreadable, another rate than the model's) is a line of ``out_dir/failed.tsv`` (id, reason) and
    in the returned ``{id: reason}``, and the others go on. Returns (ids written, failures)."""
    from .extract import run as extract
    from .feature_folder import FAILED, feature_ids

    out_dir = Path(out_dir)
    single = Path(inputs[0]) if len(inputs) == 1 else None
    if single is not None and single.is_dir() and feature_ids(single):
        feats_dir, utts, failures = single, list(ids or feature_ids(single)), {}
    else:
        if single is not None and single.is_dir() and not any(p.suffix.lower() in AUDIO_SUFFIXES for p in single.rglob("*")):
            raise VawganError(single, "nothing to enhance: no features (.npz) and no .wav or .flac files")
        feats_dir = out_dir / "input"
        summary = extract(inputs, feats_dir, analysis, jobs=jobs)
        failures = {o.utt: f"{o.source}: {o.reason}" for o in summary.failed}
        utts = [o.utt for o in summary.outcomes if o.status != "failed" and (not ids or o.utt in ids)]
    written = synthesize_corpus(feats_dir, out_dir, utts, transform, on_progress, failures)
    _write_failures(out_dir / FAILED, failures)
    return written, failures


def _write_failures(path: Path, failures: dict[str, str]) -> None:
    from .fileio import write_text_atomic

    if failures:
        rows = ["utt\treason"] + [f"{u}\t{' '.join(r.split())}" for u, r in sorted(failures.items())]
        write_text_atomic(path, "\n".join(rows) + "\n")
    else:
        path.unlink(missing_ok=True)
