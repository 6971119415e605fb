"""The diagonal Gaussian posterior every VAE here uses: sampling by reparameterization and its KL
divergence from the standard normal prior (Kingma & Welling 2014, appendix B)."""

from __future__ import annotations

import torch


def reparameterize(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """z = μ + ε·σ, ε ~ N(0, I): a sample of N(μ, diag σ²) through which gradients reach μ and log σ²."""
    return mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)


def kl_to_standard_normal(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(μ, diag σ²) ‖ N(0, I)) per latent dimension, unreduced: −½ (1 + log σ² − μ² − σ²)."""
    return -0.5 * (1 + logvar - mu**2 - torch.exp(logvar))
