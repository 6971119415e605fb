"""What every task shares: the two parts of the trainer's task protocol (:class:`..trainer.Task`) that
are the same everywhere. A task keeps its settings in ``self.config`` (a frozen dataclass) and what
its checkpoints must carry besides (normalization, dimensions, feature settings) in ``self.extra``."""

from __future__ import annotations

from ..config import to_dict


class TaskBase:
    config: object
    extra: dict

    def config_dict(self) -> dict:
        """The task's configuration as plain data, stored in every checkpoint."""
        return to_dict(self.config)

    def extra_state(self) -> dict:
        """What a checkpoint must carry besides weights and configuration to be used on its own."""
        return self.extra
