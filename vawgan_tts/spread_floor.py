"""The accuracy a post-filter must give up to restore spread: the lowest error any function of a
system's output can have when its output has a given global variance.

Take one coefficient, natural y and a system's output x, and write a = Var E[y|x] for the part of
natural's variance that x can predict at best, in units of Var y (so 0 ≤ a ≤ 1). Any post-filter
f(x) whose output has variance V has

    E[(y − f)²] ≥ 1 + V − 2√(aV)           (in units of Var y, means matched)

because Cov(y, f) = Cov(E[y|x], f) ≤ √(aV) (Cauchy–Schwarz). The floor is reached by scaling the
conditional mean about its mean, f = m + √(V/a)(E[y|x] − m): the GV post-filter (Toda & Tokuda 2007)
applied to the best predictor. At V = a it is the least error, 1 − a; at V = 1 (natural spread) it
is 2 − 2√a. Anything f adds that E[y|x] does not hold (noise, detail drawn from a latent) is
uncorrelated with y given x and only raises the error above the floor at the same V. This is the
perception–distortion trade-off of Blau & Michaeli (CVPR 2018) for squared error; Freirich, Michaeli
& Meir (NeurIPS 2021) show that with the whole distribution matched (not only its variance) the best
estimator is a deterministic transport of the conditional mean, which for Gaussians is this scaling.

In mel-cepstral distortion: MCD² is proportional to the squared error summed over coefficients, so a
predictor measured at DTW-MCD ``mcd`` with GV ratio ``a`` (taken as E[y|x], whose error is 1 − a)
gives the floor at GV ratio V as ``mcd · √((1 + V − 2√(aV)) / (1 − a))``; a can instead be calibrated
on another conditional mean's MCD and GV ratio (:func:`predictable_share`). That carries approximations
(one a for every coefficient, MCD's mean of per-frame roots taken as the root of the mean, DTW's
pairing fixed); README "What the goal asks of the mean" checks it against the GV post-filter's
measured points.
"""

from __future__ import annotations

import numpy as np


def mse_floor(a: float, v) -> np.ndarray:
    """The least mean squared error, in units of the target's variance, of any f(x) whose output has
    variance ``v`` (same units; scalar or array), given Var E[y|x] = ``a``: 1 + v − 2√(a·v)."""
    if not 0.0 <= a <= 1.0:
        raise ValueError(f"a = {a}: the predictable share of a variance lies in [0, 1]")
    v = np.asarray(v, dtype=np.float64)
    if np.any(v < 0):
        raise ValueError("an output variance cannot be negative")
    return 1.0 + v - 2.0 * np.sqrt(a * v)


def mcd_floor(mcd: float, a: float, v) -> np.ndarray:
    """The DTW-MCD floor (dB) at GV ratio ``v`` of post-filters of a predictor measured at ``mcd`` dB
    and taken as the conditional mean, with predictable share ``a`` < 1 (its own GV ratio, or
    :func:`predictable_share` against a reference): ``mcd · √(mse_floor(a, v) / (1 − a))``, its error
    being 1 − a. At v = a it returns ``mcd``."""
    if not 0.0 <= a < 1.0:
        raise ValueError(f"a = {a}: a conditional mean's share of the target's variance lies in [0, 1)")
    return mcd * np.sqrt(mse_floor(a, v) / (1.0 - a))


def predictable_share(mcd: float, mcd_ref: float, gv_ratio_ref: float) -> float:
    """a of a predictor at ``mcd`` dB, calibrated on a reference conditional mean at ``mcd_ref`` dB
    and GV ratio ``gv_ratio_ref`` (the error unit is mcd_ref² / (1 − gv_ratio_ref)):
    a = 1 − (mcd / mcd_ref)² (1 − gv_ratio_ref)."""
    return float(1.0 - (mcd / mcd_ref) ** 2 * (1.0 - gv_ratio_ref))
