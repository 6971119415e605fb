"""The Wasserstein critic update shared by every adversarial task (VAWGAN, image WGAN, toy WGAN).

The critic maximizes E[D(x)] − E[D(x̃)] under a Lipschitz constraint, enforced either by clipping
its weights to [−c, c] after each step (Arjovsky et al. 2017) or by a gradient penalty
λ·E[(‖∇D(x̂)‖₂ − 1)²] on random interpolates x̂ (Gulrajani et al. 2017).
"""

from __future__ import annotations

import contextlib
from typing import Callable

import torch

from .base import StepContext


def gradient_penalty(critic: torch.nn.Module, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """E[(‖∇D(x̂)‖₂ − 1)²] at x̂ = εx + (1−ε)x̃, ε ~ U(0, 1) per sample. The penalty grows with any
    departure from unit norm: it never rewards large gradients. Works for any sample shape."""
    eps = torch.rand(real.shape[0], *([1] * (real.dim() - 1)), device=real.device, dtype=real.dtype)
    x_hat = (eps * real + (1 - eps) * fake).requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(x_hat).sum(), x_hat, create_graph=True)
    return ((grad.flatten(1).norm(2, dim=1) - 1.0) ** 2).mean()


def critic_step(critic: torch.nn.Module, real: torch.Tensor, fake: torch.Tensor, ctx: StepContext,
                optimizer: str, kind: str, gp_lambda: float, clip: float) -> dict[str, torch.Tensor]:
    """One critic update on ``real`` against (detached) ``fake``; returns detached metrics."""
    fake = fake.detach()
    d_real, d_fake = critic(real).mean(), critic(fake).mean()
    w_distance = d_real - d_fake
    loss = -w_distance
    gp = torch.zeros((), device=real.device)
    if kind == "gp":
        gp = gradient_penalty(critic, real, fake)
        loss = loss + gp_lambda * gp
    ctx.step(optimizer, loss)
    if kind == "clip":
        with torch.no_grad():
            for p in critic.parameters():
                p.clamp_(-clip, clip)
    return {"critic_loss": loss.detach(), "d_real": d_real.detach(), "d_fake": d_fake.detach(),
            "w_distance": w_distance.detach(), "gp": gp.detach()}


@contextlib.contextmanager
def frozen(module: torch.nn.Module):
    """No gradients into ``module``'s parameters inside the block (the critic during a generator
    update): its weights stay out of the generator's backward pass."""
    module.requires_grad_(False)
    try:
        yield
    finally:
        module.requires_grad_(True)


def generator_step(critic: torch.nn.Module, fake: torch.Tensor, ctx: StepContext,
                   optimizer: str = "generator") -> torch.Tensor:
    """One generator update on −E[D(G(z))]; returns the detached loss."""
    with frozen(critic):
        g_loss = -critic(fake).mean()
        ctx.step(optimizer, g_loss)
    return g_loss.detach()


def wgan_step(critic: torch.nn.Module, real: torch.Tensor, generate: Callable[[int], torch.Tensor],
              ctx: StepContext, critic_optimizer: str, kind: str, gp_lambda: float, clip: float,
              n_critic: int) -> dict[str, torch.Tensor]:
    """The WGAN schedule over batches: every batch updates the critic against ``generate(n)``;
    every ``n_critic``-th batch of the run (``ctx.step_index``, so resume keeps the rhythm) also
    updates the generator."""
    with torch.no_grad():
        fake = generate(len(real))
    out = critic_step(critic, real, fake, ctx, critic_optimizer, kind, gp_lambda, clip)
    if (ctx.step_index + 1) % n_critic == 0:
        out["g_loss"] = generator_step(critic, generate(len(real)), ctx)
    return out
