"""`gen image …` and `gen toy` through CliRunner: dry runs of every command, short real runs."""

import json

import pytest
from typer.testing import CliRunner

from vawgan_tts.cli.gen import app
from vawgan_tts.trainer import read_log

runner = CliRunner()


def invoke(*args):
    result = runner.invoke(app, [str(a) for a in args])
    assert "Traceback" not in result.output, result.output
    return result


@pytest.mark.parametrize("args", [
    ("image", "vae", "--data", "digits"),
    ("image", "vae", "--data", "fashion-mnist", "--arch", "conv", "--latent", "2", "--limit", "256"),
    ("image", "gan", "--data", "fashion-mnist", "--limit", "256"),
    ("image", "wgan", "--data", "digits", "--critic", "clip"),
    ("image", "wgan", "--data", "digits", "--critic", "gp", "--n-critic", "1"),
    ("toy", "--critic", "clip"),
    ("toy", "--critic", "gp", "--n-critic", "1"),
], ids=lambda a: "-".join(a[:4]))
def test_dry_run_of_every_command_writes_nothing(tmp_path, args, fashion_dir):
    exp = tmp_path / "exp"
    r = invoke(*args, "-o", exp, "--dry-run", "--epochs", "1", "--batch-size", "64", "--seed", "1", "--device", "cpu")
    assert r.exit_code == 0, r.output
    assert "dry run" in r.output
    assert not exp.exists()


def test_image_vae_latent2_writes_grids_test_loss_and_latent_map(tmp_path):
    exp = tmp_path / "vae"
    r = invoke("image", "vae", "--data", "digits", "--arch", "conv", "--latent", "2", "--epochs", "3",
               "--batch-size", "64", "-o", exp)
    assert r.exit_code == 0, r.output
    m = json.loads((exp / "metrics.json").read_text())
    losses = [e["test_loss"] for e in m["epochs"]]
    assert len(losses) == 3 and m["final"]["epoch"] == 3
    assert losses[-1] < losses[0]  # it learns
    for e in m["epochs"]:
        assert e["test_loss"] == pytest.approx(e["test_rec"] + e["test_kl"], rel=1e-3)
        assert e["test_loss_per_pixel"] == pytest.approx(e["test_loss"] / 64, rel=1e-3)
    for name in ("latent_map.png", "manifold.png", "curves.png", "recon/epoch_0003.png", "samples/epoch_0001.png"):
        assert (exp / name).stat().st_size > 1000, name
    log = read_log(exp / "log.csv")
    assert log["step"][-1] == 3 * (1497 // 64)
    # A finished run is not trained over by accident.
    again = invoke("image", "vae", "--data", "digits", "-o", exp)
    assert again.exit_code == 2 and "--overwrite" in again.output


def test_image_gan_on_fashion_mnist_writes_a_sample_grid_per_epoch(tmp_path):
    exp = tmp_path / "gan"
    r = invoke("image", "gan", "--limit", "640", "--epochs", "2", "-o", exp)
    assert r.exit_code == 0, r.output
    assert sorted(p.name for p in (exp / "samples").iterdir()) == ["epoch_0001.png", "epoch_0002.png"]
    log = read_log(exp / "log.csv")
    assert len(log["step"]) == 20 and all(v > 0 for v in log["d_loss"])


def test_toy_wgan_snapshots_and_metrics(tmp_path):
    exp = tmp_path / "toy"
    r = invoke("toy", "--critic", "gp", "--epochs", "2", "--snapshot-every", "1", "--batch-size", "2048", "-o", exp)
    assert r.exit_code == 0, r.output
    m = json.loads((exp / "metrics.json").read_text())
    assert [e["epoch"] for e in m["epochs"]] == [1, 2] and m["final"]["epoch"] == 2
    assert 0 <= m["final"]["modes_captured"] <= 25 and 0 <= m["final"]["high_quality_ratio"] <= 1
    assert (exp / "snapshots" / "epoch_0002.png").is_file()
    assert "modes captured" in r.output
    cfg = (exp / "config.toml").read_text()
    assert 'critic = "gp"' in cfg and "batch_size = 2048" in cfg


def test_unknown_dataset_folder_is_one_line(tmp_path):
    r = invoke("image", "vae", "--data", "mnist", "--data-dir", tmp_path, "-o", tmp_path / "x")
    assert r.exit_code == 2
    assert "no idx files" in r.output and str(tmp_path) in r.output


def test_toy_linear_lr_decay_follows_the_position(tmp_path):
    """The toy WGAN declares a linear decay; the trainer sets every rate before each step from the
    position alone: lr · (1 − e / epochs)."""
    import torch

    from vawgan_tts.batching import TensorBatches
    from vawgan_tts.tasks.toy_wgan import ToyWGANConfig, ToyWGANTask
    from vawgan_tts.trainer import LinearDecay, Trainer, TrainerConfig

    assert [LinearDecay(2e-4, 10).at(e) for e in (0.0, 2.5, 9.5, 12.0)] == pytest.approx([2e-4, 1.5e-4, 1e-5, 0.0])
    task = ToyWGANTask(ToyWGANConfig(critic="gp", lr=2e-4, lr_decay="linear", epochs=2, n_critic=1))
    seen = []
    step = task.train_step

    def recording(batch, stage, ctx):
        seen.append((ctx.epoch_progress, [g["lr"] for o in ctx.optimizers.values() for g in o.param_groups]))
        return step(batch, stage, ctx)

    task.train_step = recording
    batches = TensorBatches(torch.randn(256, 2), batch_size=64, drop_last=True)
    Trainer(task, batches, tmp_path, TrainerConfig(batch_size=64, device="cpu"), progress=False).fit()
    assert [p for p, _ in seen] == [0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75]
    for progress, lrs in seen:
        assert all(abs(lr - 2e-4 * (1 - progress / 2)) < 1e-12 for lr in lrs)