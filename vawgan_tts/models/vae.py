"""Frame VAE over normalized mel-cepstral frames: encoder x -> (μ, log σ²), decoder z -> x̂."""

from __future__ import annotations

import torch
from torch import nn

from .gaussian import reparameterize
from .layers import mlp


class FrameVAE(nn.Module):
    """Encoder D -> hidden... -> (μ, log σ²) of a J-dim latent; decoder J -> reversed hidden -> D
    (or ``out_dim``: a post-filter reads frames with context and writes one frame). With ``cond_dim``
    the decoder also reads a condition c beside z (a conditional VAE: VAWGAN's decoder reads the
    speaker; a post-filter's, the system's frames).

    With ``learn_variance`` the decoder also holds a per-dimension observation log-variance (a
    calibrated decoder, Rybkin et al. 2021); otherwise the observation variance is fixed at 1.
    """

    def __init__(self, dim: int = 39, hidden: tuple[int, ...] = (256, 128), latent: int = 64, learn_variance: bool = True,
                 out_dim: int | None = None, cond_dim: int = 0):
        super().__init__()
        out_dim = out_dim or dim
        self.encoder = mlp([dim, *hidden], final=nn.ReLU())
        self.to_mu = nn.Linear(hidden[-1], latent)
        self.to_logvar = nn.Linear(hidden[-1], latent)
        self.decoder = mlp([latent + cond_dim, *reversed(hidden), out_dim])
        self.obs_logvar = nn.Parameter(torch.zeros(out_dim), requires_grad=learn_variance)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.encoder(x)
        return self.to_mu(h), self.to_logvar(h)

    def decode(self, z: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        return self.decoder(z if c is None else torch.cat([z, c], dim=-1))

    def decoder_parameters(self) -> list[nn.Parameter]:
        """The generator of VAWGAN: the decoder and its observation variance."""
        return [*self.decoder.parameters(), self.obs_logvar]

    def encoder_parameters(self) -> list[nn.Parameter]:
        return [*self.encoder.parameters(), *self.to_mu.parameters(), *self.to_logvar.parameters()]

    sample = staticmethod(reparameterize)

    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        """Deterministic reconstruction through z = μ (used for enhancement)."""
        return self.decode(self.encode(x)[0])
