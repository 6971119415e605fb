"""`vawgan train`, `synth -m`, `report` end to end on a few real utterances with tiny epochs."""

import json
import re
from urllib.parse import unquote
from html.parser import HTMLParser

import pytest
from typer.testing import CliRunner

from vawgan_tts.cli.vawgan import app

runner = CliRunner()


def invoke(*args):
    result = runner.invoke(app, [str(a) for a in args])
    assert "Traceback" not in result.output, result.output
    return result


class _Refs(HTMLParser):
    def __init__(self):
        super().__init__()
        self.refs = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag in ("img", "audio", "source") and a.get("src"):
            self.refs.append(a["src"])
        if tag == "a" and a.get("href"):
            self.refs.append(a["href"])


@pytest.fixture(scope="module")
def feats(tmp_path_factory, allison_dir):
    root = tmp_path_factory.mktemp("cli_train")
    wavs = [allison_dir / f"{n}.wav" for n in ("vm-forward-multiple", "conf-onlyperson", "activated", "vm-goodbye", "privacy-prompt")]
    r = invoke("extract", *wavs, "-o", root / "feats", "--f0-method", "dio", "-j", "1")
    assert r.exit_code == 0, r.output
    (root / "train.ids").write_text("vm-forward-multiple\nconf-onlyperson\nactivated\n")
    (root / "eval.ids").write_text("vm-goodbye\nprivacy-prompt\n")
    return root


def test_train_stage_by_stage_then_report(feats, tmp_path):
    exp = tmp_path / "exp"
    common = ["--ids", feats / "train.ids", "--batch-size", "64"]
    r = invoke("train", feats / "feats", "-o", exp, "--stage", "adv", *common)
    assert r.exit_code == 2 and "needs stage 'critic' first" in r.output
    r = invoke("train", feats / "feats", "-o", exp, "--stage", "vae", "--vae-epochs", "2", *common)
    assert r.exit_code == 0, r.output
    r = invoke("train", feats / "feats", "-o", exp, "--stage", "critic", "--critic-epochs", "1", *common)
    assert r.exit_code == 0, r.output
    r = invoke("train", feats / "feats", "-o", exp, "--stage", "adv", "--adv-epochs", "1", *common)
    assert r.exit_code == 0, r.output
    cfg = (exp / "config.toml").read_text()
    assert "[vawgan]" in cfg and "vae_epochs = 2" in cfg and "adv_epochs = 1" in cfg and "[train]" in cfg
    for f in ("log.csv", "curves.png", "critic.png", "checkpoints/vae.pt", "checkpoints/critic.pt", "checkpoints/adv.pt"):
        assert (exp / f).is_file(), f
    header = (exp / "log.csv").read_text().splitlines()[0].split(",")
    for col in ("vae_loss", "adv_loss", "critic_loss", "d_real", "d_fake", "gp", "alpha"):
        assert col in header

    r = invoke("train", feats / "feats", "-o", exp, "--stage", "vae", *common)
    assert r.exit_code == 2 and "--overwrite" in r.output  # a finished run is not clobbered

    r = invoke("synth", feats / "feats", "-m", exp, "--system", "vawgan", "--ids", feats / "eval.ids", "-o", tmp_path / "vawgan")
    assert r.exit_code == 0, r.output
    assert sorted(p.name for p in (tmp_path / "vawgan").iterdir()) == [".vawgan-output.json",
        "privacy-prompt.npz", "privacy-prompt.wav", "vm-goodbye.npz", "vm-goodbye.wav"]

    report = tmp_path / "report"
    r = invoke("report", exp, "-o", report, "--ids", feats / "eval.ids", "--n-audio", "2", "-j", "1")
    assert r.exit_code == 0, r.output
    page = (report / "index.html").read_text()
    for system in ("copy", "vae (reference)", "vawgan", "gv-pf", "ms-pf"):
        assert f"<th>{system}</th>" in page
    parser = _Refs()
    parser.feed(page)
    assert len([s for s in parser.refs if s.endswith(".wav")]) == 2 * 6  # natural + 5 systems
    assert len([s for s in parser.refs if s.endswith(".png")]) == 5 + 2  # + each played utterance's figure
    used = {report / unquote(ref) for ref in parser.refs}
    assert all(p.is_file() for p in used), used
    # Shareable: nothing in the folder that the page does not use, besides the metrics it shows and the
    # record of what wrote the folder (outputs.py); no staged folder is left.
    shipped = {p for p in report.rglob("*") if p.is_file()}
    assert shipped - used == {report / "metrics.json", report / "index.html", report / ".vawgan-output.json"}, shipped - used
    assert (exp / "systems" / "vawgan" / "vm-goodbye.npz").is_file()  # the working files stay with the experiment
    assert re.search(r"<td[^>]*>\d+\.\d{3}<br><small>\[", page)  # a mean and its interval
    assert "p = " in page and "Provenance" in page and "vawgan-tts 0." in page
    metrics = json.loads((report / "metrics.json").read_text())
    assert metrics["provenance"]["config"] == (exp / "config.toml").read_text()
    assert metrics["settings"]["reference"] == "vae" and "p_vs_reference" in metrics["systems"]["vawgan"]

    # --systems and --show choose what is shown; an unknown one is one line.
    r = invoke("report", exp, "-o", tmp_path / "r2", "--ids", feats / "eval.ids", "--systems", "vae,gv-pf",
               "--show", "vm-goodbye", "-j", "1")
    assert r.exit_code == 0, r.output
    assert set(json.loads((tmp_path / "r2" / "metrics.json").read_text())["systems"]) == {"vae", "gv-pf"}
    assert sorted(p.name for p in (tmp_path / "r2" / "audio").iterdir()) == ["gv-pf", "natural", "vae"]
    # --checkpoint best reaches the systems: this run had no dev set, so there is no best epoch to use.
    r = invoke("report", exp, "-o", tmp_path / "r3", "--ids", feats / "eval.ids", "--systems", "vae",
               "--checkpoint", "best", "-j", "1")
    assert r.exit_code == 2 and "no best checkpoint of stage 'vae'" in " ".join(r.output.split()), r.output
    assert [p.name for p in (tmp_path / "r2" / "audio" / "vae").iterdir()] == ["vm-goodbye.wav"]
    r = invoke("report", exp, "-o", tmp_path / "r3", "--ids", feats / "eval.ids", "--systems", "vae,wavenet")
    assert r.exit_code == 2 and "wavenet not known here; choose from copy, vae" in " ".join(r.output.split())
    r = invoke("report", exp, "-o", tmp_path / "r4", "--ids", feats / "eval.ids", "--show", "nope")
    assert r.exit_code == 2 and "--show 'nope': not among the --ids prompts" in r.output
    assert not (tmp_path / "r4").exists()  # refused before any work


def test_dry_run_and_resume(feats, tmp_path):
    exp = tmp_path / "exp"
    r = invoke("train", feats / "feats", "-o", exp, "--dry-run", "--ids", feats / "train.ids")
    assert r.exit_code == 0, r.output
    assert "critic_loss" in r.output and not exp.exists()
    r = invoke("train", feats / "feats", "-o", exp, "--resume", "--ids", feats / "train.ids")
    assert r.exit_code == 2 and "nothing to resume" in r.output
    r = invoke("train", feats / "feats", "-o", exp, "--stage", "vae", "--vae-epochs", "1", "--ids", feats / "train.ids")
    assert r.exit_code == 0, r.output
    r = invoke("train", feats / "feats", "-o", exp, "--resume", "--ids", feats / "train.ids", "--vae-epochs", "1",
               "--critic-epochs", "1", "--adv-epochs", "1")
    assert r.exit_code == 0, r.output
    assert re.search(rf"resuming {re.escape(str(exp))}: stage 'critic', epoch 1 of 1, batch 0, step \d+", r.output), r.output


def test_bad_config_and_wrong_checkpoint(feats, tmp_path):
    conf = tmp_path / "c.toml"
    conf.write_text("[vawgan]\nlatnet = 3\n")
    r = invoke("train", feats / "feats", "-o", tmp_path / "e", "-c", conf)
    assert r.exit_code == 2 and "latnet" in r.output
    (tmp_path / "e2" / "checkpoints").mkdir(parents=True)
    (tmp_path / "e2" / "checkpoints" / "vae.pt").write_bytes(b"PK\x03\x04 truncated")
    r = invoke("synth", feats / "feats", "-m", tmp_path / "e2", "--system", "vae", "-o", tmp_path / "o")
    assert r.exit_code == 2 and "vae.pt" in r.output and "not a loadable checkpoint" in r.output


def test_training_refuses_a_folder_of_mixed_rates(feats, tmp_path, arctic_wav):
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    for p in (feats / "feats").glob("*.npz"):
        (mixed / p.name).write_bytes(p.read_bytes())
    r = invoke("extract", arctic_wav, "-o", tmp_path / "wide", "--f0-method", "dio", "-j", "1")
    assert r.exit_code == 0, r.output
    (mixed / "arctic.npz").write_bytes(next((tmp_path / "wide").glob("arctic*.npz")).read_bytes())
    (tmp_path / "all.ids").write_text("activated\nvm-goodbye\narctic\n")
    r = invoke("train", mixed, "-o", tmp_path / "exp", "--ids", tmp_path / "all.ids", "--dry-run")
    msg = " ".join(r.output.split())
    assert r.exit_code == 2, r.output
    assert "8000 Hz, α 0.312, 5 ms: 2 utterances" in msg and "16000 Hz, α 0.410, 5 ms: 1 utterance;" not in msg
    assert "16000 Hz, α 0.410, 5 ms: 1 utterance)" in msg
    assert "--fs" in msg and not (tmp_path / "exp").exists()


def test_report_from_another_folder_finds_the_features(feats, tmp_path, monkeypatch):
    monkeypatch.chdir(feats)  # train with a relative feature path ...
    exp = tmp_path / "exp"
    r = invoke("train", "feats", "-o", exp, "--ids", "train.ids", "--vae-epochs", "1", "--critic-epochs", "1",
               "--adv-epochs", "1", "--batch-size", "64")
    assert r.exit_code == 0, r.output
    assert f'feats = "{feats / "feats"}"' in (exp / "config.toml").read_text()
    monkeypatch.chdir(tmp_path)  # ... and synthesize with the post-filter (reads the features) elsewhere
    r = invoke("synth", feats / "feats", "-m", exp, "--system", "gv-pf", "--ids", feats / "eval.ids", "-o", "gv")
    assert r.exit_code == 0, r.output
    cfg = (exp / "config.toml").read_text().replace(str(feats / "feats"), str(tmp_path / "gone"))
    (exp / "config.toml").write_text(cfg)
    (exp / "postfilter_stats.npz").unlink()
    r = invoke("synth", feats / "feats", "-m", exp, "--system", "gv-pf", "--ids", feats / "eval.ids", "-o", "gv2")
    assert r.exit_code == 2 and f"tried {tmp_path / 'gone'}" in " ".join(r.output.split())


def test_dev_set_loss_per_epoch_and_best_checkpoints(feats, tmp_path):
    from vawgan_tts.runs.vawgan import DataConfig, split_dev

    ids = [f"u{i:02d}" for i in range(25)]
    train, dev = split_dev(ids, DataConfig(dev_share=0.1))
    assert dev == ["u09", "u19"] and len(train) == 23 and not set(train) & set(dev)
    assert split_dev(ids[:9], DataConfig(dev_share=0.1)) == (ids[:9], [])  # too few to spare one
    assert split_dev(ids, DataConfig(dev_ids=("u03",)))[1] == ["u03"]

    exp = tmp_path / "exp"
    (tmp_path / "dev.ids").write_text("vm-goodbye\n")
    r = invoke("train", feats / "feats", "-o", exp, "--ids", feats / "train.ids", "--dev-ids", tmp_path / "dev.ids",
               "--vae-epochs", "3", "--critic-epochs", "1", "--adv-epochs", "2", "--batch-size", "64")
    assert r.exit_code == 0, r.output
    import json

    epochs = json.loads((exp / "dev.json").read_text())["epochs"]
    assert [(e["stage"], e["epoch"]) for e in epochs] == [("vae", 1), ("vae", 2), ("vae", 3), ("critic", 1),
                                                         ("adv", 1), ("adv", 2)]
    vae_losses = [e["dev_loss"] for e in epochs if e["stage"] == "vae"]
    assert vae_losses[-1] < vae_losses[0]  # the VAE learns what it was not trained on
    assert all(k in epochs[0] for k in ("dev_nll", "dev_kl", "dev_w_distance", "step"))
    for stage in ("vae", "adv"):
        assert (exp / "checkpoints" / f"{stage}_best.pt").is_file()
    assert not (exp / "checkpoints" / "critic_best.pt").exists()
    assert 'dev_ids = [\n    "vm-goodbye",\n]' in (exp / "config.toml").read_text()
    for which in ("best", "last"):
        r = invoke("synth", feats / "feats", "-m", exp, "--system", "gv-pf", "--checkpoint", which, "--ids",
                   feats / "eval.ids", "-o", tmp_path / which)
        assert r.exit_code == 0, r.output
    assert (exp / "postfilter_stats_vae_best.npz").is_file() and (exp / "postfilter_stats.npz").is_file()
    none = tmp_path / "nodev"
    r = invoke("train", feats / "feats", "-o", none, "--ids", feats / "train.ids", "--stage", "vae", "--vae-epochs", "1")
    assert r.exit_code == 0 and not (none / "dev.json").exists()  # 3 utterances: no dev share to spare
    r = invoke("synth", feats / "feats", "-m", none, "--system", "vae", "--checkpoint", "best", "-o", tmp_path / "x")
    assert r.exit_code == 2 and "no best checkpoint of stage 'vae'" in " ".join(r.output.split())
