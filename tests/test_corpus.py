"""The parallel corpus: transcripts, G.722 decoding, flite, and what happens to bad prompts."""

import gzip

import numpy as np
import pytest
import soundfile as sf

from vawgan_tts.corpus import FAILED, NATURAL, TEXT, Flite, decode_audio, prepare_parallel_corpus, read_transcripts
from vawgan_tts.errors import VawganError

PROMPTS = ("agent-pass", "digits_5", "vm-goodbye")


def test_read_transcripts_splits_speech_descriptions_and_empty(tmp_path):
    f = tmp_path / "t.txt.gz"
    f.write_bytes(gzip.compress(
        "; a comment\n\nactivated: Activated.\ndigits/1: one\nbeep: [this is a simple beep tone]\n"
        "silence/1: (1 second of silence)\nletters/at: at [@]\nhollow:   \n".encode()))
    t = read_transcripts(f)
    assert t.speech == {"activated": "Activated.", "digits_1": "one", "letters_at": "at"}
    assert t.non_speech == ("beep", "silence_1") and t.empty == ("hollow",)


def test_read_transcripts_names_a_bad_line(tmp_path):
    f = tmp_path / "t.txt"
    f.write_text("ok: fine\nno colon here\n")
    with pytest.raises(VawganError, match=r"t.txt: line 2: expected 'name: text'"):
        read_transcripts(f)


def test_debian_transcripts_leave_tones_and_silence_out(flite2allison):
    t = read_transcripts(flite2allison["transcripts"])
    assert {"ascending-2tone", "beep", "silence_1", "silence_10"} <= set(t.non_speech)
    assert not set(t.non_speech) & set(t.speech)
    assert len(t.speech) == 554 and t.speech["digits_5"] == "five"


def test_g722_decodes_to_wideband_16k(flite2allison):
    x, fs = decode_audio(flite2allison["g722"] / "agent-pass.g722", "g722")
    assert fs == 16000 and x.ndim == 1 and 1.0 < len(x) / fs < 5.0
    assert 0.1 < np.abs(x).max() <= 1.0
    # Wideband: real energy between 4 and 7 kHz (an 8 kHz telephone recording has none).
    spec = np.abs(np.fft.rfft(x)) ** 2
    f = np.fft.rfftfreq(len(x), 1 / fs)
    assert spec[(f > 4000) & (f < 7000)].sum() / spec.sum() > 1e-3


def test_decode_names_an_undecodable_file(tmp_path):
    bad = tmp_path / "bad.g722"
    bad.write_bytes(b"")
    with pytest.raises(VawganError, match="bad.g722"):
        decode_audio(bad, "g722")


def _corpus_inputs(flite2allison, tmp_path, prompts=PROMPTS, extra_lines=""):
    rec = tmp_path / "rec"
    (rec / "digits").mkdir(parents=True)
    for p in prompts:
        rel = p.replace("digits_", "digits/")
        (rec / f"{rel}.g722").write_bytes((flite2allison["g722"] / f"{rel}.g722").read_bytes())
    all_text = read_transcripts(flite2allison["transcripts"]).speech
    lines = [f"{p.replace('digits_', 'digits/')}: {all_text[p]}" for p in prompts]
    (tmp_path / "text.txt").write_text("\n".join(lines) + "\n" + extra_lines)
    return tmp_path / "text.txt", rec


def test_prepare_writes_both_sides_in_parallel_and_resumes(flite2allison, tmp_path):
    text, rec = _corpus_inputs(flite2allison, tmp_path)
    flite = Flite.find(flite2allison["flite"])
    out = tmp_path / "corpus"
    s = prepare_parallel_corpus(text, rec, out, voices=("slt", "rms"), flite=flite, jobs=2)
    assert s.prepared[NATURAL] == sorted(PROMPTS) and s.made == 9 and not s.failed
    for side in (NATURAL, "slt", "rms"):
        scp = (out / side / "wav.scp").read_text().splitlines()
        assert [line.split("\t")[0] for line in scp] == sorted(PROMPTS)
        info = sf.info(out / side / "agent-pass.wav")
        assert info.samplerate == 16000 and info.duration > 0.5
    assert (out / TEXT).read_text().splitlines()[1] == "digits_5\tfive"
    # flite's voices differ: two renditions of one text are not the same signal.
    a, b = sf.read(out / "slt/agent-pass.wav")[0], sf.read(out / "rms/agent-pass.wav")[0]
    assert len(a) != len(b) or not np.allclose(a, b)
    before = (out / NATURAL / "digits_5.wav").stat().st_mtime_ns
    again = prepare_parallel_corpus(text, rec, out, voices=("slt", "rms"), flite=flite, jobs=1)
    assert again.made == 0 and (out / NATURAL / "digits_5.wav").stat().st_mtime_ns == before


def test_bad_prompts_are_one_line_each_and_the_rest_is_kept(flite2allison, tmp_path):
    text, rec = _corpus_inputs(flite2allison, tmp_path, extra_lines="no-such-prompt: Hello.\nhollow:\n")
    (rec / "untranscribed.g722").write_bytes((flite2allison["g722"] / "vm-goodbye.g722").read_bytes())
    (rec / "digits/5.g722").write_bytes(b"")  # an empty file: nothing to decode
    out = tmp_path / "corpus"
    s = prepare_parallel_corpus(text, rec, out, voices=("slt",), flite=Flite.find(flite2allison["flite"]), jobs=1)
    reasons = {u: r for _, u, r in s.failed}
    assert "no recording no-such-prompt.g722" in reasons["no-such-prompt"]
    assert "empty transcript" in reasons["hollow"]
    assert "untranscribed.g722: no transcript" in reasons["untranscribed"]
    assert "digits/5.g722" in reasons["digits_5"]
    assert all("\n" not in r for r in reasons.values())
    assert s.prepared["slt"] == ["agent-pass", "vm-goodbye"]  # a prompt counts only with both sides
    assert len((out / FAILED).read_text().splitlines()) == 4


def test_flite_not_found_and_failing(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(VawganError, match="flite not found on PATH"):
        Flite.find()
    with pytest.raises(VawganError, match="flite not found"):
        Flite.find(tmp_path)
    fake = tmp_path / "bin" / "flite"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\necho 'unknown voice' >&2\nexit 1\n")
    fake.chmod(0o755)
    with pytest.raises(VawganError, match=r"flite -voice slt failed \(exit 1: unknown voice\)"):
        Flite.find(tmp_path).speak("hello", "slt", tmp_path / "o.wav")
    assert not (tmp_path / "o.wav").exists() and not list(tmp_path.glob(".tmp-*"))


def test_unknown_voice_is_refused(flite2allison, tmp_path):
    text, rec = _corpus_inputs(flite2allison, tmp_path, prompts=("agent-pass",))
    with pytest.raises(VawganError, match="unknown flite voice 'kal'"):
        prepare_parallel_corpus(text, rec, tmp_path / "c", voices=("kal",), flite=Flite.find(flite2allison["flite"]))


def test_a_side_at_another_rate_is_left_out(flite2allison, tmp_path):
    text, rec = _corpus_inputs(flite2allison, tmp_path, prompts=("agent-pass",))
    s = prepare_parallel_corpus(text, rec, tmp_path / "c", voices=("slt",), flite=Flite.find(flite2allison["flite"]), fs=8000)
    reasons = {(side, u): r for side, u, r in s.failed}
    assert "decodes at 16000 Hz, the corpus is at 8000 Hz" in reasons[(NATURAL, "agent-pass")]
    assert "speaks at 16000 Hz, the corpus is at 8000 Hz" in reasons[("slt", "agent-pass")]
    assert s.prepared[NATURAL] == []


def test_cli_names_each_left_out_prompt_on_one_line(flite2allison, tmp_path):
    from typer.testing import CliRunner

    from vawgan_tts.cli.vawgan import app

    text, rec = _corpus_inputs(flite2allison, tmp_path, prompts=("agent-pass",), extra_lines="no-such-prompt: Hello.\n")
    r = CliRunner().invoke(app, ["parallel-corpus", str(text), "--recordings", str(rec), "-o", str(tmp_path / "c"),
                                 "--voice", "slt", "--flite", str(flite2allison["flite"]), "-j", "1"], terminal_width=80)
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    assert any(line.startswith("1 prompt on every side (natural, slt)") for line in lines)
    missing = [line for line in lines if "no-such-prompt" in line]
    assert len(missing) == 1 and missing[0].endswith("no recording no-such-prompt.g722 for this transcript")
    r = CliRunner().invoke(app, ["parallel-corpus", str(text), "--recordings", str(rec), "-o", str(tmp_path / "c"),
                                 "--flite", str(tmp_path / "nowhere")])
    assert r.exit_code == 2 and "flite not found" in r.output and "Traceback" not in r.output
