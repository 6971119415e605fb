import json

import numpy as np
import pytest

from vawgan_tts import extract as X
from vawgan_tts.config import ExtractConfig
from vawgan_tts.errors import VawganError
from vawgan_tts.evaluation import evaluate, parse_system
from vawgan_tts.features import load_features, save_features


@pytest.fixture()
def natural(allison_few, tmp_path):
    out = tmp_path / "natural"
    X.run([allison_few], out, ExtractConfig(f0_method="dio"), jobs=1)
    return out


def _transformed(natural, folder, fn):
    for p in natural.glob("*.npz"):
        if p.name == "stats.npz":
            continue
        f = load_features(p)
        mc = f.mcep.copy()
        mc[:, 1:] = fn(mc[:, 1:])
        save_features(folder / p.name, f.replace(mcep=mc))
    return folder


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
    with pytest.raises(VawganError, match="do not match"):
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

    sys_dir = tmp_path / "scaled"
    sil_dir = tmp_path / "silence_garbled"
    for p in natural.glob("*.npz"):
        if p.name == "stats.npz":
            continue
        f = load_features(p)
        mc = f.mcep.copy()
        mc[:, 1:] = scaled(mc[:, 1:])
        save_features(sys_dir / p.name, f.replace(mcep=mc))
        mc = f.mcep.copy()
        quiet = ~speech_mask(f.mcep[:, 0])
        assert quiet.any() and not quiet.all()
        mc[quiet, 1:] += 3.0
        save_features(sil_dir / p.name, f.replace(mcep=mc))
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
