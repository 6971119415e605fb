"""A fully convolutional VAE over time: mel-cepstral trajectories in, a latent per frame, trajectories out.

Sequences are (B, T, D): frames along T, the 39 coefficients as channels (the modules transpose to
PyTorch's (B, C, T) inside). Every layer is a 1-D convolution of stride 1, so the model takes an
utterance of any length and gives one output frame per input frame.

**Padding convention: the edge frame repeats beyond the ends** (``padding_mode="replicate"`` in
every layer), the same rule as the Δ windows, MLPG and the frame models' context windows. So an
output frame depends only on the input frames within :attr:`ConvVAE.receptive_field` of it: a crop
of an utterance gives exactly the frames of the whole utterance's output that lie at least
``receptive_field // 2`` frames inside the crop (and at the utterance's own ends, the same frames
as the whole), which is what lets training use random crops and inference whole utterances.
``tests/test_conv_models.py`` checks it.

Encoder: conv stack (kernel k, dilations d_1…d_n, ReLU) -> per-frame (μ, log σ²) of a J-dim latent
(a 1×1 convolution). Decoder: the latent sequence and the condition sequence (a post-filter's: the
system's own trajectory) side by side as channels -> conv stack -> D channels.
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from .gaussian import reparameterize


def conv_stack(channels: Sequence[int], kernel: int, dilations: Sequence[int], final: bool = False) -> nn.Sequential:
    """1-D convolutions ``channels[0] -> … -> channels[-1]`` of stride 1, the i-th with dilation
    ``dilations[i]`` and replicate padding (length kept), ReLU between them (and after the last
    with ``final``)."""
    if len(dilations) != len(channels) - 1:
        raise ValueError(f"{len(channels) - 1} layers need {len(channels) - 1} dilations, not {len(dilations)}")
    if kernel % 2 == 0:
        raise ValueError(f"kernel {kernel}: an odd width keeps each output frame centred on its input frame")
    layers: list[nn.Module] = []
    for i, (a, b, d) in enumerate(zip(channels[:-1], channels[1:], dilations)):
        layers.append(nn.Conv1d(a, b, kernel, dilation=d, padding=d * (kernel // 2), padding_mode="replicate"))
        if i < len(channels) - 2 or final:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def receptive_field(kernel: int, dilations: Sequence[int]) -> int:
    """Input frames one output frame of a stride-1 stack depends on: 1 + (k − 1)·Σ dilations."""
    return 1 + (kernel - 1) * sum(dilations)


class ConvVAE(nn.Module):
    """Encoder (B, T, dim) -> (μ, log σ²) each (B, T, latent); decoder (B, T, latent) [+ condition
    (B, T, cond_dim)] -> (B, T, out_dim). ``channels``: the hidden width of each layer of both stacks."""

    def __init__(self, dim: int = 39, channels: Sequence[int] = (128, 128, 128), latent: int = 16,
                 kernel: int = 5, dilations: Sequence[int] = (1, 2, 4), out_dim: int | None = None, cond_dim: int = 0):
        super().__init__()
        out_dim = out_dim or dim
        if len(channels) != len(dilations):
            raise ValueError(f"{len(channels)} hidden layers need as many dilations, not {len(dilations)}")
        self.encoder = conv_stack([dim, *channels], kernel, dilations, final=True)
        self.to_mu = nn.Conv1d(channels[-1], latent, 1)
        self.to_logvar = nn.Conv1d(channels[-1], latent, 1)
        self.decoder = conv_stack([latent + cond_dim, *reversed(channels), out_dim], kernel, [*dilations, 1])
        self.obs_logvar = nn.Parameter(torch.zeros(out_dim), requires_grad=False)
        self.latent = latent
        # Encoder and decoder in series: what one output frame of reconstruct() can depend on.
        self.receptive_field = receptive_field(kernel, dilations) + receptive_field(kernel, [*dilations, 1]) - 1

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.encoder(x.transpose(1, 2))
        return self.to_mu(h).transpose(1, 2), self.to_logvar(h).transpose(1, 2)

    def decode(self, z: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        h = z if c is None else torch.cat([z, c], dim=-1)
        return self.decoder(h.transpose(1, 2)).transpose(1, 2)

    sample = staticmethod(reparameterize)

    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        """Deterministic reconstruction through z = μ."""
        return self.decode(self.encode(x)[0])
