"""How sure a corpus figure is: bootstrap confidence intervals and paired randomization tests,
resampling utterances (scipy.stats.bootstrap, scipy.stats.permutation_test).

A corpus figure here is any function of a set of utterances: a mean of per-utterance values (MCD),
or a distance between corpus statistics (the mean GV of the utterances against the natural mean GV).
Both resamplers see it the same way, as ``statistic(w)``: ``w`` (..., n) holds each utterance's
weight in a resampled corpus (how often it was drawn over how many draws; rows sum to 1), and the
statistic returns (...,), one figure per row. That keeps every figure resampled as a whole — a
corpus GV distance is recomputed from resampled GVs, not averaged from per-utterance distances.

Utterances are the unit of resampling: frames of one utterance are not independent. A mean of
per-utterance scores gets the BCa bootstrap interval (bias-corrected and accelerated; Efron 1987),
scipy's default. A distance between corpus statistics does not: a bootstrap corpus repeats
utterances, so it averages fewer distinct ones, and a distance between averaged spectra grows with
the noise left in them — on the demo's 20 first eval utterances every one of 500 bootstrap MS
distances of the GV post-filter lay above the corpus figure (1.62–1.69 dB against 1.34), so no
percentile or BCa interval can cover it. Those figures get the jackknife's interval instead
(leave one utterance out, n − 1 distinct utterances each time; Efron & Tibshirani 1993, ch. 11):
estimate ± z·SE_jack. The paired test exchanges,
utterance by utterance, which of the two systems an utterance's result belongs to (a randomization
test for matched pairs; exact when 2^n ≤ the number of resamples) and returns the two-sided p-value
of the difference of the two systems' figures. Equations and choices: docs/metrics.md.
"""

from __future__ import annotations

import warnings
from typing import Callable

import numpy as np
import scipy.stats

CONFIDENCE = 0.95
N_RESAMPLES = 2000
_BATCH = 50  # resamples per call: bounds memory for statistics over (n, F, D) arrays

Statistic = Callable[[np.ndarray], np.ndarray]


def utterance_weights(idx: np.ndarray, n: int) -> np.ndarray:
    """Resampled utterance indices -> weights. (..., m) ints in [0, n) -> (..., n), rows sum to 1."""
    idx = np.asarray(idx)
    flat = idx.reshape(-1, idx.shape[-1])
    w = np.zeros((len(flat), n))
    np.add.at(w, (np.arange(len(flat))[:, None], flat), 1.0)
    return (w / idx.shape[-1]).reshape(idx.shape[:-1] + (n,))


def weighted_nanmean(w: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Mean of per-utterance values under weights, leaving out NaN values. (..., n), (n,) -> (...);
    NaN where every weighted value is NaN."""
    values = np.asarray(values, np.float64)
    ok = np.isfinite(values)
    num = w @ np.where(ok, values, 0.0)
    den = w @ ok.astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


def bootstrap_interval(statistic: Statistic, n: int, confidence: float = CONFIDENCE,
                       n_resamples: int = N_RESAMPLES, seed: int = 0) -> tuple[float, float]:
    """BCa bootstrap interval of a corpus figure over ``n`` utterances. (nan, nan) when the figure
    does not vary under resampling (one utterance, a constant) or is undefined (NaN)."""
    if n < 2 or not np.isfinite(statistic(np.full((1, n), 1.0 / n))[0]):
        return float("nan"), float("nan")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scipy's DegenerateDataWarning: reported as NaN instead
        res = scipy.stats.bootstrap(
            (np.arange(n),), lambda idx, axis=-1: statistic(utterance_weights(idx, n)), vectorized=True,
            confidence_level=confidence, n_resamples=n_resamples, batch=_BATCH, method="BCa",
            random_state=np.random.default_rng(seed))
    return float(res.confidence_interval.low), float(res.confidence_interval.high)


def jackknife_interval(statistic: Statistic, n: int, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Normal interval from the jackknife standard error: θ̂ ± z_(1+c)/2 · SE, with
    SE² = (n − 1)/n · Σ_i (θ_(i) − θ̄_(·))², θ_(i) the figure without utterance i. (nan, nan) for
    n < 2 or an undefined figure. scipy has no public jackknife (its BCa uses a private one)."""
    if n < 2:
        return float("nan"), float("nan")
    estimate = float(statistic(np.full((1, n), 1.0 / n))[0])
    leave_one_out = (1.0 - np.eye(n)) / (n - 1)
    theta = np.concatenate([statistic(leave_one_out[i : i + _BATCH]) for i in range(0, n, _BATCH)])
    if not np.isfinite(estimate) or not np.all(np.isfinite(theta)):
        return float("nan"), float("nan")
    se = np.sqrt((n - 1) / n * np.sum((theta - theta.mean()) ** 2))
    z = scipy.stats.norm.ppf((1 + confidence) / 2)
    return estimate - z * se, estimate + z * se


def paired_test(statistic: Statistic, n: int, n_resamples: int = N_RESAMPLES, seed: int = 0) -> float:
    """Two-sided p-value that two systems' figures differ, from their results on the same ``n``
    utterances. ``statistic`` takes weights over the 2n stacked results, system A's n first, then
    B's (row i and row n + i are one utterance); it is given a corpus holding one of each pair."""
    if n < 2:
        return float("nan")

    def difference(x, y, axis=-1):
        return statistic(utterance_weights(x, 2 * n)) - statistic(utterance_weights(y, 2 * n))

    res = scipy.stats.permutation_test((np.arange(n), np.arange(n) + n), difference, permutation_type="samples",
                                       vectorized=True, n_resamples=n_resamples, batch=_BATCH,
                                       alternative="two-sided", random_state=np.random.default_rng(seed))
    return float(res.pvalue)
