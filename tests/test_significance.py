"""Bootstrap intervals and paired randomization tests over utterances (vawgan_tts.significance)."""

import numpy as np
import pytest
import scipy.stats

from vawgan_tts import significance as S


def test_weights_count_draws_and_rows_sum_to_one():
    w = S.utterance_weights(np.array([[0, 0, 2], [1, 2, 2]]), 4)
    np.testing.assert_allclose(w, [[2 / 3, 0, 1 / 3, 0], [0, 1 / 3, 2 / 3, 0]])
    assert S.utterance_weights(np.array([3, 1]), 4).shape == (4,)


def test_weighted_nanmean_leaves_out_undefined_scores():
    v = np.array([1.0, np.nan, 3.0])
    np.testing.assert_allclose(S.weighted_nanmean(np.array([[0.5, 0.25, 0.25], [0, 1, 0]]), v), [1.25 / 0.75, np.nan])


def test_bootstrap_interval_covers_the_true_mean_about_95_percent_of_the_time():
    # Synthetic: 25 "utterance" scores from N(3, 1), 200 repetitions; a 95 % interval should hold 3 in
    # about 190 of them (binomial sd ≈ 3); BCa on n = 25 runs a little short.
    rng = np.random.default_rng(0)
    covered = 0
    for k in range(200):
        x = rng.normal(3.0, 1.0, 25)
        lo, hi = S.bootstrap_interval(lambda w: S.weighted_nanmean(w, x), 25, n_resamples=500, seed=k)
        assert lo < x.mean() < hi
        covered += lo <= 3.0 <= hi
    assert 0.88 <= covered / 200 <= 0.99


def test_bootstrap_interval_is_near_the_normal_theory_one_and_narrows_with_more_utterances():
    rng = np.random.default_rng(1)
    x = rng.normal(0.0, 2.0, 400)
    lo, hi = S.bootstrap_interval(lambda w: S.weighted_nanmean(w, x), 400, seed=0)
    t = scipy.stats.ttest_1samp(x, 0.0).confidence_interval(0.95)
    assert lo == pytest.approx(t.low, abs=0.05) and hi == pytest.approx(t.high, abs=0.05)
    lo_small, hi_small = S.bootstrap_interval(lambda w: S.weighted_nanmean(w, x[:40]), 40, seed=0)
    assert hi_small - lo_small > 2 * (hi - lo)


def test_bootstrap_interval_of_two_utterances_spans_them():
    # Two utterances are the fewest that can vary: every resample's mean lies between them.
    assert S.bootstrap_interval(lambda w: S.weighted_nanmean(w, np.array([1.0, 3.0])), 2) == (1.0, 3.0)


def test_bootstrap_interval_of_a_constant_or_an_undefined_figure_is_nan():
    assert np.isnan(S.bootstrap_interval(lambda w: S.weighted_nanmean(w, np.ones(10)), 10)).all()
    assert np.isnan(S.bootstrap_interval(lambda w: S.weighted_nanmean(w, np.full(10, np.nan)), 10)).all()
    assert np.isnan(S.bootstrap_interval(lambda w: S.weighted_nanmean(w, np.ones(1)), 1)).all()


def test_paired_test_finds_a_consistent_small_difference_and_not_noise():
    rng = np.random.default_rng(2)
    base = rng.normal(5.0, 1.0, 30)  # utterances differ a lot; the systems differ a little, consistently
    better = base - 0.2 + rng.normal(0, 0.1, 30)
    same = base + rng.normal(0, 0.1, 30)
    p = S.paired_test(lambda w: S.weighted_nanmean(w, np.r_[better, base]), 30)
    assert p < 0.001
    # An unpaired test on the same numbers sees nothing: the pairing is what the test uses.
    assert scipy.stats.ttest_ind(better, base).pvalue > 0.3
    assert S.paired_test(lambda w: S.weighted_nanmean(w, np.r_[same, base]), 30) > 0.05
    # Close to the paired t-test on well-behaved differences.
    assert S.paired_test(lambda w: S.weighted_nanmean(w, np.r_[same, base]), 30, n_resamples=20000) == pytest.approx(
        scipy.stats.ttest_rel(same, base).pvalue, abs=0.05)


def test_paired_test_is_exact_for_few_utterances():
    # 5 pairs, all differences positive: of the 2^5 sign assignments only 2 are as extreme (two-sided).
    a = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    p = S.paired_test(lambda w: S.weighted_nanmean(w, np.r_[a + 1, a]), 5)
    assert p == pytest.approx(2 / 32)


def test_jackknife_interval_of_a_mean_is_the_normal_theory_one():
    # For the mean the jackknife SE is exactly s/√n (sample sd, ddof 1).
    x = np.random.default_rng(3).normal(2.0, 1.5, 40)
    lo, hi = S.jackknife_interval(lambda w: S.weighted_nanmean(w, x), 40)
    half = scipy.stats.norm.ppf(0.975) * x.std(ddof=1) / np.sqrt(40)
    assert lo == pytest.approx(x.mean() - half) and hi == pytest.approx(x.mean() + half)
    assert np.isnan(S.jackknife_interval(lambda w: S.weighted_nanmean(w, x[:1]), 1)).all()
    assert np.isnan(S.jackknife_interval(lambda w: S.weighted_nanmean(w, np.full(5, np.nan)), 5)).all()


def test_jackknife_keeps_the_corpus_size_a_bootstrap_loses():
    # A "distance between averaged noisy spectra": sqrt(mean over bins of (mean over utterances)²) of
    # zero-mean noise; its value grows as fewer distinct utterances are averaged. The bootstrap's
    # replicates lie above the estimate; the jackknife interval is centred on it.
    rng = np.random.default_rng(4)
    spectra = rng.standard_normal((30, 500))

    def distance(w):
        return np.sqrt(np.mean((w @ spectra) ** 2, axis=-1))

    estimate = distance(np.full((1, 30), 1 / 30))[0]
    boot = distance(S.utterance_weights(rng.integers(0, 30, (200, 30)), 30))
    assert np.mean(boot > estimate) > 0.95
    lo, hi = S.jackknife_interval(distance, 30)
    assert lo < estimate < hi and (lo + hi) / 2 == pytest.approx(estimate)


def test_jackknife_weights_each_left_out_corpus_as_a_corpus_and_two_utterances_suffice():
    # A statistic linear in the weights, not normalized by their sum: each leave-one-out corpus must
    # weigh its n − 1 utterances 1/(n − 1) each, as a corpus of its own.
    x = np.array([1.0, 2.0, 4.0, 8.0])
    lo, hi = S.jackknife_interval(lambda w: w @ x, 4)
    half = scipy.stats.norm.ppf(0.975) * x.std(ddof=1) / 2
    assert lo == pytest.approx(x.mean() - half) and hi == pytest.approx(x.mean() + half)
    lo2, hi2 = S.jackknife_interval(lambda w: w @ x[:2], 2)
    assert lo2 == pytest.approx(1.5 - scipy.stats.norm.ppf(0.975) * 0.5)  # SE = s/√2 = 0.5


def test_paired_test_of_two_utterances_is_exact():
    # Two pairs, both one way: 2 of the 4 sign assignments are as extreme.
    assert S.paired_test(lambda w: S.weighted_nanmean(w, np.array([3.0, 5.0, 1.0, 2.0])), 2) == pytest.approx(0.5)
