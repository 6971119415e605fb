"""Image models: MLP and convolutional VAEs (Bernoulli decoders: they output logits), and the
MLP GAN generator / discriminator (also the WGAN critic: same network, unbounded score)."""

from __future__ import annotations

import math

from torch import nn

from .layers import mlp


class MLPVAE(nn.Module):
    """784 → 400 → (μ, log σ²) of ``latent`` → 400 → 784 logits (Kingma & Welling 2014)."""

    def __init__(self, shape: tuple[int, int, int], latent: int = 20, hidden: int = 400):
        super().__init__()
        self.shape, self.latent = tuple(shape), latent
        d = math.prod(shape)
        self.enc = mlp([d, hidden], final=nn.ReLU())
        self.stats = nn.Linear(hidden, 2 * latent)
        self.dec = mlp([latent, hidden, d])

    def encode(self, x):
        return self.stats(self.enc(x.flatten(1))).chunk(2, dim=-1)

    def decode(self, z):
        return self.dec(z).view(-1, *self.shape)


class ConvVAE(nn.Module):
    """Two stride-2 convolutions (32, 64 channels) → (μ, log σ²); a dense layer and two stride-2
    transposed convolutions (32, 32 channels) back, then a 3×3 convolution to logits: the layout of
    TensorFlow's CVAE tutorial with a lighter decoder (≈ 20 MFLOP per 28×28 image forward instead of
    ≈ 40). H and W divisible by 4."""

    def __init__(self, shape: tuple[int, int, int], latent: int = 2):
        super().__init__()
        c, h, w = self.shape = tuple(shape)
        if h % 4 or w % 4:
            raise ValueError(f"conv VAE needs image sides divisible by 4, got {h}×{w}")
        self.latent = latent
        self.small = (64, h // 4, w // 4)
        self.enc = nn.Sequential(
            nn.Conv2d(c, 32, 3, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(32, 64, 3, stride=2, padding=1), nn.ReLU(), nn.Flatten(),
        )
        self.stats = nn.Linear(math.prod(self.small), 2 * latent)
        self.fc = nn.Sequential(nn.Linear(latent, math.prod(self.small)), nn.ReLU())
        self.dec = nn.Sequential(
            nn.ConvTranspose2d(64, 32, 3, stride=2, padding=1, output_padding=1), nn.ReLU(),
            nn.ConvTranspose2d(32, 32, 3, stride=2, padding=1, output_padding=1), nn.ReLU(),
            nn.Conv2d(32, c, 3, padding=1),
        )

    def encode(self, x):
        return self.stats(self.enc(x)).chunk(2, dim=-1)

    def decode(self, z):
        return self.dec(self.fc(z).view(-1, *self.small))


class Generator(nn.Module):
    """z (100) → 128 → 256 → 512 → 1024 → image in [−1, 1]; batch norm after every hidden layer but
    the first, LeakyReLU(0.2), tanh out."""

    def __init__(self, shape: tuple[int, int, int], z_dim: int = 100, hidden=(128, 256, 512, 1024)):
        super().__init__()
        self.shape, self.z_dim = tuple(shape), z_dim
        layers: list[nn.Module] = []
        prev = z_dim
        for i, h in enumerate(hidden):
            layers.append(nn.Linear(prev, h))
            if i > 0:
                layers.append(nn.BatchNorm1d(h))
            layers.append(nn.LeakyReLU(0.2))
            prev = h
        layers += [nn.Linear(prev, math.prod(shape)), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, z):
        return self.net(z).view(-1, *self.shape)


class Discriminator(nn.Module):
    """image → 512 → 256 → 1 with LeakyReLU(0.2): a logit for the GAN, a score for the WGAN critic."""

    def __init__(self, shape: tuple[int, int, int], hidden=(512, 256)):
        super().__init__()
        self.net = mlp([math.prod(shape), *hidden, 1], activation=lambda: nn.LeakyReLU(0.2))

    def forward(self, x):
        return self.net(x.flatten(1)).squeeze(-1)
