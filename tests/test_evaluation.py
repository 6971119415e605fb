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
