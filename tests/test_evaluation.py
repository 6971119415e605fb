import json

import numpy as np
import pytest

from vawgan_tts import extract as X
from vawgan_tts.extract import ExtractConfig
from vawgan_tts.errors import VawganError
from vawgan_tts.evaluation import evaluate, parse_system
from vawgan_tts.features import load_features, save_features


@pytest.fixture()
def natural(allison_few, tmp_path):
    out = tmp_path / "natural"
    X.run([allison_few], out, ExtractConfig(f0_method="dio"), jobs=1)
    return out


def _rewritten(natural, folder, fn):
    """Each utterance of ``natural`` through ``fn(Features) -> Features`` into ``folder``."""
    for p in natural.glob("*.npz"):
        if p.name != "stats.npz":
            save_features(folder / p.name, fn(load_features(p)))
    return folder


def _with_mcep(f, fn):
    mc = f.mcep.copy()
    fn(mc)
    return f.replace(mcep=mc)


def _transformed(natural, folder, fn):
    """c1..c39 of every utterance through ``fn``."""

    def apply(mc):
        mc[:, 1:] = fn(mc[:, 1:])

    return _rewritten(natural, folder, lambda f: _with_mcep(f, apply))


def test_self_is_zero_and_shrunk_gv_is_measured(natural, tmp_path):
    s = 0.5
    shrunk = _transformed(natural, tmp_path / "shrunk", lambda c: s * (c - c.mean(0)) + c.mean(0))
    res = evaluate(natural, {"self": natural, "shrunk": shrunk}, tmp_path / "eval")
    me, sh = res["systems"]["self"], res["systems"]["shrunk"]
    assert me["gv_distance"] == me["ms_distance"] == me["mcd_db"] == 0.0
    assert me["utterances"] == sh["utterances"] == 6
    assert sh["gv_ratio"] == pytest.approx(s**2, rel=1e-6)
    assert sh["gv_distance"] == pytest.approx(20 * np.log10(1 / s), rel=1e-3)
    assert sh["ms_distance"] == pytest.approx(20 * np.log10(1 / s), rel=1e-3)
    assert sh["mcd_db"] > 0.5
    on_disk = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    assert on_disk["systems"]["shrunk"]["mcd_db"] == pytest.approx(sh["mcd_db"])
    for png in ("gv.png", "ms.png", "scatter.png"):
        assert (tmp_path / "eval" / png).read_bytes()[:4] == b"\x89PNG"


def test_only_common_utterances_and_incompatible_features(natural, tmp_path):
    part = tmp_path / "part"
    part.mkdir()
    for name in ("activated.npz", "digits_5.npz"):
        (part / name).write_bytes((natural / name).read_bytes())
    res = evaluate(natural, {"part": part}, tmp_path / "e1", plots=False)
    assert res["systems"]["part"]["utterances"] == 2
    f = load_features(natural / "activated.npz")
    other = tmp_path / "other"
    save_features(other / "activated.npz", f.replace(alpha=0.41, fs=16000))
    with pytest.raises(VawganError, match="has features at 16000 Hz, α 0.410, 5 ms; the natural ones .* at 8000 Hz"):
        evaluate(natural, {"o": other}, tmp_path / "e2", plots=False)


def test_parse_system():
    assert parse_system("vae=exp/vae")[0] == "vae"
    with pytest.raises(VawganError, match="NAME=DIR"):
        parse_system("exp/vae")


def test_per_dimension_scaling_and_silence_changes_by_hand(natural, tmp_path):
    """A system that scales dimension d by s_d about its mean and garbles every non-speech frame:
    GV ratio mean(s_d²), GV and MS distances RMS_d |20 log10 s_d| (MS: every kept bin alike), and the
    MCD counts speech frames only."""
    from vawgan_tts.features import speech_mask

    s = np.ones(39)
    s[0], s[4], s[20] = 0.5, 2.0, 0.25

    def scaled(c):
        return s * (c - c.mean(0)) + c.mean(0)

    sys_dir = _transformed(natural, tmp_path / "scaled", scaled)

    def garble_silence(mc):
        quiet = ~speech_mask(mc[:, 0])
        assert quiet.any() and not quiet.all()
        mc[quiet, 1:] += 3.0

    sil_dir = _rewritten(natural, tmp_path / "silence_garbled", lambda f: _with_mcep(f, garble_silence))
    res = evaluate(natural, {"scaled": sys_dir, "sil": sil_dir}, tmp_path / "eval", plots=False)["systems"]
    rms_db = np.sqrt(np.mean((20 * np.log10(s)) ** 2))
    assert res["scaled"]["gv_ratio"] == pytest.approx(np.mean(s**2), rel=1e-5)
    assert res["scaled"]["gv_distance"] == pytest.approx(rms_db, rel=1e-4)
    assert res["scaled"]["ms_distance"] == pytest.approx(rms_db, rel=1e-4)
    # Speech frames untouched: MCD and GV exactly natural's; the MS sees every frame, so it moves.
    assert res["sil"]["mcd_db"] == 0.0
    assert res["sil"]["gv_distance"] == pytest.approx(0.0, abs=1e-9)
    assert res["sil"]["gv_ratio"] == pytest.approx(1.0, abs=1e-12)
    assert res["sil"]["ms_distance"] > 0.1


def test_mcd_of_a_constant_offset_on_speech_frames(natural, tmp_path):
    off = _transformed(natural, tmp_path / "off", lambda c: c + np.where(np.arange(39) == 7, 0.1, 0.0))
    res = evaluate(natural, {"off": off}, tmp_path / "e", plots=False)["systems"]["off"]
    assert res["mcd_db"] == pytest.approx(10 / np.log(10) * np.sqrt(2 * 0.01), rel=1e-5)
    assert res["gv_ratio"] == pytest.approx(1.0, rel=1e-6)


def test_evaluate_refusals_name_what_is_wrong(natural, tmp_path):
    with pytest.raises(VawganError) as e:
        evaluate(natural, {}, tmp_path / "e")
    assert str(e.value) == "no system to evaluate: give at least one NAME=DIR"
    with pytest.raises(VawganError) as e:
        evaluate(natural, {"natural": natural}, tmp_path / "e")
    assert str(e.value) == "'natural' is the reference; name the system something else"
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(VawganError) as e:
        evaluate(empty, {"a": natural}, tmp_path / "e")
    assert str(e.value) == f"{empty}: no .npz features"
    other = tmp_path / "other"
    other.mkdir()
    (other / "unrelated.npz").write_bytes((natural / "activated.npz").read_bytes())
    with pytest.raises(VawganError) as e:
        evaluate(natural, {"o": other}, tmp_path / "e")
    assert str(e.value) == f"{other}: system 'o' has no utterance in common with {natural}"
    f = load_features(natural / "activated.npz")
    wrong = tmp_path / "wrong"
    save_features(wrong / "activated.npz", f.replace(frame_period=10.0))
    with pytest.raises(VawganError) as e:
        evaluate(natural, {"w": wrong}, tmp_path / "e")
    assert str(e.value).startswith(f"{wrong}: system 'w' has features at 8000 Hz, α 0.312, 10 ms") and str(natural) in str(e.value)


def test_ids_settings_threshold_and_output_folder(natural, tmp_path):
    out = tmp_path / "a" / "b" / "eval"  # made with its parents
    res = evaluate(natural, {"self": natural}, out, ids=["activated", "digits_5", "not-there"], plots=False)
    assert res["settings"] == {"natural": str(natural), "utterances": 2, "speech_threshold_db": 30.0,
                               "alignment": "auto", "dtw_band": 0.2, "ms_fft_size": 4096, "ms_max_hz": 50.0, "fs": 8000,
                               "confidence": 0.95, "resamples": 2000, "reference": None}
    assert res["systems"]["self"]["utterances"] == 2
    assert (out / "metrics.json").read_text().startswith('{\n  "systems"')  # indented for people
    res = evaluate(natural, {"self": natural}, out, ids=["activated"], plots=False)  # the folder may exist
    assert res["settings"]["utterances"] == 1
    # Every frame counts as speech at a 200 dB threshold: a system that differs only in silence
    # then has an MCD above zero.
    def garble_quieter_frames(mc):
        mc[mc[:, 0] < mc[:, 0].max() - 2.0, 1:] += 1.0

    quiet = _rewritten(natural, tmp_path / "quiet", lambda f: _with_mcep(f, garble_quieter_frames))
    strict = evaluate(natural, {"q": quiet}, tmp_path / "e1", plots=False)["systems"]["q"]["mcd_db"]
    loose = evaluate(natural, {"q": quiet}, tmp_path / "e2", plots=False, speech_threshold_db=200.0)
    assert loose["settings"]["speech_threshold_db"] == 200.0
    assert loose["systems"]["q"]["mcd_db"] > strict + 1.0


def test_ms_band_follows_the_frame_period(natural, tmp_path):
    """At 10 ms frames the modulation spectrum reaches 50 Hz only; the distance uses those bins."""
    from vawgan_tts import metrics as M

    slow_nat, slow_sys = tmp_path / "nat10", tmp_path / "sys10"
    rng = np.random.default_rng(0)
    for p in natural.glob("*.npz"):
        if p.name == "stats.npz":
            continue
        f = load_features(p).replace(frame_period=10.0)
        save_features(slow_nat / p.name, f)
        mc = f.mcep.copy()
        mc[:, 1:] += 0.05 * rng.standard_normal(mc[:, 1:].shape)
        save_features(slow_sys / p.name, f.replace(mcep=mc))
    res = evaluate(slow_nat, {"s": slow_sys}, tmp_path / "e", plots=False)["systems"]["s"]
    nat = [load_features(p).mcep[:, 1:] for p in sorted(slow_nat.glob("*.npz"))]
    gen = [load_features(p).mcep[:, 1:] for p in sorted(slow_sys.glob("*.npz"))]
    ms = [M.to_db(sum(M.modulation_power(c) for c in cs) / len(cs)) for cs in (nat, gen)]
    expected = M.ms_distance(ms[0], ms[1], M.ms_frequencies(M.MS_FFT_SIZE, 10.0))
    assert res["ms_distance"] == pytest.approx(float(expected), rel=1e-9)
    assert res["ms_distance"] != pytest.approx(float(M.ms_distance(ms[0], ms[1], M.ms_frequencies())), rel=1e-3)


def test_utterances_keep_each_utterance_and_the_corpus_figures_are_their_means():
    from vawgan_tts import metrics as M
    from vawgan_tts.evaluation import _Utterances, figure

    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((300, 3)), 3 * rng.standard_normal((500, 3))
    acc = _Utterances()
    acc.add(a, np.ones(300, bool), 2049, {"mcd_db": 1.0})
    acc.add(b, np.ones(500, bool), 2049, {"mcd_db": 4.0})
    arr = acc.arrays()
    np.testing.assert_allclose(M.to_db(arr["ms"].mean(0)), M.to_db((M.modulation_power(a) + M.modulation_power(b)) / 2))
    np.testing.assert_allclose(arr["gv"].mean(0), (a.var(0) + b.var(0)) / 2)
    s = acc.sample(np.random.default_rng(1))
    assert s.shape == (800, 3) and len(np.unique(s, axis=0)) == 800  # all frames, each once
    # The Gaussian fit of the weighted utterances is that of their frames pooled.
    both = np.concatenate([a, b])
    fd = figure("frechet_distance", np.full(2, 0.5), arr, np.full(2, 0.5), arr, M.ms_frequencies()[:2049])
    assert fd == pytest.approx(0.0, abs=1e-9)
    other = _Utterances()
    other.add(a, np.ones(300, bool), 2049)
    other.add(a, np.ones(300, bool), 2049)
    mu, cov = M.gaussian_fit(both)
    expected = M.frechet_distance(mu, cov, *M.gaussian_fit(a))
    assert figure("frechet_distance", np.full(2, 0.5), other.arrays(), np.full(2, 0.5), arr, None) == pytest.approx(expected)
    # A weight of 1 on one utterance scores it alone; the scores are weighted means.
    assert figure("mcd_db", np.array([0.25, 0.75]), arr, None, arr, None) == pytest.approx(3.25)


def test_ids_the_natural_side_lacks_are_skipped_and_progress_names_each(natural, tmp_path):
    extra = tmp_path / "extra"
    for p in natural.glob("*.npz"):
        (extra / p.name).parent.mkdir(exist_ok=True)
        (extra / p.name).write_bytes(p.read_bytes())
    (extra / "only_here.npz").write_bytes((natural / "activated.npz").read_bytes())
    seen = []
    res = evaluate(natural, {"x": extra}, tmp_path / "e", ids=["activated", "only_here", "digits_5"], plots=False,
                   on_progress=lambda done, total: seen.append((done, total)))
    assert res["settings"]["utterances"] == 2 and seen == [(1, 2), (2, 2)]


def _stretched(f, factor=2):
    """Every frame said ``factor`` times: another timing, the same spectra and F0."""
    idx = np.repeat(np.arange(f.n_frames), factor)
    return f.replace(mcep=f.mcep[idx], f0=f.f0[idx], vuv=f.vuv[idx], bap=f.bap[idx])


def test_dtw_alignment_sees_through_another_timing_and_f0_is_measured(natural, tmp_path):
    slow = _rewritten(natural, tmp_path / "slow", _stretched)
    up = _rewritten(natural, tmp_path / "up", lambda f: _stretched(f).replace(f0=_stretched(f).f0 * 2 ** (100 / 1200)))
    m = evaluate(natural, {"slow": slow, "up": up}, tmp_path / "e", align="dtw", plots=False)
    assert m["settings"]["alignment"] == "dtw"
    s, u = m["systems"]["slow"], m["systems"]["up"]
    assert s["mcd_db"] == pytest.approx(0.0, abs=1e-9) and s["f0_rmse_cents"] == pytest.approx(0.0, abs=1e-9)
    assert s["vuv_error"] == 0.0 and s["gv_ratio"] == pytest.approx(1.0, abs=0.02)
    assert u["f0_rmse_cents"] == pytest.approx(100.0, rel=1e-6)  # a semitone up on every voiced frame


def test_voicing_flipped_on_a_share_of_frames_is_the_vuv_error(natural, tmp_path):
    def flip(f):
        vuv = f.vuv.copy()
        vuv[::4] = ~vuv[::4]
        return f.replace(vuv=vuv)

    flipped = _rewritten(natural, tmp_path / "flip", flip)
    m = evaluate(natural, {"flip": flipped}, tmp_path / "e", plots=False)["systems"]["flip"]
    assert 0.2 < m["vuv_error"] < 0.3  # a quarter of the (speech) frames, utterance by utterance


def test_unknown_alignment_is_refused(natural, tmp_path):
    with pytest.raises(VawganError, match="alignment 'fast': choose from auto, dtw"):
        evaluate(natural, {"x": natural}, tmp_path / "e", align="fast")


def test_processes_give_the_same_metrics_and_table_as_one(natural, tmp_path):
    """`--jobs 2`: utterances scored and intervals and tests taken in worker processes write the same
    metrics.json and per_utterance.csv, byte for byte, as one process (every resampling is seeded)."""
    shrunk = _transformed(natural, tmp_path / "shrunk", lambda c: 0.7 * (c - c.mean(0)) + c.mean(0))
    noisy = _transformed(natural, tmp_path / "noisy",
                         lambda c: c + 0.05 * np.random.default_rng(len(c)).standard_normal(c.shape).astype(c.dtype))
    outs = {}
    for jobs in (1, 2):
        outs[jobs] = tmp_path / f"j{jobs}"
        evaluate(natural, {"shrunk": shrunk, "noisy": noisy}, outs[jobs], reference="shrunk", n_resamples=200,
                 plots=False, jobs=jobs)
    for name in ("metrics.json", "per_utterance.csv"):
        assert (outs[1] / name).read_bytes() == (outs[2] / name).read_bytes()
    result = json.loads((outs[2] / "metrics.json").read_text())
    assert set(result["systems"]["noisy"]["p_vs_reference"]) == set(result["systems"]["noisy"]["ci95"])
