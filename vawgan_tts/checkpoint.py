"""Checkpoints: atomic to write, safe to load.

A checkpoint is a plain dict of tensors, numbers and strings, so it loads with
``torch.load(weights_only=True)``: a crafted file cannot run code. Layout (role-keyed)::

    {"version": 1, "task": "vawgan", "config": {...}, "extra": {...},
     "model": {"vae": state_dict, "critic": state_dict}, "optim": {"vae": ..., "critic": ...},
     "progress": {"stage": i, "epoch": e, "batch": b, "step": s}, "stages_done": [...],
     "rng": {"torch": ByteTensor, "cuda": [ByteTensor, ...]}}
"""

from __future__ import annotations

import pickle
import zipfile
from pathlib import Path
from typing import Any

import torch

from .errors import VawganError
from .fileio import atomic_path

CHECKPOINT_VERSION = 1
REQUIRED = ("version", "task", "config", "model", "progress")


def save_checkpoint(path: str | Path, payload: dict[str, Any]) -> Path:
    path = Path(path)
    try:
        with atomic_path(path) as tmp:
            torch.save({"version": CHECKPOINT_VERSION, **payload}, tmp)
    except (OSError, RuntimeError) as e:  # disk full, file-size limit: torch reports RuntimeError
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise VawganError(path, f"cannot write checkpoint ({first[:200]}); the previous one is kept") from None
    return path


def load_checkpoint(path: str | Path, task: str | None = None) -> dict[str, Any]:
    """Load and check a checkpoint; ``task`` names the task it must belong to."""
    path = Path(path)
    if not path.is_file():
        raise VawganError(path, "no such checkpoint")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, zipfile.BadZipFile, ValueError, OSError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise VawganError(path, f"not a loadable checkpoint (truncated, or not written by vawgan-tts): {first[:200]}") from None
    if not isinstance(ckpt, dict) or any(k not in ckpt for k in REQUIRED):
        raise VawganError(path, "not a vawgan-tts checkpoint (missing keys)")
    if ckpt["version"] != CHECKPOINT_VERSION:
        raise VawganError(path, f"checkpoint format {ckpt['version']}, this version reads {CHECKPOINT_VERSION}")
    if task is not None and ckpt["task"] != task:
        raise VawganError(path, f"checkpoint of task {ckpt['task']!r}, expected {task!r}")
    return ckpt


def misfit(path: str | Path, ckpt: dict[str, Any], arch: str, error: Exception) -> VawganError:
    """The one line for weights or optimizer state that do not fit the model being built: the arch
    each side has when they differ (checkpoints from before the arch option are frame), the error's
    lines joined into one otherwise (torch names the missing and unexpected keys on lines of their own)."""
    was = ckpt.get("config", {}).get("arch", "frame")
    said = " ".join(line.strip() for line in str(error).splitlines() if line.strip())  # torch's lines, as one
    why = f"a model of arch = {was!r}, this run's is arch = {arch!r}" if was != arch else said[:240]
    return VawganError(path, f"does not fit this model configuration ({why})")


def load_parts(path: str | Path, ckpt: dict[str, Any], modules: dict[str, torch.nn.Module], arch: str,
               skip_missing: bool = False) -> None:
    """Each module's weights from ``ckpt["model"]`` by role. A part the checkpoint lacks (unless
    ``skip_missing``: then it is left as it is) or weights that do not fit are refused in one line
    naming ``path`` (:func:`misfit`)."""
    missing = sorted(set(modules) - set(ckpt["model"]))
    if missing and not skip_missing:
        raise VawganError(path, f"checkpoint lacks model part(s) {', '.join(missing)}")
    try:
        for role, module in modules.items():
            if role in ckpt["model"]:
                module.load_state_dict(ckpt["model"][role])
    except (RuntimeError, ValueError, KeyError) as e:
        raise misfit(path, ckpt, arch, e) from None
