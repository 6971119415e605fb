"""A Wasserstein critic over segments of frames at several time scales: it judges how a trajectory
moves, not only where its frames lie.

A frame critic scores each frame on its own, so a generator can match the distribution of frames
while its trajectories stay smooth: the modulation spectrum above a few hertz is then left
over-smoothed (Saito et al. 2018 observe this; Kaneko et al. 2017 judge patches of the
mel-cepstrogram instead). Here, as MelGAN's and HiFi-GAN's multi-scale discriminators do for audio
(the shape is taken, not the code, and sized for mel-cepstra at 200 frames/s), one convolutional
critic per scale reads the segment at full rate, and averaged over 2 and 4 frames (the scales'
inputs come from ``AvgPool1d``, so coarser critics see the slow movement, the finest one the fast
detail). Each critic is a stack of 1-D convolutions with leaky ReLU (strided after the first, so
its receptive field at full rate spans 10–20 frames and more at coarser scales), ending in one
channel: a score per position. A segment's score is the sum over scales of the mean over positions.

No normalization layers: the gradient penalty of WGAN-GP is per sample, and batch normalization
would make one sample's score depend on the others'. Zero padding: any segment of at least a few
frames can be scored. Input (B, T, D) -> (B,). ``cond_dim``: a condition sequence (B, T, C) read
beside the frames (a speaker-conditional critic gets a speaker embedding repeated along time).

``modulation``: window lengths of one more view, :class:`.modulation_critic.ModulationCritic` (the
segment's log modulation spectra, pooled into ``bands_per_octave`` bands per octave where > 0), its
score added to the others'. ``scales`` may then be empty, leaving the modulation view alone; a critic
with no view at all is refused.

``speech_gated``: a segment comes with one more channel after its D coefficients, (B, T, D + 1): a
weight per frame in [0, 1], 1 on speech. The modulation view then takes its spectra over the
weighted frames only (a gapped periodogram), so movement in pauses is neither asked for nor rewarded;
the trajectory views read the coefficients, every frame. The weight is read, never differentiated
(no gradient reaches it, none enters the gradient penalty's norm).
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from .layers import critic_stack
from .modulation_critic import ModulationCritic


class SegmentCritic(nn.Module):
    def __init__(self, dim: int = 39, channels: Sequence[int] = (64, 128, 128), kernel: int = 5,
                 scales: Sequence[int] = (1, 2, 4), cond_dim: int = 0, difference: bool = False,
                 modulation: Sequence[int] = (), bands_per_octave: int = 0, speech_gated: bool = False):
        super().__init__()
        if not scales and not difference and not modulation:
            raise ValueError("a segment critic needs a view: scales, the difference view or modulation windows")
        if speech_gated and not modulation:
            raise ValueError("speech gating acts on the modulation view, and there are no modulation windows")
        self.speech_gated = speech_gated
        self.scales = tuple(scales)
        self.critics = nn.ModuleList(critic_stack(dim + cond_dim, channels, kernel, stride=2) for _ in self.scales)
        self.pools = nn.ModuleList(nn.Identity() if s == 1 else nn.AvgPool1d(s, s) for s in self.scales)
        # The high-pass view beside the pools' low-pass ones: one more critic over x_t − x_{t−1}.
        self.difference = critic_stack(dim + cond_dim, channels, kernel, stride=2) if difference else None
        self.modulation = (ModulationCritic(dim, channels, kernel, modulation, cond_dim, bands_per_octave)
                           if modulation else None)

    def forward(self, x: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        weight = None
        if self.speech_gated:
            x, weight = x[..., :-1], x[..., -1].detach()
        h = x if cond is None else torch.cat([x, cond], dim=-1)
        h = h.transpose(1, 2)
        score = x.new_zeros(x.shape[0])
        for critic, pool in zip(self.critics, self.pools):
            score = score + critic(pool(h)).mean(dim=(1, 2))
        if self.difference is not None:
            d = torch.diff(x, dim=1)
            d = d if cond is None else torch.cat([d, cond[:, 1:]], dim=-1)
            score = score + self.difference(d.transpose(1, 2)).mean(dim=(1, 2))
        if self.modulation is not None:
            score = score + self.modulation(x, cond, weight)
        return score
