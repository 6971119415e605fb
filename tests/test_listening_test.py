"""`vawgan listening-test` pages and `vawgan listening-results` (vawgan_tts.listening_test)."""

import csv
import json
import re
import shutil

import numpy as np
import pytest
from typer.testing import CliRunner

from vawgan_tts.cli.vawgan import app
from vawgan_tts.errors import VawganError
from vawgan_tts.listening_test import REFERENCE, aggregate, key_path, write_listening_test

runner = CliRunner()
SYSTEMS = ("vawgan-secret", "vae-secret", "gvpf-secret")


@pytest.fixture()
def folders(allison_few, tmp_path):
    """Natural WAVs and three 'systems' (copies; the test checks the machinery, not the audio)."""
    wavs = sorted(allison_few.rglob("*.wav"))[:4]
    ids = [w.stem for w in wavs]
    out = {}
    for name in ("natural", *SYSTEMS):
        out[name] = tmp_path / name
        out[name].mkdir()
        for w in wavs:
            shutil.copy(w, out[name] / w.name)
    return out, ids


def _page_trials(page):
    return json.loads(re.search(r'<script type="application/json" id=trials>(.*?)</script>', page, re.S).group(1))


def _order(test_dir, key, listener):
    """(utterance, system) of every stimulus of a listener's page, in page order."""
    trials = _page_trials((test_dir / f"listener-{listener:02d}.html").read_text())
    return [[(key["stimuli"][s]["utterance"], key["stimuli"][s]["system"]) for s in t["stimuli"]] for t in trials]


def test_mushra_pages_hide_the_systems_and_order_them_by_seed(folders, tmp_path):
    f, ids = folders
    systems = {n: f[n] for n in SYSTEMS}
    key = write_listening_test(systems, f["natural"], tmp_path / "t1", ids, anchor="vae-secret", listeners=3, seed=7)
    test = tmp_path / "t1"
    assert key_path(test) == tmp_path / "t1-key.json" and key_path(test).is_file()
    # Nothing handed to listeners names a system or an utterance.
    for p in test.rglob("*"):
        text = p.name + (p.read_text() if p.suffix == ".html" else "")
        for secret in (*SYSTEMS, *(i for i in ids if len(i) > 3)):  # ("5" is in any page)
            assert secret not in text, (p, secret)
    audio = sorted(p.name for p in (test / "audio").iterdir())
    assert len(audio) == len(ids) * (len(SYSTEMS) + 2)  # each system, hidden reference, open reference
    # Every trial: the open reference is the natural recording under another token than the hidden one.
    for t in _page_trials((test / "listener-01.html").read_text()):
        assert t["reference"] not in t["stimuli"] and t["reference"] not in key["stimuli"]
        hidden = [s for s in t["stimuli"] if key["stimuli"][s]["system"] == REFERENCE]
        assert len(hidden) == 1 and len(t["stimuli"]) == len(SYSTEMS) + 1
        utt = key["stimuli"][hidden[0]]["utterance"]
        assert key["open_reference"][utt] == t["reference"]
        assert (test / "audio" / f"{t['reference']}.wav").read_bytes() == (test / "audio" / f"{hidden[0]}.wav").read_bytes()
    # The same seed gives every listener the same order again; listeners differ from each other.
    key2 = write_listening_test(systems, f["natural"], tmp_path / "t2", ids, anchor="vae-secret", listeners=3, seed=7)
    for k in (1, 2, 3):
        assert _order(test, key, k) == _order(tmp_path / "t2", key2, k)
    assert _order(test, key, 1) != _order(test, key, 2)
    key3 = write_listening_test(systems, f["natural"], tmp_path / "t3", ids, listeners=1, seed=8)
    assert _order(test, key, 1) != _order(tmp_path / "t3", key3, 1)


def _answer(path, key, test_dir, listener, score_of):
    page = (test_dir / f"listener-{listener:02d}.html").read_text()
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(("test", "listener", "trial", "stimulus", "score"))
        for t in _page_trials(page):
            for s in t["stimuli"]:
                w.writerow((key["test"], f"{listener:02d}", t["trial"], s, score_of(key["stimuli"][s]["system"])))


def test_mushra_results_with_intervals_and_post_screening(folders, tmp_path):
    f, ids = folders
    key = write_listening_test({n: f[n] for n in SYSTEMS}, f["natural"], tmp_path / "t", ids, anchor="vae-secret",
                               listeners=4, seed=0)
    rng = np.random.default_rng(0)
    means = {REFERENCE: 95, "vawgan-secret": 70, "gvpf-secret": 55, "vae-secret": 25}
    files = []
    for k in (1, 2, 3):
        files.append(tmp_path / f"a{k}.csv")
        _answer(files[-1], key, tmp_path / "t", k, lambda s: int(np.clip(means[s] + rng.integers(-5, 6), 0, 100)))
    files.append(tmp_path / "a4.csv")  # a listener who cannot find the reference: screened out
    _answer(files[-1], key, tmp_path / "t", 4, lambda s: 50)
    res = aggregate(files, key_path(tmp_path / "t"))
    assert res["excluded_listeners"] == ["04"] and res["listeners"] == ["01", "02", "03", "04"]
    for name, m in means.items():
        s = res["scores"][name]
        assert s["ratings"] == 3 * len(ids) and abs(s["mean"] - m) < 3.5
        assert s["ci95"][0] < s["mean"] < s["ci95"][1] and s["ci95"][1] - s["ci95"][0] < 8
    assert res["scores"]["vae-secret"]["anchor"] and not res["scores"]["vawgan-secret"]["anchor"]
    kept = aggregate(files, key_path(tmp_path / "t"), screening=False)
    assert kept["excluded_listeners"] == [] and kept["scores"]["vae-secret"]["ratings"] == 4 * len(ids)
    # The command prints the table and writes the JSON.
    r = runner.invoke(app, ["listening-results", *map(str, files), "--key", str(key_path(tmp_path / "t")),
                            "-o", str(tmp_path / "scores.json")])
    assert r.exit_code == 0, r.output
    assert "vae-secret (anchor)" in r.output and "reference (hidden)" in r.output and "listener 04" in r.output
    assert json.loads((tmp_path / "scores.json").read_text())["scores"]["gvpf-secret"]["ratings"] == 12


def test_ab_pages_and_preferences(folders, tmp_path):
    f, ids = folders
    key = write_listening_test({n: f[n] for n in SYSTEMS[:2]}, None, tmp_path / "ab", ids, kind="ab", listeners=2, seed=1)
    assert key["pairs"] == [list(SYSTEMS[:2])]
    rows = []
    for k in (1, 2):
        for t in _page_trials((tmp_path / "ab" / f"listener-{k:02d}.html").read_text()):
            sa = key["stimuli"][t["a"]]["system"]
            # Listener 1 always prefers vawgan, whichever side it is on; listener 2 has no preference.
            choice = ("A" if sa == "vawgan-secret" else "B") if k == 1 else "none"
            rows.append((key["test"], f"{k:02d}", t["trial"], t["a"], t["b"], choice))
    sides = {key["stimuli"][r[3]]["system"] for r in rows}
    assert sides == set(SYSTEMS[:2])  # the order within a pair is randomized
    path = tmp_path / "ab.csv"
    with open(path, "w", newline="") as fh:
        csv.writer(fh).writerows([("test", "listener", "trial", "a", "b", "choice"), *rows])
    res = aggregate([path], key_path(tmp_path / "ab"))
    e = res["pairs"]["vawgan-secret vs vae-secret"]
    assert (e["vawgan-secret"], e["vae-secret"], e["none"]) == (len(ids), 0, len(ids))
    assert e["share_first"] == 1.0 and e["p"] == pytest.approx(2 * 0.5 ** len(ids))
    assert 0.4 < e["ci95"][0] < 1.0 and e["ci95"][1] == pytest.approx(1.0)


def test_bad_answers_and_bad_tests_are_one_line(folders, tmp_path):
    f, ids = folders
    key = write_listening_test({"a": f[SYSTEMS[0]]}, f["natural"], tmp_path / "t", ids, listeners=1)
    good = tmp_path / "good.csv"
    _answer(good, key, tmp_path / "t", 1, lambda s: 80)
    text = good.read_text()
    bad = tmp_path / "other-test.csv"
    bad.write_text(text.replace(key["test"], "9-deadbeef"))
    with pytest.raises(VawganError, match="answers to test '9-deadbeef'"):
        aggregate([bad], key_path(tmp_path / "t"))
    bad.write_text(text.replace(",80\n", ",120\n", 1))
    with pytest.raises(VawganError, match="score '120' is not a number from 0 to 100"):
        aggregate([bad], key_path(tmp_path / "t"))
    with pytest.raises(VawganError, match="answered again"):
        aggregate([good, good], key_path(tmp_path / "t"))
    r = runner.invoke(app, ["listening-results", str(tmp_path / "missing.csv"), "--key", str(key_path(tmp_path / "t"))])
    assert r.exit_code == 2 and "missing.csv" in r.output and "Traceback" not in r.output
    with pytest.raises(VawganError, match="the key of an earlier test is there"):  # the key: answers may have been collected
        write_listening_test({"a": f[SYSTEMS[0]]}, f["natural"], tmp_path / "t", ids)
    key_path(tmp_path / "t").rename(tmp_path / "kept-key.json")
    with pytest.raises(VawganError, match="already holds files"):
        write_listening_test({"a": f[SYSTEMS[0]]}, f["natural"], tmp_path / "t", ids)
    key_path(tmp_path / "t").parent.joinpath("kept-key.json").rename(key_path(tmp_path / "t"))
    (f[SYSTEMS[1]] / f"{ids[0]}.wav").unlink()
    with pytest.raises(VawganError, match="has no WAV for 1 of the 4"):
        write_listening_test({"b": f[SYSTEMS[1]]}, f["natural"], tmp_path / "t4", ids)
    r = runner.invoke(app, ["listening-test", f"x={f[SYSTEMS[0]]}", "-o", str(tmp_path / "t5"), "--ids",
                            str(tmp_path / "nope.ids"), "--reference", str(f["natural"])])
    assert r.exit_code == 2 and "nope.ids" in r.output
    with pytest.raises(VawganError, match="--anchor 'zz'"):
        write_listening_test({"a": f[SYSTEMS[0]]}, f["natural"], tmp_path / "t6", ids, anchor="zz")
