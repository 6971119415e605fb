"""Banded DTW: a known warp is recovered, a wide band equals the full search, corpora align in parallel."""

import numpy as np
import pytest

from vawgan_tts.alignment import (
    align_corpus,
    align_utterance,
    dtw_path,
    load_alignments,
    save_alignments,
    source_time_map,
)
from vawgan_tts.errors import VawganError
from vawgan_tts.features import analyze, save_features


def _trajectory(t, d=3, seed=0):
    # A smooth, never-repeating path: each frame differs from the others.
    rng = np.random.default_rng(seed)
    return np.cumsum(rng.standard_normal((t, d)), axis=0)


def test_dtw_recovers_a_known_warp():
    ref = _trajectory(60)
    warp = np.repeat(np.arange(60), 2)  # every reference frame said twice as long
    i, j = dtw_path(ref, ref[warp], band=None)
    np.testing.assert_array_equal(i, warp)
    np.testing.assert_array_equal(j, np.arange(120))


def test_dtw_recovers_a_nonuniform_warp_within_a_band():
    ref = _trajectory(100, seed=3)
    warp = np.sort(np.r_[np.arange(100), np.arange(30, 50), np.arange(70, 75)])  # stretches in two places
    i, j = dtw_path(ref, ref[warp], band=0.3)
    np.testing.assert_array_equal(i, warp)
    np.testing.assert_array_equal(j, np.arange(len(warp)))


def test_path_is_complete_monotonic_and_stepwise():
    a, b = _trajectory(37, seed=1), _trajectory(52, seed=2)
    i, j = dtw_path(a, b)
    assert (i[0], j[0]) == (0, 0) and (i[-1], j[-1]) == (36, 51)
    steps = np.stack([np.diff(i), np.diff(j)], axis=1)
    assert set(map(tuple, steps)) <= {(0, 1), (1, 0), (1, 1)}


@pytest.mark.parametrize("band", [1.0, 5.0])
def test_wide_band_equals_full_search(band):
    a, b = _trajectory(45, seed=4), _trajectory(70, seed=5)
    full = dtw_path(a, b, band=None)
    wide = dtw_path(a, b, band=band)
    np.testing.assert_array_equal(full[0], wide[0])
    np.testing.assert_array_equal(full[1], wide[1])


def test_full_search_minimizes_the_summed_squared_distance():
    # Brute-force check on tiny sequences: no monotonic path has a lower cost.
    a, b = _trajectory(5, seed=6), _trajectory(4, seed=7)
    cost = ((a[:, None] - b[None]) ** 2).sum(-1)
    acc = np.full((6, 5), np.inf)
    acc[0, 0] = 0
    for x in range(1, 6):
        for y in range(1, 5):
            acc[x, y] = cost[x - 1, y - 1] + min(acc[x - 1, y], acc[x, y - 1], acc[x - 1, y - 1])
    i, j = dtw_path(a, b, band=None)
    assert cost[i, j].sum() == pytest.approx(acc[5, 4])


def test_narrow_band_keeps_the_path_near_the_diagonal():
    a, b = _trajectory(200, seed=8), _trajectory(200, seed=9)
    i, j = dtw_path(a, b, band=0.05)
    assert np.max(np.abs(i - j)) <= 10


def test_source_time_map_takes_the_middle_target_frame_and_interpolates():
    pairs = np.array([[2, 10], [2, 11], [2, 12], [3, 13], [6, 14], [6, 15]])
    m = source_time_map(pairs, 8)
    # frames 0, 1 before the first aligned one hold its value; 4, 5 interpolate 13 → 14 (rounded).
    np.testing.assert_array_equal(m, [11, 11, 11, 13, 13, 14, 14, 14])
    assert m.dtype.kind == "i"  # frame indices


def test_align_utterance_drops_silence_and_names_a_silent_file():
    c = _trajectory(50, d=39)
    c0 = np.random.default_rng(0).uniform(-0.5, 0.0, 50)
    c0[:10] = -20.0  # 10 frames of leading silence on the source side (87 dB down)
    pairs = align_utterance(c, c0, c[10:], c0[10:])
    assert pairs[:, 0].min() == 10
    np.testing.assert_array_equal(pairs[:, 0] - 10, pairs[:, 1])
    with pytest.raises(VawganError, match="flat.npz: no speech frames"):
        align_utterance(c, np.zeros(50), c, c0, names=("flat.npz", "t.npz"))


def test_align_corpus_in_parallel_equals_serial_and_reports_failures(arctic_wav, tmp_path):
    import soundfile as sf

    x, fs = sf.read(arctic_wav)
    feats = analyze(x, fs, f0_method="dio")
    src, tgt = tmp_path / "src", tmp_path / "tgt"
    for n, cut in enumerate((0, 40, 80)):
        save_features(src / f"u{n}.npz", feats.replace(mcep=feats.mcep[cut:], f0=feats.f0[cut:], vuv=feats.vuv[cut:],
                                                       bap=feats.bap[cut:]))
        save_features(tgt / f"u{n}.npz", feats)
    flat = feats.mcep.copy()
    flat[:, 0] = 0.0
    save_features(src / "flat.npz", feats.replace(mcep=flat))
    save_features(tgt / "flat.npz", feats)
    ids = ["u0", "u1", "u2", "flat", "missing"]
    serial, failed = align_corpus(src, tgt, ids, jobs=1)
    parallel, failed2 = align_corpus(src, tgt, ids, jobs=2)
    assert sorted(serial) == ["u0", "u1", "u2"] and failed == failed2
    assert "no speech frames" in failed["flat"] and "missing.npz" in failed["missing"]
    for u in serial:
        np.testing.assert_array_equal(serial[u], parallel[u])
    np.testing.assert_array_equal(serial["u0"][:, 0], serial["u0"][:, 1])  # the same utterance: the diagonal
    save_alignments(tmp_path / "a.npz", serial)
    back = load_alignments(tmp_path / "a.npz")
    assert sorted(back) == sorted(serial) and all(np.array_equal(back[u], serial[u]) for u in serial)


def test_empty_and_single_frame_sequences():
    a = _trajectory(6, seed=10)
    with pytest.raises(ValueError, match="empty"):
        dtw_path(a, a[:0])
    with pytest.raises(ValueError, match="empty"):
        dtw_path(a[:0], a)
    i, j = dtw_path(a[:1], a, band=None)  # one frame against six: it pairs with every one
    assert list(i) == [0] * 6 and list(j) == list(range(6))
    i, j = dtw_path(a, a[:1], band=None)
    assert list(i) == list(range(6)) and list(j) == [0] * 6


@pytest.mark.parametrize("d", [1, 3])
def test_the_band_bounds_the_shift_in_any_dimension(d):
    a, b = _trajectory(60, d=d, seed=11), _trajectory(60, d=d, seed=12)
    i, j = dtw_path(a, b, band=0.001)  # window ceil(0.06) = 1: shifts below 1, the diagonal itself
    assert np.max(np.abs(i - j)) == 0
    i, j = dtw_path(a, b, band=0.04)  # window ceil(2.4) = 3: shifts of at most 2
    assert np.max(np.abs(i - j)) == 2
    wide_i, wide_j = dtw_path(a, b, band=None)
    assert np.max(np.abs(wide_i - wide_j)) > 1  # unconstrained, these two wander further
