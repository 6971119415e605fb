"""Property-based tests (hypothesis): the audio reader on arbitrary bytes and formats, the metrics
on arbitrary trajectories. Each property is an invariant the equations in docs/metrics.md imply."""

import numpy as np
import soundfile as sf
from hypothesis import assume, given, settings, strategies as st
from hypothesis.extra.numpy import arrays

from vawgan_tts.audio import read_audio
from vawgan_tts.errors import VawganError
from vawgan_tts.metrics import (frame_mcd, global_variance, log_gv_distance, mel_cepstral_distortion,
                                modulation_power, ms_distance, ms_frequencies, modulation_spectrum)

finite = st.floats(-20, 20, allow_nan=False, allow_infinity=False, width=64)
traj = arrays(np.float64, st.tuples(st.integers(2, 60), st.integers(1, 6)), elements=finite)


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=400))
def test_reader_on_arbitrary_bytes_returns_audio_or_one_clear_error(tmp_path_factory, raw):
    path = tmp_path_factory.mktemp("bytes") / "x.wav"
    path.write_bytes(raw)
    try:
        x, fs = read_audio(path)
    except VawganError as e:
        assert str(path) in str(e) and "\n" not in str(e)
        return
    assert x.ndim == 1 and len(x) > 0 and fs > 0 and np.isfinite(x).all()


@settings(max_examples=30, deadline=None)
@given(channels=st.integers(1, 8), n=st.integers(1, 500),
       subtype=st.sampled_from(["PCM_U8", "PCM_16", "PCM_24", "PCM_32", "FLOAT", "DOUBLE"]),
       fs=st.sampled_from([4000, 8000, 11025, 22050, 44100, 96000]), seed=st.integers(0, 2**16))
def test_reader_downmixes_any_channels_and_format(tmp_path_factory, channels, n, subtype, fs, seed):
    x = np.random.default_rng(seed).uniform(-0.9, 0.9, (n, channels))
    path = tmp_path_factory.mktemp("fmt") / "x.wav"
    sf.write(path, x, fs, subtype=subtype)
    y, fs2 = read_audio(path)
    tol = 2.0 / 2**7 if subtype == "PCM_U8" else 1.0 / 2**14
    assert fs2 == fs and y.shape == (n,)
    np.testing.assert_allclose(y, x.mean(1), atol=tol)


@settings(max_examples=80, deadline=None)
@given(traj, st.floats(0.1, 10), st.floats(-5, 5))
def test_gv_scales_quadratically_and_ignores_offsets(c, s, b):
    gv = global_variance(c)
    assert (gv >= 0).all() and gv.shape == (c.shape[1],)
    np.testing.assert_allclose(global_variance(s * c + b), s**2 * gv, rtol=1e-7, atol=1e-9)


@settings(max_examples=80, deadline=None)
@given(traj, st.floats(0.1, 10))
def test_log_gv_distance_of_uniform_shrink_is_20_log10_s(c, s):
    gv = global_variance(c)
    assume(gv.min() > 1e-3)
    assert log_gv_distance(gv, gv) == 0
    np.testing.assert_allclose(log_gv_distance(gv, s**2 * gv), abs(20 * np.log10(s)), atol=1e-6)


@settings(max_examples=60, deadline=None)
@given(traj, traj)
def test_mcd_is_a_nonnegative_symmetric_distance(a, b):
    assert mel_cepstral_distortion(a, a) == 0
    b = b[:, : a.shape[1]] if b.shape[1] >= a.shape[1] else np.pad(b, ((0, 0), (0, a.shape[1] - b.shape[1])))
    n = min(len(a), len(b))
    d = frame_mcd(a[:n], b[:n])
    assert (d >= 0).all()
    np.testing.assert_allclose(d, frame_mcd(b[:n], a[:n]))
    assert mel_cepstral_distortion(a, b) >= 0  # DTW-aligned when lengths differ


@settings(max_examples=40, deadline=None)
@given(traj, st.floats(-5, 5))
def test_modulation_spectrum_ignores_offsets_and_batches(c, b):
    p = modulation_power(c, fft_size=64)
    assert (p >= 0).all() and p.shape == (33, c.shape[1])
    np.testing.assert_allclose(modulation_power(c + b, fft_size=64), p, atol=1e-7)
    batch = np.stack([c, 2 * c])
    np.testing.assert_allclose(modulation_power(batch, fft_size=64)[1], modulation_power(2 * c, fft_size=64), atol=1e-9)
    ms = modulation_spectrum(c, fft_size=64)
    assert ms_distance(ms, ms, ms_frequencies(64)) == 0
