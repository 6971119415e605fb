"""THE training loop, shared by every task (VAWGAN, image VAE/GAN, toy WGAN, seq2seq).

The trainer owns: stages and epochs, batching, device choice, seeding, AMP on CUDA, gradient
clipping, logging every step to ``log.csv``, a progress bar with the live losses, checkpoints
(periodic and per stage, atomic, with config + task state + RNG states), ``--resume`` and
``--dry-run``. A task owns the math of one step. The trainer imports no model.

A task provides (see :class:`.steps.Task`, which holds with it what tasks build on: ``Stage``,
``StepContext``, the schedules and ``adam``, so a task never imports the loop): ``name``, ``stages`` (data: :class:`Stage`), ``metric_names``
(the log columns), ``modules()`` (role -> nn.Module), ``make_optimizers()`` (name -> optimizer,
called after the modules moved to the device), ``train_step(batch, stage, ctx)`` returning a dict
of detached scalar tensors, ``config_dict()`` and ``extra_state()`` (stored in checkpoints).

What a run does between epochs (sample grids, a dev-set loss, early stopping) is a *hook*:
``hook(trainer, stage, epoch) -> bool | None`` called after every finished epoch (never in a dry
run); returning True ends the stage there. Tasks and hooks live in their own files; the loop has
no branch for any of them.

Under torchrun (``WORLD_SIZE`` > 1) the same loop trains data-parallel (:mod:`.distributed`): each
rank takes its share of every epoch's batches (``batches.shard``), gradients are averaged at every
optimizer step, and only rank 0 logs, checkpoints and runs the hooks; what a hook may change in
training (ending the stage, the learning rates) is broadcast to the other ranks.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import io
import math
import signal
import sys
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import torch

from . import distributed
from .checkpoint import load_checkpoint, load_parts, misfit, save_checkpoint
from .steps import LinearDecay, PlateauDecay, Stage, StepContext, Task, adam  # noqa: F401  (the protocol, re-exported)
from .errors import VawganError
from .fileio import write_text_atomic
from .progress import PlainProgress

LOG_CSV = "log.csv"
CHECKPOINTS = "checkpoints"
LAST = "last.pt"


@dataclasses.dataclass(frozen=True)
class TrainerConfig:
    batch_size: int = 128
    seed: int = 0
    device: str = "auto"  # auto | cpu | cuda
    amp: bool = True  # bf16 autocast on CUDA where supported; ignored on CPU
    checkpoint_every: int = 1000  # steps between periodic checkpoints; 0: only at stage ends
    grad_clip: float = 0.0  # max gradient norm per optimizer step; 0: off
    log_flush: int = 50  # steps between writes of log.csv (one device sync per flush)

    SECTION = "train"

    def __post_init__(self):
        from .config import check_choice, check_ranges

        check_choice(self, "device", ("auto", "cpu", "cuda"))
        check_ranges(self, batch_size=">= 1", checkpoint_every=">= 0", grad_clip=">= 0", log_flush=">= 1")


@dataclasses.dataclass
class Position:
    """Where training is: the next batch to run is ``batch`` of ``epoch`` of stage ``stage``."""

    stage: int = 0
    epoch: int = 0
    batch: int = 0
    step: int = 0


def seed_everything(seed: int) -> None:
    import random

    import numpy as np

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _to(batch, device: torch.device):
    """Move a batch to ``device``. A CPU batch bound for CUDA goes through pinned memory (PyTorch's
    caching host allocator reuses the buffers), so the copy is asynchronous."""
    if isinstance(batch, torch.Tensor):
        if batch.device == device:
            return batch
        if device.type == "cuda" and batch.device.type == "cpu":
            batch = batch.pin_memory()
        return batch.to(device, non_blocking=True)
    if isinstance(batch, (tuple, list)):
        return type(batch)(_to(b, device) for b in batch)
    return batch


EpochHook = Callable[["Trainer", str, int], "bool | None"]


class Trainer:
    """Runs a task's stages over ``batches`` (an object with ``__len__`` and
    ``epoch(generator, start)``, e.g. :class:`~vawgan_tts.batching.TensorBatches`)."""

    def __init__(self, task: Task, batches, out_dir: str | Path, config: TrainerConfig = TrainerConfig(),
                 progress: bool = True, hooks: Sequence[EpochHook] = ()):
        self.task = task
        self.hooks = list(hooks)
        self.out_dir = Path(out_dir)
        self.config = config
        self.device = distributed.join(config.device)
        self.world_size, self.rank = distributed.world_size(), distributed.rank()
        self.is_main = self.rank == 0
        if self.world_size > 1:
            if not hasattr(batches, "shard"):
                raise VawganError(None, f"{type(batches).__name__} cannot be split across {self.world_size} processes")
            batches = batches.shard(self.rank, self.world_size)
        self.batches = batches
        for m in task.modules().values():
            m.to(self.device)
        distributed.broadcast_module_state(task.modules().values())
        self.optimizers = task.make_optimizers()
        self.ctx = StepContext(self.optimizers, config.grad_clip)
        self.position = Position()
        self.stages_done: list[str] = []
        self.epochs_run: dict[str, int] = {}  # stages that ran all their epochs, and how many
        self.show_progress = progress and self.is_main
        self.dry_run_metrics: dict[str, dict[str, float]] = {}
        self._log_rows: list[tuple[int, str, int, tuple[bool, ...], torch.Tensor]] = []
        self._nan = torch.tensor(float("nan"), device=self.device)
        use_amp = config.amp and self.device.type == "cuda" and torch.cuda.is_bf16_supported()
        self._autocast = (lambda: torch.autocast("cuda", dtype=torch.bfloat16)) if use_amp else contextlib.nullcontext

    # ----------------------------------------------------------------------------- paths

    @property
    def checkpoint_dir(self) -> Path:
        return self.out_dir / CHECKPOINTS

    def stage_checkpoint(self, stage: str) -> Path:
        return self.checkpoint_dir / f"{stage}.pt"

    # ------------------------------------------------------------------------ checkpoints

    def state(self) -> dict[str, Any]:
        rng = {"torch": torch.get_rng_state()}
        if torch.cuda.is_available():
            rng["cuda"] = torch.cuda.get_rng_state_all()
        return {
            "task": self.task.name,
            "config": self.task.config_dict(),
            "extra": self.task.extra_state(),
            "model": {k: m.state_dict() for k, m in self.task.modules().items()},
            "optim": {k: o.state_dict() for k, o in self.optimizers.items()},
            "progress": dataclasses.asdict(self.position),
            "stages_done": list(self.stages_done),
            "epochs_run": dict(self.epochs_run),
            "world_size": self.world_size,  # batch positions count this many processes' batches
            "rng": rng,
        }

    def save(self, path: Path) -> Path:
        """Write a checkpoint (rank 0 only: the ranks hold the same parameters)."""
        self._flush_log()
        if not self.is_main:
            return path
        return save_checkpoint(path, self.state())

    def load(self, path: Path, restore_position: bool) -> dict:
        ckpt = load_checkpoint(path, self.task.name)
        arch = self.task.config_dict().get("arch", "frame")
        load_parts(path, ckpt, self.task.modules(), arch)
        try:
            for k, o in self.optimizers.items():
                if k in ckpt.get("optim", {}):
                    o.load_state_dict(ckpt["optim"][k])
        except (RuntimeError, ValueError, KeyError) as e:
            raise misfit(path, ckpt, arch, e) from None
        self.stages_done = list(ckpt.get("stages_done", []))
        self.epochs_run = dict(ckpt.get("epochs_run", {}))
        if restore_position:
            self.position = Position(**ckpt["progress"])
            saved_world = int(ckpt.get("world_size", 1))
            if saved_world != self.world_size:  # the same share of the epoch under another process count
                self.position.batch = self.position.batch * saved_world // self.world_size
            torch.set_rng_state(ckpt["rng"]["torch"])
            if "cuda" in ckpt["rng"] and torch.cuda.is_available():
                torch.cuda.set_rng_state_all(ckpt["rng"]["cuda"])
        return ckpt

    # ---------------------------------------------------------------------------- logging

    def _log_header(self) -> list[str]:
        return ["step", "stage", "epoch", *self.task.metric_names]

    def _start_log(self, resume_step: int | None) -> None:
        if not self.is_main:
            return
        path = self.out_dir / LOG_CSV
        keep = []
        if resume_step is not None and path.is_file():
            with open(path, newline="") as f:
                keep = [r for r in csv.reader(f)][1:]
            keep = [r for r in keep if r and int(r[0]) <= resume_step]  # later rows are redone
        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow(self._log_header())
        w.writerows(keep)
        write_text_atomic(path, buf.getvalue())

    def _log_step(self, step: int, stage: str, epoch: int, metrics: dict[str, torch.Tensor]) -> None:
        """Buffer one step's metrics as one tensor on the device (no host sync)."""
        names = self.task.metric_names
        present = tuple(n in metrics for n in names)
        vals = [metrics[n] if p else self._nan for n, p in zip(names, present)]
        try:
            row = torch.stack(vals)
        except RuntimeError:  # a metric not a float scalar: make it one
            row = torch.stack([v.float().reshape(()) for v in vals])
        self._log_rows.append((step, stage, epoch, present, row))

    def _flush_log(self) -> dict[str, float]:
        """Write buffered rows: one device->host copy for all of them. Returns the last row."""
        if not self._log_rows:
            return {}
        names = self.task.metric_names
        values = torch.stack([r[-1].float() for r in self._log_rows]).cpu().tolist()
        rows = [[step, stage, epoch, *(f"{v:.6g}" if p else "" for v, p in zip(vals, present))]
                for (step, stage, epoch, present, _), vals in zip(self._log_rows, values)]
        present = self._log_rows[-1][3]
        last = {n: v for n, v, p in zip(names, values[-1], present) if p}
        with open(self.out_dir / LOG_CSV, "a", newline="") as f:
            csv.writer(f).writerows(rows)
        self._log_rows.clear()
        return last

    # ------------------------------------------------------------------------------- loop

    def fit(self, stages: Iterable[str] | None = None, resume: bool = False, dry_run: bool = False,
            overwrite: bool = False, on_start: Callable[[], None] | None = None) -> Position:
        """Run ``stages`` (default: all, in the task's order). ``resume`` continues from
        ``checkpoints/last.pt``; a plan that starts after the first stage loads the previous
        stage's checkpoint. ``dry_run`` runs one batch of each stage and writes nothing.
        ``on_start`` is called once the checkpoint to start from has loaded, before any step: a
        run refused there (a checkpoint that does not fit) has written nothing of its own."""
        names = [s.name for s in self.task.stages]
        wanted = list(stages) if stages is not None else names
        unknown = [s for s in wanted if s not in names]
        if unknown:
            raise VawganError(None, f"unknown stage(s) {', '.join(unknown)}; this task has {', '.join(names)}")
        plan = [i for i, s in enumerate(self.task.stages) if s.name in wanted]
        if plan != list(range(plan[0], plan[-1] + 1)):
            raise VawganError(None, f"stages must be consecutive: {', '.join(names)}")

        if not dry_run:
            self._prepare(plan, resume, overwrite)
            if on_start is not None:
                on_start()
        else:
            self.position = Position(stage=plan[0])
        if self.world_size > 1:
            # Same parameters everywhere (broadcast), but each rank its own noise (reparameterization,
            # penalty interpolates), reproducible from (seed, rank, where training starts).
            torch.manual_seed(self.config.seed * 1_000_003 + 7_919 * self.rank + self.position.step)
        if self.show_progress and not dry_run:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

            console = Console(stderr=True)
            if console.is_terminal:
                bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                               TimeRemainingColumn(), TextColumn("{task.fields[losses]}"), console=console)
            else:  # a log file (run.sh | tee, nohup): plain lines instead of a redrawn bar
                bar = PlainProgress(unit="batches")
        else:
            bar = None
        previous = signal.getsignal(signal.SIGTERM)
        with contextlib.ExitStack() as stack:
            if bar is not None:
                stack.enter_context(bar)
            with contextlib.suppress(ValueError):  # not the main thread: no handler
                signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
                stack.callback(signal.signal, signal.SIGTERM, previous)
            try:
                self._run(plan, dry_run, bar)
            except KeyboardInterrupt:
                if not dry_run:
                    self.save(self.checkpoint_dir / LAST)
                raise
        return self.position

    def _prepare(self, plan: list[int], resume: bool, overwrite: bool) -> None:
        if self.is_main:
            self.out_dir.mkdir(parents=True, exist_ok=True)
        last = self.checkpoint_dir / LAST
        first = self.task.stages[plan[0]]
        if resume:
            if not last.is_file():
                raise VawganError(last, "nothing to resume: no checkpoint (run without --resume)")
            self.load(last, restore_position=True)
            self._write_missing_stage_checkpoint()
            self._say_where_resumed()
            if self.position.stage < plan[0]:
                raise VawganError(last, f"the run stopped in stage {self.task.stages[self.position.stage].name!r}, before {first.name!r}; resume that stage first")
            self._extend_finished_stage(plan)
            self._start_log(self.position.step)
            return
        done = [self.task.stages[i].name for i in plan if self.stage_checkpoint(self.task.stages[i].name).is_file()]
        if done and not overwrite:
            raise VawganError(self.out_dir, f"already holds trained stage(s) {', '.join(done)}; use --resume to continue or --overwrite to start again")
        if plan[0] > 0:
            prev = self.task.stages[plan[0] - 1].name
            ckpt_path = self.stage_checkpoint(prev)
            if not ckpt_path.is_file():
                raise VawganError(ckpt_path, f"stage {first.name!r} needs stage {prev!r} first (run --stage {prev})")
            ckpt = self.load(ckpt_path, restore_position=False)
            self.position = Position(stage=plan[0], step=ckpt["progress"]["step"])
            self._start_log(self.position.step)
        else:
            self.position = Position()
            self._start_log(None)

    def _write_missing_stage_checkpoint(self) -> None:
        """An interrupt that lands between a stage's last step and its checkpoint (the position has
        moved to the next stage, the stage's file is not yet written) leaves ``last.pt`` at the next
        stage's start without the finished stage's checkpoint. ``last.pt`` then holds that stage's
        end state: write the stage's checkpoint from it, as the stage would have."""
        pos = self.position
        if pos.stage == 0 or pos.epoch or pos.batch or not self.is_main:
            return
        stage = self.task.stages[pos.stage - 1].name
        if self.stage_checkpoint(stage).is_file():
            return
        self.stages_done = [s for s in self.stages_done if s != stage] + [stage]
        state = self.state()
        save_checkpoint(self.stage_checkpoint(stage), state)
        save_checkpoint(self.checkpoint_dir / LAST, state)

    def _say_where_resumed(self) -> None:
        """One line on stderr: the experiment, stage, epoch and step a --resume continues from."""
        if not self.is_main:
            return
        pos, stages = self.position, self.task.stages
        if pos.stage < len(stages):
            where = f"stage {stages[pos.stage].name!r}, epoch {pos.epoch + 1} of {stages[pos.stage].epochs}, batch {pos.batch}"
        else:
            where = "after its last stage"
        print(f"resuming {self.out_dir}: {where}, step {pos.step}", file=sys.stderr, flush=True)

    def _extend_finished_stage(self, plan: list[int]) -> None:
        """``--resume`` with more epochs than a finished stage ran: train that stage on, from its
        last epoch, provided nothing after it has started (e.g. ``gen toy --resume --epochs 500``
        on a 300-epoch run)."""
        pos = self.position
        s = pos.stage - 1
        if pos.epoch or pos.batch or s not in plan:
            return
        stage = self.task.stages[s]
        ran = self.epochs_run.get(stage.name)
        if ran is not None and stage.epochs > ran:
            self.position = Position(stage=s, epoch=ran, batch=0, step=pos.step)
            self.stages_done = [n for n in self.stages_done if n != stage.name]
            del self.epochs_run[stage.name]

    def _epoch_generator(self, stage: int, epoch: int) -> torch.Generator:
        # The shuffle order depends only on (seed, stage, epoch): a resumed run redraws it.
        return torch.Generator().manual_seed(self.config.seed * 1_000_003 + stage * 10_007 + epoch)

    def _run(self, plan: list[int], dry_run: bool, bar) -> None:
        pos = self.position
        n_batches = len(self.batches)
        for si in plan:
            if si < pos.stage:
                continue
            stage = self.task.stages[si]
            task_id = None
            if bar is not None:
                total = stage.epochs * n_batches
                task_id = bar.add_task(f"{stage.name:>8s}", total=total, completed=pos.epoch * n_batches + pos.batch, losses="")
            # ``pos`` is always at this stage here (where the plan or a resume starts, or reset
            # to its beginning as the previous stage ended), and at each epoch's first batch to run.
            for epoch in range(pos.epoch, stage.epochs):
                for m in self.task.modules().values():
                    m.train()  # a hook may have switched them to eval()
                start = pos.batch
                for i, batch in enumerate(self.batches.epoch(self._epoch_generator(si, epoch), start), start):
                    self.ctx.epoch_progress = epoch + i / n_batches
                    self.ctx.step_index = pos.step
                    if isinstance(self.lr_schedule, LinearDecay):
                        self._set_learning_rates(self.lr_schedule.at(self.ctx.epoch_progress))
                    with self._autocast():
                        metrics = self.task.train_step(_to(batch, self.device), stage.name, self.ctx)
                    pos.stage, pos.epoch, pos.batch, pos.step = si, epoch, i + 1, pos.step + 1
                    if dry_run:
                        vals = {k: float(v) for k, v in metrics.items()}
                        bad = [k for k, v in vals.items() if not math.isfinite(v)]
                        if bad:
                            raise VawganError(None, f"dry run: stage {stage.name!r} gave non-finite {', '.join(bad)}")
                        self.dry_run_metrics[stage.name] = vals
                        break
                    if self.is_main:
                        self._log_step(pos.step, stage.name, epoch, metrics)
                    if pos.step % self.config.log_flush == 0:
                        last = self._flush_log()
                        if bar is not None:
                            bar.update(task_id, completed=epoch * n_batches + i + 1,
                                       losses="  ".join(f"{k}={v:.3g}" for k, v in last.items()))
                    if self.config.checkpoint_every and pos.step % self.config.checkpoint_every == 0:
                        self.save(self.checkpoint_dir / LAST)
                if dry_run:
                    break
                pos.epoch, pos.batch = epoch + 1, 0
                if self._run_hooks(stage.name, epoch):
                    break
            else:  # every epoch ran (no hook ended the stage, not a dry run)
                self.epochs_run[stage.name] = stage.epochs
            if bar is not None:
                bar.update(task_id, completed=stage.epochs * n_batches)
            pos.stage, pos.epoch, pos.batch = si + 1, 0, 0
            if not dry_run:
                self.stages_done = [s for s in self.stages_done if s != stage.name] + [stage.name]
                self._flush_log()
                if self.is_main:
                    state = self.state()  # one snapshot, two files: the stage's and the latest
                    save_checkpoint(self.stage_checkpoint(stage.name), state)
                    save_checkpoint(self.checkpoint_dir / LAST, state)
        distributed.barrier()  # no rank reads a checkpoint before rank 0 has written it

    @property
    def lr_schedule(self):
        return getattr(self.task, "lr_schedule", None)

    def _set_learning_rates(self, lr: float) -> None:
        for opt in self.optimizers.values():
            for group in opt.param_groups:
                group["lr"] = lr

    def report_loss(self, improved: bool) -> None:
        """From an epoch hook on rank 0: whether the monitored loss improved. Under a ``PlateauDecay``
        a loss that did not lowers every rate (the other ranks take them after the hooks)."""
        if isinstance(self.lr_schedule, PlateauDecay) and not improved:
            for opt in self.optimizers.values():
                for group in opt.param_groups:
                    group["lr"] *= self.lr_schedule.factor

    def _run_hooks(self, stage: str, epoch: int) -> bool:
        """The hooks, on rank 0; True when one ends the stage. Other ranks receive that decision
        and rank 0's learning rates (a hook may lower them)."""
        stop = False
        if self.is_main:
            stop = any([bool(hook(self, stage, epoch)) for hook in self.hooks])
        if self.world_size > 1 and self.hooks:
            distributed.broadcast_learning_rates(self.optimizers.values(), self.device)
            stop = distributed.any_rank(stop, self.device)
        return stop


def _raise_keyboard_interrupt(signum, frame):
    raise KeyboardInterrupt


def read_log(path: str | Path) -> dict[str, list]:
    """log.csv as columns: {"step": [...], "stage": [...], "epoch": [...], metric: [float|nan]}."""
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    cols: dict[str, list] = {}
    for r in rows:
        for k, v in r.items():
            if k in ("stage",):
                cols.setdefault(k, []).append(v)
            elif k in ("step", "epoch"):
                cols.setdefault(k, []).append(int(v))
            else:
                cols.setdefault(k, []).append(float(v) if v != "" else float("nan"))
    return cols
