"""The Allison recipe's data stage: deterministic lists over the real corpus."""

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RECIPE = REPO / "recipes/allison_8k"


def test_make_lists_is_deterministic_and_disjoint(allison_dir, flite2allison, tmp_path):
    cmd = [sys.executable, str(RECIPE / "local/make_lists.py"), str(allison_dir), str(flite2allison["transcripts"])]
    for out in ("a", "b"):
        r = subprocess.run(cmd + [str(tmp_path / out)], capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
    assert "eval=56 dev=56 train=441 prompts=553" in r.stdout
    splits = {}
    for name in ("train", "dev", "eval"):
        a = (tmp_path / "a" / f"{name}.ids").read_text()
        assert a == (tmp_path / "b" / f"{name}.ids").read_text()
        splits[name] = set(a.split())
    assert not (splits["train"] & splits["dev"]) and not (splits["train"] & splits["eval"])
    scp = (tmp_path / "a" / "wav.scp").read_text().splitlines()
    assert len(scp) == 553 and all(Path(line.split("\t")[1]).is_file() for line in scp[:20])
    assert not any("silence_" in line for line in scp)
    ids = {line.split("\t")[0] for line in scp}
    assert not ids & {"ascending-2tone", "descending-2tone", "beep", "beeperr", "tt-monkeys"}  # not speech


def test_run_sh_rejects_unknown_option():
    r = subprocess.run([str(RECIPE / "run.sh"), "--bogus"], capture_output=True, text=True)
    assert r.returncode == 2 and "unknown option --bogus" in r.stderr


def test_ja_en_pairs_from_the_real_edict(tmp_path):
    from vawgan_tts.data.text import read_pairs_tsv

    edict = REPO / "downloads/edict/root/usr/share/edict/edict"
    out = tmp_path / "pairs.tsv"
    r = subprocess.run([sys.executable, str(REPO / "recipes/ja_en_edict/local/make_pairs.py"), str(edict), str(out)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    pairs = read_pairs_tsv(out)
    assert len(pairs) > 15000 and len(set(pairs)) == len(pairs)
    assert ("10分の1", "tenth") in pairs  # full-width digits normalized (NFKC)


def test_every_recipe_rejects_unknown_options():
    for recipe in ("g2p_cmudict", "ja_en_edict", "toy_25gauss", "fashion_mnist"):
        r = subprocess.run([str(REPO / "recipes" / recipe / "run.sh"), "--bogus"], capture_output=True, text=True)
        assert r.returncode == 2 and "unknown option --bogus" in r.stderr, recipe


def test_results_merge_one_configuration_into_the_table(tmp_path):
    """A run of one configuration (the demo's) adds its section; the committed ones stay."""
    import json
    import shutil

    work = tmp_path / "recipe"
    (work / "conf").mkdir(parents=True)
    shutil.copy(RECIPE / "RESULTS.md", work / "RESULTS.md")
    before = (RECIPE / "RESULTS.md").read_text()
    report = work / "exp" / "demo" / "report"
    report.mkdir(parents=True)
    (report / "metrics.json").write_text(json.dumps({"settings": {"utterances": 3}, "systems": {
        "vae": {"gv_distance": 1.0, "ms_distance": 2.0, "mcd_db": 3.0, "gv_ratio": 0.5}}}))
    r = subprocess.run([sys.executable, str(RECIPE / "local/results.py")], cwd=work, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    after = (work / "RESULTS.md").read_text()
    for section in before.split("\n## ")[1:]:
        if not section.startswith("`conf/demo.toml`\n"):  # the one this run replaces
            assert section in after
    assert "## `conf/demo.toml`" in after and "| vae | 1.000 | 2.000 | 3.000 | 0.500 |" in after
