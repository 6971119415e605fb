"""What every gen run shares: its folder, its saved configuration, its per-epoch metrics file."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from ..config import load_run_config, save_toml
from ..fileio import write_text_atomic
from ..trainer import Trainer

CONFIG = "config.toml"
METRICS = "metrics.json"


def run_config(cls, exp_dir: Path, config: Path | None, resume: bool, **overrides):
    """The run's configuration: ``config`` if given, else on ``--resume`` the run's own saved one,
    else defaults; non-None ``overrides`` (``section__key``) on top."""
    base = config if config is not None else (exp_dir / CONFIG if resume and (exp_dir / CONFIG).is_file() else None)
    return load_run_config(cls, base, **overrides)


def save_run_config(exp_dir: Path, cfg) -> None:
    exp_dir.mkdir(parents=True, exist_ok=True)
    save_toml(exp_dir / CONFIG, {f.name: getattr(cfg, f.name) for f in dataclasses.fields(cfg)})


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


def is_last_epoch(trainer: Trainer, epoch: int) -> bool:
    """In a hook: whether ``epoch`` (0-based) was the last of the running stage."""
    return epoch + 1 == trainer.task.stages[trainer.position.stage].epochs
