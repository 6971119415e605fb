"""Checkpoints written before the `runs/` restructuring still load and compute what they did then.

tests/data/legacy/ was made by tests/data/legacy/make_legacy.py at commit a101881 (the old module
layout: vawgan_tts.experiment, vawgan_tts.gen): a tiny VAWGAN trained on three Allison prompts with
its reconstructions of real frames, and a toy WGAN with a linear learning-rate decay."""

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from vawgan_tts.config import load_run_config
from vawgan_tts.data.frames import denormalize, normalize
from vawgan_tts.runs.folder import CONFIG
from vawgan_tts.runs.toy_wgan import ToyRun, train_toy
from vawgan_tts.runs.vawgan import load_trained
from vawgan_tts.trainer import read_log

LEGACY = Path(__file__).parent / "data" / "legacy"


@pytest.mark.parametrize("stage", ["vae", "adv"])
def test_an_old_vawgan_checkpoint_reconstructs_as_it_did(stage):
    with np.load(LEGACY / "vawgan" / "expected.npz") as z:
        c, expected = z["input"], z[stage]
    trained = load_trained(LEGACY / "vawgan", stage)
    task, stats, extra = trained.task, trained.normalization, trained.extra
    with torch.no_grad():
        y = denormalize(task.reconstruct(torch.from_numpy(normalize(c, stats))).numpy(), stats)
    np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-5)
    assert extra["fs"] == 8000


def test_an_old_best_checkpoint_loads():
    task = load_trained(LEGACY / "vawgan", "vae", "best").task
    assert task.config.latent == 4


def test_an_old_toy_run_resumes_and_its_schedule_continues(tmp_path):
    """The old toy task set its rates itself; resumed now, the trainer's LinearDecay takes over from the
    rates stored in the old optimizer state and runs the extra epoch down to 0."""
    exp = tmp_path / "toy"
    shutil.copytree(LEGACY / "toy", exp)
    shutil.copy(exp / "checkpoints" / "wgan.pt", exp / "checkpoints" / "last.pt")
    cfg = load_run_config(ToyRun, exp / CONFIG, toy__epochs=3)
    trainer = train_toy(exp, cfg, resume=True, progress=False)
    assert trainer.position.epoch == 0 and trainer.position.stage == 1  # after the (only) stage
    log = read_log(exp / "log.csv")
    assert log["epoch"][-1] == 2  # the third epoch ran
    lrs = [g["lr"] for o in trainer.optimizers.values() for g in o.param_groups]
    n = len(trainer.batches)
    assert lrs == pytest.approx([2e-4 * (1 - (2 + (n - 1) / n) / 3)] * 2)
