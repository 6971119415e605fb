"""The gen tasks' losses against their equations, computed here independently of the task code."""

import math

import pytest
import torch
import torch.nn.functional as F

from vawgan_tts.data.text import EOS_ID, PAD_ID, SOS_ID
from vawgan_tts.tasks.image_gan import ImageGANConfig, ImageGANTask
from vawgan_tts.tasks.image_vae import ImageVAEConfig, ImageVAETask
from vawgan_tts.tasks.seq2seq import Seq2SeqConfig, Seq2SeqTask
from vawgan_tts.trainer import StepContext


class Recording(StepContext):
    """Applies no update; keeps each optimizer's loss."""

    def __init__(self):
        super().__init__({}, 0.0)
        self.losses = {}

    def step(self, name, loss):
        self.losses.setdefault(name, []).append(loss.detach())


def test_seq2seq_loss_is_cross_entropy_over_the_unpadded_target_tokens():
    torch.manual_seed(0)
    vocab = ["<pad>", "<s>", "</s>", "<unk>", "a", "b", "c"]
    task = Seq2SeqTask(Seq2SeqConfig(emb=8, hidden=8, dropout=0.0), vocab, vocab)
    task.model.eval()
    src = torch.tensor([[4, 5, 6], [5, 4, PAD_ID]])
    src_len = torch.tensor([3, 2])
    tgt_in = torch.tensor([[SOS_ID, 6, 5], [SOS_ID, 4, PAD_ID]])
    tgt_out = torch.tensor([[6, 5, EOS_ID], [4, EOS_ID, PAD_ID]])
    loss, tokens = task.loss((src, src_len, tgt_in, tgt_out))
    assert tokens.item() == 5
    with torch.no_grad():
        logp = torch.log_softmax(task.model(src, src_len, tgt_in, 1.0).float(), -1)
    picks = [logp[b, t, tgt_out[b, t]] for b in range(2) for t in range(3) if tgt_out[b, t] != PAD_ID]
    assert loss.item() == pytest.approx(-(sum(picks) / 5).item(), rel=1e-5)
    # Without teacher forcing the decoder feeds back its own outputs: another loss.
    assert task.loss((src, src_len, tgt_in, tgt_out), 0.0)[0].item() != pytest.approx(loss.item(), rel=1e-4)
    # Training steps on that loss with the configured teacher forcing.
    ctx = Recording()
    out = task.train_step((src, src_len, tgt_in, tgt_out), "train", ctx)
    assert out["tokens"].item() == 5 and ctx.losses["model"][0].item() == pytest.approx(loss.item(), rel=1e-5)


def test_image_vae_loss_is_the_negative_elbo_per_image():
    torch.manual_seed(0)
    task = ImageVAETask(ImageVAEConfig(latent=3), (1, 4, 4))
    x = torch.rand(5, 1, 4, 4)
    out = task.losses(x, sample=False)
    with torch.no_grad():
        mu, logvar = task.vae.encode(x)
        p = torch.sigmoid(task.vae.decode(mu))
        rec = -(x * torch.log(p) + (1 - x) * torch.log(1 - p)).flatten(1).sum(1).mean()
        kl = (0.5 * (mu**2 + logvar.exp() - 1 - logvar)).sum(1).mean()
    assert out["rec"].item() == pytest.approx(rec.item(), rel=1e-5)
    assert out["kl"].item() == pytest.approx(kl.item(), rel=1e-5)
    assert out["loss"].item() == pytest.approx((rec + kl).item(), rel=1e-5)
    assert out["loss_per_pixel"].item() == pytest.approx((rec + kl).item() / 16, rel=1e-5)
    ctx = Recording()
    pixels = (x * 255).to(torch.uint8)
    torch.manual_seed(9)
    task.train_step(pixels, "vae", ctx)  # uint8 pixels come in, scaled to [0, 1]
    torch.manual_seed(9)
    sampled = task.losses(pixels.float() / 255, sample=True)["loss"].item()
    assert ctx.losses["vae"][0].item() == pytest.approx(sampled, rel=1e-6)
    assert sampled != pytest.approx(task.losses(pixels.float() / 255, sample=False)["loss"].item(), rel=1e-6)


def test_image_gan_losses_by_hand():
    torch.manual_seed(0)
    task = ImageGANTask(ImageGANConfig(loss="gan", z_dim=4), (1, 28, 28))
    x = torch.randint(0, 256, (6, 1, 28, 28), dtype=torch.uint8)
    ctx = Recording()
    torch.manual_seed(3)
    out = task.train_step(x, "gan", ctx)
    torch.manual_seed(3)
    with torch.no_grad():
        real = x.float() / 127.5 - 1.0
        fake = task.generator(torch.randn(6, 4))
        d_real, d_fake = task.discriminator(real), task.discriminator(fake)
    # D: −log σ(D(x)) − log(1 − σ(D(G(z)))); G (non-saturating): −log σ(D(G(z))).
    d_loss = -(F.logsigmoid(d_real).mean() + F.logsigmoid(-d_fake).mean())
    g_loss = -F.logsigmoid(d_fake).mean()
    assert out["d_loss"].item() == pytest.approx(d_loss.item(), rel=1e-5)
    assert out["g_loss"].item() == pytest.approx(g_loss.item(), rel=1e-5)
    assert out["d_real"].item() == pytest.approx(torch.sigmoid(d_real).mean().item(), rel=1e-5)
    assert out["d_fake"].item() == pytest.approx(torch.sigmoid(d_fake).mean().item(), rel=1e-5)
    assert {k: len(v) for k, v in ctx.losses.items()} == {"discriminator": 1, "generator": 1}


@pytest.mark.parametrize("critic", ["gp", "clip"])
def test_image_wgan_step_uses_the_configured_critic(critic):
    torch.manual_seed(0)
    task = ImageGANTask(ImageGANConfig(loss="wgan", z_dim=4, critic=critic, clip=0.005, gp_lambda=3.0, n_critic=2),
                        (1, 28, 28))
    x = torch.randint(0, 256, (6, 1, 28, 28), dtype=torch.uint8)
    ctx = Recording()
    out = task.train_step(x, "wgan", ctx)
    w = out["d_real"] - out["d_fake"]
    assert out["w_distance"].item() == pytest.approx(w.item(), rel=1e-5)
    if critic == "gp":
        assert out["gp"].item() > 0
        assert out["critic_loss"].item() == pytest.approx((-w + 3.0 * out["gp"]).item(), rel=1e-5)
    else:
        assert out["gp"].item() == 0 and out["critic_loss"].item() == pytest.approx(-w.item(), rel=1e-5)
        assert max(p.abs().max().item() for p in task.discriminator.parameters()) <= 0.005 + 1e-8
    assert "g_loss" not in out  # step 0 of n_critic = 2: the critic only
    assert set(ctx.losses) == {"discriminator"}
    ctx.step_index = 1
    assert "g_loss" in task.train_step(x, "wgan", ctx)


@pytest.mark.parametrize("critic", ["clip", "gp"])
def test_toy_wgan_step_scales_the_points_and_uses_its_critic(critic):
    from vawgan_tts.tasks.toy_wgan import ToyWGANConfig, ToyWGANTask

    torch.manual_seed(0)
    task = ToyWGANTask(ToyWGANConfig(critic=critic, clip=0.02, gp_lambda=0.5, n_critic=1, hidden=(8, 8), scale=2.0))
    x = torch.randn(16, 2) * 4
    ctx = StepContext({"critic": torch.optim.SGD(task.critic.parameters(), lr=0.0),
                       "generator": torch.optim.SGD(task.generator.parameters(), lr=0.0)}, 0.0)
    with torch.no_grad():  # before the step: clipping changes the critic's weights after it
        d_real = task.critic(x / 2.0).mean().item()
    out = task.train_step(x, "wgan", ctx)
    assert out["d_real"].item() == pytest.approx(d_real, rel=1e-6)
    if critic == "clip":
        assert max(p.abs().max().item() for p in task.critic.parameters()) <= 0.02 + 1e-8
        assert out["gp"].item() == 0.0
    else:
        assert out["gp"].item() > 0.0
        assert out["critic_loss"].item() == pytest.approx((-out["w_distance"] + 0.5 * out["gp"]).item(), rel=1e-5)
