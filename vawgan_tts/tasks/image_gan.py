"""Image GAN (non-saturating, Goodfellow et al. 2014) and WGAN (clip or GP) on the MLP generator
and discriminator. Pixels are scaled to [−1, 1] for the generator's tanh."""

from __future__ import annotations

import dataclasses

import torch
import torch.nn.functional as F

from ..choices import CRITICS
from ..config import check_choice, check_ranges
from ..models.image import Discriminator, Generator
from .wgan import frozen, wgan_step
from .base import Stage, StepContext, TaskBase, adam

LOSSES = ("gan", "wgan")


@dataclasses.dataclass(frozen=True)
class ImageGANConfig:
    loss: str = "gan"  # gan: BCE, D and G alternate; wgan: Wasserstein critic, n_critic steps per G step
    z_dim: int = 100
    epochs: int = 20
    lr: float = 2e-4
    betas: tuple[float, ...] = (0.5, 0.999)
    critic: str = "gp"  # wgan only: gp | clip
    clip: float = 0.01
    gp_lambda: float = 10.0
    n_critic: int = 5  # wgan only: critic updates per generator update

    SECTION = "image_gan"

    def __post_init__(self):
        check_choice(self, "loss", LOSSES)
        check_choice(self, "critic", CRITICS)
        check_ranges(self, z_dim=">= 1", epochs=">= 0", lr="> 0", betas="0..1", clip="> 0", gp_lambda=">= 0",
                     n_critic=">= 1")


def to_tanh_range(x: torch.Tensor) -> torch.Tensor:
    return x.float() / 127.5 - 1.0


class ImageGANTask(TaskBase):
    name = "image_gan"
    metric_names = ("d_loss", "g_loss", "d_real", "d_fake", "critic_loss", "w_distance", "gp")

    def __init__(self, config: ImageGANConfig, shape: tuple[int, int, int], extra: dict | None = None):
        self.config = config
        self.shape = tuple(shape)
        self.stages = (Stage(config.loss, config.epochs),)
        self.generator = Generator(self.shape, config.z_dim)
        self.discriminator = Discriminator(self.shape)
        self.extra = {"shape": list(self.shape), **(extra or {})}

    def modules(self):
        return {"generator": self.generator, "discriminator": self.discriminator}

    def make_optimizers(self):
        c = self.config
        betas = tuple(c.betas)
        return {"generator": adam(self.generator.parameters(), c.lr, betas),
                "discriminator": adam(self.discriminator.parameters(), c.lr, betas)}

    def sample(self, n: int, device=None) -> torch.Tensor:
        return self.generator(torch.randn(n, self.config.z_dim, device=device))

    def train_step(self, x: torch.Tensor, stage: str, ctx: StepContext) -> dict[str, torch.Tensor]:
        real = to_tanh_range(x)
        return self._gan_step(real, ctx) if stage == "gan" else self._wgan_step(real, ctx)

    def _gan_step(self, real, ctx):
        fake = self.sample(len(real), real.device)
        d_real, d_fake = self.discriminator(real), self.discriminator(fake.detach())
        d_loss = (F.binary_cross_entropy_with_logits(d_real, torch.ones_like(d_real))
                  + F.binary_cross_entropy_with_logits(d_fake, torch.zeros_like(d_fake)))
        ctx.step("discriminator", d_loss)
        with frozen(self.discriminator):
            g_out = self.discriminator(fake)
            g_loss = F.binary_cross_entropy_with_logits(g_out, torch.ones_like(g_out))  # non-saturating
            ctx.step("generator", g_loss)
        return {"d_loss": d_loss.detach(), "g_loss": g_loss.detach(),
                "d_real": torch.sigmoid(d_real).mean().detach(), "d_fake": torch.sigmoid(d_fake).mean().detach()}

    def _wgan_step(self, real, ctx):
        c = self.config
        return wgan_step(self.discriminator, real, lambda n: self.sample(n, real.device), ctx, "discriminator",
                         c.critic, c.gp_lambda, c.clip, c.n_critic)
