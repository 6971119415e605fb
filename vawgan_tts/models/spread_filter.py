"""Learned spread filters: a zero-phase gain per modulation frequency and coefficient, positive, applied
to a trajectory (B, T, D) -> (B, T, D). Two forms: :class:`SpreadFilter`, an FIR filter of K taps (its
gains on a K-point grid; a crop gives the whole utterance's frames away from its edges), and
:class:`KnotSpreadFilter`, gains at fixed modulation frequencies in hertz applied on the utterance's own
DFT grid (the MS post-filter's operation, so it reaches the slow band a short filter cannot).

What it is for (docs/design.md, "What spread costs"): among post-filters whose output has a given
spread, the least squared error belongs to a deterministic scaling of the conditional mean, and noise
only adds error. The MS post-filter is such a map with a gain per modulation frequency; this is the
same family with the gains learned, by a critic, instead of measured. It can change how much each
coefficient moves at each modulation frequency and nothing else (in the FIR form's terms; the knot
form keeps each property in its own way, :class:`KnotSpreadFilter`):

- **positive gains**: the free parameters are the log-gains at the K-point DFT grid, ω_j = 2πj/K for
  j = 0 … K//2, so no modulation frequency can have its sign flipped. An unconditional critic cannot
  tell a trajectory from its inverted 4–8 Hz band (both look like speech), and with free taps the
  critic taught exactly that (dev MCD 8.0 dB; recipe README);
- **zero phase**: the response is real and the taps symmetric, h[n] = h[−n]: the filter cannot shift
  a trajectory in time (which would cost accuracy and give the critic nothing);
- **unit DC gain**: the log-gain at 0 Hz is fixed at 0, so Σ h = 1: a constant trajectory, and an
  utterance's mean, pass unchanged;
- **identity at the start**: every log-gain 0, h = δ.

**The FIR form.** The taps are the inverse DFT of the gains G_j = exp(g_j):
h[n] = (1/K)(1 + 2 Σ_{j≥1} G_j cos(2πjn/K)), n = −K//2 … K//2, whose response at ω_j is G_j exactly
(between the grid points, the DFT's trigonometric interpolation of them). Padding repeats the edge
frames, as in :mod:`.conv_vae`: an output frame depends on the K input frames centred on it.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..choices import SPREAD_EDGES


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


class KnotSpreadFilter(nn.Module):
    """Gains at ``knots`` (Hz, increasing, below half the frame rate), learned per coefficient, applied
    to the whole trajectory it is given as the MS post-filter applies its gains
    (:func:`..postfilters.ms_postfilter`): the trajectory's mean over time is removed, the rest
    zero-padded to N (the power of two at least 2T, so the filter's response does not wrap around onto
    the utterance), multiplied by the real gain G(f) at each of its N // 2 + 1 DFT frequencies, and
    transformed back; the mean is restored. Padding (``edges = "zero"``): outside the trajectory it sits
    at its mean.

    ``edges = "mirror"``: the mean-removed trajectory is extended by its own reversal, x[0 … T−1],
    x[T−1 … 0], and those 2T frames are transformed whole (N = 2T: the DCT-II's even extension, so the
    result is the trajectory's DCT coefficients scaled, coefficient k by G(k·rate / 2T); tested against
    scipy's DCT). Why: zero padding puts a step at each end wherever the first or last frame is away
    from the mean, and gains above 1 at fast modulation frequencies make that step ring into the frames
    near the ends. A short trajectory is mostly such frames: on rms's dev prompts the span filter
    trained with zero padding gave GV 1.46× natural on the prompts under 256 frames and 0.79× from 512;
    its weights applied with mirrored ends, 0.64× and 0.71×; trained with them, 0.86× and 0.93× (recipe
    rules/postfilter_mean.md, addendum 29). The extension is continuous at both ends, so the gains act on
    the trajectory's own movement only.

    Why a second form (recipe README, "What the goal asks of the mean"): the MS post-filter's gains
    on PM's output reach GV ratio 0.98 on dev; the same gains kept at 1 below 3.1 Hz reach 0.74 and
    below 1.56 Hz 0.87. A 33-tap filter's first free gain sits at 6 Hz and a 129-tap one's at
    1.55 Hz; this form's lowest knot may sit at a fraction of a hertz, whatever the utterance's length.

    G(f) = exp(g(f)) with g interpolated linearly in log-frequency between the knots' log-gains, held
    at the first knot's below it and at the last's above it. A first knot at 0 Hz is not a parameter
    but a pin: g(0) = 0, and g runs linearly in frequency from 0 to the next knot's log-gain, so bands
    slower than the training crops can show (which a critic cannot judge) are left nearly as they are,
    where holding would scale them by a gain no crop ever tested. Either way G(f) is positive (no
    band's sign can flip), real (zero phase: no shift in time), 0 Hz untouched (the mean is restored),
    the identity at the start (every log-gain 0). Unlike the FIR form, an output frame depends on the whole trajectory: a crop
    is filtered as an utterance of its own (its mean, its grid), as the MS post-filter would filter it.

    ``rank`` r > 0: the (D, K) log-gains are a product U·Vᵀ of per-coefficient factors U (D, r) and
    per-knot factors V (K, r), not D·K free numbers. Why (recipe rules/postfilter_mean.md, addendum
    11): the MS post-filter's log-gains on PM's output at these knots are nearly of rank 1 (its first
    singular value holds 98.9 % of their energy, two 99.8 %), while free log-gains trained by a critic
    zig-zag from knot to knot, and at a given GV a gain that varies across frequency costs more squared
    error than a flat one. A factor is shared by 39 coefficients (or by K knots), so the critic's noise
    on it averages out. U starts at 0 (the identity) and V at the first r cosines over the knots
    (V_kj = cos(π·j·(k + ½)/K), a flat column first), so every factor has a gradient from the start.

    ``adaptive``: each knot's log-gain also moves with the input's own log power at that knot,
    g_k(x) = g_k + s_k·(ℓ_k(x) − ℓ̄_k), per coefficient, the slopes s learned (0 at the start) and ℓ̄ the
    first batch's mean (fixed from then on, kept with the weights). Why it was tried: a fixed gain
    gives every utterance the corpus's mean need, and the prompts short of GV under one are the short
    ones. The MS post-filter is the case s = −½ (a gain that takes every utterance to one target
    spectrum); here the critic sets how far to go. Measured (recipe rules/postfilter_mean.md, addendum
    25): the critic learns slopes of −0.1 to −0.6, and the output is worse on every figure on three
    voices' dev prompts (0.4 dB more MCD, no more GV): free of the noise it shares with the level, the
    need follows the level only weakly below 10 Hz (`local/needed_gain.py`), so the gain mostly passes
    the measurement's noise on. Off by default. ℓ_k(x) is measured, not differentiated through: the
    log of the input's periodogram (mean removed, over the ``frames`` it is given, as a weight (B, T);
    all of them by default) averaged over the DFT frequencies with knot k's interpolation weights.
    """

    def __init__(self, dim: int = 39, knots: Sequence[float] = (0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0),
                 frame_rate: float = 200.0, rank: int = 0, adaptive: bool = False, edges: str = "zero"):
        super().__init__()
        if edges not in SPREAD_EDGES:
            raise ValueError(f"edges = {edges!r}: one of {', '.join(SPREAD_EDGES)}")
        self.edges = edges
        knots = np.asarray(knots, np.float64)
        self.pinned = bool(knots.size and knots[0] == 0)  # a knot at 0 Hz: g(0) = 0, not learned
        free = knots[1:] if self.pinned else knots
        if free.size < 1 or (free <= 0).any() or (np.diff(free) <= 0).any() or free[-1] >= frame_rate / 2:
            raise ValueError(f"knots = {knots.tolist()}: increasing frequencies above 0 (a first one may be 0) "
                             f"and below {frame_rate / 2} Hz")
        if not 0 <= rank <= min(dim, free.size):
            raise ValueError(f"rank = {rank}: 0 (free log-gains) or at most min(coefficients, knots) = {min(dim, free.size)}")
        self.knots, self.frame_rate, self.rank = free, float(frame_rate), int(rank)
        if rank:
            self.coefficient_factors = nn.Parameter(torch.zeros(dim, rank))  # U
            k, j = np.meshgrid(np.arange(free.size), np.arange(rank), indexing="ij")
            self.knot_factors = nn.Parameter(torch.from_numpy(np.cos(np.pi * j * (k + 0.5) / free.size)).float())  # V
        else:
            self.knot_log_gains = nn.Parameter(torch.zeros(dim, free.size))  # g at each knot above 0 Hz, per coefficient
        self._weights: dict[int, torch.Tensor] = {}
        self.adaptive = bool(adaptive)
        if adaptive:
            self.slopes = nn.Parameter(torch.zeros(dim, free.size))  # s: d g_k / d ℓ_k, per coefficient
            self.register_buffer("reference", torch.zeros(dim, free.size))  # ℓ̄, set by the first batch
            self.register_buffer("referenced", torch.tensor(False))

    def log_gains(self) -> torch.Tensor:
        """g at each knot above 0 Hz, per coefficient: (D, K)."""
        return self.coefficient_factors @ self.knot_factors.T if self.rank else self.knot_log_gains

    def interpolation(self, n_fft: int) -> torch.Tensor:
        """(F, K) weights: g at the n_fft // 2 + 1 DFT frequencies is this times the knots' log-gains."""
        if n_fft not in self._weights:
            f = np.fft.rfftfreq(n_fft, 1.0 / self.frame_rate)
            logf, logk = np.log(np.maximum(f, 1e-12)), np.log(self.knots)
            eye = np.eye(self.knots.size)
            w = np.stack([np.interp(logf, logk, eye[j]) for j in range(self.knots.size)], axis=1)
            if self.pinned:  # from g(0) = 0 to the first free knot's, linearly in frequency
                w[:, 0] *= np.minimum(f / self.knots[0], 1.0)
            if len(self._weights) >= 64:  # mirrored edges use a grid per trajectory length: keep the cache small
                self._weights.clear()
            self._weights[n_fft] = torch.from_numpy(w)
        return self._weights[n_fft]

    def gains(self, n_fft: int = 256) -> torch.Tensor:
        """The gain at the n_fft // 2 + 1 DFT frequencies from 0 to half the frame rate: (F, D). At
        0 Hz it is the first knot's (1 if pinned), but the mean never meets it."""
        g = self.log_gains()
        return torch.exp(self.interpolation(n_fft).to(g.device) @ g.double().T).to(g.dtype)

    @staticmethod
    def fft_size(frames: int) -> int:
        return max(8, 1 << (2 * frames - 1).bit_length())

    def band_log_power(self, x: torch.Tensor, frames: torch.Tensor | None = None) -> torch.Tensor:
        """ℓ (B, D, K): the log of each trajectory's periodogram at each knot above 0 Hz, averaged over
        the DFT frequencies with that knot's interpolation weights; over the frames of weight
        ``frames`` (B, T) only (default: all), their weighted mean removed, the rest set to 0."""
        w = torch.ones(x.shape[:2], dtype=x.dtype, device=x.device) if frames is None else frames.to(x.dtype)
        count = w.sum(1).clamp(min=1.0)[:, None, None]
        mu = (x * w[..., None]).sum(1, keepdim=True) / count
        n = self.fft_size(x.shape[1])
        power = torch.fft.rfft((x - mu) * w[..., None], n=n, dim=1).abs() ** 2 / count  # (B, F, D)
        band = self.interpolation(n).abs().to(x.dtype).to(x.device)  # (F, K)
        band = band / band.sum(0).clamp(min=1e-12)
        return torch.log(torch.einsum("bfd,fk->bdk", power, band) + 1e-8)

    def forward(self, x: torch.Tensor, frames: torch.Tensor | None = None) -> torch.Tensor:
        """(B, T, D) -> (B, T, D); ``frames`` (B, T): the frames the adaptive form measures the input's
        power over (ignored without it)."""
        g = self.log_gains()
        if self.adaptive:
            with torch.no_grad():
                level = self.band_log_power(x, frames)
                if not bool(self.referenced):
                    self.reference.copy_(level.mean(0))
                    self.referenced.fill_(True)
            g = g + self.slopes * (level - self.reference)  # (B, D, K)
        t = x.shape[1]
        mu = x.mean(dim=1, keepdim=True)
        x = x - mu
        if self.edges == "mirror":  # the even extension, read circularly: continuous at both ends
            x, n = torch.cat([x, torch.flip(x, [1])], dim=1), 2 * t
        else:
            n = self.fft_size(t)
        gains = torch.exp(torch.einsum("fk,...dk->...fd", self.interpolation(n).to(g.device), g.double())).to(x.dtype)
        spec = torch.fft.rfft(x, n=n, dim=1) * gains
        return torch.fft.irfft(spec, n=n, dim=1)[:, :t] + mu
