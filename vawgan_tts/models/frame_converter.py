"""Frame-wise converter: a window of source frames in, one frame of target features out."""

from __future__ import annotations

import torch
from torch import nn


class FrameConverter(nn.Module):
    """(B, (2k+1)·D_in) stacked source frames t-k..t+k -> (B, D_out): an MLP of ``layers`` hidden
    layers of ``hidden`` units (ReLU, dropout after each), linear output (Saito et al.'s DNN
    baseline; gantts)."""

    def __init__(self, dim_in: int, dim_out: int, hidden: int = 512, layers: int = 3, dropout: float = 0.0):
        super().__init__()
        blocks: list[nn.Module] = []
        size = dim_in
        for _ in range(layers):
            blocks += [nn.Linear(size, hidden), nn.ReLU()] + ([nn.Dropout(dropout)] if dropout > 0 else [])
            size = hidden
        blocks.append(nn.Linear(size, dim_out))
        self.net = nn.Sequential(*blocks)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)
