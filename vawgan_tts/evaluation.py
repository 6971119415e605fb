"""Corpus-level evaluation: natural features vs one or more systems' features, paired by id.

GV and MCD are computed on speech frames (the natural utterance's frames within
``speech_threshold_db`` of its loudest); the modulation spectrum needs whole trajectories and uses
every frame. Each system is scored on the same utterances.

Frames are paired by time alignment. ``align="auto"`` pairs frame t with frame t when the two
utterances are equally long (a system that keeps the natural timing: analysis–synthesis, an
enhancer) and by DTW otherwise; ``align="dtw"`` always aligns by DTW of the two utterances' speech
frames (:func:`vawgan_tts.alignment.align_utterance`), for systems with their own timing (a
synthesizer, a converter from another speaker) whose length may equal the natural one by chance.
F0 RMSE (cents) is taken over aligned pairs voiced in both, the V/UV error over all aligned pairs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable, Mapping, Sequence

import numpy as np

from .alignment import DEFAULT_BAND, align_utterance
from .choices import ALIGNMENTS
from .errors import VawganError
from .feature_folder import feature_ids
from .features import SPEECH_THRESHOLD_DB, Features, load_features, speech_mask
from .fileio import write_text_atomic
from . import metrics as M
from .plots import NATURAL, plot_gv, plot_ms, plot_scatter

METRICS_JSON = "metrics.json"
MS_PLOT_DIMS = (1, 2, 5, 13)
SCATTER_POINTS = 4000


def _check_compatible(nat: Features, gen: Features, gen_path: Path, nat_path: Path) -> None:
    if gen.fs != nat.fs or abs(gen.alpha - nat.alpha) > 1e-6 or gen.frame_period != nat.frame_period:
        raise VawganError(
            gen_path,
            f"features at fs={gen.fs}, alpha={gen.alpha:.3f}, {gen.frame_period} ms do not match "
            f"{nat_path} (fs={nat.fs}, alpha={nat.alpha:.3f}, {nat.frame_period} ms)",
        )


class _Accumulator:
    """Running per-corpus sums for one system."""

    def __init__(self):
        self.gv: list[np.ndarray] = []
        self.ms_power = 0.0
        self.mcd: list[float] = []
        self.f0_rmse: list[float] = []
        self.vuv_error: list[float] = []
        self.frames: list[np.ndarray] = []

    def add(self, c: np.ndarray, speech: np.ndarray, mcd: float | None = None, f0_rmse: float | None = None,
            vuv_error: float | None = None):
        self.gv.append(M.global_variance(c[speech]))
        self.ms_power = self.ms_power + M.modulation_power(c)
        self.frames.append(c[speech])
        if mcd is not None:
            self.mcd.append(mcd)
            self.f0_rmse.append(f0_rmse)
            self.vuv_error.append(vuv_error)

    def gv_mean(self) -> np.ndarray:
        return np.mean(self.gv, axis=0)

    def ms_db(self) -> np.ndarray:
        return M.to_db(self.ms_power / len(self.gv))

    def sample(self, rng: np.random.Generator) -> np.ndarray:
        f = np.concatenate(self.frames)
        return f[rng.choice(len(f), size=min(SCATTER_POINTS, len(f)), replace=False)]


def evaluate(
    natural_dir: str | Path,
    systems: Mapping[str, str | Path],
    out_dir: str | Path,
    ids: Sequence[str] | None = None,
    speech_threshold_db: float = SPEECH_THRESHOLD_DB,
    plots: bool = True,
    on_progress: Callable[[int, int], None] | None = None,
    align: str = "auto",
    band: float | None = DEFAULT_BAND,
) -> dict:
    """Score each system against the natural features; write ``metrics.json`` (and PNGs).

    Returns ``{"systems": {name: {"gv_distance", "ms_distance", "mcd_db", "gv_ratio",
    "f0_rmse_cents", "vuv_error", "utterances"}}, "settings": {...}}``. Distances are in dB; see
    docs/metrics.md. ``align``: "auto" or "dtw" (module docstring); ``band``: DTW's band.
    """
    if align not in ALIGNMENTS:
        raise VawganError(None, f"alignment {align!r}: choose from {', '.join(ALIGNMENTS)}")
    if not systems:
        raise VawganError(None, "no system to evaluate: give at least one NAME=DIR")
    if NATURAL in systems:
        raise VawganError(None, f"{NATURAL!r} is the reference; name the system something else")
    natural_dir = Path(natural_dir)
    common = set(feature_ids(natural_dir))
    if not common:
        raise VawganError(natural_dir, "no .npz features")
    if ids is not None:
        common &= set(ids)
    for name, folder in systems.items():
        have = set(feature_ids(folder))
        if not have & common:
            raise VawganError(folder, f"system {name!r} has no utterance in common with {natural_dir}")
        common &= have
    utts = sorted(common)

    nat_acc = _Accumulator()
    acc = {name: _Accumulator() for name in systems}
    fs = frame_period = None
    for n_done, utt in enumerate(utts, 1):
        nat_path = natural_dir / f"{utt}.npz"
        nat = load_features(nat_path)
        fs, frame_period = nat.fs, nat.frame_period
        speech = speech_mask(nat.mcep[:, 0], speech_threshold_db)
        c_nat = nat.mcep[:, 1:]
        nat_acc.add(c_nat, speech)
        for name, folder in systems.items():
            gen_path = Path(folder) / f"{utt}.npz"
            gen = load_features(gen_path)
            _check_compatible(nat, gen, gen_path, nat_path)
            c_gen = gen.mcep[:, 1:]
            if align == "dtw":
                pairs = align_utterance(c_gen, gen.mcep[:, 0], c_nat, nat.mcep[:, 0], band, speech_threshold_db,
                                        (gen_path, nat_path))
                i, j = pairs[:, 1], pairs[:, 0]
            else:
                i, j = M.align(c_nat, c_gen)
                i, j = i[speech[i]], j[speech[i]]
            mcd = float(np.mean(M.frame_mcd(c_nat[i], c_gen[j])))
            # The generated frames aligned to natural speech frames: same selection for GV.
            gen_speech = np.zeros(len(c_gen), bool)
            gen_speech[j] = True
            f0_gen = np.where(gen.vuv, gen.f0, 0.0)
            acc[name].add(c_gen, gen_speech, mcd, M.f0_rmse_cents(nat.f0[i], f0_gen[j]), M.vuv_error(nat.vuv[i], gen.vuv[j]))
        if on_progress is not None:
            on_progress(n_done, len(utts))

    freqs = M.ms_frequencies(M.MS_FFT_SIZE, frame_period)
    gv_nat, ms_nat = nat_acc.gv_mean(), nat_acc.ms_db()
    result = {"systems": {}, "settings": {
        "natural": str(natural_dir),
        "utterances": len(utts),
        "speech_threshold_db": speech_threshold_db,
        "alignment": align,
        "dtw_band": band,
        "ms_fft_size": M.MS_FFT_SIZE,
        "ms_max_hz": M.MS_MAX_HZ,
        "fs": fs,
    }}
    gv_all = {NATURAL: gv_nat}
    ms_all = {NATURAL: ms_nat}
    for name, a in acc.items():
        gv, ms = a.gv_mean(), a.ms_db()
        gv_all[name], ms_all[name] = gv, ms
        result["systems"][name] = {
            "gv_distance": float(M.log_gv_distance(gv_nat, gv)),
            "ms_distance": float(M.ms_distance(ms_nat, ms, freqs)),
            "mcd_db": float(np.nanmean(a.mcd)),
            "gv_ratio": float(np.mean(gv / gv_nat)),
            "f0_rmse_cents": float(np.nanmean(a.f0_rmse)) if not np.all(np.isnan(a.f0_rmse)) else float("nan"),
            "vuv_error": float(np.nanmean(a.vuv_error)),
            "utterances": len(a.mcd),
        }
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if plots:
        rng = np.random.default_rng(0)
        plot_gv(gv_all, out_dir / "gv.png")
        plot_ms(ms_all, freqs, MS_PLOT_DIMS, out_dir / "ms.png")
        frames = {NATURAL: nat_acc.sample(rng)} | {n: a.sample(rng) for n, a in acc.items()}
        plot_scatter(frames, out_dir / "scatter.png")
    write_text_atomic(out_dir / METRICS_JSON, json.dumps(result, indent=2) + "\n")
    return result


def parse_system(spec: str) -> tuple[str, Path]:
    """'NAME=DIR' -> (NAME, DIR)."""
    name, sep, folder = spec.partition("=")
    if not sep or not name or not folder:
        raise VawganError(None, f"--generated {spec!r}: expected NAME=DIR")
    return name, Path(folder)
