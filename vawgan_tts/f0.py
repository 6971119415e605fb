"""F0 between two speakers: the log-F0 mean/variance transform, and its statistics.

The standard F0 conversion of spectral voice conversion (Toda et al. 2007, eq. 31; sprocket,
gantts): on voiced frames, log F0 is moved from the source speaker's Gaussian to the target's,

    log f0' = μ_tgt + σ_tgt / σ_src · (log f0 − μ_src),

each μ, σ the mean and standard deviation of log F0 over a speaker's voiced training frames.
Unvoiced frames stay unvoiced (F0 0).
"""

from __future__ import annotations

import dataclasses
from typing import Iterable

import numpy as np

from .errors import VawganError


@dataclasses.dataclass(frozen=True)
class LogF0Stats:
    """Mean and standard deviation of log F0 (natural log of Hz) over ``count`` voiced frames."""

    mean: float
    std: float
    count: int

    @classmethod
    def from_f0(cls, f0s: Iterable[np.ndarray], who: str | None = None) -> "LogF0Stats":
        voiced = np.concatenate([np.asarray(f, np.float64)[np.asarray(f) > 0] for f in f0s] or [np.zeros(0)])
        if len(voiced) < 2:
            raise VawganError(who, "too few voiced frames for log-F0 statistics")
        lf0 = np.log(voiced)
        return cls(mean=float(lf0.mean()), std=float(lf0.std()), count=int(len(lf0)))


def convert_f0(f0: np.ndarray, src: LogF0Stats, tgt: LogF0Stats) -> np.ndarray:
    """(T,) Hz, 0 where unvoiced -> (T,) Hz: the log-F0 mean/variance transform of voiced frames."""
    f0 = np.asarray(f0, np.float64)
    out = np.zeros_like(f0)
    voiced = f0 > 0
    out[voiced] = np.exp(tgt.mean + tgt.std / src.std * (np.log(f0[voiced]) - src.mean))
    return out
