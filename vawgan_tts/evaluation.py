"""Corpus-level evaluation: natural features vs one or more systems' features, paired by id.

GV and MCD are computed on speech frames (the natural utterance's frames within
``speech_threshold_db`` of its loudest); the modulation spectrum needs whole trajectories and uses
every frame. Each system is scored on the same utterances.

Frames are paired by time alignment. ``align="auto"`` pairs frame t with frame t when the two
utterances are equally long (a system that keeps the natural timing: analysis–synthesis, an
enhancer) and by DTW otherwise; ``align="dtw"`` always aligns by DTW of the two utterances' speech
frames (:func:`vawgan_tts.alignment.align_utterance`), for systems with their own timing (a
synthesizer, a converter from another speaker) whose length may equal the natural one by chance.
F0 RMSE (cents) is taken over aligned pairs voiced in both, the V/UV error over all aligned pairs.
"""

from __future__ import annotations

import csv
import dataclasses
import functools
import io
import json
from collections import defaultdict
from pathlib import Path
from typing import Callable, Mapping, Sequence

import numpy as np

from .alignment import DEFAULT_BAND, align_utterance
from .choices import ALIGNMENTS
from .errors import VawganError
from .feature_folder import feature_ids, uniform_settings, utterance_path
from .features import SPEECH_THRESHOLD_DB, Features, load_features, speech_mask
from .fileio import write_text_atomic
from .outputs import refuse_input_folder
from . import metrics as M
from .plots import NATURAL, plot_gv, plot_ms, plot_scatter
from .processes import pool_or_none
from .significance import (CONFIDENCE, N_RESAMPLES, bootstrap_interval, jackknife_interval, paired_test,
                           weighted_nanmean)

METRICS_JSON = "metrics.json"
CORPUS_FIGURES = ("gv.png", "ms.png", "scatter.png")  # what evaluate() draws, beside the two tables
MS_PLOT_DIMS = (1, 2, 5, 13)
SCATTER_POINTS = 4000


class _Utterances:
    """One side's per-utterance results (a system's, or the natural recordings'), in utterance order.

    Everything a corpus figure needs, per utterance, so that a figure can be recomputed for any
    weighting of the utterances (a bootstrap resample, a paired exchange): the GV of the speech
    frames, the modulation power up to ``MS_MAX_HZ``, the frames' sums for a Gaussian fit, and the
    per-utterance scores (MCD, F0).
    """

    def __init__(self):
        self.gv: list[np.ndarray] = []
        self.ms_power: list[np.ndarray] = []
        self.sums: list[tuple[int, np.ndarray, np.ndarray]] = []
        self.scores: dict[str, list[float]] = defaultdict(list)
        self.frames: list[np.ndarray] = []

    def add(self, c: np.ndarray, speech: np.ndarray, n_bins: int, scores: Mapping[str, float] | None = None):
        self.gv.append(M.global_variance(c[speech]))
        self.ms_power.append(M.modulation_power(c)[:n_bins])
        x = np.asarray(c[speech], np.float64)
        self.sums.append((len(x), x.sum(axis=0), x.T @ x))
        self.frames.append(c[speech])
        for k, v in (scores or {}).items():
            self.scores[k].append(v)

    def extend(self, other: "_Utterances") -> None:
        """Append ``other``'s utterances (scored elsewhere, e.g. in a worker process) after these."""
        self.gv += other.gv
        self.ms_power += other.ms_power
        self.sums += other.sums
        self.frames += other.frames
        for k, v in other.scores.items():
            self.scores[k] += v

    def arrays(self) -> dict[str, np.ndarray]:
        """Stacked: gv (U, D), ms (U, F, D), n (U,), s1 (U, D), s2 (U, D, D), and each score (U,)."""
        n, s1, s2 = zip(*self.sums)
        out = {"gv": np.stack(self.gv), "ms": np.stack(self.ms_power), "n": np.array(n, np.float64),
               "s1": np.stack(s1), "s2": np.stack(s2)}
        return out | {k: np.array(v, np.float64) for k, v in self.scores.items() if v}

    def sample(self, rng: np.random.Generator) -> np.ndarray:
        f = np.concatenate(self.frames)
        return f[rng.choice(len(f), size=min(SCATTER_POINTS, len(f)), replace=False)]


@dataclasses.dataclass(frozen=True)
class Figure:
    """How a figure of metrics.json is shown (the report's tables, the CLI's): its key, heading, short
    label (a terminal column), scale and digits, and which way is better (lower, higher, or nearest one)."""

    key: str
    heading: str
    short: str
    scale: float
    digits: int
    better: str


# The one table of the figures' labels (docs/metrics.md). FD is the Fréchet distance of c1..c39; F0 the
# RMSE in cents on frames voiced in both; V/UV the share of aligned frames whose voicing differs.
FIGURES = (Figure("mcd_db", "MCD [dB]", "MCD [dB]", 1.0, 3, "lower"),
           Figure("gv_distance", "log-GV distance [dB]", "logGV [dB]", 1.0, 3, "lower"),
           Figure("ms_distance", "MS distance [dB]", "MS [dB]", 1.0, 3, "lower"),
           Figure("gv_ratio", "GV ratio", "GV ratio", 1.0, 3, "one"),
           Figure("frechet_distance", "Fréchet distance", "FD", 1.0, 2, "lower"),
           Figure("f0_rmse_cents", "F0 RMSE [cent]", "F0 [cent]", 1.0, 1, "lower"),
           Figure("vuv_error", "V/UV error [%]", "V/UV [%]", 100.0, 1, "lower"),
           Figure("log_f0_corr", "log-F0 corr.", "F0 r", 1.0, 3, "higher"))
# Every corpus figure in metrics.json, each with its interval and, against a reference, its p-value.
FIGURE_KEYS = tuple(f.key for f in FIGURES)
# Scores of one utterance pair, averaged over utterances for the corpus figure.
UTTERANCE_SCORES = ("mcd_db", "f0_rmse_cents", "vuv_error", "log_f0_corr")
# The per-utterance table: the scores, and the corpus figures taken on the one utterance.
PER_UTTERANCE_CSV = "per_utterance.csv"
PER_UTTERANCE_COLUMNS = ("utterance", "system", "frames", "mcd_db", "gv_distance", "ms_distance", "gv_ratio",
                         "f0_rmse_cents", "vuv_error", "log_f0_corr")


def _fit(w: np.ndarray, a: dict) -> tuple[np.ndarray, np.ndarray]:
    """Weighted Gaussian fit of the frames of the weighted utterances. (..., U) -> (..., D), (..., D, D)."""
    n = w @ a["n"]
    mu = (w @ a["s1"]) / n[..., None]
    second = np.einsum("...u,uij->...ij", w, a["s2"]) / n[..., None, None]
    return mu, second - mu[..., :, None] * mu[..., None, :]


def figure(key: str, w: np.ndarray, gen: dict, w_nat: np.ndarray, nat: dict, freqs: np.ndarray) -> np.ndarray:
    """One corpus figure of a system for utterance weights ``w`` (..., U) over its rows of ``gen``
    (``_Utterances.arrays``) and ``w_nat`` over the natural rows. Equal weights give the corpus figure."""
    if key in UTTERANCE_SCORES:
        return weighted_nanmean(w, gen[key])
    if key == "frechet_distance":
        return M.frechet_distance(*_fit(w_nat, nat), *_fit(w, gen))
    gv_nat, gv_gen = w_nat @ nat["gv"], w @ gen["gv"]
    if key == "gv_distance":
        return M.log_gv_distance(gv_nat, gv_gen)
    if key == "gv_ratio":
        return np.mean(gv_gen / gv_nat, axis=-1)
    if key == "ms_distance":
        shape = nat["ms"].shape[1:]
        ms_nat = (w_nat @ nat["ms"].reshape(len(nat["ms"]), -1)).reshape(w_nat.shape[:-1] + shape)
        ms_gen = (w @ gen["ms"].reshape(len(gen["ms"]), -1)).reshape(w.shape[:-1] + shape)
        return M.ms_distance(M.to_db(ms_nat), M.to_db(ms_gen), freqs)
    raise ValueError(key)


def _one(a: dict, u: int) -> dict:
    return {k: v[u : u + 1] for k, v in a.items()}


def _stack(a: dict, b: dict) -> dict:
    return {k: np.concatenate([a[k], b[k]]) for k in a if k in b}


def _score_utterance(natural_dir: Path, systems: dict[str, Path], align: str, band: float | None,
                     speech_threshold_db: float, utt: str) -> tuple["_Utterances", dict[str, "_Utterances"], tuple]:
    """One utterance: the natural side's and each system's statistics and scores, and (fs, frame
    period, MS bins) of the natural features."""
    nat_path = utterance_path(natural_dir, utt)
    nat = load_features(nat_path)
    n_bins = int(np.searchsorted(M.ms_frequencies(M.MS_FFT_SIZE, nat.frame_period), M.MS_MAX_HZ, side="right"))
    speech = speech_mask(nat.mcep[:, 0], speech_threshold_db)
    c_nat = nat.mcep[:, 1:]
    nat_one = _Utterances()
    nat_one.add(c_nat, speech, n_bins)
    gen_one = {}
    for name, folder in systems.items():
        gen_path = utterance_path(folder, utt)
        gen = load_features(gen_path)  # its settings are the natural ones' (evaluate checked every utterance)
        i, j = aligned_frames(nat, gen, speech, align, band, speech_threshold_db, (gen_path, nat_path))
        c_gen = gen.mcep[:, 1:]
        # The generated frames aligned to natural speech frames: same selection for GV.
        gen_speech = np.zeros(len(c_gen), bool)
        gen_speech[j] = True
        f0_gen = np.where(gen.vuv, gen.f0, 0.0)
        gen_one[name] = _Utterances()
        gen_one[name].add(c_gen, gen_speech, n_bins, {
            "mcd_db": float(np.mean(M.frame_mcd(c_nat[i], c_gen[j]))),
            "f0_rmse_cents": M.f0_rmse_cents(nat.f0[i], f0_gen[j]),
            "vuv_error": M.vuv_error(nat.vuv[i], gen.vuv[j]),
            "log_f0_corr": M.log_f0_correlation(nat.f0[i], f0_gen[j]),
            "frames": len(i),
        })
    return nat_one, gen_one, (nat.fs, nat.frame_period, n_bins)


def _spread(gen_a: dict, nat_a: dict, freqs: np.ndarray, reference: str | None, n_resamples: int, seed: int,
            task: tuple[str, str, str]):
    """One system's 95 % interval of one figure (``what`` = "ci95"), or its p-value against the
    reference ("p_vs_reference"). Intervals: BCa bootstrap for means of per-utterance scores,
    jackknife for distances between corpus statistics (docs/metrics.md)."""
    name, what, k = task
    g = gen_a[name]
    n = len(g["n"])
    if what == "ci95":
        of_weights = functools.partial(_figure_same_weights, k, g, nat_a, freqs)
        return list(bootstrap_interval(of_weights, n, n_resamples=n_resamples, seed=seed) if k in UTTERANCE_SCORES
                    else jackknife_interval(of_weights, n))
    both = _stack(g, gen_a[reference])
    return paired_test(functools.partial(_figure_paired, k, both, nat_a, freqs, n), n, n_resamples=n_resamples, seed=seed)


def _figure_same_weights(key: str, gen: dict, nat: dict, freqs: np.ndarray, w: np.ndarray) -> np.ndarray:
    return figure(key, w, gen, w, nat, freqs)


def _figure_paired(key: str, both: dict, nat: dict, freqs: np.ndarray, n: int, w: np.ndarray) -> np.ndarray:
    """A figure of the corpus that weights 2n stacked results (two systems' on the same n
    utterances): each natural utterance weighs what its two results weigh together."""
    return figure(key, w, both, w[..., :n] + w[..., n:], nat, freqs)


_worker_data: tuple = ()


def _set_worker_data(data: tuple) -> None:
    global _worker_data
    _worker_data = data


def _spread_in_worker(task: tuple[str, str, str]):
    return _spread(*_worker_data, task)


def evaluate(
    natural_dir: str | Path,
    systems: Mapping[str, str | Path],
    out_dir: str | Path,
    ids: Sequence[str] | None = None,
    speech_threshold_db: float = SPEECH_THRESHOLD_DB,
    plots: bool = True,
    on_progress: Callable[[int, int], None] | None = None,
    align: str = "auto",
    band: float | None = DEFAULT_BAND,
    reference: str | None = None,
    n_resamples: int = N_RESAMPLES,
    seed: int = 0,
    annotations: Mapping[str, object] | None = None,
    jobs: int = 1,
) -> dict:
    """Score each system against the natural features; write ``metrics.json``,
    ``per_utterance.csv`` (and PNGs).

    Returns ``{"systems": {name: {figure: value, ..., "utterances", "ci95": {figure: [lo, hi]},
    "p_vs_reference": {figure: p}}}, "settings": {...}, "per_utterance": [row, ...]}``; figures are
    ``FIGURE_KEYS`` (docs/metrics.md), intervals are over utterances (BCa bootstrap for the means of
    per-utterance scores, jackknife for the distances between corpus statistics), p-values those
    of a paired randomization test against ``reference`` (one of ``systems``; none without it).
    ``align``: "auto" or "dtw" (module docstring); ``band``: DTW's band. ``annotations``: further
    top-level entries of the result and of ``metrics.json`` (a report's provenance). ``jobs``:
    processes for the utterances' scores and for the intervals and tests (the same figures as one
    process: every resampling is seeded).
    """
    if align not in ALIGNMENTS:
        raise VawganError(None, f"alignment {align!r}: choose from {', '.join(ALIGNMENTS)}")
    if not systems:
        raise VawganError(None, "no system to evaluate: give at least one NAME=DIR")
    if NATURAL in systems:
        raise VawganError(None, f"{NATURAL!r} is the reference; name the system something else")
    if reference is not None and reference not in systems:
        raise VawganError(None, f"--reference {reference!r} is not among the systems ({', '.join(systems)})")
    refuse_input_folder(out_dir, [natural_dir, *systems.values()])
    natural_dir = Path(natural_dir)
    common = set(feature_ids(natural_dir))
    if not common:
        raise VawganError(natural_dir, "no .npz features")
    if ids is not None:
        common &= set(ids)
    for name, folder in systems.items():
        have = set(feature_ids(folder))
        if not have & common:
            raise VawganError(folder, f"system {name!r} has no utterance in common with {natural_dir}")
        common &= have
    utts = sorted(common)
    settings = uniform_settings(natural_dir, utts)
    for name, folder in systems.items():  # mel-cepstra of another rate, α or frame period are not comparable
        theirs = uniform_settings(folder, utts)
        if not theirs.matches(settings):
            raise VawganError(folder, f"system {name!r} has features at {theirs}; the natural ones in {natural_dir} are at "
                                      f"{settings}: extract both alike")

    nat_acc = _Utterances()
    acc = {name: _Utterances() for name in systems}
    score = functools.partial(_score_utterance, natural_dir, {n: Path(f) for n, f in systems.items()}, align, band,
                              speech_threshold_db)
    with pool_or_none(jobs, len(utts), __name__) as pool:
        scored = pool.map(score, utts) if pool else map(score, utts)
        for n_done, (nat_one, gen_one, (fs, frame_period, n_bins)) in enumerate(scored, 1):
            nat_acc.extend(nat_one)
            for name, one in gen_one.items():
                acc[name].extend(one)
            if on_progress is not None:
                on_progress(n_done, len(utts))

    freqs = M.ms_frequencies(M.MS_FFT_SIZE, frame_period)[:n_bins]
    nat_a = nat_acc.arrays()
    gen_a = {name: a.arrays() for name, a in acc.items()}
    n = len(utts)
    even = np.full(n, 1.0 / n)
    result = {"systems": {}, "settings": {
        "natural": str(natural_dir),
        "utterances": n,
        "speech_threshold_db": speech_threshold_db,
        "alignment": align,
        "dtw_band": band,
        "ms_fft_size": M.MS_FFT_SIZE,
        "ms_max_hz": M.MS_MAX_HZ,
        "fs": fs,
        "confidence": CONFIDENCE,
        "resamples": n_resamples,
        "reference": reference,
    }}
    tasks = [(name, "ci95", k) for name in gen_a for k in FIGURE_KEYS]
    if reference is not None:
        tasks += [(name, "p_vs_reference", k) for name in gen_a if name != reference for k in FIGURE_KEYS]
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    figures = []
    if plots:
        rng = np.random.default_rng(0)
        frames = {NATURAL: nat_acc.sample(rng)} | {n: a.sample(rng) for n, a in acc.items()}
        figures = [(plot_gv, ({NATURAL: nat_a["gv"].mean(0)} | {k: g["gv"].mean(0) for k, g in gen_a.items()},
                              out_dir / CORPUS_FIGURES[0])),
                   (plot_ms, ({NATURAL: M.to_db(nat_a["ms"].mean(0))} | {k: M.to_db(g["ms"].mean(0)) for k, g in gen_a.items()},
                              freqs, MS_PLOT_DIMS, out_dir / CORPUS_FIGURES[1])),
                   (plot_scatter, (frames, out_dir / CORPUS_FIGURES[2]))]
    # The corpus statistics (the MS arrays are tens of MB) go to each worker once, not with each task;
    # the figures are drawn by the same workers, first, while the others take the intervals.
    data = (gen_a, nat_a, freqs, reference, n_resamples, seed)
    with pool_or_none(jobs, len(tasks), __name__, _set_worker_data, (data,)) as pool:
        if pool:
            drawn = [pool.submit(draw, *args) for draw, args in figures]
            spreads = list(pool.map(_spread_in_worker, tasks))
            for done in drawn:
                done.result()
        else:
            spreads = [_spread(*data, t) for t in tasks]
            for draw, args in figures:
                draw(*args)
    for name, g in gen_a.items():
        m = {k: float(figure(k, even, g, even, nat_a, freqs)) for k in FIGURE_KEYS}
        m["utterances"] = n
        for (of, what, k), value in zip(tasks, spreads):
            if of == name:
                m.setdefault(what, {})[k] = value
        result["systems"][name] = m
    rows = []
    for name, g in gen_a.items():
        for u, utt in enumerate(utts):
            one, nat_one = _one(g, u), _one(nat_a, u)
            row = {"utterance": utt, "system": name, "frames": int(g["frames"][u])}
            row |= {k: float(figure(k, np.ones(1), one, np.ones(1), nat_one, freqs)) for k in PER_UTTERANCE_COLUMNS[3:]}
            rows.append(row)
    result.update(annotations or {})
    result["per_utterance"] = rows

    write_per_utterance(out_dir / PER_UTTERANCE_CSV, rows)
    write_text_atomic(out_dir / METRICS_JSON, json.dumps({k: v for k, v in result.items() if k != "per_utterance"},
                                                          indent=2) + "\n")
    return result


def aligned_frames(nat: Features, gen: Features, speech: np.ndarray, align: str, band: float | None,
                   speech_threshold_db: float, paths: tuple[Path, Path]) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (i natural frame, j generated frame) that an utterance is scored on: natural speech frames
    aligned one to one (``align="auto"``, equal lengths) or by DTW (unequal lengths, or ``"dtw"``:
    DTW of both sides' speech frames). (P,), (P,) int."""
    c_nat, c_gen = nat.mcep[:, 1:], gen.mcep[:, 1:]
    if align == "dtw":
        pairs = align_utterance(c_gen, gen.mcep[:, 0], c_nat, nat.mcep[:, 0], band, speech_threshold_db, paths)
        return pairs[:, 1], pairs[:, 0]
    i, j = M.align(c_nat, c_gen)
    return i[speech[i]], j[speech[i]]


def write_per_utterance(path: Path, rows: Sequence[dict]) -> None:
    """``per_utterance.csv``: one row per utterance and system, columns ``PER_UTTERANCE_COLUMNS``."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=PER_UTTERANCE_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in r.items()} for r in rows)
    write_text_atomic(path, buf.getvalue())


def read_per_utterance(path: str | Path) -> list[dict]:
    """Rows of a ``per_utterance.csv``, numbers as floats (NaN where a score is undefined)."""
    with open(path, newline="") as f:
        return [{k: (v if k in ("utterance", "system") else float(v)) for k, v in row.items()}
                for row in csv.DictReader(f)]


def parse_system(spec: str, option: str = "--generated") -> tuple[str, Path]:
    """'NAME=DIR' -> (NAME, DIR); ``option`` names where it was given, for the error."""
    name, sep, folder = spec.partition("=")
    if not sep or not name or not folder:
        raise VawganError(None, f"{option} {spec!r}: expected NAME=DIR")
    return name, Path(folder)


def parse_systems(specs: Sequence[str] | None, option: str = "--generated") -> dict[str, Path]:
    """Every 'NAME=DIR' of a command line -> {NAME: DIR}; a name given twice is refused (the later
    would silently replace the earlier)."""
    systems: dict[str, Path] = {}
    for spec in specs or ():
        name, folder = parse_system(spec, option)
        if name in systems:
            raise VawganError(None, f"{option} {spec!r}: the name {name!r} is already given to {systems[name]}")
        systems[name] = folder
    return systems
