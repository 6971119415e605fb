import numpy as np
import pytest

from vawgan_tts.audio import read_audio
from vawgan_tts.features import analyze
from vawgan_tts.spread_floor import mcd_floor, mse_floor, predictable_share


def test_gaussian_scaled_conditional_mean_reaches_the_floor_and_added_noise_does_not():
    rng = np.random.default_rng(0)
    n, a = 400_000, 0.25
    s = rng.normal(0, np.sqrt(a), n)  # E[y|x]: what the system's output predicts
    y = s + rng.normal(0, np.sqrt(1 - a), n)  # natural, unit variance
    for v in (0.25, 0.5, 0.9, 1.0):
        scaled = np.sqrt(v / a) * s
        assert np.mean((y - scaled) ** 2) == pytest.approx(float(mse_floor(a, v)), abs=0.01)
        if v > a:  # the same spread from noise on top of the conditional mean: the error grows by 2(√(av) − a)
            noisy = s + rng.normal(0, np.sqrt(v - a), n)
            assert np.var(noisy) == pytest.approx(v, rel=0.01)
            assert np.mean((y - noisy) ** 2) > float(mse_floor(a, v)) + 0.5 * 2 * (np.sqrt(a * v) - a)


def test_no_linear_post_filter_of_a_real_trajectory_beats_the_floor(arctic_wav):
    """Natural c1..c39 of a real utterance against a smoothed copy: in-sample, the least-squares
    projection onto the smoothed frames' window is the conditional mean within that linear family, so
    every other member f of the family has error ≥ 1 + V − 2√(aV) exactly, V its variance; the
    projection scaled to V meets it."""
    from scipy.ndimage import uniform_filter1d

    x, fs = read_audio(arctic_wav)
    c = analyze(x, fs, "dio").mcep[:, 1:].astype(np.float64)
    rng = np.random.default_rng(1)
    for d in (0, 5, 20):
        y = (c[:, d] - c[:, d].mean()) / c[:, d].std()
        smooth = uniform_filter1d(y, 9)
        window = np.stack([np.roll(smooth, k) for k in range(-3, 4)], axis=1)
        window -= window.mean(0)
        coef, *_ = np.linalg.lstsq(window, y, rcond=None)
        p = window @ coef
        a = np.var(p)
        assert 0.05 < a < 0.99
        for v in (a, 0.6, 1.0):
            f = np.sqrt(v / a) * p
            assert np.mean((y - f) ** 2) == pytest.approx(float(mse_floor(a, v)), abs=1e-9)
        for _ in range(50):
            f = window @ (coef + rng.normal(0, 0.5, coef.shape))
            assert np.mean((y - f) ** 2) >= float(mse_floor(a, np.var(f))) - 1e-9


def test_mcd_floor_is_the_predictor_at_its_own_spread_and_rises_either_side():
    mcd, a = 5.3, 0.3
    assert float(mcd_floor(mcd, a, a)) == pytest.approx(mcd)
    v = np.linspace(0.05, 1.2, 47)
    floor = mcd_floor(mcd, a, v)
    assert np.all(floor >= mcd - 1e-12)
    assert np.argmin(floor) == np.argmin(np.abs(v - a))
    # At natural spread: mcd · √(2 / (1 + √a)).
    assert float(mcd_floor(mcd, a, 1.0)) == pytest.approx(mcd * np.sqrt(2 / (1 + np.sqrt(a))))


def test_predictable_share_calibrates_on_a_reference():
    assert predictable_share(5.41, 5.41, 0.22) == pytest.approx(0.22)
    a = predictable_share(5.30, 5.41, 0.22)
    assert a == pytest.approx(1 - (5.30 / 5.41) ** 2 * 0.78)
    # One error unit: the reference's floor and the better predictor's floor agree at any spread
    # once each is expressed against natural's variance.
    unit = 5.41**2 / 0.78
    assert float(mcd_floor(5.30, a, 0.9)) == pytest.approx(np.sqrt(unit * float(mse_floor(a, 0.9))))


def test_the_ends_of_the_ranges_are_allowed():
    """a = 0 (nothing predictable): any output only adds its variance; a = 1 (all of it): the scaled
    prediction at V = 1 is the target itself; V = 0 (a constant output): the target's variance."""
    assert float(mse_floor(0.0, 0.5)) == pytest.approx(1.5)
    assert float(mse_floor(1.0, 1.0)) == pytest.approx(0.0)
    assert float(mse_floor(0.3, 0.0)) == pytest.approx(1.0)
    assert float(mcd_floor(5.0, 0.0, 0.5)) == pytest.approx(5.0 * np.sqrt(1.5))


@pytest.mark.parametrize("call, says", [(lambda: mse_floor(1.2, 0.5), "a = 1.2"), (lambda: mse_floor(0.3, -0.1), "^an output variance cannot be negative$"),
                                        (lambda: mcd_floor(5.0, 1.0, 0.5), "a = 1.0"),
                                        (lambda: mcd_floor(5.0, -0.1, 0.5), "conditional mean")])
def test_out_of_range_shares_and_variances_are_refused(call, says):
    with pytest.raises(ValueError, match=says):
        call()
