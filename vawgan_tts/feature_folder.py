"""A feature folder — what `vawgan extract` writes and every later command reads — owned here: its
layout, and reading and writing each part. Nobody else names these files.

FEATS/<utt>.npz      one utterance's features (:func:`vawgan_tts.features.save_features`)
FEATS/manifest.tsv   utt, source, frames, status (ok | skipped: up to date | failed), one row per input
FEATS/failed.tsv     utt, source, reason — only while something failed
FEATS/stats.npz      mean/std of c1..c39 over every frame of the inputs (FeatureStats)
FEATS/extract.toml   the [extract] settings the features were analysed with (so re-analysis matches)
FEATS/frames/        the memory-mapped frame store (:mod:`vawgan_tts.data.frames`), built on first use

A folder written by another system (e.g. `vawgan synth` or `vawgan enhance` output) holds only the
``.npz`` files (and WAVs); :func:`feature_ids` lists those.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Sequence

from .errors import VawganError
from .fileio import write_text_atomic

if TYPE_CHECKING:
    from .extract import ExtractConfig
    from .features import FeatureStats

MANIFEST = "manifest.tsv"
FAILED = "failed.tsv"
STATS = "stats.npz"
SETTINGS = "extract.toml"
FRAMES = "frames"
RESERVED_IDS = (Path(STATS).stem,)  # an utterance named so would collide with the statistics file


def feature_path(folder: str | Path, utt: str) -> Path:
    return Path(folder) / f"{utt}.npz"


def feature_ids(folder: str | Path) -> list[str]:
    """The utterances with a feature file in ``folder``, sorted (any folder of ``.npz``)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise VawganError(folder, "no such folder")
    return sorted(p.stem for p in folder.glob("*.npz") if p.name != STATS)


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
    stats.save(Path(folder) / STATS)


def save_settings(folder: Path, options: "ExtractConfig") -> None:
    from .config import save_toml

    save_toml(Path(folder) / SETTINGS, {"extract": options})


def analysis_settings(folder: str | Path) -> "ExtractConfig | None":
    """The settings the folder's features were analysed with; None when it does not say."""
    from .config import load_section
    from .extract import ExtractConfig

    path = Path(folder) / SETTINGS
    return load_section(path, "extract", ExtractConfig) if path.is_file() else None


def paired_prompts(first: Path, second: Path, ids: Sequence[str], dev_ids: Sequence[str], say,
                   sides: tuple[str, str] = ("source", "target")) -> tuple[list[str], list[str], tuple[int, float, float]]:
    """The training and dev prompts of two feature folders of the same prompts (a parallel corpus):
    a prompt with no features on one side is named through ``say`` and left out; both sides must have
    one setting (fs, α, frame period), the same. Returns (ids, dev ids, settings)."""
    from .features import check_uniform_settings

    ids, dev_ids = list(ids), list(dev_ids)
    if not ids:
        raise VawganError(None, "no training prompts: give the training id list")
    both = set(ids) & set(dev_ids)
    if both:
        raise VawganError(None, f"{len(both)} prompt(s) both in training and dev, e.g. {sorted(both)[0]}")
    missing = set()
    for u in ids + dev_ids:
        absent = [feature_path(d, u) for d in (first, second) if not feature_path(d, u).is_file()]
        if absent:
            say(f"left out {u}: no features {absent[0]}")
            missing.add(u)
    ids, dev_ids = [u for u in ids if u not in missing], [u for u in dev_ids if u not in missing]
    if not ids:
        raise VawganError(first, "no training prompt has features on both sides")
    settings = check_uniform_settings(first, ids + dev_ids)
    if check_uniform_settings(second, ids + dev_ids) != settings:
        raise VawganError(first, f"{sides[0]} features at {settings[0]} Hz, α {settings[1]:.3f}, {settings[2]:g} ms "
                                 f"differ from the {sides[1]} ones in {second}; extract both alike")
    return ids, dev_ids, settings
