"""The adversarially trained DNN converter (Saito, Takamichi & Saruwatari 2018, eq. 13):

    L_G = L_MSE(ŷ, y) + w_d · (E_MSE / E_ADV) · L_ADV(ŷ),    L_ADV = −E[D(ŷ_static)]

The generator is the parallel DNN converter (:mod:`.dnn_converter`), warm-started from the trained
MMSE model; D is a Wasserstein critic on the static features (normalized c1..c39) of the target's
natural frames against the generator's, updated with the critic step every adversarial task shares
(:mod:`.wgan`). E_MSE / E_ADV is the ratio of the two terms' batch magnitudes, detached, so that
``adv_weight`` (w_d) alone sets their balance, as the paper's ratio of expectations does.

Stages: ``critic`` (the critic alone, the generator frozen), ``adv`` (per batch: ``n_critic``
critic updates, then the generator on L_G; the critic's parameters get no gradient from the
generator's loss).
"""

from __future__ import annotations

import dataclasses

import torch

from ..choices import CRITICS
from ..config import check_choice, check_ranges, to_dict
from ..models.critic import Critic
from ..models.frame_converter import FrameConverter
from .dnn_converter import DNNConverterConfig
from .wgan import critic_step, frozen
from .base import Stage, StepContext, TaskBase, adam


@dataclasses.dataclass(frozen=True)
class AdversarialConverterConfig:
    adv_weight: float = 1.0  # w_d
    lr: float = 1e-4  # the generator's, after warm start
    critic_hidden: tuple[int, ...] = (256, 256)
    critic_lr: float = 1e-4
    critic_betas: tuple[float, ...] = (0.5, 0.9)
    critic: str = "gp"
    gp_lambda: float = 10.0
    clip: float = 0.01
    critic_epochs: int = 1
    adv_epochs: int = 3
    n_critic: int = 1  # critic updates per generator update in the adversarial stage

    SECTION = "adv"

    def __post_init__(self):
        check_choice(self, "critic", CRITICS)
        check_ranges(self, adv_weight=">= 0", lr="> 0", critic_hidden=">= 1", critic_lr="> 0", critic_betas="0..1",
                     gp_lambda=">= 0", clip="> 0", critic_epochs=">= 0", adv_epochs=">= 0", n_critic=">= 1")


class AdversarialConverterTask(TaskBase):
    name = "adversarial_converter"
    metric_names = ("loss", "mse", "adv_loss", "scale", "critic_loss", "d_real", "d_fake", "w_distance", "gp")

    def __init__(self, dnn: DNNConverterConfig, config: AdversarialConverterConfig, dim_in: int, dim_out: int,
                 static_dim: int, extra: dict | None = None):
        self.dnn, self.config, self.static_dim = dnn, config, static_dim
        self.stages = (Stage("critic", config.critic_epochs), Stage("adv", config.adv_epochs))
        self.model = FrameConverter(dim_in * (2 * dnn.context + 1), dim_out, dnn.hidden, dnn.layers, dnn.dropout)
        self.critic = Critic(static_dim, config.critic_hidden)
        self.extra = {"dim_in": dim_in, "dim_out": dim_out, "static_dim": static_dim, "dnn": to_dict(dnn), **(extra or {})}

    def modules(self):
        return {"model": self.model, "critic": self.critic}

    def make_optimizers(self):
        c = self.config
        return {"model": adam(self.model.parameters(), c.lr),
                "critic": adam(self.critic.parameters(), c.critic_lr, tuple(c.critic_betas))}

    def _critic_update(self, x: torch.Tensor, y: torch.Tensor, ctx: StepContext) -> dict[str, torch.Tensor]:
        with torch.no_grad():
            fake = self.model(x)[:, : self.static_dim]
        c = self.config
        return critic_step(self.critic, y[:, : self.static_dim], fake, ctx, "critic", c.critic, c.gp_lambda, c.clip)

    def generator_loss(self, x: torch.Tensor, y: torch.Tensor) -> dict[str, torch.Tensor]:
        """L_G and its parts for a batch (the critic must be frozen by the caller when stepping)."""
        pred = self.model(x)
        mse = ((pred - y) ** 2).mean()
        adv = -self.critic(pred[:, : self.static_dim]).mean()
        scale = (mse / adv).abs().detach()
        return {"loss": mse + self.config.adv_weight * scale * adv, "mse": mse, "adv_loss": adv, "scale": scale}

    def train_step(self, batch, stage: str, ctx: StepContext) -> dict[str, torch.Tensor]:
        x, y = batch
        for _ in range(self.config.n_critic if stage == "adv" else 1):
            out = self._critic_update(x, y, ctx)
        if stage == "adv":
            with frozen(self.critic):
                g = self.generator_loss(x, y)
                ctx.step("model", g["loss"])
            out |= {k: v.detach() for k, v in g.items()}
        return out
