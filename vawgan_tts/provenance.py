"""Where a result came from: the toolkit's version and git commit, the date, the command and the
experiment's configuration. Written beside every report so a figure can be traced to its code."""

from __future__ import annotations

import datetime
import platform
import shlex
import subprocess
import sys
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def _git(*args: str) -> str | None:
    try:
        r = subprocess.run(["git", "-C", str(_PACKAGE), *args], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return r.stdout.strip() if r.returncode == 0 else None


def git_commit() -> tuple[str | None, bool | None]:
    """(commit, has uncommitted changes) of the source tree the toolkit runs from; (None, None) for an
    installed copy outside a git checkout."""
    top = _git("rev-parse", "--show-toplevel")
    if top is None or not (Path(top) / "vawgan_tts").resolve() == _PACKAGE:
        return None, None
    commit = _git("rev-parse", "HEAD")
    status = _git("status", "--porcelain", "--untracked-files=no")
    return commit, (bool(status) if status is not None else None)


def provenance(config: str | Path | None = None) -> dict:
    """version, git commit (+ dirty), UTC date, command line, Python and torch versions, and the text
    of the configuration file ``config`` (None when not given or absent)."""
    from . import __version__

    commit, dirty = git_commit()
    try:
        import torch

        torch_version = torch.__version__
    except ImportError:  # pragma: no cover - torch is a dependency
        torch_version = None
    config = Path(config) if config is not None else None
    return {
        "toolkit": "vawgan-tts",
        "version": __version__,
        "git_commit": commit,
        "git_dirty": dirty,
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "command": shlex.join([Path(sys.argv[0]).name, *sys.argv[1:]]),
        "python": platform.python_version(),
        "torch": torch_version,
        "config_file": str(config) if config is not None else None,
        "config": config.read_text() if config is not None and config.is_file() else None,
    }
