"""Classical post-filters against over-smoothing: GV and modulation-spectrum compensation.

Pure functions over mel-cepstral trajectories (T, D) of c1..cD (equations: docs/metrics.md); the
corpus statistics they take (natural GV and MS, a system's MS); and StatisticalPostfilter, one of
them with its statistics bound.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from .errors import VawganError
from .feature_folder import has_utterance, load_utterance
from .features import speech_mask
from .metrics import MS_FFT_SIZE, global_variance, modulation_power, to_db

MS_PF_STRENGTH = 0.85


def gv_postfilter(c: np.ndarray, gv_target: np.ndarray, frames: np.ndarray | None = None) -> np.ndarray:
    """Scale each dimension around its mean so its GV becomes ``gv_target`` (D,):
    ŷ_t(d) = √(v_target(d) / v(d)) · (c_t(d) − μ(d)) + μ(d)   (Toda & Tokuda 2007; sprocket).

    ``frames`` (T,) bool selects the frames whose mean and variance are measured (speech frames);
    every frame is scaled.
    """
    c = np.asarray(c, dtype=np.float64)
    sel = c if frames is None else c[frames]
    mu, var = sel.mean(0), sel.var(0)
    return (np.sqrt(gv_target / np.maximum(var, 1e-12)) * (c - mu) + mu).astype(np.float32)


def ms_postfilter(c: np.ndarray, ms_target_db: np.ndarray, ms_source_db: np.ndarray,
                  strength: float = MS_PF_STRENGTH, fft_size: int = MS_FFT_SIZE) -> np.ndarray:
    """Move each dimension's modulation spectrum toward natural, keeping its phase.

    In each ``fft_size`` segment of the mean-removed trajectory, the Fourier coefficients are
    multiplied by 10^(k·(MS_target(f) − MS_source(f)) / 20), where MS_target and MS_source (F, D)
    are corpus-average modulation spectra (dB) of natural speech and of the system being filtered,
    and k the strength (Takamichi et al. 2016, with the mean difference only). Returns (T, D).
    """
    c = np.asarray(c, dtype=np.float64)
    mu = c.mean(0)
    x = c - mu
    gain = 10.0 ** (strength * (np.asarray(ms_target_db) - np.asarray(ms_source_db)) / 20.0)
    gain[0] = 1.0  # DC: the mean is restored separately
    out = np.empty_like(x)
    for s in range(0, len(x), fft_size):
        seg = x[s : s + fft_size]
        spec = np.fft.rfft(seg, n=fft_size, axis=0) * gain
        out[s : s + fft_size] = np.fft.irfft(spec, n=fft_size, axis=0)[: len(seg)]
    return (out + mu).astype(np.float32)


def corpus_ms_db(trajectories) -> np.ndarray:
    """Average modulation spectrum (dB) of an iterable of (T, D) trajectories."""
    total, n = 0.0, 0
    for c in trajectories:
        total = total + modulation_power(c)
        n += 1
    return to_db(total / n)


def natural_and_system_stats(natural: Path, system: Path | None, ids: Sequence[str]) -> dict[str, np.ndarray]:
    """``gv_natural`` (39,), ``ms_natural`` (F, 39) dB and, with ``system``, ``ms_system`` (F, 39) dB
    over the prompts ``ids`` that have features (on both sides when ``system`` is given)."""
    gvs, nat, sys_ = [], [], []
    for u in ids:
        if not has_utterance(natural, u) or (system is not None and not has_utterance(system, u)):
            continue
        t = load_utterance(natural, u)
        gvs.append(global_variance(t.mcep[speech_mask(t.mcep[:, 0]), 1:]))
        nat.append(t.mcep[:, 1:])
        if system is not None:
            sys_.append(load_utterance(system, u).mcep[:, 1:])
    if not gvs:
        raise VawganError(natural, "no prompt of the training list has features here")
    stats = {"gv_natural": np.mean(gvs, axis=0), "ms_natural": corpus_ms_db(nat)}
    if system is not None:
        stats["ms_system"] = corpus_ms_db(sys_)
    return stats


class StatisticalPostfilter:
    """The GV (``gv-pf``) or MS (``ms-pf``) post-filter of a system's mel-cepstra with given statistics:
    ``gv_natural`` (D,) for GV; ``ms_natural`` and ``ms_system`` (F, D) dB for MS, the latter the MS of
    the very system being filtered (its output on training prompts), without which the MS post-filter
    does not know what to undo."""

    def __init__(self, method: str, stats: dict, source=None):
        need = {"gv-pf": ("gv_natural",), "ms-pf": ("ms_natural", "ms_system")}
        if method not in need:
            raise VawganError(None, f"post-filter {method!r}: choose from {', '.join(need)}")
        absent = [k for k in need[method] if k not in stats]
        if absent:
            what = ("the modulation spectrum of the system being filtered: give its output on training prompts "
                    "(--system-feats)") if "ms_system" in absent else ", ".join(absent)
            raise VawganError(source, f"the {method} post-filter needs {what}")
        self.method, self.stats = method, stats

    def __call__(self, c: np.ndarray, c0: np.ndarray) -> np.ndarray:
        """(T, D) c1..cD and (T,) c0 (which frames are speech, for the GV's mean and variance) -> (T, D)."""
        if self.method == "gv-pf":
            return gv_postfilter(c, self.stats["gv_natural"], speech_mask(c0))
        return ms_postfilter(c, self.stats["ms_natural"], self.stats["ms_system"])
