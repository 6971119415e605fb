"""Data-parallel training under torchrun: 2 CPU processes, gloo, real trainer, real speech frames."""

import csv
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from vawgan_tts.cli.vawgan import app

HERE = Path(__file__).resolve().parent
VAWGAN = str(Path(sys.executable).with_name("vawgan"))
runner = CliRunner()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def torchrun(*args, nproc: int = 2) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", str(nproc),
           "--master-addr", "127.0.0.1", "--master-port", str(free_port()), *map(str, args)]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)


def test_two_processes_take_the_steps_of_one_with_twice_the_batch(tmp_path):
    single = subprocess.run([sys.executable, HERE / "ddp_worker.py", tmp_path / "single", "64"],
                            capture_output=True, text=True, timeout=300)
    assert single.returncode == 0, single.stderr
    r = torchrun(HERE / "ddp_worker.py", tmp_path / "ddp", "32")
    assert r.returncode == 0, r.stderr[-3000:]
    a = torch.load(tmp_path / "single/checkpoints/fit.pt", weights_only=True)
    b = torch.load(tmp_path / "ddp/checkpoints/fit.pt", weights_only=True)
    assert b["world_size"] == 2 and a["world_size"] == 1
    assert a["progress"]["step"] == b["progress"]["step"] == 3 * 8
    for k, v in a["model"]["net"].items():
        torch.testing.assert_close(b["model"]["net"][k], v, rtol=0, atol=1e-5)
    assert not torch.equal(a["model"]["net"]["0.weight"], torch.zeros_like(a["model"]["net"]["0.weight"]))
    ranks = json.loads((tmp_path / "ddp/ranks.json").read_text())
    assert len(ranks) == 2 and ranks[0] == ranks[1]  # bit-identical parameters on both ranks
    rows = list(csv.reader((tmp_path / "ddp/log.csv").open()))
    assert len(rows) == 1 + 24  # one writer: rank 0


@pytest.fixture(scope="module")
def feats(tmp_path_factory, allison_dir):
    root = tmp_path_factory.mktemp("ddp")
    wavs = [allison_dir / f"{n}.wav" for n in ("vm-forward-multiple", "conf-onlyperson", "activated")]
    r = runner.invoke(app, ["extract", *map(str, wavs), "-o", str(root / "feats"), "--f0-method", "dio", "-j", "1"])
    assert r.exit_code == 0, r.output
    return root / "feats"


def test_vawgan_train_under_torchrun_and_checkpoints_cross_over(feats, tmp_path):
    common = ["--batch-size", "32", "--device", "cpu"]
    # DDP writes the VAE stage; one process continues from it.
    ddp = tmp_path / "ddp"
    r = torchrun(VAWGAN, "train", feats, "-o", ddp, "--stage", "vae", "--vae-epochs", "2", *common)
    assert r.returncode == 0, r.stderr[-3000:]
    ckpt = torch.load(ddp / "checkpoints/vae.pt", weights_only=True)
    assert ckpt["world_size"] == 2
    steps = ckpt["progress"]["step"]
    rows = list(csv.reader((ddp / "log.csv").open()))
    assert len(rows) == 1 + steps and rows[0][0] == "step"
    assert [int(r[0]) for r in rows[1:]] == list(range(1, steps + 1))
    res = runner.invoke(app, ["train", str(feats), "-o", str(ddp), "--stage", "critic", "--critic-epochs", "1", *common])
    assert res.exit_code == 0, res.output
    single_steps = torch.load(ddp / "checkpoints/critic.pt", weights_only=True)["progress"]["step"] - steps
    assert steps == 2 * (single_steps // 2)  # 2 epochs of half the batches each vs 1 of all
    # One process writes the VAE stage; DDP continues from it.
    one = tmp_path / "one"
    res = runner.invoke(app, ["train", str(feats), "-o", str(one), "--stage", "vae", "--vae-epochs", "1", *common])
    assert res.exit_code == 0, res.output
    r = torchrun(VAWGAN, "train", feats, "-o", one, "--stage", "critic", "--critic-epochs", "1", *common)
    assert r.returncode == 0, r.stderr[-3000:]
    vae = torch.load(one / "checkpoints/vae.pt", weights_only=True)
    critic = torch.load(one / "checkpoints/critic.pt", weights_only=True)
    for k, v in vae["model"]["vae"].items():  # the critic stage does not touch the VAE
        torch.testing.assert_close(critic["model"]["vae"][k], v)
    assert critic["world_size"] == 2


def test_resume_of_a_two_process_run_by_one_process_takes_the_rest_of_the_epoch(tmp_path):
    """2 ranks × batch 32 stop after 5 steps: they have trained batches 0..9 of the epoch's
    permutation. One process with batch 32 resumes at batch 10 of 16, so it runs 6 + 2 × 16 steps."""
    out = tmp_path / "run"
    r = torchrun(HERE / "ddp_worker.py", out, "32", "--stop-at", "5")
    assert r.returncode == 0, r.stderr[-3000:]
    last = torch.load(out / "checkpoints/last.pt", weights_only=True)
    assert last["world_size"] == 2
    assert last["progress"] == {"stage": 0, "epoch": 0, "batch": 5, "step": 5}
    # In this process, so that the resume code under test is the one this interpreter imported.
    from ddp_worker import Regression, data
    from vawgan_tts.trainer import Trainer, TrainerConfig

    Trainer(Regression(), data(32), out, TrainerConfig(batch_size=32), progress=False).fit(resume=True)
    done = torch.load(out / "checkpoints/fit.pt", weights_only=True)
    assert done["world_size"] == 1
    assert done["progress"]["step"] == 5 + 6 + 2 * 16
    steps = [int(row[0]) for row in list(csv.reader((out / "log.csv").open()))[1:]]
    assert steps == list(range(1, 5 + 6 + 2 * 16 + 1))
