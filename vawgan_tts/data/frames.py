"""Speech frames for the frame models: c1..c39 of every (speech) frame of a list of utterances.

Training reads them from a *frame store*: one raw float32 file of all frames (N × 39, C order)
and an index (utterance ids, their frame offsets, the corpus statistics), written once, one
utterance at a time, into ``FEATS/frames/``, and then memory-mapped. A 100-hour corpus
(≈ 72 M frames, 11 GB) trains without being read into RAM: a batch gathers its rows from the
mapping, and the pages it touched are page cache the kernel may drop, not process memory.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import mmap
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from ..batching import TensorBatches
from ..feature_folder import FRAMES, utterance_path
from ..errors import VawganError
from ..features import MODEL_DIM, FeatureStats, coefficient_sums, load_features, speech_mask
from ..fileio import atomic_path, remove_stale_temporaries

STORE_DIR = FRAMES  # the feature folder's own sub-folder (vawgan_tts.feature_folder)
STORE_VERSION = 1


def load_frames(feats_dir: str | Path, ids: Sequence[str], silence_threshold_db: float | None = None) -> np.ndarray:
    """(N, 39) float32 c1..c39 of the utterances ``ids``; frames more than ``silence_threshold_db``
    below their utterance's loudest are left out (None keeps every frame)."""
    feats_dir = Path(feats_dir)
    parts = [_speech_frames(feats_dir, utt, silence_threshold_db) for utt in ids]
    if not parts:
        raise VawganError(feats_dir, "no utterances to load")
    return np.concatenate(parts)


def _speech_frames(feats_dir: Path, utt: str, silence_threshold_db: float | None) -> np.ndarray:
    path = utterance_path(feats_dir, utt)
    if not path.is_file():
        raise VawganError(path, f"utterance {utt!r} has no features in {feats_dir}")
    mcep = load_features(path).mcep
    keep = speech_mask(mcep[:, 0], silence_threshold_db) if silence_threshold_db is not None else slice(None)
    return np.ascontiguousarray(mcep[keep, 1:], dtype=np.float32)


def normalize(frames: np.ndarray, stats: FeatureStats) -> np.ndarray:
    return ((frames - stats.mean) / np.maximum(stats.std, 1e-8)).astype(np.float32)


def denormalize(frames: np.ndarray, stats: FeatureStats) -> np.ndarray:
    return (frames * np.maximum(stats.std, 1e-8) + stats.mean).astype(np.float32)


# ------------------------------------------------------------------------------ frame store


@dataclasses.dataclass(frozen=True)
class FrameStore:
    """A built store: ``data`` (raw float32, ``n_frames`` × ``dim``) and its index."""

    data: Path
    ids: tuple[str, ...]
    offsets: np.ndarray  # (len(ids) + 1,) int64: utterance i is rows offsets[i]:offsets[i+1]
    stats: FeatureStats
    dim: int = MODEL_DIM

    @property
    def n_frames(self) -> int:
        return int(self.offsets[-1])

    def open(self) -> np.ndarray:
        """The frames as a read-only-in-effect memory map (copy-on-write, so torch accepts it
        without a copy; nothing is ever written through it)."""
        if self.n_frames == 0:
            raise VawganError(self.data, "the frame store holds no frames")
        expected = self.n_frames * self.dim * 4
        if not self.data.is_file() or self.data.stat().st_size != expected:
            raise VawganError(self.data, f"frame store damaged: expected {expected} bytes (delete {self.data.parent} to rebuild)")
        m = np.memmap(self.data, dtype=np.float32, mode="c", shape=(self.n_frames, self.dim))
        with contextlib.suppress(OSError, AttributeError, ValueError):
            m._mmap.madvise(mmap.MADV_RANDOM)  # batches gather scattered rows: no read-ahead
        return m

    def utterance(self, frames: np.ndarray, i: int) -> np.ndarray:
        return frames[self.offsets[i]:self.offsets[i + 1]]


def store_key(feats_dir: Path, ids: Sequence[str], silence_threshold_db: float | None) -> str:
    """Names the store after what it holds: the ids, the silence threshold, and each feature
    file's size and modification time (a re-extracted corpus gets a new store)."""
    h = hashlib.sha1(f"v{STORE_VERSION} {silence_threshold_db!r}".encode())
    for utt in ids:
        path = utterance_path(feats_dir, utt)
        try:
            st = path.stat()
        except FileNotFoundError:
            raise VawganError(path, f"utterance {utt!r} has no features in {feats_dir}") from None
        h.update(f"\0{utt}\0{st.st_size}\0{st.st_mtime_ns}".encode())
    return h.hexdigest()[:16]


def frame_store(feats_dir: str | Path, ids: Sequence[str], silence_threshold_db: float | None = None,
                build: bool = True) -> FrameStore:
    """The store of ``ids``' frames in ``feats_dir``/frames, built on first use (``build``) —
    one utterance in memory at a time, the data file and then the index written atomically, so a
    killed build leaves no store that looks complete."""
    feats_dir = Path(feats_dir)
    if not ids:
        raise VawganError(feats_dir, "no utterances to load")
    key = store_key(feats_dir, ids, silence_threshold_db)
    folder = feats_dir / STORE_DIR
    data, index = folder / f"{key}.f32", folder / f"{key}.index.npz"
    if index.is_file() and data.is_file():
        return _read_index(data, index)
    if not build:
        raise VawganError(index, "frame store not built")
    folder.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(folder)
    offsets = [0]
    s, ss = np.zeros(MODEL_DIM), np.zeros(MODEL_DIM)
    with atomic_path(data) as tmp, open(tmp, "wb") as f:
        for utt in ids:
            c = _speech_frames(feats_dir, utt, silence_threshold_db)
            f.write(c.tobytes())
            cs, css, n = coefficient_sums(c)
            s += cs
            ss += css
            offsets.append(offsets[-1] + n)
    stats = FeatureStats.from_sums(s, ss, offsets[-1])
    with atomic_path(index) as tmp, open(tmp, "wb") as f:
        np.savez(f, ids=np.array(list(ids)), offsets=np.array(offsets, dtype=np.int64), mean=stats.mean,
                 std=stats.std, count=np.int64(stats.count), dim=np.int64(MODEL_DIM), version=np.int64(STORE_VERSION))
    return FrameStore(data, tuple(ids), np.array(offsets, dtype=np.int64), stats)


def _read_index(data: Path, index: Path) -> FrameStore:
    try:
        with np.load(index, allow_pickle=False) as z:
            if int(z["version"]) != STORE_VERSION:
                raise VawganError(index, f"frame store version {int(z['version'])}, expected {STORE_VERSION}")
            stats = FeatureStats(mean=z["mean"], std=z["std"], count=int(z["count"]))
            store = FrameStore(data, tuple(str(i) for i in z["ids"]), z["offsets"].astype(np.int64), stats, int(z["dim"]))
    except (OSError, ValueError, KeyError) as e:
        raise VawganError(index, f"unreadable frame-store index ({e}); delete it to rebuild") from None
    return store


class FrameBatches(TensorBatches):
    """Shuffled, normalized batches gathered by index from a memory-mapped frame store.

    The permutation is int32 (4 bytes per frame: the only memory that grows with the corpus, 1/39
    of the frames themselves); each batch's indices are sorted before the gather, so the rows of one
    batch come off the mapping in file order (the order of rows inside a batch does not change a
    mean loss); normalization ``(x − mean) / std`` is applied to the gathered batch.
    """

    def __init__(self, frames: np.ndarray, stats: FeatureStats, batch_size: int, shuffle: bool = True,
                 drop_last: bool = False):
        super().__init__(torch.from_numpy(frames), batch_size=batch_size, shuffle=shuffle, drop_last=drop_last)
        self.mean = torch.from_numpy(np.asarray(stats.mean, dtype=np.float32))
        self.inv_std = torch.from_numpy((1.0 / np.maximum(stats.std, 1e-8)).astype(np.float32))

    def gather(self, idx: torch.Tensor) -> torch.Tensor:
        (frames,) = self.tensors
        x = frames.index_select(0, idx.sort().values)
        return x.sub_(self.mean).mul_(self.inv_std)
