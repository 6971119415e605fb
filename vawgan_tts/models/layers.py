"""Builders shared by the models: the MLP of every frame model, the convolution stack of every critic over time."""

from __future__ import annotations

from typing import Sequence

from torch import nn


def mlp(sizes: Sequence[int], activation: type[nn.Module] = nn.ReLU, final: nn.Module | None = None) -> nn.Sequential:
    """Linear layers ``sizes[0] -> sizes[1] -> ... -> sizes[-1]`` with ``activation`` between them
    (none after the last layer unless ``final`` is given)."""
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(activation())
    if final is not None:
        layers.append(final)
    return nn.Sequential(*layers)


def critic_stack(dim: int, channels: Sequence[int], kernel: int, stride: int = 1) -> nn.Sequential:
    """1-D convolutions ``dim -> channels[0] -> ... -> 1`` with leaky ReLU (0.2) between them, each of
    ``kernel`` taps, zero-padded, strided by ``stride`` after the first, and a last one of 3 taps to one
    channel: a score per position. No normalization layers (WGAN-GP's penalty is per sample)."""
    layers: list[nn.Module] = []
    sizes = [dim, *channels]
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers += [nn.Conv1d(a, b, kernel, stride=1 if i == 0 else stride, padding=kernel // 2), nn.LeakyReLU(0.2)]
    layers.append(nn.Conv1d(sizes[-1], 1, 3, padding=1))
    return nn.Sequential(*layers)
