"""A VAWGAN post-filter learned from a system's own output: the encoder reads the system's frames
(frame t with ``context`` frames each side), the decoder writes the natural frame aligned with t,
and the adversarial stage trains the decoder against a Wasserstein critic on natural frames.

The three stages, their losses and the critic step are VAWGAN's (:mod:`.vawgan`); only what is
encoded and what is generated differ: a batch is a pair (system frames with context, natural frame),
all normalized with the natural frames' mean and standard deviation.

The decoder is conditional: it reads z and the system's frames, as VAWGAN's decoder reads the
speaker. A decoder that read z alone would have to carry the whole input through the latent, and
it does not: what natural speech has beyond the system's output is not predictable from that
output (the reason the system is over-smoothed), the KL term wins and the posterior collapses to
the prior (measured on flite → Allison: KL 1e-6 after two epochs), leaving a decoder whose output
does not depend on its input. Conditioned, the decoder keeps the input and the adversarial stage
can learn an input-dependent mapping whose output has natural spread; enhancement uses z = μ.

``residual`` (the default): the decoder writes a correction added to the system's own frame t,
ŷ = x_t + g(z, x), so training starts near the identity and the decoder learns only what the
system lost. Without it the decoder writes the frame itself.

``arch``: ``frame`` (:class:`VAWGANPostfilterTask`: MLPs over frame t and its context, a frame
critic) or ``conv`` (:class:`ConvPostfilterTask`: a fully convolutional VAE over the system's
trajectory with a latent per frame, and a critic over segments at three time scales). The conv
task trains on random crops (:class:`..batching.SegmentBatches`): per crop the system's frames,
the natural trajectory on their time axis, a mask of the frames DTW paired (the only frames the
likelihood counts), and — for the critic — a crop of a natural recording as it was spoken, never
time-warped: DTW's repeated and skipped frames would teach the critic a movement natural speech
does not have (``critic_real = "recordings"``; ``"aligned"`` gives it the DTW-warped natural trajectory
instead, which has the system's timing, so the critic cannot tell the two apart by rhythm, a
difference no post-filter can undo). ``inference_z`` is what the decoder gets when the post-filter is applied: ``mean``
(z = μ), ``prior`` (z ~ N(0, I) per frame) or ``posterior`` (z ~ q(z | x)); the last two draw from
a seeded generator, so enhancement with a seed is reproducible. ``adv_z = "prior"`` gives the critic
(and the generator's adversarial term) outputs decoded from noise z ~ N(0, I) instead of from
q(z | x): the decoder then learns to turn noise into the detail the critic asks for, which is what
``inference_z = "prior"`` applies; the likelihood still decodes z ~ q(z | x). ``spread_taps > 0`` puts a
:class:`..models.spread_filter.SpreadFilter` after the conv decoder (``spread_knots``: a
:class:`..models.spread_filter.KnotSpreadFilter`, gains at those modulation frequencies, instead):
what the critic judges and what enhancement writes go through it, the decoder's likelihood does
not; the critic's score (and, at weight ``spread_likelihood``, the filtered output's NLL) trains it
with an optimizer of its own (``spread_lr``), so the spread comes from a deterministic map of the
decoder's output
(docs/design.md, "A spread the critic learns"). ``spread_adaptive`` lets each knot's gain follow the
input's own level, measured over the system's speech span (docs/design.md, "A gain that follows the
utterance"); ``spread_speech_only`` filters that span alone and leaves the frames before and after it
as the decoder wrote them (docs/design.md, "The spread filter over speech"); ``spread_edges = "mirror"``
extends what the knot filter filters by its reversal instead of zeros (docs/design.md, "The spread filter's
edges").
"""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

import torch

from ..choices import CRITIC_REAL, INFERENCE_Z, SPREAD_EDGES
from ..config import check_choice, check_ranges
from ..errors import VawganError
from ..features import FRAME_PERIOD_MS, MODEL_DIM
from ..models.conv_vae import ConvVAE
from ..models.critic import Critic
from ..models.gaussian import reparameterize
from ..models.spread_filter import KnotSpreadFilter, SpreadFilter
from ..models.vae import FrameVAE
from .base import adam
from .vawgan import VAWGANConfig, VAWGANTask, check_conv_likelihood, masked_nll, segment_critic
from .wgan import frozen


@dataclasses.dataclass(frozen=True)
class VAWGANPostfilterConfig(VAWGANConfig):
    context: int = 2  # frame arch: system frames each side the encoder reads: (2k+1) x 39 inputs
    residual: bool = True  # decoder output added to the system's frame t
    inference_z: str = "mean"  # conv arch: what z the decoder gets when applied: mean | prior | posterior
    critic_real: str = "recordings"  # conv arch: the critic's natural crops: recordings (as spoken) | aligned
    adv_z: str = "posterior"  # conv arch: the latent of what the critic judges: posterior (z ~ q(z|x)) | prior (noise)
    spread_taps: int = 0  # conv arch: > 0 (odd): a spread filter of this many taps after the decoder, learned from the critic
    spread_lr: float = 1e-3  # conv arch: the spread filter's Adam rate (the critic's betas)
    spread_likelihood: float = 0.0  # conv arch: weight of the filtered output's NLL beside the critic's score in the filter's loss
    spread_knots: tuple[float, ...] = ()  # conv arch: instead of taps, a spread filter with gains at these modulation
    #                                       frequencies (Hz), applied on the utterance's DFT grid (models/spread_filter.py)
    spread_rank: int = 0  # conv arch, with spread_knots: > 0: the knots' log-gains a product of rank this (0: free)
    spread_adaptive: bool = False  # conv arch, with spread_knots: each knot's log-gain also moves with the input's
    #                                own log power there, by a learned slope per coefficient (the MS post-filter's
    #                                normalization, learned)
    spread_speech_only: bool = False  # conv arch, with a spread filter: applied to each trajectory's speech span only
    #                                   (first to last speech frame); the frames before and after keep the decoder's
    #                                   output (docs/design.md, "The spread filter over speech")
    spread_crop: int = 0  # conv arch, with a spread filter: > 0: a trajectory (or span) longer than this many frames
    #                       is filtered in crops of it, hop half of it, cross-faded: as training's crops were
    #                       filtered (docs/design.md, "The spread filter in crops"); 0: whole
    spread_edges: str = "zero"  # conv arch, with spread_knots: how the knot filter extends what it filters past its
    #                             ends: zero (at its mean, the MS post-filter's padding) | mirror (reversed: no step
    #                             at the ends for its gains to ring on; models/spread_filter.py)
    critic_speech_only: bool = False  # conv arch, with critic_modulation: the modulation view over speech frames only
    #                                   (each side's: the recording's by its c0, the system's as DTW paired them)

    SECTION = "postfilter"
    FRAME_ONLY = (*VAWGANConfig.FRAME_ONLY, "context")
    CONV_ONLY = (*VAWGANConfig.CONV_ONLY, "inference_z", "critic_real", "adv_z", "spread_taps", "spread_lr",
                 "spread_likelihood", "spread_knots", "spread_rank", "spread_adaptive",
                 "spread_speech_only", "spread_crop", "spread_edges", "critic_speech_only")

    def __post_init__(self):
        super().__post_init__()
        check_choice(self, "inference_z", INFERENCE_Z)
        check_choice(self, "critic_real", CRITIC_REAL)
        check_choice(self, "adv_z", ("posterior", "prior"))
        check_choice(self, "spread_edges", SPREAD_EDGES)
        check_ranges(self, context=">= 0", spread_taps=">= 0", spread_lr="> 0", spread_likelihood=">= 0",
                     spread_rank=">= 0", spread_crop=">= 0")
        if self.spread_taps % 2 == 0 and self.spread_taps:
            raise VawganError(None, f"[{self.SECTION}] spread_taps = {self.spread_taps}: must be odd (the filter centred on its frame) or 0")
        if self.spread_knots and self.spread_taps:
            raise VawganError(None, f"[{self.SECTION}] spread_taps = {self.spread_taps} and spread_knots = "
                                    f"{list(self.spread_knots)}: one spread filter, taps or knots, not both")
        k = list(self.spread_knots)
        if k and (k[0] < 0 or any(b <= a for a, b in zip(k, k[1:])) or k[-1] >= 500.0 / FRAME_PERIOD_MS or k == [0]):
            raise VawganError(None, f"[{self.SECTION}] spread_knots = {k}: increasing modulation frequencies (Hz), "
                                    f"above 0 (a first 0 pins the gain there to 1) and below half the frame rate "
                                    f"({500.0 / FRAME_PERIOD_MS:g} Hz)")
        if self.spread_edges != "zero" and not k:
            raise VawganError(None, f"[{self.SECTION}] spread_edges = {self.spread_edges} sets the knot filter's "
                                    "edges, and spread_knots = [] gives no knot filter (the taps' filter repeats "
                                    "the edge frames)")
        if self.spread_rank and not k:
            raise VawganError(None, f"[{self.SECTION}] spread_rank = {self.spread_rank} factors the knots' gains, "
                                    "and spread_knots = [] gives no knots")
        if self.spread_speech_only and not (k or self.spread_taps):
            raise VawganError(None, f"[{self.SECTION}] spread_speech_only = true places the spread filter, and "
                                    "spread_taps = 0 with spread_knots = [] gives none")
        if self.spread_crop and not (k or self.spread_taps):
            raise VawganError(None, f"[{self.SECTION}] spread_crop = {self.spread_crop} cuts what the spread filter "
                                    "reads, and spread_taps = 0 with spread_knots = [] gives none")
        if self.spread_crop and self.spread_adaptive:
            raise VawganError(None, f"[{self.SECTION}] spread_crop = {self.spread_crop} with spread_adaptive = true: "
                                    "the adaptive gain measures the whole span's level; choose one")
        if self.spread_crop and self.spread_crop < 4:
            raise VawganError(None, f"[{self.SECTION}] spread_crop = {self.spread_crop}: at least 4 frames "
                                    "(crops overlap by half of it), or 0 for the whole trajectory")
        if self.spread_adaptive and not k:
            raise VawganError(None, f"[{self.SECTION}] spread_adaptive = true moves the knots' gains, "
                                    "and spread_knots = [] gives no knots")
        free = len(k) - (bool(k) and k[0] == 0)  # a first knot at 0 Hz is a pin, not a gain
        if self.spread_rank > min(MODEL_DIM, free):
            raise VawganError(None, f"[{self.SECTION}] spread_rank = {self.spread_rank}: at most the number of free "
                                    f"knots ({free}) or coefficients ({MODEL_DIM})")
        if self.critic_speech_only and not self.critic_modulation:
            raise VawganError(None, f"[{self.SECTION}] critic_speech_only = true gates the modulation view, and "
                                    "critic_modulation = [] gives the critic none")


class VAWGANPostfilterTask(VAWGANTask):
    name = "vawgan_postfilter"

    def __init__(self, config: VAWGANPostfilterConfig = VAWGANPostfilterConfig(), extra: dict | None = None):
        # VAWGANTask's own models are built and replaced (not `build` overridden): the random draws of
        # their initialization are kept, so a post-filter trains as it did when it was first measured.
        super().__init__(config, extra)
        width = 2 * config.context + 1
        self.vae = FrameVAE(MODEL_DIM * width, config.hidden, config.latent, config.decoder_variance == "learned",
                            out_dim=MODEL_DIM, cond_dim=MODEL_DIM * width)
        self.critic = Critic(MODEL_DIM, config.critic_hidden)

    def pair(self, batch) -> tuple[torch.Tensor, torch.Tensor]:
        x, target = batch
        return x, target

    def centre(self, x: torch.Tensor) -> torch.Tensor:
        """The system's frame t out of its context window (B, (2k+1)·39) -> (B, 39)."""
        k = self.config.context
        return x[:, k * MODEL_DIM : (k + 1) * MODEL_DIM]

    def generate(self, z: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        y = self.vae.decode(z, x)
        return y + self.centre(x) if self.config.residual else y


class Segments(NamedTuple):
    """A conv post-filter's batch: the system's crops (B, L, 39), the natural trajectory on their
    time axis (B, L, 39), which of those frames DTW paired (B, L) in {0, 1} (DTW pairs speech frames,
    so these are the system's speech frames), crops of natural recordings as spoken (B, L, 39) for
    the critic, and which of their frames are speech (B, L) in {0, 1} (by their c0), where known."""

    system: torch.Tensor
    target: torch.Tensor
    mask: torch.Tensor
    natural: torch.Tensor
    natural_speech: torch.Tensor | None = None


class ConvPostfilterTask(VAWGANTask):
    """VAWGAN's stages over trajectories: encoder and decoder convolve along time (a latent per
    frame), the critic scores segments (:mod:`..models.segment_critic`)."""

    name = "vawgan_postfilter"

    def __init__(self, config: VAWGANPostfilterConfig = VAWGANPostfilterConfig(arch="conv"), extra: dict | None = None):
        super().__init__(config, extra)
        check_conv_likelihood(config)
        self.vae = ConvVAE(MODEL_DIM, config.channels, config.latent, config.kernel, config.dilations,
                           cond_dim=MODEL_DIM)
        self.critic = segment_critic(config, speech_gated=config.critic_speech_only)
        self.spread = (SpreadFilter(MODEL_DIM, config.spread_taps) if config.spread_taps
                       else KnotSpreadFilter(MODEL_DIM, config.spread_knots, 1000.0 / FRAME_PERIOD_MS,
                                             config.spread_rank, config.spread_adaptive, config.spread_edges)
                       if config.spread_knots else None)
        self.adversary_draws = config.adv_z == "prior"  # the generated side's only draw (adversary_latent)
        if self.spread is not None:
            self.metric_names = (*self.metric_names, "spread_score")  # the critic's score of the filtered output

    def modules(self):
        return super().modules() | ({"spread": self.spread} if self.spread is not None else {})

    def make_optimizers(self):
        optimizers = super().make_optimizers()
        if self.spread is not None:
            optimizers["spread"] = adam(self.spread.parameters(), self.config.spread_lr, tuple(self.config.critic_betas))
        return optimizers

    def spread_out(self, y: torch.Tensor, speech: torch.Tensor) -> torch.Tensor:
        """The decoder's trajectories through the spread filter, where there is one; an adaptive one
        measures their power from the first to the last of the system's speech frames ``speech`` (B, L).
        With ``spread_speech_only`` each trajectory's span alone is filtered, as a trajectory of its own,
        and the frames before and after it are the decoder's."""
        if self.spread is None:
            return y
        span = speech_span(speech)
        adaptive = isinstance(self.spread, KnotSpreadFilter) and self.spread.adaptive
        crop = self.config.spread_crop
        if not self.config.spread_speech_only:
            return self.spread(y, span) if adaptive else filtered_in_crops(self.spread, y, crop)
        rows = []
        for row, inside in zip(y, span):
            at = torch.nonzero(inside).flatten()
            first, last = int(at[0]), int(at[-1]) + 1
            filtered = filtered_in_crops(self.spread, row[None, first:last], crop)[0]
            rows.append(torch.cat([row[:first], filtered, row[last:]]))
        return torch.stack(rows)

    def pair(self, batch) -> tuple[Segments, Segments]:
        batch = Segments(*batch)
        return batch, batch

    def encode(self, x: Segments) -> tuple[torch.Tensor, torch.Tensor]:
        return self.vae.encode(x.system)

    def generate(self, z: torch.Tensor, x: Segments) -> torch.Tensor:
        y = self.vae.decode(z, x.system)
        return y + x.system if self.config.residual else y

    def nll(self, target: Segments, y: torch.Tensor) -> torch.Tensor:
        """The unit-variance Gaussian NLL per dimension (as the frame task's), over the paired frames only."""
        return masked_nll(target.target, y, target.mask)

    def judged(self, frames: torch.Tensor, speech: torch.Tensor | None) -> torch.Tensor:
        """What the critic reads of trajectories ``frames`` (B, L, 39): themselves, or with
        ``critic_speech_only`` their speech weights ``speech`` (B, L) as one more channel."""
        if not self.config.critic_speech_only:
            return frames
        if speech is None:
            raise ValueError("critic_speech_only: the batch carries no speech frames for the natural crops")
        return torch.cat([frames, speech[..., None].to(frames.dtype)], dim=-1)

    def adversary(self, x: Segments, target: Segments, z: torch.Tensor):
        recordings = self.config.critic_real == "recordings"
        real = (self.judged(x.natural, x.natural_speech) if recordings
                else self.judged(target.target, target.mask))
        fake = self.judged(self.spread_out(self.generate(self.adversary_latent(z), x), x.mask), x.mask)
        return real, fake, self.critic

    def adversary_latent(self, z: torch.Tensor) -> torch.Tensor:
        """The latent the critic's generated side is decoded from: ``z`` itself, or with ``adv_z = "prior"``
        noise like it (the generator learns to make detail out of noise, applied with z ~ prior)."""
        return torch.randn_like(z) if self.config.adv_z == "prior" else z

    def _adv_step(self, x, target, ctx):
        """VAWGAN's adversarial step, then (with a spread filter) one step of the filter alone on the
        critic's score of the filtered decoder output (and, at weight ``spread_likelihood``, its NLL):
        the decoder's likelihood never reaches the filter, so the decoder stays a conditional mean."""
        out = super()._adv_step(x, target, ctx)
        if self.spread is not None:
            with torch.no_grad():
                mu, logvar = self.encode(x)
                y = self.generate(self.adversary_latent(reparameterize(mu, logvar)), x)
            with frozen(self.critic):
                filtered = self.spread_out(y, x.mask)
                score = self.critic(self.judged(filtered, x.mask)).mean()
                loss = -score
                if self.config.spread_likelihood > 0:  # the filtered output held to the target too
                    loss = loss + self.config.spread_likelihood * self.nll(target, filtered)
                ctx.step("spread", loss)
            out["spread_score"] = score.detach()
        return out

    def critic_score(self, frames, x: Segments) -> torch.Tensor:
        return self.critic(self.judged(frames.target if isinstance(frames, Segments) else frames, x.mask))

    def enhance(self, c: torch.Tensor, generator: torch.Generator | None = None,
                speech: torch.Tensor | None = None) -> torch.Tensor:
        """(B, T, 39) normalized system trajectories -> post-filtered, with z as ``inference_z`` says
        (drawn from ``generator`` for ``prior`` and ``posterior``); ``speech`` (B, T): the system's
        speech frames, as DTW pairs them in training (default: every frame)."""
        x = Segments(c, c, torch.ones(c.shape[:2]) if speech is None else speech.to(c.dtype), c)
        mu, logvar = self.encode(x)
        how = self.config.inference_z
        if how == "mean":
            z = mu
        else:
            eps = torch.randn(mu.shape, generator=generator, dtype=mu.dtype)
            z = eps if how == "prior" else mu + eps * torch.exp(0.5 * logvar)
        return self.spread_out(self.generate(z, x), x.mask)


def filtered_in_crops(spread: torch.nn.Module, x: torch.Tensor, length: int) -> torch.Tensor:
    """Trajectories (B, T, D) through ``spread``: whole where ``length`` is 0 or T <= ``length``, else in
    crops of ``length`` frames, starts at 0, length // 2, … and a last crop ending at T, each filtered as
    a trajectory of its own (its own mean and DFT grid, as a training crop is), the outputs cross-faded:
    frame t is the mean of the crops that hold it, weighted by a Hann window over each crop (positive at
    its ends, so the first and last frames, held by one crop, are that crop's). -> (B, T, D)."""
    n = x.shape[1]
    if not length or n <= length:
        return spread(x)
    starts = list(range(0, n - length, length // 2)) + [n - length]
    weight = torch.hann_window(length + 2, periodic=False, dtype=x.dtype, device=x.device)[1:-1, None]
    total, norm = torch.zeros_like(x), torch.zeros(n, 1, dtype=x.dtype, device=x.device)
    for a in starts:
        held = torch.arange(a, a + length, device=x.device)
        total = total.index_add(1, held, spread(x[:, a : a + length]) * weight)
        norm[a : a + length] += weight
    return total / norm


def speech_span(speech: torch.Tensor) -> torch.Tensor:
    """(B, L) speech frames in {0, 1} -> (B, L) 1 from each row's first speech frame to its last, else
    0: the edge padding of a short utterance, and the silence before and after it, are left out. A row
    without speech is all 1."""
    on = speech > 0
    index = torch.arange(on.shape[1], device=on.device)
    first = torch.where(on, index, on.shape[1]).min(1, keepdim=True).values
    last = torch.where(on, index, -1).max(1, keepdim=True).values
    return (((index >= first) & (index <= last)) | ~on.any(1, keepdim=True)).to(torch.float32)


def postfilter_task(config: VAWGANPostfilterConfig, extra: dict | None = None) -> VAWGANTask:
    """The post-filter task of ``config.arch``."""
    return (ConvPostfilterTask if config.arch == "conv" else VAWGANPostfilterTask)(config, extra)
