"""What a task's training step builds on, and the trainer's side of the protocol: :class:`Stage` (a
phase of training), the :class:`Task` protocol, :class:`StepContext` (optimizer steps go through it),
the learning-rate schedules and :func:`adam`. Tasks import these without the loop (:mod:`.trainer`),
and the loop imports no task."""

from __future__ import annotations

import dataclasses
from typing import Any, Protocol, Sequence

import torch
from torch import nn

from . import distributed


@dataclasses.dataclass(frozen=True)
class Stage:
    """One phase of training: a name the task dispatches on, and how many epochs it runs."""

    name: str
    epochs: int


class Task(Protocol):
    name: str
    stages: Sequence[Stage]
    metric_names: Sequence[str]

    def modules(self) -> dict[str, nn.Module]: ...
    def make_optimizers(self) -> dict[str, torch.optim.Optimizer]: ...
    def train_step(self, batch: Any, stage: str, ctx: "StepContext") -> dict[str, torch.Tensor]: ...
    def config_dict(self) -> dict: ...
    def extra_state(self) -> dict: ...


class StepContext:
    """Handed to ``task.train_step``: optimizer steps go through here, so the trainer owns
    zeroing, backward, gradient clipping and the step itself."""

    def __init__(self, optimizers: dict[str, torch.optim.Optimizer], grad_clip: float):
        self.optimizers = optimizers
        self.grad_clip = grad_clip
        self.epoch_progress = 0.0  # epochs done in the current stage, fractional
        self.step_index = 0  # steps done in the whole run before this one (restored on resume)

    def step(self, name: str, loss: torch.Tensor) -> None:
        opt = self.optimizers[name]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        params = [p for g in opt.param_groups for p in g["params"] if p.grad is not None]
        distributed.average_gradients(params)
        if self.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(params, self.grad_clip)
        opt.step()


# ------------------------------------------------------------------------ learning-rate schedules
# The trainer is the one place learning rates change. A task declares its schedule as the attribute
# ``lr_schedule``: a position schedule (``LinearDecay``) gives every optimizer's rate before each step
# from where training is, so a resumed run continues it; a loss schedule (``PlateauDecay``) is told a
# monitored loss after each epoch by a hook (``trainer.report_loss``) and lowers the rates itself.
# Rates live in the optimizers' state, so every checkpoint holds them; under data parallelism every
# rank takes rank 0's after the hooks.


@dataclasses.dataclass(frozen=True)
class LinearDecay:
    """lr · max(0, 1 − e / epochs), e the epochs of the stage done so far (fractional): to 0 at the end
    (the WGAN-GP paper's schedule)."""

    lr: float
    epochs: float

    def at(self, epoch_progress: float) -> float:
        return self.lr * max(0.0, 1.0 - epoch_progress / self.epochs)


@dataclasses.dataclass(frozen=True)
class PlateauDecay:
    """Every rate × ``factor`` after an epoch whose monitored loss is not below the best so far
    (patience 0)."""

    factor: float


def adam(params, lr: float, betas: Sequence[float] = (0.9, 0.999)) -> torch.optim.Adam:
    """Adam with PyTorch's fused kernel: one pass over all tensors per step instead of PyTorch's
    CPU default, a loop over tensors (22 % faster VAE steps at batch 128 on 2 cores:
    benchmarks/bench_train.py). The tasks build their optimizers with this."""
    return torch.optim.Adam(params, lr=lr, betas=tuple(betas), fused=True)
