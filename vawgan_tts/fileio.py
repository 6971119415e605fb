"""Atomic writes: a reader sees the old file or the new one, never half of one.

Every output of the toolkit (features, manifests, WAVs, checkpoints, reports) goes through
:func:`atomic_path`: the data is written to a hidden temporary name in the same folder, flushed,
and renamed over the final name, which POSIX makes atomic. An interrupted or failed write leaves
the previous file untouched and removes its temporary.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Iterator

from .errors import VawganError

TMP_PREFIX = ".tmp-"
_UMASK = os.umask(0o022)
os.umask(_UMASK)  # read once: mkstemp's 0600 is widened to what open() would have given


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success rename it to ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=TMP_PREFIX + path.name + ".", dir=path.parent)
    os.fchmod(fd, 0o666 & ~_UMASK)
    os.close(fd)
    tmp = Path(tmp)
    try:
        yield tmp
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_text_atomic(path: str | Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def remove_stale_temporaries(folder: str | Path) -> int:
    """Delete temporaries left by a killed process (``kill -9`` skips the cleanup above)."""
    n = 0
    for p in Path(folder).glob(TMP_PREFIX + "*"):
        p.unlink(missing_ok=True)
        n += 1
    return n


def read_npz(path: str | Path, what: str, missing: str = "no such file") -> dict:
    """Every array of the ``.npz`` file ``path`` (no pickles). Not there: one error saying ``missing``;
    unreadable (truncated, not a zip, a pickle): one error saying it is not readable as ``what``."""
    import numpy as np

    try:
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except FileNotFoundError:
        raise VawganError(path, missing) from None
    except Exception as e:  # zipfile, pickle refusals, truncation: all "cannot read"
        raise VawganError(path, f"not readable as {what} ({type(e).__name__}: {e})") from None
