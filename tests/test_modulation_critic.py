"""The critic's modulation view (vawgan_tts/models/modulation_critic.py): Welch's periodogram in dB
(checked against scipy), blind to offsets, reaching every frame; what a config may ask of it; and,
on a real trajectory, a spread filter trained by it alone restores the movement a smoothing took."""

import dataclasses

import numpy as np
import pytest
import torch
from scipy.signal import welch

from vawgan_tts.errors import VawganError
from vawgan_tts.features import load_features
from vawgan_tts.models.modulation_critic import ModulationCritic, log_modulation_spectrum, modulation_power, octave_bands
from vawgan_tts.models.segment_critic import SegmentCritic
from vawgan_tts.models.spread_filter import SpreadFilter
from vawgan_tts.tasks.vawgan import VAWGANConfig
from vawgan_tts.tasks.vawgan_postfilter import ConvPostfilterTask, Segments, VAWGANPostfilterConfig
from vawgan_tts.tasks.wgan import critic_step

from conftest import PARALLEL_PROMPTS as PROMPTS


@pytest.fixture(scope="module")
def speech(parallel) -> torch.Tensor:
    """c1..c39 of the eight slt prompts end to end, (T, 39), normalized per coefficient."""
    c = np.concatenate([load_features(parallel[0] / f"{p}.npz").mcep[:, 1:] for p in PROMPTS])
    return torch.from_numpy(((c - c.mean(0)) / c.std(0)).astype(np.float32))


@pytest.mark.parametrize("w", [16, 32, 64])
def test_the_log_modulation_spectrum_is_welchs_periodogram_in_db(speech, w):
    """Frames of w with hop w/2, each detrended to its mean, a symmetric Hann window, |rfft|² averaged
    over frames: scipy's Welch estimate with scaling="spectrum" up to its constant factors ((Σ window)²,
    and 2 on the one-sided bins below Nyquist)."""
    x = speech[:200].double()
    ours = log_modulation_spectrum(x[None], torch.hann_window(w, periodic=False, dtype=torch.float64))[0]
    window = np.hanning(w)
    _, p = welch(x.numpy().T, window=window, nperseg=w, noverlap=w // 2, detrend="constant",
                 scaling="spectrum", return_onesided=True, axis=-1)
    p = p[:, 1:] * window.sum() ** 2
    p[:, :-1] /= 2
    np.testing.assert_allclose(ours.numpy(), 10 * np.log10(p + 1e-8), atol=1e-6)
    assert ours.shape == (39, w // 2)


def test_the_modulation_view_sees_movement_not_offsets_and_every_frame(speech):
    torch.manual_seed(0)
    critic = ModulationCritic(39, (8, 8), 3, (16, 32))
    x = speech[None, :96]
    torch.testing.assert_close(critic(x + 3.0), critic(x), atol=1e-4, rtol=0)  # means removed per frame
    assert not torch.allclose(critic(2 * x), critic(x), atol=1e-3)  # a louder movement scores otherwise
    x = x.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(x).sum(), x)
    assert bool((grad.abs().sum(-1) > 0).all())  # 96 frames = whole hops of 8 and 16: each frame read
    with pytest.raises(ValueError, match=r"^a segment of 31 frames is shorter than the longest window \(32\)$"):
        critic(speech[None, :31])
    with pytest.raises(ValueError, match="even lengths"):
        ModulationCritic(39, (8,), 3, (15,))
    with pytest.raises(ValueError, match="even lengths"):
        ModulationCritic(39, (8,), 3, (2,))
    assert ModulationCritic(39, (8,), 3, (4,)).windows == (4,)  # the shortest window allowed


def test_the_modulation_critics_defaults():
    critic = ModulationCritic()
    first, last = critic.critics[0][0], critic.critics[0][-1]
    assert (first.in_channels, first.out_channels, first.kernel_size) == (39, 64, (5,))
    assert critic.windows == (16, 32, 64) and critic.bands_per_octave == 0 and last.out_channels == 1
    assert len(critic.spectra(torch.zeros(1, 64, 39))[0][0, 0]) == 8  # every bin of the 16-frame window
    # A still crop (padding repeats a frame): no movement, the power floor's −80 dB, finite.
    assert torch.equal(critic.spectra(torch.full((1, 64, 39), 2.0))[0], torch.full((1, 39, 8), -80.0))
    # The window and the band pooling are rebuilt from the settings: not in a checkpoint, old ones load.
    pooled = ModulationCritic(39, (8,), 3, (16, 32), bands_per_octave=2)
    assert not [k for k in pooled.state_dict() if k.startswith(("hann", "pool"))]
    assert {k for k, _ in pooled.named_buffers()} == {"hann16", "hann32", "pool16", "pool32"}


def test_the_score_is_each_windows_critic_averaged_over_frequencies_and_summed(speech):
    """One score per modulation frequency from each window's critic, the condition's mean over time
    read beside every frequency (a speaker code repeated along time), averaged, then summed over windows."""
    torch.manual_seed(0)
    critic = ModulationCritic(39, (8, 8), 3, (16, 32), cond_dim=2)
    x = torch.stack([speech[:96], speech[96:192]])
    cond = torch.eye(2)[:, None].expand(2, 96, 2)
    parts = []
    for c, ms in zip(critic.critics, critic.spectra(x)):
        out = c(torch.cat([ms, cond[:, 0, :, None].expand(-1, -1, ms.shape[-1])], dim=1))
        assert out.shape == (2, 1, ms.shape[-1])
        parts.append(out.mean(dim=(1, 2)))
    torch.testing.assert_close(critic(x, cond), parts[0] + parts[1])
    assert not torch.allclose(critic(x, cond), critic(x, cond.flip(0)), atol=1e-4)  # the condition counts


def test_the_segment_critic_adds_the_view_and_old_critics_are_unchanged(speech):
    """The view's score adds to the scales' ones; without it the critic holds the same parameters as
    before it existed (old checkpoints load); with it alone, no scale critic is built."""
    torch.manual_seed(0)
    both = SegmentCritic(39, (8, 8), 5, (1, 2), modulation=(16,))
    x = speech[None, :64]
    scales = sum(c(p(x.transpose(1, 2))).mean(dim=(1, 2)) for c, p in zip(both.critics, both.pools))
    torch.testing.assert_close(both(x), scales + both.modulation(x))
    plain = SegmentCritic(39, (8, 8), 5, (1, 2))
    assert not any(k.startswith("modulation") for k in plain.state_dict())
    assert set(plain.state_dict()) == set(both.state_dict()) - {k for k in both.state_dict() if k.startswith("modulation")}
    alone = SegmentCritic(39, (8, 8), 5, (), modulation=(16,))
    assert len(alone.critics) == 0 and alone(x).shape == (1,)
    with pytest.raises(ValueError, match="needs a view"):
        SegmentCritic(39, (8, 8), 5, ())


@pytest.mark.parametrize("n_bins, per_octave, expected", [
    (8, 1, [[1], [2, 3], [4, 5, 6, 7], [8]]),
    (8, 2, [[1], [2], [3], [4, 5], [6, 7], [8]]),  # 2^1.5 = 2.83: bin 3 is a band of its own
    (16, 3, [[1], [2], [3], [4, 5], [6], [7], [8, 9, 10], [11, 12], [13, 14, 15], [16]]),
])
def test_octave_bands_give_each_bin_the_band_of_its_log_frequency(n_bins, per_octave, expected):
    """Bin i (at i/W of the frame rate) joins band ⌊n·log2 i⌋: worked by hand, and, for the long
    windows the recipes use, every band's bins lie within 1/n octave, in order, covering each bin once."""
    assert [[i + 1 for i in band] for band in octave_bands(n_bins, per_octave)] == expected
    for n_bins, per_octave in ((128, 2), (64, 1), (100, 3)):
        bands = octave_bands(n_bins, per_octave)
        assert [i for band in bands for i in band] == list(range(n_bins))
        k = [np.floor(per_octave * np.log2(np.array(band) + 1) + 1e-9) for band in bands]
        assert all(len(set(b)) == 1 for b in k) and np.all(np.diff([b[0] for b in k]) > 0)


def test_the_pooled_view_is_each_bands_mean_power_in_db_and_leaves_the_parameters_alone(speech):
    """With bands_per_octave n the critic reads, per window, the mean power of each band's bins in dB
    (the same periodogram as the plain view); it holds the same parameters, so only the settings say
    which view a critic was trained on. The slow band weighs more: bins 1 and 2 of the 64-frame window
    (3.1 and 6.2 Hz) are 2 of its 10 positions pooled, 2 of 32 unpooled."""
    torch.manual_seed(0)
    pooled = ModulationCritic(39, (8, 8), 3, (16, 64), bands_per_octave=2)
    plain = ModulationCritic(39, (8, 8), 3, (16, 64))
    assert set(pooled.state_dict()) == set(plain.state_dict())
    x = speech[None, :128].double()
    pooled.double()
    for w, ms in zip((16, 64), pooled.spectra(x)):
        power = 10 ** (log_modulation_spectrum(x, torch.hann_window(w, periodic=False, dtype=torch.float64)) / 10) - 1e-8
        bands = octave_bands(w // 2, 2)
        want = torch.stack([power[..., b.start : b.stop].mean(-1) for b in bands], dim=-1)
        torch.testing.assert_close(ms, 10 * torch.log10(want + 1e-8), atol=1e-5, rtol=0)  # dB and back
    assert pooled.spectra(x)[1].shape == (1, 39, 10) and octave_bands(32, 2)[:2] == [range(0, 1), range(1, 2)]
    with pytest.raises(ValueError, match="bands_per_octave = -1"):
        ModulationCritic(39, (8,), 3, (16,), bands_per_octave=-1)
    both = SegmentCritic(39, (8, 8), 5, (), modulation=(16,), bands_per_octave=1)
    assert both.modulation.spectra(speech[None, :32])[0].shape == (1, 39, 4)


@pytest.mark.parametrize("options, message", [
    (dict(critic_modulation=(16, 200)), "longer than segment = 96"),
    (dict(critic_bands_per_octave=2), "critic_modulation = \\[\\] gives the critic no modulation view"),
    (dict(critic_bands_per_octave=-1, critic_modulation=(16,)), "critic_bands_per_octave"),
    (dict(critic_modulation=(15,)), "must be even"),
    (dict(critic_modulation=(2,)), "4 frames or more"),
    (dict(critic_scales=()), "needs a view"),
])
def test_critic_views_a_config_cannot_have_are_refused_in_one_line(options, message):
    for config in (VAWGANConfig, VAWGANPostfilterConfig):
        with pytest.raises(VawganError, match=message) as e:
            config(arch="conv", **options)
        assert "\n" not in str(e.value)
    assert VAWGANConfig(arch="conv", critic_modulation=(96,), segment=96).critic_modulation == (96,)  # a window as long as the crop
    with pytest.raises(VawganError, match="critic_modulation"):  # a conv option, refused by the frame arch
        VAWGANConfig(arch="frame", critic_modulation=(16,))
    with pytest.raises(VawganError, match="critic_bands_per_octave"):
        VAWGANConfig(arch="frame", critic_bands_per_octave=2)


def test_a_post_filter_with_the_modulation_view_alone_builds_and_steps(speech):
    from vawgan_tts.steps import StepContext

    cfg = VAWGANPostfilterConfig(arch="conv", channels=(8,), dilations=(1,), latent=2, critic_channels=(4, 4),
                                 segment=32, critic_scales=(), critic_modulation=(16, 32), spread_taps=9,
                                 critic_bands_per_octave=2,
                                 adv_weight=0.0, spread_likelihood=1.0)
    task = ConvPostfilterTask(cfg)
    assert task.critic.modulation is not None and len(task.critic.critics) == 0
    before = task.spread.log_gains.detach().clone()
    x = speech[:64].reshape(2, 32, 39)
    batch = Segments(0.6 * x, x, torch.ones(2, 32), torch.roll(x, 1, 0))
    task.train_step(batch, "adv", StepContext(task.make_optimizers(), 0.0))
    assert not task.spread.log_gains.equal(before)
    # The enhancement VAWGAN and VAWGAN-VC build their critics the same way (VC's with the speaker beside).
    from vawgan_tts.tasks.vawgan import ConvVAWGANTask
    from vawgan_tts.tasks.vawgan_vc import ConvVAWGANVCTask, VAWGANVCConfig
    small = dict(arch="conv", channels=(8,), dilations=(1,), latent=2, critic_channels=(4, 4), segment=32,
                 critic_scales=(), critic_modulation=(16,))
    for task in (ConvVAWGANTask(VAWGANConfig(**small)), ConvVAWGANVCTask(VAWGANVCConfig(**small, speakers=("a", "b")))):
        critics = [m for m in task.critic.modules() if isinstance(m, SegmentCritic)]
        assert critics[0].modulation is not None and len(critics[0].critics) == 0


def test_a_spread_filter_trained_by_the_view_alone_restores_the_movement_a_smoothing_took(speech):
    """Real frames against the same frames through a 9-frame moving average: a WGAN-GP with the
    modulation view as critic and a spread filter as the whole generator. Measured: the filter's gains
    rise above 1 where the smoothing cut (5-20 Hz at 200 frames/s), and the filtered trajectory's log
    MS moves towards the real one's, as the MS post-filter's would."""
    torch.manual_seed(0)
    real = speech[None]
    kernel = torch.ones(39, 1, 9) / 9
    smooth = torch.nn.functional.conv1d(real.transpose(1, 2), kernel, padding=4, groups=39).transpose(1, 2)
    critic, spread = ModulationCritic(39, (16, 16), 3, (16, 32)), SpreadFilter(39, 17)
    opt_c = torch.optim.Adam(critic.parameters(), 1e-3, betas=(0.5, 0.9))
    opt_g = torch.optim.Adam(spread.parameters(), 2e-2, betas=(0.5, 0.9))
    hann = torch.hann_window(32, periodic=False)

    def crops(x, n=16, length=64):
        starts = torch.randint(0, x.shape[1] - length, (n,))
        return torch.stack([x[0, s : s + length] for s in starts])

    def ms_gap(y):  # mean |log MS difference| in dB, 5-50 Hz
        return float((log_modulation_spectrum(y, hann) - log_modulation_spectrum(real, hann))[..., 2:].abs().mean())

    before = ms_gap(smooth)
    for step in range(300):
        class Ctx:
            def step(self, name, loss):
                opt_c.zero_grad()
                loss.backward()
                opt_c.step()
        critic_step(critic, crops(real), spread(crops(smooth)).detach(), Ctx(), "critic", "gp", 10.0, 0.01)
        if step % 5 == 4:
            loss = -critic(spread(crops(smooth))).mean()
            opt_g.zero_grad()
            loss.backward()
            opt_g.step()
    with torch.no_grad():
        gains = spread.gains(256)  # (F, D), F over 0..100 Hz
        after = ms_gap(spread(smooth))
    band = slice(int(5 / 100 * 128), int(20 / 100 * 128))
    assert float(gains[band].mean()) > 1.2
    assert after < 0.7 * before, (before, after)


# ------------------------------------------------------------------ the view over speech frames only


@pytest.fixture(scope="module")
def speech_and_mask(parallel) -> tuple[torch.Tensor, torch.Tensor]:
    """Three slt prompts end to end: c1..c39 normalized (T, 39), float64, and their speech frames (T,)
    by each prompt's c0, as the recipe's batches carry them."""
    from vawgan_tts.features import speech_mask

    feats = [load_features(parallel[0] / f"{p}.npz").mcep for p in PROMPTS[:3]]
    c = np.concatenate([f[:, 1:] for f in feats])
    mask = np.concatenate([speech_mask(f[:, 0]) for f in feats])
    assert 0.2 < mask.mean() < 0.95  # real pauses inside
    return torch.from_numpy((c - c.mean(0)) / c.std(0)), torch.from_numpy(mask.astype(np.float64))


def _gapped_by_hand(x: np.ndarray, weight: np.ndarray, w: int) -> np.ndarray:
    """The documented estimate, one frame at a time: (T, D), (T,) -> (D, w/2)."""
    h = np.hanning(w)
    power, energy = 0.0, 0.0
    for s in range(0, len(x) - w + 1, w // 2):
        g = weight[s : s + w]
        if g.sum() > 0:
            frame = x[s : s + w] - (g[:, None] * x[s : s + w]).sum(0) / g.sum()
            power = power + np.abs(np.fft.rfft(frame * (g * h)[:, None], axis=0)[1 : w // 2 + 1]) ** 2
        energy += ((g * h) ** 2).sum()
    return (power * (h**2).sum() / energy).T


@pytest.mark.parametrize("w", [16, 64])
def test_the_gapped_periodogram_is_the_documented_estimate_and_plain_at_weight_one(speech_and_mask, w):
    x, mask = speech_and_mask
    x, mask = x[:400], mask[:400]
    hann = torch.hann_window(w, periodic=False, dtype=torch.float64)
    ours = modulation_power(x[None], hann, mask[None])[0]
    np.testing.assert_allclose(ours.numpy(), _gapped_by_hand(x.numpy(), mask.numpy(), w), rtol=1e-9)
    soft = torch.linspace(0.1, 1.0, 400, dtype=torch.float64)  # weights between 0 and 1 too
    np.testing.assert_allclose(modulation_power(x[None], hann, soft[None])[0].numpy(),
                               _gapped_by_hand(x.numpy(), soft.numpy(), w), rtol=1e-9)
    torch.testing.assert_close(modulation_power(x[None], hann, torch.ones(1, 400, dtype=torch.float64)),
                               modulation_power(x[None], hann), rtol=1e-6, atol=0)  # Welch's (checked above against scipy)
    torch.testing.assert_close(modulation_power(x[None], hann, 0.3 * mask[None]), ours[None])  # weights are relative
    both = modulation_power(torch.stack([x, x]), hann, torch.stack([mask, soft]))  # each row by its own weights
    torch.testing.assert_close(both, torch.stack([ours, modulation_power(x[None], hann, soft[None])[0]]))


def test_the_gated_view_is_blind_to_the_pauses_and_gives_them_no_gradient(speech_and_mask):
    x, mask = speech_and_mask
    x, mask = x[None, :512].float(), mask[None, :512].float()
    pauses = (mask == 0)[..., None]
    noisy = torch.where(pauses, 5.0 * torch.randn(x.shape, generator=torch.Generator().manual_seed(0)), x)
    torch.manual_seed(0)
    critic = ModulationCritic(39, (8, 8), 3, (16, 64, 256), bands_per_octave=2)
    torch.testing.assert_close(critic(noisy, weight=mask), critic(x, weight=mask))
    assert not torch.allclose(critic(noisy), critic(x), atol=1e-3)  # ungated, the pauses count
    x = x.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(x, weight=mask).sum(), x)
    assert bool((grad[pauses.expand_as(grad)] == 0).all()) and bool((grad[~pauses.expand_as(grad)] != 0).any())
    # A segment critic reads the weight as one more channel, after the coefficients; no gradient reaches it
    # (none enters WGAN-GP's norm), and its trajectory views still read every frame.
    torch.manual_seed(0)
    gated = SegmentCritic(39, (8, 8), 3, scales=(), modulation=(16, 64, 256), bands_per_octave=2, speech_gated=True)
    torch.testing.assert_close(gated(torch.cat([noisy, mask[..., None]], -1)), gated(torch.cat([x, mask[..., None]], -1)))
    both = torch.cat([x, mask[..., None]], -1).detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(gated(both).sum(), both)
    assert bool((grad[..., -1] == 0).all())
    torch.manual_seed(0)
    with_scales = SegmentCritic(39, (8, 8), 3, scales=(1,), modulation=(16,), speech_gated=True)
    assert not torch.allclose(with_scales(torch.cat([noisy, mask[..., None]], -1)),
                              with_scales(torch.cat([x, mask[..., None]], -1)), atol=1e-4)
    with pytest.raises(ValueError, match="modulation"):
        SegmentCritic(39, (8, 8), 3, scales=(1,), speech_gated=True)


def test_the_speech_only_view_is_refused_without_a_modulation_view_and_by_the_frame_arch():
    with pytest.raises(VawganError, match="critic_speech_only") as e:
        VAWGANPostfilterConfig(arch="conv", critic_speech_only=True)
    assert "\n" not in str(e.value)
    with pytest.raises(VawganError, match="critic_speech_only"):
        VAWGANPostfilterConfig(arch="frame", critic_speech_only=True)
    assert VAWGANPostfilterConfig(arch="conv", critic_speech_only=True, critic_modulation=(16,)).critic_speech_only


def test_a_post_filter_with_the_speech_only_view_judges_each_side_by_its_own_speech(speech_and_mask):
    from vawgan_tts.steps import StepContext

    x, mask = speech_and_mask
    x, mask = x[:128].float().reshape(2, 64, 39), mask[:128].float().reshape(2, 64)
    cfg = VAWGANPostfilterConfig(arch="conv", channels=(8,), dilations=(1,), latent=2, critic_channels=(4, 4),
                                 segment=64, critic_scales=(), critic_modulation=(16, 64), spread_knots=(2.0, 8.0),
                                 critic_speech_only=True, spread_likelihood=1.0)
    task = ConvPostfilterTask(cfg)
    nat_mask = torch.roll(mask, 1, 0)
    batch = Segments(0.6 * x, x, mask, torch.roll(x, 1, 0), nat_mask)
    real, fake, _ = task.adversary(batch, batch, torch.zeros(2, 64, 2))
    assert real.shape == fake.shape == (2, 64, 40)
    assert torch.equal(real[..., -1], nat_mask) and torch.equal(fake[..., -1], mask)
    assert torch.equal(real[..., :-1], batch.natural)  # critic_real = "recordings": the natural crops as spoken
    aligned = ConvPostfilterTask(dataclasses.replace(cfg, critic_real="aligned"))
    real, _, _ = aligned.adversary(batch, batch._replace(target=0.9 * x), torch.zeros(2, 64, 2))
    assert torch.equal(real, torch.cat([0.9 * x, mask[..., None]], -1))  # the aligned target, with the system's speech
    before = task.spread.log_gains().detach().clone()
    task.train_step(tuple(batch), "adv", StepContext(task.make_optimizers(), 0.0))
    assert not task.spread.log_gains().equal(before)
    no_speech = "^critic_speech_only: the batch carries no speech frames for the natural crops$"
    with pytest.raises(ValueError, match=no_speech):  # a batch without the natural side's speech
        task.adversary(batch._replace(natural_speech=None), batch, torch.zeros(2, 64, 2))
    # The dev monitor's score: the aligned target, or generated frames, each with the system's speech.
    with torch.no_grad():
        torch.testing.assert_close(task.critic_score(batch, batch), task.critic(torch.cat([x, mask[..., None]], -1)))
        y = 0.8 * x
        torch.testing.assert_close(task.critic_score(y, batch), task.critic(torch.cat([y, mask[..., None]], -1)))
        assert not torch.allclose(task.critic_score(y, batch), task.critic_score(y, batch._replace(mask=nat_mask)))


def test_the_post_filters_batches_carry_the_recordings_speech_where_they_were_cut(parallel):
    from vawgan_tts.alignment import align_utterance
    from vawgan_tts.runs.vawgan_postfilter import _normalized_trajectories, _segment_batches, _trajectories
    from vawgan_tts.features import FeatureStats

    system, natural = parallel
    aligned = {}
    for p in PROMPTS:
        s, n = load_features(system / f"{p}.npz").mcep, load_features(natural / f"{p}.npz").mcep
        aligned[p] = align_utterance(s[:, 1:], s[:, 0], n[:, 1:], n[:, 0])
    data = _trajectories(system, natural, aligned, PROMPTS, 64)
    stats = FeatureStats.from_frames(np.concatenate(data[1]))
    norm = _normalized_trajectories(data, stats)
    cfg = VAWGANPostfilterConfig(arch="conv", segment=64, segments_per_batch=8)
    nat_all, speech_all = torch.cat(norm[3]), torch.cat(norm[4]).numpy() > 0
    batch = Segments(*next(_segment_batches(norm, cfg).epoch(torch.Generator().manual_seed(0))))
    assert batch.natural_speech.shape == (8, 64)
    for crop, speech in zip(batch.natural, batch.natural_speech):
        start = int(torch.nonzero((nat_all == crop[0]).all(-1))[0])
        assert torch.equal(nat_all[start : start + 64], crop)
        np.testing.assert_array_equal(speech.numpy() > 0, speech_all[start : start + 64])


def test_under_the_speech_only_view_short_recordings_are_padded_and_their_padding_is_not_speech(parallel):
    from vawgan_tts.alignment import align_utterance
    from vawgan_tts.features import speech_mask
    from vawgan_tts.runs.vawgan_postfilter import _trajectories

    system, natural = parallel
    aligned, lengths = {}, {}
    for p in PROMPTS:
        s, n = load_features(system / f"{p}.npz").mcep, load_features(natural / f"{p}.npz").mcep
        aligned[p], lengths[p] = align_utterance(s[:, 1:], s[:, 0], n[:, 1:], n[:, 0]), len(n)
    length = int(np.median(list(lengths.values())))  # about half the recordings are shorter
    short = [p for p in PROMPTS if lengths[p] < length]
    assert short
    kept = _trajectories(system, natural, aligned, PROMPTS, length)
    assert len(kept[3]) == len(PROMPTS) - len(short)  # the plain view leaves them out
    padded = _trajectories(system, natural, aligned, PROMPTS, length, pad_natural=True)
    assert len(padded[3]) == len(PROMPTS)
    for p, c, speech in zip(PROMPTS, padded[3], padded[4]):
        n = lengths[p]
        assert len(c) == len(speech) == max(n, length)
        c0 = load_features(natural / f"{p}.npz").mcep[:, 0]
        np.testing.assert_array_equal(speech[:n], speech_mask(c0))
        assert not speech[n:].any() and (c[n:] == c[n - 1]).all()  # the last frame repeated, not speech
