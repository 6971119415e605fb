"""The spread filter (models/spread_filter.py) and the conv post-filter that learns it from its critic."""

import numpy as np
import pytest
import torch

from vawgan_tts.errors import VawganError
from vawgan_tts.features import load_features
from vawgan_tts.models.spread_filter import KnotSpreadFilter, SpreadFilter
from vawgan_tts.steps import StepContext
from vawgan_tts.tasks.vawgan_postfilter import ConvPostfilterTask, Segments, VAWGANPostfilterConfig, filtered_in_crops

from conftest import PARALLEL_PROMPTS as PROMPTS

SMALL = dict(arch="conv", channels=(16, 16), dilations=(1, 2), latent=4, critic_channels=(8, 8),
             adv_balance="fixed", segment=32)


@pytest.fixture(scope="module")
def speech(parallel) -> torch.Tensor:
    """c1..c39 of one real slt prompt, (1, T, 39), normalized per coefficient."""
    c = load_features(parallel[0] / f"{PROMPTS[0]}.npz").mcep[:, 1:]
    return torch.from_numpy(((c - c.mean(0)) / c.std(0)).astype(np.float32))[None]


def shaken(taps: int = 9, seed: int = 0) -> SpreadFilter:
    f = SpreadFilter(39, taps)
    with torch.no_grad():
        f.log_gains.copy_(torch.randn(f.log_gains.shape, generator=torch.Generator().manual_seed(seed)))
    return f


def test_it_starts_as_the_identity(speech):
    f = SpreadFilter(39, 33)
    torch.testing.assert_close(f.impulse_responses(), torch.eye(33)[16].expand(39, 33), atol=1e-7, rtol=0)
    torch.testing.assert_close(f(speech), speech, atol=1e-6, rtol=0)


def test_its_gains_on_the_dft_grid_are_the_exponentiated_parameters_so_never_negative():
    """An unconditional critic cannot see a modulation band's sign; the filter cannot flip it."""
    f = shaken(taps=9).double()
    with torch.no_grad():
        f.log_gains[:, 2] = -8.0  # as small as a gain gets, and still above 0
        grid = f.gains(9)[1:5].T  # ω_j = 2πj/9, j = 1..4
    torch.testing.assert_close(grid, torch.exp(f.log_gains.detach()), rtol=1e-9, atol=1e-12)
    assert (grid > 0).all() and float(f.gains(9)[0].min().detach()) == pytest.approx(1.0, abs=1e-6)


def test_taps_are_symmetric_sum_to_one_and_pass_a_constant():
    f = shaken()
    h = f.impulse_responses()
    torch.testing.assert_close(h, h.flip(-1))
    torch.testing.assert_close(h.sum(-1), torch.ones(39))
    c = torch.full((1, 40, 39), 2.5)
    torch.testing.assert_close(f(c), c)


def test_gains_are_the_taps_fourier_transform():
    """Zero phase: the DFT of the taps, centred at 0, is real and is what gains() says."""
    f, n = shaken(), 64
    h = f.impulse_responses().detach().numpy()
    centred = np.zeros((39, n))
    for k in range(-4, 5):
        centred[:, k % n] = h[:, k + 4]
    spectrum = np.fft.rfft(centred, axis=1).T  # (F, D)
    np.testing.assert_allclose(spectrum.imag, 0.0, atol=1e-6)
    np.testing.assert_allclose(f.gains(n).detach().numpy(), spectrum.real, atol=1e-5)


def test_a_sinusoid_comes_out_scaled_by_its_gain_and_not_shifted():
    f, n = shaken(taps=11).double(), 40
    t = torch.arange(400, dtype=torch.float64)
    bin_ = 7  # a whole number of periods in n frames: the gain at that frequency exactly
    x = torch.cos(2 * torch.pi * bin_ * t / n)[None, :, None].repeat(1, 1, 39)
    y = f(x)[0, 20:-20].detach()
    g = f.gains(n)[bin_].detach()
    torch.testing.assert_close(y, g * x[0, 20:-20], atol=1e-10, rtol=1e-10)


def test_a_crop_gives_the_whole_utterances_frames_away_from_its_edges(speech):
    f = shaken(taps=9)
    whole = f(speech)
    crop = f(speech[:, 50:110])
    torch.testing.assert_close(crop[:, 4:-4], whole[:, 54:106])


def test_even_taps_and_frame_arch_are_refused_in_one_line():
    with pytest.raises(VawganError, match="spread_taps") as err:
        VAWGANPostfilterConfig(**SMALL, spread_taps=8)
    assert "\n" not in str(err.value)
    with pytest.raises(VawganError, match="spread_taps"):
        VAWGANPostfilterConfig(arch="frame", spread_taps=9)
    with pytest.raises(ValueError, match="odd count"):
        SpreadFilter(39, 4)
    one = SpreadFilter(39, 1)  # one tap: the identity, nothing to learn
    assert one.log_gains.shape == (39, 0)
    torch.testing.assert_close(one.impulse_responses(), torch.ones(39, 1))


def test_the_filters_defaults_and_what_their_checkpoints_hold():
    """The FIR form's cosines are derived, not saved; the defaults are the documented ones."""
    f = SpreadFilter()
    assert f.log_gains.shape == (39, 16) and set(f.state_dict()) == {"log_gains"}
    assert f.gains().shape == (129, 39)
    k = KnotSpreadFilter()
    assert k.knot_log_gains.shape == (39, 7) and k.knots.tolist() == [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0]
    assert k.gains().shape == (129, 39)


def batch(speech) -> Segments:
    y = speech[:, :64].reshape(2, 32, 39)
    return Segments(0.6 * y, y, torch.ones(2, 32), torch.roll(y, 1, 0))


def test_without_taps_the_task_is_the_old_one():
    task = ConvPostfilterTask(VAWGANPostfilterConfig(**SMALL))
    assert task.spread is None and set(task.modules()) == {"vae", "critic"}
    assert set(task.make_optimizers()) == {"vae", "critic"} and "spread_score" not in task.metric_names


def test_the_critic_alone_trains_the_filter_and_the_decoder_is_unchanged_by_it(speech):
    """With adv_weight = 0 the adversarial stage leaves the decoder a conditional mean: one step
    gives the VAE the same parameters with the filter as without it, and the filter is the part that
    moves, through its own Adam at spread_lr with the critic's betas."""
    seg = batch(speech)
    after = {}
    for taps in (0, 9):
        torch.manual_seed(0)
        task = ConvPostfilterTask(VAWGANPostfilterConfig(**SMALL, adv_weight=0.0, spread_taps=taps, spread_lr=1e-2))
        optimizers = task.make_optimizers()
        torch.manual_seed(1)
        out = task.train_step(seg, "adv", StepContext(optimizers, 0.0))
        after[taps] = (task, optimizers, out)
    plain, spread = after[0][0], after[9][0]
    for p, q in zip(plain.vae.parameters(), spread.vae.parameters()):
        torch.testing.assert_close(p, q)
    assert spread.spread.log_gains.abs().max() > 0
    opt = after[9][1]["spread"]
    assert opt.param_groups[0]["lr"] == 1e-2 and opt.param_groups[0]["betas"] == tuple(spread.config.critic_betas)
    assert "spread_score" in after[9][2] and "spread" in spread.modules()
    # The VAE and critic stages leave it alone.
    before = spread.spread.log_gains.detach().clone()
    spread.train_step(seg, "vae", StepContext(after[9][1], 0.0))
    spread.train_step(seg, "critic", StepContext(after[9][1], 0.0))
    assert torch.equal(spread.spread.log_gains, before)


def test_the_filters_steps_climb_a_fixed_critics_score(speech):
    seg = batch(speech)
    torch.manual_seed(0)
    task = ConvPostfilterTask(VAWGANPostfilterConfig(**SMALL, adv_weight=0.0, spread_taps=9, spread_lr=1e-2))
    optimizers = task.make_optimizers()
    with torch.no_grad():
        y = task.generate(task.encode(seg)[0], seg)
        start = float(task.critic(task.spread(y)).mean())
    ctx = StepContext({"spread": optimizers["spread"]}, 0.0)
    for _ in range(20):
        ctx.step("spread", -task.critic(task.spread(y)).mean())
    with torch.no_grad():
        assert float(task.critic(task.spread(y)).mean()) > start


def test_enhance_applies_the_filter(speech):
    torch.manual_seed(0)
    task = ConvPostfilterTask(VAWGANPostfilterConfig(**SMALL, spread_taps=9))
    with torch.no_grad():
        task.spread.log_gains.normal_()
        c = speech[:, :80]
        x = Segments(c, c, torch.ones(1, 80), c)
        expected = task.spread(task.generate(task.encode(x)[0], x))
        torch.testing.assert_close(task.enhance(c), expected)
        assert not torch.allclose(expected, task.generate(task.encode(x)[0], x))


def test_the_filters_loss_is_the_critics_score_and_at_a_weight_the_filtered_nll(speech):
    """spread_likelihood = λ: the filter steps on −E[D(f(y))] + λ·NLL(target, f(y)), y the decoder's
    output for z ~ q(z|x); λ = 0 leaves the critic's score alone."""
    from conftest import RecordingContext

    from vawgan_tts.models.gaussian import reparameterize

    seg = batch(speech)
    grads = {}
    for lam in (0.0, 0.5, 5.0):  # a weight below 1 too
        torch.manual_seed(0)
        task = ConvPostfilterTask(VAWGANPostfilterConfig(**SMALL, adv_weight=0.0, spread_taps=9, spread_likelihood=lam))
        with torch.no_grad():
            task.spread.log_gains.normal_(0, 0.3)
        ctx = RecordingContext(task.make_optimizers())
        torch.manual_seed(1)
        out = task.train_step(seg, "adv", ctx)
        grads[lam] = ctx.grads["spread"][id(task.spread.log_gains)]
        # The same draws again (the critic's z and ε, the decoder's z, then the filter's z) by hand.
        torch.manual_seed(1)
        with torch.no_grad():
            mu, logvar = task.encode(seg)
            reparameterize(mu, logvar), torch.rand(2, 1, 1), reparameterize(mu, logvar)
            y = task.generate(reparameterize(mu, logvar), seg)
        task.spread.zero_grad()
        loss = -task.critic(task.spread(y)).mean() + lam * task.nll(seg, task.spread(y))
        loss.backward()
        torch.testing.assert_close(grads[lam], task.spread.log_gains.grad)
        with torch.no_grad():  # the logged score: the critic's, of the filtered output
            torch.testing.assert_close(out["spread_score"], task.critic(task.spread(y)).mean())
    assert not torch.allclose(grads[0.0], grads[0.5]) and not torch.allclose(grads[0.5], grads[5.0])


def test_a_checkpoint_whose_weights_do_not_fit_is_refused_in_one_line(tmp_path):
    """Opening a trained post-filter (runs.experiment.load_task, what `vawgan enhance` does) whose
    filter was saved in another form — free taps, as first written — names the file and both keys."""
    from vawgan_tts.checkpoint import save_checkpoint
    from vawgan_tts.config import to_dict
    from vawgan_tts.runs.experiment import load_task
    from vawgan_tts.tasks.vawgan_postfilter import VAWGANPostfilterTask, postfilter_task

    cfg = VAWGANPostfilterConfig(**SMALL, spread_taps=9)
    model = {role: m.state_dict() for role, m in ConvPostfilterTask(cfg).modules().items()}
    model["spread"] = {"free": torch.zeros(39, 9)}
    path = save_checkpoint(tmp_path / "adv.pt", {"task": VAWGANPostfilterTask.name, "config": to_dict(cfg),
                                                  "extra": {}, "model": model, "progress": {}})
    with pytest.raises(VawganError) as err:
        load_task(path, VAWGANPostfilterTask, VAWGANPostfilterConfig, make=lambda c, ckpt: postfilter_task(c, ckpt["extra"]))
    said = str(err.value)
    assert "\n" not in said and "adv.pt" in said and "log_gains" in said and "free" in said


# ---------------------------------------------------------------- the knot form


def knotted(knots=(0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0), seed: int = 0) -> KnotSpreadFilter:
    f = KnotSpreadFilter(39, knots)
    with torch.no_grad():
        f.knot_log_gains.copy_(torch.randn(f.knot_log_gains.shape, generator=torch.Generator().manual_seed(seed)))
    return f


def test_the_knot_form_starts_as_the_identity_and_passes_an_offset_unchanged(speech):
    """0 Hz is never filtered: a constant passes as it is, and an offset added to a trajectory comes
    out added to its output."""
    torch.testing.assert_close(KnotSpreadFilter(39)(speech), speech, atol=1e-5, rtol=0)
    f = knotted()
    with torch.no_grad():
        y = f(speech)
        torch.testing.assert_close(f(speech + 3.0), y + 3.0, atol=1e-5, rtol=0)
        c = torch.full((1, 40, 39), 2.5)
        torch.testing.assert_close(f(c), c)
    assert not torch.allclose(y, speech, atol=1e-2)


def test_the_knot_form_is_the_ms_post_filters_operation_with_its_gains():
    """Reference: postfilters.ms_postfilter (the MS post-filter, Takamichi et al. 2016) with the gain
    20·log10 G(f) in dB as its target-minus-source spectrum, strength 1, one FFT of the filter's size."""
    from vawgan_tts.postfilters import ms_postfilter

    rng = np.random.default_rng(0)
    x = np.cumsum(rng.normal(size=(150, 39)), axis=0)  # a wandering trajectory: most power in the slow band
    f = knotted().double()
    n = KnotSpreadFilter.fft_size(150)
    assert n == 512  # the power of two at least 2T
    with torch.no_grad():
        gain_db = 20 * np.log10(f.gains(n).numpy())
        y = f(torch.from_numpy(x)[None])[0].numpy()
    expected = ms_postfilter(x, gain_db, np.zeros_like(gain_db), strength=1.0, fft_size=n)
    np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-4)


def test_the_knot_forms_gains_are_its_parameters_at_the_knots_and_log_linear_between():
    f = knotted().double()
    g = f.knot_log_gains.detach()
    with torch.no_grad():
        gains = torch.log(f.gains(400))  # 400 points at 200 frames/s: 0.5 Hz apart, knots at bins 1, 2, 4, …, 64
    for j, b in enumerate((1, 2, 4, 8, 16, 32, 64)):
        torch.testing.assert_close(gains[b], g[:, j])
    torch.testing.assert_close(gains[6], g[:, 2] + (g[:, 3] - g[:, 2]) * np.log(3 / 2) / np.log(2))  # 3 Hz
    torch.testing.assert_close(gains[200], g[:, -1])  # held above the last knot
    assert (f.gains(400) > 0).all()


def test_knots_are_refused_in_one_line():
    for knots in ((1.0, 0.5), (-1.0, 1.0), (0.0, 0.0, 1.0), (1.0, 100.0), (1.0, 2.0, 2.0), (1.0, 2.0, 100.0)):
        with pytest.raises(VawganError, match="spread_knots") as err:
            VAWGANPostfilterConfig(**SMALL, spread_knots=knots)
        assert "\n" not in str(err.value)
        with pytest.raises(ValueError, match="below 100.0 Hz"):
            KnotSpreadFilter(39, knots)
    for knots in ((1.0,), (0.0, 99.0), (0.5, 70.7, 99.9)):  # one knot is enough; up to half the frame rate
        assert KnotSpreadFilter(39, knots).knots.tolist() == [k for k in knots if k > 0]
    with pytest.raises(VawganError, match="not both"):
        VAWGANPostfilterConfig(**SMALL, spread_knots=(1.0, 2.0), spread_taps=9)
    with pytest.raises(VawganError, match="spread_knots"):
        VAWGANPostfilterConfig(arch="frame", spread_knots=(1.0, 2.0))


def test_the_critic_trains_the_knot_form_and_enhance_applies_it(speech):
    seg = batch(speech)
    torch.manual_seed(0)
    task = ConvPostfilterTask(VAWGANPostfilterConfig(**SMALL, adv_weight=0.0, spread_knots=(1.0, 4.0, 16.0),
                                                     spread_lr=1e-2, spread_likelihood=1.0))
    assert isinstance(task.spread, KnotSpreadFilter) and "spread" in task.modules()
    optimizers = task.make_optimizers()
    task.train_step(seg, "adv", StepContext(optimizers, 0.0))
    assert task.spread.knot_log_gains.abs().max() > 0
    with torch.no_grad():
        c = speech[:, :80]
        x = Segments(c, c, torch.ones(1, 80), c)
        torch.testing.assert_close(task.enhance(c), task.spread(task.generate(task.encode(x)[0], x)))


def test_a_knot_at_0_hz_pins_the_gain_to_1_there_and_ramps_to_the_next_knot():
    """Bands slower than any training crop shows are left nearly alone, not scaled by the first knot's gain."""
    f = knotted(knots=(0.0, 2.0, 4.0, 8.0)).double()
    assert f.knot_log_gains.shape == (39, 3)
    g = f.knot_log_gains.detach()
    with torch.no_grad():
        gains = torch.log(f.gains(400))  # 0.5 Hz apart: 2 Hz is bin 4
    torch.testing.assert_close(gains[0], torch.zeros(39, dtype=torch.float64))
    torch.testing.assert_close(gains[1], g[:, 0] / 4)  # 0.5 Hz: a quarter of the way, linearly in frequency
    torch.testing.assert_close(gains[4], g[:, 0])
    torch.testing.assert_close(gains[6], g[:, 0] + (g[:, 1] - g[:, 0]) * np.log(3 / 2) / np.log(2))
    held = knotted(knots=(2.0, 4.0, 8.0)).double()
    assert torch.allclose(torch.log(held.gains(400))[1], g[:, 0])  # without the pin: held below 2 Hz
    with pytest.raises(VawganError, match="spread_knots"):
        VAWGANPostfilterConfig(**SMALL, spread_knots=(0.0,))
    assert VAWGANPostfilterConfig(**SMALL, spread_knots=(0.0, 1.0)).spread_knots == (0.0, 1.0)


def test_the_factored_knot_form_is_a_product_of_rank_r_that_starts_as_the_identity(speech):
    """spread_rank r: log-gains U·Vᵀ, U (D, r) from 0, V (K, r) from the first r cosines over the knots,
    each factor reached by the gradient from the first step; the gains at the knots are the product's."""
    f = KnotSpreadFilter(39, (0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0), rank=2).double()
    assert not hasattr(f, "knot_log_gains") and set(dict(f.named_parameters())) == {"coefficient_factors", "knot_factors"}
    assert f.coefficient_factors.shape == (39, 2) and f.knot_factors.shape == (7, 2)
    torch.testing.assert_close(f.knot_factors[:, 0], torch.ones(7, dtype=torch.float64))
    torch.testing.assert_close(f.knot_factors[:, 1], torch.cos(torch.pi * (torch.arange(7) + 0.5) / 7).double(), atol=1e-6, rtol=0)
    torch.testing.assert_close(f(speech.double()), speech.double(), atol=1e-5, rtol=0)
    (f(speech.double()) * speech.double().flip(1)).sum().backward()
    assert (f.coefficient_factors.grad.abs() > 0).all()  # V's columns are live: both of U's get a gradient
    with torch.no_grad():
        f.coefficient_factors.copy_(torch.randn(39, 2, generator=torch.Generator().manual_seed(0)))
        gains = torch.log(f.gains(400))  # 0.5 Hz apart: the knots at bins 1, 2, 4, …, 64
        product = f.coefficient_factors @ f.knot_factors.T
    for j, b in enumerate((1, 2, 4, 8, 16, 32, 64)):
        torch.testing.assert_close(gains[b], product[:, j])
    assert torch.linalg.matrix_rank(f.log_gains()) == 2


def test_the_factored_forms_settings_are_refused_in_one_line():
    for options, message in ((dict(spread_rank=2), "spread_knots = \\[\\] gives no knots"),
                             (dict(spread_rank=4, spread_knots=(0.0, 1.0, 2.0, 4.0)), "at most the number of free knots \\(3\\)"),
                             (dict(spread_rank=-1, spread_knots=(1.0, 2.0)), "spread_rank")):
        with pytest.raises(VawganError, match=message) as err:
            VAWGANPostfilterConfig(**SMALL, **options)
        assert "\n" not in str(err.value)
    with pytest.raises(VawganError, match="spread_rank"):  # a conv option
        VAWGANPostfilterConfig(arch="frame", spread_rank=1)
    with pytest.raises(ValueError, match="rank = 8"):
        KnotSpreadFilter(39, (1.0, 2.0, 4.0), rank=8)
    task = ConvPostfilterTask(VAWGANPostfilterConfig(**SMALL, spread_knots=(0.0, 1.0, 4.0, 16.0), spread_rank=3))
    assert task.spread.rank == 3 and task.spread.log_gains().shape == (39, 3)


# ---------------------------------------------------------------- the adaptive knot form

KNOTS = (0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0)


def adaptive(knots=KNOTS, slope: float = 0.0) -> KnotSpreadFilter:
    f = KnotSpreadFilter(39, knots, adaptive=True).double()
    with torch.no_grad():
        f.knot_log_gains.copy_(knotted(knots).knot_log_gains)
        f.slopes.fill_(slope)
    return f


def test_the_adaptive_form_with_slopes_0_is_the_fixed_form_and_the_fixed_forms_weights_are_unchanged(speech):
    """Checkpoints of the fixed form hold the same keys as before the adaptive form existed."""
    x = speech.double()
    torch.testing.assert_close(adaptive()(x), knotted().double()(x))
    assert set(KnotSpreadFilter(39, KNOTS).state_dict()) == {"knot_log_gains"}
    assert set(KnotSpreadFilter(39, KNOTS, adaptive=True).state_dict()) == {"knot_log_gains", "slopes", "reference",
                                                                             "referenced"}


def test_with_slopes_minus_one_half_the_output_no_longer_depends_on_the_inputs_level(speech):
    """s = −½: a trajectory a times larger gets gains 1/a at every knot, so the output (less its mean)
    is the same: every utterance taken to one spectrum, as the MS post-filter does. With s = 0 it
    scales with a, as a fixed filter's."""
    x = speech.double()
    f = adaptive(slope=-0.5)
    y1, y3 = f(x), f(3.0 * x)
    torch.testing.assert_close(y3 - y3.mean(1, keepdim=True), y1 - y1.mean(1, keepdim=True), atol=1e-6, rtol=0)
    g = adaptive()
    z1, z3 = g(x), g(3.0 * x)
    torch.testing.assert_close(z3 - z3.mean(1, keepdim=True), 3.0 * (z1 - z1.mean(1, keepdim=True)))


def test_the_fft_size_is_the_least_power_of_two_of_at_least_twice_the_frames_and_8():
    for t in range(1, 700):
        n = KnotSpreadFilter.fft_size(t)
        assert n == max(8, min(1 << k for k in range(12) if 1 << k >= 2 * t - 1)), t


def test_its_level_is_the_log_of_the_weighted_periodogram_averaged_with_each_knots_weights(speech):
    """band_log_power against its docstring, in numpy: over the frames of weight w, the weighted mean
    removed, |DFT|² / Σw, averaged over the DFT bins with knot k's interpolation weights normalized."""
    f = adaptive()
    x = speech.double()[:, :90]
    w = torch.zeros(1, 90, dtype=torch.float64)
    w[0, 7:77] = 1.0 / 70  # soft weights summing to 1: the power is divided by Σw itself, not a floor
    xs, ws = x[0].numpy(), w[0].numpy()
    mu = (xs * ws[:, None]).sum(0) / ws.sum()
    n = KnotSpreadFilter.fft_size(90)
    power = np.abs(np.fft.rfft((xs - mu) * ws[:, None], n=n, axis=0)) ** 2 / ws.sum()  # (F, D)
    band = np.abs(f.interpolation(n).numpy())
    band = band / band.sum(0)
    expected = np.log(power.T @ band + 1e-8)  # (D, K)
    np.testing.assert_allclose(f.band_log_power(x, w)[0].numpy(), expected, rtol=1e-10, atol=1e-10)
    xs = x[0].numpy()
    power = np.abs(np.fft.rfft(xs - xs.mean(0), n=n, axis=0)) ** 2 / 90
    np.testing.assert_allclose(f.band_log_power(x)[0].numpy(), np.log(power.T @ band + 1e-8), rtol=1e-10, atol=1e-10)
    assert f.slopes.shape == (39, len(KNOTS))  # one slope per coefficient and knot


def test_its_level_is_measured_over_the_frames_it_is_given_and_its_reference_is_the_first_batchs(speech):
    """A 100-frame trajectory edge-padded to 128 (the FFT size is 256 either way), measured over its
    100 frames, has the level of the 100 frames alone. The reference is set by the first call, then
    kept, and saved with the weights."""
    from vawgan_tts.batching import edge_padded

    x = speech.double()[:, :100]
    padded = torch.from_numpy(edge_padded(x[0].numpy(), 128))[None]
    f = adaptive()
    frames = torch.cat([torch.ones(1, 100), torch.zeros(1, 28)], 1)
    torch.testing.assert_close(f.band_log_power(padded, frames), f.band_log_power(x))
    assert not torch.allclose(f.band_log_power(padded), f.band_log_power(x), atol=1e-2)
    f(x)
    torch.testing.assert_close(f.reference, f.band_log_power(x)[0])
    f(2.0 * x)
    torch.testing.assert_close(f.reference, f.band_log_power(x)[0])
    g = KnotSpreadFilter(39, KNOTS, adaptive=True).double()
    g.load_state_dict(f.state_dict())
    torch.testing.assert_close(g(2.0 * x), f(2.0 * x))


@pytest.mark.parametrize("how", ["prior", "posterior"])
def test_enhance_draws_z_from_its_generator_as_inference_z_says(speech, how):
    """prior: z = ε; posterior: z = μ + ε·exp(½ log σ²); ε from the generator given, so a seed repeats."""
    torch.manual_seed(0)
    task = ConvPostfilterTask(VAWGANPostfilterConfig(**SMALL, inference_z=how, spread_knots=(0.0, 1.0, 4.0, 16.0),
                                                     spread_speech_only=True))
    with torch.no_grad():
        task.spread.knot_log_gains.normal_()
        c = speech[:, :80]
        voiced = torch.cat([torch.zeros(1, 10), torch.ones(1, 60), torch.zeros(1, 10)], 1)
        x = Segments(c, c, voiced, c)
        mu, logvar = task.encode(x)
        eps = torch.randn(mu.shape, generator=torch.Generator().manual_seed(5))
        z = eps if how == "prior" else mu + eps * torch.exp(0.5 * logvar)
        expected = task.spread_out(task.generate(z, x), voiced)
        torch.testing.assert_close(task.enhance(c, torch.Generator().manual_seed(5), voiced), expected)
        assert not torch.allclose(task.enhance(c, torch.Generator().manual_seed(6), voiced), expected)


def test_the_speech_span_runs_from_the_first_speech_frame_to_the_last():
    from vawgan_tts.tasks.vawgan_postfilter import speech_span

    speech = torch.tensor([[0, 1, 0, 1, 0, 0], [0, 0, 0, 0, 0, 0], [1, 0, 0, 0, 0, 1], [1, 0, 0, 0, 0, 0]],
                          dtype=torch.float32)
    expected = torch.tensor([[0, 1, 1, 1, 0, 0], [1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 1, 1], [1, 0, 0, 0, 0, 0]],
                            dtype=torch.float32)
    torch.testing.assert_close(speech_span(speech), expected)


def test_the_critic_trains_the_slopes_and_enhance_measures_the_speech_span(speech):
    seg = batch(speech)
    torch.manual_seed(0)
    task = ConvPostfilterTask(VAWGANPostfilterConfig(**SMALL, adv_weight=0.0, spread_knots=(0.0, 1.0, 4.0, 16.0),
                                                     spread_adaptive=True, spread_lr=1e-2, spread_likelihood=1.0))
    task.train_step(seg, "adv", StepContext(task.make_optimizers(), 0.0))
    assert task.spread.slopes.abs().min() > 0 and bool(task.spread.referenced)
    with torch.no_grad():
        c = speech[:, :80]
        voiced = torch.cat([torch.zeros(1, 10), torch.ones(1, 60), torch.zeros(1, 10)], 1)
        x = Segments(c, c, voiced, c)
        y = task.generate(task.encode(x)[0], x)
        torch.testing.assert_close(task.enhance(c, speech=voiced), task.spread(y, voiced))
        assert not torch.allclose(task.enhance(c), task.enhance(c, speech=voiced))


def test_the_adaptive_setting_without_knots_is_refused_in_one_line():
    for options in (dict(spread_adaptive=True), dict(spread_adaptive=True, spread_taps=9)):
        with pytest.raises(VawganError, match="spread_adaptive") as err:
            VAWGANPostfilterConfig(**SMALL, **options)
        assert "\n" not in str(err.value)
    with pytest.raises(VawganError, match="spread_adaptive"):  # a conv option
        VAWGANPostfilterConfig(arch="frame", spread_adaptive=True)


# ---------------------------------------------------------------- the filter over the speech span only


def test_over_the_speech_span_only_the_span_is_filtered_as_a_trajectory_and_the_rest_is_the_decoders(speech):
    """spread_speech_only: each row's span (first to last speech frame) goes through the filter on its own;
    the frames before and after are the decoder's output unchanged. Without it the whole row is filtered."""
    torch.manual_seed(0)
    cfg = dict(SMALL, spread_knots=(0.0, 1.0, 4.0, 16.0))
    task = ConvPostfilterTask(VAWGANPostfilterConfig(**cfg, spread_speech_only=True))
    whole = ConvPostfilterTask(VAWGANPostfilterConfig(**cfg))
    with torch.no_grad():
        task.spread.knot_log_gains.normal_(0, 0.5)
        whole.spread.load_state_dict(task.spread.state_dict())
        y = speech[0, :120].reshape(2, 60, 39)
        voiced = torch.zeros(2, 60)
        voiced[0, 10:20] = voiced[0, 30:45] = 1  # a pause inside the span is filtered with it
        voiced[1, :] = 1
        out = task.spread_out(y, voiced)
        torch.testing.assert_close(out[0, :10], y[0, :10])
        torch.testing.assert_close(out[0, 45:], y[0, 45:])
        torch.testing.assert_close(out[0, 10:45], task.spread(y[:1, 10:45])[0])
        torch.testing.assert_close(out[1], task.spread(y[1:])[0])
        assert not torch.allclose(out[0, 10:45], y[0, 10:45], atol=1e-3)
        torch.testing.assert_close(whole.spread_out(y, voiced), whole.spread(y))
        assert not torch.allclose(whole.spread_out(y, voiced)[0], out[0], atol=1e-3)
        c = speech[:, :60]
        x = Segments(c, c, voiced[:1], c)
        expected = task.spread_out(task.generate(task.encode(x)[0], x), voiced[:1])
        torch.testing.assert_close(task.enhance(c, speech=voiced[:1]), expected)


def test_the_speech_span_setting_without_a_filter_is_refused_in_one_line():
    with pytest.raises(VawganError, match="spread_speech_only") as err:
        VAWGANPostfilterConfig(**SMALL, spread_speech_only=True)
    assert "\n" not in str(err.value)
    with pytest.raises(VawganError, match="spread_speech_only"):  # a conv option
        VAWGANPostfilterConfig(arch="frame", spread_speech_only=True)
    assert VAWGANPostfilterConfig(**SMALL, spread_taps=9, spread_speech_only=True).spread_speech_only


# ---------------------------------------------------------------- the filter in crops of the training length


def test_in_crops_a_long_trajectory_is_filtered_crop_by_crop_and_cross_faded(speech):
    """filtered_in_crops: frames only the first crop holds (before half a crop) are that crop's output,
    the last ones the last crop's; a constant, and the identity filter's input, pass unchanged; between,
    each frame lies between the outputs of the crops that hold it."""
    torch.manual_seed(0)
    f = KnotSpreadFilter(39, (0.0, 1.0, 4.0, 16.0))
    with torch.no_grad():
        f.knot_log_gains.normal_(0, 0.5)
        length = 64
        n = speech.shape[1] - (speech.shape[1] - length) % (length // 2)  # the last crop on the half-crop grid
        x = speech[0, :n]
        assert n > 2 * length
        y = filtered_in_crops(f, x[None], length)[0]
        torch.testing.assert_close(y[: length // 2], f(x[None, :length])[0, : length // 2])
        torch.testing.assert_close(y[-length // 2 :], f(x[None, -length:])[0, -length // 2 :])
        first, second = f(x[None, :length])[0], f(x[None, length // 2 : length // 2 + length])[0]
        t = slice(length // 2, length)  # held by these two crops only
        both = torch.stack([first[t], second[: length // 2]])
        assert (y[t] >= both.min(0).values - 1e-5).all() and (y[t] <= both.max(0).values + 1e-5).all()
        assert not torch.allclose(y[t], first[t], atol=1e-3)  # a cross-fade: crops overlap by half
        assert not torch.allclose(y[t], second[: length // 2], atol=1e-3)
        assert not torch.allclose(y, f(x[None])[0], atol=1e-3)  # not the whole trajectory's filter
        torch.testing.assert_close(filtered_in_crops(torch.nn.Identity(), x[None], length)[0], x)
        c = torch.full((3 * length + 5, 39), 2.5)
        torch.testing.assert_close(filtered_in_crops(f, c[None], length)[0], c)
        batch = torch.stack([x, x.flip(0)])  # rows filtered each on its own, in one call
        torch.testing.assert_close(filtered_in_crops(f, batch, length)[1], filtered_in_crops(f, batch[1:], length)[0])
        for whole in (0, n):  # no crop, or a crop as long as the trajectory: the whole trajectory's filter
            torch.testing.assert_close(filtered_in_crops(f, x[None], whole), f(x[None]))


def test_with_spread_crop_only_spans_longer_than_the_crop_are_cut(speech):
    """spread_crop = L: a speech span of at most L frames is filtered whole (as without the setting), a
    longer one in crops of L; without spread_speech_only the whole row likewise."""
    torch.manual_seed(0)
    cfg = dict(SMALL, spread_knots=(0.0, 1.0, 4.0, 16.0), spread_speech_only=True)
    task = ConvPostfilterTask(VAWGANPostfilterConfig(**cfg, spread_crop=48))
    plain = ConvPostfilterTask(VAWGANPostfilterConfig(**cfg))
    rows = ConvPostfilterTask(VAWGANPostfilterConfig(**dict(cfg, spread_speech_only=False), spread_crop=48))
    with torch.no_grad():
        task.spread.knot_log_gains.normal_(0, 0.5)
        plain.spread.load_state_dict(task.spread.state_dict())
        rows.spread.load_state_dict(task.spread.state_dict())
        y = speech[0, :240].reshape(2, 120, 39)
        voiced = torch.zeros(2, 120)
        voiced[0, 10:50] = 1  # a span of 40 frames
        voiced[1, 5:110] = 1  # of 105
        out, whole = task.spread_out(y, voiced), plain.spread_out(y, voiced)
        torch.testing.assert_close(out[0], whole[0])
        torch.testing.assert_close(out[1, 5:110], filtered_in_crops(task.spread, y[None, 1, 5:110], 48)[0])
        torch.testing.assert_close(out[1, :5], y[1, :5])
        torch.testing.assert_close(out[1, 110:], y[1, 110:])
        assert not torch.allclose(out[1], whole[1], atol=1e-3)
        voiced[0, 10:58], voiced[1, 5:61] = 1, 0  # spans of 48 (the crop: whole) and 49 frames (cut)
        out, whole = task.spread_out(y, voiced), plain.spread_out(y, voiced)
        torch.testing.assert_close(out[0], whole[0])
        torch.testing.assert_close(out[1, 61:110], filtered_in_crops(task.spread, y[None, 1, 61:110], 48)[0])
        torch.testing.assert_close(rows.spread_out(y, voiced)[1], filtered_in_crops(task.spread, y[None, 1], 48)[0])


def test_spread_crop_settings_that_cannot_work_are_refused_in_one_line():
    for bad, match in ((dict(spread_crop=64), "gives none"),
                       (dict(spread_crop=2, spread_knots=(0.0, 1.0)), "at least 4"),
                       (dict(spread_crop=64, spread_knots=(1.0, 4.0), spread_adaptive=True), "choose one"),
                       (dict(spread_crop=-1, spread_knots=(0.0, 1.0)), "spread_crop")):
        with pytest.raises(VawganError, match=match) as err:
            VAWGANPostfilterConfig(**SMALL, **bad)
        assert "\n" not in str(err.value)
    with pytest.raises(VawganError, match="spread_crop: not an option of arch = 'frame'"):  # a conv option
        VAWGANPostfilterConfig(arch="frame", spread_crop=64)
    assert VAWGANPostfilterConfig(**SMALL, spread_taps=9, spread_crop=64).spread_crop == 64


def test_the_critic_trains_the_filter_over_the_speech_span(speech):
    seg = batch(speech)
    seg = seg._replace(mask=torch.cat([torch.zeros(2, 4), torch.ones(2, 24), torch.zeros(2, 4)], 1))
    torch.manual_seed(0)
    task = ConvPostfilterTask(VAWGANPostfilterConfig(**SMALL, adv_weight=0.0, spread_knots=(0.0, 1.0, 4.0, 16.0),
                                                     spread_speech_only=True, spread_lr=1e-2, spread_likelihood=1.0))
    task.train_step(seg, "adv", StepContext(task.make_optimizers(), 0.0))
    assert task.spread.knot_log_gains.abs().min() > 0


def mirrored(knots=(0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0), seed: int = 0) -> KnotSpreadFilter:
    f = KnotSpreadFilter(39, knots, edges="mirror")
    f.load_state_dict(knotted(knots, seed).state_dict())
    return f


def test_with_mirrored_edges_it_filters_the_dct_coefficients_by_their_gains(speech):
    """Reference: scipy's orthonormal DCT-II. The even extension x[0 … T−1], x[T−1 … 0] read circularly
    is the DCT-II's, so filtering it on its 2T-point DFT grid is scaling DCT coefficient k by G(k·rate / 2T)."""
    from scipy.fft import dct, idct

    x = speech[0].double().numpy()[:150]
    f = mirrored().double()
    with torch.no_grad():
        y = f(torch.from_numpy(x)[None])[0].numpy()
        gains = f.gains(2 * len(x)).numpy()[: len(x)]  # at 0, rate / 2T, …, (T − 1)·rate / 2T
    mu = x.mean(0)
    expected = idct(gains * dct(x - mu, type=2, norm="ortho", axis=0), type=2, norm="ortho", axis=0) + mu
    np.testing.assert_allclose(y, expected, rtol=0, atol=1e-10)
    with torch.no_grad():
        torch.testing.assert_close(KnotSpreadFilter(39, edges="mirror")(speech), speech, atol=1e-5, rtol=0)
        torch.testing.assert_close(f(torch.from_numpy(x)[None] + 3.0)[0].numpy(), y + 3.0)


def test_mirrored_edges_give_a_fast_gain_no_step_to_ring_on():
    """Gains of 4 at 16 Hz and above, 1 below 8 Hz: a half cosine over 100 frames (1 Hz, the DCT's first
    basis) has nothing above 8 Hz, so with mirrored edges it comes out as it went in; padded at its
    mean, its ends (±1 from the mean) are steps, and the gain makes them ring."""
    f = KnotSpreadFilter(1, (0.0, 8.0, 16.0), edges="mirror")
    with torch.no_grad():
        f.knot_log_gains.copy_(torch.tensor([[0.0, np.log(4.0)]]))
    padded = KnotSpreadFilter(1, (0.0, 8.0, 16.0))
    padded.load_state_dict(f.state_dict())
    t = torch.arange(100, dtype=torch.float64)
    x = torch.cos(torch.pi * (t + 0.5) / 100)[None, :, None]
    with torch.no_grad():
        torch.testing.assert_close(f.double()(x), x, atol=1e-12, rtol=0)
        ringing = padded.double()(x) - x
    assert ringing[0, :5].abs().max() > 0.05 and ringing[0, 40:60].abs().max() < ringing[0, :5].abs().max() / 5


def test_the_edges_setting_is_the_knot_forms_and_is_refused_in_one_line_elsewhere():
    assert VAWGANPostfilterConfig(**SMALL).spread_edges == "zero"  # old experiments' configs lack it
    task = ConvPostfilterTask(VAWGANPostfilterConfig(**SMALL, spread_knots=(0.0, 1.0), spread_edges="mirror"))
    assert task.spread.edges == "mirror"
    for bad, match in ((dict(spread_edges="mirror"), "gives no knot filter"),
                       (dict(spread_edges="mirror", spread_taps=9), "gives no knot filter"),
                       (dict(spread_edges="reflect", spread_knots=(0.0, 1.0)), "spread_edges")):
        with pytest.raises(VawganError, match=match) as err:
            VAWGANPostfilterConfig(**SMALL, **bad)
        assert "\n" not in str(err.value)
    with pytest.raises(VawganError, match="spread_edges: not an option of arch = 'frame'"):
        VAWGANPostfilterConfig(arch="frame", spread_edges="mirror")
    with pytest.raises(ValueError, match="edges = 'wrap'"):
        KnotSpreadFilter(39, edges="wrap")


def test_the_grids_kept_for_mirrored_edges_stay_few_however_many_lengths_it_filters():
    """Mirrored edges use a DFT grid of 2T points per trajectory length T; the interpolation weights kept
    for them are bounded, and a length met again after the cache was emptied gives the same output."""
    f = KnotSpreadFilter(2, (0.0, 1.0, 10.0), edges="mirror")
    x = torch.randn(1, 30, 2, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        first = f(x)
        for t in range(31, 131):
            f(torch.randn(1, t, 2))
        assert len(f._weights) <= 64
        torch.testing.assert_close(f(x), first)
