"""A learned spread filter: one zero-phase FIR filter along time per coefficient, with unit gain at
0 Hz, applied to a trajectory (B, T, D) -> (B, T, D).

What it is for (docs/design.md, "What spread costs"): among post-filters whose output has a given
spread, the least squared error belongs to a deterministic scaling of the conditional mean, and noise
only adds error. The MS post-filter is such a map with a gain per modulation frequency; this is the
same family with the gains learned, by a critic, instead of measured. It can change how much each
coefficient moves at each modulation frequency and nothing else:

- **zero phase**: the taps are symmetric, h[k] = h[−k], so the frequency response is real: the
  filter cannot shift a trajectory in time (which would cost accuracy and give the critic nothing);
- **unit DC gain**: Σ_k h[k] = 1, so a constant trajectory, and an utterance's mean, pass unchanged;
- **identity at the start**: h = δ, so training starts from the decoder's own output.

The taps are h = δ + s − mean(s) with s = (v + flip(v)) / 2 and v (D, K) the free parameters (zero
at the start). Padding repeats the edge frames, as in :mod:`.conv_vae`: an output frame depends on
the K input frames centred on it.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class SpreadFilter(nn.Module):
    def __init__(self, dim: int = 39, taps: int = 33):
        super().__init__()
        if taps < 1 or taps % 2 == 0:
            raise ValueError(f"taps = {taps}: an odd count centres the filter on its frame")
        self.taps = taps
        self.free = nn.Parameter(torch.zeros(dim, taps))

    def impulse_responses(self) -> torch.Tensor:
        """The taps (D, K): symmetric, summing to 1 per coefficient."""
        s = 0.5 * (self.free + self.free.flip(-1))
        h = s - s.mean(-1, keepdim=True)
        return h.index_add(1, torch.tensor([self.taps // 2], device=h.device), torch.ones_like(h[:, :1]))

    def gains(self, n_fft: int = 256) -> torch.Tensor:
        """The (real) frequency response per coefficient at n_fft // 2 + 1 modulation frequencies
        from 0 to half the frame rate: (F, D)."""
        h = self.impulse_responses()
        k = torch.arange(self.taps, dtype=h.dtype, device=h.device) - self.taps // 2
        w = 2 * torch.pi * torch.arange(n_fft // 2 + 1, dtype=h.dtype, device=h.device) / n_fft
        return (torch.cos(w[:, None] * k[None]) @ h.T)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.impulse_responses()
        pad = self.taps // 2
        y = F.pad(x.transpose(1, 2), (pad, pad), mode="replicate")
        return F.conv1d(y, h[:, None, :], groups=h.shape[0]).transpose(1, 2)
