import numpy as np
import pytest
import soundfile as sf
from hypothesis import given, settings, strategies as st
from hypothesis.extra.numpy import arrays

from vawgan_tts.audio import read_audio, write_audio
from vawgan_tts.errors import VawganError


def test_reads_real_speech_as_float_mono(arctic_wav):
    x, fs = read_audio(arctic_wav)
    assert fs == 16000 and x.dtype == np.float64 and x.ndim == 1
    assert 0.05 < np.abs(x).max() <= 1.0


def test_downmix_is_channel_mean(arctic_wav, tmp_path):
    x, fs = read_audio(arctic_wav)
    stereo = np.stack([x, 0.5 * x], axis=1)
    sf.write(tmp_path / "st.wav", stereo, fs, subtype="FLOAT")
    y, _ = read_audio(tmp_path / "st.wav")
    np.testing.assert_allclose(y, 0.75 * x, atol=1e-7)


def test_resample_only_when_asked(arctic_wav):
    x, fs = read_audio(arctic_wav)
    y, fs2 = read_audio(arctic_wav, fs=8000)
    assert fs2 == 8000 and abs(len(y) - len(x) / 2) <= 1
    z, fs3 = read_audio(arctic_wav, fs=16000)
    assert fs3 == 16000 and np.array_equal(z, x)


@pytest.mark.parametrize("subtype", ["PCM_16", "PCM_24", "PCM_32", "FLOAT", "DOUBLE"])
def test_sample_formats_agree(arctic_wav, tmp_path, subtype):
    x, fs = read_audio(arctic_wav)
    sf.write(tmp_path / "f.wav", x, fs, subtype=subtype)
    y, _ = read_audio(tmp_path / "f.wav")
    np.testing.assert_allclose(y, x, atol=1.0 / 2**15)


def test_bad_files_raise_one_clear_error(tmp_path):
    (tmp_path / "empty.wav").write_bytes(b"")
    with pytest.raises(VawganError, match="not readable"):
        read_audio(tmp_path / "empty.wav")
    sf.write(tmp_path / "nan.wav", np.array([0.0, np.nan, 0.1]), 8000, subtype="FLOAT")
    with pytest.raises(VawganError, match="non-finite") as e:
        read_audio(tmp_path / "nan.wav")
    assert "nan.wav" in str(e.value)


@settings(max_examples=25, deadline=None)
@given(arrays(np.float64, st.integers(1, 2000), elements=st.floats(-1, 1)))
def test_write_read_round_trip_property(tmp_path_factory, x):
    path = tmp_path_factory.mktemp("rt") / "x.wav"
    write_audio(path, x, 8000)
    y, fs = read_audio(path)
    assert fs == 8000 and y.shape == x.shape
    np.testing.assert_allclose(y, x, atol=1.0 / 2**15 + 1e-12)
