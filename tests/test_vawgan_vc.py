"""VAWGAN voice conversion: the speaker-conditioned decoder and critic, the shared step rules, the
non-parallel split, `vawgan train-vc` and `vawgan convert --to` on real slt and Allison features."""

import dataclasses
import json
import math

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from vawgan_tts.cli.vawgan import app
from vawgan_tts.data.frames import load_frames, normalize
from vawgan_tts.errors import VawganError
from vawgan_tts.features import FeatureStats
from vawgan_tts.models.speaker_vae import AsSpeaker, SpeakerCritic
from vawgan_tts.runs.vawgan_vc import deal
from vawgan_tts.tasks.vawgan_vc import VAWGANVCConfig, VAWGANVCTask
from vawgan_tts.tasks.wgan import gradient_penalty
from vawgan_tts.trainer import StepContext, seed_everything

from conftest import PARALLEL_PROMPTS, RecordingContext

runner = CliRunner()


@pytest.fixture(scope="module")
def batch(parallel):
    """Real frames of two speakers (flite slt, Allison), normalized together, with speaker labels."""
    slt, natural = parallel
    a, b = load_frames(natural, PARALLEL_PROMPTS[:3], 30.0), load_frames(slt, PARALLEL_PROMPTS[3:6], 30.0)
    frames = np.concatenate([a, b])
    x = torch.from_numpy(normalize(frames, FeatureStats.from_frames(frames)))
    labels = torch.from_numpy(np.r_[np.zeros(len(a), np.int64), np.ones(len(b), np.int64)])
    idx = torch.from_numpy(np.random.default_rng(0).permutation(len(x))[:256])
    return x[idx], labels[idx]


def _task(**kw):
    seed_everything(0)
    return VAWGANVCTask(VAWGANVCConfig(speakers=("allison", "slt"), **kw))


def _train_vc(parallel, tmp_path, conf: str, *options: str):
    """`vawgan train-vc allison=… slt=…` on the first six parallel prompts (tmp_path/train.ids) with the
    config text ``conf`` and further ``options``: the experiment folder, trained."""
    slt, natural = parallel
    (tmp_path / "train.ids").write_text("\n".join(PARALLEL_PROMPTS[:6]) + "\n")
    (tmp_path / "vc.toml").write_text(conf)
    exp = tmp_path / "exp"
    r = runner.invoke(app, ["train-vc", f"allison={natural}", f"slt={slt}", "-o", str(exp), "--ids",
                            str(tmp_path / "train.ids"), "-c", str(tmp_path / "vc.toml"), *options])
    assert r.exit_code == 0, r.output
    return exp


def test_the_speaker_embedding_changes_the_decoder_output_and_z_does_not_see_the_speaker(batch):
    x, labels = batch
    task = _task()
    mu_a, logvar_a = task.encode((x, torch.zeros_like(labels)))
    mu_b, logvar_b = task.encode((x, torch.ones_like(labels)))
    torch.testing.assert_close(mu_a, mu_b, rtol=0, atol=0)  # the code is the same whatever speaker is given
    torch.testing.assert_close(logvar_a, logvar_b, rtol=0, atol=0)
    with torch.no_grad():
        out_a, out_b = task.convert(x, 0), task.convert(x, 1)
    assert (out_a - out_b).abs().mean() > 1e-3
    # The embedding reaches every layer: each layer's input holds it.
    sizes = [layer.in_features for layer in task.vae.decoder.layers]
    assert sizes == [16 + 16, 128 + 16, 256 + 16]


def test_encoder_gradient_of_the_adversarial_step_does_not_depend_on_the_adversarial_weight(batch):
    """The generator is the decoder only: the same step at adv_weight 0 and 1 gives the encoder the
    same gradient (L_vae's), and the decoder a different one."""
    x, labels = batch
    grads = {}
    for w in (0.0, 1.0):
        task = _task(adv_weight=w)
        ctx = RecordingContext(task.make_optimizers())
        torch.manual_seed(3)
        task.train_step((x, labels), "adv", ctx)
        grads[w] = (task, ctx.grads["vae"])
    (t0, g0), (t1, g1) = grads[0.0], grads[1.0]
    for p0, p1 in zip(t0.vae.encoder.parameters(), t1.vae.encoder.parameters()):
        torch.testing.assert_close(g0[id(p0)], g1[id(p1)], rtol=1e-5, atol=1e-7)
    dec = [(g0[id(p0)], g1[id(p1)]) for p0, p1 in zip(t0.vae.decoder.parameters(), t1.vae.decoder.parameters())]
    assert any(not torch.allclose(a, b) for a, b in dec)


def test_the_critic_step_leaves_the_vae_alone_and_judges_converted_frames_as_their_target_speaker(batch):
    x, labels = batch
    task = _task()
    before = [p.detach().clone() for p in task.vae.parameters()]
    critic_before = [p.detach().clone() for p in task.critic.parameters()]
    out = task.train_step((x, labels), "critic", StepContext(task.make_optimizers(), 0.0))
    assert all(torch.equal(a, p) for a, p in zip(before, task.vae.parameters()))
    assert any(not torch.equal(a, p) for a, p in zip(critic_before, task.critic.parameters()))
    assert set(out) >= {"critic_loss", "d_real", "d_fake", "w_distance", "gp"}
    # The adversary pairs each converted frame with a real frame of the speaker it was converted to.
    torch.manual_seed(0)
    real, fake, judge = task.adversary((x, labels), x, task.encode((x, labels))[0])
    torch.manual_seed(0)
    order = torch.randperm(len(labels))
    torch.testing.assert_close(real, x[order])
    assert torch.equal(judge.speaker, labels[order])
    torch.testing.assert_close(fake, task.vae.decode(task.encode((x, labels))[0], labels[order]))


def test_the_conditional_critic_gradient_penalty_penalizes_any_departure_from_unit_norm():
    torch.manual_seed(0)
    critic = SpeakerCritic(39, (8,), 3)
    critic.net = torch.nn.Sequential(torch.nn.Linear(39 + 3, 1))  # linear: the gradient in x is known
    w = critic.net[0].weight.detach()[0, :39].norm().item()
    judge = AsSpeaker(critic, torch.randint(0, 3, (64,)))
    real, fake = torch.randn(64, 39), torch.randn(64, 39)
    assert gradient_penalty(judge, real, fake).item() == pytest.approx((w - 1.0) ** 2, rel=1e-5)
    with torch.no_grad():
        critic.net[0].weight[0, :39].mul_(3.0 / w)
    assert gradient_penalty(judge, real, fake).item() == pytest.approx(4.0, rel=1e-5)  # (3 − 1)²


def _code_ce_gradients(task, x, labels):
    """Reference: the gradients of the classifier's plain cross-entropy on μ (no reversal) with
    respect to the encoder's and the classifier's parameters."""
    mu, _ = task.encode((x, labels))
    ce = torch.nn.functional.cross_entropy(task.z_adversary.net(mu), labels)
    params = [*task.vae.encoder.parameters(), *task.vae.to_mu.parameters(), *task.z_adversary.parameters()]
    return ce, dict(zip(map(id, params), torch.autograd.grad(ce, params)))


@pytest.mark.parametrize("stage", ["vae", "adv"])
def test_the_code_classifier_descends_its_cross_entropy_and_the_encoder_ascends_it_times_the_weight(batch, stage):
    """z_adversary = w adds the speaker classifier's cross-entropy on μ to L_vae, in both stages that
    train the encoder: the classifier gets its plain gradient, the encoder −w times it, the decoder
    nothing from it; its figures are logged."""
    x, labels = batch
    w = 0.7
    grads = {}
    for weight in (0.0, w):
        task = _task(z_adversary=weight)  # same seed: the same VAE and critic, the classifier built last
        ctx = RecordingContext(task.make_optimizers())
        torch.manual_seed(3)
        out = task.train_step((x, labels), stage, ctx)
        grads[weight] = (task, ctx.grads["vae"], out)
    (t0, g0, out0), (tw, gw, outw) = grads[0.0], grads[w]
    assert t0.z_adversary is None and "z_speaker_ce" not in out0 and "z_adversary" not in t0.modules()
    assert tw.modules()["z_adversary"] is tw.z_adversary and tw.metric_names[-2:] == ("z_speaker_ce", "z_speaker_acc")
    ce, ref = _code_ce_gradients(tw, x, labels)
    assert outw["z_speaker_ce"].item() == pytest.approx(ce.item(), rel=1e-6)
    with torch.no_grad():
        logits = tw.z_adversary.net(tw.encode((x, labels))[0])
    assert outw["z_speaker_acc"].item() == pytest.approx((logits.argmax(-1) == labels).float().mean().item())
    for p in tw.z_adversary.parameters():  # the classifier descends the cross-entropy
        torch.testing.assert_close(gw[id(p)], ref[id(p)], rtol=1e-4, atol=1e-7)
    encoder = zip([*t0.vae.encoder.parameters(), *t0.vae.to_mu.parameters()],
                  [*tw.vae.encoder.parameters(), *tw.vae.to_mu.parameters()])
    for p0, pw in encoder:  # the encoder gets L_vae's gradient and −w times the classifier's
        torch.testing.assert_close(gw[id(pw)] - g0[id(p0)], -w * ref[id(pw)], rtol=1e-3, atol=1e-6)
    for p0, pw in zip(t0.vae.decoder.parameters(), tw.vae.decoder.parameters()):
        torch.testing.assert_close(gw[id(pw)], g0[id(p0)], rtol=1e-5, atol=1e-7)


def test_the_adversarial_stage_own_optimizer_also_trains_the_code_classifier(batch):
    x, labels = batch
    task = _task(z_adversary=0.5, adv_lr=1e-4)
    optimizers = task.make_optimizers()
    stepped = {name: {id(p) for g in opt.param_groups for p in g["params"]} for name, opt in optimizers.items()}
    classifier = {id(p) for p in task.z_adversary.parameters()}
    assert classifier <= stepped["vae"] and classifier <= stepped["adv_vae"]
    assert not classifier & stepped["critic"]
    assert {id(p) for p in task.vae.parameters()} <= stepped["adv_vae"]
    assert optimizers["adv_vae"].defaults["lr"] == 1e-4 and optimizers["adv_vae"].defaults["betas"] == (0.5, 0.9)
    assert "adv_vae" not in _task(z_adversary=0.5).make_optimizers()  # adv_lr = 0: the VAE's own goes on
    extra = {"mean": torch.zeros(39)}
    assert VAWGANVCTask(VAWGANVCConfig(speakers=("a", "b"), z_adversary=0.5), extra).extra is extra


class _CountingContext(RecordingContext):
    """RecordingContext that also counts the steps asked of each optimizer."""

    def __init__(self, optimizers):
        super().__init__(optimizers)
        self.count = {}

    def step(self, name, loss):
        self.count[name] = self.count.get(name, 0) + 1
        super().step(name, loss)


@pytest.mark.parametrize("stage", ["vae", "adv"])
def test_a_classifier_trained_apart_takes_its_steps_and_the_encoder_descends_its_confusion(batch, stage):
    """z_adversary_steps = k: the classifier has an Adam of its own and takes k steps per step on the
    codes held fixed (its plain cross-entropy); the encoder gets L_vae's gradient plus w times the
    confusion loss's (the cross-entropy of the uniform distribution to the classifier's posterior),
    the classifier nothing from the VAE's loss."""
    x, labels = batch
    w, k = 0.4, 3
    grads = {}
    for weight in (0.0, w):
        task = _task(z_adversary=weight, z_adversary_steps=k)
        ctx = _CountingContext(task.make_optimizers())
        torch.manual_seed(3)
        out = task.train_step((x, labels), stage, ctx)
        grads[weight] = (task, ctx, out)
    (t0, c0, _), (tw, cw, outw) = grads[0.0], grads[w]
    classifier = [*tw.z_adversary.parameters()]
    optimizers = tw.make_optimizers()
    assert {id(p) for g in optimizers["z_adversary"].param_groups for p in g["params"]} == set(map(id, classifier))
    assert not set(map(id, classifier)) & {id(p) for g in optimizers["vae"].param_groups for p in g["params"]}
    assert cw.count["z_adversary"] == k and "z_adversary" not in c0.count
    mu, _ = tw.encode((x, labels))
    ce = torch.nn.functional.cross_entropy(tw.z_adversary.net(mu.detach()), labels)
    for p, g in zip(classifier, torch.autograd.grad(ce, classifier)):
        torch.testing.assert_close(cw.grads["z_adversary"][id(p)], g, rtol=1e-4, atol=1e-7)
    encoder = [*tw.vae.encoder.parameters(), *tw.vae.to_mu.parameters()]
    confusion = (-torch.log_softmax(tw.z_adversary.net(mu), -1).mean(-1)).mean()
    ref = torch.autograd.grad(confusion, encoder)
    for p0, pw, g in zip([*t0.vae.encoder.parameters(), *t0.vae.to_mu.parameters()], encoder, ref):
        torch.testing.assert_close(cw.grads["vae"][id(pw)] - c0.grads["vae"][id(p0)], w * g, rtol=1e-3, atol=1e-6)
    assert outw["z_confusion"].item() == pytest.approx(confusion.item(), rel=1e-5)
    assert outw["z_speaker_ce"].item() == pytest.approx(ce.item(), rel=1e-5)
    hits = (tw.z_adversary.net(mu).argmax(-1) == labels).float().mean()
    assert outw["z_speaker_acc"].item() == pytest.approx(hits.item())
    assert tw.metric_names[-3:] == ("z_speaker_ce", "z_speaker_acc", "z_confusion")
    assert tw.z_adversary.weight == 1.0  # trained apart, nothing is reversed


def test_conv_code_classifier_counts_the_speech_frames_of_each_crop_as_its_speaker():
    from vawgan_tts.tasks.vawgan_vc import ConvVAWGANVCTask, SpeakerCrops

    seed_everything(0)
    task = ConvVAWGANVCTask(VAWGANVCConfig(speakers=("a", "b", "c"), arch="conv", channels=(8,), dilations=(1,),
                                           critic_channels=(8,), critic_scales=(1,), segment=16, z_adversary=0.5))
    frames = torch.randn(2, 16, 39)
    speech = torch.ones(2, 16)
    speech[0, :5] = 0
    speech[1, 10:] = 0
    crops = SpeakerCrops(frames, speech, torch.tensor([2, 0]))
    mu, _ = task.encode(crops)
    ce, logged = task.further_loss(crops, crops, mu, None, None, 0.1)
    per_frame = torch.nn.functional.cross_entropy(task.z_adversary.net(mu).transpose(1, 2),
                                                  torch.tensor([[2] * 16, [0] * 16]), reduction="none")
    torch.testing.assert_close(ce, (per_frame * speech).sum() / speech.sum())
    assert logged["z_speaker_ce"].item() == pytest.approx(ce.item())


def test_the_cycle_converts_to_another_speaker_encodes_again_and_decodes_as_the_own_speaker(batch):
    """CycleVAE's term against a reference built by hand from the same draws: the conversion's
    speaker is never the frame's own, the way back is scored against the frame, and the term enters
    L_vae times its weight with the step's KL weight."""
    from vawgan_tts.models.gaussian import kl_to_standard_normal

    x, labels = batch
    labels = labels.clone()
    labels[::3] = 2  # three speakers, so the other speaker is a draw
    seed_everything(0)
    task = VAWGANVCTask(VAWGANVCConfig(speakers=("allison", "slt", "rms"), cycle_weight=2.0))
    mu, logvar = task.encode((x, labels))
    z = mu + 0.1
    decoded_as = []  # the speakers the cycle decodes as, in order
    decode = task.vae.decode
    task.vae.decode = lambda z_, speaker: decoded_as.append(speaker) or decode(z_, speaker)
    torch.manual_seed(5)
    nll, kl = task.cycle((x, labels), x, z)
    task.vae.decode = decode
    torch.manual_seed(5)
    to = (labels + torch.randint(1, 3, labels.shape)) % 3
    assert not (to == labels).any() and set(to[labels == 0].tolist()) == {1, 2}
    assert len(decoded_as) == 2 and torch.equal(decoded_as[0], to) and torch.equal(decoded_as[1], labels)
    mu2, logvar2 = task.vae.encode(task.vae.decode(z, to))
    back = task.vae.decode(mu2 + torch.exp(0.5 * logvar2) * torch.randn_like(mu2), labels)
    torch.testing.assert_close(nll, (0.5 * (math.log(2 * math.pi) + (x - back) ** 2)).mean())
    torch.testing.assert_close(kl, kl_to_standard_normal(mu2, logvar2).mean())
    torch.manual_seed(5)
    loss, logged = task.further_loss((x, labels), x, mu, logvar, z, 0.25)
    torch.testing.assert_close(loss, 2.0 * (nll + 0.25 * kl))
    assert logged["cycle_nll"] == nll and logged["cycle_kl"] == kl
    assert task.metric_names[-2:] == ("cycle_nll", "cycle_kl")
    # With the code's classifier too, both terms are added and both logged.
    seed_everything(0)
    both = VAWGANVCTask(VAWGANVCConfig(speakers=("allison", "slt", "rms"), cycle_weight=0.5, z_adversary=0.3))
    assert both.metric_names[-4:] == ("z_speaker_ce", "z_speaker_acc", "cycle_nll", "cycle_kl")
    torch.manual_seed(5)
    nll, kl = both.cycle((x, labels), x, z)
    ce, _ = both.z_adversary(mu, labels)
    torch.manual_seed(5)
    loss, logged = both.further_loss((x, labels), x, mu, logvar, z, 0.25)
    torch.testing.assert_close(loss, ce.mean() + 0.5 * (nll + 0.25 * kl))
    assert set(logged) == {"z_speaker_ce", "z_speaker_acc", "cycle_nll", "cycle_kl"}
    # A weight of 1 is on; 0 is off, with nothing logged.
    assert "cycle_nll" in VAWGANVCTask(VAWGANVCConfig(speakers=("a", "b"), cycle_weight=1.0)).metric_names
    off = VAWGANVCTask(VAWGANVCConfig(speakers=("a", "b")))
    assert "cycle_nll" not in off.metric_names and off.further_loss((x, labels), x, mu, logvar, z, 0.25) == (0.0, {})


def test_the_cycle_trains_the_decoder_on_the_speakers_a_batch_is_converted_to(batch):
    """A batch of one speaker's frames: without the cycle the other speakers' embeddings get no
    gradient (the decoder only reconstructs); with it they do, in both stages that train the VAE."""
    x, _ = batch
    labels = torch.zeros(len(x), dtype=torch.long)
    for stage in ("vae", "adv"):
        for weight in (0.0, 1.0):
            task = VAWGANVCTask(VAWGANVCConfig(speakers=("allison", "slt", "rms"), cycle_weight=weight))
            ctx = RecordingContext(task.make_optimizers())
            torch.manual_seed(3)
            out = task.train_step((x, labels), stage, ctx)
            grad = ctx.grads["vae"][id(task.vae.decoder.embedding.weight)]
            others = grad[1:].abs().sum().item()
            if weight == 0:  # (the adversarial stage's critic judges conversions to the batch's own speakers)
                assert others == 0 and "cycle_nll" not in out, stage
            else:
                assert others > 0 and out["cycle_nll"] > 0, stage


def test_conv_confusion_counts_the_speech_frames_and_without_a_step_context_takes_no_steps():
    """The confusion loss of a conv task by hand: per frame, the mean over speakers of −log posterior,
    averaged over the speech frames; called without the step's context, the classifier takes no step."""
    from vawgan_tts.tasks.vawgan_vc import ConvVAWGANVCTask, SpeakerCrops

    seed_everything(0)
    task = ConvVAWGANVCTask(VAWGANVCConfig(speakers=("a", "b", "c"), arch="conv", channels=(8,), dilations=(1,),
                                           critic_channels=(8,), critic_scales=(1,), segment=16, z_adversary=0.5,
                                           z_adversary_steps=2))
    frames, speech = torch.randn(2, 16, 39), torch.ones(2, 16)
    speech[0, :6] = 0
    crops = SpeakerCrops(frames, speech, torch.tensor([2, 0]))
    mu, _ = task.encode(crops)
    before = [p.detach().clone() for p in task.z_adversary.parameters()]
    loss, logged = task.further_loss(crops, crops, mu, None, None, 0.1)
    assert all(torch.equal(a, p) for a, p in zip(before, task.z_adversary.parameters()))
    probs = torch.softmax(task.z_adversary.net(mu), dim=2)  # (B, T, speakers)
    per_frame = -torch.log(probs).mean(2)
    expected = (per_frame * speech).sum() / speech.sum()
    torch.testing.assert_close(logged["z_confusion"], expected, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(loss, 0.5 * expected, rtol=1e-5, atol=1e-6)


def test_z_adversary_settings_are_checked():
    with pytest.raises(VawganError, match="z_adversary"):
        VAWGANVCConfig(speakers=("a", "b"), z_adversary=-0.1)
    with pytest.raises(VawganError, match="z_adversary_hidden"):
        VAWGANVCConfig(speakers=("a", "b"), z_adversary_hidden=(0,))
    with pytest.raises(VawganError, match="cycle_weight"):
        VAWGANVCConfig(speakers=("a", "b"), cycle_weight=-1.0)
    with pytest.raises(VawganError, match="z_adversary_steps"):
        VAWGANVCConfig(speakers=("a", "b"), z_adversary_steps=-1)
    with pytest.raises(VawganError, match="embed_dim"):
        VAWGANVCConfig(speakers=("a", "b"), embed_dim=0)
    for speakers in (("a",), ("a", "b", "a")):
        with pytest.raises(VawganError, match=r"\[vc\] speakers = \[.*'a'.*\]: give two or more distinct names"):
            VAWGANVCConfig(speakers=speakers)
    assert VAWGANVCConfig(speakers=("a", "b"), normalization="speaker").normalization == "speaker"


def test_the_frame_speaker_vae_and_critic_by_hand():
    """The frame VC model's layers computed by hand: the encoder's last hidden layer rectified before
    μ and log σ²; every decoder layer reads [h, e], rectified between layers, not after the last; the
    critic one score per frame; the decoder variance learned only when asked."""
    from vawgan_tts.models.speaker_vae import SpeakerVAE

    torch.manual_seed(0)
    vae = SpeakerVAE(39, (8, 6, 4), 3, n_speakers=2, embed_dim=5)
    x, z, spk = torch.randn(7, 39), torch.randn(7, 3), torch.tensor([0, 1, 1, 0, 1, 0, 0])
    relu = torch.relu
    l1, l2, l3 = (m for m in vae.encoder if isinstance(m, torch.nn.Linear))
    h = relu(l3(relu(l2(relu(l1(x))))))
    mu, logvar = vae.encode(x)
    torch.testing.assert_close(mu, vae.to_mu(h))
    torch.testing.assert_close(logvar, vae.to_logvar(h))
    e = vae.decoder.embedding(spk)
    assert e.shape == (7, 5)
    d1, d2, d3, d4 = vae.decoder.layers
    h = relu(d1(torch.cat([z, e], -1)))
    h = relu(d2(torch.cat([h, e], -1)))
    h = relu(d3(torch.cat([h, e], -1)))
    y = d4(torch.cat([h, e], -1))
    torch.testing.assert_close(vae.decode(z, spk), y)
    assert not vae.obs_logvar.requires_grad
    assert SpeakerVAE(39, (8,), 3, 2, learn_variance=True).obs_logvar.requires_grad
    assert SpeakerVAE(39, (8,), 3, 2).decoder.embedding.weight.shape == (2, 16)  # the default embedding size
    for variance, learned in (("learned", True), ("unit", False)):
        assert _task(decoder_variance=variance).vae.obs_logvar.requires_grad is learned
    critic = SpeakerCritic(39, (8,), 2)
    assert critic(x, spk).shape == (7,)
    onehot = torch.nn.functional.one_hot(spk, 2).float()
    torch.testing.assert_close(critic(x, spk), critic.net(torch.cat([x, onehot], -1))[:, 0])


def test_the_conv_speaker_vae_and_critic_read_the_speaker_beside_every_frame():
    from vawgan_tts.models.speaker_vae import ConvSpeakerVAE
    from vawgan_tts.tasks.vawgan_vc import ConvVAWGANVCTask

    torch.manual_seed(0)
    vae = ConvSpeakerVAE(39, (8, 8), 3, 3, (1, 2), n_speakers=4)
    assert vae.embedding.weight.shape == (4, 16)  # the default embedding size
    assert vae.obs_logvar is vae.conv.obs_logvar and vae.receptive_field == vae.conv.receptive_field
    z, spk = torch.randn(2, 20, 3), torch.tensor([3, 1])
    expected = vae.conv.decode(z, vae.embedding(spk)[:, None, :].expand(-1, 20, -1))
    torch.testing.assert_close(vae.decode(z, spk), expected)
    x = torch.randn(2, 20, 39)
    torch.testing.assert_close(vae.encode(x)[0], vae.conv.encode(x)[0])
    seed_everything(0)
    cfg = VAWGANVCConfig(speakers=("a", "b", "c"), arch="conv", channels=(8,), dilations=(1,), critic_channels=(8,),
                         critic_scales=(1,), segment=16, embed_dim=6)
    extra = {"mean": torch.zeros(39)}
    task = ConvVAWGANVCTask(cfg, extra)
    assert task.extra is extra  # what checkpoints carry
    assert task.vae.embedding.weight.shape == (3, 6)
    assert task.critic.n_speakers == 3
    crops = torch.randn(3, 16, 39)
    scores = task.critic(crops, torch.tensor([0, 1, 1]))  # the last speaker absent: still three channels
    onehot = torch.nn.functional.one_hot(torch.tensor([0, 1, 1]), 3).float()[:, None, :].expand(-1, 16, -1)
    torch.testing.assert_close(scores, task.critic.segments(crops, onehot))


def test_the_conv_task_answers_the_steps_questions_for_crops_of_one_speaker_each():
    """What the conv VC task gives VAWGAN's steps, by hand: crops with a speaker label per frame
    become SpeakerCrops with one speaker per crop; the likelihood counts speech frames only; the
    decoder reads the crop's speaker; the adversary reorders the real crops and converts the codes to
    the reordered crops' speakers; the critic scores crops and SpeakerCrops alike. vc_task picks the
    class by arch; a speaker's index is looked up by name, or refused in one line."""
    from vawgan_tts.tasks.vawgan_vc import ConvVAWGANVCTask, vc_task

    seed_everything(0)
    cfg = VAWGANVCConfig(speakers=("a", "b", "c"), arch="conv", channels=(8,), dilations=(1,), critic_channels=(8,),
                         critic_scales=(1,), segment=16)
    task = vc_task(cfg)
    assert type(task) is ConvVAWGANVCTask and type(vc_task(VAWGANVCConfig(speakers=("a", "b")))) is VAWGANVCTask
    extra = {"mean": torch.zeros(39)}
    assert vc_task(cfg, extra).extra is extra
    frames, speech = torch.randn(3, 16, 39), torch.ones(3, 16)
    speech[1, 4:] = 0
    labels = torch.tensor([2, 0, 1])[:, None].expand(-1, 16)
    x, target = task.pair((frames, speech, labels))
    assert x is target and torch.equal(x.speaker, torch.tensor([2, 0, 1])) and x.frames is frames and x.speech is speech
    z = torch.randn(3, 16, cfg.latent)
    y = task.generate(z, x)
    torch.testing.assert_close(y, task.vae.decode(z, torch.tensor([2, 0, 1])))
    per_frame = (0.5 * (math.log(2 * math.pi) + (frames - y) ** 2)).mean(-1)
    torch.testing.assert_close(task.nll(target, y), (per_frame * speech).sum() / speech.sum())
    torch.manual_seed(1)
    real, fake, judge = task.adversary(x, target, z)
    torch.manual_seed(1)
    order = torch.randperm(3)
    assert not torch.equal(order, torch.arange(3))
    torch.testing.assert_close(real, frames[order])
    torch.testing.assert_close(fake, task.vae.decode(z, x.speaker[order]))
    assert torch.equal(judge.speaker, x.speaker[order]) and judge.critic is task.critic
    torch.testing.assert_close(task.critic_score(x, x), task.critic(frames, x.speaker))
    torch.testing.assert_close(task.critic_score(y, x), task.critic(y, x.speaker))
    assert task.speaker_index("c") == 2
    with pytest.raises(VawganError, match="unknown speaker 'd'; this model knows a, b, c"):
        task.speaker_index("d")
    frame_task = _task()
    xs, spk = torch.randn(5, 39), torch.tensor([0, 1, 1, 0, 1])
    torch.testing.assert_close(frame_task.critic_score(xs, (xs, spk)), frame_task.critic(xs, spk))


def test_disjoint_shares_give_no_prompt_to_two_speakers():
    ids = [f"p{i:02d}" for i in range(11)]
    shares = deal(ids, ("a", "b", "c"), "disjoint")
    assert [len(v) for v in shares.values()] == [4, 4, 3]
    assert sorted(sum(shares.values(), [])) == ids
    assert deal(ids, ("a", "b"), "shared") == {"a": ids, "b": ids}
    with pytest.raises(VawganError, match="speakers"):
        VAWGANVCConfig(speakers=("a",))


def test_train_vc_then_convert_to_any_speaker_and_bad_input(parallel, tmp_path, allison_dir):
    slt, natural = parallel
    (tmp_path / "eval.ids").write_text("\n".join(PARALLEL_PROMPTS[6:]) + "\n")
    exp = _train_vc(parallel, tmp_path, "[train]\nbatch_size = 128\n[vc]\nvae_epochs = 2\ncritic_epochs = 1\n"
                    "adv_epochs = 1\n")
    shares = json.loads((exp / "shares.json").read_text())["train"]
    assert not set(shares["allison"]) & set(shares["slt"])  # non-parallel
    assert sorted(shares["allison"] + shares["slt"]) == sorted(PARALLEL_PROMPTS[:6])
    for to, src, stage in (("allison", slt, "adv"), ("slt", natural, "vae")):
        out = tmp_path / f"to-{to}"
        r = runner.invoke(app, ["convert", str(src), "-m", str(exp), "--to", to, "--stage", stage, "-o", str(out),
                                "--ids", str(tmp_path / "eval.ids")])
        assert r.exit_code == 0, r.output
        assert sorted(p.name for p in out.iterdir()) == [".vawgan-output.json",
                                                         *sorted(f"{u}.{e}" for u in PARALLEL_PROMPTS[6:] for e in ("npz", "wav"))]
    from vawgan_tts.features import load_features

    a = load_features(tmp_path / "to-allison" / f"{PARALLEL_PROMPTS[6]}.npz")
    src = load_features(slt / f"{PARALLEL_PROMPTS[6]}.npz")
    np.testing.assert_array_equal(a.mcep[:, 0], src.mcep[:, 0])  # c0 and timing kept
    assert not np.allclose(a.mcep[:, 1:], src.mcep[:, 1:])
    # Bad input, one line each.
    cases = [
        (["--to", "rms"], "unknown speaker 'rms'; this model knows allison, slt"),
        (["--to", "slt", "--from", "slt"], "--to 'slt' is the source speaker"),
        (["--from", "slt"], "give --to SPEAKER"),
    ]
    for extra, message in cases:
        r = runner.invoke(app, ["convert", str(slt), "-m", str(exp), "-o", str(tmp_path / "bad"), *extra])
        assert r.exit_code == 2 and message in " ".join(r.output.split()) and "Traceback" not in r.output, r.output
    empty = tmp_path / "empty"
    empty.mkdir()
    r = runner.invoke(app, ["convert", str(empty), "-m", str(exp), "--to", "slt", "-o", str(tmp_path / "bad")])
    assert r.exit_code == 2 and "no .npz features" in r.output
    from vawgan_tts import extract as X
    from vawgan_tts.extract import ExtractConfig

    X.run([allison_dir / "activated.wav"], tmp_path / "narrow", ExtractConfig(f0_method="dio"), jobs=1)
    r = runner.invoke(app, ["convert", str(tmp_path / "narrow"), "-m", str(exp), "--to", "slt", "-o", str(tmp_path / "n8")])
    assert r.exit_code == 2 and "8000 Hz" in r.output and "16000 Hz" in r.output
    assert not list((tmp_path / "n8").glob("*.npz"))  # nothing written half-way

    # One direction's report: source, VAE-VC, VAWGAN-VC against the target's own recordings.
    r = runner.invoke(app, ["report", str(exp), "--from", "slt", "--to", "allison", "-o", str(tmp_path / "rep"),
                            "--ids", str(tmp_path / "eval.ids"), "--resamples", "200", "--n-audio", "1"])
    assert r.exit_code == 0, r.output
    metrics = json.loads((tmp_path / "rep" / "metrics.json").read_text())
    assert set(metrics["systems"]) == {"source", "vae-vc", "vawgan-vc"} and metrics["settings"]["alignment"] == "dtw"
    assert metrics["settings"]["reference"] == "vae-vc"
    assert (exp / "systems" / "slt-to-allison" / "vawgan-vc" / f"{PARALLEL_PROMPTS[6]}.npz").is_file()
    r = runner.invoke(app, ["report", str(exp), "--from", "slt", "--to", "allison", "-o", str(tmp_path / "rep2"),
                            "--ids", str(tmp_path / "train.ids")])
    assert r.exit_code == 2 and "were trained on as slt or allison" in r.output


def test_speaker_classifier_tells_the_voices_apart_on_held_out_prompts(parallel, tmp_path):
    from vawgan_tts.speaker_id import SpeakerClassifier

    slt, natural = parallel
    clf = SpeakerClassifier({"allison": natural, "slt": slt}, PARALLEL_PROMPTS[:6], max_frames=3000)
    held_out = list(PARALLEL_PROMPTS[6:])
    assert clf.tally(natural, held_out) == {"allison": 2, "slt": 0}
    assert clf.tally(slt, held_out) == {"allison": 0, "slt": 2}
    s = clf.scores(natural / f"{held_out[0]}.npz")
    assert s.shape == (2,) and s[0] > s[1] and np.all(s <= 0)  # mean log-posteriors
    with pytest.raises(VawganError, match="no features for 1 of the 2"):
        clf.tally(natural, [held_out[0], "not-a-prompt"])
    (tmp_path / "train.ids").write_text("\n".join(PARALLEL_PROMPTS[:6]) + "\n")
    (tmp_path / "eval.ids").write_text("\n".join(held_out) + "\n")
    r = runner.invoke(app, ["speaker-id", f"allison={natural}", f"slt={slt}", "--ids", str(tmp_path / "train.ids"),
                            "--eval-ids", str(tmp_path / "eval.ids"), "--score", f"copy={slt}", "--expect", "copy=slt",
                            "-o", str(tmp_path / "sid.json")])
    assert r.exit_code == 0, r.output
    sid = json.loads((tmp_path / "sid.json").read_text())
    assert sid["sets"]["copy"] == {"counts": {"allison": 0, "slt": 2}, "expected": "slt", "share": 1.0}
    r = runner.invoke(app, ["speaker-id", f"allison={natural}", f"slt={slt}", "--ids", str(tmp_path / "train.ids"),
                            "--eval-ids", str(tmp_path / "eval.ids"), "--score", f"copy={slt}", "--expect", "copy=rms"])
    assert r.exit_code == 2 and "--expect 'copy=rms'" in r.output


def test_per_speaker_normalization_moves_the_statistics_from_source_to_target(parallel, tmp_path):
    """[vc] normalization = "speaker": frames in and out of the model in their own speaker's units;
    conversion needs --from (whose statistics the input is normalized with)."""
    from vawgan_tts.features import load_features
    from vawgan_tts.runs.vawgan_vc import SpeakerConverter

    slt, natural = parallel
    exp = _train_vc(parallel, tmp_path, '[train]\nbatch_size = 128\n[vc]\nnormalization = "speaker"\nvae_epochs = 1\n'
                    'critic_epochs = 1\nadv_epochs = 1\n')
    with pytest.raises(VawganError, match="name the source speaker with --from"):
        SpeakerConverter(exp, "allison")
    convert = SpeakerConverter(exp, "allison", "slt", stage="vae")
    shares = json.loads((exp / "shares.json").read_text())["train"]
    own = FeatureStats.from_frames(load_frames(slt, shares["slt"], 30.0))
    np.testing.assert_allclose(convert.stats_in.mean, own.mean, rtol=1e-5)  # the source's own statistics
    target = FeatureStats.from_frames(load_frames(natural, shares["allison"], 30.0))
    np.testing.assert_allclose(convert.stats_out.std, target.std, rtol=1e-5)
    out = convert(load_features(slt / f"{PARALLEL_PROMPTS[6]}.npz"))
    assert out.mcep.shape == load_features(slt / f"{PARALLEL_PROMPTS[6]}.npz").mcep.shape
    # prematch reads Allison's prompts in her own units, as a conversion to her reads its output.
    from vawgan_tts.runs.vawgan_vc import load_vc, prematch

    seen = []
    train, dev = prematch(exp, "allison", tmp_path / "prematch", 2, on_progress=seen.append)  # `convert`'s defaults
    assert seen == train + dev  # each prompt named as it is written
    got = load_features(tmp_path / "prematch" / f"{train[0]}.npz").mcep[:, 1:]
    want = _nearest_by_hand(load_vc(exp), convert.stats_out, natural, train[1:], train[0], 2)  # its defaults: the same
    np.testing.assert_allclose(got, want, atol=1e-5)


def test_a_vc_report_of_the_best_dev_epochs_converts_with_them_and_keeps_its_own_working_files(parallel, tmp_path):
    """`vawgan report --checkpoint best`: each stage's best dev epoch converts, into EXP/systems-best, the
    last epoch's working files left alone; without a dev set there is no best epoch, one line says so."""
    from vawgan_tts.features import load_features
    from vawgan_tts.runs.vawgan_vc import SpeakerConverter

    slt, natural = parallel
    (tmp_path / "dev.ids").write_text("\n".join(PARALLEL_PROMPTS[6:]) + "\n")
    exp = _train_vc(parallel, tmp_path, "[train]\nbatch_size = 128\n[vc]\nvae_epochs = 2\ncritic_epochs = 1\n"
                    "adv_epochs = 2\n", "--dev-ids", str(tmp_path / "dev.ids"))
    report = ["report", str(exp), "--from", "slt", "--to", "allison", "--ids", str(tmp_path / "dev.ids"),
              "--resamples", "100", "--n-audio", "0"]
    r = runner.invoke(app, [*report, "-o", str(tmp_path / "rep-last")])
    assert r.exit_code == 0, r.output
    last = exp / "systems" / "slt-to-allison" / "vawgan-vc" / f"{PARALLEL_PROMPTS[6]}.npz"
    before = last.read_bytes()
    # Whichever epoch was best, make the adversarial stage's best checkpoint unlike its last one.
    best_path = exp / "checkpoints" / "adv_best.pt"
    ckpt = torch.load(best_path, weights_only=False)
    bias = [k for k in ckpt["model"]["vae"] if k.startswith("decoder.layers.") and k.endswith(".bias")][-1]
    ckpt["model"]["vae"][bias] = ckpt["model"]["vae"][bias] + 0.5
    torch.save(ckpt, best_path)
    r = runner.invoke(app, [*report, "--checkpoint", "best", "-o", str(tmp_path / "rep-best")])
    assert r.exit_code == 0, r.output
    assert last.read_bytes() == before
    src = load_features(slt / f"{PARALLEL_PROMPTS[6]}.npz")
    for name, stage in (("vae-vc", "vae"), ("vawgan-vc", "adv")):
        got = load_features(exp / "systems-best" / "slt-to-allison" / name / f"{PARALLEL_PROMPTS[6]}.npz")
        want = SpeakerConverter(exp, "allison", "slt", stage=stage, which="best")(src)
        np.testing.assert_allclose(got.mcep, want.mcep, atol=1e-6)
    assert np.abs(got.mcep - load_features(last).mcep).max() > 0.1  # not the last epoch's
    # `vawgan convert --checkpoint best` converts with the same best epoch as the report.
    r = runner.invoke(app, ["convert", str(slt), "-m", str(exp), "--to", "allison", "--from", "slt", "--checkpoint",
                            "best", "-o", str(tmp_path / "conv-best"), "--ids", str(tmp_path / "dev.ids")])
    assert r.exit_code == 0, r.output
    np.testing.assert_allclose(load_features(tmp_path / "conv-best" / f"{PARALLEL_PROMPTS[6]}.npz").mcep, got.mcep,
                               atol=1e-6)
    (exp / "checkpoints" / "adv_best.pt").unlink()
    r = runner.invoke(app, [*report, "--checkpoint", "best", "-o", str(tmp_path / "rep-none")])
    assert r.exit_code == 2 and "no best checkpoint of stage 'adv'" in " ".join(r.output.split()), r.output
    assert "Traceback" not in r.output


def test_the_code_moves_take_the_source_speakers_codes_to_the_target_speakers_statistics(parallel, tmp_path):
    """--code shift | standardize: μ of every source frame moved by the two speakers' code statistics
    (their own training shares' speech frames) before the decoder reads it, written out by hand here;
    --from is needed, and a report with --code keeps its own working files."""
    from vawgan_tts.f0 import LogF0Stats, convert_f0
    from vawgan_tts.features import load_features
    from vawgan_tts.runs.vawgan_vc import SpeakerConverter, code_move, load_vc

    slt, natural = parallel
    exp = _train_vc(parallel, tmp_path, "[train]\nbatch_size = 128\n[vc]\nvae_epochs = 2\ncritic_epochs = 1\n"
                    "adv_epochs = 1\n")
    with pytest.raises(VawganError, match="--code shift moves the source speaker's codes: name it with --from"):
        SpeakerConverter(exp, "allison", code="shift")
    with pytest.raises(VawganError, match="--code 'turn': choose from as-is, shift, standardize"):
        SpeakerConverter(exp, "allison", "slt", code="turn")
    trained = load_vc(exp, "vae")
    stats, vae = trained.normalization, trained.task.vae
    shares = json.loads((exp / "shares.json").read_text())["train"]

    def codes(folder, ids):
        with torch.no_grad():
            return vae.encode(torch.from_numpy(normalize(load_frames(folder, ids, 30.0), stats)))[0]

    source, target = codes(slt, shares["slt"]), codes(natural, shares["allison"])
    m_s, s_s, m_t, s_t = source.mean(0), source.std(0), target.mean(0), target.std(0)
    assert (m_s - m_t).abs().max() > 0.05  # the two speakers' codes differ: the moves below are not the identity
    src = load_features(slt / f"{PARALLEL_PROMPTS[6]}.npz")
    x = torch.from_numpy(normalize(src.mcep[:, 1:], stats))
    with torch.no_grad():
        mu = vae.encode(x)[0]
        by_hand = {"as-is": mu, "shift": mu - m_s + m_t, "standardize": (mu - m_s) / s_s * s_t + m_t}
    allison = torch.zeros(len(x), dtype=torch.long)
    for code, z in by_hand.items():
        convert = SpeakerConverter(exp, "allison", "slt", stage="vae", code=code)
        with torch.no_grad():
            want = vae.decode(z, allison).numpy() * stats.std + stats.mean
        np.testing.assert_allclose(convert(src).mcep[:, 1:], want, atol=1e-4)
        moved = convert.move(source) if convert.move is not None else source
        if code != "as-is":  # the source's training codes, moved, have the target's mean (and deviation)
            np.testing.assert_allclose(moved.mean(0), m_t, atol=1e-5)
        if code == "standardize":
            np.testing.assert_allclose(moved.std(0), s_t, atol=1e-5)
    with pytest.raises(VawganError, match="--code 'turn': choose from as-is, shift, standardize"):
        code_move("turn", (m_s, s_s), (m_t, s_t))
    # Beside the code, the converter's own parts: c0 and dtypes kept, log F0 by the Gaussian transform from the
    # source's statistics (--from: the model's; without: the utterance's own voiced frames) to the target's.
    convert = SpeakerConverter(exp, "allison", "slt", stage="vae")
    f0 = {who: LogF0Stats(*v) for who, v in trained.extra["f0"].items()}
    voiced = np.where(src.vuv, src.f0, 0.0)
    for out, own in ((convert(src), f0["slt"]), (SpeakerConverter(exp, "allison", stage="vae")(src),
                                                 LogF0Stats.from_f0([voiced[voiced > 0]]))):
        np.testing.assert_allclose(out.f0, np.where(src.vuv, convert_f0(voiced, own, f0["allison"]), src.f0), rtol=1e-6)
        assert out.f0.dtype == src.f0.dtype and out.mcep.dtype == src.mcep.dtype
        np.testing.assert_array_equal(out.mcep[:, 0], src.mcep[:, 0])
    assert abs(f0["slt"].mean - LogF0Stats.from_f0([voiced]).mean) > 1e-3  # the two sources of statistics differ
    with pytest.raises(VawganError, match="the input utterance: too few voiced frames"):
        SpeakerConverter(exp, "allison", stage="vae")(dataclasses.replace(src, vuv=np.zeros_like(src.vuv)))
    with pytest.raises(VawganError, match=r"; the VAWGAN-VC model \("):
        convert(dataclasses.replace(src, fs=8000))
    r = runner.invoke(app, ["convert", str(slt), "-m", str(exp), "--to", "allison", "--code", "shift", "-o",
                            str(tmp_path / "out"), "--ids", str(tmp_path / "train.ids")])
    assert r.exit_code == 2 and "name it with --from" in " ".join(r.output.split()), r.output
    (tmp_path / "dev.ids").write_text(f"{PARALLEL_PROMPTS[6]}\n")
    r = runner.invoke(app, ["report", str(exp), "--from", "slt", "--to", "allison", "--ids", str(tmp_path / "dev.ids"),
                            "--code", "shift", "--resamples", "100", "--n-audio", "0", "-o", str(tmp_path / "rep")])
    assert r.exit_code == 0, r.output
    got = load_features(exp / "systems-shift" / "slt-to-allison" / "vae-vc" / f"{PARALLEL_PROMPTS[6]}.npz")
    np.testing.assert_allclose(got.mcep, SpeakerConverter(exp, "allison", "slt", stage="vae", code="shift")(src).mcep,
                               atol=1e-6)
    assert not (exp / "systems").exists()


def test_the_knn_readout_is_made_of_the_target_speakers_own_training_frames(parallel, tmp_path):
    """--knn K: each converted frame is the mean c1..c39 of the K frames of the target's training share whose
    codes are nearest to the source frame's (moved) code; with K = 1, one of those frames exactly."""
    from vawgan_tts.feature_folder import load_utterance
    from vawgan_tts.features import load_features
    from vawgan_tts.runs.vawgan_vc import SpeakerConverter, load_vc

    slt, natural = parallel
    exp = _train_vc(parallel, tmp_path, "[train]\nbatch_size = 128\n[vc]\nvae_epochs = 2\ncritic_epochs = 1\n"
                    "adv_epochs = 1\n")
    shares = json.loads((exp / "shares.json").read_text())["train"]
    own = np.concatenate([load_utterance(natural, u).mcep[:, 1:] for u in shares["allison"]]).astype(np.float32)
    trained = load_vc(exp, "vae")
    stats, vae = trained.normalization, trained.task.vae
    with torch.no_grad():
        keys = torch.cat([vae.encode(torch.from_numpy(normalize(load_utterance(natural, u).mcep[:, 1:], stats)))[0]
                          for u in shares["allison"]])
    src = load_features(slt / f"{PARALLEL_PROMPTS[6]}.npz")
    with torch.no_grad():
        z = vae.encode(torch.from_numpy(normalize(src.mcep[:, 1:], stats)))[0]
    one = SpeakerConverter(exp, "allison", "slt", stage="vae", knn=1)(src).mcep[:, 1:]
    nearest = torch.cdist(z, keys).argmin(1).numpy()
    np.testing.assert_allclose(one, own[nearest], atol=1e-6)  # Allison's own frames, chosen by code
    assert len(np.unique(nearest)) > 10 and one.shape == src.mcep[:, 1:].shape
    shifted = SpeakerConverter(exp, "allison", "slt", stage="vae", code="shift", knn=3)
    by_hand = own[torch.cdist(shifted.move(z), keys).topk(3, largest=False).indices.numpy()].mean(1)
    np.testing.assert_allclose(shifted(src).mcep[:, 1:], by_hand, atol=1e-5)
    np.testing.assert_array_equal(shifted(src).mcep[:, 0], src.mcep[:, 0])  # c0 is the source's, as ever
    with pytest.raises(VawganError, match=f"--knn {len(own) + 1}: allison's training share has {len(own)} frames"):
        SpeakerConverter(exp, "allison", "slt", knn=len(own) + 1)
    with pytest.raises(VawganError, match="--knn -1"):
        SpeakerConverter(exp, "allison", "slt", knn=-1)
    # --knn-context C: frames matched by the codes of t-C..t+C side by side, each prompt's windows its own.
    from vawgan_tts.runs.converter import context_windows

    with torch.no_grad():
        own_codes = [vae.encode(torch.from_numpy(normalize(load_utterance(natural, u).mcep[:, 1:], stats)))[0].numpy()
                     for u in shares["allison"]]
    wide_keys = torch.from_numpy(np.concatenate([context_windows(c, 2) for c in own_codes]))
    wide = SpeakerConverter(exp, "allison", "slt", stage="vae", code="shift", knn=3, knn_context=2)
    query = torch.from_numpy(context_windows(wide.move(z).numpy(), 2))
    by_hand = own[torch.cdist(query, wide_keys).topk(3, largest=False).indices.numpy()].mean(1)
    np.testing.assert_allclose(wide(src).mcep[:, 1:], by_hand, atol=1e-5)
    assert np.abs(by_hand - shifted(src).mcep[:, 1:]).max() > 1e-3  # the window changes which frames match
    (tmp_path / "dev.ids").write_text(f"{PARALLEL_PROMPTS[6]}\n")
    r = runner.invoke(app, ["report", str(exp), "--from", "slt", "--to", "allison", "--ids", str(tmp_path / "dev.ids"),
                            "--code", "shift", "--knn", "3", "--knn-context", "2", "--resamples", "100",
                            "--n-audio", "0", "-o", str(tmp_path / "rep")])
    assert r.exit_code == 0, r.output
    got = load_features(exp / "systems-shift-knn3-ctx2" / "slt-to-allison" / "vae-vc" / f"{PARALLEL_PROMPTS[6]}.npz")
    np.testing.assert_allclose(got.mcep[:, 1:], by_hand, atol=1e-5)
    for knn, context, line in ((0, 1, "--knn-context 1 widens the kNN readout's match: give --knn K too"),
                               (3, -1, "--knn-context -1: give a number of frames either side, or 0")):
        with pytest.raises(VawganError) as e:
            SpeakerConverter(exp, "allison", "slt", knn=knn, knn_context=context)
        assert str(e.value) == line
    # The frames the code statistics count are those training selected: [vc] drop_silence, silence_threshold_db.
    from vawgan_tts.features import speech_mask
    from vawgan_tts.runs.vawgan_vc import speaker_codes

    c0 = np.concatenate([load_utterance(natural, u).mcep[:, 0] for u in shares["allison"]])
    for drop, threshold in ((True, 10.0), (False, 10.0)):
        config = dataclasses.replace(trained.task.config, drop_silence=drop, silence_threshold_db=threshold)
        trained.task.config = config
        got = speaker_codes(trained, stats, natural, shares["allison"])
        want = np.concatenate([speech_mask(load_utterance(natural, u).mcep[:, 0], threshold) if drop
                               else np.ones(len(load_utterance(natural, u).mcep), bool) for u in shares["allison"]])
        np.testing.assert_array_equal(got.selected.numpy(), want)
        assert got.selected.dtype == torch.bool and got.frames.dtype == torch.float32 and len(got.codes) == len(c0)
    assert 0 < want.sum() and not speech_mask(c0, 10.0).all()  # the threshold leaves some frames out
    with pytest.raises(VawganError) as e:
        speaker_codes(trained, stats, natural, [])
    assert str(e.value) == f"{natural}: this speaker had no training prompts: there are no codes of its own"


def _nearest_by_hand(trained, stats, folder, pool_ids, utt, k):
    """The mean c1..c39 of the k frames of ``pool_ids`` whose codes are nearest to ``utt``'s, frame by frame."""
    from vawgan_tts.feature_folder import load_utterance

    def code(u):
        return trained.task.codes(torch.from_numpy(normalize(load_utterance(folder, u).mcep[:, 1:], stats)))

    frames = np.concatenate([load_utterance(folder, u).mcep[:, 1:] for u in pool_ids])
    keys = torch.cat([code(u) for u in pool_ids])
    return frames[torch.cdist(code(utt), keys).topk(k, largest=False).indices.numpy()].mean(1)


def test_prematch_reads_each_prompt_out_of_the_speakers_other_frames(parallel, tmp_path):
    """`vawgan prematch`: each prompt of the speaker's training share read out as `convert --knn K` reads a
    conversion to it, from the rest of the share (its own frames left out); a dev prompt from the whole
    share; c0, F0, V/UV, aperiodicity the recording's; the share lists beside them. Mistakes: one line."""
    from vawgan_tts.feature_folder import load_utterance
    from vawgan_tts.features import load_features
    from vawgan_tts.runs.vawgan_vc import load_vc

    slt, natural = parallel
    (tmp_path / "dev.ids").write_text("\n".join(PARALLEL_PROMPTS[6:]) + "\n")
    exp = _train_vc(parallel, tmp_path, "[train]\nbatch_size = 128\n[vc]\nvae_epochs = 2\ncritic_epochs = 1\n"
                    "adv_epochs = 1\n", "--dev-ids", str(tmp_path / "dev.ids"))
    shares = json.loads((exp / "shares.json").read_text())
    train, dev = shares["train"]["allison"], shares["dev"]["allison"]
    assert len(train) == 3 and len(dev) == 1
    out = tmp_path / "prematch"
    base = ["prematch", str(exp), "--speaker", "allison", "-o", str(out), "--stage", "vae", "--checkpoint", "best"]
    r = runner.invoke(app, [*base, "--knn", "2"])
    assert r.exit_code == 0, r.output
    assert "allison's 3 training and 1 dev prompts read out (k = 2)" in r.output
    assert (out / "train.ids").read_text().split() == train and (out / "dev.ids").read_text().split() == dev
    from vawgan_tts.outputs import MARK

    assert json.loads((out / MARK).read_text())["result"] == "prematch allison --knn 2 --stage vae --checkpoint best"
    trained = load_vc(exp, "vae", "best")
    for utt in train + dev:
        pool = [u for u in train if u != utt]
        got, rec = load_features(out / f"{utt}.npz"), load_utterance(natural, utt)
        want = _nearest_by_hand(trained, trained.normalization, natural, pool, utt, 2)
        np.testing.assert_allclose(got.mcep[:, 1:], want, atol=1e-5)
        np.testing.assert_array_equal(got.mcep[:, 0], rec.mcep[:, 0])
        assert got.mcep.dtype == rec.mcep.dtype
        for name in ("f0", "vuv", "bap"):
            np.testing.assert_array_equal(getattr(got, name), getattr(rec, name))
    # --knn-context: each prompt's windows its own, the prompt left out as before.
    r = runner.invoke(app, [*base, "--knn", "2", "--knn-context", "1"])
    assert r.exit_code == 2 and "give --overwrite" in r.output  # another readout's pairs are not replaced silently
    r = runner.invoke(app, [*base, "--knn", "2", "--knn-context", "1", "--overwrite"])
    assert r.exit_code == 0, r.output
    assert json.loads((out / MARK).read_text())["result"].startswith("prematch allison --knn 2 --knn-context 1 ")
    from vawgan_tts.runs.converter import context_windows

    def code(u):
        return trained.task.codes(torch.from_numpy(normalize(load_utterance(natural, u).mcep[:, 1:],
                                                             trained.normalization))).numpy()

    for utt in (train[1], dev[0]):
        pool = [u for u in train if u != utt]
        keys = torch.from_numpy(np.concatenate([context_windows(code(u), 1) for u in pool]))
        frames = np.concatenate([load_utterance(natural, u).mcep[:, 1:] for u in pool])
        nearest = torch.cdist(torch.from_numpy(context_windows(code(utt), 1)), keys).topk(2, largest=False).indices
        np.testing.assert_allclose(load_features(out / f"{utt}.npz").mcep[:, 1:], frames[nearest.numpy()].mean(1),
                                   atol=1e-5)
    # k = 1 on a training prompt: every frame one of the other prompts' frames, none its own.
    r = runner.invoke(app, [*base, "--knn", "1"])
    assert r.exit_code == 2 and "give --overwrite" in r.output  # another k's read-out is not replaced silently
    r = runner.invoke(app, [*base, "--knn", "1", "--overwrite"])
    assert r.exit_code == 0, r.output
    others = np.concatenate([load_utterance(natural, u).mcep[:, 1:] for u in train[1:]])
    got = load_features(out / f"{train[0]}.npz").mcep[:, 1:]
    assert all((np.abs(others - f).max(1) < 1e-6).any() for f in got)
    own = load_utterance(natural, train[0]).mcep[:, 1:]
    assert not any((np.abs(own - f).max(1) < 1e-6).any() for f in got)
    # Mistakes.
    longest = max(len(load_utterance(natural, u).mcep) for u in train)
    least = sum(len(load_utterance(natural, u).mcep) for u in train) - longest
    for args, line in (
        (["--knn", str(least + 1)], f"{natural}: --knn {least + 1}: allison's training share less its longest prompt "
                                    f"has {least} frames"),
        (["--knn", "1", "--speaker", "kal16"], "unknown speaker 'kal16'; this model knows allison, slt"),
        (["--knn", "1", "-o", str(exp)], f"is an input of this command ({exp})"),
        (["--knn", "1", "--stage", "critic"], "--stage critic: choose vae (VAE-VC) or adv (VAWGAN-VC)"),
    ):
        r = runner.invoke(app, [*base, *args])  # a repeated option: its last value
        assert r.exit_code != 0 and line in r.output and "Traceback" not in r.output, (args, r.output)
        assert len(r.output.strip().splitlines()) == 1, r.output
    assert (out / "train.ids").read_text().split() == train  # nothing written by the refused runs
    # A folder holding a list of the user's (a share list's name) is not taken; K = the frames left is.
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "train.ids").write_text("my own list\n")
    r = runner.invoke(app, [*base, "--knn", "1", "-o", str(mine)])
    assert r.exit_code == 2 and "did not write" in r.output and (mine / "train.ids").read_text() == "my own list\n"
    from vawgan_tts.runs.vawgan_vc import prematch, prompt_codes

    assert prematch(exp, "allison", tmp_path / "widest", least, stage="vae")[0] == train
    with pytest.raises(VawganError, match="give --overwrite"):  # the library's default, as the command's
        prematch(exp, "allison", tmp_path / "widest", 1, stage="vae")
    with pytest.raises(VawganError) as e:
        prematch(exp, "allison", tmp_path / "none", 0)
    assert str(e.value) == "--knn 0: give the number of frames the conversion reads out (1 or more)"
    # An experiment whose shares.json predates the dev shares; a speaker given no training prompt.
    (exp / "shares.json").write_text(json.dumps({"train": shares["train"]}))
    assert prematch(exp, "allison", tmp_path / "old", 1, stage="vae") == (train, [])
    (exp / "shares.json").write_text(json.dumps({"train": {**shares["train"], "allison": []}}))
    with pytest.raises(VawganError) as e:
        prematch(exp, "allison", tmp_path / "empty", 1, stage="vae")
    assert str(e.value) == f"{natural}: allison was given no training prompts: there are no frames to read out of"
    with pytest.raises(VawganError) as e:
        prompt_codes(trained, trained.normalization, natural, [])
    assert str(e.value) == f"{natural}: this speaker had no training prompts: there are no codes of its own"


def test_conv_vc_trains_converts_whole_utterances_and_keeps_z_free_of_the_speaker(parallel, tmp_path):
    """arch = "conv": `train-vc` on crops of both voices, `convert --to` on whole utterances; the
    speaker reaches the output through the decoder only, and the conditional segment critic reads it."""
    from vawgan_tts.features import load_features
    from vawgan_tts.runs.folder import checkpoint_path
    from vawgan_tts.runs.vawgan_vc import load_vc
    from vawgan_tts.tasks.vawgan_vc import ConvVAWGANVCTask, SpeakerCrops

    slt, natural = parallel
    exp = _train_vc(parallel, tmp_path, "[vc]\narch = \"conv\"\nchannels = [32, 32]\ndilations = [1, 2]\n"
                    "critic_channels = [16, 16]\nsegment = 48\nsegments_per_batch = 8\nvae_epochs = 2\n"
                    "critic_epochs = 1\nadv_epochs = 1\nz_adversary = 0.5\n")
    trained = load_vc(exp)
    task = trained.task
    assert isinstance(task, ConvVAWGANVCTask)
    # The code's speaker classifier was trained and saved with the model, and comes back with it.
    assert "z_speaker_ce" in (exp / "log.csv").read_text().splitlines()[0]
    saved = torch.load(checkpoint_path(exp, "adv", "last"), weights_only=False)["model"]["z_adversary"]
    assert saved.keys() == task.z_adversary.state_dict().keys()
    assert all(torch.equal(p, saved[k]) for k, p in task.z_adversary.state_dict().items())
    out = tmp_path / "to-allison"
    r = runner.invoke(app, ["convert", str(slt), "-m", str(exp), "--to", "allison", "-o", str(out),
                            "--ids", str(tmp_path / "train.ids")])
    assert r.exit_code == 0, r.output
    utt = PARALLEL_PROMPTS[0]
    src, conv = load_features(slt / f"{utt}.npz"), load_features(out / f"{utt}.npz")
    assert conv.mcep.shape == src.mcep.shape and np.isfinite(conv.mcep).all()
    stats = trained.normalization
    x = torch.from_numpy(((src.mcep[:, 1:] - stats.mean) / stats.std).astype(np.float32))
    with torch.no_grad():  # the whole utterance in one call
        y = task.vae.decode(task.vae.encode(x[None])[0], torch.tensor([0]))[0].numpy() * stats.std + stats.mean
    np.testing.assert_allclose(conv.mcep[:, 1:], y, atol=1e-4)
    crops = SpeakerCrops(x[None, :48], torch.ones(1, 48), torch.tensor([1]))
    mu_a, _ = task.encode(crops)
    mu_b, _ = task.encode(crops._replace(speaker=torch.tensor([0])))
    torch.testing.assert_close(mu_a, mu_b, rtol=0, atol=0)  # z does not see the speaker
    with torch.no_grad():
        assert (task.convert(x, 0) - task.convert(x, 1)).abs().mean() > 1e-4  # the decoder does
        scores = task.critic(x[None, :48].expand(2, -1, -1), torch.tensor([0, 1]))
    assert scores[0] != scores[1]  # the critic judges a crop as a given speaker's
    # --code and --knn on the conv arch: codes of whole utterances, one per frame; with k = 1 and the codes
    # shifted, every frame is one of Allison's own training frames, the one whose code is nearest.
    from vawgan_tts.feature_folder import load_utterance
    from vawgan_tts.runs.vawgan_vc import SpeakerConverter

    shares = json.loads((exp / "shares.json").read_text())["train"]
    own = np.concatenate([load_utterance(natural, u).mcep[:, 1:] for u in shares["allison"]]).astype(np.float32)
    keys = torch.cat([task.codes(torch.from_numpy(((load_utterance(natural, u).mcep[:, 1:] - stats.mean) / stats.std)
                                                  .astype(np.float32))) for u in shares["allison"]])
    knn = SpeakerConverter(exp, "allison", "slt", code="shift", knn=1)
    nearest = torch.cdist(knn.move(task.codes(x)), keys).argmin(1).numpy()
    np.testing.assert_allclose(knn(src).mcep[:, 1:], own[nearest], atol=1e-5)
