"""The experiment folder every run writes, owned here: its configuration file, its per-epoch metrics
file, its checkpoints' paths, the rule for continuing or refusing an existing run, and the skeleton
every run shares (save the configuration → fit → plot the curves).

EXP/config.toml        the effective configuration, one table per concern
EXP/log.csv            every training step (the trainer's)
EXP/metrics.json       per-epoch figures a run's hooks record (EpochRecord); dev.json for a staged run's dev set
EXP/stats.npz, align.npz, postfilter_stats.npz   normalization, DTW pairs, post-filter statistics (the names below)
EXP/checkpoints/<stage>.pt, last.pt, <stage>_best.pt   (the trainer's, and the best dev epoch of a stage)
EXP/curves.png         training curves
"""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path
from typing import Any, Callable, Sequence

from ..choices import CHECKPOINTS as CHECKPOINT_CHOICES
from ..config import load_run_config, save_toml
from ..errors import VawganError
from ..fileio import write_text_atomic
from ..trainer import CHECKPOINTS, LOG_CSV, Trainer, read_log

CONFIG = "config.toml"
METRICS = "metrics.json"
BEST_SUFFIX = "_best"
# Files several kinds of experiment write, each under one name:
NORMALIZATION = "stats.npz"  # the mean/std a model's frames are normalized with (a converter's round: its Normalization)
DEV_RECORD = "dev.json"  # the dev figures after each epoch (BestDev's record)
ALIGNMENT = "align.npz"  # the DTW frame pairs a pair-trained run learned from
POSTFILTER_STATS = "postfilter_stats.npz"  # natural GV and MS and the system's MS, for the statistical post-filters


def run_config(cls, exp_dir: Path, config: Path | None, continuing: bool, ignore: tuple[str, ...] = (), **overrides):
    """The run's configuration: ``config`` if given, else, when the run continues (``--resume``, a later
    stage), the run's own saved one, else defaults; non-None ``overrides`` (``section__key``) on top.
    ``ignore``: tables of the file that belong to another command (e.g. ``[extract]``)."""
    own = Path(exp_dir) / CONFIG
    base = config if config is not None else (own if continuing and own.is_file() else None)
    return load_run_config(cls, base, ignore=ignore, **overrides)


def save_run_config(exp_dir: Path, cfg) -> None:
    """``cfg`` a run configuration (a dataclass of tables) or a dict of table name → dataclass."""
    exp_dir = Path(exp_dir)
    exp_dir.mkdir(parents=True, exist_ok=True)
    tables = cfg if isinstance(cfg, dict) else {f.name: getattr(cfg, f.name) for f in dataclasses.fields(cfg)}
    save_toml(exp_dir / CONFIG, tables)


def refuse_existing(exp_dir: Path, what: str, overwrite: bool) -> None:
    """A run that trains from scratch does not write over a finished one unless told to. (A staged
    run's own rule — continue with --resume or start again with --overwrite — is the trainer's, per
    stage checkpoint.)"""
    if (Path(exp_dir) / CONFIG).is_file() and not overwrite:
        raise VawganError(exp_dir, f"already holds a {what}; give --overwrite to train it again")


def resumed_config(exp_dir: Path, saved, given, folders: Sequence[str]):
    """The configuration a resumed run continues with: the experiment's own (``saved``); the feature
    folders the command line names (``given.data``'s ``folders``) must be the ones it was trained on."""
    for name in folders:
        was, now = getattr(saved.data, name), getattr(given.data, name)
        if now and Path(now).resolve() != Path(was).resolve():
            raise VawganError(exp_dir, f"was trained on {was} ([data] {name}); --resume continues with the same "
                                       f"inputs, not {now}")
    return saved


def checkpoint_path(exp_dir: str | Path, stage: str, which: str = "last") -> Path:
    """The checkpoint of ``stage``: where it ended (``last``) or its best dev epoch (``best``)."""
    if which not in CHECKPOINT_CHOICES:
        raise VawganError(None, f"checkpoint {which!r}: choose from {', '.join(CHECKPOINT_CHOICES)}")
    path = Path(exp_dir) / CHECKPOINTS / (f"{stage}.pt" if which == "last" else f"{stage}{BEST_SUFFIX}.pt")
    if which == "best" and not path.is_file():
        raise VawganError(path, f"no best checkpoint of stage {stage!r}: it is kept when training has a dev set "
                                "(--dev-ids, or [data] dev_share > 0 with enough utterances)")
    return path


def fit(trainer: Trainer, exp_dir: Path, cfg, stages: Sequence[str] | None = None, resume: bool = False,
        dry_run: bool = False, overwrite: bool = False, curves: Callable[[dict], object] | None = None,
        before_fit: Callable[[], None] | None = None) -> Trainer:
    """The skeleton of every run: on rank 0 and not on a dry run, save the configuration (``cfg``, as
    :func:`save_run_config` takes it) and call ``before_fit`` (e.g. write the data split) once the
    checkpoint the run starts from has loaded (a refused run leaves the experiment's own record as it
    was); fit the stages; then draw the curves from the step log (``curves(log)``)."""
    exp_dir = Path(exp_dir)

    def record() -> None:
        if trainer.is_main:
            save_run_config(exp_dir, cfg)
            if before_fit is not None:
                before_fit()

    trainer.fit(stages, resume=resume, dry_run=dry_run, overwrite=overwrite, on_start=record)
    if not dry_run and trainer.is_main and curves is not None:
        curves(read_log(exp_dir / LOG_CSV))
    return trainer


class EpochRecord:
    """``EXP/metrics.json``: ``{"epochs": [{"epoch": e, ...}, ...], "final": {...}}``, rewritten
    atomically after each entry. A resumed run keeps the entries of the epochs before the first one
    it adds (those after are redone); a fresh run starts empty."""

    def __init__(self, path: Path, keep_old: bool):
        self.path = path
        self.keep_old = keep_old
        self.data: dict[str, Any] | None = None

    def add(self, entry: dict, final: bool = False) -> None:
        if self.data is None:
            self.data = {"epochs": []}
            if self.keep_old and self.path.is_file():
                try:
                    old = json.loads(self.path.read_text())
                    self.data["epochs"] = [e for e in old.get("epochs", []) if e.get("epoch", 0) < entry["epoch"]]
                except (OSError, ValueError, AttributeError):
                    pass  # a damaged record is rebuilt from here on
        self.data["epochs"].append(entry)
        if final:
            self.data["final"] = entry
        write_text_atomic(self.path, json.dumps(self.data, indent=1) + "\n")


class BestDev:
    """The epoch hook of every run with a dev set. After each epoch: ``measure(trainer)`` gives the dev
    figures (a dict with ``dev_loss``; recorded to 5 decimals, compared unrounded); the entry ``{"stage"?, "epoch", "step", **figures, "best"?}`` goes
    to the record file ``record`` (:class:`EpochRecord`); when the dev loss is the lowest of the stage so
    far and ``best_name(stage)`` names a file, the trainer saves the epoch there (``checkpoints/…``).
    ``extend(trainer, stage, epoch, entry, improved)`` may add to the entry and returns (stop, final): a
    run's own rule after the epoch (e.g. patience). A resumed run (``keep_old``) keeps the earlier entries
    and starts from the best dev loss among them.

    ``with_stage``: entries name their stage and the best is per stage (staged runs); ``mark_best``:
    the entry of a saved epoch says ``"best": true``."""

    def __init__(self, record: Path, measure: Callable[[Trainer], dict], best_name: Callable[[str], str | None],
                 keep_old: bool, with_stage: bool = True, mark_best: bool = True,
                 extend: Callable[[Trainer, str, int, dict, bool], tuple[bool, bool]] | None = None):
        self.record = EpochRecord(Path(record), keep_old=keep_old)
        self.measure, self.best_name, self.extend = measure, best_name, extend
        self.with_stage, self.mark_best = with_stage, mark_best
        self.best: dict[str | None, float] = {}  # the lowest dev loss so far, per stage (None: unstaged)
        if keep_old and Path(record).is_file():
            for e in json.loads(Path(record).read_text()).get("epochs", []):
                key = e.get("stage") if with_stage else None
                self.best[key] = min(self.best.get(key, math.inf), e["dev_loss"])

    def lowest(self, stage: str | None = None) -> float:
        """The lowest dev loss recorded (of ``stage``, for a staged run); inf before the first epoch."""
        return self.best.get(stage if self.with_stage else None, math.inf)

    def __call__(self, trainer: Trainer, stage: str, epoch: int) -> bool:
        figures = self.measure(trainer)
        entry = {**({"stage": stage} if self.with_stage else {}), "epoch": epoch + 1, "step": trainer.position.step,
                 **{k: round(float(v), 5) for k, v in figures.items()}}
        key = stage if self.with_stage else None
        improved = figures["dev_loss"] < self.best.get(key, math.inf)
        if improved:
            self.best[key] = figures["dev_loss"]
        name = self.best_name(stage)
        if improved and name is not None:
            trainer.save(trainer.checkpoint_dir / name)
            if self.mark_best:
                entry["best"] = True
        stop, final = self.extend(trainer, stage, epoch, entry, improved) if self.extend is not None else (False, False)
        self.record.add(entry, final=final)
        return stop


def is_last_epoch(trainer: Trainer, epoch: int) -> bool:
    """In a hook: whether ``epoch`` (0-based) was the last of the running stage."""
    return epoch + 1 == trainer.task.stages[trainer.position.stage].epochs


def check_segment(segment: int, longest: int, where: Path, section: str) -> None:
    """A crop of ``segment`` frames needs a training utterance at least that long."""
    if longest < segment:
        raise VawganError(where, f"[{section}] segment = {segment} frames is longer than every training utterance "
                                 f"(the longest has {longest}): give a shorter segment")
