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
  - with ``bands_per_octave`` n > 0, the bins are pooled first (mean power, then dB) into bands of
    1/n octave: bin i (at i/W of the frame rate) joins band ⌊n·log2 i⌋, empty bands dropped
    (:func:`octave_bands`), so each band is one position of the critic's input;
  - 1-D convolutions along modulation frequency, with the coefficients (and any condition channels)
    as channels and leaky ReLU, end in one channel, averaged: that window's score.
The segment's score is the sum over windows. A segment shorter than the longest window cannot be
scored; the config refuses a crop that short. No normalization layers, for WGAN-GP's per-sample penalty.
``cond_dim``: a condition sequence (B, T, C) whose mean over time is read beside each frequency bin
(a speaker embedding repeated along time is its own mean). ``weight`` (B, T): the spectra over the
weighted frames only (a gapped periodogram, :func:`modulation_power`), e.g. a segment's speech frames.

Why the bands (recipe rules/postfilter_mean.md, addendum 9): on linear bins a window's score is a mean
over its W/2 bins, and the slow band a GV deficit lies in is one or two of them (below 2.3 Hz: 2 of
128 bins at W = 256, 1 of 64 at W = 128, none at shorter windows). A critic so built asks little of a
filter's gain there, while the likelihood beside it costs most there. Bands of equal width in
log-frequency weigh each octave alike, as the spread filter's knots are spaced.

Why the weight (rules/postfilter_mean.md, addendum 15): averaged over a whole crop, the view cannot
tell where the movement is, and a spread filter trained by it puts the movement the crop lacks where
it is cheapest, in the pauses, while the GV figure counts speech frames only. With each side's speech
frames as the weight, the pauses add nothing to either side's spectrum.
"""

from __future__ import annotations

import math
from typing import Sequence

import torch
from torch import nn

from .layers import critic_stack

EPS = 1e-8  # power floor (−80 dB): the log stays finite on a still crop (padding repeats a frame)


def modulation_power(x: torch.Tensor, window: torch.Tensor, weight: torch.Tensor | None = None) -> torch.Tensor:
    """The mean periodogram of each coefficient over frames of len(window), hop half of it, means
    removed, at the modulation frequencies above 0. (B, T, D), (W,) -> (B, D, W // 2).

    ``weight`` (B, T) in [0, 1] (e.g. 1 on speech frames, 0 in pauses): a gapped periodogram. Each
    frame's mean is the weighted mean, the taper is the window times the weights, and the power is
    summed over frames and divided by the taper energy they hold, Σ_f Σ_t (w_ft·h_t)², times the
    window's own Σ_t h_t²: frames of pauses add nothing, a frame half speech counts half, and
    weights of 1 everywhere give the plain mean periodogram. A segment without weight anywhere
    has power 0."""
    w = window.numel()
    frames = x.unfold(1, w, w // 2)  # (B, N, D, W)
    if weight is None:
        frames = (frames - frames.mean(dim=-1, keepdim=True)) * window
        spec = torch.fft.rfft(frames, dim=-1)[..., 1 : w // 2 + 1]
        return (spec.real**2 + spec.imag**2).mean(dim=1)
    g = weight.unfold(1, w, w // 2)[:, :, None, :]  # (B, N, 1, W)
    mean = (frames * g).sum(dim=-1, keepdim=True) / g.sum(dim=-1, keepdim=True).clamp_min(EPS)
    taper = g * window
    spec = torch.fft.rfft((frames - mean) * taper, dim=-1)[..., 1 : w // 2 + 1]
    energy = (taper**2).sum(dim=(1, 3))[..., None]  # (B, 1, 1)
    return (spec.real**2 + spec.imag**2).sum(dim=1) * (window**2).sum() / energy.clamp_min(EPS)


def log_modulation_spectrum(x: torch.Tensor, window: torch.Tensor) -> torch.Tensor:
    """:func:`modulation_power` in dB. (B, T, D), (W,) -> (B, D, W // 2)."""
    return 10.0 * torch.log10(modulation_power(x, window) + EPS)


def octave_bands(n_bins: int, per_octave: int) -> list[range]:
    """Bins 1..n_bins (bin i at i/W of the frame rate) grouped into bands of 1/per_octave octave:
    bin i joins band ⌊per_octave·log2 i⌋; empty bands are dropped. Each band as the range of its bins'
    indices into the spectrum of bins 1..n_bins (index i − 1), lowest band first."""
    bands: dict[int, list[int]] = {}
    for i in range(1, n_bins + 1):
        bands.setdefault(math.floor(per_octave * math.log2(i) + 1e-9), []).append(i - 1)
    return [range(b[0], b[-1] + 1) for _, b in sorted(bands.items())]


def band_pooling(n_bins: int, per_octave: int) -> torch.Tensor:
    """The (n_bands, n_bins) matrix that averages a spectrum's bins over each of :func:`octave_bands`."""
    bands = octave_bands(n_bins, per_octave)
    pool = torch.zeros(len(bands), n_bins)
    for k, band in enumerate(bands):
        pool[k, band.start : band.stop] = 1.0 / len(band)
    return pool


class ModulationCritic(nn.Module):
    def __init__(self, dim: int = 39, channels: Sequence[int] = (64, 128, 128), kernel: int = 5,
                 windows: Sequence[int] = (16, 32, 64), cond_dim: int = 0, bands_per_octave: int = 0):
        super().__init__()
        if not windows or any(w < 4 or w % 2 for w in windows):
            raise ValueError(f"windows = {list(windows)}: even lengths of at least 4 frames")
        if bands_per_octave < 0:
            raise ValueError(f"bands_per_octave = {bands_per_octave}: 0 (every bin) or more bands per octave")
        self.windows = tuple(windows)
        self.bands_per_octave = bands_per_octave
        self.critics = nn.ModuleList(critic_stack(dim + cond_dim, channels, kernel) for _ in self.windows)
        for w in self.windows:  # not in the state dict: rebuilt from the settings, old checkpoints load
            self.register_buffer(f"hann{w}", torch.hann_window(w, periodic=False), persistent=False)
            if bands_per_octave:
                self.register_buffer(f"pool{w}", band_pooling(w // 2, bands_per_octave), persistent=False)

    @property
    def longest(self) -> int:
        """The fewest frames a segment must have to be scored."""
        return max(self.windows)

    def spectra(self, x: torch.Tensor, weight: torch.Tensor | None = None) -> list[torch.Tensor]:
        """The log modulation spectrum at each window: [(B, D, W/2)], or [(B, D, bands)] pooled;
        with ``weight`` (B, T), over the weighted frames only (:func:`modulation_power`)."""
        if x.shape[1] < self.longest:
            raise ValueError(f"a segment of {x.shape[1]} frames is shorter than the longest window ({self.longest})")
        out = []
        for w in self.windows:
            power = modulation_power(x, getattr(self, f"hann{w}"), weight)
            if self.bands_per_octave:
                power = power @ getattr(self, f"pool{w}").T
            out.append(10.0 * torch.log10(power + EPS))
        return out

    def forward(self, x: torch.Tensor, cond: torch.Tensor | None = None, weight: torch.Tensor | None = None
                ) -> torch.Tensor:
        score = x.new_zeros(x.shape[0])
        for critic, ms in zip(self.critics, self.spectra(x, weight)):
            h = ms if cond is None else torch.cat([ms, cond.mean(dim=1)[..., None].expand(-1, -1, ms.shape[-1])], dim=1)
            score = score + critic(h).mean(dim=(1, 2))
        return score
