"""A VAWGAN post-filter learned from a system's own output: the encoder reads the system's frames
(frame t with ``context`` frames each side), the decoder writes the natural frame aligned with t,
and the adversarial stage trains the decoder against a Wasserstein critic on natural frames.

The three stages, their losses and the critic step are VAWGAN's (:mod:`.vawgan`); only what is
encoded and what is generated differ: a batch is a pair (system frames with context, natural frame),
all normalized with the natural frames' mean and standard deviation.

The decoder is conditional: it reads z and the system's frames, as VAWGAN's decoder reads the
speaker. A decoder that read z alone would have to carry the whole input through the latent, and
it does not: what natural speech has beyond the system's output is not predictable from that
output (the reason the system is over-smoothed), the KL term wins and the posterior collapses to
the prior (measured on flite → Allison: KL 1e-6 after two epochs), leaving a decoder whose output
does not depend on its input. Conditioned, the decoder keeps the input and the adversarial stage
can learn an input-dependent mapping whose output has natural spread; enhancement uses z = μ.

``residual`` (the default): the decoder writes a correction added to the system's own frame t,
ŷ = x_t + g(z, x), so training starts near the identity and the decoder learns only what the
system lost. Without it the decoder writes the frame itself.
"""

from __future__ import annotations

import dataclasses

import torch

from ..config import check_ranges
from ..features import MODEL_DIM
from ..models.critic import Critic
from ..models.vae import FrameVAE
from .vawgan import VAWGANConfig, VAWGANTask


@dataclasses.dataclass(frozen=True)
class VAWGANPostfilterConfig(VAWGANConfig):
    context: int = 2  # system frames each side the encoder reads: (2k+1) x 39 inputs
    residual: bool = True  # decoder output added to the system's frame t

    SECTION = "postfilter"

    def __post_init__(self):
        super().__post_init__()
        check_ranges(self, context=">= 0")


class VAWGANPostfilterTask(VAWGANTask):
    name = "vawgan_postfilter"

    def __init__(self, config: VAWGANPostfilterConfig = VAWGANPostfilterConfig(), extra: dict | None = None):
        super().__init__(config, extra)
        width = 2 * config.context + 1
        self.vae = FrameVAE(MODEL_DIM * width, config.hidden, config.latent, config.decoder_variance == "learned",
                            out_dim=MODEL_DIM, cond_dim=MODEL_DIM * width)
        self.critic = Critic(MODEL_DIM, config.critic_hidden)

    def pair(self, batch) -> tuple[torch.Tensor, torch.Tensor]:
        x, target = batch
        return x, target

    def centre(self, x: torch.Tensor) -> torch.Tensor:
        """The system's frame t out of its context window (B, (2k+1)·39) -> (B, 39)."""
        k = self.config.context
        return x[:, k * MODEL_DIM : (k + 1) * MODEL_DIM]

    def generate(self, z: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        y = self.vae.decode(z, x)
        return y + self.centre(x) if self.config.residual else y
