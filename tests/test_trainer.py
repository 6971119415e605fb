"""The shared trainer core on a tiny task: losses fall, stages run in order, resume is exact."""

import csv

import pytest
import torch
from torch import nn

from vawgan_tts.batching import TensorBatches
from vawgan_tts.errors import VawganError
from vawgan_tts.trainer import Stage, Trainer, TrainerConfig, read_log, seed_everything


class TinyRegression:
    """Two stages on one linear model: 'fit' learns y = Ax + noise, 'again' keeps going.
    Uses the global RNG inside the step (noise), as VAE sampling does."""

    name = "tiny"
    metric_names = ("loss",)

    def __init__(self, epochs=(6, 2)):
        self.stages = (Stage("fit", epochs[0]), Stage("again", epochs[1]))
        self.model = nn.Linear(4, 2)
        self.calls: list[str] = []

    def modules(self):
        return {"model": self.model}

    def make_optimizers(self):
        return {"sgd": torch.optim.Adam(self.model.parameters(), lr=0.1)}

    def train_step(self, batch, stage, ctx):
        x, y = batch
        self.calls.append(stage)
        loss = ((self.model(x + 0.01 * torch.randn_like(x)) - y) ** 2).mean()
        ctx.step("sgd", loss)
        return {"loss": loss.detach()}

    def config_dict(self):
        return {"epochs": [s.epochs for s in self.stages]}

    def extra_state(self):
        return {"note": "tiny"}


def _data(n=256):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(n, 4, generator=g)
    a = torch.tensor([[1.0, -2.0], [0.5, 0.0], [0.0, 1.0], [3.0, 0.2]])
    return TensorBatches(x, x @ a, batch_size=32)


def _trainer(tmp, task=None, **cfg):
    seed_everything(0)
    task = task or TinyRegression()
    return Trainer(task, _data(), tmp, TrainerConfig(log_flush=3, **cfg), progress=False)


def test_loss_falls_and_stages_run_in_order(tmp_path):
    tr = _trainer(tmp_path)
    tr.fit()
    assert tr.task.calls == ["fit"] * 48 + ["again"] * 16  # 8 batches an epoch, 6 + 2 epochs
    log = read_log(tmp_path / "log.csv")
    assert log["step"] == list(range(1, 65))
    assert log["loss"][-1] < 0.1 * log["loss"][0]
    assert {p.name for p in (tmp_path / "checkpoints").iterdir()} == {"fit.pt", "again.pt", "last.pt"}


def test_resume_after_step_k_equals_uninterrupted(tmp_path):
    full = _trainer(tmp_path / "full")
    full.fit()
    k = 27  # mid-epoch of the first stage
    cut = _trainer(tmp_path / "cut", checkpoint_every=k)

    calls = {"n": 0}
    real_step = cut.task.train_step

    def interrupting(batch, stage, ctx):
        if calls["n"] == k:
            raise KeyboardInterrupt
        calls["n"] += 1
        return real_step(batch, stage, ctx)

    cut.task.train_step = interrupting
    with pytest.raises(KeyboardInterrupt):
        cut.fit()
    # A fresh process: new task, new trainer, different global RNG state.
    torch.manual_seed(1234)
    resumed = Trainer(TinyRegression(), _data(), tmp_path / "cut", TrainerConfig(log_flush=3), progress=False)
    resumed.fit(resume=True)
    for a, b in zip(full.task.model.parameters(), resumed.task.model.parameters()):
        assert torch.equal(a, b)
    log = read_log(tmp_path / "cut" / "log.csv")
    assert log["step"] == list(range(1, 65))  # no step lost, none doubled


def test_resume_with_more_epochs_trains_a_finished_stage_on(tmp_path):
    tr = _trainer(tmp_path)
    tr.fit(["fit"])  # 6 epochs of 8 batches
    more = _trainer(tmp_path, task=TinyRegression(epochs=(9, 2)))
    more.fit(["fit"], resume=True)
    assert more.task.calls == ["fit"] * 24  # epochs 7-9 only
    assert read_log(tmp_path / "log.csv")["step"] == list(range(1, 73))
    assert more.epochs_run == {"fit": 9}
    # The same epoch count again, or a stage after it has started: nothing to extend.
    same = _trainer(tmp_path, task=TinyRegression(epochs=(9, 2)))
    same.fit(["fit"], resume=True)
    assert same.task.calls == []
    after = _trainer(tmp_path, task=TinyRegression(epochs=(9, 2)))
    after.fit(["again"])
    later = _trainer(tmp_path, task=TinyRegression(epochs=(12, 2)))
    later.fit(resume=True)
    assert later.task.calls == []


def test_stage_needs_previous_stage_checkpoint(tmp_path):
    tr = _trainer(tmp_path)
    with pytest.raises(VawganError, match="needs stage 'fit' first"):
        tr.fit(["again"])
    tr.fit(["fit"])
    tr2 = _trainer(tmp_path)
    tr2.fit(["again"])
    assert tr2.task.calls == ["again"] * 16
    with pytest.raises(VawganError, match="already holds trained stage"):
        _trainer(tmp_path).fit(["again"])


def test_dry_run_writes_nothing(tmp_path):
    tr = _trainer(tmp_path / "exp")
    tr.fit(dry_run=True)
    assert tr.task.calls == ["fit", "again"]
    assert set(tr.dry_run_metrics) == {"fit", "again"}
    assert not (tmp_path / "exp").exists()


def test_resume_without_checkpoint_is_a_clear_error(tmp_path):
    with pytest.raises(VawganError, match="nothing to resume"):
        _trainer(tmp_path).fit(resume=True)


def test_checkpoint_holds_config_extra_and_rng(tmp_path):
    tr = _trainer(tmp_path)
    tr.fit(["fit"])
    ckpt = torch.load(tmp_path / "checkpoints" / "fit.pt", weights_only=True)
    assert ckpt["task"] == "tiny" and ckpt["config"] == {"epochs": [6, 2]}
    assert ckpt["extra"] == {"note": "tiny"} and ckpt["rng"]["torch"].dtype == torch.uint8
    assert ckpt["progress"] == {"stage": 1, "epoch": 0, "batch": 0, "step": 48}
    with open(tmp_path / "log.csv") as f:
        assert next(csv.reader(f)) == ["step", "stage", "epoch", "loss"]


def test_epoch_hooks_see_every_epoch_and_can_end_a_stage(tmp_path):
    seen = []

    def hook(trainer, stage, epoch):
        seen.append((stage, epoch, trainer.position.epoch))
        return stage == "fit" and epoch == 2  # early stop after the third epoch of 'fit'

    seed_everything(0)
    tr = Trainer(TinyRegression(), _data(), tmp_path, TrainerConfig(log_flush=3), progress=False, hooks=[hook])
    tr.fit()
    assert seen == [("fit", 0, 1), ("fit", 1, 2), ("fit", 2, 3), ("again", 0, 1), ("again", 1, 2)]
    assert tr.task.calls == ["fit"] * 24 + ["again"] * 16
    assert (tmp_path / "checkpoints" / "fit.pt").is_file()
    seen.clear()
    Trainer(TinyRegression(), _data(), tmp_path / "dry", TrainerConfig(), progress=False, hooks=[hook]).fit(dry_run=True)
    assert seen == []  # a dry run writes nothing, so it calls no hook


def test_trainer_core_imports_no_task_or_model():
    """Tasks plug in through the protocol: the loop's module never names one."""
    import ast
    from pathlib import Path

    import vawgan_tts.trainer as core

    tree = ast.parse(Path(core.__file__).read_text())
    imported = [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
    imported += [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
    assert not [m for m in imported if "tasks" in m or "models" in m or "gen" in m.split(".")], imported


@pytest.mark.parametrize("signal_name", ["SIGINT", "SIGTERM"])
def test_an_interrupt_saves_the_step_it_interrupted(tmp_path, signal_name):
    """No periodic checkpoints: the one written at Ctrl-C / SIGTERM is all that holds the 11 steps."""
    import os
    import signal

    tr = _trainer(tmp_path, checkpoint_every=0)
    real_step = tr.task.train_step

    def interrupted(batch, stage, ctx):
        if ctx.step_index == 11:
            os.kill(os.getpid(), getattr(signal, signal_name))
        return real_step(batch, stage, ctx)

    tr.task.train_step = interrupted
    # A shell's background job starts with SIGINT ignored; Ctrl-C at a terminal raises KeyboardInterrupt.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(KeyboardInterrupt):
            tr.fit()
    finally:
        signal.signal(signal.SIGINT, previous)
    ckpt = torch.load(tmp_path / "checkpoints" / "last.pt", weights_only=True)
    # Step 12 was under way when the signal came: steps 1..11 are done, batch 3 of epoch 1 is next.
    assert ckpt["progress"] == {"stage": 0, "epoch": 1, "batch": 3, "step": 11}
    for k, v in tr.task.model.state_dict().items():
        assert torch.equal(ckpt["model"]["model"][k], v)
    assert read_log(tmp_path / "log.csv")["step"] == list(range(1, 12))


def test_each_epoch_draws_a_new_shuffle_and_a_rerun_the_same(tmp_path):
    class Recording(TinyRegression):
        def __init__(self):
            super().__init__(epochs=(3, 1))
            self.first_rows = []

        def train_step(self, batch, stage, ctx):
            self.first_rows.append(batch[0][0].clone())
            return super().train_step(batch, stage, ctx)

    runs = []
    for name in ("a", "b"):
        tr = _trainer(tmp_path / name, task=Recording())
        tr.fit()
        runs.append(torch.stack(tr.task.first_rows).reshape(4, 8, 4))  # 4 epochs of 8 batches
    a, b = runs
    assert torch.equal(a, b)  # (seed, stage, epoch) alone decide the order
    for e in range(3):
        assert not torch.equal(a[e], a[e + 1])  # a new order every epoch, and in the next stage
    other = _trainer(tmp_path / "c", task=Recording(), seed=1)
    other.fit()
    assert not torch.equal(a[0], torch.stack(other.task.first_rows[:8]))  # and the seed matters


def test_plain_progress_lines_when_not_a_terminal(tmp_path, capsys):
    """Under pytest stderr is no terminal: the trainer prints lines a log file can keep."""
    seed_everything(0)
    tr = Trainer(TinyRegression(epochs=(20, 1)), _data(), tmp_path, TrainerConfig(log_flush=4), progress=True)
    tr.fit()
    err = capsys.readouterr().err.splitlines()
    fit = [line for line in err if line.startswith("fit: ")]
    assert fit[-1].startswith("fit: 160/160 batches (100 %)  loss=")
    # A line per twentieth (8 batches), seen as the log flushes (every 4 steps).
    assert [int(line.split()[1].split("/")[0]) for line in fit] == list(range(8, 161, 8))
    assert [line for line in err if line.startswith("again: ")][-1].startswith("again: 8/8 batches (100 %)")


def _stopping_at(tr, k, error=KeyboardInterrupt):
    """``tr`` with its task raising ``error`` (Ctrl-C, or a crash that saves nothing) at step k+1."""
    real_step = tr.task.train_step

    def step(batch, stage, ctx):
        if ctx.step_index == k:
            raise error("stopped")
        return real_step(batch, stage, ctx)

    tr.task.train_step = step
    return tr


def _interrupted_at(tmp_path, k):
    with pytest.raises(KeyboardInterrupt):
        _stopping_at(_trainer(tmp_path, checkpoint_every=k), k).fit()
    return tmp_path / "checkpoints" / "last.pt"


def test_a_checkpoint_from_before_the_optional_keys_resumes(tmp_path):
    """Checkpoints written before stages_done, epochs_run, world_size and optimizer states were
    stored: one process, nothing finished, fresh optimizers."""
    last = _interrupted_at(tmp_path, 11)
    ckpt = torch.load(last, weights_only=True)
    for key in ("stages_done", "epochs_run", "world_size", "optim"):
        del ckpt[key]
    torch.save(ckpt, last)
    tr = _trainer(tmp_path)
    tr.fit(resume=True)
    assert tr.task.calls == ["fit"] * (48 - 11) + ["again"] * 16  # batch 3 of epoch 1, not rescaled
    assert tr.stages_done == ["fit", "again"] and tr.epochs_run == {"fit": 6, "again": 2}


def test_resume_from_a_two_process_checkpoint_by_one_process(tmp_path):
    """The position of a run of W processes counts W batches per step: one process resuming it
    skips W times as many of the epoch's batches (test_distributed does it with real processes)."""
    last = _interrupted_at(tmp_path, 3)
    ckpt = torch.load(last, weights_only=True)
    ckpt["world_size"] = 2
    torch.save(ckpt, last)
    tr = _trainer(tmp_path)
    tr.fit(resume=True)
    assert tr.task.calls == ["fit"] * (48 - 6) + ["again"] * 16


def test_checkpoints_that_do_not_fit_are_one_clear_error(tmp_path):
    from vawgan_tts.checkpoint import save_checkpoint

    last = _interrupted_at(tmp_path, 5)
    ckpt = torch.load(last, weights_only=True)
    other = dict(ckpt, task="toy_wgan")
    save_checkpoint(tmp_path / "other.pt", {k: v for k, v in other.items() if k != "version"})
    with pytest.raises(VawganError) as e:
        _trainer(tmp_path / "x").load(tmp_path / "other.pt", restore_position=False)
    assert str(e.value) == f"{tmp_path / 'other.pt'}: checkpoint of task 'toy_wgan', expected 'tiny'"
    lacking = dict(ckpt, model={})
    torch.save(lacking, tmp_path / "lacking.pt")
    with pytest.raises(VawganError) as e:
        _trainer(tmp_path / "x").load(tmp_path / "lacking.pt", restore_position=False)
    assert str(e.value) == f"{tmp_path / 'lacking.pt'}: checkpoint lacks model part(s) model"
    ckpt["model"]["model"]["weight"] = torch.zeros(3, 4)
    torch.save(ckpt, tmp_path / "shape.pt")
    with pytest.raises(VawganError) as e:
        _trainer(tmp_path / "x").load(tmp_path / "shape.pt", restore_position=False)
    msg = str(e.value)
    assert msg.startswith(f"{tmp_path / 'shape.pt'}: does not fit this model configuration (Error(s) in loading state_dict")
    assert "\n" not in msg and len(msg) < len(str(tmp_path)) + 300


def test_refusals_name_the_file_they_are_about(tmp_path):
    exp = tmp_path / "a" / "b" / "exp"  # made with its parents
    with pytest.raises(VawganError) as e:
        _trainer(exp).fit(resume=True)
    assert str(e.value) == f"{exp / 'checkpoints' / 'last.pt'}: nothing to resume: no checkpoint (run without --resume)"
    with pytest.raises(VawganError) as e:
        _trainer(exp).fit(["again"])
    assert str(e.value) == f"{exp / 'checkpoints' / 'fit.pt'}: stage 'again' needs stage 'fit' first (run --stage fit)"
    _trainer(exp).fit(["fit"])
    with pytest.raises(VawganError) as e:
        _trainer(exp).fit(["fit"])
    assert str(e.value) == (f"{exp}: already holds trained stage(s) fit; use --resume to continue or --overwrite "
                            "to start again")
    _interrupted_at(tmp_path / "cut", 5)
    with pytest.raises(VawganError) as e:
        _trainer(tmp_path / "cut").fit(["again"], resume=True)
    assert str(e.value) == (f"{tmp_path / 'cut' / 'checkpoints' / 'last.pt'}: the run stopped in stage 'fit', before "
                            "'again'; resume that stage first")


def test_a_later_stage_alone_continues_the_step_count_and_overwrite_restarts_the_log(tmp_path):
    _trainer(tmp_path).fit(["fit"])
    _trainer(tmp_path).fit(["again"])
    assert read_log(tmp_path / "log.csv")["step"] == list(range(1, 65))
    _trainer(tmp_path).fit(["fit"], overwrite=True)
    assert read_log(tmp_path / "log.csv")["step"] == list(range(1, 49))  # the old rows are gone


def test_resume_drops_log_rows_written_after_the_checkpoint(tmp_path):
    """A crash (not an interrupt: nothing saved then) after step 13 with checkpoints every 8 steps
    and the log flushed every 3: rows 9-12 are in log.csv but not in last.pt; resume redoes them."""
    with pytest.raises(RuntimeError):
        _stopping_at(_trainer(tmp_path, checkpoint_every=8), 13, RuntimeError).fit()
    assert read_log(tmp_path / "log.csv")["step"] == list(range(1, 13))
    _trainer(tmp_path).fit(resume=True)
    assert read_log(tmp_path / "log.csv")["step"] == list(range(1, 65))


def test_resume_inside_the_second_stage_keeps_the_first_one_done(tmp_path):
    _interrupted_at(tmp_path, 48 + 8)  # the first batch of epoch 1 of 'again' is next
    tr = _trainer(tmp_path, task=TinyRegression(epochs=(9, 2)))  # more 'fit' epochs: too late now
    tr.fit(resume=True)
    assert tr.task.calls == ["again"] * 8
    assert tr.stages_done == ["fit", "again"] and tr.epochs_run == {"fit": 6, "again": 2}


@pytest.mark.parametrize("stage", ["fit", "again"])
def test_an_interrupt_before_a_stages_checkpoint_is_written_is_mended_on_resume(tmp_path, stage):
    """Interrupted after a stage's last step but before its checkpoint was written, last.pt is at the
    next stage's start (or the run's end) and the stage's file is missing: a resume writes it from
    last.pt, then trains what is left, and the stage's file holds the stage's end state."""
    _trainer(tmp_path).fit(["fit"] if stage == "fit" else None)
    ckpts = tmp_path / "checkpoints"
    (ckpts / f"{stage}.pt").unlink()  # as if the interrupt hit while it was being written
    end = torch.load(ckpts / "last.pt", weights_only=False)
    tr = _trainer(tmp_path)
    tr.fit(resume=True)
    written = torch.load(ckpts / f"{stage}.pt", weights_only=False)
    assert written["progress"] == end["progress"] and written["stages_done"][-1] == stage
    for k, v in end["model"]["model"].items():
        assert torch.equal(written["model"]["model"][k], v)
    assert (ckpts / "again.pt").is_file() and tr.stages_done == ["fit", "again"]
    assert tr.task.calls == ([] if stage == "again" else ["again"] * 16)


@pytest.mark.parametrize("k", [48 + 3, 48 + 8, 0])
def test_a_resume_inside_a_stage_writes_no_stage_checkpoint(tmp_path, k):
    """Inside a stage (a batch or an epoch into it), or at the run's very start, last.pt is not a
    stage's end: a resume writes no stage checkpoint from it, even where one is missing."""
    last = _interrupted_at(tmp_path, k or 3)
    if k == 0:  # the position of a run interrupted before its first step
        ckpt = torch.load(last, weights_only=False)
        ckpt["progress"].update(stage=0, epoch=0, batch=0, step=0)
        torch.save(ckpt, last)
    ckpts = tmp_path / "checkpoints"
    (ckpts / "fit.pt").unlink(missing_ok=True)
    _trainer(tmp_path).fit(["fit"] if k == 0 else None, resume=True)
    assert not (ckpts / "fit.pt").is_file() if k else not (ckpts / "again.pt").is_file()


def test_extending_the_last_stage_and_not_an_earlier_one(tmp_path):
    _trainer(tmp_path).fit()
    more = _trainer(tmp_path, task=TinyRegression(epochs=(6, 4)))
    more.fit(resume=True)
    assert more.task.calls == ["again"] * 16  # epochs 3-4 of 'again' only
    assert more.stages_done == ["fit", "again"] and more.epochs_run == {"fit": 6, "again": 4}
    only = tmp_path / "only"
    _trainer(only).fit(["fit"])
    later = _trainer(only, task=TinyRegression(epochs=(9, 2)))
    later.fit(["again"], resume=True)  # 'fit' is not in this plan: it is not trained on
    assert later.task.calls == ["again"] * 16 and later.epochs_run == {"fit": 6, "again": 2}


def test_a_stage_a_hook_ended_is_not_extended(tmp_path):
    def stop_early(trainer, stage, epoch):
        return epoch == 1

    seed_everything(0)
    Trainer(TinyRegression(), _data(), tmp_path, TrainerConfig(log_flush=3), progress=False,
            hooks=[stop_early]).fit(["fit"])
    tr = _trainer(tmp_path, task=TinyRegression(epochs=(9, 2)))
    tr.fit(["fit"], resume=True)
    assert tr.task.calls == []  # it ran 2 of 6 epochs by choice: nothing says how many more


class Progressing(TinyRegression):
    """Records the epoch progress the trainer hands each step."""

    def __init__(self, epochs=(2, 1)):
        super().__init__(epochs)
        self.progress = []

    def train_step(self, batch, stage, ctx):
        self.progress.append(ctx.epoch_progress)
        return super().train_step(batch, stage, ctx)


def test_epoch_progress_by_hand_and_after_a_resume(tmp_path):
    tr = _trainer(tmp_path / "a", task=Progressing())
    tr.fit()
    assert tr.task.progress == pytest.approx([i / 8 for i in range(16)] + [i / 8 for i in range(8)])
    with pytest.raises(KeyboardInterrupt):
        _stopping_at(_trainer(tmp_path / "b", task=Progressing()), 11).fit()
    resumed = _trainer(tmp_path / "b", task=Progressing())
    resumed.fit(resume=True)
    assert resumed.task.progress == pytest.approx([1 + i / 8 for i in range(3, 8)] + [i / 8 for i in range(8)])


def test_periodic_checkpoints_every_n_steps(tmp_path):
    with pytest.raises(RuntimeError):
        _stopping_at(_trainer(tmp_path, checkpoint_every=10), 13, RuntimeError).fit()
    assert torch.load(tmp_path / "checkpoints" / "last.pt", weights_only=True)["progress"]["step"] == 10


def test_an_interrupt_before_a_later_stage_has_stepped_keeps_that_stage(tmp_path):
    _trainer(tmp_path).fit(["fit"])
    with pytest.raises(KeyboardInterrupt):
        _stopping_at(_trainer(tmp_path), 48).fit(["again"])
    assert torch.load(tmp_path / "checkpoints" / "last.pt", weights_only=True)["progress"] == {
        "stage": 1, "epoch": 0, "batch": 0, "step": 48}


def test_dry_run_reports_each_stage_and_refuses_non_finite_losses(tmp_path):
    tr = _trainer(tmp_path / "exp")
    tr.fit(dry_run=True)
    assert set(tr.dry_run_metrics) == {"fit", "again"}
    assert all(isinstance(m["loss"], float) and m["loss"] > 0 for m in tr.dry_run_metrics.values())

    class Diverging(TinyRegression):
        def train_step(self, batch, stage, ctx):
            out = super().train_step(batch, stage, ctx)
            return {"loss": out["loss"] * float("nan")}

    with pytest.raises(VawganError) as e:
        _trainer(tmp_path / "exp", task=Diverging()).fit(dry_run=True)
    assert str(e.value) == "dry run: stage 'fit' gave non-finite loss"


def test_a_plateau_schedule_lowers_every_rate_only_when_the_loss_did_not_improve(tmp_path):
    from vawgan_tts.trainer import PlateauDecay

    plain = _trainer(tmp_path / "plain")
    plain.report_loss(improved=False)  # no schedule declared: rates stay
    assert plain.optimizers["sgd"].param_groups[0]["lr"] == 0.1
    task = TinyRegression()
    task.lr_schedule = PlateauDecay(0.5)
    tr = _trainer(tmp_path / "plateau", task)
    tr.report_loss(improved=True)
    assert tr.optimizers["sgd"].param_groups[0]["lr"] == 0.1
    tr.report_loss(improved=False)
    tr.report_loss(improved=False)
    assert tr.optimizers["sgd"].param_groups[0]["lr"] == pytest.approx(0.025)
