"""The models over time: a fully convolutional VAE (crops give the whole utterance's frames: the
padding convention), the segment critic, and the random crops they train on; the conv post-filter
end to end on real data (flite's slt against Allison's recordings of the same prompts)."""

import numpy as np
import pytest
import torch

from vawgan_tts.batching import SegmentBatches
from vawgan_tts.errors import VawganError
from vawgan_tts.features import load_features
from vawgan_tts.models.conv_vae import ConvVAE, receptive_field
from vawgan_tts.models.segment_critic import SegmentCritic
from vawgan_tts.runs.vawgan_postfilter import PairPostfilter, load_pair_postfilter_config, train_pair_postfilter
from vawgan_tts.tasks.vawgan import VAWGANConfig
from vawgan_tts.tasks.vawgan_postfilter import ConvPostfilterTask, VAWGANPostfilterConfig

from conftest import PARALLEL_PROMPTS as PROMPTS

TRAIN, DEV = PROMPTS[:6], PROMPTS[6:]


@pytest.fixture(scope="module")
def speech(parallel) -> torch.Tensor:
    """A real trajectory: c1..c39 of one slt prompt, (1, T, 39), roughly normalized."""
    c = load_features(parallel[0] / f"{PROMPTS[0]}.npz").mcep[:, 1:]
    return torch.from_numpy(((c - c.mean(0)) / c.std(0)).astype(np.float32))[None]


def test_receptive_field_is_one_plus_kernel_reach_times_dilations():
    assert receptive_field(5, [1, 2, 4]) == 29
    vae = ConvVAE(39, (16, 16, 16), 4, 5, (1, 2, 4), cond_dim=39)
    assert vae.receptive_field == 29 + 33 - 1  # encoder, then decoder (dilations 4, 2, 1 and a last layer of 1)


def test_a_crop_gives_the_whole_utterances_frames_away_from_its_edges(speech):
    torch.manual_seed(0)
    vae = ConvVAE(39, (16, 16, 16), 4, 5, (1, 2, 4), cond_dim=39).eval()
    whole = vae.decode(vae.encode(speech)[0], speech)
    half = vae.receptive_field // 2
    t = speech.shape[1]
    with torch.no_grad():
        for start, stop in ((0, 150), (40, 200), (t - 160, t)):
            crop = speech[:, start:stop]
            out = vae.decode(vae.encode(crop)[0], crop)
            inner_lo = 0 if start == 0 else half  # the utterance's own ends are padded alike in both
            inner_hi = out.shape[1] if stop == t else out.shape[1] - half
            torch.testing.assert_close(out[:, inner_lo:inner_hi], whole[:, start + inner_lo:start + inner_hi],
                                       atol=1e-5, rtol=1e-5)
            # ... and just inside an inner edge they differ: the padding is seen, the bound is tight.
            if start > 0:
                assert not torch.allclose(out[:, 0], whole[:, start], atol=1e-5)


def test_any_length_gives_one_frame_per_frame(speech):
    vae = ConvVAE(39, (8, 8), 4, 3, (1, 2), cond_dim=39)
    for t in (1, 2, 7, speech.shape[1]):
        x = speech[:, :t]
        mu, logvar = vae.encode(x)
        assert mu.shape == logvar.shape == (1, t, 4)
        assert vae.decode(mu, x).shape == (1, t, 39)
    # Shorter than the receptive field is not an error: the edge frame repeats, so one frame is
    # what a constant trajectory of that frame gives, at every frame of it.
    with torch.no_grad():
        out = lambda x: vae.decode(vae.encode(x)[0], x)  # noqa: E731
        one, held = out(speech[:, :1]), out(speech[:, :1].expand(1, 50, 39))
    torch.testing.assert_close(held, one.expand(1, 50, 39), rtol=1e-5, atol=1e-6)


def test_segment_critic_scores_each_segment_on_its_own(speech):
    torch.manual_seed(1)
    critic = SegmentCritic(39, (16, 32, 32), 5, (1, 2, 4))
    batch = torch.stack([speech[0, :96], speech[0, 50:146], speech[0, 100:196]])
    scores = critic(batch)
    assert scores.shape == (3,)
    torch.testing.assert_close(critic(batch[1:2]), scores[1:2])  # no batch statistics
    for t in (8, 13, 96, 301):
        assert critic(speech[:, :t]).shape == (1,)
    # It reads movement: a trajectory and the same frames in another order score differently.
    shuffled = batch[:, torch.randperm(96)]
    assert not torch.allclose(critic(shuffled), scores)


def test_segment_batches_crop_inside_one_utterance_reproducibly():
    lengths = [130, 40, 300, 97]
    ids = [torch.full((n,), float(i)) for i, n in enumerate(lengths)]
    pos = [torch.arange(n, dtype=torch.float32) for n in lengths]
    free = [torch.arange(n, dtype=torch.float32) + 1000 * i for i, n in enumerate(lengths)]
    b = SegmentBatches([ids, pos], 96, 8, free=[free])
    assert b.crops == 8 and len(b) == 1  # 567 // 96 = 5 crops fill less than a batch: one whole batch
    seen = set()
    for epoch in range(200):  # 1,600 crops: the 97-frame utterance (2 of 242 starts) gets drawn
        for u, p, f in b.epoch(torch.Generator().manual_seed(epoch)):
            assert u.shape == (len(u), 96)
            assert (u == u[:, :1]).all()  # one utterance per crop
            assert (p[:, 1:] - p[:, :-1] == 1).all()  # consecutive frames
            assert (torch.div(f, 1000, rounding_mode="floor") == torch.div(f[:, :1], 1000, rounding_mode="floor")).all()
            seen |= set(u[:, 0].tolist())
    assert seen == {0.0, 2.0, 3.0}  # the 40-frame utterance is too short to crop
    first = list(b.epoch(torch.Generator().manual_seed(5)))
    again = list(b.epoch(torch.Generator().manual_seed(5)))
    assert all(torch.equal(x, y) for bx, by in zip(first, again) for x, y in zip(bx, by))
    with pytest.raises(ValueError, match="no utterance has 400 frames"):
        SegmentBatches([ids], 400, 8)


def test_segment_batches_per_utterance_weigh_each_utterance_alike():
    """Uniform over starts, a 400-frame utterance (337 starts) takes 337/355 of the crops beside three
    of 70 frames (7, 7 and, its first frames barred, 4 starts); drawn per utterance, each takes a quarter, paired and free streams
    alike, still inside one utterance and within the allowed frames, reproducibly."""
    lengths = [400, 70, 70, 70]
    ids = [torch.full((n,), float(i)) for i, n in enumerate(lengths)]
    free = [torch.full((n,), 10.0 + i) for i, n in enumerate(lengths)]
    allowed = [np.ones(n, bool) for n in lengths]
    allowed[3][:3] = False  # the last one's crops start at 3..6 only

    def shares(per_utterance):
        b = SegmentBatches([ids], 64, 100, free=[free], crops=4000, per_utterance=per_utterance,
                           paired_within=allowed, free_within=allowed)
        u, f = (torch.cat(parts) for parts in zip(*b.epoch(torch.Generator().manual_seed(0))))
        assert (u == u[:, :1]).all() and (f == f[:, :1]).all()
        return [float((u[:, 0] == i).float().mean()) for i in range(4)], [float((f[:, 0] == 10 + i).float().mean())
                                                                         for i in range(4)], u, f

    plain, plain_free, _, _ = shares(False)
    assert plain[0] == pytest.approx(337 / 355, abs=0.02) and plain_free[0] == pytest.approx(337 / 355, abs=0.02)
    even, even_free, u, f = shares(True)
    assert even == pytest.approx([0.25] * 4, abs=0.03) and even_free == pytest.approx([0.25] * 4, abs=0.03)
    again = shares(True)
    assert torch.equal(again[2], u) and torch.equal(again[3], f)
    b = SegmentBatches([ids], 64, 2, per_utterance=True)
    assert torch.allclose(b.paired_weights.sum(), torch.tensor(1.0, dtype=torch.float64))
    assert float(b.paired_weights[0]) == pytest.approx(1 / (4 * 337)) and float(b.paired_weights[-1]) == pytest.approx(1 / 28)


def test_segment_batches_by_hand():
    """Batch sizes, the crop count, an utterance exactly one crop long, resuming mid-epoch, shards
    that split an epoch, and the refusals (each its own reason)."""
    lengths = [64, 10, 100]
    pos = [torch.arange(n, dtype=torch.float32) + 1000 * i for i, n in enumerate(lengths)]
    b = SegmentBatches([pos], 64, 5)
    assert b.crops == max(5, 174 // 64) == 5 and len(b) == 1
    assert SegmentBatches([pos], 64, 2).crops == 2  # 174 // 64 frames' worth: two crops an epoch
    assert SegmentBatches([pos], 64, 2, crops=7).crops == 7 and len(SegmentBatches([pos], 64, 2, crops=7)) == 4
    drawn = {v // 1000 for e in range(300) for (x,) in SegmentBatches([pos], 64, 2).epoch(torch.Generator().manual_seed(e))
             for v in x[:, 0].tolist()}  # 600 draws over 1 + 37 starts (fixed seeds)
    assert drawn == {0.0, 2.0}  # the 64-frame utterance is exactly one crop long; the 10-frame one never fits
    full = SegmentBatches([pos], 16, 3, crops=12)
    whole = list(full.epoch(torch.Generator().manual_seed(4)))
    assert [len(x) for (x,) in whole] == [3, 3, 3, 3] and all(x.shape[1] == 16 for (x,) in whole)
    tail = list(full.epoch(torch.Generator().manual_seed(4), start=2))
    assert len(tail) == 2 and all(torch.equal(a, b_) for (a,), (b_,) in zip(tail, whole[2:]))
    shards = [list(full.shard(r, 2).epoch(torch.Generator().manual_seed(4))) for r in (0, 1)]
    assert [torch.equal(shards[r][i][0], whole[2 * i + r][0]) for i in range(2) for r in (0, 1)] == [True] * 4
    assert len(whole[0]) == 1  # paired streams only: no free stream is made up
    with pytest.raises(ValueError, match="^no utterances to crop$"):
        SegmentBatches([[]], 8, 2)
    with pytest.raises(ValueError, match="^paired streams must hold utterances of equal lengths$"):
        SegmentBatches([pos, pos[:2] + [pos[2][:50]]], 8, 2)
    with pytest.raises(ValueError, match="^streams cropped together must hold the same utterances$"):
        SegmentBatches([pos], 8, 2, free=[pos, pos[:2]])


def test_edge_padding_and_consecutive_crops_by_hand():
    from vawgan_tts.batching import consecutive_crops, edge_padded

    a = np.arange(6, dtype=float).reshape(3, 2)
    np.testing.assert_array_equal(edge_padded(a, 5), [[0, 1], [2, 3], [4, 5], [4, 5], [4, 5]])
    np.testing.assert_array_equal(edge_padded(a, 2), a)  # long enough: as it is
    u = [torch.arange(10), torch.arange(4) + 100]
    crops = consecutive_crops(u, 4)
    assert crops.tolist() == [[0, 1, 2, 3], [4, 5, 6, 7], [6, 7, 8, 9], [100, 101, 102, 103], [100, 101, 102, 103]]
    assert consecutive_crops([torch.arange(7)], 4).tolist() == [[0, 1, 2, 3], [3, 4, 5, 6]]
    only = SegmentBatches([[torch.arange(16)]], 16, 2)  # the longest utterance exactly one crop long
    assert all(torch.equal(x, torch.arange(16).expand(2, 16)) for (x,) in only.epoch(torch.Generator().manual_seed(0)))


def test_crops_within_allowed_frames_match_a_brute_force_search():
    from vawgan_tts.batching import crop_starts

    rng = np.random.default_rng(0)
    for n, length in ((50, 8), (30, 30), (20, 25), (200, 17)):
        allowed = rng.random(n) > 0.1
        brute = [s for s in range(n - length + 1) if allowed[s:s + length].all()]
        assert crop_starts(n, length, allowed).tolist() == brute
        assert crop_starts(n, length).tolist() == list(range(max(0, n - length + 1)))
        assert crop_starts(n, length, allowed.astype(int)).tolist() == brute  # a 0/1 mask reads the same
    # Through the batches: every crop of the paired and the free streams lies in allowed frames.
    lengths = [120, 90]
    pos = [torch.arange(n, dtype=torch.float32) + 1000 * i for i, n in enumerate(lengths)]
    ok = [np.arange(n) % 40 < 35 for n in lengths]  # a 5-frame pause every 40 frames
    b = SegmentBatches([pos], 20, 16, free=[pos], paired_within=ok, free_within=ok)
    allowed_ids = {float(1000 * i + t) for i, a in enumerate(ok) for t in np.flatnonzero(a)}
    for p, f in b.epoch(torch.Generator().manual_seed(1)):
        assert set(p.flatten().tolist()) <= allowed_ids and set(f.flatten().tolist()) <= allowed_ids
    with pytest.raises(ValueError, match="^no crop of 36 frames lies within the allowed frames of any utterance$"):
        SegmentBatches([pos], 36, 4, paired_within=ok)


def test_conv_task_losses_count_only_paired_frames(speech):
    task = ConvPostfilterTask(VAWGANPostfilterConfig(arch="conv", channels=(8,), dilations=(1,), latent=4,
                                                     critic_channels=(8, 8), segment=16))
    y = speech[:, :50]
    target = y.clone()
    target[:, 25:] += 100.0  # wrong, but masked out
    mask = torch.ones(1, 50)
    mask[:, 25:] = 0
    from vawgan_tts.tasks.vawgan_postfilter import Segments

    seg = Segments(y, target, mask, y)
    assert float(task.nll(seg, y)) == pytest.approx(0.5 * np.log(2 * np.pi), abs=1e-6)


def test_conv_arch_refuses_what_it_does_not_have():
    with pytest.raises(VawganError, match="odd"):
        VAWGANPostfilterConfig(arch="conv", kernel=4)
    with pytest.raises(VawganError, match="dilations"):
        VAWGANPostfilterConfig(arch="conv", channels=(8, 8), dilations=(1,))
    with pytest.raises(VawganError, match="unit-variance"):
        ConvPostfilterTask(VAWGANPostfilterConfig(arch="conv", decoder_variance="learned"))


@pytest.mark.parametrize("arch, option, value", [
    ("frame", "segment", 64), ("frame", "dilations", (1, 2, 8)), ("frame", "inference_z", "prior"),
    ("frame", "crop_per_utterance", True),
    ("conv", "hidden", (64,)), ("conv", "context", 3), ("conv", "critic_hidden", (8,))])
def test_a_config_mixing_frame_and_conv_options_is_refused_in_one_line(arch, option, value):
    with pytest.raises(VawganError) as err:
        VAWGANPostfilterConfig(arch=arch, **{option: value})
    assert str(err.value).count("\n") == 0 and option in str(err.value) and f"arch = '{arch}'" in str(err.value)
    with pytest.raises(VawganError, match="segment"):
        VAWGANConfig(segment=48)  # the enhancement VAWGAN's frame arch too


@pytest.fixture(scope="module")
def conv_trained(parallel, tmp_path_factory):
    system, natural = parallel
    exp = tmp_path_factory.mktemp("convpf") / "exp"
    cfg = load_pair_postfilter_config(
        None, data__system=str(system), data__natural=str(natural), data__ids=list(TRAIN), data__dev_ids=list(DEV),
        postfilter__arch="conv", postfilter__channels=[32, 32], postfilter__dilations=[1, 2], postfilter__latent=8,
        postfilter__critic_channels=[16, 32], postfilter__segment=64, postfilter__segments_per_batch=8,
        postfilter__vae_epochs=30, postfilter__critic_epochs=1, postfilter__adv_epochs=2,
        postfilter__kl_warmup_epochs=2.0)
    summary = train_pair_postfilter(exp, cfg, jobs=2, progress=False)
    return exp, summary


def test_conv_postfilter_trains_and_applies_to_whole_utterances(conv_trained, parallel):
    import json

    from vawgan_tts import metrics as M
    from vawgan_tts.alignment import align_utterance

    exp, summary = conv_trained
    system, natural = parallel
    assert summary["dev_frames"] > 0 and summary["train_frames"] > 1000
    vae = [e["dev_loss"] for e in json.loads((exp / "dev.json").read_text())["epochs"] if e["stage"] == "vae"]
    assert min(vae) < vae[0]
    pf = PairPostfilter(exp, "vae")
    before, after = [], []
    for u in TRAIN:
        f, nat = load_features(system / f"{u}.npz"), load_features(natural / f"{u}.npz")
        out = pf(f)
        assert out.mcep.shape == f.mcep.shape and np.array_equal(out.mcep[:, 0], f.mcep[:, 0])
        for c, acc in ((f.mcep[:, 1:], before), (out.mcep[:, 1:], after)):
            p = align_utterance(c, f.mcep[:, 0], nat.mcep[:, 1:], nat.mcep[:, 0])
            acc.append(float(np.mean(M.frame_mcd(nat.mcep[p[:, 1], 1:], c[p[:, 0]]))))
    assert np.mean(after) < np.mean(before) - 1.0, (before, after)


def test_a_speech_gated_post_filter_trains_per_utterance_and_applies(parallel, tmp_path):
    """The run end to end with the speech-only modulation view and crops per utterance: the dev batch
    carries the recordings' speech (the critic's dev estimate is finite in every epoch) and the
    spread filter it trains is applied to whole utterances."""
    import json

    system, natural = parallel
    cfg = load_pair_postfilter_config(
        None, data__system=str(system), data__natural=str(natural), data__ids=list(TRAIN), data__dev_ids=list(DEV),
        postfilter__arch="conv", postfilter__channels=[8], postfilter__dilations=[1], postfilter__latent=2,
        postfilter__critic_channels=[4, 4], postfilter__critic_scales=[], postfilter__critic_modulation=[16, 64],
        postfilter__critic_bands_per_octave=2, postfilter__critic_speech_only=True,
        postfilter__crop_per_utterance=True, postfilter__spread_knots=[2.0, 8.0, 32.0], postfilter__spread_lr=0.05,
        postfilter__segment=64, postfilter__segments_per_batch=8,
        postfilter__vae_epochs=1, postfilter__critic_epochs=1, postfilter__adv_epochs=1)
    train_pair_postfilter(tmp_path / "exp", cfg, jobs=1, progress=False)
    epochs = json.loads((tmp_path / "exp" / "dev.json").read_text())["epochs"]
    assert len(epochs) == 3 and all(np.isfinite(e["dev_w_distance"]) for e in epochs)
    pf = PairPostfilter(tmp_path / "exp", "vawgan")
    f = load_features(system / f"{DEV[0]}.npz")
    out = pf(f)
    assert out.mcep.shape == f.mcep.shape and not np.allclose(out.mcep[:, 1:], f.mcep[:, 1:])
    # --spread-crop: the same weights, the filter over crops of 32 frames; 0 is the whole trajectory
    assert pf.task.config.spread_crop == 0
    cropped = PairPostfilter(tmp_path / "exp", "vawgan", spread_crop=32)
    assert cropped.task.config.spread_crop == 32 and len(f.mcep) > 32
    assert not np.allclose(cropped(f).mcep, out.mcep, atol=1e-4)
    assert np.array_equal(PairPostfilter(tmp_path / "exp", "vawgan", spread_crop=0)(f).mcep, out.mcep)
    for method, match in (("gv-pf", "--spread-crop is for the vae and vawgan methods"),):
        with pytest.raises(VawganError, match=match):
            PairPostfilter(tmp_path / "exp", method, spread_crop=32)


def test_spread_crop_without_a_spread_filter_is_refused_in_one_line(conv_trained):
    exp, _ = conv_trained
    with pytest.raises(VawganError, match="not with this post-filter: .*spread_crop = 64 .* gives none") as err:
        PairPostfilter(exp, "vawgan", spread_crop=64)
    assert "\n" not in str(err.value) and str(exp) in str(err.value)


def test_conv_postfilter_noise_is_seeded(conv_trained, parallel):
    import dataclasses

    exp, _ = conv_trained
    f = load_features(parallel[0] / f"{DEV[0]}.npz")
    outs = {}
    for z in ("mean", "prior"):
        for seed in (0, 0, 1):
            pf = PairPostfilter(exp, "vawgan", seed=seed)
            pf.task.config = dataclasses.replace(pf.task.config, inference_z=z)
            outs.setdefault(z, []).append(pf(f).mcep)
    assert np.array_equal(outs["mean"][0], outs["mean"][2])  # z = μ: no noise, the seed does nothing
    assert np.array_equal(outs["prior"][0], outs["prior"][1])  # the same seed, the same output
    assert not np.array_equal(outs["prior"][0], outs["prior"][2])


def test_segment_critic_gradient_reaches_frames_across_its_window(speech):
    """A frame critic's score of frame t moves with frame t alone; the segment critic's score moves
    with every frame of the segment, and one position of its coarsest scale with frames tens of
    frames apart: it can judge how a trajectory moves."""
    torch.manual_seed(0)
    critic = SegmentCritic(39, (16, 16, 16), 5, (1, 2, 4))
    x = speech[:, :96].clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(x).sum(), x)
    assert bool((grad.abs().sum(-1) > 0).all())  # every frame of the segment counts
    x = speech[:, :96].clone().requires_grad_(True)
    coarse = critic.critics[-1](critic.pools[-1](x.transpose(1, 2)))  # (1, 1, positions) at 4 frames per step
    (grad,) = torch.autograd.grad(coarse[0, 0, coarse.shape[-1] // 2], x)
    reached = torch.nonzero(grad.abs().sum(-1)[0] > 0).flatten()
    assert int(reached.max() - reached.min()) + 1 >= 40


def test_the_fixed_balance_is_wgans_generator_loss_at_the_weight(speech):
    """adv_balance = "fixed": the decoder's loss is L_vae + w·(−E[D(G(z))]), no α."""
    from vawgan_tts.tasks.vawgan import ConvVAWGANTask
    from conftest import RecordingContext

    cfg = VAWGANConfig(arch="conv", channels=(16, 16), dilations=(1, 2), latent=4, critic_channels=(8, 8),
                       adv_balance="fixed", adv_weight=0.05, segment=32)
    torch.manual_seed(0)
    task = ConvVAWGANTask(cfg)
    x = (speech[:, :64].reshape(2, 32, 39), torch.ones(2, 32))
    torch.manual_seed(3)
    out = task.train_step(x, "adv", RecordingContext(task.make_optimizers()))
    assert out["alpha"].item() == 1.0
    assert out["adv_loss"].item() == pytest.approx(-out["d_fake"].item(), rel=0.2, abs=0.5)  # a critic step apart
    torch.manual_seed(3)
    with torch.no_grad():  # the same draws: the critic update's z and ε, then the generator's z
        mu, logvar = task.vae.encode(x[0])
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
        torch.rand(2, 1, 1)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
        e2 = task.critic(task.vae.decode(z)).mean()
    assert out["adv_loss"].item() == pytest.approx(-e2.item(), rel=1e-4, abs=1e-5)


def test_the_difference_critic_reads_frame_to_frame_differences(speech):
    """critic_difference: one more critic over x_t − x_{t−1}, its score added to the scales': it
    cannot see a constant offset, only movement; without it the critic is the one old checkpoints hold."""
    torch.manual_seed(0)
    critic = SegmentCritic(39, (16, 16), 5, (1, 2), difference=True)
    x = speech[:, :64]
    base = sum(c(p(x.transpose(1, 2))).mean(dim=(1, 2)) for c, p in zip(critic.critics, critic.pools))
    high = critic.difference((x[:, 1:] - x[:, :-1]).transpose(1, 2)).mean(dim=(1, 2))
    torch.testing.assert_close(critic(x), base + high)
    torch.testing.assert_close(critic.difference(torch.diff(x + 3.0, dim=1).transpose(1, 2)),
                               critic.difference(torch.diff(x, dim=1).transpose(1, 2)))
    assert not critic.difference(torch.diff(x, dim=1).transpose(1, 2)).equal(
        critic.difference(torch.diff(2 * x, dim=1).transpose(1, 2)))
    plain = SegmentCritic(39, (16, 16), 5, (1, 2))
    assert set(critic.state_dict()) - set(plain.state_dict()) and \
        not any(k.startswith("difference") for k in plain.state_dict())
    # Each conv task builds its critic with the view when asked, and without it otherwise.
    from vawgan_tts.tasks.vawgan import ConvVAWGANTask
    from vawgan_tts.tasks.vawgan_vc import ConvVAWGANVCTask, VAWGANVCConfig
    small = dict(arch="conv", channels=(8,), dilations=(1,), latent=2, critic_channels=(4, 4), segment=16)
    for make in (lambda **o: ConvVAWGANTask(VAWGANConfig(**small, **o)),
                 lambda **o: ConvPostfilterTask(VAWGANPostfilterConfig(**small, **o)),
                 lambda **o: ConvVAWGANVCTask(VAWGANVCConfig(**small, speakers=("a", "b"), **o))):
        with_view = [m for m in make(critic_difference=True).critic.modules() if isinstance(m, SegmentCritic)]
        without = [m for m in make().critic.modules() if isinstance(m, SegmentCritic)]
        assert with_view[0].difference is not None and without[0].difference is None


def test_a_conditional_segment_critic_reads_the_condition_beside_every_view(speech):
    """cond_dim: the condition (B, T, C) is concatenated to the frames for each scale's critic, to
    the differences (from the second frame on) for the difference view, and passed to the modulation
    view; the score is rebuilt from those parts and changes with the condition."""
    torch.manual_seed(0)
    critic = SegmentCritic(39, (8, 8), 3, (1, 2), cond_dim=2, difference=True, modulation=(16,))
    x = torch.stack([speech[0, :64], speech[0, 64:128]])
    cond = torch.eye(2)[:, None].expand(2, 64, 2)
    h = torch.cat([x, cond], dim=-1).transpose(1, 2)
    scales = sum(c(p(h)).mean(dim=(1, 2)) for c, p in zip(critic.critics, critic.pools))
    d = torch.cat([torch.diff(x, dim=1), cond[:, 1:]], dim=-1).transpose(1, 2)
    parts = scales + critic.difference(d).mean(dim=(1, 2)) + critic.modulation(x, cond)
    torch.testing.assert_close(critic(x, cond), parts)
    assert not torch.allclose(critic(x, cond), critic(x, cond.flip(0)), atol=1e-4)


def test_the_segment_critics_layers_by_hand():
    """What each view is built of: a stack per scale reading the frames and the condition, its first
    convolution at full rate and the rest strided by 2; the scales' inputs averaged over s frames in
    steps of s; the difference view strided alike; the defaults; segment_critic passes the config's
    bands and the condition's size; the refusals' messages whole."""
    from vawgan_tts.tasks.vawgan import segment_critic

    critic = SegmentCritic(39, (8, 8, 8), 5, (1, 2, 4), cond_dim=2, difference=True)
    for stack in (*critic.critics, critic.difference):
        convs = [m for m in stack if isinstance(m, torch.nn.Conv1d)]
        assert convs[0].in_channels == 41 and [c.stride for c in convs] == [(1,), (2,), (2,), (1,)]
        assert [c.kernel_size for c in convs] == [(5,)] * 3 + [(3,)] and convs[-1].out_channels == 1
    assert isinstance(critic.pools[0], torch.nn.Identity)
    assert [(p.kernel_size, p.stride) for p in critic.pools[1:]] == [((2,), (2,)), ((4,), (4,))]
    default = SegmentCritic()
    convs = [m for m in default.critics[0] if isinstance(m, torch.nn.Conv1d)]
    assert [(c.in_channels, c.out_channels, c.kernel_size) for c in convs[:3]] == [(39, 64, (5,)), (64, 128, (5,)),
                                                                                  (128, 128, (5,))]
    assert default.scales == (1, 2, 4) and default.difference is None and default.modulation is None
    assert not default.speech_gated
    assert SegmentCritic(39, (8,), 3, (), modulation=(16,)).modulation.bands_per_octave == 0
    config = VAWGANConfig(arch="conv", critic_channels=(4, 4), critic_scales=(1,), critic_modulation=(16,),
                          critic_bands_per_octave=2)
    built = segment_critic(config, cond_dim=3)
    assert built.modulation.bands_per_octave == 2 and built.critics[0][0].in_channels == 42
    with pytest.raises(ValueError, match="^a segment critic needs a view: scales, the difference view or "
                                         "modulation windows$"):
        SegmentCritic(39, (8,), 3, ())
    with pytest.raises(ValueError, match="^speech gating acts on the modulation view, and there are no "
                                         "modulation windows$"):
        SegmentCritic(39, (8,), 3, (1,), speech_gated=True)


@pytest.mark.parametrize("adv_lr", [0.0, 1e-3])
def test_a_generator_term_at_weight_0_is_left_out_and_the_step_is_the_same_to_the_bit(speech, adv_lr):
    """adv_weight = 0 with no random draw in the generated side: the adversarial step does not compute the
    generator's critic term (its log columns NaN) and trains every part (VAE, critic, spread filter) to the
    same bits as the step that computes it and adds it at weight 0; the critic's updates read the posterior
    encoded once, as encoding it before each update gives. adv_z = "prior" draws there, so its term is kept."""
    import copy

    from vawgan_tts.steps import StepContext
    from vawgan_tts.tasks.vawgan_postfilter import Segments

    cfg = VAWGANPostfilterConfig(arch="conv", channels=(8,), dilations=(1,), latent=2, kernel=3, critic_channels=(4, 4),
                                 critic_scales=(), critic_modulation=(16, 32), critic_bands_per_octave=2,
                                 critic_speech_only=True, segment=64, adv_balance="fixed", adv_weight=0.0, n_critic=3,
                                 spread_knots=(0.0, 2.0, 8.0, 30.0), spread_edges="mirror", spread_speech_only=True,
                                 spread_likelihood=0.5, adv_lr=adv_lr)
    system = speech[:, :128].reshape(2, 64, 39)
    mask = torch.ones(2, 64)
    mask[0, :5] = mask[1, 50:] = 0
    batch = (system, 1.2 * system, mask, speech[:, 128:256].reshape(2, 64, 39), torch.ones(2, 64))
    torch.manual_seed(0)
    task = ConvPostfilterTask(cfg)
    assert not task.adversary_draws
    computed = copy.deepcopy(task)
    computed.adversary_draws = True  # the term computed and added at weight 0, as before it was left out
    encoding = copy.deepcopy(computed)  # and each critic update encoding the batch itself, as before too
    update = ConvPostfilterTask._update_critic
    encoding._update_critic = lambda x, target, ctx, posterior=None: update(encoding, x, target, ctx)
    outs = {}
    for name, t in (("left out", task), ("computed", computed), ("encoding", encoding)):
        torch.manual_seed(5)
        outs[name] = t.train_step(batch, "adv", StepContext(t.make_optimizers(), 0.0))
    assert np.isnan(outs["left out"]["adv_loss"].item()) and np.isfinite(outs["computed"]["adv_loss"].item())
    for part, module in task.modules().items():
        for other in (computed, encoding):
            theirs = other.modules()[part].state_dict()
            assert all(torch.equal(v, theirs[k]) for k, v in module.state_dict().items()), part
    assert outs["left out"]["spread_score"].item() == outs["computed"]["spread_score"].item()
    critics = []
    for posterior in (None, True):  # one critic update from the posterior given, or encoded inside
        t = copy.deepcopy(computed)
        x = Segments(*batch)
        given = t.encode(x) if posterior else None
        torch.manual_seed(7)
        t._update_critic(x, x, StepContext(t.make_optimizers(), 0.0), given)
        critics.append(t.critic.state_dict())
    assert all(torch.equal(v, critics[1][k]) for k, v in critics[0].items())
    prior = ConvPostfilterTask(VAWGANPostfilterConfig(**{**vars(cfg), "adv_z": "prior"}))
    assert prior.adversary_draws
    assert np.isfinite(prior.train_step(batch, "adv", StepContext(prior.make_optimizers(), 0.0))["adv_loss"].item())


def test_adv_lr_gives_the_adversarial_stage_an_optimizer_of_its_own(speech):
    """adv_lr > 0: the decoder's adversarial update goes through a fresh Adam at that rate with the
    critic's betas, and the VAE stage's optimizer is left as it was; 0 keeps the one optimizer."""
    from vawgan_tts.tasks.vawgan import ConvVAWGANTask
    from vawgan_tts.steps import StepContext

    base = dict(arch="conv", channels=(16, 16), dilations=(1, 2), latent=4, critic_channels=(8, 8),
                adv_balance="fixed", segment=32)
    assert set(ConvVAWGANTask(VAWGANConfig(**base)).make_optimizers()) == {"vae", "critic"}
    task = ConvVAWGANTask(VAWGANConfig(**base, adv_lr=3e-5, critic_betas=(0.3, 0.8)))
    optimizers = task.make_optimizers()
    assert optimizers["adv_vae"].param_groups[0]["lr"] == 3e-5
    assert optimizers["adv_vae"].param_groups[0]["betas"] == optimizers["critic"].param_groups[0]["betas"] == (0.3, 0.8)
    x = (speech[:, :64].reshape(2, 32, 39), torch.ones(2, 32))
    before = [p.detach().clone() for p in task.vae.parameters()]
    task.train_step(x, "adv", StepContext(optimizers, 0.0))
    assert not optimizers["vae"].state and optimizers["adv_vae"].state
    assert any(not p.equal(q) for p, q in zip(task.vae.parameters(), before))
    with pytest.raises(Exception, match="adv_lr"):
        VAWGANConfig(**base, adv_lr=-1.0)


@pytest.fixture(scope="module")
def conv_enhancer(parallel, tmp_path_factory):
    """A tiny enhancement VAWGAN of the conv arch, trained on Allison's recordings of the prompts."""
    from vawgan_tts.runs.vawgan import load_experiment_config, train_vawgan

    exp = tmp_path_factory.mktemp("convenh") / "exp"
    cfg = load_experiment_config(
        None, data__feats=str(parallel[1]), data__ids=list(TRAIN), data__dev_ids=list(DEV), train__seed=0,
        vawgan__arch="conv", vawgan__channels=[32, 32], vawgan__dilations=[1, 2], vawgan__latent=8,
        vawgan__critic_channels=[16, 32], vawgan__segment=64, vawgan__segments_per_batch=8, vawgan__vae_epochs=20,
        vawgan__critic_epochs=1, vawgan__adv_epochs=2, vawgan__kl_warmup_epochs=2.0, vawgan__lr=2e-3)
    train_vawgan(exp, cfg, progress=False)
    return exp


def test_conv_enhancement_vawgan_trains_and_applies_to_whole_utterances(conv_enhancer, parallel):
    import json

    from vawgan_tts.runs.vawgan import VAWGANEnhancer

    exp = conv_enhancer
    dev = json.loads((exp / "dev.json").read_text())["epochs"]
    assert dev[-1]["stage"] == "adv" and dev[19]["dev_nll"] < dev[0]["dev_nll"]  # the VAE stage learned
    feats = load_features(parallel[1] / f"{DEV[0]}.npz")
    for stage in ("vae", "adv"):
        enh = VAWGANEnhancer(exp, stage)
        out = enh(feats)
        assert out.mcep.shape == feats.mcep.shape and np.isfinite(out.mcep).all()
        assert np.array_equal(out.mcep[:, 0], feats.mcep[:, 0])  # c0 passes through
        # the whole utterance in one call = the model on it, frame for frame (no frame-wise path)
        c = feats.mcep[:, 1:]
        x = torch.from_numpy(((c - enh.stats.mean) / enh.stats.std).astype(np.float32))[None]
        with torch.no_grad():
            y = enh.task.vae.reconstruct(x)[0].numpy() * enh.stats.std + enh.stats.mean
        np.testing.assert_allclose(out.mcep[:, 1:], y, atol=1e-4)


def test_a_crop_longer_than_every_utterance_is_refused_in_one_line(parallel, tmp_path):
    from vawgan_tts.runs.vawgan import load_experiment_config, train_vawgan

    cfg = load_experiment_config(None, data__feats=str(parallel[1]), data__ids=list(TRAIN), data__dev_share=0.0,
                                 vawgan__arch="conv", vawgan__segment=100_000)
    with pytest.raises(VawganError, match="segment = 100000 frames is longer than every training utterance"):
        train_vawgan(tmp_path / "exp", cfg, progress=False)


def test_a_post_filter_crop_longer_than_every_utterance_is_refused_naming_the_folder(parallel, tmp_path):
    system, natural = parallel
    cfg = load_pair_postfilter_config(None, data__system=str(system), data__natural=str(natural),
                                      data__ids=list(TRAIN), postfilter__arch="conv", postfilter__segment=100_000)
    with pytest.raises(VawganError, match="segment = 100000 frames is longer than every training utterance") as err:
        train_pair_postfilter(tmp_path / "exp", cfg, jobs=1, progress=False)
    assert str(system) in str(err.value)


def test_a_frame_model_continued_as_conv_is_refused_in_one_line(conv_enhancer, parallel, tmp_path):
    """The adversarial stages of a conv config started from a frame VAE stage: one line, naming both arches."""
    import shutil

    from vawgan_tts.runs.vawgan import load_experiment_config, train_vawgan

    exp = tmp_path / "exp"
    frame = load_experiment_config(None, data__feats=str(parallel[1]), data__ids=list(TRAIN), data__dev_share=0.0,
                                   vawgan__vae_epochs=1)
    train_vawgan(exp, frame, stages=["vae"], progress=False)
    conv = load_experiment_config(None, data__feats=str(parallel[1]), data__ids=list(TRAIN), data__dev_share=0.0,
                                  vawgan__arch="conv", vawgan__segment=64)
    with pytest.raises(VawganError, match="arch = 'frame', this run's is arch = 'conv'"):
        train_vawgan(exp, conv, stages=["critic", "adv"], progress=False)
    shutil.rmtree(exp)
