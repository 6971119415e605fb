"""The report and listening pages in a real browser (headless Chromium through Playwright).

Runs where `playwright` (the Python package) and Chromium are installed (`make check-pages` installs
the package; Chromium is Debian's `chromium`); skipped elsewhere, e.g. in CI. scripts/check_pages.py."""

import importlib.util
import json
import os
import shutil
import sys
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
pytestmark = pytest.mark.skipif(importlib.util.find_spec("playwright") is None or not Path(CHROMIUM).is_file(),
                                reason="needs the playwright package and Chromium (make check-pages)")
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))


def test_a_scripted_listener_fills_the_pages_and_the_answers_aggregate(allison_few, tmp_path):
    from check_pages import _scores, fill_listening_test
    from vawgan_tts.listening_test import aggregate, key_path, write_listening_test

    wavs = sorted(allison_few.rglob("*.wav"))[:3]
    folders = {}
    for name in ("natural", "sys-a", "sys-b"):
        folders[name] = tmp_path / name
        folders[name].mkdir()
        for w in wavs:
            shutil.copy(w, folders[name] / w.name)
    ids = [w.stem for w in wavs]
    key = write_listening_test({"sys-a": folders["sys-a"], "sys-b": folders["sys-b"]}, folders["natural"], tmp_path / "t",
                               ids, anchor="sys-b", listeners=2, seed=3)
    files = fill_listening_test(tmp_path / "t", key_path(tmp_path / "t"), tmp_path / "answers", 2)
    assert [f.name for f in files] == [f"answers-{key['test']}-listener-{k:02d}.csv" for k in (1, 2)]
    res = aggregate(files, key_path(tmp_path / "t"))
    for name, target in _scores(key).items():
        assert res["scores"][name]["ratings"] == 2 * len(ids)
        assert abs(res["scores"][name]["mean"] - target) <= 5  # the page recorded what the listener set

    write_listening_test({"sys-a": folders["sys-a"], "sys-b": folders["sys-b"]}, None, tmp_path / "ab", ids,
                              kind="ab", listeners=1, seed=3)
    files = fill_listening_test(tmp_path / "ab", key_path(tmp_path / "ab"), tmp_path / "ab-answers", 1)
    pair = aggregate(files, key_path(tmp_path / "ab"))["pairs"]["sys-a vs sys-b"]
    assert pair["sys-a"] == len(ids) and pair["sys-b"] == 0  # the scripted listener always picks the first system
    assert json.loads(key_path(tmp_path / "ab").read_text())["kind"] == "ab"


def test_the_report_plays_an_odd_id_in_the_browser(allison_few, tmp_path):
    from check_pages import check_report
    from vawgan_tts import extract as X
    from vawgan_tts.extract import ExtractConfig
    from vawgan_tts.report import write_report

    odd = "take #1 of 100% done"
    wavs = tmp_path / "odd"
    wavs.mkdir()
    prompts = sorted(allison_few.rglob("*.wav"))
    shutil.copy(prompts[0], wavs / "odd.wav")
    shutil.copy(prompts[1], wavs / "plain.wav")
    natural = tmp_path / "natural"
    X.run([wavs], natural, ExtractConfig(f0_method="dio"), jobs=1)
    (natural / "odd.npz").rename(natural / f"{odd}.npz")
    sources = {odd: wavs / "odd.wav", "plain": wavs / "plain.wav"}
    write_report(tmp_path, tmp_path / "report", [odd, "plain"], natural, {"copy #2": natural},
                 [("natural", "natural", sources), ("copy #2", "copy #2", sources)], n_show=2, n_resamples=200)
    res = check_report(tmp_path / "report")
    assert res["audio"] == 4 and res["audio_failed"] == [] and res["images_failed"] == [] and res["sorts"]
