"""outputs.py's rule for folders of results, on real files: a result written whole (``staged``) and a
claim over files and folders (the report's). The commands that use it are tried in tests/fault_suite.py."""

import pytest

from vawgan_tts.errors import VawganError
from vawgan_tts.outputs import MARK, claim_folder, staged

WRITTEN = ("metrics.json", "curves.png", "audio", "index.html")


def _earlier(out):
    """A folder holding an earlier result and a file of the user's: (relative path → bytes)."""
    (out / "audio" / "a").mkdir(parents=True)
    (out / "audio" / "a" / "old.wav").write_bytes(b"old wav")
    (out / "metrics.json").write_text("old metrics")
    (out / "curves.png").write_bytes(b"old curves")
    (out / "index.html").write_text("old page")
    (out / "notes.txt").write_text("mine")
    return _tree(out)


def _tree(folder):
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_a_staged_result_replaces_the_earlier_one_whole(tmp_path):
    _earlier(tmp_path)
    with staged(tmp_path, WRITTEN) as stage:
        assert stage.parent == tmp_path and stage.name.startswith(".partial-")
        (stage / "audio" / "b").mkdir(parents=True)
        (stage / "audio" / "b" / "new.wav").write_bytes(b"new wav")
        (stage / "metrics.json").write_text("new metrics")
        (stage / "index.html").write_text("new page")
        assert (tmp_path / "index.html").read_text() == "old page"  # nothing published before the block ends
    # curves.png is one of the result's files that this result did not write: gone, not left stale.
    assert _tree(tmp_path) == {"audio/b/new.wav": b"new wav", "index.html": b"new page",
                               "metrics.json": b"new metrics", "notes.txt": b"mine"}
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


@pytest.mark.parametrize("error", [RuntimeError("late failure"), KeyboardInterrupt()])
def test_a_staged_result_that_fails_leaves_the_earlier_one_as_it_was(tmp_path, error):
    before = _earlier(tmp_path)
    with pytest.raises(type(error)):
        with staged(tmp_path, WRITTEN) as stage:
            (stage / "metrics.json").write_text("new metrics")
            (stage / "audio").mkdir()
            raise error
    assert _tree(tmp_path) == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_a_claim_counts_folders_among_what_a_result_writes(tmp_path):
    out = tmp_path / "out"
    before = _earlier(out)
    with pytest.raises(VawganError, match="did not write.*--overwrite"):
        claim_folder(out, "report", [tmp_path / "exp"], written=WRITTEN)
    assert _tree(out) == before and not (out / MARK).exists()
    claim_folder(out, "report", [tmp_path / "exp"], overwrite=True, written=WRITTEN)
    assert sorted(p.name for p in out.iterdir()) == [MARK, "notes.txt"]  # the user's file is not the result's
    claim_folder(out, "report", [tmp_path / "exp"], written=WRITTEN)  # the same result: taken again
    (out / "index.html").write_text("page")
    with pytest.raises(VawganError, match="holds the results of report from .*exp"):
        claim_folder(out, "report", [tmp_path / "other"], written=WRITTEN)


def test_a_claim_refuses_a_file_for_a_folder(tmp_path):
    (tmp_path / "ids").write_text("a\n")
    with pytest.raises(VawganError, match="is a file, not a folder"):
        claim_folder(tmp_path / "ids", "report", [tmp_path / "exp"])
    assert (tmp_path / "ids").read_text() == "a\n"


def test_a_stage_that_a_killed_run_left_is_removed_by_the_next(tmp_path):
    """kill -9 in the middle of a result leaves its staged folder (no cleanup runs); the next result into
    the folder removes it, and leaves alone a stage whose process still runs (another run writing)."""
    import os
    import signal
    import subprocess
    import sys

    killed = subprocess.run([sys.executable, "-c", (
        "import os, signal, sys; from vawgan_tts.outputs import staged\n"
        "with staged(sys.argv[1], ['metrics.json']) as s:\n"
        "    (s / 'metrics.json').write_text('half')\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"), str(tmp_path)])
    assert killed.returncode == -signal.SIGKILL
    [left] = [p.name for p in tmp_path.iterdir()]
    assert left.startswith(".partial-") and (tmp_path / left / "metrics.json").read_text() == "half"
    live = tmp_path / f".partial-{os.getpid()}-running"
    live.mkdir()
    with staged(tmp_path, WRITTEN) as stage:
        (stage / "metrics.json").write_text("new metrics")
    assert sorted(p.name for p in tmp_path.iterdir()) == [live.name, "metrics.json"]
