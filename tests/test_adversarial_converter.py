"""The adversarial converter's step math: which parameters each update may touch, and L_G's balance."""

import pytest
import torch

from vawgan_tts.tasks.adversarial_converter import AdversarialConverterConfig, AdversarialConverterTask
from vawgan_tts.tasks.dnn_converter import DNNConverterConfig
from vawgan_tts.tasks.wgan import frozen
from vawgan_tts.trainer import StepContext


def _task(**kw):
    torch.manual_seed(0)
    dnn = DNNConverterConfig(context=1, hidden=16, layers=2)
    task = AdversarialConverterTask(dnn, AdversarialConverterConfig(**kw), dim_in=5, dim_out=9, static_dim=3)
    ctx = StepContext(task.make_optimizers(), grad_clip=0.0)
    x, y = torch.randn(32, 15), torch.randn(32, 9)
    return task, ctx, x, y


def _params(m):
    return [p.detach().clone() for p in m.parameters()]


def _changed(before, m):
    return any(not torch.equal(a, b) for a, b in zip(before, m.parameters()))


def test_critic_stage_never_touches_the_generator():
    task, ctx, x, y = _task()
    g0, c0 = _params(task.model), _params(task.critic)
    out = task.train_step((x, y), "critic", ctx)
    assert not _changed(g0, task.model) and _changed(c0, task.critic)
    assert all(p.grad is None for p in task.model.parameters())  # no generator parameter received a gradient
    assert set(out) == {"critic_loss", "d_real", "d_fake", "w_distance", "gp"}


def test_generator_loss_gives_the_critic_no_gradient():
    task, ctx, x, y = _task()
    for p in task.critic.parameters():
        p.grad = None
    with frozen(task.critic):
        task.generator_loss(x, y)["loss"].backward()
    assert all(p.grad is None for p in task.critic.parameters())
    assert all(p.grad is not None for p in task.model.parameters())


def test_adv_stage_updates_both_and_logs_every_term():
    task, ctx, x, y = _task()
    g0, c0 = _params(task.model), _params(task.critic)
    out = task.train_step((x, y), "adv", ctx)
    assert _changed(g0, task.model) and _changed(c0, task.critic)
    assert set(task.metric_names) == set(out)


@pytest.mark.parametrize("w", [0.0, 0.5, 2.0])
def test_the_adversarial_term_is_w_times_the_mse_in_magnitude(w):
    task, ctx, x, y = _task(adv_weight=w)
    g = {k: v.detach() for k, v in task.generator_loss(x, y).items()}
    # scale = |MSE / L_ADV|: the adversarial term's magnitude is w · MSE whatever the critic's range.
    assert float(g["loss"] - g["mse"]) == pytest.approx(w * float(g["mse"]) * float(torch.sign(g["adv_loss"])), rel=1e-5)
    with torch.no_grad():
        assert float(g["mse"]) == pytest.approx(float(((task.model(x) - y) ** 2).mean()), rel=1e-6)


def test_n_critic_updates_the_critic_that_often_per_generator_step():
    task, ctx, x, y = _task(n_critic=3)
    steps = []
    original = ctx.step
    ctx.step = lambda name, loss: (steps.append(name), original(name, loss))
    task.train_step((x, y), "adv", ctx)
    assert steps == ["critic", "critic", "critic", "model"]
    steps.clear()
    task.train_step((x, y), "critic", ctx)
    assert steps == ["critic"]
