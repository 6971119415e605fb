"""WORLD analysis and mel-cepstra: the features every model in the speech path sees.

A waveform becomes, per 5 ms frame: F0 (harvest, or dio + stonemask), a voiced/unvoiced flag, the
CheapTrick spectral envelope coded as 40 mel-cepstral coefficients c0..c39 (``pysptk.sp2mc``, α
from the sampling rate), and the D4C aperiodicity coded into a few bands. Models see c1..c39;
c0 (power), F0 and aperiodicity are copied through to synthesis.
"""

from __future__ import annotations

import dataclasses
import functools
import warnings
from pathlib import Path

import numpy as np

from .choices import F0_CEIL_HZ, F0_FLOOR_HZ, F0_METHODS
from .errors import VawganError
from .fileio import atomic_path, read_npz

with warnings.catch_warnings():
    # pyworld 0.3.5 imports pkg_resources at import time and setuptools warns about it.
    warnings.simplefilter("ignore")
    import pyworld
import pysptk

FRAME_PERIOD_MS = 5.0
MCEP_ORDER = 39  # coefficients c0..c39
MCEP_DIM = MCEP_ORDER + 1
MODEL_DIM = MCEP_ORDER  # c1..c39: what the models see
SILENT_PEAK = 1e-3  # -60 dBFS: below this a whole file counts as silence
SPEECH_THRESHOLD_DB = 30.0  # frames this far below the utterance's loudest are silence
# c0 of a mel-cepstrum is a mean log amplitude (natural log): 20/ln 10 dB per unit.
DB_PER_C0 = 20.0 / np.log(10.0)
# WORLD codes aperiodicity at multiples of 3 kHz, which leaves no band below 12 kHz sampling;
# there we use 1 kHz bands with the same coding so 8 kHz telephone speech keeps its aperiodicity.
WORLD_BAND_HZ = 3000.0
NARROW_BAND_HZ = 1000.0
AP_FLOOR_DB = -60.0
D4C_THRESHOLD = 0.85  # pyworld's default voiced/unvoiced threshold of D4C
# D4C calls a frame unvoiced when its periodicity score is <= the threshold; at 8 kHz that score is
# computed from bands above Nyquist, i.e. read past the end of its spectrum, and is whatever lies
# there: ~0 on one machine, below -1 on another (CI saw one voiced frame of `activated` turned
# aperiodic). Nothing read there is <= -inf (NaN compares false), so -inf leaves voicing to F0 alone.
NEVER_UNVOICED = -np.inf

NPZ_KEYS = ("mcep", "f0", "vuv", "bap", "fs", "frame_period", "alpha", "fft_size")


@dataclasses.dataclass
class Features:
    """One utterance's features. T frames, 5 ms apart.

    mcep: (T, 40) float32, mel-cepstrum c0..c39; f0: (T,) float32 Hz, 0 where unvoiced;
    vuv: (T,) bool; bap: (T, B) float32 band aperiodicity in dB; fs: Hz; frame_period: ms;
    alpha: all-pass constant of the mel-cepstrum; fft_size: FFT length of the envelope.
    """

    mcep: np.ndarray
    f0: np.ndarray
    vuv: np.ndarray
    bap: np.ndarray
    fs: int
    frame_period: float
    alpha: float
    fft_size: int

    @property
    def n_frames(self) -> int:
        return int(self.mcep.shape[0])

    def replace(self, **changes) -> "Features":
        return dataclasses.replace(self, **changes)


def mcep_alpha(fs: int) -> float:
    """All-pass constant that best approximates the mel scale at ``fs`` (pysptk's table)."""
    return float(pysptk.util.mcepalpha(fs))


ANALYSIS_BLOCK_FRAMES = 2000  # frames analysed per block (10 s at 5 ms)


def analyze(
    x: np.ndarray,
    fs: int,
    f0_method: str = "harvest",
    f0_floor: float = F0_FLOOR_HZ,
    f0_ceil: float = F0_CEIL_HZ,
    frame_period: float = FRAME_PERIOD_MS,
    source: str | Path | None = None,
) -> Features:
    """WORLD analysis of mono float64 samples ``x`` at ``fs`` Hz. Raises VawganError on input
    that has nothing to analyse (shorter than one envelope window, or silent)."""
    if f0_method not in F0_METHODS:
        raise VawganError(source, f"unknown F0 method {f0_method!r} (choose from {', '.join(F0_METHODS)})")
    if not 0 < f0_floor < f0_ceil < fs / 2:
        raise VawganError(source, f"need 0 < f0 floor ({f0_floor}) < f0 ceiling ({f0_ceil}) < fs/2 ({fs / 2})")
    x = np.ascontiguousarray(x, dtype=np.float64)
    fft_size = int(pyworld.get_cheaptrick_fft_size(fs, f0_floor))
    if len(x) < fft_size:
        raise VawganError(
            source, f"too short: {len(x)} samples, one analysis window needs {fft_size} at {fs} Hz"
        )
    peak = float(np.max(np.abs(x)))
    if peak < SILENT_PEAK:
        level = "every sample is 0" if peak == 0 else f"peak {20 * np.log10(peak):.0f} dBFS"
        raise VawganError(source, f"all silence ({level})")

    if f0_method == "harvest":
        f0, t = pyworld.harvest(x, fs, f0_floor=f0_floor, f0_ceil=f0_ceil, frame_period=frame_period)
    else:
        f0, t = pyworld.dio(x, fs, f0_floor=f0_floor, f0_ceil=f0_ceil, frame_period=frame_period)
        f0 = pyworld.stonemask(x, f0, t, fs)
    alpha = mcep_alpha(fs)
    # Envelope and aperiodicity are per-frame analyses: computing and coding them a block of frames
    # at a time keeps the full-resolution spectra (T × fft_size/2+1 doubles each, about 1 GB for
    # ten minutes) out of memory; the result is the same as in one call.
    mcep, bap = [], []
    for a in range(0, len(f0), ANALYSIS_BLOCK_FRAMES):
        f0_b, t_b = f0[a : a + ANALYSIS_BLOCK_FRAMES], t[a : a + ANALYSIS_BLOCK_FRAMES]
        sp = pyworld.cheaptrick(x, f0_b, t_b, fs, f0_floor=f0_floor, fft_size=fft_size)
        mcep.append(sp2mc(sp, MCEP_ORDER, alpha).astype(np.float32))
        ap = pyworld.d4c(x, f0_b, t_b, fs, threshold=_d4c_threshold(fs), fft_size=fft_size)
        bap.append(code_aperiodicity(ap, fs).astype(np.float32))
    return Features(
        mcep=np.concatenate(mcep),
        f0=f0.astype(np.float32),
        vuv=f0 > 0,
        bap=np.concatenate(bap),
        fs=int(fs),
        frame_period=float(frame_period),
        alpha=alpha,
        fft_size=fft_size,
    )


def sp2mc(sp: np.ndarray, order: int, alpha: float) -> np.ndarray:
    """``pysptk.sp2mc`` for a whole (T, fft_size/2+1) envelope at once. pysptk converts frame by
    frame (log, inverse FFT, halve c0, then ``freqt``, the all-pass frequency warping) through a
    Python loop with per-call argument inspection, which took half of extraction's time. The
    warping is linear in the cepstrum, so here it is one matrix product; the matrix's columns are
    pysptk's own ``freqt`` of the unit vectors. Equal to ``pysptk.sp2mc`` to ~1e-12."""
    c = np.fft.irfft(np.log(sp), axis=-1)
    c[:, 0] /= 2.0
    return c @ _freqt_matrix(c.shape[1], order, float(alpha)).T


def envelope_db(feats: "Features") -> np.ndarray:
    """The spectral envelope the vocoder will use, in dB: ``pysptk.mc2sp`` of the mel-cepstrum
    (the power spectrum, as in synthesis). (T, fft_size/2+1)."""
    sp = pysptk.mc2sp(np.ascontiguousarray(feats.mcep, dtype=np.float64), alpha=feats.alpha, fftlen=feats.fft_size)
    return 10.0 * np.log10(np.maximum(sp, 1e-20))


@functools.lru_cache(maxsize=8)
def _freqt_matrix(n: int, order: int, alpha: float) -> np.ndarray:
    """(order+1, n): ``pysptk.freqt(c, order, alpha) == M @ c`` for any length-n cepstrum c.

    SPTK's freqt runs a recursion over the input from its last coefficient to its first: each
    coefficient is added to the state's first element, then the state goes through one fixed
    linear step L (the all-pass warping stage). So coefficient k reaches the output through
    L^k: column k of M is L^k e₀. L itself (order+1 square) is SPTK's step applied to the unit
    vectors. n matrix-vector products instead of n calls of ``freqt`` on unit vectors, which is
    O(n²) and took 38 s at 192 kHz (n = 16384). Equal to pysptk's columns to float rounding
    (tests/test_features.py)."""
    m = order + 1
    step = np.empty((m, m))
    for k in range(m):
        step[:, k] = _freqt_step(np.eye(m)[k], alpha)
    cols = np.empty((n, m))
    v = np.zeros(m)
    v[0] = 1.0
    for k in range(n):
        cols[k] = v
        v = step @ v
    return np.ascontiguousarray(cols.T)


def _freqt_step(d: np.ndarray, alpha: float) -> np.ndarray:
    """One step of SPTK freqt's recursion with no input: the state d → g (freqt.c)."""
    g = np.empty_like(d)
    g[0] = alpha * d[0]
    if len(d) > 1:
        g[1] = (1 - alpha * alpha) * d[0] + alpha * d[1]
    for j in range(2, len(d)):
        g[j] = d[j - 1] + alpha * (d[j] - g[j - 1])
    return g


def _d4c_threshold(fs: int) -> float:
    """D4C's own voiced/unvoiced test (threshold 0.85) measures power in bands up to 7.9 kHz;
    below 12 kHz sampling it fails on every frame and sets the aperiodicity of all voiced frames
    to 1, which WORLD then synthesizes as white noise (and which flips from process to process
    with D4C's internal noise). There F0 alone decides voicing, and voiced frames get WORLD's own
    default aperiodicity ramp (-60 dB at 0 Hz to 0 dB at fs/2)."""
    return D4C_THRESHOLD if pyworld.get_num_aperiodicities(fs) > 0 else NEVER_UNVOICED


def _band_centres(fs: int) -> np.ndarray:
    """Centres of the narrow (1 kHz) bands used below 12 kHz, where WORLD's 3 kHz coding has none:
    every multiple of 1 kHz under fs/2."""
    n = int(np.ceil(fs / 2 / NARROW_BAND_HZ)) - 1
    return NARROW_BAND_HZ * np.arange(1, max(n, 1) + 1)


def code_aperiodicity(ap: np.ndarray, fs: int) -> np.ndarray:
    """(T, fft_size/2+1) aperiodicity -> (T, B) dB values at the band centres."""
    if pyworld.get_num_aperiodicities(fs) > 0:
        return pyworld.code_aperiodicity(np.ascontiguousarray(ap), fs)
    freqs = np.linspace(0.0, fs / 2, ap.shape[1])
    ap_db = 20.0 * np.log10(np.maximum(ap, 1e-12))
    return np.stack([np.interp(_band_centres(fs), freqs, row) for row in ap_db])


def decode_aperiodicity(bap: np.ndarray, fs: int, fft_size: int) -> np.ndarray:
    """Inverse of :func:`code_aperiodicity`: linear interpolation in dB over frequency, from
    -60 dB at 0 Hz through the bands to 0 dB at fs/2 (WORLD's decoding rule)."""
    bap = np.ascontiguousarray(bap, dtype=np.float64)
    if pyworld.get_num_aperiodicities(fs) > 0:
        return pyworld.decode_aperiodicity(bap, fs, fft_size)
    coarse_f = np.concatenate([[0.0], _band_centres(fs), [fs / 2]])
    freqs = np.linspace(0.0, fs / 2, fft_size // 2 + 1)
    rows = [np.interp(freqs, coarse_f, np.concatenate([[AP_FLOOR_DB], b, [0.0]])) for b in bap]
    return np.power(10.0, np.stack(rows) / 20.0)


def speech_mask(c0: np.ndarray, threshold_db: float = SPEECH_THRESHOLD_DB) -> np.ndarray:
    """(T,) bool: frames whose power (c0) is within ``threshold_db`` of the utterance's loudest."""
    c0 = np.asarray(c0)
    return c0 >= c0.max() - threshold_db / DB_PER_C0


# ---------------------------------------------------------------------------------- npz I/O


def save_features(path: str | Path, feats: Features) -> None:
    """Write one utterance's features as ``.npz``, atomically."""
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.savez(
            f,
            mcep=feats.mcep.astype(np.float32),
            f0=feats.f0.astype(np.float32),
            vuv=feats.vuv.astype(bool),
            bap=feats.bap.astype(np.float32),
            fs=np.int64(feats.fs),
            frame_period=np.float64(feats.frame_period),
            alpha=np.float64(feats.alpha),
            fft_size=np.int64(feats.fft_size),
        )


def load_features(path: str | Path) -> Features:
    """Read and validate an ``.npz`` written by :func:`save_features`.

    Raises VawganError naming the file for a missing key, a wrong shape, or non-finite values.
    """
    try:
        with np.load(path, allow_pickle=False) as z:
            missing = [k for k in NPZ_KEYS if k not in z.files]
            if missing:
                raise VawganError(path, f"not a feature file: missing {', '.join(missing)}")
            d = {k: z[k] for k in NPZ_KEYS}
    except VawganError:
        raise
    except Exception as e:  # zipfile, pickle refusals, truncation: all "cannot read"
        raise VawganError(path, f"not readable as features ({type(e).__name__}: {e})") from None
    mcep = d["mcep"]
    if mcep.ndim != 2 or mcep.shape[1] != MCEP_DIM:
        raise VawganError(path, f"mcep has shape {mcep.shape}, expected (T, {MCEP_DIM})")
    t = mcep.shape[0]
    for key in ("f0", "vuv"):
        if d[key].shape != (t,):
            raise VawganError(path, f"{key} has shape {d[key].shape}, expected ({t},) like mcep")
    if d["bap"].ndim != 2 or d["bap"].shape[0] != t:
        raise VawganError(path, f"bap has shape {d['bap'].shape}, expected ({t}, B)")
    for key in ("mcep", "f0", "bap"):
        if not np.all(np.isfinite(d[key])):
            raise VawganError(path, f"{key} holds non-finite values")
    return Features(
        mcep=mcep.astype(np.float32, copy=False),
        f0=d["f0"].astype(np.float32, copy=False),
        vuv=d["vuv"].astype(bool, copy=False),
        bap=d["bap"].astype(np.float32, copy=False),
        fs=int(d["fs"]),
        frame_period=float(d["frame_period"]),
        alpha=float(d["alpha"]),
        fft_size=int(d["fft_size"]),
    )


# ------------------------------------------------------------------------------ corpus stats


@dataclasses.dataclass
class FeatureStats:
    """Mean and standard deviation of c1..c39 over ``count`` frames: (39,) float64 each."""

    mean: np.ndarray
    std: np.ndarray
    count: int

    @classmethod
    def from_sums(cls, s: np.ndarray, ss: np.ndarray, n: int) -> "FeatureStats":
        if n == 0:
            raise VawganError(None, "no frames to compute statistics from")
        mean = s / n
        var = np.maximum(ss / n - mean**2, 0.0)
        return cls(mean=mean, std=np.sqrt(var), count=int(n))

    @classmethod
    def from_frames(cls, frames: np.ndarray) -> "FeatureStats":
        frames = np.asarray(frames, dtype=np.float64)
        return cls.from_sums(frames.sum(0), (frames**2).sum(0), frames.shape[0])

    def save(self, path: str | Path) -> None:
        with atomic_path(path) as tmp, open(tmp, "wb") as f:
            np.savez(f, mean=self.mean, std=self.std, count=np.int64(self.count))

    @classmethod
    def load(cls, path: str | Path) -> "FeatureStats":
        z = read_npz(path, "statistics", "no statistics file (run `vawgan extract` first)")
        if any(k not in z for k in ("mean", "std", "count")):
            raise VawganError(path, "not a statistics file: it needs mean, std and count")
        mean, std, count = z["mean"], z["std"], int(z["count"])
        if mean.shape != (MODEL_DIM,) or std.shape != (MODEL_DIM,):
            raise VawganError(path, f"statistics have shape {mean.shape}, expected ({MODEL_DIM},)")
        return cls(mean=mean, std=std, count=count)


def frame_sums(mcep: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """Sufficient statistics of c1..c39 for :meth:`FeatureStats.from_sums`."""
    return coefficient_sums(mcep[:, 1:])


def coefficient_sums(c: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """Sum, sum of squares (float64) and count of the rows of ``c``."""
    c = c.astype(np.float64)
    return c.sum(0), (c**2).sum(0), c.shape[0]
