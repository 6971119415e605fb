"""What every task shares: :class:`TaskBase`, the two parts of the trainer's task protocol
(:class:`..steps.Task`) that are the same everywhere, and :class:`OneModelTask`. A task keeps its
settings in ``self.config`` (a frozen dataclass) and what its checkpoints must carry besides
(normalization, dimensions, feature settings) in ``self.extra``. What a step builds on (``Stage``,
``StepContext``, the schedules, ``adam``) is :mod:`..steps`, re-exported here for the tasks."""

from __future__ import annotations

import torch
from torch import nn

from ..config import to_dict
from ..steps import LinearDecay, PlateauDecay, Stage, StepContext, Task, adam  # noqa: F401  (the tasks' imports)


class TaskBase:
    config: object
    extra: dict

    def config_dict(self) -> dict:
        """The task's configuration as plain data, stored in every checkpoint."""
        return to_dict(self.config)

    def extra_state(self) -> dict:
        """What a checkpoint must carry besides weights and configuration to be used on its own."""
        return self.extra


class OneModelTask(TaskBase):
    """A task that trains one network, ``self.model`` (role "model" in checkpoints), with one Adam at
    ``config.lr``."""

    model: nn.Module

    def modules(self) -> dict[str, nn.Module]:
        return {"model": self.model}

    def make_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"model": adam(self.model.parameters(), self.config.lr)}


def masked_frame_mean(per_frame: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """The mean of ``per_frame`` (B, L) over the frames where ``mask`` (B, L) is 1: the loss of
    models over crops, whose padding and unpaired frames do not count (0 with no frame counted)."""
    return (per_frame * mask).sum() / mask.sum().clamp_min(1.0)
