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
from typing import Callable, Sequence

import numpy as np

from .choices import SYSTEMS
from .errors import VawganError
from .feature_folder import ExtractConfig, feature_ids, load_utterance
from .features import Features, speech_mask
from .audio import AUDIO_SUFFIXES
from .metrics import global_variance
from .postfilters import corpus_ms_db, gv_postfilter, ms_postfilter
from .runs.experiment import cached_arrays
from .runs.folder import CONFIG, POSTFILTER_STATS
from .runs.vawgan import VAWGANEnhancer, experiment_feats, load_experiment_config
from .synthesis import synthesize_corpus


def postfilter_stats(exp_dir: str | Path, vae: VAWGANEnhancer) -> dict[str, np.ndarray]:
    """Natural GV and MS and the VAE output's MS over the training utterances (cached; one cache per
    VAE checkpoint: the last one's keeps its old name, the best one's its own)."""
    exp_dir = Path(exp_dir)

    def compute() -> dict[str, np.ndarray]:
        cfg = load_experiment_config(exp_dir / CONFIG)
        feats_dir, threshold = experiment_feats(exp_dir, cfg), cfg.vawgan.silence_threshold_db
        gvs, nat, gen = [], [], []
        for utt in cfg.data.ids:
            f = load_utterance(feats_dir, utt)
            c = f.mcep[:, 1:]
            gvs.append(global_variance(c[speech_mask(f.mcep[:, 0], threshold)]))
            nat.append(c)
            gen.append(vae.reconstruct(c))
        return {"gv_natural": np.mean(gvs, axis=0), "ms_natural": corpus_ms_db(nat), "ms_vae": corpus_ms_db(gen),
                "threshold_db": np.float64(threshold)}

    name = POSTFILTER_STATS if vae.source.stem == "vae" else f"{Path(POSTFILTER_STATS).stem}_{vae.source.stem}.npz"
    return cached_arrays(exp_dir / name, compute, fresher_than=vae.source)


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
    enhancers = {stage: VAWGANEnhancer(exp_dir, stage, checkpoint) for stage in sorted(stages)}
    stats = postfilter_stats(exp_dir, enhancers["vae"]) if {"gv-pf", "ms-pf"} & set(names) else {}
    return functools.partial(_enhance_each, tuple(names), enhancers, stats)


def _enhance_each(names: tuple[str, ...], enhancers: dict[str, VAWGANEnhancer], stats: dict[str, np.ndarray],
                  feats: Features) -> dict[str, Features]:
    decoded = {stage: enhancer(feats) for stage, enhancer in enhancers.items()}
    return {name: feats if name == "copy" else decoded[_STAGE[name]] if name in ("vae", "vawgan")
            else _postfiltered(name, decoded["vae"], stats) for name in names}


# ------------------------------------------------------------- another system's output: `vawgan enhance`


def output_enhancer(exp_dir: str | Path, method: str, checkpoint: str = "last",
                    system_feats: str | Path | None = None) -> Callable[[Features], Features]:
    """What `vawgan enhance` applies to a system's output with an enhancement VAWGAN (`vawgan train`,
    natural speech only; a pair post-filter is :class:`.runs.vawgan_postfilter.PairPostfilter`, the
    choice :func:`.runs.apply.open_enhancer`'s): its VAE or VAWGAN applied to the output as it is; the
    GV post-filter to its training set's natural GV; the MS post-filter only with ``system_feats``, the
    system's output on training prompts, whose MS it undoes."""
    from .postfilters import StatisticalPostfilter, natural_and_system_stats

    enhancer = VAWGANEnhancer(exp_dir, "adv" if method == "vawgan" else "vae", checkpoint)
    if method in ("vae", "vawgan"):
        return enhancer

    cfg = load_experiment_config(Path(exp_dir) / CONFIG)
    stats = natural_and_system_stats(experiment_feats(exp_dir, cfg), None, cfg.data.ids)
    if system_feats is not None:
        system_feats = Path(system_feats)
        utts = feature_ids(system_feats)
        if not utts:
            raise VawganError(system_feats, "no features (.npz) here: give the system's output on training prompts")
        stats["ms_system"] = corpus_ms_db(load_utterance(system_feats, u).mcep[:, 1:] for u in utts)
    statistical = StatisticalPostfilter(method, stats, exp_dir)

    def postfiltered(feats: Features) -> Features:
        enhancer.trained.check(feats)
        mc = feats.mcep.copy()
        mc[:, 1:] = statistical(mc[:, 1:], mc[:, 0])
        return feats.replace(mcep=mc)

    return postfiltered


def enhance_corpus(inputs: Sequence[str | Path], out_dir: str | Path, transform: Callable[[Features], Features],
                   analysis: ExtractConfig, ids: Sequence[str] | None = None, jobs: int = 1,
                   on_progress: Callable[[str], None] | None = None, result: str | None = None,
                   model: str | Path | None = None, overwrite: bool = False) -> tuple[list[str], dict[str, str]]:
    """Enhance a system's output: ``inputs`` one feature folder (``.npz``), or WAV/FLAC files, folders
    or lists, first analysed with ``analysis`` into ``out_dir/input/``. Writes ``out_dir/<id>.npz``
    and ``.wav`` for every utterance that can be enhanced; each one that cannot (analysis failed,
    unreadable, another rate than the model's) is a line of ``out_dir/failed.tsv`` (id, reason) and
    in the returned ``{id: reason}``, and the others go on. Returns (ids written, failures).
    ``result`` (what `vawgan enhance` names its output with, ``model`` among its inputs): ``out_dir``
    must be new or hold the same result (:func:`.outputs.claim_folder`, ``overwrite`` replaces)."""
    from .extract import run as extract
    from .feature_folder import FAILED

    out_dir = Path(out_dir)
    if result is not None:
        from .outputs import claim_folder

        claim_folder(out_dir, result, [*inputs, *([model] if model is not None else [])], overwrite)
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
