"""Opening a trained experiment, for every kind: what kind a folder holds, a task as it was at a
checkpoint, the adversarial sub-experiments, the feature-settings check and the statistics an
experiment caches. Every run and command that reads a trained model comes through here (what a
command applies, by kind, is chosen in :mod:`.apply`; what a kind does with its model stays in its run
module).

Kinds, by the table of their config.toml (runs/folder.py writes it):

  vawgan      [vawgan]      `vawgan train`             runs/vawgan.py
  converter   [dnn]         `vawgan train-converter`   runs/converter.py
  postfilter  [postfilter]  `vawgan train-postfilter`  runs/vawgan_postfilter.py
  vc          [vc]          `vawgan train-vc`          runs/vawgan_vc.py

A new kind: its table here, its run module beside the others (loading through :func:`load_task`), and
its branch in :mod:`.apply` or the report's :func:`vawgan_tts.report.build_experiment_report` if a
command applies it.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ..config import from_dict, load_toml
from ..errors import VawganError
from ..feature_folder import FeatureSettings
from ..fileio import atomic_path, read_npz
from .folder import CONFIG

KIND_TABLES = {"vawgan": "vawgan", "converter": "dnn", "postfilter": "postfilter", "vc": "vc"}
TRAINED_BY = {"vawgan": "vawgan train", "converter": "vawgan train-converter", "postfilter": "vawgan train-postfilter",
              "vc": "vawgan train-vc"}
NAMES = {"vawgan": "an enhancement VAWGAN", "converter": "a parallel converter", "postfilter": "a pair post-filter",
         "vc": "a VAWGAN-VC model"}


def experiment_kind(exp_dir: str | Path) -> str | None:
    """The kind of experiment ``exp_dir`` holds (a key of :data:`KIND_TABLES`); None when it holds none
    (no config.toml, or one with none of their tables)."""
    path = Path(exp_dir) / CONFIG
    if not path.is_file():
        return None
    try:
        tables = load_toml(path)
    except VawganError:
        return None
    return next((kind for kind, table in KIND_TABLES.items() if table in tables), None)


def require_kind(exp_dir: str | Path, *kinds: str) -> str:
    """The experiment's kind, one of ``kinds``; anything else is one line saying what it is and what
    would make the wanted one."""
    kind = experiment_kind(exp_dir)
    if kind not in kinds:
        what = f"holds {NAMES[kind]}" if kind else "holds no trained experiment (no config.toml of one)"
        wanted = " or ".join(f"{NAMES[k]} (`{TRAINED_BY[k]}`)" for k in kinds)
        raise VawganError(exp_dir, f"{what}; this needs {wanted}")
    return kind


def adversarial_dir(exp_dir: str | Path, weight: float) -> Path:
    """Where a run's adversarial stage trained again at weight ``weight`` lives: ``EXP/adv-w<weight>/``
    (a converter's adversarial converter, a post-filter's swept weight)."""
    return Path(exp_dir) / f"adv-w{weight:g}"


@dataclasses.dataclass
class Trained:
    """A task loaded from a checkpoint, in evaluation mode: the task, the checkpoint's ``extra`` (what
    the run recorded beside the weights), where it came from, and the features it was trained on."""

    task: Any
    extra: dict
    path: Path
    settings: FeatureSettings

    @property
    def normalization(self):
        """The mean/std of c1..c39 the model's frames are normalized with (``extra``'s ``mean``, ``std``)."""
        from ..features import FeatureStats

        return FeatureStats(mean=self.extra["mean"].numpy(), std=self.extra["std"].numpy(), count=0)

    def check(self, feats, what: str = "the model") -> None:
        """Refuse features of another rate, α or frame period than the model's (one line)."""
        self.settings.check(feats, f"{what} ({self.path})")


def load_task(path: str | Path, task_class, config_class, make: Callable[[Any, dict], Any] | None = None,
              config: Callable[[Any], Any] | None = None) -> Trained:
    """The task of the checkpoint ``path`` with its weights, in evaluation mode. ``task_class`` names
    the task the checkpoint must belong to and is built as ``task_class(cfg, extra)`` unless ``make(cfg,
    ckpt)`` says otherwise; ``config(cfg)`` may change the stored configuration first (an inference
    option)."""
    from ..checkpoint import load_checkpoint, load_parts

    path = Path(path)
    ckpt = load_checkpoint(path, task_class.name)
    cfg = from_dict(config_class, ckpt["config"], path)
    if config is not None:
        cfg = config(cfg)
    task = make(cfg, ckpt) if make is not None else task_class(cfg, ckpt["extra"])
    load_parts(path, ckpt, task.modules(), getattr(cfg, "arch", "frame"))
    for module in task.modules().values():
        module.eval()
    return Trained(task, ckpt["extra"], path, FeatureSettings.from_extra(ckpt["extra"]))


def load_weights(trained: Trained, path: str | Path, task_class) -> Trained:
    """The same network with the weights of another checkpoint of it (e.g. after adversarial training)."""
    from ..checkpoint import load_checkpoint, load_parts

    ckpt = load_checkpoint(path, task_class.name)
    modules = trained.task.modules()
    load_parts(path, ckpt, modules, getattr(trained.task.config, "arch", "frame"), skip_missing=True)
    for module in modules.values():
        module.eval()
    return dataclasses.replace(trained, path=Path(path))


def cached_arrays(path: str | Path, compute: Callable[[], dict[str, np.ndarray]],
                  fresher_than: str | Path | None = None) -> dict[str, np.ndarray]:
    """Statistics an experiment computes once and keeps (e.g. a post-filter's natural GV and MS): read
    from ``path`` when it is there (and newer than ``fresher_than``), else computed and written atomically."""
    path = Path(path)
    if path.is_file() and (fresher_than is None or path.stat().st_mtime >= Path(fresher_than).stat().st_mtime):
        return read_npz(path, "cached statistics (delete it to compute them again)")
    arrays = compute()
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.savez(f, **arrays)
    return arrays
