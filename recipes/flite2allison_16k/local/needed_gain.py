"""Does the gain a system's output needs follow that output's own level? Per prompt, per band of modulation
frequency and per coefficient c1..c39: ℓ_sys, the log of the system's periodogram averaged over the band (mean
removed, the whole utterance, zero-padded to the power of two at least 2T, as the knot spread filter's DFT),
and the gain natural speech needs over it, ℓ_nat − ℓ_sys (the natural recording of the same prompt, measured
alike). Over the prompts, the least-squares slope of the need on ℓ_sys and its R², averaged over
coefficients; and the same on the log length, and on both. Last, the slope free of shared noise: the need
of each prompt's second half (natural second half less the system's) on the level of the system's first
half, whose periodogram's noise is its own.

A fixed gain per band (the knot spread filter, the GV post-filter) gives every prompt the mean need; a
slope near 0 says that is all there is to give. The MS post-filter takes each prompt to one target spectrum,
a need of slope −1 on ℓ_sys (models/spread_filter.py, ``adaptive``: s = −½ on log amplitude). But the
need and ℓ_sys share ℓ_sys's estimation noise, which biases the slope towards −1 and R² up; the halves'
slope has no such bias, and is what a gain following a measured level can use (it measures the level
with noise of its own).

Usage (in the recipe folder): python local/needed_gain.py NATURAL IDS SYSTEM_FOLDER
e.g. python local/needed_gain.py dump/natural lists/dev.ids exp/rms/pm/converted_train-s0
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from scipy.stats import linregress

from vawgan_tts.feature_folder import load_utterance

BANDS = ((0.3, 1.5), (1.5, 4.0), (4.0, 10.0), (10.0, 30.0), (30.0, 100.0))  # Hz of modulation, [a, b)
FRAME_RATE = 200.0  # frames per second (5 ms)


def band_log_power(c: np.ndarray, bands=BANDS, frame_rate: float = FRAME_RATE) -> np.ndarray:
    """(T, D) trajectory -> (len(bands), D): the log of its periodogram |DFT|²/T (mean removed, zero-padded to
    the power of two at least 2T) averaged over the DFT frequencies of each band; NaN for a band that no
    DFT frequency falls in (a trajectory too short for it)."""
    x = c - c.mean(0)
    n = 1 << (2 * len(x) - 1).bit_length()
    power = np.abs(np.fft.rfft(x, n=n, axis=0)) ** 2 / len(x)
    f = np.fft.rfftfreq(n, 1.0 / frame_rate)
    inside = [(f >= lo) & (f < hi) for lo, hi in bands]
    return np.log(np.stack([power[i].mean(0) if i.any() else np.full(c.shape[1], np.nan) for i in inside]))


def fit(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Least-squares slope of y on x and its R² (scipy.stats.linregress), both (N,), over the pairs where
    both are finite."""
    keep = np.isfinite(x) & np.isfinite(y)
    line = linregress(x[keep], y[keep])
    return float(line.slope), float(line.rvalue) ** 2


def main(natural: Path, ids: list[str], system: Path) -> None:
    level, need, length, first, later_need = [], [], [], [], []
    for u in ids:
        nat, gen = load_utterance(natural, u).mcep[:, 1:], load_utterance(system, u).mcep[:, 1:]
        ell = band_log_power(gen)
        level.append(ell)
        need.append(band_log_power(nat) - ell)
        length.append(np.log(len(gen)))
        first.append(band_log_power(gen[: len(gen) // 2]))
        later_need.append(band_log_power(nat[len(nat) // 2 :]) - band_log_power(gen[len(gen) // 2 :]))
    level, need, length = np.array(level), np.array(need), np.array(length)  # (U, K, D), (U, K, D), (U,)
    first, later_need = np.array(first), np.array(later_need)  # (U, K, D) each
    print(f"{system}: {len(ids)} prompts; per band, mean over c1..c{level.shape[2]} (a band a prompt is too short "
          f"for: {np.isnan(level[:, :, 0]).sum(0).tolist()} prompts left out)")
    print("| band (Hz) | mean need | its sd over prompts | slope on ℓ_sys | R² | slope on log T | R² | R², both "
          "| halves: slope | R² |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for k, (lo, hi) in enumerate(BANDS):
        on_level = [fit(level[:, k, d], need[:, k, d]) for d in range(level.shape[2])]
        on_length = [fit(length, need[:, k, d]) for d in range(level.shape[2])]  # NaN need: left out
        both = []
        for d in range(level.shape[2]):
            keep = np.isfinite(level[:, k, d]) & np.isfinite(need[:, k, d])
            design = np.c_[level[keep, k, d], length[keep], np.ones(keep.sum())]
            coef, *_ = np.linalg.lstsq(design, need[keep, k, d], rcond=None)
            both.append(1.0 - np.var(need[keep, k, d] - design @ coef) / np.var(need[keep, k, d]))
        halves = [fit(first[:, k, d], later_need[:, k, d]) for d in range(level.shape[2])]
        print(f"| {lo:g}–{hi:g} | {np.nanmean(need[:, k]):.2f} | {np.nanstd(need[:, k], 0).mean():.2f} | "
              f"{np.mean([s for s, _ in on_level]):+.2f} | {np.mean([r for _, r in on_level]):.2f} | "
              f"{np.mean([s for s, _ in on_length]):+.2f} | {np.mean([r for _, r in on_length]):.2f} | "
              f"{np.mean(both):.2f} | {np.mean([s for s, _ in halves]):+.2f} | {np.mean([r for _, r in halves]):.2f} |")


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    natural, ids, system = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
    for path in (natural, ids, system):
        if not path.exists():
            sys.exit(f"needed_gain.py: {path}: no such file or folder")
    main(natural, ids.read_text().split(), system)
