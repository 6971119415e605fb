"""Sequence converter: a source trajectory in, the target's statics + Δ + ΔΔ out, frame for frame.

A stack of 1-D convolutions over time (stride 1, dilated, the coefficients as channels), so it takes
an utterance of any length and gives one output frame per input frame, each from the
:attr:`ConvConverter.receptive_field` source frames around it (kernel 5, dilations 1, 2, 4, 8: 65
frames, 325 ms at 5 ms) where the frame converter reads 2k + 1 = 5. The padding convention is
:mod:`.conv_vae`'s: the edge frame repeats beyond the ends, as in the frame converter's context
windows and in MLPG, so whole utterances at conversion give the frames that crops give in training
away from the crops' edges.
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from .conv_vae import conv_stack, receptive_field


class ConvConverter(nn.Module):
    """(B, T, dim_in) -> (B, T, dim_out): ``len(channels)`` hidden convolutions (kernel ``kernel``,
    dilation ``dilations[i]``, ReLU, then dropout of ``dropout`` in training), then a linear one of
    the same kernel (dilation 1)."""

    def __init__(self, dim_in: int, dim_out: int, channels: Sequence[int] = (256, 256, 256, 256), kernel: int = 5,
                 dilations: Sequence[int] = (1, 2, 4, 8), dropout: float = 0.0):
        super().__init__()
        if len(channels) != len(dilations):
            raise ValueError(f"{len(channels)} hidden layers need as many dilations, not {len(dilations)}")
        layers = list(conv_stack([dim_in, *channels, dim_out], kernel, [*dilations, 1]))
        if dropout > 0:
            layers = [m for layer in layers for m in ([layer, nn.Dropout(dropout)] if isinstance(layer, nn.ReLU) else [layer])]
        self.net = nn.Sequential(*layers)
        self.receptive_field = receptive_field(kernel, [*dilations, 1])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x.transpose(1, 2)).transpose(1, 2)
