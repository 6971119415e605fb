"""Reading and writing audio: any rate, channel count and sample format soundfile reads.

Everything downstream sees float64 mono samples in [-1, 1] at one sampling rate. Resampling
happens only when asked for, with soxr (the library librosa's default resampler calls; used
directly, it gives the same samples without librosa's import time).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf

from .errors import VawganError
from .fileio import atomic_path

AUDIO_SUFFIXES = (".wav", ".flac")
RESAMPLE_QUALITY = "HQ"  # soxr's high quality: librosa's default "soxr_hq"


def read_audio(path: str | Path, fs: int | None = None) -> tuple[np.ndarray, int]:
    """Read ``path`` as float64 mono; resample to ``fs`` Hz when given and different.

    Returns ``(x, fs)`` with ``x`` of shape (T,). Raises :class:`VawganError` for a file soundfile
    cannot read, one with no samples, or one with non-finite samples (float WAVs can hold NaN).
    """
    try:
        x, file_fs = sf.read(str(path), dtype="float64", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError) as e:
        raise VawganError(path, f"not readable as audio ({_short(e)})") from None
    if x.shape[0] == 0:
        raise VawganError(path, "no samples")
    # Downmix before any check: a finite mean needs every channel finite.
    x = x.mean(axis=1) if x.shape[1] > 1 else x[:, 0]
    if not np.all(np.isfinite(x)):
        raise VawganError(path, "non-finite samples (NaN or Inf)")
    if fs is not None and fs != file_fs:
        x = resample(x, file_fs, fs)
        file_fs = fs
    return np.ascontiguousarray(x), int(file_fs)


def resample(x: np.ndarray, fs_in: int, fs_out: int) -> np.ndarray:
    import soxr

    return soxr.resample(x, fs_in, fs_out, quality=RESAMPLE_QUALITY)


def write_audio(path: str | Path, x: np.ndarray, fs: int) -> None:
    """Write 16-bit PCM WAV atomically, clipping to [-1, 1]."""
    y = np.clip(np.asarray(x, dtype=np.float64), -1.0, 1.0)
    with atomic_path(path) as tmp:
        sf.write(str(tmp), y, int(fs), subtype="PCM_16", format="WAV")


def _short(e: Exception) -> str:
    msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    # libsndfile prefixes its messages with the path we already print.
    return msg.split(": ", 1)[-1] if msg.startswith("Error opening") else msg
