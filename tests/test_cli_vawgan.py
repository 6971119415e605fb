"""`vawgan` through typer's CliRunner: the paths users take, including the failure paths."""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from vawgan_tts.cli.vawgan import app
from conftest import write_broken_files

runner = CliRunner()


def invoke(*args):
    result = runner.invoke(app, [str(a) for a in args])
    assert "Traceback" not in result.output, result.output
    return result


def test_extract_synth_eval_end_to_end(allison_few, tmp_path):
    feats, wavs, refeats = tmp_path / "feats", tmp_path / "copy", tmp_path / "copy_feats"
    r = invoke("extract", allison_few, "-o", feats, "--f0-method", "dio", "--jobs", "2")
    assert r.exit_code == 0, r.output
    assert "extracted" in r.output and len(list(feats.glob("*.npz"))) == 6 + 1  # + stats.npz
    r = invoke("synth", feats, "-o", wavs, "--copy")
    assert r.exit_code == 0, r.output
    assert len(list(wavs.glob("*.wav"))) == 6
    r = invoke("extract", wavs, "-o", refeats, "--f0-method", "dio", "-j", "1")
    assert r.exit_code == 0, r.output
    r = invoke("eval", "--natural", feats, "--generated", f"copy={refeats}", "-o", tmp_path / "eval")
    assert r.exit_code == 0, r.output
    m = json.loads((tmp_path / "eval" / "metrics.json").read_text())["systems"]["copy"]
    assert 0.5 < m["mcd_db"] < 6.0 and m["utterances"] == 6
    assert "MCD" in r.output


def test_extract_with_broken_files_exits_1_and_names_each(allison_few, tmp_path):
    reasons = write_broken_files(allison_few / "broken")
    r = invoke("extract", allison_few, "-o", tmp_path / "feats", "--f0-method", "dio", "-j", "2")
    assert r.exit_code == 1
    failed = (tmp_path / "feats" / "failed.tsv").read_text()
    for utt, words in reasons.items():
        assert f"{utt}.wav" in r.output.replace("\n", "").replace(" ", "") or utt in failed
        line = next(ln for ln in failed.splitlines() if ln.startswith(f"broken_{utt}\t"))
        assert words in line
    assert len(list((tmp_path / "feats").glob("*.npz"))) == 6 + 1


@pytest.mark.parametrize(
    "args, message",
    [
        (["extract", "nowhere/", "-o", "x"], "no such file or folder"),
        (["synth", "nowhere", "-o", "x", "--system", "vae"], "needs a trained model"),
        (["eval", "--natural", "nowhere", "--generated", "a=b", "-o", "x"], "no such folder"),
        (["eval", "--natural", ".", "--generated", "ab", "-o", "x"], "NAME=DIR"),
        (["extract", "x.wav"], "Missing option"),
        (["extract", ".", "-o", "x", "--f0-method", "yin"], "yin"),
        (["eval", "--natural", ".", "--generated", "a=x", "--generated", "a=y", "-o", "e"], "already given to x"),
        (["train", ".", "-o", "x", "--seed", "-1"], "--seed"),
        (["train-postfilter", ".", ".", "-o", "x", "--ids", "ids", "--sweep", "abc"], "--sweep"),
        (["train-postfilter", ".", ".", "-o", "x", "--ids", "ids", "--vae-only", "--sweep", "0.1"],
         "--vae-only trains no adversarial stage, and --sweep trains it"),
    ],
)
def test_bad_usage_exits_2_with_one_clear_line(args, message, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    r = invoke(*args)
    assert r.exit_code == 2, r.output
    assert message in r.output


def test_extract_config_file_and_override(allison_few, tmp_path):
    conf = tmp_path / "c.toml"
    conf.write_text('[extract]\nf0_method = "dio"\nf0_floor = 80.0\n')
    r = invoke("extract", allison_few / "activated.wav", "-o", tmp_path / "f", "-c", conf, "--fs", "16000")
    assert r.exit_code == 0, r.output
    conf.write_text('[extract]\nf0_metod = "dio"\n')
    r = invoke("extract", allison_few / "activated.wav", "-o", tmp_path / "g", "-c", conf)
    assert r.exit_code == 2 and "f0_metod" in r.output


@pytest.mark.parametrize("command", [
    ["synth", "{feats}", "-o", "{tmp}/s", "--copy"],
    ["eval", "--natural", "{feats}", "--generated", "a={feats}", "-o", "{tmp}/e"],
    ["train", "{feats}", "-o", "{tmp}/x"],
    ["report", "{tmp}/x", "-o", "{tmp}/r"],
])
def test_an_empty_or_missing_id_list_is_one_line_everywhere(command, tmp_path):
    feats = tmp_path / "feats"
    feats.mkdir()
    empty = tmp_path / "empty.ids"
    empty.write_text("# nothing but a comment\n\n")
    fill = {"feats": feats, "tmp": tmp_path}
    args = [a.format(**fill) for a in command]
    r = invoke(*args, "--ids", empty)
    assert r.exit_code == 2 and f"{empty}: the id list is empty" in " ".join(r.output.split())
    r = invoke(*args, "--ids", tmp_path / "missing.ids")
    assert r.exit_code == 2 and "missing.ids: cannot read id list" in " ".join(r.output.split())


def test_enhance_refuses_options_an_enhancement_vawgan_does_not_have(tmp_path):
    """--adv-weight, --z and --spread-crop belong to a pair post-filter; with an enhancement VAWGAN they were
    dropped."""
    import shutil

    old = Path(__file__).parent / "data" / "experiments"
    exp = tmp_path / "vawgan"
    shutil.copytree(old / "vawgan", exp)
    for extra, word in ((["--adv-weight", "0.5"], "--adv-weight"), (["--z", "prior"], "--z"),
                        (["--spread-crop", "256"], "--spread-crop")):
        r = runner.invoke(app, ["enhance", str(old / "inputs" / "feats8k"), "-m", str(exp), "-o", str(tmp_path / "out"), *extra])
        assert r.exit_code == 2 and word in r.output and "enhancement VAWGAN" in r.output, r.output
        assert not (tmp_path / "out").exists()


def test_a_ctrl_c_wrapped_in_another_error_is_an_interruption_and_a_bug_stays_a_bug():
    import typer

    from cli.common import EXIT_INTERRUPTED, handle_errors

    class Interrupts:
        def __set_name__(self, owner, name):
            raise KeyboardInterrupt  # as a Ctrl-C landing while matplotlib's classes are built

    @handle_errors
    def importing():
        class Built:  # Python 3.11 re-raises the interrupt as RuntimeError, caused by it
            x = Interrupts()

    @handle_errors
    def buggy():
        raise RuntimeError("a bug")

    with pytest.raises(typer.Exit) as e:
        importing()
    assert e.value.exit_code == EXIT_INTERRUPTED
    with pytest.raises(RuntimeError, match="a bug"):
        buggy()
