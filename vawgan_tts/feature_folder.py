"""A feature folder — what `vawgan extract` writes and every later command reads — owned here: its
layout, and reading and writing each part. Nobody else names these files.

FEATS/<utt>.npz      one utterance's features (:func:`vawgan_tts.features.save_features`)
FEATS/manifest.tsv   utt, source, frames, status (ok | skipped: up to date | failed), one row per input
FEATS/failed.tsv     utt, source, reason — only while something failed
FEATS/stats.npz      mean/std of c1..c39 over every frame of the inputs (FeatureStats)
FEATS/extract.toml   the [extract] settings the features were analysed with (so re-analysis matches)
FEATS/frames/        the memory-mapped frame store (:mod:`vawgan_tts.data.frames`), built on first use

A folder written by another system (e.g. `vawgan synth` or `vawgan enhance` output) holds only the
``.npz`` files (and WAVs); :func:`feature_ids` lists those. Every other module reaches an utterance's
file through :func:`utterance_path`, :func:`load_utterance` or :func:`has_utterance`.

Also here, as what describes a folder's features: :class:`ExtractConfig` (the analysis settings) and
:class:`FeatureSettings` (rate, α, frame period: what two folders, or a folder and a model, must share).
This module imports nothing above it (features is read lazily, so that importing it loads no WORLD).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Sequence

from .choices import F0_CEIL_HZ, F0_FLOOR_HZ, F0_METHODS
from .config import check_choice, check_ranges
from .errors import VawganError
from .fileio import write_text_atomic

if TYPE_CHECKING:
    from .features import Features, FeatureStats

@dataclasses.dataclass(frozen=True)
class ExtractConfig:
    """WORLD analysis settings of ``vawgan extract``."""

    fs: int | None = None  # resample to this rate (Hz); None keeps each file's own
    f0_method: str = "harvest"
    f0_floor: float = F0_FLOOR_HZ
    f0_ceil: float = F0_CEIL_HZ

    SECTION = "extract"

    def __post_init__(self):
        check_choice(self, "f0_method", F0_METHODS)
        check_ranges(self, fs=">= 1000", f0_floor="> 0", f0_ceil="> 0")
        if self.f0_ceil <= self.f0_floor:
            raise VawganError(None, f"[extract] f0_ceil = {self.f0_ceil} must be above f0_floor = {self.f0_floor}")


@dataclasses.dataclass(frozen=True)
class FeatureSettings:
    """What makes two sets of mel-cepstra comparable: sampling rate (Hz), all-pass constant α, frame
    period (ms). A model records the ones it was trained on; every command that reads two folders, or a
    folder and a model, checks them with :meth:`check`."""

    fs: int
    alpha: float
    frame_period: float

    @classmethod
    def of(cls, feats: "Features") -> "FeatureSettings":
        return cls(int(feats.fs), float(feats.alpha), float(feats.frame_period))

    @classmethod
    def from_extra(cls, extra: dict) -> "FeatureSettings":
        """The settings a checkpoint's ``extra`` records (``fs``, ``alpha``, ``frame_period``; 5 ms in
        checkpoints written before the frame period was recorded)."""
        return cls(int(extra["fs"]), float(extra["alpha"]), float(extra.get("frame_period", 5.0)))

    def as_extra(self) -> dict:
        """As a checkpoint's ``extra`` records them."""
        return {"fs": self.fs, "alpha": self.alpha, "frame_period": self.frame_period}

    def matches(self, other: "FeatureSettings") -> bool:
        return self.fs == other.fs and abs(self.alpha - other.alpha) <= 1e-6 and self.frame_period == other.frame_period

    def __str__(self) -> str:
        return f"{self.fs} Hz, α {self.alpha:.3f}, {self.frame_period:g} ms"

    def check(self, feats: "Features", what: str, where: str | Path | None = None) -> None:
        """Refuse ``feats`` analysed otherwise than ``what`` (e.g. "the converter") was trained."""
        got = FeatureSettings.of(feats)
        if not got.matches(self):
            raise VawganError(where, f"features at {got}; {what} was trained at {self}")


def utterance_path(folder: str | Path, utt: str) -> Path:
    """Where utterance ``utt``'s features are in ``folder``."""
    return Path(folder) / f"{utt}.npz"


def has_utterance(folder: str | Path, utt: str) -> bool:
    return utterance_path(folder, utt).is_file()


def load_utterance(folder: str | Path, utt: str) -> "Features":
    """Utterance ``utt``'s features in ``folder`` (validated; a bad file is one clear error)."""
    from .features import load_features

    return load_features(utterance_path(folder, utt))


def save_utterance(folder: str | Path, utt: str, feats: "Features") -> Path:
    """Write ``feats`` as utterance ``utt`` of ``folder`` (atomically); returns the path."""
    from .features import save_features

    path = utterance_path(folder, utt)
    save_features(path, feats)
    return path


def utterance_settings(folder: str | Path, utt: str) -> FeatureSettings:
    """The settings of one utterance's features, reading only those three scalars."""
    import numpy as np

    path = utterance_path(folder, utt)
    try:
        with np.load(path, allow_pickle=False) as z:
            return FeatureSettings(int(z["fs"]), float(z["alpha"]), float(z["frame_period"]))
    except Exception as e:  # missing member, truncation, not a zip
        raise VawganError(path, f"not readable as features ({type(e).__name__}: {e})") from None


def uniform_settings(folder: str | Path, ids: Sequence[str]) -> FeatureSettings:
    """The one setting of the utterances ``ids`` (as the first one stores it); a folder that mixes them
    (e.g. 16 and 48 kHz files extracted without ``--fs``: mel-cepstra at α 0.41 and 0.55) is an error
    naming each setting and how many utterances have it."""
    folder = Path(folder)
    groups: dict[tuple[int, float, float], int] = {}
    first = None
    for utt in ids:
        settings = utterance_settings(folder, utt)
        first = first or settings
        key = (settings.fs, round(settings.alpha, 6), settings.frame_period)
        groups[key] = groups.get(key, 0) + 1
    if len(groups) > 1:
        kinds = "; ".join(f"{fs} Hz, α {a:.3f}, {fp:g} ms: {n} utterance{'s' * (n != 1)}"
                          for (fs, a, fp), n in sorted(groups.items(), key=lambda kv: -kv[1]))
        raise VawganError(folder, f"mixes feature settings ({kinds}); one model needs one setting: "
                                  f"extract again at one rate, e.g. vawgan extract WAVS -o {folder} --fs 16000 --overwrite")
    return first

MANIFEST = "manifest.tsv"
FAILED = "failed.tsv"
CORPUS_STATS = "stats.npz"
SETTINGS = "extract.toml"
FRAMES = "frames"
RESERVED_IDS = (Path(CORPUS_STATS).stem,)  # an utterance named so would collide with the statistics file


def feature_ids(folder: str | Path) -> list[str]:
    """The utterances with a feature file in ``folder``, sorted (any folder of ``.npz``)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise VawganError(folder, "no such folder")
    return sorted(p.stem for p in folder.glob("*.npz") if p.name != CORPUS_STATS)


def _manifest_rows(folder: Path) -> list[list[str]]:
    path = folder / MANIFEST
    if not path.is_file():
        raise VawganError(folder, f"no {MANIFEST}: not an extraction folder (run `vawgan extract`)")
    rows = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines()[1:], 2):
        cols = line.split("\t")
        if len(cols) != 4:
            raise VawganError(path, f"line {n}: expected 4 tab-separated columns, got {len(cols)}")
        rows.append(cols)
    return rows


def read_manifest(folder: str | Path) -> list[str]:
    """Utterance ids with features in ``folder`` (status ok or skipped), in manifest order."""
    return [utt for utt, _, _, status in _manifest_rows(Path(folder)) if status in ("ok", "skipped")]


def sources(folder: str | Path) -> dict[str, Path]:
    """Each analysed utterance's source audio file, where it still exists."""
    return {utt: Path(src) for utt, src, _, status in _manifest_rows(Path(folder))
            if status != "failed" and Path(src).is_file()}


def write_manifest(folder: Path, rows: Iterable[tuple[str, str, int, str]]) -> None:
    """``rows``: (utt, source, frames, status)."""
    lines = ["utt\tsource\tframes\tstatus"] + [f"{u}\t{s}\t{n}\t{st}" for u, s, n, st in rows]
    write_text_atomic(Path(folder) / MANIFEST, "\n".join(lines) + "\n")


def write_failed(folder: Path, rows: Sequence[tuple[str, str, str]]) -> None:
    """``rows``: (utt, source, reason); none removes the file (nothing is failing any more)."""
    path = Path(folder) / FAILED
    if rows:
        lines = ["utt\tsource\treason"] + [f"{u}\t{s}\t{' '.join(r.split())}" for u, s, r in rows]
        write_text_atomic(path, "\n".join(lines) + "\n")
    else:
        path.unlink(missing_ok=True)


def save_stats(folder: Path, stats: "FeatureStats") -> None:
    stats.save(Path(folder) / CORPUS_STATS)


def save_settings(folder: Path, options: ExtractConfig) -> None:
    from .config import save_toml

    save_toml(Path(folder) / SETTINGS, {"extract": options})


def analysis_settings(folder: str | Path) -> ExtractConfig | None:
    """The settings the folder's features were analysed with; None when it does not say."""
    from .config import load_section

    path = Path(folder) / SETTINGS
    return load_section(path, "extract", ExtractConfig) if path.is_file() else None


def paired_prompts(first: Path, second: Path, ids: Sequence[str], dev_ids: Sequence[str], say,
                   sides: tuple[str, str] = ("source", "target")) -> tuple[list[str], list[str], FeatureSettings]:
    """The training and dev prompts of two feature folders of the same prompts (a parallel corpus):
    a prompt with no features on one side is named through ``say`` and left out; both sides must have
    one setting (fs, α, frame period), the same. Returns (ids, dev ids, settings)."""
    ids, dev_ids = list(ids), list(dev_ids)
    if not ids:
        raise VawganError(None, "no training prompts: give the training id list")
    both = set(ids) & set(dev_ids)
    if both:
        raise VawganError(None, f"{len(both)} prompt(s) both in training and dev, e.g. {sorted(both)[0]}")
    missing = set()
    for u in ids + dev_ids:
        absent = [utterance_path(d, u) for d in (first, second) if not has_utterance(d, u)]
        if absent:
            say(f"left out {u}: no features {absent[0]}")
            missing.add(u)
    ids, dev_ids = [u for u in ids if u not in missing], [u for u in dev_ids if u not in missing]
    if not ids:
        raise VawganError(first, "no training prompt has features on both sides")
    settings = uniform_settings(first, ids + dev_ids)
    if not uniform_settings(second, ids + dev_ids).matches(settings):
        raise VawganError(first, f"{sides[0]} features at {settings} differ from the {sides[1]} ones in {second}; "
                                 "extract both alike")
    return ids, dev_ids, settings
