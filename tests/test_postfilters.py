"""The GV and MS post-filters against values worked out by hand: every dimension, bin and frame
differs from the others, so a filter that treats them alike, skips its mask or loses a term fails."""

import numpy as np
import pytest

from vawgan_tts.metrics import global_variance, modulation_power, to_db
from vawgan_tts.postfilters import MS_PF_STRENGTH, corpus_ms_db, gv_postfilter, ms_postfilter


@pytest.fixture()
def traj():
    """400 frames, 3 dimensions with different means and spreads (real speech is not needed:
    the filters are linear maps whose outcome is known in closed form)."""
    rng = np.random.default_rng(3)
    return rng.standard_normal((400, 3)) * [0.5, 2.0, 0.1] + [1.0, -3.0, 0.25]


def test_gv_postfilter_reaches_the_target_of_each_dimension_and_keeps_the_means(traj):
    target = np.array([4.0, 0.25, 0.09])
    out = gv_postfilter(traj, target)
    assert out.dtype == np.float32 and out.shape == traj.shape
    np.testing.assert_allclose(global_variance(out), target, rtol=1e-5)
    np.testing.assert_allclose(out.mean(0), traj.mean(0), rtol=1e-5, atol=1e-6)
    # A dimension scaled by √(target/var): frame 0 of dimension 1, by hand.
    var, mu = traj.var(0), traj.mean(0)
    expected = np.sqrt(target[1] / var[1]) * (traj[0, 1] - mu[1]) + mu[1]
    assert out[0, 1] == pytest.approx(expected, rel=1e-6)


def test_gv_postfilter_is_the_identity_at_the_input_gv(traj):
    np.testing.assert_allclose(gv_postfilter(traj, traj.var(0)), traj, rtol=1e-6, atol=1e-6)


def test_gv_postfilter_measures_on_the_masked_frames_and_scales_all(traj):
    c = traj.copy()
    c[:50] += 40.0  # "silence" frames far from the speech frames: they would dominate the variance
    speech = np.ones(len(c), bool)
    speech[:50] = False
    target = np.array([1.0, 1.0, 1.0])
    out = gv_postfilter(c, target, speech)
    np.testing.assert_allclose(global_variance(out[speech]), target, rtol=1e-5)
    np.testing.assert_allclose(out[speech].mean(0), c[speech].mean(0), rtol=1e-5, atol=1e-5)
    # The masked-out frames are scaled about the speech mean with the same factor.
    gain = np.sqrt(target / c[speech].var(0))
    np.testing.assert_allclose(out[:50], gain * (c[:50] - c[speech].mean(0)) + c[speech].mean(0), rtol=1e-5)
    # Measured over every frame instead, the answer is far from this one.
    assert not np.allclose(gv_postfilter(c, target), out, atol=1e-2)


FFT = 256  # frames per segment; bins are 200/256 Hz apart at a 5 ms frame period


def _tones(n=FFT):
    """Two dimensions, each the sum of a slow (bin 3) and a fast (bin 30) cosine, exactly periodic
    in the segment, plus a different mean per dimension."""
    t = np.arange(n)
    slow, fast = np.cos(2 * np.pi * 3 * t / FFT), np.cos(2 * np.pi * 30 * t / FFT)
    return np.stack([slow + 0.5 * fast + 2.0, 0.3 * slow + fast - 1.0], axis=1), slow, fast


def test_ms_postfilter_is_the_identity_when_target_equals_source():
    c, _, _ = _tones()
    ms = to_db(modulation_power(c, FFT))
    np.testing.assert_allclose(ms_postfilter(c, ms, ms, fft_size=FFT), c, atol=1e-5)


def test_ms_postfilter_gain_direction_per_bin_and_dimension():
    c, slow, fast = _tones()
    f = FFT // 2 + 1
    target, source = np.zeros((f, 2)), np.zeros((f, 2))
    target[30, 0] = 6.0  # dimension 0: its fast component 6 dB up
    target[3, 1] = -6.0  # dimension 1: its slow component 6 dB down
    source[0] = 50.0  # a DC difference must not move the mean
    k = 0.5
    out = ms_postfilter(c, target, source, strength=k, fft_size=FFT)
    up, down = 10 ** (k * 6 / 20), 10 ** (-k * 6 / 20)
    np.testing.assert_allclose(out[:, 0], slow + 0.5 * up * fast + 2.0, atol=1e-5)
    np.testing.assert_allclose(out[:, 1], 0.3 * down * slow + fast - 1.0, atol=1e-5)


def test_ms_postfilter_default_strength_and_segments():
    """A trajectory of three segments: each is filtered, the default strength applies."""
    c = np.concatenate([_tones()[0]] * 3)
    f = FFT // 2 + 1
    target = np.full((f, 2), 3.0)
    out = ms_postfilter(c, target, np.zeros((f, 2)), fft_size=FFT)
    g = 10 ** (MS_PF_STRENGTH * 3.0 / 20)
    mu = c.mean(0)
    np.testing.assert_allclose(out, g * (c - mu) + mu, atol=1e-4)


def test_corpus_ms_db_averages_power_before_the_log():
    a, _, _ = _tones()
    b = 3.0 * a
    got = corpus_ms_db([a[:, :1], b[:, :1]])
    p = (modulation_power(a[:, :1]) + modulation_power(b[:, :1])) / 2
    np.testing.assert_allclose(got, to_db(p))
    # Not the mean of the dB values: those differ by 10 log10 of (1 + 9)/2 vs √9 at every bin.
    assert not np.allclose(got, (to_db(modulation_power(a[:, :1])) + to_db(modulation_power(b[:, :1]))) / 2)


def test_ms_postfilter_keeps_each_segments_level_and_shifts_with_offsets():
    """300 frames (a full segment and a zero-padded 44-frame one) whose two parts sit at different
    levels. The DC gain is 1 whatever the statistics say, so a flat response changes nothing; and
    adding a constant per dimension to the input adds it to the output, padding or not."""
    rng = np.random.default_rng(1)
    c = rng.standard_normal((300, 2))
    c[256:] += [4.0, -2.0]
    f = FFT // 2 + 1
    target, source = np.zeros((f, 2)), np.zeros((f, 2))
    target[0] = 20.0  # only the DC bin differs
    out = ms_postfilter(c, target, source, fft_size=FFT)
    assert out.dtype == np.float32 and out.shape == c.shape
    np.testing.assert_allclose(out, c, atol=1e-5)
    target[10:40, 0], target[5:20, 1] = 6.0, -4.0
    b = np.array([7.0, -3.0])
    np.testing.assert_allclose(ms_postfilter(c + b, target, source, fft_size=FFT),
                               ms_postfilter(c, target, source, fft_size=FFT) + b, atol=1e-4)


def test_ms_postfilter_with_an_odd_segment_length():
    c = np.random.default_rng(2).standard_normal((600, 2))
    ms = np.zeros((128, 2))  # 255 // 2 + 1 bins
    np.testing.assert_allclose(ms_postfilter(c, ms, ms, fft_size=255), c, atol=1e-5)


def test_float32_input_is_filtered_in_float64(traj):
    c32 = traj.astype(np.float32)
    target = np.array([4.0, 0.25, 0.09])
    np.testing.assert_array_equal(gv_postfilter(c32, target), gv_postfilter(c32.astype(np.float64), target))
    ms = np.zeros((FFT // 2 + 1, 3))
    up = ms + 3.0
    np.testing.assert_array_equal(ms_postfilter(c32, up, ms, fft_size=FFT),
                                  ms_postfilter(c32.astype(np.float64), up, ms, fft_size=FFT))
