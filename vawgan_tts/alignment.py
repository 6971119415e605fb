"""Time alignment of two renditions of the same text: DTW over mel-cepstra, in a band.

DTW is dtaidistance's C implementation (``dtw_ndim.warping_path``): it takes multivariate series,
a Sakoe–Chiba window, and with a window keeps only the band of the cost matrix, so memory grows
with T × band, not T1 × T2 (librosa's DTW builds the whole matrix: 3.3 GB for a 60 s utterance
against another length). The local cost is the squared Euclidean distance between frames, so the
path minimizes the summed squared mel-cepstral distance (the MCD's own measure).

Pairs of speech frames are aligned (frames within ``SPEECH_THRESHOLD_DB`` of each utterance's
loudest): leading and trailing silence, which the two sides have in different amounts, would
otherwise pull the path. An alignment file holds, per utterance, the (P, 2) int32 frame pairs
(source frame, target frame) in the utterances' own frame numbering.
"""

from __future__ import annotations

import math
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Callable, Mapping, Sequence

import numpy as np

from .errors import VawganError
from .feature_folder import utterance_path
from .features import SPEECH_THRESHOLD_DB, load_features, speech_mask
from .fileio import atomic_path, read_npz

DEFAULT_BAND = 0.2  # Sakoe–Chiba window as a share of the longer utterance


def dtw_path(ref: np.ndarray, gen: np.ndarray, band: float | None = DEFAULT_BAND) -> tuple[np.ndarray, np.ndarray]:
    """Frame pairs (i_ref, i_gen) of the minimum-cost alignment, in time order, starting at (0, 0) and
    ending at (T1-1, T2-1). (T1, D), (T2, D) -> (P,), (P,).

    ``band``: dtaidistance's window w = ``ceil(band · max(T1, T2))``: the path keeps fewer than w frames
    from the diagonal joining the two ends (w = 1 is the diagonal itself); None searches the whole
    matrix."""
    from dtaidistance import dtw, dtw_ndim

    a = np.ascontiguousarray(ref, dtype=np.float64)
    b = np.ascontiguousarray(gen, dtype=np.float64)
    if len(a) == 0 or len(b) == 0:
        raise ValueError("DTW of an empty sequence")
    window = None if band is None else max(1, math.ceil(band * max(len(a), len(b))))
    if a.shape[1] == 1:  # dtw_ndim takes two or more dimensions; dtw has the same cost for one
        path = dtw.warping_path(a[:, 0].copy(), b[:, 0].copy(), window=window, use_c=True)
    else:
        path = dtw_ndim.warping_path(a, b, window=window, use_c=True)
    path = np.asarray(path, dtype=np.int64)
    return path[:, 0], path[:, 1]


def speech_frames(c0: np.ndarray, source: str | Path | None, threshold_db: float = SPEECH_THRESHOLD_DB) -> np.ndarray:
    """Indices of the speech frames of an utterance (by its power c0); an error naming ``source``
    when there are none to align (a file of constant power: silence or a tone)."""
    idx = np.flatnonzero(speech_mask(c0, threshold_db))
    if len(idx) < 2 or np.ptp(c0) == 0:
        raise VawganError(source, "no speech frames to align (constant power)")
    return idx


def align_utterance(src_c: np.ndarray, src_c0: np.ndarray, tgt_c: np.ndarray, tgt_c0: np.ndarray,
                    band: float | None = DEFAULT_BAND, threshold_db: float = SPEECH_THRESHOLD_DB,
                    names: tuple = (None, None)) -> np.ndarray:
    """(P, 2) int32 pairs (source frame, target frame) of the DTW of the two utterances' speech
    frames. ``src_c``, ``tgt_c``: (T, D) c1..c39 (the source's may be a conversion of it, frame for
    frame); ``*_c0``: (T,) the power that decides what is speech."""
    s = speech_frames(src_c0, names[0], threshold_db)
    t = speech_frames(tgt_c0, names[1], threshold_db)
    i, j = dtw_path(src_c[s], tgt_c[t], band)
    return np.stack([s[i], t[j]], axis=1).astype(np.int32)


def source_time_map(pairs: np.ndarray, n_src: int) -> np.ndarray:
    """(T_src,) the target frame that stands for each source frame: for an aligned frame the middle
    one of the target frames paired with it; between and beyond aligned frames, linear
    interpolation of those (rounded). Turns a two-sided DTW path into a target trajectory on the
    source's time axis, which is what a frame-wise converter learns to produce."""
    src, tgt = pairs[:, 0], pairs[:, 1]
    first = np.flatnonzero(np.r_[True, src[1:] != src[:-1]])
    last = np.r_[first[1:], len(src)] - 1
    mid = tgt[(first + last) // 2]
    return np.rint(np.interp(np.arange(n_src), src[first], mid)).astype(np.int64)


# ------------------------------------------------------------------------------- a corpus


def _align_one(args) -> tuple[str, np.ndarray | None, str]:
    utt, src_path, tgt_path, converted, band, threshold_db = args
    try:
        src, tgt = load_features(src_path), load_features(tgt_path)
        if src.fs != tgt.fs or src.frame_period != tgt.frame_period:
            raise VawganError(src_path, f"at {src.fs} Hz, {src.frame_period:g} ms; the target {tgt_path} is at "
                                        f"{tgt.fs} Hz, {tgt.frame_period:g} ms")
        src_c = src.mcep[:, 1:] if converted is None else converted
        if len(src_c) != src.n_frames:
            raise VawganError(src_path, f"converted features have {len(src_c)} frames, the source {src.n_frames}")
        pairs = align_utterance(src_c, src.mcep[:, 0], tgt.mcep[:, 1:], tgt.mcep[:, 0], band, threshold_db,
                                (src_path, tgt_path))
        return utt, pairs, ""
    except VawganError as e:
        return utt, None, str(e)


def align_corpus(src_dir: str | Path, tgt_dir: str | Path, ids: Sequence[str], band: float | None = DEFAULT_BAND,
                 converted: Mapping[str, np.ndarray] | None = None, jobs: int = 1,
                 threshold_db: float = SPEECH_THRESHOLD_DB,
                 on_progress: Callable[[int, int], None] | None = None) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """Align every id's source utterance (or its conversion, ``converted[id]`` (T_src, 39)) with its
    target, in ``jobs`` processes. Returns (id → pairs, id → reason it could not be aligned)."""
    src_dir, tgt_dir = Path(src_dir), Path(tgt_dir)
    work = [(u, utterance_path(src_dir, u), utterance_path(tgt_dir, u), None if converted is None else converted[u], band, threshold_db)
            for u in ids]
    done, failed = {}, {}

    def collect(results):
        for n, (utt, pairs, reason) in enumerate(results, 1):
            if pairs is None:
                failed[utt] = reason
            else:
                done[utt] = pairs
            if on_progress is not None:
                on_progress(n, len(work))

    if jobs > 1 and len(work) > 1:
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            collect(pool.map(_align_one, work, chunksize=max(1, len(work) // (8 * jobs))))
    else:
        collect(map(_align_one, work))
    return done, failed


def progress_lines(say: Callable[[str], None], label: str) -> Callable[[int, int], None]:
    """An ``on_progress`` for :func:`align_corpus` that says a line at every tenth of the prompts
    (a run's ``say``: alignment of a corpus takes minutes, and a training command shows nothing else then)."""
    def report(done: int, total: int) -> None:
        if done == total or done % max(1, total // 10) == 0:
            say(f"{label}: aligned {done}/{total} prompts by DTW")
    return report


def save_alignments(path: str | Path, pairs: Mapping[str, np.ndarray]) -> None:
    """One ``.npz``: an array of (P, 2) int32 frame pairs per utterance id; written atomically."""
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.savez(f, **{u: np.asarray(p, np.int32) for u, p in pairs.items()})


def load_alignments(path: str | Path) -> dict[str, np.ndarray]:
    out = read_npz(path, "alignments", "no alignment file")
    for u, p in out.items():
        if p.ndim != 2 or p.shape[1] != 2:
            raise VawganError(path, f"alignment of {u} has shape {p.shape}, expected (P, 2)")
    return out
