import os
import shutil
import time

import numpy as np
import pytest

from conftest import write_broken_files
from vawgan_tts import extract as X
from vawgan_tts.extract import ExtractConfig
from vawgan_tts.errors import VawganError
from vawgan_tts.features import FeatureStats, load_features, speech_mask

DIO = ExtractConfig(f0_method="dio")


def test_collect_inputs_ids_from_relative_paths(allison_few):
    pairs = X.collect_inputs([allison_few])
    ids = [u for u, _ in pairs]
    assert ids == sorted(ids)
    assert "digits_5" in ids and "letters_m" in ids and "vm-goodbye" in ids


def test_collect_inputs_refuses_colliding_ids(allison_few, tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    shutil.copy(allison_few / "activated.wav", other / "activated.wav")
    with pytest.raises(VawganError, match="activated"):
        X.collect_inputs([allison_few, other / "activated.wav"])


def test_list_file_with_kaldi_ids(allison_few, tmp_path):
    lst = tmp_path / "wav.scp"
    lst.write_text(f"# comment\nspk1_a\t{allison_few / 'activated.wav'}\n{allison_few / 'digits/5.wav'}\n")
    assert [u for u, _ in X.collect_inputs([lst])] == ["5", "spk1_a"]
    lst.write_text("missing.wav\n")
    with pytest.raises(VawganError, match="line 1"):
        X.collect_inputs([lst])
    # Kaldi separates with any whitespace; a path with a space in its name is still one column.
    spaced = allison_few / "with space.wav"
    spaced.write_bytes((allison_few / "vm-goodbye.wav").read_bytes())
    lst.write_text(f"spk1_a   {allison_few / 'activated.wav'}\nspk1_b {allison_few / 'digits/5.wav'}\n{spaced}\n")
    assert [u for u, _ in X.collect_inputs([lst])] == ["spk1_a", "spk1_b", "with_space"]
    lst.write_text("spk1_a sox in.wav -t wav - |\n")
    with pytest.raises(VawganError, match="line 1: Kaldi pipe"):
        X.collect_inputs([lst])


def test_run_extracts_good_reports_bad(allison_few, tmp_path):
    expected_reasons = write_broken_files(allison_few / "broken")
    out = tmp_path / "feats"
    summary = X.run([allison_few], out, DIO, jobs=2)
    failed = {o.utt.removeprefix("broken_"): o.reason for o in summary.failed}
    assert set(failed) == set(expected_reasons)
    for utt, words in expected_reasons.items():
        assert words in failed[utt]
    assert summary.count("ok") == 6
    feats = load_features(out / "vm-forward-multiple.npz")
    assert abs(feats.n_frames - 4.5315 / 0.005) <= 1
    manifest = (out / "manifest.tsv").read_text().splitlines()
    assert manifest[0] == "utt\tsource\tframes\tstatus" and len(manifest) == 1 + 6 + 5
    assert (out / "failed.tsv").read_text().count("\n") == 1 + 5
    # stats.npz equals statistics computed directly from the written features.
    frames = np.concatenate([load_features(p).mcep[:, 1:] for p in sorted(out.glob("*.npz")) if p.name != "stats.npz"])
    stats = FeatureStats.load(out / "stats.npz")
    assert stats.count == len(frames)
    np.testing.assert_allclose(stats.mean, frames.mean(0), rtol=1e-5)
    np.testing.assert_allclose(stats.std, frames.std(0), rtol=1e-4)
    assert not list(out.glob(".tmp-*"))


def test_parallel_equals_serial(allison_few, tmp_path):
    X.run([allison_few], tmp_path / "a", DIO, jobs=1)
    X.run([allison_few], tmp_path / "b", DIO, jobs=2)
    for p in (tmp_path / "a").glob("*.npz"):
        if p.name == "stats.npz":
            continue
        a, b = np.load(p), np.load(tmp_path / "b" / p.name)
        for k in ("mcep", "f0", "vuv", "fs", "alpha", "fft_size"):
            assert np.array_equal(a[k], b[k]), (p.name, k)
        # D4C adds tiny noise from a per-process random state; in digital silence that noise is
        # all there is, so band aperiodicities of silent frames may differ between processes.
        speech = speech_mask(a["mcep"][:, 0])
        assert np.mean(np.isclose(a["bap"][speech], b["bap"][speech], atol=1e-3)) > 0.99, p.name


def test_rerun_skips_up_to_date_and_redoes_changed(allison_few, tmp_path):
    out = tmp_path / "feats"
    X.run([allison_few], out, DIO, jobs=1)
    mtimes = {p.name: p.stat().st_mtime_ns for p in out.glob("*.npz")}
    time.sleep(0.05)
    src = allison_few / "activated.wav"
    os.utime(src)  # newer input: must be redone
    (out / "vm-goodbye.npz").unlink()  # missing output: must be redone
    s = X.run([allison_few], out, DIO, jobs=1)
    status = {o.utt: o.status for o in s.outcomes}
    assert status["activated"] == "ok" and status["vm-goodbye"] == "ok"
    assert status["digits_5"] == "skipped"
    assert (out / "digits_5.npz").stat().st_mtime_ns == mtimes["digits_5.npz"]
    s = X.run([allison_few], out, DIO, jobs=1, overwrite=True)
    assert s.count("ok") == 6
    s = X.run([allison_few], out, ExtractConfig(f0_method="dio", f0_floor=60.0), jobs=1)
    assert s.count("ok") == 6  # other analysis settings: nothing is up to date


def test_stale_temporaries_are_removed(allison_few, tmp_path):
    out = tmp_path / "feats"
    out.mkdir()
    (out / ".tmp-activated.npz.abc").write_bytes(b"half a file")  # what kill -9 leaves
    X.run([allison_few], out, DIO, jobs=1)
    assert not list(out.glob(".tmp-*"))


def test_resampling_on_request(allison_few, tmp_path):
    s = X.run([allison_few / "activated.wav"], tmp_path / "f", ExtractConfig(f0_method="dio", fs=16000), jobs=1)
    f = load_features(tmp_path / "f" / "activated.npz")
    assert f.fs == 16000 and f.alpha == pytest.approx(0.41, abs=1e-3)
    assert s.count("ok") == 1


def test_outputs_get_ordinary_permissions(tmp_path):
    """Atomic writes go through mkstemp (mode 0600); the final file gets what open() would give."""
    from vawgan_tts import fileio

    fileio.write_text_atomic(tmp_path / "a.txt", "x")
    assert (tmp_path / "a.txt").stat().st_mode & 0o777 == 0o666 & ~fileio._UMASK
    assert fileio._UMASK & 0o044 or (tmp_path / "a.txt").stat().st_mode & 0o044 == 0o044
