"""Image VAE: Bernoulli decoder, loss = BCE summed over pixels + KL (nats per image)."""

from __future__ import annotations

import dataclasses
import math

import torch
import torch.nn.functional as F

from ..choices import IMAGE_ARCHS
from ..config import check_choice, check_ranges
from ..models.gaussian import kl_to_standard_normal, reparameterize
from ..models.image import ConvVAE, MLPVAE
from .base import Stage, StepContext, TaskBase, adam

ARCHS = IMAGE_ARCHS


@dataclasses.dataclass(frozen=True)
class ImageVAEConfig:
    arch: str = "mlp"  # mlp: 784-400-latent; conv: two stride-2 convolutions each way
    latent: int = 20
    lr: float = 1e-3
    epochs: int = 10

    SECTION = "image_vae"

    def __post_init__(self):
        check_choice(self, "arch", ARCHS)
        check_ranges(self, latent=">= 1", lr="> 0", epochs=">= 0")


def to_unit(x: torch.Tensor) -> torch.Tensor:
    """uint8 pixels → [0, 1] floats (batches stay uint8 until they are on the device)."""
    return x.float() / 255.0


class ImageVAETask(TaskBase):
    name = "image_vae"
    metric_names = ("loss", "rec", "kl", "loss_per_pixel")

    def __init__(self, config: ImageVAEConfig, shape: tuple[int, int, int], extra: dict | None = None):
        self.config = config
        self.shape = tuple(shape)
        self.stages = (Stage("vae", config.epochs),)
        cls = ConvVAE if config.arch == "conv" else MLPVAE
        self.vae = cls(self.shape, config.latent)
        self.extra = {"shape": list(self.shape), **(extra or {})}

    def modules(self):
        return {"vae": self.vae}

    def make_optimizers(self):
        return {"vae": adam(self.vae.parameters(), self.config.lr)}

    def losses(self, x: torch.Tensor, sample: bool = True) -> dict[str, torch.Tensor]:
        """Per-image means over the batch: reconstruction −log p(x|z) (BCE summed over pixels),
        KL(q(z|x) ‖ N(0, I)), their sum (the negative ELBO) and that sum per pixel."""
        mu, logvar = self.vae.encode(x)
        z = reparameterize(mu, logvar) if sample else mu
        logits = self.vae.decode(z)
        rec = F.binary_cross_entropy_with_logits(logits, x, reduction="none").flatten(1).sum(1).mean()
        kl = kl_to_standard_normal(mu, logvar).sum(1).mean()
        loss = rec + kl
        return {"loss": loss, "rec": rec, "kl": kl, "loss_per_pixel": loss / math.prod(self.shape)}

    def train_step(self, x: torch.Tensor, stage: str, ctx: StepContext) -> dict[str, torch.Tensor]:
        out = self.losses(to_unit(x))
        ctx.step("vae", out["loss"])
        return {k: v.detach() for k, v in out.items()}
