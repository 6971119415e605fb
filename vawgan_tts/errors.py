"""The one error class users can cause.

Anything a user can get wrong (a file that is not audio, a folder without features, a checkpoint
from another task) raises :class:`VawganError` with the file and the reason in one line. The CLI
prints it in red and exits with status 2; everything else is a bug and keeps its traceback.
"""

from __future__ import annotations

from pathlib import Path


class VawganError(Exception):
    """A user-facing error: ``VawganError(path, reason)`` reads ``path: reason``."""

    def __init__(self, path: str | Path | None, reason: str):
        self.path = None if path is None else str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}" if self.path else reason)
