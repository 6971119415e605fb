"""A Wasserstein critic over a segment's modulation spectra: how strongly each coefficient moves at each
modulation frequency, in decibels. It is the view the MS distance takes (:func:`..metrics.ms_distance`)
and the MS post-filter matches, handed to a critic to learn from.

Why another view (recipe README, "A spread the critic learns"): a critic that reads trajectories weighs
movement by its energy, and that energy lies below a few hertz. Above it, where a smoothed system has
lost most of its movement, such a critic's gradient is small, and a spread filter trained by it leaves
those bands under-amplified (MS distance 8-10 dB against the MS post-filter's 3). On a log power
spectrum a band 20 dB down weighs as much as the strongest one. The design is UnivNet's
multi-resolution spectrogram discriminator (Jang et al. 2021: critics over STFT magnitudes at several
resolutions), with a coefficient's trajectory in place of the waveform; the shape is taken, not code.

For each window length W of ``windows`` (frames):
  - the segment (B, T, D) is cut into frames of W with hop W/2;
  - each frame's mean is removed, so a constant offset (which no modulation spectrum sees) changes no
    score, and a Hann window is applied;
  - the periodogram |rfft|² at the W/2 modulation frequencies above 0 Hz is averaged over frames and
    taken to dB: 10·log10(P + ``EPS``), (B, D, W/2);
  - 1-D convolutions along modulation frequency, with the coefficients (and any condition channels)
    as channels and leaky ReLU, end in one channel, averaged: that window's score.
The segment's score is the sum over windows. A segment shorter than the longest window cannot be
scored; the config refuses a crop that short. No normalization layers, for WGAN-GP's per-sample penalty.
``cond_dim``: a condition sequence (B, T, C) whose mean over time is read beside each frequency bin
(a speaker embedding repeated along time is its own mean).
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from .layers import critic_stack

EPS = 1e-8  # power floor (−80 dB): the log stays finite on a still crop (padding repeats a frame)


def log_modulation_spectrum(x: torch.Tensor, window: torch.Tensor) -> torch.Tensor:
    """The mean log periodogram (dB) of each coefficient over frames of len(window), hop half of it,
    means removed, at the modulation frequencies above 0. (B, T, D), (W,) -> (B, D, W // 2)."""
    w = window.numel()
    frames = x.unfold(1, w, w // 2)  # (B, N, D, W)
    frames = (frames - frames.mean(dim=-1, keepdim=True)) * window
    spec = torch.fft.rfft(frames, dim=-1)[..., 1 : w // 2 + 1]
    power = (spec.real**2 + spec.imag**2).mean(dim=1)
    return 10.0 * torch.log10(power + EPS)


class ModulationCritic(nn.Module):
    def __init__(self, dim: int = 39, channels: Sequence[int] = (64, 128, 128), kernel: int = 5,
                 windows: Sequence[int] = (16, 32, 64), cond_dim: int = 0):
        super().__init__()
        if not windows or any(w < 4 or w % 2 for w in windows):
            raise ValueError(f"windows = {list(windows)}: even lengths of at least 4 frames")
        self.windows = tuple(windows)
        self.critics = nn.ModuleList(critic_stack(dim + cond_dim, channels, kernel) for _ in self.windows)
        for w in self.windows:
            self.register_buffer(f"hann{w}", torch.hann_window(w, periodic=False), persistent=False)

    @property
    def longest(self) -> int:
        """The fewest frames a segment must have to be scored."""
        return max(self.windows)

    def spectra(self, x: torch.Tensor) -> list[torch.Tensor]:
        """The log modulation spectrum at each window: [(B, D, W/2)]."""
        if x.shape[1] < self.longest:
            raise ValueError(f"a segment of {x.shape[1]} frames is shorter than the longest window ({self.longest})")
        return [log_modulation_spectrum(x, getattr(self, f"hann{w}")) for w in self.windows]

    def forward(self, x: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        score = x.new_zeros(x.shape[0])
        for critic, ms in zip(self.critics, self.spectra(x)):
            h = ms if cond is None else torch.cat([ms, cond.mean(dim=1)[..., None].expand(-1, -1, ms.shape[-1])], dim=1)
            score = score + critic(h).mean(dim=(1, 2))
        return score
