"""A learned spread filter: one zero-phase FIR filter along time per coefficient, with positive gains
and unit gain at 0 Hz, applied to a trajectory (B, T, D) -> (B, T, D).

What it is for (docs/design.md, "What spread costs"): among post-filters whose output has a given
spread, the least squared error belongs to a deterministic scaling of the conditional mean, and noise
only adds error. The MS post-filter is such a map with a gain per modulation frequency; this is the
same family with the gains learned, by a critic, instead of measured. It can change how much each
coefficient moves at each modulation frequency and nothing else:

- **positive gains**: the free parameters are the log-gains at the K-point DFT grid, ω_j = 2πj/K for
  j = 0 … K//2, so no modulation frequency can have its sign flipped. An unconditional critic cannot
  tell a trajectory from its inverted 4–8 Hz band (both look like speech), and with free taps the
  critic taught exactly that (dev MCD 8.0 dB; recipe README);
- **zero phase**: the response is real and the taps symmetric, h[n] = h[−n]: the filter cannot shift
  a trajectory in time (which would cost accuracy and give the critic nothing);
- **unit DC gain**: the log-gain at 0 Hz is fixed at 0, so Σ h = 1: a constant trajectory, and an
  utterance's mean, pass unchanged;
- **identity at the start**: every log-gain 0, h = δ.

The taps are the inverse DFT of the gains G_j = exp(g_j): h[n] = (1/K)(1 + 2 Σ_{j≥1} G_j cos(2πjn/K)),
n = −K//2 … K//2, whose response at ω_j is G_j exactly (between the grid points, the DFT's
trigonometric interpolation of them). Padding repeats the edge frames, as in :mod:`.conv_vae`: an
output frame depends on the K input frames centred on it.
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
        self.log_gains = nn.Parameter(torch.zeros(dim, taps // 2))  # at ω_1 … ω_{K//2}; ω_0's is 0
        n = torch.arange(taps, dtype=torch.float64) - taps // 2
        j = torch.arange(1, taps // 2 + 1, dtype=torch.float64)
        self.register_buffer("cosines", torch.cos(2 * torch.pi * j[:, None] * n[None] / taps), persistent=False)

    def impulse_responses(self) -> torch.Tensor:
        """The taps (D, K): symmetric, summing to 1 per coefficient (summed in double precision, so
        that the identity's off-centre taps are 0 to within 1e-16)."""
        g = torch.exp(self.log_gains.double())
        return ((1.0 + 2.0 * g @ self.cosines) / self.taps).to(self.log_gains.dtype)

    def gains(self, n_fft: int = 256) -> torch.Tensor:
        """The (real) frequency response per coefficient at n_fft // 2 + 1 modulation frequencies
        from 0 to half the frame rate: (F, D)."""
        h = self.impulse_responses()
        k = torch.arange(self.taps, dtype=h.dtype, device=h.device) - self.taps // 2
        w = 2 * torch.pi * torch.arange(n_fft // 2 + 1, dtype=h.dtype, device=h.device) / n_fft
        return torch.cos(w[:, None] * k[None]) @ h.T

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.impulse_responses()
        pad = self.taps // 2
        y = F.pad(x.transpose(1, 2), (pad, pad), mode="replicate")
        return F.conv1d(y, h[:, None, :], groups=h.shape[0]).transpose(1, 2)
