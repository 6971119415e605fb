"""Corpus-level extraction: WAVs -> one ``.npz`` per utterance, a manifest, a failure report and
normalization statistics, in parallel, resumable, and never stopped by one bad file."""

from __future__ import annotations

import dataclasses
import os
import re
import time
import uuid
from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np

from .audio import AUDIO_SUFFIXES, read_audio
from .errors import VawganError
from . import feature_folder as folder
from .feature_folder import ExtractConfig
from .features import (
    FRAME_PERIOD_MS,
    MODEL_DIM,
    FeatureStats,
    analyze,
    frame_sums,
    load_features,
    save_features,
)
from .fileio import remove_stale_temporaries
from .processes import process_pool, results

_UNSAFE = re.compile(r"[^\w.\-]+")


@dataclasses.dataclass(frozen=True)
class Job:
    utt: str
    source: Path
    target: Path


@dataclasses.dataclass
class Outcome:
    utt: str
    source: str
    status: str  # "ok" | "skipped" | "failed"
    frames: int = 0
    seconds: float = 0.0  # audio duration
    reason: str = ""
    sums: tuple | None = None  # frame_sums() of c1..c39, for the corpus statistics


@dataclasses.dataclass
class ExtractSummary:
    outcomes: list[Outcome]
    wall_seconds: float
    out_dir: Path

    def count(self, status: str) -> int:
        return sum(o.status == status for o in self.outcomes)

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == "failed"]

    @property
    def frames(self) -> int:
        return sum(o.frames for o in self.outcomes if o.status != "failed")

    @property
    def audio_minutes(self) -> float:
        """Minutes of audio the folder's features cover (frames × the analysis frame period)."""
        return self.frames * FRAME_PERIOD_MS / 60000


# ------------------------------------------------------------------------------------ inputs


def utterance_id(relative: Path) -> str:
    """Utterance id from a path relative to its root: folders joined by '_', no suffix, and
    characters unsafe in a file name replaced, so an id is always a plain file name."""
    parts = list(relative.with_suffix("").parts)
    return _UNSAFE.sub("_", "_".join(parts)).strip("._") or "utt"


def collect_inputs(specs: Sequence[str | Path]) -> list[tuple[str, Path]]:
    """Expand files, folders (searched recursively for .wav/.flac) and list files into sorted
    ``(utt_id, path)`` pairs. A list file has one path per line (relative to the list's folder), or,
    like Kaldi's wav.scp, ``utt_id path`` (any whitespace between); '#' starts a comment line.

    Raises VawganError for a missing input, an empty selection, or two inputs mapping to one id.
    """
    pairs: list[tuple[str, Path]] = []
    for spec in specs:
        p = Path(spec)
        if p.is_dir():
            found = sorted(f for f in p.rglob("*") if f.suffix.lower() in AUDIO_SUFFIXES and f.is_file())
            pairs += [(utterance_id(f.relative_to(p)), f) for f in found]
        elif p.is_file() and p.suffix.lower() in AUDIO_SUFFIXES:
            pairs.append((utterance_id(Path(p.name)), p))
        elif p.is_file():
            pairs += _read_list(p)
        else:
            raise VawganError(p, "no such file or folder")
    if not pairs:
        raise VawganError(", ".join(map(str, specs)), "no .wav or .flac files found")
    seen: dict[str, Path] = {}
    for utt, path in pairs:
        if utt in folder.RESERVED_IDS:
            raise VawganError(path, f"utterance id {utt!r} is reserved for {folder.CORPUS_STATS}; rename the file")
        if utt in seen and seen[utt].resolve() != path.resolve():
            raise VawganError(path, f"utterance id {utt!r} is also the id of {seen[utt]}; rename one")
        seen[utt] = path
    return sorted(seen.items())


def _read_list(list_file: Path) -> list[tuple[str, Path]]:
    try:
        lines = list_file.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError:
        raise VawganError(list_file, "neither audio (.wav/.flac) nor a UTF-8 list of paths") from None
    pairs = []
    for n, line in enumerate(lines, 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        # Kaldi's wav.scp: "utt_id path", separated by any whitespace; a line that is itself an
        # existing path (spaces and all) is one column, its id taken from the file name.
        parts = line.split(maxsplit=1)
        if len(parts) == 2 and not _resolve(list_file, line).is_file():
            utt, path = parts
        else:
            utt, path = "", line
        if path.endswith("|"):
            raise VawganError(list_file, f"line {n}: Kaldi pipe commands are not supported; give the audio file's path")
        p = _resolve(list_file, path)
        if not p.is_file():
            raise VawganError(list_file, f"line {n}: {path} does not exist")
        pairs.append((utterance_id(Path(utt or p.name)), p))
    return pairs


def _resolve(list_file: Path, path: str) -> Path:
    return Path(path) if Path(path).is_absolute() else list_file.parent / path


# ------------------------------------------------------------------------------------ one file


def extract_file(source: str | Path, options: ExtractConfig = ExtractConfig()):
    """Read and analyse one audio file; returns :class:`~vawgan_tts.features.Features`."""
    x, fs = read_audio(source, options.fs)
    return analyze(x, fs, options.f0_method, options.f0_floor, options.f0_ceil, source=source)


def _process(job: Job, options: ExtractConfig, overwrite: bool) -> Outcome:
    """Worker body: never raises for a bad input, reports it."""
    src = str(job.source)
    try:
        if not overwrite and _is_current(job):
            feats = load_features(job.target)
            return Outcome(job.utt, src, "skipped", feats.n_frames, _duration(feats), sums=frame_sums(feats.mcep))
        feats = extract_file(job.source, options)
        save_features(job.target, feats)
        return Outcome(job.utt, src, "ok", feats.n_frames, _duration(feats), sums=frame_sums(feats.mcep))
    except VawganError as e:
        return Outcome(job.utt, src, "failed", reason=e.reason)
    except MemoryError:
        return Outcome(job.utt, src, "failed", reason="out of memory")
    except OSError as e:  # disk full, permissions: name it, do not crash the pool
        return Outcome(job.utt, src, "failed", reason=f"{type(e).__name__}: {e.strerror or e}")


def _is_current(job: Job) -> bool:
    try:
        return job.target.stat().st_mtime >= job.source.stat().st_mtime
    except FileNotFoundError:
        return False


def _duration(feats) -> float:
    return feats.n_frames * feats.frame_period / 1000.0


# ---------------------------------------------------------------------------------- the corpus


def run(
    inputs: Sequence[str | Path],
    out_dir: str | Path,
    options: ExtractConfig = ExtractConfig(),
    jobs: int | None = None,
    overwrite: bool = False,
    on_progress: Callable[[Outcome], None] | None = None,
    scheduler: str | None = None,
) -> ExtractSummary:
    """Extract every input into ``out_dir``; write manifest, failure report and statistics.

    ``jobs`` processes (default: all cores) share the files, or, with ``scheduler`` (a Dask
    distributed scheduler's address, e.g. ``tcp://host:8786``), the cluster's workers do — they
    must see the inputs and ``out_dir`` at the same paths (a shared file system). Each finished
    file is passed to ``on_progress``. The manifest and statistics describe the inputs of this run.
    """
    start = time.perf_counter()
    out_dir = Path(out_dir)
    pairs = collect_inputs(inputs)
    out_dir.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(out_dir)
    job_list = [Job(utt, src, folder.utterance_path(out_dir, utt)) for utt, src in pairs]
    # Features analysed with other settings are not up to date, however new they are.
    earlier = folder.analysis_settings(out_dir)
    if earlier is not None and earlier != options:
        overwrite = True
    jobs = jobs or os.cpu_count() or 1
    if scheduler:
        outcomes = list(_map_jobs_dask(job_list, options, overwrite, scheduler, on_progress))
    else:
        outcomes = list(_map_jobs(job_list, options, overwrite, jobs, on_progress))
    outcomes.sort(key=lambda o: o.utt)
    _write_reports(out_dir, outcomes)
    folder.save_settings(out_dir, options)
    return ExtractSummary(outcomes, time.perf_counter() - start, out_dir)


def _map_jobs(job_list, options, overwrite, jobs, on_progress) -> Iterable[Outcome]:
    def report(outcome: Outcome) -> Outcome:
        if on_progress is not None:
            on_progress(outcome)
        return outcome

    if jobs == 1 or len(job_list) == 1:
        for job in job_list:
            yield report(_process(job, options, overwrite))
    else:
        with process_pool(jobs, __name__) as pool:
            futures = [pool.submit(_process, job, options, overwrite) for job in job_list]
            for _, outcome in results(futures):
                yield report(outcome)


def _map_jobs_dask(job_list, options, overwrite, scheduler: str, on_progress) -> Iterable[Outcome]:
    """The same jobs on a Dask distributed cluster: one task per file, results as they finish. A
    task the cluster gives up on (its worker died, again and again) is a failed file, not a crash."""
    try:
        from distributed import Client, as_completed as dask_completed
    except ImportError:
        raise VawganError(None, "--dask-scheduler needs Dask: pip install 'vawgan-tts[dask]' (dask[distributed])") from None
    try:
        # How long to try: Dask's own setting distributed.comm.timeouts.connect (30 s unless the
        # user's Dask configuration or DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT says otherwise).
        client = Client(scheduler, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as e:
        raise VawganError(scheduler, f"cannot reach the Dask scheduler ({' '.join(str(e).split())[:200]})") from None
    # Workers may run elsewhere: absolute paths; the manifest keeps the paths as given.
    remote = {Job(j.utt, j.source.absolute(), j.target.absolute()): j for j in job_list}
    run_id = uuid.uuid4().hex[:8]
    with client:
        futures = {client.submit(_process, r, options, overwrite, key=f"vawgan-extract-{run_id}-{r.utt}", pure=False): j
                   for r, j in remote.items()}
        try:
            for fut in dask_completed(futures, loop=client.loop):
                job = futures[fut]
                try:
                    outcome = fut.result()
                except Exception as e:  # KilledWorker, a worker without vawgan_tts, ...
                    outcome = Outcome(job.utt, str(job.source), "failed", reason=f"Dask: {type(e).__name__}: {e}")
                outcome.source = str(job.source)
                if on_progress is not None:
                    on_progress(outcome)
                yield outcome
        except BaseException:
            client.cancel(list(futures))
            raise


def _write_reports(out_dir: Path, outcomes: list[Outcome]) -> None:
    folder.write_manifest(out_dir, [(o.utt, o.source, o.frames, o.status) for o in outcomes])
    folder.write_failed(out_dir, [(o.utt, o.source, o.reason) for o in outcomes if o.status == "failed"])
    good = [o.sums for o in outcomes if o.sums is not None]
    if good:
        s = np.zeros(MODEL_DIM)
        ss = np.zeros(MODEL_DIM)
        n = 0
        for a, b, c in good:
            s += a
            ss += b
            n += c
        folder.save_stats(out_dir, FeatureStats.from_sums(s, ss, n))
