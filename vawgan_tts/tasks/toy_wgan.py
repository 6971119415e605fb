"""WGAN on 2-D points (the 5×5 Gaussian-mixture study): MLP generator and critic, weight clipping
or gradient penalty. Every batch updates the critic; every ``n_critic``-th also the generator."""

from __future__ import annotations

import dataclasses

import torch

from ..choices import CRITICS, LR_DECAYS
from ..config import check_choice, check_ranges
from ..models.critic import Critic
from ..models.layers import mlp
from .wgan import wgan_step
from .base import LinearDecay, Stage, StepContext, TaskBase, adam


@dataclasses.dataclass(frozen=True)
class ToyWGANConfig:
    # Defaults: what recipes/toy_25gauss measured to capture the modes (GP: 25 modes by epoch 50 there).
    critic: str = "gp"  # gp (WGAN-GP) | clip (WGAN)
    clip: float = 0.1
    gp_lambda: float = 0.1
    n_critic: int = 5
    lr: float = 2e-4
    lr_decay: str = "linear"  # linear (to 0 at the last epoch, as in the WGAN-GP paper's CIFAR runs) | none
    betas: tuple[float, ...] = (0.5, 0.9)
    z_dim: int = 2
    hidden: tuple[int, ...] = (256, 256, 256)  # the critic's layers, and the generator's unless set below
    generator_hidden: tuple[int, ...] = (512, 512, 512, 512)  # the generator's layers; () : the critic's
    scale: float = 2.828  # the networks see points divided by this (the grid spans ±4: ±1.41 inside)
    epochs: int = 100

    SECTION = "toy"

    def __post_init__(self):
        check_choice(self, "critic", CRITICS)
        check_choice(self, "lr_decay", LR_DECAYS)
        check_ranges(self, clip="> 0", gp_lambda=">= 0", n_critic=">= 1", lr="> 0", betas="0..1", z_dim=">= 1",
                     hidden=">= 1", generator_hidden=">= 1", scale="> 0", epochs=">= 0")


class ToyWGANTask(TaskBase):
    name = "toy_wgan"
    metric_names = ("critic_loss", "d_real", "d_fake", "w_distance", "gp", "g_loss")

    def __init__(self, config: ToyWGANConfig, extra: dict | None = None):
        self.config = config
        self.stages = (Stage("wgan", config.epochs),)
        self.generator = mlp([config.z_dim, *(config.generator_hidden or config.hidden), 2])
        self.critic = Critic(2, config.hidden)
        self.extra = dict(extra or {})
        self.lr_schedule = LinearDecay(config.lr, config.epochs) if config.lr_decay == "linear" else None

    def modules(self):
        return {"generator": self.generator, "critic": self.critic}

    def make_optimizers(self):
        c = self.config
        return {"generator": adam(self.generator.parameters(), c.lr, tuple(c.betas)),
                "critic": adam(self.critic.parameters(), c.lr, tuple(c.betas))}

    def sample(self, n: int, device=None) -> torch.Tensor:
        """``n`` generated points in data coordinates."""
        return self._generate(n, device) * self.config.scale

    def _generate(self, n: int, device=None) -> torch.Tensor:
        return self.generator(torch.randn(n, self.config.z_dim, device=device))

    def critic_score(self, points: torch.Tensor) -> torch.Tensor:
        """D at points given in data coordinates."""
        return self.critic(points / self.config.scale)

    def train_step(self, x: torch.Tensor, stage: str, ctx: StepContext) -> dict[str, torch.Tensor]:
        c = self.config
        return wgan_step(self.critic, x / c.scale, lambda n: self._generate(n, x.device), ctx, "critic",
                         c.critic, c.gp_lambda, c.clip, c.n_critic)
