import numpy as np
import soundfile as sf

from vawgan_tts import metrics as M
from vawgan_tts.audio import read_audio
from vawgan_tts.features import analyze, save_features
from vawgan_tts.synthesis import synthesize, synthesize_corpus


def test_analysis_synthesis_round_trip(arctic_wav):
    x, fs = read_audio(arctic_wav)
    f = analyze(x, fs, "dio")
    y = synthesize(f)
    assert abs(len(y) - len(x)) <= fs * 0.005 * 2
    g = analyze(y, fs, "dio")
    n = min(f.n_frames, g.n_frames)
    speech = f.mcep[:n, 0] > f.mcep[:, 0].max() - 3.45
    mcd = M.mel_cepstral_distortion(f.mcep[:n, 1:], g.mcep[:n, 1:], mask=speech)
    assert mcd < 4.0  # the vocoder alone: a few dB, not tens
    # The resynthesis keeps the intonation.
    both = f.vuv[:n] & g.vuv[:n]
    assert both.mean() > 0.3
    assert np.median(np.abs(np.log2(g.f0[:n][both] / f.f0[:n][both]))) < 0.05


def test_synthesize_corpus_writes_features_and_wavs(arctic_wav, tmp_path):
    x, fs = read_audio(arctic_wav)
    f = analyze(x, fs, "dio")
    save_features(tmp_path / "in" / "a.npz", f)
    synthesize_corpus(tmp_path / "in", tmp_path / "out", ["a"], transform=lambda g: g.replace(f0=g.f0 * 2))
    info = sf.info(tmp_path / "out" / "a.wav")
    assert info.samplerate == fs and info.subtype == "PCM_16"
    assert np.allclose(np.load(tmp_path / "out" / "a.npz")["f0"], f.f0 * 2)
