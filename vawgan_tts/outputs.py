"""The one rule of every command that writes a folder of results (synth, convert, enhance, report): the
folder is new, or holds the same result — the same command, model, options and inputs — which is then
refreshed or completed, or it is refused in one line (``--overwrite`` replaces what the command
writes there). An output never is one of its inputs. A result made whole at the end (a report:
:func:`staged`) is written beside the old one and replaces it only once it is complete. A model's
experiment folder follows the same rule by its kind (:func:`claim_experiment`), and an output file is
never one of the files the same command reads (:func:`claim_file`: `listening-results -o`). (A
listening test's key, which something else depends on, is never replaced without --overwrite:
:func:`.listening_test.write_listening_test`.)

OUT/.vawgan-output.json   what wrote the folder: {"result": "...", "inputs": [...]} (absolute paths)
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Iterator, Sequence

from .errors import VawganError
from .fileio import write_text_atomic

MARK = ".vawgan-output.json"
WRITTEN = ("*.npz", "*.wav", "failed.tsv")  # what a results folder's command writes (and --overwrite removes)
STAGE_PREFIX = ".partial-"  # + "<pid>-<random>": a result being written whole (staged)


def _resolved(paths: Sequence[str | Path]) -> list[str]:
    return [str(Path(p).resolve()) for p in paths]


def claim_folder(out_dir: str | Path, result: str, inputs: Sequence[str | Path], overwrite: bool = False,
                 written: Sequence[str] = WRITTEN) -> Path:
    """Check ``out_dir`` before any work and mark it as holding ``result`` (e.g. "convert with
    EXP, postfilter ms") made from ``inputs`` (folders or files it reads). ``written``: the glob
    patterns of the files and folders such a result consists of. Refused in one line: the folder is
    one of the inputs, or holds an input file; it holds another result, or such files that no command
    marked (unless ``overwrite``: then they are removed first)."""
    out = refuse_input_folder(out_dir, inputs)
    mark = out / MARK
    held = None
    if mark.is_file():
        try:
            held = json.loads(mark.read_text())
        except ValueError:
            held = {}
    occupied = out.is_dir() and any(p.name != MARK for pattern in written for p in out.glob(pattern))
    wanted = {"result": result, "inputs": _resolved(inputs)}
    if occupied and held != wanted:
        if not overwrite:
            what = (f"holds the results of {held.get('result', 'another command')} from "
                    f"{', '.join(held.get('inputs', [])) or '?'}" if held is not None
                    else "holds results this command did not write (or an older version did)")
            raise VawganError(out, f"{what}; give --overwrite to replace them, or another folder")
        _remove(out, written)
    out.mkdir(parents=True, exist_ok=True)
    write_text_atomic(mark, json.dumps(wanted, indent=1) + "\n")
    return out


def refuse_input_folder(out_dir: str | Path, inputs: Sequence[str | Path]) -> Path:
    """``out_dir`` as a folder for results that is none of ``inputs`` (folders or files) nor the folder of
    an input file, and not a file; refused in one line."""
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise VawganError(out, "is a file, not a folder: give a folder for the results")
    target = out.resolve()
    for given in inputs:
        path = Path(given).resolve()
        if target == path or (path.is_file() and path.parent == target):
            raise VawganError(out, f"is an input of this command ({given}); write the results to another folder")
    return out


@contextlib.contextmanager
def staged(out_dir: str | Path, written: Sequence[str]) -> Iterator[Path]:
    """A new hidden folder inside ``out_dir`` (claimed already) in which a result is written whole. When
    the block ends without an error, each of the ``written`` patterns, in their order, is published:
    what ``out_dir`` holds under that pattern is removed and the staged files and folders take its place
    (a file by one rename, a folder by a rename with the old one moved aside first); so a result whose
    last pattern is its page never shows a page whose files are missing. On an error (or Ctrl-C) the
    staged folder is removed and ``out_dir`` is left as it was: the earlier result, whole. A staged folder
    that a killed run left (its process gone: ``.partial-<pid>-…``) is removed first."""
    out = Path(out_dir)
    _remove_abandoned_stages(out)
    stage = Path(tempfile.mkdtemp(prefix=f"{STAGE_PREFIX}{os.getpid()}-", dir=out))
    try:
        yield stage
        for pattern in written:
            fresh = {p.name: p for p in stage.glob(pattern)}
            for old in out.glob(pattern):
                if old.name not in fresh:
                    _remove_path(old)
            for name, new in fresh.items():
                dst = out / name
                if new.is_dir() and dst.exists():
                    aside = stage / f".old-{name}"
                    os.replace(dst, aside)
                os.replace(new, dst)
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def _remove_abandoned_stages(out: Path) -> None:
    """Remove the staged folders in ``out`` whose process has ended (killed before its cleanup ran)."""
    for stage in out.glob(f"{STAGE_PREFIX}*"):
        pid = stage.name[len(STAGE_PREFIX):].split("-", 1)[0]
        if not (pid.isdigit() and _running(int(pid))):
            shutil.rmtree(stage, ignore_errors=True)


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def _remove(out: Path, written: Sequence[str]) -> None:
    for pattern in written:
        for p in out.glob(pattern):
            if p.name != MARK:
                _remove_path(p)


def _remove_path(p: Path) -> None:
    if p.is_dir() and not p.is_symlink():
        shutil.rmtree(p)
    else:
        p.unlink()


def claim_file(path: str | Path, inputs: Sequence[str | Path], what: str = "file") -> Path:
    """An output file that is never one of ``inputs`` nor a folder (``what`` names it in the refusal)."""
    path = Path(path)
    if path.is_dir():
        raise VawganError(path, f"is a folder; give a file name for the {what}")
    for given in inputs:
        if path.resolve() == Path(given).resolve():
            raise VawganError(path, f"is an input of this command; write the {what} elsewhere")
    return path


def claim_experiment(exp_dir: str | Path, kind: str, overwrite: bool) -> None:
    """A training command's experiment folder holds nothing, or an experiment of ``kind`` (continued or
    trained again by the command's own rules), or — refused unless ``overwrite`` — one of another kind,
    whose model this would make unloadable."""
    from .runs.experiment import NAMES, TRAINED_BY, experiment_kind

    held = experiment_kind(exp_dir)
    if held is not None and held != kind and not overwrite:
        raise VawganError(exp_dir, f"holds {NAMES[held]} (`{TRAINED_BY[held]}`); training {NAMES[kind]} there would "
                                   "replace its configuration: give --overwrite, or another folder")
