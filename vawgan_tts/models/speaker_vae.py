"""The voice-conversion VAE of VAWGAN (Hsu et al. 2017): a speaker-independent code z from the
frame alone, and a decoder that rebuilds the frame from z and a learned speaker embedding, the
embedding fed to every layer (not only the first) so the speaker cannot be washed out in depth.
The conditional critic judges a frame as a frame of a given speaker; the code's speaker classifier,
through a reversed gradient, pushes the speaker out of z."""

from __future__ import annotations

import torch
from torch import nn

from .conv_vae import ConvVAE
from .gaussian import reparameterize
from .layers import mlp
from .segment_critic import SegmentCritic


class SpeakerDecoder(nn.Module):
    """z (J) and a speaker's embedding e (E) -> frame (D): every layer reads [h, e]."""

    def __init__(self, latent: int, hidden: tuple[int, ...], out_dim: int, n_speakers: int, embed_dim: int):
        super().__init__()
        self.embedding = nn.Embedding(n_speakers, embed_dim)
        sizes = [latent, *hidden, out_dim]
        self.layers = nn.ModuleList(nn.Linear(a + embed_dim, b) for a, b in zip(sizes[:-1], sizes[1:]))

    def forward(self, z: torch.Tensor, speaker: torch.Tensor) -> torch.Tensor:
        e = self.embedding(speaker)
        h = z
        for i, layer in enumerate(self.layers):
            h = layer(torch.cat([h, e], dim=-1))
            if i < len(self.layers) - 1:
                h = torch.relu(h)
        return h


class SpeakerVAE(nn.Module):
    """Encoder frame (D) -> (μ, log σ²) of z (J), as FrameVAE's; decoder (z, speaker) -> frame."""

    def __init__(self, dim: int, hidden: tuple[int, ...], latent: int, n_speakers: int, embed_dim: int = 16,
                 learn_variance: bool = False):
        super().__init__()
        self.encoder = mlp([dim, *hidden], final=nn.ReLU())
        self.to_mu = nn.Linear(hidden[-1], latent)
        self.to_logvar = nn.Linear(hidden[-1], latent)
        self.decoder = SpeakerDecoder(latent, tuple(reversed(hidden)), dim, n_speakers, embed_dim)
        self.obs_logvar = nn.Parameter(torch.zeros(dim), requires_grad=learn_variance)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.encoder(x)
        return self.to_mu(h), self.to_logvar(h)

    def decode(self, z: torch.Tensor, speaker: torch.Tensor) -> torch.Tensor:
        return self.decoder(z, speaker)

    sample = staticmethod(reparameterize)


class SpeakerCritic(nn.Module):
    """A Wasserstein critic of (frame, speaker): an MLP over the frame and a one-hot speaker code.
    One critic for every speaker (docs/design.md says why)."""

    def __init__(self, dim: int, hidden: tuple[int, ...], n_speakers: int):
        super().__init__()
        self.n_speakers = n_speakers
        self.net = mlp([dim + n_speakers, *hidden, 1])

    def forward(self, x: torch.Tensor, speaker: torch.Tensor) -> torch.Tensor:
        onehot = nn.functional.one_hot(speaker, self.n_speakers).to(x.dtype)
        return self.net(torch.cat([x, onehot], dim=-1)).squeeze(-1)


class _ReverseGradient(torch.autograd.Function):
    """The identity forward; backward, the gradient times −``weight`` (Ganin & Lempitsky 2015)."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, weight: float) -> torch.Tensor:
        ctx.weight = weight
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        return -ctx.weight * grad, None


class CodeSpeakerClassifier(nn.Module):
    """Which speaker a code μ came from: an MLP over μ (..., J) -> speaker logits (..., S), read through
    a gradient reversal layer (Ganin & Lempitsky 2015, "Unsupervised domain adaptation by
    backpropagation"). One loss, its cross-entropy, trains both sides: the classifier's weights descend
    it, and the encoder, which receives the gradient times −``weight``, ascends it, so that z carries
    as little of the speaker as the classifier can find. The decoder, which is given the speaker, is
    then left to supply it (Chou et al. 2018 train an adversarial speaker classifier on the code of a
    conversion autoencoder to this end)."""

    def __init__(self, latent: int, hidden: tuple[int, ...], n_speakers: int, weight: float):
        super().__init__()
        self.weight = weight
        self.net = mlp([latent, *hidden, n_speakers])

    def forward(self, mu: torch.Tensor, speaker: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Codes (..., J) and their speakers (...) -> (cross-entropy per code (...), whether the
        classifier named the speaker (...) in {0., 1.})."""
        logits = self.net(_ReverseGradient.apply(mu, self.weight))
        ce = nn.functional.cross_entropy(logits.flatten(0, -2), speaker.flatten(), reduction="none")
        hit = (logits.argmax(-1) == speaker).to(mu.dtype)
        return ce.view(speaker.shape), hit

    def confusion(self, mu: torch.Tensor) -> torch.Tensor:
        """The domain-confusion loss of codes (..., J) (Tzeng et al. 2015): the cross-entropy between
        the uniform distribution over speakers and the classifier's posterior, per code (...); least
        where the classifier cannot tell the speakers apart, with no reward for naming the wrong one.
        No reversal: the encoder descends it, the classifier, trained apart, is held fixed."""
        return -nn.functional.log_softmax(self.net(mu), dim=-1).mean(-1)


class AsSpeaker(nn.Module):
    """The critic with the speaker fixed: a module of the frame alone, for the shared critic step
    (its gradient penalty differentiates with respect to the frames only)."""

    def __init__(self, critic: SpeakerCritic, speaker: torch.Tensor):
        super().__init__()
        self.critic = critic
        self.speaker = speaker

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.critic(x, self.speaker)


class ConvSpeakerVAE(nn.Module):
    """The conv VAE over trajectories (:class:`.conv_vae.ConvVAE`: a latent per frame, the encoder
    reads the trajectory alone) whose decoder reads a learned speaker embedding beside z at every
    frame: (B, T, D) -> (μ, log σ²) each (B, T, J); (z (B, T, J), speaker (B,)) -> (B, T, D).
    The embedding enters at the decoder's input only (the frame decoder feeds it to every layer);
    the stack is four convolutions deep, and conversion to the embedding is measured, not assumed."""

    def __init__(self, dim: int, channels: tuple[int, ...], latent: int, kernel: int, dilations: tuple[int, ...],
                 n_speakers: int, embed_dim: int = 16):
        super().__init__()
        self.embedding = nn.Embedding(n_speakers, embed_dim)
        self.conv = ConvVAE(dim, channels, latent, kernel, dilations, cond_dim=embed_dim)
        self.obs_logvar = self.conv.obs_logvar
        self.receptive_field = self.conv.receptive_field

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.conv.encode(x)

    def decode(self, z: torch.Tensor, speaker: torch.Tensor) -> torch.Tensor:
        e = self.embedding(speaker)[:, None, :].expand(-1, z.shape[1], -1)
        return self.conv.decode(z, e)

    sample = staticmethod(reparameterize)


class SegmentSpeakerCritic(nn.Module):
    """The segment critic (:class:`.segment_critic.SegmentCritic`, built with ``n_speakers`` condition
    channels) of (trajectory, speaker): a one-hot speaker code read beside the frames at every
    position. (B, T, D), (B,) -> (B,)."""

    def __init__(self, segments: SegmentCritic, n_speakers: int):
        super().__init__()
        self.n_speakers = n_speakers
        self.segments = segments  # built with n_speakers condition channels

    def forward(self, x: torch.Tensor, speaker: torch.Tensor) -> torch.Tensor:
        onehot = nn.functional.one_hot(speaker, self.n_speakers).to(x.dtype)
        return self.segments(x, onehot[:, None, :].expand(-1, x.shape[1], -1))
