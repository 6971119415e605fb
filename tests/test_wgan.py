"""The shared Wasserstein critic update (tasks/wgan.py) against values computed here by hand."""

import pytest
import torch

from vawgan_tts.tasks.wgan import critic_step, generator_step, gradient_penalty, wgan_step
from vawgan_tts.trainer import StepContext


class Quadratic(torch.nn.Module):
    """D(x) = w · ½‖x‖² per sample: ∇D(x) = w·x, so the penalty is known in closed form."""

    def __init__(self, w=1.0):
        super().__init__()
        self.w = torch.nn.Parameter(torch.tensor(float(w), dtype=torch.float64))

    def forward(self, x):
        return self.w * 0.5 * (x**2).flatten(1).sum(1)


def test_gradient_penalty_by_hand_at_the_interpolates():
    real = torch.randn(16, 3, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    fake = 0.3 * torch.randn(16, 3, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    critic = Quadratic(0.7)
    torch.manual_seed(4)
    gp = gradient_penalty(critic, real, fake)
    torch.manual_seed(4)
    eps = torch.rand(16, 1, 1, dtype=torch.float64)  # one ε per sample, of the inputs' type
    x_hat = eps * real + (1 - eps) * fake
    expected = ((0.7 * x_hat.flatten(1).norm(dim=1) - 1.0) ** 2).mean()
    assert gp.item() == pytest.approx(expected.item(), rel=1e-12)
    # The penalty is differentiable in the critic's parameters (a double backward).
    gp.backward()
    assert critic.w.grad is not None and critic.w.grad.abs().item() > 0


class Recording(StepContext):
    def __init__(self, optimizers=None):
        super().__init__(optimizers or {}, 0.0)
        self.losses = {}

    def step(self, name, loss):
        self.losses.setdefault(name, []).append(loss.detach())
        if name in self.optimizers:
            super().step(name, loss)


def test_critic_step_loss_and_metrics_by_hand():
    real = torch.full((4, 2), 2.0, dtype=torch.float64)
    fake = torch.full((4, 2), 1.0, dtype=torch.float64)
    critic = Quadratic(1.0)
    ctx = Recording()
    torch.manual_seed(0)
    out = critic_step(critic, real, fake, ctx, "critic", "gp", 3.0, 0.01)
    # D(real) = ½·8 = 4, D(fake) = 1; interpolates x̂ = 1 + ε, ‖∇D(x̂)‖ = √2 (1 + ε).
    torch.manual_seed(0)
    eps = torch.rand(4, 1, dtype=torch.float64)
    gp = ((2**0.5 * (1 + eps[:, 0]) - 1) ** 2).mean().item()
    assert out["d_real"].item() == 4.0 and out["d_fake"].item() == 1.0 and out["w_distance"].item() == 3.0
    assert out["gp"].item() == pytest.approx(gp, rel=1e-12)
    assert out["critic_loss"].item() == pytest.approx(-3.0 + 3.0 * gp, rel=1e-12)
    assert ctx.losses["critic"][0].item() == pytest.approx(out["critic_loss"].item())
    out = critic_step(critic, real, fake, Recording(), "critic", "clip", 3.0, 0.01)
    assert out["gp"].item() == 0.0 and out["critic_loss"].item() == -3.0


def test_weight_clipping_clamps_each_weight_into_the_interval():
    critic = torch.nn.Linear(3, 2)
    with torch.no_grad():
        critic.weight.copy_(torch.tensor([[0.5, -0.5, 0.001], [-0.002, 0.0, 2.0]]))
        critic.bias.copy_(torch.tensor([-3.0, 0.003]))
    ctx = Recording({"critic": torch.optim.SGD(critic.parameters(), lr=0.0)})
    critic_step(critic, torch.randn(4, 3), torch.randn(4, 3), ctx, "critic", "clip", 10.0, 0.01)
    torch.testing.assert_close(critic.weight.detach(), torch.tensor([[0.01, -0.01, 0.001], [-0.002, 0.0, 0.01]]))
    torch.testing.assert_close(critic.bias.detach(), torch.tensor([-0.01, 0.003]))


def test_generator_step_raises_the_critic_score_and_leaves_the_critic_alone():
    torch.manual_seed(0)
    gen = torch.nn.Linear(2, 2)
    critic = torch.nn.Linear(2, 1)
    z = torch.randn(32, 2)
    before = critic(gen(z)).mean().item()
    critic_before = [p.detach().clone() for p in critic.parameters()]
    ctx = StepContext({"generator": torch.optim.SGD(gen.parameters(), lr=0.1)}, 0.0)
    g_loss = generator_step(critic, gen(z), ctx)
    assert g_loss.item() == pytest.approx(-before, rel=1e-6)
    assert critic(gen(z)).mean().item() > before
    assert all(p.grad is None for p in critic.parameters())
    assert all(torch.equal(a, b) for a, b in zip(critic_before, critic.parameters()))


def test_wgan_step_updates_the_generator_every_n_critic_th_batch():
    torch.manual_seed(0)
    gen = torch.nn.Linear(2, 2)
    critic = torch.nn.Linear(2, 1)
    ctx = Recording({"critic": torch.optim.SGD(critic.parameters(), lr=0.01),
                     "generator": torch.optim.SGD(gen.parameters(), lr=0.01)})
    with_g = []
    for i in range(7):
        ctx.step_index = i
        out = wgan_step(critic, torch.randn(8, 2), lambda n: gen(torch.randn(n, 2)), ctx, "critic", "gp", 10.0, 0.01, 3)
        with_g.append("g_loss" in out)
    assert with_g == [False, False, True, False, False, True, False]
    assert len(ctx.losses["critic"]) == 7 and len(ctx.losses["generator"]) == 2
