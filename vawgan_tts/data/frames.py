"""Speech frames for the frame models: c1..c39 of every (speech) frame of a list of utterances."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from ..errors import VawganError
from ..features import FeatureStats, load_features, speech_mask


def load_frames(feats_dir: str | Path, ids: Sequence[str], silence_threshold_db: float | None = None) -> np.ndarray:
    """(N, 39) float32 c1..c39 of the utterances ``ids``; frames more than ``silence_threshold_db``
    below their utterance's loudest are left out (None keeps every frame)."""
    feats_dir = Path(feats_dir)
    parts = []
    for utt in ids:
        path = feats_dir / f"{utt}.npz"
        if not path.is_file():
            raise VawganError(path, f"utterance {utt!r} has no features in {feats_dir}")
        mcep = load_features(path).mcep
        keep = speech_mask(mcep[:, 0], silence_threshold_db) if silence_threshold_db is not None else slice(None)
        parts.append(mcep[keep, 1:])
    if not parts:
        raise VawganError(feats_dir, "no utterances to load")
    return np.ascontiguousarray(np.concatenate(parts), dtype=np.float32)


def normalize(frames: np.ndarray, stats: FeatureStats) -> np.ndarray:
    return ((frames - stats.mean) / np.maximum(stats.std, 1e-8)).astype(np.float32)


def denormalize(frames: np.ndarray, stats: FeatureStats) -> np.ndarray:
    return (frames * np.maximum(stats.std, 1e-8) + stats.mean).astype(np.float32)
