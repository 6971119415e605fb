import numpy as np
import pytest

from vawgan_tts import metrics as M
from vawgan_tts.audio import read_audio
from vawgan_tts.features import analyze


@pytest.fixture(scope="module")
def c(arctic_wav):
    x, fs = read_audio(arctic_wav)
    return analyze(x, fs, "dio").mcep[:, 1:].astype(np.float64)


def test_identity_gives_zero(c):
    gv = M.global_variance(c)
    assert M.log_gv_distance(gv, gv) == pytest.approx(0.0, abs=1e-9)
    ms = M.modulation_spectrum(c)
    assert M.ms_distance(ms, ms, M.ms_frequencies()) == pytest.approx(0.0, abs=1e-9)
    assert M.mel_cepstral_distortion(c, c) == 0.0


def test_scaling_multiplies_gv_by_s_squared(c):
    s = 0.3
    mu = c.mean(0)
    scaled = s * (c - mu) + mu
    np.testing.assert_allclose(M.global_variance(scaled), s**2 * M.global_variance(c), rtol=1e-10)
    # A uniform shrink by s² is |10 log10 s²| dB from natural in every dimension.
    d = M.log_gv_distance(M.global_variance(c), M.global_variance(scaled))
    assert d == pytest.approx(abs(20 * np.log10(s)), rel=1e-6)


def test_gv_matches_numpy_variance_definition():
    x = np.array([[1.0, 0.0], [3.0, 0.0], [5.0, 6.0]])
    np.testing.assert_allclose(M.global_variance(x), [8 / 3, 8.0])


def test_sinusoid_puts_ms_peak_at_its_frequency():
    t = np.arange(2000) * 0.005  # 10 s at 200 Hz frame rate
    freqs = M.ms_frequencies(4096, 5.0)
    for f_mod in (2.0, 4.0, 12.5):
        traj = np.stack([np.sin(2 * np.pi * f_mod * t), 0.1 * np.cos(2 * np.pi * 7.0 * t)], axis=1)
        ms = M.modulation_spectrum(traj)
        assert abs(freqs[np.argmax(ms[:, 0])] - f_mod) <= freqs[1]
        assert abs(freqs[np.argmax(ms[:, 1])] - 7.0) <= freqs[1]


def test_ms_of_scaled_trajectory_shifts_by_20log10_s(c):
    ms, ms_half = M.modulation_spectrum(c), M.modulation_spectrum(0.5 * c)
    d = M.ms_distance(ms, ms_half, M.ms_frequencies())
    assert d == pytest.approx(20 * np.log10(2), rel=1e-6)


def test_long_trajectories_average_segments():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3 * 4096 + 100, 3))
    p = M.modulation_power(x)
    assert p.shape == (2049, 3)
    # White noise: power per bin ≈ variance, flat over frequency.
    assert 0.8 < np.median(p) < 1.2


def test_batched_equals_unbatched(c):
    a, b = c[:300], c[300:600]
    batch = np.stack([a, b])
    np.testing.assert_allclose(M.global_variance(batch), np.stack([M.global_variance(a), M.global_variance(b)]))
    np.testing.assert_allclose(M.modulation_spectrum(batch), np.stack([M.modulation_spectrum(a), M.modulation_spectrum(b)]))
    gv = M.global_variance(batch)
    np.testing.assert_allclose(M.log_gv_distance(gv, gv[::-1]), [M.log_gv_distance(gv[0], gv[1])] * 2)
    np.testing.assert_allclose(M.frame_mcd(batch, batch[::-1])[0], M.frame_mcd(a, b))


def test_mcd_analytic_value():
    ref = np.zeros((10, 39))
    gen = np.zeros((10, 39))
    gen[:, 0] = 0.1
    gen[:, 5] = -0.2
    expected = 10 / np.log(10) * np.sqrt(2 * (0.1**2 + 0.2**2))
    assert M.mel_cepstral_distortion(ref, gen) == pytest.approx(expected, rel=1e-12)


def test_mcd_aligns_different_lengths_with_dtw(c):
    stretched = np.repeat(c[:400], 2, axis=0)  # same content, twice as slow
    assert M.mel_cepstral_distortion(c[:400], stretched) == pytest.approx(0.0, abs=1e-9)
    # Without alignment the same pair is far apart.
    assert np.mean(M.frame_mcd(c[:400], stretched[:400])) > 1.0


def test_mcd_mask_keeps_chosen_reference_frames(c):
    gen = c.copy()
    gen[:100] += 0.5
    mask = np.zeros(len(c), bool)
    mask[100:] = True
    assert M.mel_cepstral_distortion(c, gen, mask=mask) == 0.0
    assert M.mel_cepstral_distortion(c, gen, mask=~mask) > 10.0


def test_log_gv_distance_is_the_rms_over_dimensions_of_per_dimension_changes():
    ref = np.array([1.0, 2.0, 4.0, 0.5])
    gen = ref * np.array([10.0, 1.0, 0.1, 1.0])  # +10 dB, 0, −10 dB, 0
    # RMS of (10, 0, −10, 0): √(200 / 4); a mean of |d| would give 5, a max 10, a plain mean 0.
    assert M.log_gv_distance(ref, gen) == pytest.approx(np.sqrt(50.0), rel=1e-9)
    assert M.log_gv_distance(gen, ref) == pytest.approx(np.sqrt(50.0), rel=1e-9)


def test_ms_distance_by_hand_keeps_0_lt_f_le_50_hz():
    freqs = np.array([0.0, 25.0, 50.0, 75.0])
    ref = np.zeros((4, 2))
    gen = np.array([[100.0, 100.0],  # DC: left out
                    [3.0, 0.0],
                    [0.0, -4.0],
                    [60.0, 60.0]])  # above 50 Hz: left out
    # RMS over the two kept bins × two dimensions of (3, 0, 0, −4): √(25 / 4).
    assert M.ms_distance(ref, gen, freqs) == pytest.approx(2.5, rel=1e-12)
    assert M.ms_distance(ref, gen, freqs, max_hz=75.0) == pytest.approx(np.sqrt((9 + 16 + 2 * 3600) / 6), rel=1e-12)
    batch = np.stack([gen, 2 * gen])
    np.testing.assert_allclose(M.ms_distance(ref, batch, freqs), [2.5, 5.0])


def test_ms_frequencies_and_power_of_a_tone_by_hand():
    freqs = M.ms_frequencies(8, 5.0)  # 200 Hz frame rate, 8 bins → 25 Hz apart
    np.testing.assert_allclose(freqs, [0.0, 25.0, 50.0, 75.0, 100.0])
    t = np.arange(8)
    x = np.stack([np.cos(2 * np.pi * t / 8) + 7.0, 2 * np.cos(2 * np.pi * 2 * t / 8)], axis=1)
    # |X(k)|² of A cos(2πkt/N) is (AN/2)² at bin k; the offset is removed, then divided by T = 8.
    p = M.modulation_power(x, fft_size=8)
    expected = np.zeros((5, 2))
    expected[1, 0] = 4.0**2 / 8
    expected[2, 1] = 8.0**2 / 8
    np.testing.assert_allclose(p, expected, atol=1e-12)
    np.testing.assert_allclose(M.to_db(np.array([1.0, 100.0])), [0.0, 20.0], atol=1e-9)


def test_modulation_power_sums_segments_and_divides_by_the_length():
    t = np.arange(16)
    x = np.cos(2 * np.pi * t / 8)[:, None]  # two segments of 8 frames, each one period
    p = M.modulation_power(x, fft_size=8)
    np.testing.assert_allclose(p[:, 0], [0, 2 * 16 / 16, 0, 0, 0], atol=1e-12)


def test_frame_mcd_per_frame_by_hand():
    ref = np.zeros((3, 2))
    gen = np.array([[0.0, 0.0], [0.3, 0.4], [1.0, 0.0]])
    k = 10 / np.log(10) * np.sqrt(2)
    np.testing.assert_allclose(M.frame_mcd(ref, gen), [0.0, k * 0.5, k * 1.0], rtol=1e-12)
    assert M.mel_cepstral_distortion(ref, gen) == pytest.approx(k * 1.5 / 3, rel=1e-12)
    assert np.isnan(M.mel_cepstral_distortion(ref, gen, mask=np.zeros(3, bool)))


def test_align_pairs_by_dtw_when_lengths_differ_else_one_to_one():
    ref = np.array([[0.0], [1.0], [2.0]])
    gen = np.array([[0.0], [0.0], [1.0], [2.0], [2.0]])
    i, j = M.align(ref, gen)
    assert list(zip(i, j)) == [(0, 0), (0, 1), (1, 2), (2, 3), (2, 4)]
    same_i, same_j = M.align(ref, ref + 1)
    assert list(same_i) == list(same_j) == [0, 1, 2]


def test_f0_rmse_in_cents_by_hand():
    ref = np.array([100.0, 100.0, 0.0, 200.0, 0.0, 150.0])
    gen = np.array([200.0, 100.0, 150.0, 100.0 * 2 ** (-1 / 12) * 2, 0.0, 0.0])
    # voiced in both: an octave up (1200), exact (0), a semitone down (−100); frames voiced on one
    # side only count in the V/UV error, not here. RMS = sqrt((1200² + 100²) / 3)
    assert M.f0_rmse_cents(ref, gen) == pytest.approx(np.sqrt((1200**2 + 100**2) / 3), rel=1e-12)
    assert np.isnan(M.f0_rmse_cents(np.zeros(3), np.ones(3)))


def test_vuv_error_by_hand():
    assert M.vuv_error([True, True, False, False], [True, False, True, False]) == 0.5
    assert M.vuv_error([True], [True]) == 0.0
    assert np.isnan(M.vuv_error([], []))


def test_float32_input_is_measured_in_float64():
    x = np.random.default_rng(0).standard_normal((500, 3)).astype(np.float32)
    assert M.global_variance(x).dtype == np.float64
    np.testing.assert_array_equal(M.global_variance(x), np.var(x.astype(np.float64), axis=0))
    assert M.modulation_power(x, fft_size=64).dtype == np.float64
    np.testing.assert_array_equal(M.modulation_power(x, fft_size=64), M.modulation_power(x.astype(np.float64), fft_size=64))


def test_batched_distances_keep_one_value_per_item():
    ref = np.stack([np.ones(4), np.ones(4)])
    gen = np.stack([np.full(4, 10.0), np.ones(4)])  # +10 dB everywhere, then nothing
    np.testing.assert_allclose(M.log_gv_distance(ref, gen), [10.0, 0.0], atol=1e-9)


def test_ms_distance_keeps_the_lowest_nonzero_bins_and_one_frame_mcd():
    freqs = np.array([0.0, 0.5, 1.0, 60.0])
    gen = np.array([[9.0], [2.0], [4.0], [9.0]])
    assert M.ms_distance(np.zeros((4, 1)), gen, freqs) == pytest.approx(np.sqrt((4 + 16) / 2))
    one = np.zeros((1, 3))
    assert M.mel_cepstral_distortion(one, one + [[0.3, 0.4, 0.0]]) == pytest.approx(10 / np.log(10) * np.sqrt(2) * 0.5)


def test_default_modulation_frequencies_are_at_5_ms_frames():
    f = M.ms_frequencies()
    assert len(f) == 2049 and f[1] == pytest.approx(200 / 4096) and f[-1] == pytest.approx(100.0)


def test_log_f0_correlation_by_hand():
    ref = np.array([100.0, 0.0, 120.0, 150.0, 200.0, 0.0])
    # Doubled (an octave up) and unvoiced where ref is: the shape is the same, r = 1.
    assert M.log_f0_correlation(ref, 2 * ref) == pytest.approx(1.0)
    # Log F0 mirrored about its mean: r = −1; a frame voiced in one side only is left out.
    lr = np.log(ref[ref > 0])
    mirrored = np.zeros_like(ref)
    mirrored[ref > 0] = np.exp(2 * lr.mean() - lr)
    mirrored[1] = 300.0
    assert M.log_f0_correlation(ref, mirrored) == pytest.approx(-1.0)
    # By hand on three pairs: log values (0, 1, 2) against (0, 2, 1): r = 0.5.
    e = np.e
    assert M.log_f0_correlation(np.array([1.0, e, e**2]), np.array([1.0, e**2, e])) == pytest.approx(0.5)
    assert np.isnan(M.log_f0_correlation(np.array([100.0, 0.0]), np.array([100.0, 110.0])))  # one pair
    # Two pairs are enough; a frame the system leaves unvoiced is left out, not read as log 0.
    assert M.log_f0_correlation(np.array([100.0, 200.0, 150.0]), np.array([90.0, 180.0, 0.0])) == pytest.approx(1.0)
    assert np.isnan(M.log_f0_correlation(np.array([100.0, 100.0]), np.array([90.0, 110.0])))  # flat contour


def test_f0_rmse_and_vuv_error_on_hand_made_contours():
    # Natural: 10 voiced frames at 200 Hz between silences; generated: a semitone sharp on its voiced
    # frames, two of them unvoiced and one extra frame voiced at the start.
    ref = np.r_[np.zeros(3), np.full(10, 200.0), np.zeros(3)]
    gen = np.r_[np.zeros(2), 210.0, np.full(10, 200.0 * 2 ** (100 / 1200)), np.zeros(3)]
    gen[5:7] = 0.0
    assert M.f0_rmse_cents(ref, gen) == pytest.approx(100.0, rel=1e-9)  # the 8 frames voiced in both
    assert M.vuv_error(ref > 0, gen > 0) == pytest.approx(3 / 16)


def test_frechet_distance_of_gaussians_with_known_distance():
    # Diagonal covariances: FD = ‖μ1 − μ2‖² + Σ_d (σ1_d − σ2_d)².
    mu1, mu2 = np.array([0.0, 1.0, -1.0]), np.array([1.0, 1.0, 1.0])
    s1, s2 = np.array([1.0, 2.0, 0.5]), np.array([2.0, 2.0, 1.5])
    fd = M.frechet_distance(mu1, np.diag(s1**2), mu2, np.diag(s2**2))
    assert fd == pytest.approx(1 + 4 + (1 + 0 + 1), rel=1e-12)
    # The same Gaussians rotated together: the distance does not change; it is symmetric.
    q, _ = np.linalg.qr(np.random.default_rng(0).standard_normal((3, 3)))
    rot = lambda s: q @ np.diag(s**2) @ q.T  # noqa: E731
    assert M.frechet_distance(q @ mu1, rot(s1), q @ mu2, rot(s2)) == pytest.approx(7.0, rel=1e-9)
    assert M.frechet_distance(q @ mu2, rot(s2), q @ mu1, rot(s1)) == pytest.approx(7.0, rel=1e-9)
    # Same per-dimension variances, opposite correlation: a GV-matched system is told apart.
    # Σ1 = [[1, ρ], [ρ, 1]], Σ2 = [[1, −ρ], [−ρ, 1]]: eigenvalues 1±ρ and 1∓ρ on the same axes,
    # so FD = Σ (√(1+ρ) − √(1−ρ))² = 2 (2 − 2√(1−ρ²)).
    rho = 0.8
    c1, c2 = np.array([[1, rho], [rho, 1]]), np.array([[1, -rho], [-rho, 1]])
    assert M.frechet_distance(np.zeros(2), c1, np.zeros(2), c2) == pytest.approx(2 * (2 - 2 * np.sqrt(1 - rho**2)))
    assert M.frechet_distance(np.zeros(2), c1, np.zeros(2), c1) == pytest.approx(0.0, abs=1e-12)


def test_frechet_distance_matches_the_fid_reference_formula_and_batches():
    import scipy.linalg

    rng = np.random.default_rng(1)
    mus, covs = [], []
    for _ in range(2):
        a = rng.standard_normal((6, 6))
        mus.append(rng.standard_normal(6))
        covs.append(a @ a.T + 0.1 * np.eye(6))
    ref = np.sum((mus[0] - mus[1]) ** 2) + np.trace(covs[0] + covs[1] - 2 * scipy.linalg.sqrtm(covs[0] @ covs[1]).real)
    assert M.frechet_distance(mus[0], covs[0], mus[1], covs[1]) == pytest.approx(ref, rel=1e-9)
    batched = M.frechet_distance(np.stack(mus), np.stack(covs), np.stack(mus[::-1]), np.stack(covs[::-1]))
    np.testing.assert_allclose(batched, [ref, ref], rtol=1e-9)


def test_gaussian_fit_of_samples_recovers_the_distance():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((200_000, 2)) * [1.0, 2.0]
    y = rng.standard_normal((200_000, 2)) * [2.0, 2.0] + [1.0, 0.0]
    assert M.frechet_distance(*M.gaussian_fit(x), *M.gaussian_fit(y)) == pytest.approx(1.0 + 1.0, abs=0.03)
    mu, cov = M.gaussian_fit(np.array([[0.0, 0.0], [2.0, 4.0]]))
    np.testing.assert_allclose(mu, [1.0, 2.0])
    np.testing.assert_allclose(cov, [[1.0, 2.0], [2.0, 4.0]])  # ML: divided by N
