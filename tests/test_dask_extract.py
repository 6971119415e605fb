"""`vawgan extract --dask-scheduler` against a real Dask LocalCluster with 2 worker processes."""

import numpy as np
import pytest
from typer.testing import CliRunner

from vawgan_tts.cli.vawgan import app
from conftest import write_broken_files

distributed = pytest.importorskip("distributed")
runner = CliRunner()


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                  host="127.0.0.1") as c:
        yield c


def extract(*args):
    r = runner.invoke(app, ["extract", *map(str, args), "--f0-method", "dio"])
    assert "Traceback" not in r.output, r.output
    return r


def test_dask_extraction_matches_local_with_same_reports_and_resume(cluster, allison_few, tmp_path):
    write_broken_files(allison_few / "broken")
    local, remote = tmp_path / "local", tmp_path / "dask"
    r1 = extract(allison_few, "-o", local, "-j", "2")
    r2 = extract(allison_few, "-o", remote, "--dask-scheduler", cluster.scheduler_address)
    assert r1.exit_code == r2.exit_code == 1  # partial: the broken files are reported, not fatal
    for name in ("manifest.tsv", "failed.tsv"):
        assert (remote / name).read_text() == (local / name).read_text(), name
    ids = [line.split("\t")[0] for line in (local / "manifest.tsv").read_text().splitlines()[1:]
           if line.endswith("\tok")]
    assert len(ids) == 6
    for utt in ids:
        a, b = np.load(local / f"{utt}.npz"), np.load(remote / f"{utt}.npz")
        assert np.array_equal(a["mcep"], b["mcep"]) and np.array_equal(a["f0"], b["f0"]), utt
    sa, sb = np.load(local / "stats.npz"), np.load(remote / "stats.npz")
    np.testing.assert_allclose(sa["mean"], sb["mean"], rtol=1e-6)
    # Resume on the cluster: nothing up to date is redone.
    r3 = extract(allison_few, "-o", remote, "--dask-scheduler", cluster.scheduler_address)
    assert r3.exit_code == 1
    statuses = [line.split("\t")[3] for line in (remote / "manifest.tsv").read_text().splitlines()[1:]]
    assert statuses.count("skipped") == 6 and statuses.count("ok") == 0


def test_unreachable_scheduler_is_one_line(allison_few, tmp_path):
    import dask

    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}):  # Dask's own setting, honoured
        r = runner.invoke(app, ["extract", str(allison_few), "-o", str(tmp_path / "f"),
                                "--dask-scheduler", "tcp://127.0.0.1:9"])
    assert r.exit_code == 2, r.output
    assert "Traceback" not in r.output and "tcp://127.0.0.1:9" in r.output and "Dask scheduler" in r.output
    assert not (tmp_path / "f" / "manifest.tsv").exists()
