"""Wasserstein critic over frames: an unbounded score, higher for natural-looking frames."""

from __future__ import annotations

from torch import nn

from .layers import mlp


class Critic(nn.Module):
    def __init__(self, dim: int = 39, hidden: tuple[int, ...] = (64, 32)):
        super().__init__()
        self.net = mlp([dim, *hidden, 1])

    def forward(self, x):
        return self.net(x).squeeze(-1)
