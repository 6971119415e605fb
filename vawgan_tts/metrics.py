"""Objective measures of over-smoothing and accuracy: GV, modulation spectrum, MCD, F0.

Pure functions over arrays of mel-cepstral trajectories shaped (..., T, D): T frames of D
coefficients (pass c1..c39; c0, the power, is left out of every measure). Leading axes are batch
axes: a batched call equals the unbatched calls stacked. Equations and sources: docs/metrics.md.
"""

from __future__ import annotations

import numpy as np
import scipy.stats

MS_FFT_SIZE = 4096  # frames; at 200 Hz frame rate the resolution is 0.05 Hz
MS_MAX_HZ = 50.0
_EPS = 1e-12
_MCD_CONST = 10.0 / np.log(10.0) * np.sqrt(2.0)


def global_variance(c: np.ndarray) -> np.ndarray:
    """GV: variance over time of each dimension. (..., T, D) -> (..., D).

    v(d) = 1/T Σ_t (c_t(d) − mean_t c(d))²   (Toda & Tokuda 2007, eq. 9)
    """
    return np.var(np.asarray(c, dtype=np.float64), axis=-2)


def log_gv_distance(gv_ref: np.ndarray, gv_gen: np.ndarray) -> np.ndarray:
    """RMS over dimensions of the GV difference in dB. (..., D), (..., D) -> (...).

    d = sqrt(1/D Σ_d (10 log10 v_gen(d) − 10 log10 v_ref(d))²). 0 for equal GVs; a system whose
    GV is uniformly shrunk by s² scores |20 log10 s|.
    """
    diff = 10.0 * (np.log10(np.asarray(gv_gen) + _EPS) - np.log10(np.asarray(gv_ref) + _EPS))
    return np.sqrt(np.mean(diff**2, axis=-1))


def ms_frequencies(fft_size: int = MS_FFT_SIZE, frame_period_ms: float = 5.0) -> np.ndarray:
    """Modulation frequencies (Hz) of the bins returned by :func:`modulation_power`."""
    return np.fft.rfftfreq(fft_size, d=frame_period_ms / 1000.0)


def modulation_power(c: np.ndarray, fft_size: int = MS_FFT_SIZE) -> np.ndarray:
    """Power spectrum of each dimension's mean-removed trajectory. (..., T, D) -> (..., F, D),
    F = fft_size // 2 + 1, normalized by T so utterances of any length average fairly.

    A trajectory longer than ``fft_size`` is cut into consecutive segments whose spectra are
    averaged. Average this over utterances, then take :func:`to_db`: that is the modulation
    spectrum of a corpus (Takamichi et al. 2016).
    """
    c = np.asarray(c, dtype=np.float64)
    c = c - c.mean(axis=-2, keepdims=True)
    t = c.shape[-2]
    starts = range(0, t, fft_size)
    power = 0.0
    for s in starts:
        seg = c[..., s : s + fft_size, :]
        spec = np.fft.rfft(seg, n=fft_size, axis=-2)
        power = power + (spec.real**2 + spec.imag**2)
    return power / t


def to_db(power: np.ndarray) -> np.ndarray:
    return 10.0 * np.log10(np.asarray(power) + _EPS)


def modulation_spectrum(c: np.ndarray, fft_size: int = MS_FFT_SIZE) -> np.ndarray:
    """Log modulation spectrum in dB of one or a batch of trajectories. (..., T, D) -> (..., F, D)."""
    return to_db(modulation_power(c, fft_size))


def ms_distance(
    ms_ref: np.ndarray, ms_gen: np.ndarray, freqs: np.ndarray, max_hz: float = MS_MAX_HZ
) -> np.ndarray:
    """RMS of the log-MS difference (dB) over bins 0 < f ≤ ``max_hz`` and all dimensions.
    (..., F, D), (..., F, D), (F,) -> (...). The DC bin is left out: means are removed."""
    band = (freqs > 0) & (freqs <= max_hz)
    diff = np.asarray(ms_gen)[..., band, :] - np.asarray(ms_ref)[..., band, :]
    return np.sqrt(np.mean(diff**2, axis=(-2, -1)))


def frame_mcd(ref: np.ndarray, gen: np.ndarray) -> np.ndarray:
    """Per-frame mel-cepstral distortion in dB of equally long trajectories. (..., T, D) -> (..., T).

    MCD = 10/ln10 · sqrt(2 Σ_d (c_d − ĉ_d)²), d over c1..c_D (Kubichek 1993).
    """
    diff = np.asarray(ref, np.float64) - np.asarray(gen, np.float64)
    return _MCD_CONST * np.sqrt(np.sum(diff**2, axis=-1))


def align(ref: np.ndarray, gen: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Frame pairs of two trajectories: the identity when T1 == T2, else the banded DTW of
    :func:`vawgan_tts.alignment.dtw_path`."""
    if len(ref) == len(gen):
        i = np.arange(len(ref))
        return i, i
    from .alignment import dtw_path

    return dtw_path(ref, gen)


def mel_cepstral_distortion(ref: np.ndarray, gen: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Mean MCD (dB) of two trajectories (T1, D), (T2, D); aligned by DTW when T1 ≠ T2.

    ``mask`` (T1,) bool keeps only those reference frames (e.g. speech, not silence).
    """
    ref = np.asarray(ref)
    gen = np.asarray(gen)
    i, j = align(ref, gen)
    if mask is not None:
        keep = np.asarray(mask)[i]
        i, j = i[keep], j[keep]
    if len(i) == 0:
        return float("nan")
    return float(np.mean(frame_mcd(ref[i], gen[j])))


def f0_rmse_cents(f0_ref: np.ndarray, f0_gen: np.ndarray) -> float:
    """RMS F0 error in cents over the frame pairs voiced in both (F0 > 0). (P,), (P,) aligned -> float;
    NaN when no pair is voiced in both.

    e = sqrt(mean_t (1200 log2(f_gen(t) / f_ref(t)))²)
    """
    f0_ref, f0_gen = np.asarray(f0_ref, np.float64), np.asarray(f0_gen, np.float64)
    both = (f0_ref > 0) & (f0_gen > 0)
    if not both.any():
        return float("nan")
    return float(np.sqrt(np.mean((1200.0 * np.log2(f0_gen[both] / f0_ref[both])) ** 2)))


def vuv_error(vuv_ref: np.ndarray, vuv_gen: np.ndarray) -> float:
    """Share of aligned frame pairs whose voicing decisions differ. (P,) bool, (P,) bool -> [0, 1]."""
    vuv_ref, vuv_gen = np.asarray(vuv_ref, bool), np.asarray(vuv_gen, bool)
    if len(vuv_ref) == 0:
        return float("nan")
    return float(np.mean(vuv_ref != vuv_gen))


def log_f0_correlation(f0_ref: np.ndarray, f0_gen: np.ndarray) -> float:
    """Pearson correlation of log F0 over the aligned frame pairs voiced in both. (P,), (P,) -> [-1, 1];
    NaN with fewer than two such pairs or a flat contour. How well the intonation's shape is kept,
    whatever its register: a contour shifted or scaled in log F0 scores 1.

    r = Σ_t (l_ref(t) − l̄_ref)(l_gen(t) − l̄_gen) / sqrt(Σ_t (l_ref(t) − l̄_ref)² Σ_t (l_gen(t) − l̄_gen)²),
    l = ln F0.
    """
    f0_ref, f0_gen = np.asarray(f0_ref, np.float64), np.asarray(f0_gen, np.float64)
    both = (f0_ref > 0) & (f0_gen > 0)
    a, b = np.log(f0_ref[both]), np.log(f0_gen[both])
    if len(a) < 2 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return float("nan")
    return float(scipy.stats.pearsonr(a, b).statistic)


def gaussian_fit(frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and covariance (ML, divided by N) of frames. (N, D) -> (D,), (D, D)."""
    x = np.asarray(frames, np.float64)
    mu = x.mean(axis=0)
    d = x - mu
    return mu, d.T @ d / len(x)


def frechet_distance(mu1: np.ndarray, cov1: np.ndarray, mu2: np.ndarray, cov2: np.ndarray) -> np.ndarray:
    """Fréchet (2-Wasserstein²) distance between Gaussians N(μ1, Σ1) and N(μ2, Σ2).
    (..., D), (..., D, D), (..., D), (..., D, D) -> (...); in the squared units of the frames.

    FD = ‖μ1 − μ2‖² + Tr(Σ1 + Σ2 − 2 (Σ1^½ Σ2 Σ1^½)^½)   (Dowson & Landau 1982; the formula of
    FID, Heusel et al. 2017, and of the Fréchet audio distance, Kilgour et al. 2019). The symmetric
    form (Σ1^½ Σ2 Σ1^½)^½ has the trace of (Σ1 Σ2)^½ and is the square root of a PSD matrix, so its
    trace is the sum of the square roots of its eigenvalues (clipped at 0 against round-off).
    """
    mu1, mu2 = np.asarray(mu1, np.float64), np.asarray(mu2, np.float64)
    cov1, cov2 = np.asarray(cov1, np.float64), np.asarray(cov2, np.float64)
    sym = lambda a: (a + np.swapaxes(a, -1, -2)) / 2  # noqa: E731
    w, v = np.linalg.eigh(sym(cov1))
    root1 = (v * np.sqrt(np.clip(w, 0, None))[..., None, :]) @ np.swapaxes(v, -1, -2)
    cross = np.sqrt(np.clip(np.linalg.eigvalsh(sym(root1 @ cov2 @ root1)), 0, None)).sum(axis=-1)
    diff = mu1 - mu2
    trace = np.trace(cov1, axis1=-2, axis2=-1) + np.trace(cov2, axis1=-2, axis2=-1)
    return np.maximum(np.sum(diff**2, axis=-1) + trace - 2.0 * cross, 0.0)  # ≥ 0; round-off aside
