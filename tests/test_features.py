import numpy as np
import pytest

from vawgan_tts.audio import read_audio
from vawgan_tts.errors import VawganError
from vawgan_tts.features import (
    WORLD_BAND_HZ,
    _band_centres,
    MCEP_DIM,
    FeatureStats,
    analyze,
    code_aperiodicity,
    decode_aperiodicity,
    load_features,
    mcep_alpha,
    save_features,
    speech_mask,
)


@pytest.fixture(scope="module")
def arctic_feats(arctic_wav):
    x, fs = read_audio(arctic_wav)
    return x, fs, analyze(x, fs, "dio")


def test_frame_count_and_shapes(arctic_feats):
    x, fs, f = arctic_feats
    expected = len(x) / fs / 0.005
    assert abs(f.n_frames - expected) <= 1 + 1e-9
    assert f.mcep.shape == (f.n_frames, MCEP_DIM) and f.mcep.dtype == np.float32
    assert f.f0.shape == f.vuv.shape == (f.n_frames,)
    assert f.bap.shape[0] == f.n_frames and f.bap.shape[1] == 1  # WORLD: one 3 kHz band at 16 kHz
    assert np.array_equal(f.vuv, f.f0 > 0)
    assert 0.3 < f.vuv.mean() < 0.9  # a read sentence is mostly, not entirely, voiced


@pytest.mark.parametrize("method", ["harvest", "dio"])
@pytest.mark.parametrize("fs", [8000, 16000])
def test_f0_of_a_200hz_tone(method, fs):
    t = np.arange(int(0.6 * fs)) / fs
    x = 0.5 * np.sin(2 * np.pi * 200.0 * t) + 0.001 * np.random.default_rng(1).standard_normal(len(t))
    f = analyze(x, fs, method)
    voiced = f.f0[f.vuv][10:-10]
    assert len(voiced) > 50
    assert abs(np.median(voiced) - 200.0) / 200.0 < 0.02


def test_alpha_follows_rate():
    assert mcep_alpha(8000) == pytest.approx(0.312, abs=1e-3)
    assert mcep_alpha(16000) == pytest.approx(0.41, abs=1e-3)
    assert mcep_alpha(22050) == pytest.approx(0.455, abs=1e-3)
    assert mcep_alpha(44100) == pytest.approx(0.544, abs=1e-3)


def test_mel_cepstrum_tracks_the_envelope(arctic_feats):
    """c0 follows the frame power: loud frames have larger c0 than silent ones."""
    x, fs, f = arctic_feats
    hop = int(fs * 0.005)
    # WORLD frame i is centred on sample i * hop.
    power = np.array([np.mean(x[max(i * hop - hop, 0) : i * hop + hop] ** 2) for i in range(f.n_frames)])
    r = np.corrcoef(np.log(power + 1e-10), f.mcep[:, 0])[0, 1]
    assert r > 0.8


@pytest.mark.parametrize("fs", [8000, 16000, 48000])
def test_aperiodicity_coding_round_trip(fs):
    fft_size = 1024
    freqs = np.linspace(0, fs / 2, fft_size // 2 + 1)
    # A smooth aperiodicity: -40 dB at 0 Hz rising linearly (in dB) to 0 dB at fs/2.
    ap = np.tile(10 ** ((-40 + 40 * freqs / (fs / 2)) / 20), (5, 1))
    bap = code_aperiodicity(ap, fs)
    assert bap.shape[0] == 5 and bap.shape[1] >= 1
    back = decode_aperiodicity(bap, fs, fft_size)
    assert back.shape == ap.shape
    # Above the first band the coding is exact for an aperiodicity linear in dB; below it WORLD's
    # decoder anchors -60 dB at 0 Hz.
    above = freqs >= (WORLD_BAND_HZ if fs >= 12000 else _band_centres(fs)[0])
    err_db = np.abs(20 * np.log10(back[:, above]) - 20 * np.log10(ap[:, above]))
    assert err_db.max() < 0.5


def test_save_load_round_trip(arctic_feats, tmp_path):
    _, _, f = arctic_feats
    save_features(tmp_path / "a.npz", f)
    g = load_features(tmp_path / "a.npz")
    for key in ("mcep", "f0", "vuv", "bap"):
        assert np.array_equal(getattr(f, key), getattr(g, key))
    assert (g.fs, g.frame_period, g.alpha, g.fft_size) == (f.fs, f.frame_period, f.alpha, f.fft_size)
    assert [p.name for p in tmp_path.iterdir()] == ["a.npz"]  # no temporary left behind


def test_load_rejects_broken_feature_files(arctic_feats, tmp_path):
    _, _, f = arctic_feats
    np.savez(tmp_path / "missing.npz", mcep=f.mcep)
    with pytest.raises(VawganError, match="missing f0"):
        load_features(tmp_path / "missing.npz")
    save_features(tmp_path / "shape.npz", f.replace(mcep=f.mcep[:, :25]))
    with pytest.raises(VawganError, match=r"shape \(\d+, 25\)"):
        load_features(tmp_path / "shape.npz")
    bad = f.mcep.copy()
    bad[3, 4] = np.nan
    save_features(tmp_path / "nan.npz", f.replace(mcep=bad))
    with pytest.raises(VawganError, match="non-finite"):
        load_features(tmp_path / "nan.npz")
    (tmp_path / "trunc.npz").write_bytes((tmp_path / "nan.npz").read_bytes()[:200])
    with pytest.raises(VawganError, match="trunc.npz: not readable"):
        load_features(tmp_path / "trunc.npz")


def test_refuses_input_with_nothing_to_analyse():
    with pytest.raises(VawganError, match="too short"):
        analyze(0.1 * np.ones(100), 8000)
    with pytest.raises(VawganError, match="all silence"):
        analyze(np.full(8000, 3e-5), 8000)


def test_speech_mask_threshold():
    c0 = np.array([-1.0, -1.0 - 29 / 8.6859, -1.0 - 31 / 8.6859, -12.0])
    assert speech_mask(c0, 30.0).tolist() == [True, True, False, False]


def test_stats_from_sums_equal_direct(arctic_feats):
    _, _, f = arctic_feats
    c = f.mcep[:, 1:].astype(np.float64)
    half = len(c) // 2
    a, b = FeatureStats.from_frames(c[:half]), FeatureStats.from_frames(c[half:])
    merged = FeatureStats.from_sums(
        a.mean * a.count + b.mean * b.count,
        (a.std**2 + a.mean**2) * a.count + (b.std**2 + b.mean**2) * b.count,
        a.count + b.count,
    )
    np.testing.assert_allclose(merged.mean, c.mean(0), rtol=1e-10)
    np.testing.assert_allclose(merged.std, c.std(0), rtol=1e-8)


def test_voiced_frames_stay_periodic_at_8khz(allison_dir):
    """At 8 kHz D4C's own V/UV test would call every frame aperiodic (white-noise excitation)."""
    x, fs = read_audio(allison_dir / "activated.wav")
    f = analyze(x, fs, "dio")
    voiced = f.bap[f.vuv]
    assert len(voiced) > 50
    assert np.all(voiced[:, 0] < -20.0)  # the 1 kHz band of voiced frames is mostly periodic


def test_block_analysis_equals_one_block(arctic_wav, monkeypatch):
    """Envelope and aperiodicity are computed a block of frames at a time (bounded memory on long
    files); the blocks must not change the result."""
    from vawgan_tts import features
    from vawgan_tts.audio import read_audio

    x, fs = read_audio(arctic_wav)
    whole = features.analyze(x, fs, "dio")
    monkeypatch.setattr(features, "ANALYSIS_BLOCK_FRAMES", 37)
    blocks = features.analyze(x, fs, "dio")
    assert whole.n_frames > 37 * 5
    np.testing.assert_allclose(blocks.mcep, whole.mcep, atol=1e-5)  # float rounding only
    np.testing.assert_array_equal(blocks.f0, whole.f0)
    # D4C restarts its internal noise at each call, so blocks draw other noise: hundredths of a dB.
    np.testing.assert_allclose(blocks.bap, whole.bap, atol=0.05)


def test_whole_envelope_sp2mc_equals_pysptk_frame_by_frame(arctic_wav):
    import warnings

    import pysptk
    import soundfile as sf

    from vawgan_tts.features import sp2mc

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pyworld

    x, fs = sf.read(arctic_wav, dtype="float64")
    f0, t = pyworld.dio(x, fs)
    sp = pyworld.cheaptrick(x, f0, t, fs)
    alpha = pysptk.util.mcepalpha(fs)
    np.testing.assert_allclose(sp2mc(sp, 39, alpha), pysptk.sp2mc(sp, 39, alpha), rtol=0, atol=1e-10)


@pytest.mark.parametrize("n,order,alpha", [(64, 39, 0.41), (1025, 39, 0.55), (12, 5, -0.3)])
def test_freqt_matrix_columns_are_pysptk_freqt_of_unit_vectors(n, order, alpha):
    import pysptk

    from vawgan_tts.features import _freqt_matrix

    ref = np.stack([pysptk.freqt(e, order, alpha) for e in np.eye(n)], axis=1)
    # __wrapped__: computed now, not taken from the cache of an earlier call
    np.testing.assert_allclose(_freqt_matrix.__wrapped__(n, order, alpha), ref, rtol=0, atol=1e-13)


@pytest.mark.parametrize("n,order,alpha", [(8, 0, 0.42), (12, 1, 0.35)])
def test_freqt_matrix_of_the_lowest_orders(n, order, alpha):
    import pysptk

    from vawgan_tts.features import _freqt_matrix

    ref = np.stack([pysptk.freqt(e, order, alpha) for e in np.eye(n)], axis=1)
    np.testing.assert_allclose(_freqt_matrix.__wrapped__(n, order, alpha), ref, rtol=0, atol=1e-13)


def test_narrow_bands_below_12_khz_by_hand():
    np.testing.assert_array_equal(_band_centres(8000), [1000.0, 2000.0, 3000.0])
    np.testing.assert_array_equal(_band_centres(11025), [1000.0, 2000.0, 3000.0, 4000.0, 5000.0])
    # Decoding: −60 dB at 0 Hz, the band values at 1, 2, 3 kHz, 0 dB at 4 kHz, linear in dB between.
    bap = np.array([[-10.0, -20.0, -30.0]], np.float32)
    db = 20 * np.log10(decode_aperiodicity(bap, 8000, 16)[0])  # bins every 500 Hz
    np.testing.assert_allclose(db, [-60, -35, -10, -15, -20, -25, -30, -15, 0], atol=1e-9)
    # Coding reads the dB value at each band centre.
    freqs = np.linspace(0, 4000, 9)
    ap = 10 ** (np.interp(freqs, [0, 4000], [-40, 0]) / 20)[None, :]
    np.testing.assert_allclose(code_aperiodicity(ap, 8000), [[-30.0, -20.0, -10.0]], atol=1e-9)


def test_wideband_aperiodicity_is_worlds_own_coding():
    import pyworld

    for fs in (16000, 48000):
        n = pyworld.get_num_aperiodicities(fs)
        bap = np.linspace(-25, -5, n)[None, :].astype(np.float32)
        np.testing.assert_array_equal(decode_aperiodicity(bap, fs, 1024),
                                      pyworld.decode_aperiodicity(bap.astype(np.float64), fs, 1024))


def test_speech_mask_keeps_a_frame_exactly_at_the_threshold():
    from vawgan_tts.features import DB_PER_C0, speech_mask

    c0 = np.array([0.0, -30.0 / DB_PER_C0, -30.0 / DB_PER_C0 - 1e-6, 0.2])
    np.testing.assert_array_equal(speech_mask(c0 - 0.2, 30.0), [True, False, False, True])
    np.testing.assert_array_equal(speech_mask(np.array([0.0, -30.0 / DB_PER_C0]), 30.0), [True, True])


def test_stats_from_sums_by_hand_and_refuse_no_frames():
    from vawgan_tts.features import FeatureStats

    s = FeatureStats.from_frames(np.array([[1.0, 2.0], [3.0, 2.0]]))
    np.testing.assert_allclose(s.mean, [2.0, 2.0])
    np.testing.assert_allclose(s.std, [1.0, 0.0])
    assert s.count == 2
    assert FeatureStats.from_sums(np.array([2.0]), np.array([4.0]), 1).std[0] == 0.0
    with pytest.raises(VawganError) as e:
        FeatureStats.from_sums(np.zeros(2), np.zeros(2), 0)
    assert str(e.value) == "no frames to compute statistics from"


def test_d4c_voicing_test_only_where_worlds_bands_exist():
    from vawgan_tts.features import D4C_THRESHOLD, _d4c_threshold

    assert _d4c_threshold(16000) == D4C_THRESHOLD == 0.85 and _d4c_threshold(48000) == D4C_THRESHOLD
    assert _d4c_threshold(8000) < 0 and _d4c_threshold(11025) < 0


def test_one_narrow_band_at_4_khz_sampling():
    np.testing.assert_array_equal(_band_centres(4000), [1000.0])
