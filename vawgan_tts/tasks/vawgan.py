"""VAWGAN: a frame VAE, then a Wasserstein critic, then adversarial training of the decoder.

Stages (data, not branches in the trainer):
  vae     the VAE alone: Gaussian negative log-likelihood + KL (+ a task's further terms, further_loss)
  critic  the critic alone against reconstructions of the (frozen) VAE
  adv     per batch: (1) update the critic, (2) update the VAE, where the decoder (the generator)
          gets L_vae + L_adv and the encoder L_vae only

Two corrections to the method as first described (see docs/design.md): the generator is the decoder
only, and the gradient penalty penalizes gradient norms away from 1 (Gulrajani et al. 2017).

``arch = "conv"`` (:class:`ConvVAWGANTask`): the same stages and losses over random crops of
trajectories, a latent per frame and a critic over segments (docs/design.md, "Models over time").
"""

from __future__ import annotations

import dataclasses
import math
from typing import NamedTuple

import torch

from ..choices import ADV_BALANCE, ARCHS, CRITICS, VAWGAN_STAGES
from ..errors import VawganError
from ..config import check_arch_options, check_choice, check_conv_layers, check_ranges
from ..features import MODEL_DIM
from ..models.conv_vae import ConvVAE
from ..models.critic import Critic
from ..models.gaussian import kl_to_standard_normal, reparameterize
from ..models.segment_critic import SegmentCritic
from ..models.vae import FrameVAE
from .base import Stage, StepContext, TaskBase, adam, masked_frame_mean
from .wgan import critic_step, frozen

LOG_2PI = math.log(2 * math.pi)


def check_critic_views(config: "VAWGANConfig") -> None:
    """The segment critic's views, refused in one line: at least one; modulation windows even, of 4
    frames or more, and no longer than a training crop (a crop shorter than a window cannot be scored)."""
    s = f"[{config.SECTION}]"
    if not config.critic_scales and not config.critic_difference and not config.critic_modulation:
        raise VawganError(None, f"{s} critic_scales = []: the critic needs a view (scales, critic_difference or critic_modulation)")
    for w in config.critic_modulation:
        if w < 4 or w % 2:
            raise VawganError(None, f"{s} critic_modulation = {list(config.critic_modulation)}: windows must be even, 4 frames or more")
    if config.critic_bands_per_octave and not config.critic_modulation:
        raise VawganError(None, f"{s} critic_bands_per_octave = {config.critic_bands_per_octave} pools the modulation "
                                "view's bins, and critic_modulation = [] gives the critic no modulation view")
    if config.critic_modulation and max(config.critic_modulation) > config.segment:
        raise VawganError(None, f"{s} critic_modulation window {max(config.critic_modulation)} is longer than "
                                f"segment = {config.segment}: a crop that short cannot be scored")


@dataclasses.dataclass(frozen=True)
class VAWGANConfig:
    """Model, loss and stage settings. Defaults: a VAE that reconstructs (see docs/design.md);
    ``conf/seed.toml`` of the recipe holds the seed method's settings."""

    latent: int = 64
    hidden: tuple[int, ...] = (256, 128)
    critic_hidden: tuple[int, ...] = (64, 32)
    lr: float = 1e-3
    critic_lr: float = 1e-3
    critic_betas: tuple[float, ...] = (0.5, 0.9)  # Adam betas of the critic (WGAN-GP's)
    vae_epochs: int = 25
    critic_epochs: int = 5
    adv_epochs: int = 25
    critic: str = "gp"  # gp: WGAN-GP; clip: weight clipping
    gp_lambda: float = 10.0
    clip: float = 0.01
    n_critic: int = 1  # critic updates per generator update in the adversarial stage
    decoder_variance: str = "unit"  # unit (the seed) | learned (per dimension, a calibrated decoder)
    dim_reduction: str = "mean"  # how NLL and KL combine over dimensions: mean (the seed) | sum (the ELBO)
    kl_weight: float = 1.0
    kl_warmup_epochs: float = 5.0  # KL weight ramps linearly from 0 over these VAE-stage epochs
    adv_weight: float = 0.2  # scale of L_adv in the decoder's loss (the seed: 1)
    adv_balance: str = "ratio"  # ratio: L_adv = −(E1 + αE2), α = |E1/E2| (the seed) | fixed: L_adv = −E[D(G(z))]
    adv_lr: float = 0.0  # > 0: the adversarial stage updates the VAE with an Adam of its own at this rate and the
    #                      critic's betas (WGAN-GP's); 0: the VAE stage's optimizer goes on (the seed)
    drop_silence: bool = True  # leave out training frames below the power threshold (conv arch: out of the likelihood)
    silence_threshold_db: float = 30.0  # ... this far below their utterance's loudest frame
    arch: str = "frame"  # frame: MLPs over frames, a frame critic | conv: convolutions over time, a segment critic
    channels: tuple[int, ...] = (128, 128, 128)  # conv arch: width of each layer of encoder and decoder
    kernel: int = 5  # conv arch: frames each convolution reads (odd)
    dilations: tuple[int, ...] = (1, 2, 4)  # conv arch: dilation of each layer
    critic_channels: tuple[int, ...] = (64, 128, 128)  # conv arch: the segment critic's widths per scale
    critic_scales: tuple[int, ...] = (1, 2, 4)  # conv arch: frames averaged at each scale the critic reads
    critic_difference: bool = False  # conv arch: one more critic reads frame-to-frame differences (a high-pass view)
    critic_modulation: tuple[int, ...] = ()  # conv arch: window lengths (frames) of one more view, over the log
    #                                          modulation spectra (models/modulation_critic.py); [] none
    critic_bands_per_octave: int = 0  # conv arch: > 0: the modulation view's bins pooled into this many bands per
    #                                   octave, each octave weighed alike; 0: every bin (models/modulation_critic.py)
    segment: int = 96  # conv arch: frames per training crop (480 ms at 5 ms)
    segments_per_batch: int = 32  # conv arch: crops per batch ([train] batch_size counts frames of the frame arch)
    crop_speech: bool = False  # conv arch: crops only where every frame is speech, real and generated alike
    crop_per_utterance: bool = False  # conv arch: each crop's utterance drawn uniformly, then its start (each utterance
    #                                   weighs alike, as the corpus figures weigh them); false: uniform over starts

    SECTION = "vawgan"
    FRAME_ONLY = ("hidden", "critic_hidden")  # options the other arch has no use for: set, they are refused
    CONV_ONLY = ("channels", "kernel", "dilations", "critic_channels", "critic_scales", "critic_difference",
                 "critic_modulation", "critic_bands_per_octave", "segment", "segments_per_batch", "crop_speech",
                 "crop_per_utterance")

    def __post_init__(self):
        check_choice(self, "arch", ARCHS)
        check_arch_options(self)
        check_choice(self, "critic", CRITICS)
        check_choice(self, "decoder_variance", ("learned", "unit"))
        check_choice(self, "dim_reduction", ("sum", "mean"))
        check_choice(self, "adv_balance", ADV_BALANCE)
        check_ranges(self, latent=">= 1", hidden=">= 1", critic_hidden=">= 1", lr="> 0", critic_lr="> 0",
                     critic_betas="0..1", vae_epochs=">= 0", critic_epochs=">= 0", adv_epochs=">= 0",
                     gp_lambda=">= 0", clip="> 0", n_critic=">= 1", kl_weight=">= 0", kl_warmup_epochs=">= 0",
                     adv_weight=">= 0", adv_lr=">= 0", silence_threshold_db="> 0", channels=">= 1", kernel=">= 1",
                     dilations=">= 1", critic_channels=">= 1", critic_scales=">= 1", critic_bands_per_octave=">= 0",
                     segment=">= 8", segments_per_batch=">= 1")
        check_conv_layers(self)
        check_critic_views(self)

    def stages(self) -> tuple[Stage, ...]:
        epochs = {"vae": self.vae_epochs, "critic": self.critic_epochs, "adv": self.adv_epochs}
        return tuple(Stage(name, epochs[name]) for name in VAWGAN_STAGES)


class VAWGANTask(TaskBase):
    name = "vawgan"
    metric_names = ("vae_loss", "nll", "kl", "kl_weight", "adv_loss", "critic_loss",
                    "d_real", "d_fake", "w_distance", "gp", "alpha")

    def __init__(self, config: VAWGANConfig = VAWGANConfig(), extra: dict | None = None):
        self.config = config
        self.stages = config.stages()
        self.vae, self.critic = self.build(config)
        self.extra = extra or {}  # normalization stats, feature settings: stored in checkpoints
        self._steps = {"vae": self._vae_step, "critic": self._critic_step, "adv": self._adv_step}

    def build(self, config) -> tuple[torch.nn.Module, torch.nn.Module]:
        """The VAE and the critic of ``config`` (built in that order)."""
        return FrameVAE(MODEL_DIM, config.hidden, config.latent, config.decoder_variance == "learned"), \
            Critic(MODEL_DIM, config.critic_hidden)

    # ------------------------------------------------------------------------ protocol

    def modules(self):
        return {"vae": self.vae, "critic": self.critic}

    def make_optimizers(self):
        c = self.config
        optimizers = {
            "vae": adam(self.vae.parameters(), c.lr),
            "critic": adam(self.critic.parameters(), c.critic_lr, tuple(c.critic_betas)),
        }
        if c.adv_lr > 0:  # the generator's own, started fresh at the adversarial stage
            optimizers["adv_vae"] = adam(self.vae.parameters(), c.adv_lr, tuple(c.critic_betas))
        return optimizers

    def train_step(self, batch, stage: str, ctx: StepContext) -> dict[str, torch.Tensor]:
        return self._steps[stage](*self.pair(batch), ctx)

    # ----------------------------------------------------- what is encoded, what is generated

    def pair(self, batch) -> tuple[torch.Tensor, torch.Tensor]:
        """(encoder input, frames the decoder must produce): here a batch of frames and itself."""
        return batch, batch

    def encode(self, x) -> tuple[torch.Tensor, torch.Tensor]:
        """(μ, log σ²) of q(z | x) for encoder inputs ``x``."""
        return self.vae.encode(x)

    def generate(self, z: torch.Tensor, x) -> torch.Tensor:
        """The decoder's frames for latents ``z`` of encoder inputs ``x``."""
        return self.vae.decode(z)

    def adversary(self, x, target: torch.Tensor, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.nn.Module]:
        """What the critic compares: (real frames, generated frames, the critic to judge both with).
        Here the targets against the decoder's frames for ``z``."""
        return target, self.generate(z, x), self.critic

    def critic_score(self, frames: torch.Tensor, x) -> torch.Tensor:
        """The critic's score of ``frames`` standing for encoder inputs ``x``. (B, D) -> (B, 1)."""
        return self.critic(frames)

    def reconstruct(self, x) -> torch.Tensor:
        """Deterministic output for encoder inputs ``x`` (z = μ): what enhancement applies."""
        return self.generate(self.encode(x)[0], x)

    def reconstruct_utterance(self, c: torch.Tensor) -> torch.Tensor:
        """One normalized utterance (T, 39) -> its reconstruction (T, 39): here frame by frame."""
        return self.reconstruct(c)

    # --------------------------------------------------------------------------- losses

    def _reduce(self, per_dim: torch.Tensor) -> torch.Tensor:
        """(B, D) -> scalar: sum or mean over dimensions, mean over the batch."""
        return (per_dim.sum(-1) if self.config.dim_reduction == "sum" else per_dim.mean(-1)).mean()

    def nll(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Gaussian negative log-likelihood ½(log 2π + log σ² + (x − y)²/σ²) per dimension."""
        logvar = self.vae.obs_logvar
        return self._reduce(0.5 * (LOG_2PI + logvar + (x - y) ** 2 * torch.exp(-logvar)))

    def kl(self, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
        """KL(q(z|x) ‖ N(0, I)) per latent dimension."""
        return self._reduce(kl_to_standard_normal(mu, logvar))

    def further_loss(self, x, target, mu: torch.Tensor, logvar: torch.Tensor, z: torch.Tensor, beta: float,
                     ctx: StepContext | None = None) -> tuple[torch.Tensor | float, dict[str, torch.Tensor]]:
        """Further terms of L_vae for encoder inputs ``x`` with posterior (μ, log σ²), its sample ``z``
        and the KL weight ``beta`` of the step, and what to log of them: none here (0, {});
        VAWGAN-VC's speaker classifier on the code and its cycle are such terms. ``ctx``: the step's,
        for a term whose own model takes its own steps first (None: none taken)."""
        return 0.0, {}

    def kl_weight(self, ctx: StepContext, stage: str) -> float:
        c = self.config
        if stage != "vae" or c.kl_warmup_epochs <= 0:
            return c.kl_weight
        return c.kl_weight * min(1.0, ctx.epoch_progress / c.kl_warmup_epochs)

    # ---------------------------------------------------------------------------- steps

    def _vae_step(self, x, target, ctx):
        mu, logvar = self.encode(x)
        z = reparameterize(mu, logvar)
        y = self.generate(z, x)
        nll, kl = self.nll(target, y), self.kl(mu, logvar)
        beta = self.kl_weight(ctx, "vae")
        loss = nll + beta * kl
        further, logged = self.further_loss(x, target, mu, logvar, z, beta, ctx)
        ctx.step("vae", loss + further)
        return {"vae_loss": loss.detach(), "nll": nll.detach(), "kl": kl.detach(), "kl_weight": mu.new_tensor(beta),
                **logged}

    def _update_critic(self, x, target, ctx, posterior: tuple[torch.Tensor, torch.Tensor] | None = None):
        # (1) Update the critic on real frames vs the decoder's; the VAE is not touched. ``posterior``:
        # q(z | x)'s (μ, log σ²) where the caller has it (the VAE unchanged since): not encoded again.
        with torch.no_grad():
            mu, logvar = self.encode(x) if posterior is None else posterior
            real, fake, critic = self.adversary(x, target, reparameterize(mu, logvar))
        c = self.config
        return critic_step(critic, real, fake, ctx, "critic", c.critic, c.gp_lambda, c.clip)

    def _critic_step(self, x, target, ctx):
        return self._update_critic(x, target, ctx)

    # Whether drawing the critic's generated side (:meth:`adversary`) takes random numbers: a task whose
    # draw takes none says so, and its generator term at weight 0 is then left out (:meth:`_adv_step`).
    adversary_draws = True

    def _adv_step(self, x, target, ctx):
        with torch.no_grad():  # the VAE is not touched by the critic's updates: its posterior is encoded once
            posterior = self.encode(x)
        for _ in range(self.config.n_critic):
            out = self._update_critic(x, target, ctx, posterior)
        # (2) Update the VAE: the encoder on L_vae only, the decoder (generator) on L_vae + L_adv.
        with frozen(self.critic):
            mu, logvar = self.encode(x)
            z = reparameterize(mu, logvar)
            nll, kl = self.nll(target, self.generate(z, x)), self.kl(mu, logvar)
            l_vae = nll + self.config.kl_weight * kl
            further, logged = self.further_loss(x, target, mu, logvar, z, self.config.kl_weight, ctx)
            # The adversarial path starts from a detached z, so it cannot reach the encoder.
            # At weight 0 the term adds exact zeros to every gradient: unless making the generated side draws
            # noise, it is not computed (the step's result is the same to the bit, in less time; log columns NaN).
            loss = l_vae + further
            l_adv = alpha = nll.new_tensor(float("nan"))
            if self.config.adv_weight > 0 or self.adversary_draws:
                ratio = self.config.adv_balance == "ratio"
                e1 = -self.nll(target, self.generate(z.detach(), x)) if ratio else None  # mean log-likelihood
                _, y_gen, critic = self.adversary(x, target, z.detach())
                e2 = critic(y_gen).mean()  # mean critic score of the generated frames
                # ratio: VAWGAN's α, so that neither term swamps the other; fixed: WGAN's generator loss,
                # the weight alone setting its share beside L_vae (docs/design.md says why)
                alpha = (e1 / e2).abs().detach() if ratio else e2.new_tensor(1.0)
                l_adv = -(e1 + alpha * e2) if ratio else -e2
                loss = loss + self.config.adv_weight * l_adv
            ctx.step("adv_vae" if self.config.adv_lr > 0 else "vae", loss)
        return out | {"vae_loss": l_vae.detach(), "nll": nll.detach(), "kl": kl.detach(),
                      "adv_loss": l_adv.detach(), "alpha": alpha, "kl_weight": mu.new_tensor(self.config.kl_weight),
                      **logged}


def masked_nll(target: torch.Tensor, y: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """The unit-variance Gaussian NLL ½(log 2π + (x − y)²) per dimension of trajectories (B, L, D),
    averaged over the frames where ``mask`` (B, L) is 1 only: the conv arch's likelihood."""
    return masked_frame_mean((0.5 * (LOG_2PI + (target - y) ** 2)).mean(-1), mask)


def segment_critic(config: VAWGANConfig, cond_dim: int = 0, speech_gated: bool = False) -> SegmentCritic:
    """The segment critic a conv config asks for (every conv task builds its critic here), reading
    ``cond_dim`` condition channels beside the 39 coefficients (and with ``speech_gated`` a speech
    weight after them, :class:`..models.segment_critic.SegmentCritic`)."""
    return SegmentCritic(MODEL_DIM, config.critic_channels, config.kernel, config.critic_scales, cond_dim=cond_dim,
                         difference=config.critic_difference, modulation=config.critic_modulation,
                         bands_per_octave=config.critic_bands_per_octave, speech_gated=speech_gated)


def check_conv_likelihood(config: VAWGANConfig) -> None:
    """The conv arch's likelihood is :func:`masked_nll`: unit variance, mean over dimensions."""
    if config.decoder_variance != "unit" or config.dim_reduction != "mean":
        raise VawganError(None, f"[{config.SECTION}] the conv arch has a unit-variance decoder and means over "
                                "dimensions (decoder_variance = \"unit\", dim_reduction = \"mean\")")


class Crops(NamedTuple):
    """A conv VAWGAN's batch: crops of natural trajectories (B, L, 39) and which of their frames
    are speech (B, L) in {0, 1}: the only frames the likelihood counts (``drop_silence``)."""

    frames: torch.Tensor
    speech: torch.Tensor


class ConvVAWGANTask(VAWGANTask):
    """The enhancement VAWGAN over trajectories: a fully convolutional VAE with a latent per frame
    (:mod:`..models.conv_vae`) and a critic over segments at several time scales
    (:mod:`..models.segment_critic`); VAWGAN's three stages and losses, unchanged, on random crops."""

    def __init__(self, config: VAWGANConfig = VAWGANConfig(arch="conv"), extra: dict | None = None):
        check_conv_likelihood(config)
        super().__init__(config, extra)

    def build(self, config):
        return ConvVAE(MODEL_DIM, config.channels, config.latent, config.kernel, config.dilations), segment_critic(config)

    def pair(self, batch) -> tuple[Crops, Crops]:
        batch = Crops(*batch)
        return batch, batch

    def encode(self, x: Crops) -> tuple[torch.Tensor, torch.Tensor]:
        return self.vae.encode(x.frames)

    def nll(self, target: Crops, y: torch.Tensor) -> torch.Tensor:
        return masked_nll(target.frames, y, target.speech)

    def adversary(self, x: Crops, target: Crops, z: torch.Tensor):
        return target.frames, self.generate(z, x), self.critic

    def critic_score(self, frames, x: Crops) -> torch.Tensor:
        return self.critic(frames.frames if isinstance(frames, Crops) else frames)

    def reconstruct_utterance(self, c: torch.Tensor) -> torch.Tensor:
        """One normalized utterance (T, 39), whole -> the decoder's trajectory for z = μ."""
        return self.vae.reconstruct(c[None])[0]


def vawgan_task(config: VAWGANConfig, extra: dict | None = None) -> VAWGANTask:
    """The enhancement VAWGAN task of ``config.arch``."""
    return (ConvVAWGANTask if config.arch == "conv" else VAWGANTask)(config, extra)
