"""Features -> waveform through the WORLD vocoder (pysptk ``mc2sp`` + ``pyworld.synthesize``)."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import pysptk

from .audio import write_audio
from .errors import VawganError
from .features import Features, decode_aperiodicity, load_features, save_features

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # pyworld's pkg_resources import
    import pyworld


def synthesize(feats: Features) -> np.ndarray:
    """Waveform (float64, at ``feats.fs``) from mel-cepstrum, F0, V/UV and band aperiodicity."""
    mcep = np.ascontiguousarray(feats.mcep, dtype=np.float64)
    sp = pysptk.mc2sp(mcep, alpha=feats.alpha, fftlen=feats.fft_size)
    ap = decode_aperiodicity(feats.bap, feats.fs, feats.fft_size)
    f0 = np.where(feats.vuv, feats.f0, 0.0).astype(np.float64)
    y = pyworld.synthesize(f0, sp, ap, feats.fs, feats.frame_period)
    return y


def synthesize_corpus(
    feats_dir: str | Path,
    out_dir: str | Path,
    ids: Sequence[str],
    transform: Callable[[Features], Features] | None = None,
    on_progress: Callable[[str], None] | None = None,
    failures: dict[str, str] | None = None,
) -> list[str]:
    """For each id: load ``feats_dir/<id>.npz``, apply ``transform`` (an enhancement; None copies),
    write ``out_dir/<id>.npz`` and ``out_dir/<id>.wav``. Returns the ids written.

    The first bad utterance (unreadable, or refused by the transform, e.g. at another rate than the
    model's) stops the run with its file named, unless ``failures`` is given: then its reason is
    put there under its id and the others go on."""
    feats_dir, out_dir = Path(feats_dir), Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for utt in ids:
        src = feats_dir / f"{utt}.npz"
        try:
            feats = load_features(src)
            if transform is not None:
                try:
                    feats = transform(feats)
                except VawganError as e:  # name the file
                    raise VawganError(src, e.reason) from None
        except VawganError as e:
            if failures is None:
                raise
            failures[utt] = str(e)
        else:
            save_features(out_dir / f"{utt}.npz", feats)
            write_audio(out_dir / f"{utt}.wav", synthesize(feats), feats.fs)
            written.append(utt)
        if on_progress is not None:
            on_progress(utt)
    return written
