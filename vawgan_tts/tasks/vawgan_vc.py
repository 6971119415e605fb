"""VAWGAN voice conversion (Hsu et al. 2017): the enhancement VAWGAN's three stages and losses on
frames of many speakers, with a speaker-conditioned decoder and critic.

The encoder sees only the frame; the decoder rebuilds it from z and the speaker's embedding (at
every layer). The steps are VAWGANTask's, unchanged — the generator is the decoder only, the
gradient penalty penalizes departures from unit norm — and this task answers their questions
differently:

  encode(x)          x = (frames, speakers): the frames alone
  generate(z, x)     the decoder with each frame's own speaker: the reconstruction (NLL)
  adversary(x, …)    what the critic compares: the batch's real frames, reordered (a random
                     permutation), against frames converted *to those frames' speakers* from the
                     batch's codes — conversion, not reconstruction, is what must look real —
                     judged by the conditional critic with that speaker fixed
  further_loss(…)    two optional terms of L_vae, in the VAE and adversarial stages alike (the
                     encoder is trained in both): with ``z_adversary`` > 0, the cross-entropy of a
                     speaker classifier on the codes, read through a reversed gradient
                     (models/speaker_vae.py), or, with ``z_adversary_steps`` = k > 0, that classifier
                     trained apart (k steps of its own per step) and the encoder on its confusion
                     loss (Tzeng et al. 2015); with ``cycle_weight`` > 0, the cycle of CycleVAE
                     (Tobing et al. 2019): each frame converted to another speaker, encoded again
                     and decoded as its own speaker must come back (its NLL, and the KL of the
                     converted frame's code), so the decoder is trained on the pairs conversion
                     gives it (a code of one speaker, another's embedding), not on reconstruction only
"""

from __future__ import annotations

import dataclasses
from typing import Callable, NamedTuple

import torch

from ..config import check_choice, check_ranges
from ..errors import VawganError
from ..features import MODEL_DIM
from ..models.gaussian import reparameterize
from ..models.speaker_vae import (AsSpeaker, CodeSpeakerClassifier, ConvSpeakerVAE, SegmentSpeakerCritic, SpeakerCritic,
                                  SpeakerVAE)
from .base import adam, masked_frame_mean
from .vawgan import VAWGANConfig, VAWGANTask, check_conv_likelihood, masked_nll, segment_critic
from .wgan import frozen


@dataclasses.dataclass(frozen=True)
class VAWGANVCConfig(VAWGANConfig):
    """VAWGAN's settings, a smaller code (z must not carry the speaker) and the speakers."""

    latent: int = 16
    embed_dim: int = 16  # speaker embedding size
    speakers: tuple[str, ...] = ()  # names, in the order of their indices
    normalization: str = "global"  # global: one mean/std over all speakers; speaker: each speaker's own
    z_adversary: float = 0.0  # > 0: a speaker classifier on μ, its gradient reversed at the encoder times this
    z_adversary_hidden: tuple[int, ...] = (256,)  # ... the classifier's hidden layers
    z_adversary_steps: int = 0  # 0: the reversed gradient, one loss; k > 0: the classifier trained apart (its own
    #                             Adam, k steps on the batch's codes per step), the encoder on the confusion loss × w
    cycle_weight: float = 0.0  # > 0: CycleVAE's cycle (convert, encode, decode as the own speaker) in L_vae, times this

    SECTION = "vc"

    def __post_init__(self):
        super().__post_init__()
        check_ranges(self, embed_dim=">= 1", z_adversary=">= 0", z_adversary_hidden=">= 1", z_adversary_steps=">= 0",
                     cycle_weight=">= 0")
        check_choice(self, "normalization", ("global", "speaker"))
        if len(self.speakers) < 2 or len(set(self.speakers)) != len(self.speakers):
            raise VawganError(None, f"[vc] speakers = {list(self.speakers)}: give two or more distinct names")


class VAWGANVCTask(VAWGANTask):
    name = "vawgan_vc"

    def __init__(self, config: VAWGANVCConfig, extra: dict | None = None):
        super().__init__(config, extra)
        reversed_weight = config.z_adversary if config.z_adversary_steps == 0 else 1.0  # apart: no reversal to reach
        self.z_adversary = (CodeSpeakerClassifier(config.latent, config.z_adversary_hidden, len(config.speakers),
                                                  reversed_weight) if config.z_adversary > 0 else None)
        if self.z_adversary is not None:
            self.metric_names = (*self.metric_names, "z_speaker_ce", "z_speaker_acc")
            if config.z_adversary_steps:
                self.metric_names = (*self.metric_names, "z_confusion")
        if config.cycle_weight > 0:
            self.metric_names = (*self.metric_names, "cycle_nll", "cycle_kl")

    def modules(self):
        return super().modules() | ({"z_adversary": self.z_adversary} if self.z_adversary is not None else {})

    def make_optimizers(self):
        """VAWGAN's; the code's speaker classifier is stepped with the encoder, by the VAE's optimizer
        (and the adversarial stage's own, with ``adv_lr``), its loss being part of L_vae; trained apart
        (``z_adversary_steps`` > 0), by an Adam of its own at the VAE's rate."""
        optimizers = super().make_optimizers()
        c = self.config
        if self.z_adversary is not None and c.z_adversary_steps:
            optimizers["z_adversary"] = adam(self.z_adversary.parameters(), c.lr)
        elif self.z_adversary is not None:
            both = [*self.vae.parameters(), *self.z_adversary.parameters()]
            optimizers["vae"] = adam(both, c.lr)
            if c.adv_lr > 0:
                optimizers["adv_vae"] = adam(both, c.adv_lr, tuple(c.critic_betas))
        return optimizers

    def speakers(self, x) -> torch.Tensor:
        """The speaker of each example of a batch (B,)."""
        return x[1]

    def speakers_of_codes(self, x) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Each code's speaker, and which codes count (None: all): here one code per frame."""
        return self.speakers(x), None

    def further_loss(self, x, target, mu, logvar, z, beta, ctx=None):
        loss, logged = 0.0, {}
        if self.z_adversary is not None:
            loss, logged = self.code_adversary(x, mu, ctx)
        if self.config.cycle_weight > 0:
            nll, kl = self.cycle(x, target, z)
            loss = loss + self.config.cycle_weight * (nll + beta * kl)
            logged |= {"cycle_nll": nll.detach(), "cycle_kl": kl.detach()}
        return loss, logged

    def code_adversary(self, x, mu: torch.Tensor, ctx=None) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """The code's speaker classifier's term of L_vae for codes ``mu`` of ``x``, and what to log. Read
        through its reversed gradient: its cross-entropy. Trained apart (``z_adversary_steps`` = k): first
        k steps of its own on the codes held fixed (none without the step's ``ctx``), then the encoder's
        confusion loss times ``z_adversary``, the classifier held fixed."""
        speakers, mask = self.speakers_of_codes(x)

        def mean(v: torch.Tensor) -> torch.Tensor:
            return v.mean() if mask is None else masked_frame_mean(v, mask)

        steps = self.config.z_adversary_steps
        if not steps:
            ce, hit = self.z_adversary(mu, speakers)
            return mean(ce), {"z_speaker_ce": mean(ce).detach(), "z_speaker_acc": mean(hit).detach()}
        for _ in range(steps if ctx is not None else 0):
            ctx.step("z_adversary", mean(self.z_adversary(mu.detach(), speakers)[0]))
        with torch.no_grad():
            ce, hit = self.z_adversary(mu, speakers)
        with frozen(self.z_adversary):
            confusion = mean(self.z_adversary.confusion(mu))
        return self.config.z_adversary * confusion, {"z_speaker_ce": mean(ce), "z_speaker_acc": mean(hit),
                                                     "z_confusion": confusion.detach()}

    def cycle(self, x, target, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """CycleVAE's cycle (Tobing et al. 2019) from codes ``z`` of ``x``: each example decoded as a
        speaker drawn uniformly from the others, that conversion encoded again, a sample of its code
        decoded as the example's own speaker. (NLL of the way back against ``target``, KL of the
        conversion's code); every step of it differentiable."""
        own = self.speakers(x)
        n = len(self.config.speakers)
        to = (own + torch.randint(1, n, own.shape, device=own.device)) % n
        mu2, logvar2 = self.vae.encode(self.vae.decode(z, to))
        return self.nll(target, self.generate(reparameterize(mu2, logvar2), x)), self.kl(mu2, logvar2)

    def build(self, config: VAWGANVCConfig):
        n = len(config.speakers)
        return (SpeakerVAE(MODEL_DIM, config.hidden, config.latent, n, config.embed_dim, config.decoder_variance == "learned"),
                SpeakerCritic(MODEL_DIM, config.critic_hidden, n))

    def pair(self, batch):
        frames, speakers = batch
        return (frames, speakers), frames

    def encode(self, x):
        return self.vae.encode(x[0])

    def generate(self, z: torch.Tensor, x) -> torch.Tensor:
        return self.vae.decode(z, self.speakers(x))

    def critic_score(self, frames: torch.Tensor, x) -> torch.Tensor:
        return self.critic(frames, self.speakers(x))

    def adversary(self, x, target, z):
        frames, speakers = x[0], self.speakers(x)
        order = torch.randperm(len(speakers), device=speakers.device)
        to = speakers[order]
        return frames[order], self.vae.decode(z, to), AsSpeaker(self.critic, to)

    def speaker_index(self, name: str) -> int:
        if name not in self.config.speakers:
            raise VawganError(None, f"unknown speaker {name!r}; this model knows {', '.join(self.config.speakers)}")
        return self.config.speakers.index(name)

    @torch.no_grad()
    def codes(self, frames: torch.Tensor) -> torch.Tensor:
        """A normalized utterance (T, D), whole -> the code μ of each of its frames (T, latent)."""
        return self.vae.encode(frames)[0]

    @torch.no_grad()
    def decode_as(self, z: torch.Tensor, to: int) -> torch.Tensor:
        """Codes (T, latent) of an utterance -> the decoder's frames (T, D) for speaker ``to``."""
        return self.vae.decode(z, torch.full((len(z),), to, dtype=torch.long, device=z.device))

    @torch.no_grad()
    def convert(self, frames: torch.Tensor, to: int,
                move: Callable[[torch.Tensor], torch.Tensor] | None = None) -> torch.Tensor:
        """A normalized utterance (T, D), whole -> the decoder's frames for z = μ, or ``move``(μ) (the
        codes moved towards the target's: runs/vawgan_vc.py), and speaker ``to``."""
        z = self.codes(frames)
        return self.decode_as(move(z) if move is not None else z, to)


class SpeakerCrops(NamedTuple):
    """A conv VAWGAN-VC batch: crops of trajectories (B, L, 39), their speech frames (B, L) in {0, 1}
    (the likelihood's), and each crop's speaker (B,)."""

    frames: torch.Tensor
    speech: torch.Tensor
    speaker: torch.Tensor


class ConvVAWGANVCTask(VAWGANVCTask):
    """VAWGAN-VC over trajectories: the conv VAE with a latent per frame and a speaker-conditioned
    decoder (:class:`..models.speaker_vae.ConvSpeakerVAE`), and a speaker-conditional segment critic
    (:class:`..models.speaker_vae.SegmentSpeakerCritic`). The same answers as the frame task: the
    critic compares the batch's real crops, reordered, against crops converted to those crops' speakers."""

    def __init__(self, config: VAWGANVCConfig, extra: dict | None = None):
        check_conv_likelihood(config)
        super().__init__(config, extra)

    def build(self, config: VAWGANVCConfig):
        n = len(config.speakers)
        return (ConvSpeakerVAE(MODEL_DIM, config.channels, config.latent, config.kernel, config.dilations, n,
                               config.embed_dim),
                SegmentSpeakerCritic(segment_critic(config, cond_dim=n), n))

    def pair(self, batch):
        frames, speech, speakers = batch  # speakers: a label per frame, the same along a crop
        crops = SpeakerCrops(frames, speech, speakers[:, 0])
        return crops, crops

    def encode(self, x: SpeakerCrops):
        return self.vae.encode(x.frames)

    def generate(self, z: torch.Tensor, x: SpeakerCrops) -> torch.Tensor:
        return self.vae.decode(z, self.speakers(x))

    def speakers(self, x: SpeakerCrops) -> torch.Tensor:
        return x.speaker

    def speakers_of_codes(self, x: SpeakerCrops):
        """A code per frame of each crop, its crop's speaker; the speech frames count (the likelihood's)."""
        return self.speakers(x)[:, None].expand_as(x.speech), x.speech

    def nll(self, target: SpeakerCrops, y: torch.Tensor) -> torch.Tensor:
        return masked_nll(target.frames, y, target.speech)

    def critic_score(self, frames, x: SpeakerCrops) -> torch.Tensor:
        return self.critic(frames.frames if isinstance(frames, SpeakerCrops) else frames, self.speakers(x))

    def adversary(self, x: SpeakerCrops, target, z):
        own = self.speakers(x)
        order = torch.randperm(len(own), device=own.device)
        to = own[order]
        return x.frames[order], self.vae.decode(z, to), AsSpeaker(self.critic, to)

    @torch.no_grad()
    def codes(self, frames: torch.Tensor) -> torch.Tensor:
        return self.vae.encode(frames[None])[0][0]

    @torch.no_grad()
    def decode_as(self, z: torch.Tensor, to: int) -> torch.Tensor:
        """The whole trajectory of codes (T, latent) -> the decoder's trajectory (T, D) for speaker ``to``."""
        return self.vae.decode(z[None], torch.full((1,), to, dtype=torch.long, device=z.device))[0]


def vc_task(config: VAWGANVCConfig, extra: dict | None = None) -> VAWGANVCTask:
    """The VAWGAN-VC task of ``config.arch``."""
    return (ConvVAWGANVCTask if config.arch == "conv" else VAWGANVCTask)(config, extra)
