"""The recipes' scripts on real prompts: the Allison recipe's lists, the flite → Allison recipe's
local/ scripts."""

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch

from vawgan_tts.feature_folder import load_utterance

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


TINY_DNN = '[train]\nbatch_size = 64\nseed = 0\n\n[dnn]\nhidden = 16\nlayers = 1\nepochs = 1\nrounds = 1\n'
# A tiny conv pair post-filter with one epoch per stage (recipe scripts that train or continue one).
TINY_PF = ('[train]\nseed = 0\n\n[postfilter]\narch = "conv"\nresidual = true\nlatent = 2\nchannels = [8]\n'
           'kernel = 3\ndilations = [1]\ncritic_channels = [4, 4]\ncritic_scales = []\ncritic_modulation = [16]\n'
           'segment = 32\nsegments_per_batch = 4\nvae_epochs = 1\ncritic_epochs = 1\nadv_epochs = 1\n'
           'adv_balance = "fixed"\nadv_weight = 0.0\nspread_taps = 9\nspread_likelihood = 1.0\n')


def recipe_workdir(parallel, tmp_path, lists: dict[str, list[str]], **env):
    """A flite → Allison recipe folder over the real prompts' features: dump/slt and dump/natural,
    lists/<name>.ids, tiny.toml (a tiny DNN); and ``run(*args, **more_env)``, which runs a command in it
    with VAWGAN pointing at this interpreter's vawgan and one thread."""
    import os

    work = tmp_path / "recipe"
    (work / "dump").mkdir(parents=True)
    (work / "dump/slt").symlink_to(parallel[0])
    (work / "dump/natural").symlink_to(parallel[1])
    (work / "lists").mkdir()
    for name, ids in lists.items():
        (work / f"lists/{name}.ids").write_text("\n".join(ids) + "\n")
    (work / "tiny.toml").write_text(TINY_DNN)
    vawgan = tmp_path / "vawgan"
    vawgan.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m vawgan_tts "$@"\n')
    vawgan.chmod(0o755)
    base = {**os.environ, "VAWGAN": str(vawgan), "OMP_NUM_THREADS": "1", **env}

    def run(*args, **more):
        return subprocess.run(args, cwd=work, env={**base, **more}, capture_output=True, text=True)

    return work, str(vawgan), run


def test_cross_fit_converts_each_training_prompt_with_a_dnn_that_did_not_train_on_it(parallel, tmp_path):
    """local/cross_fit.sh on the eight real prompts (six training, two dev), two folds of a tiny DNN:
    every training prompt in converted_oof is its fold DNN's output and that DNN's training ids leave it
    out; the dev prompts are the full DNN's; a rerun trains nothing again, one with other folds trains
    them again; without stage 6's output the script stops with one line."""
    import tomllib

    from conftest import PARALLEL_PROMPTS

    script = REPO / "recipes/flite2allison_16k/local/cross_fit.sh"
    train, dev = list(PARALLEL_PROMPTS[:6]), list(PARALLEL_PROMPTS[6:])
    work, vawgan, run = recipe_workdir(parallel, tmp_path, {"train": train, "dev": dev}, CONF="tiny.toml")

    r = run(str(script), "slt", "2")
    assert r.returncode == 2 and r.stderr.strip().count("\n") == 0 and "converted_train missing" in r.stderr
    # Stage 2's DNN and stage 6's conversions of the training and dev prompts, as run.sh makes them.
    (work / "train_dev.ids").write_text("\n".join(train + dev) + "\n")
    for args in (("train-converter", "dump/slt", "dump/natural", "-o", "exp/slt", "--ids", "lists/train.ids",
                  "--dev-ids", "lists/dev.ids", "--config", "tiny.toml"),
                 ("convert", "dump/slt", "-m", "exp/slt", "--ids", "train_dev.ids", "-o", "exp/slt/converted_train")):
        r = run(vawgan, *args)
        assert r.returncode == 0, r.stderr
    (work / "exp/slt/converted_train/.complete").touch()

    r = run(str(script), "slt", "2")
    assert r.returncode == 0, r.stderr
    oof = work / "exp/slt/converted_oof"
    assert (oof / ".complete").is_file()
    assert sorted(p.stem for p in oof.glob("*.npz")) == sorted(train + dev)
    held_by_fold = []
    for k in range(2):
        fold = work / f"exp/slt/crossfit/fold{k}"
        held = (work / f"exp/slt/crossfit/fold{k}.held.ids").read_text().split()
        trained_on = tomllib.loads((fold / "config.toml").read_text())["data"]["ids"]
        assert held == train[k::2] and sorted(trained_on) == sorted(set(train) - set(held))
        for u in held:
            assert (oof / f"{u}.npz").read_bytes() == (fold / f"converted/{u}.npz").read_bytes()
        held_by_fold += held
    assert sorted(held_by_fold) == sorted(train)
    for u in dev:
        assert (oof / f"{u}.npz").read_bytes() == (work / f"exp/slt/converted_train/{u}.npz").read_bytes()
    assert any((oof / f"{u}.npz").read_bytes() != (work / f"exp/slt/converted_train/{u}.npz").read_bytes()
               for u in train)  # held-out conversions are not the in-sample ones
    stamp = (work / "exp/slt/crossfit/fold0/config.toml").stat().st_mtime_ns
    r = run(str(script), "slt", "2")
    assert r.returncode == 0 and (work / "exp/slt/crossfit/fold0/config.toml").stat().st_mtime_ns == stamp
    # Three folds hold out other prompts: fold 0 is trained again, and the merge has every prompt once more.
    r = run(str(script), "slt", "3")
    assert r.returncode == 0, r.stderr
    assert (work / "exp/slt/crossfit/fold0/config.toml").stat().st_mtime_ns != stamp
    assert tomllib.loads((work / "exp/slt/crossfit/fold0/config.toml").read_text())["data"]["ids"] == train[1:3] + train[4:]
    assert sorted(p.stem for p in oof.glob("*.npz")) == sorted(train + dev)


def test_mean_postfilter_trains_pm_on_the_dnn_output_and_scores_it_beside_stage_8(parallel, tmp_path):
    """local/mean_postfilter.sh on the eight real prompts (four training, two dev, two eval), tiny
    models: without stage 6's output, or with a post-filter config whose tag names PM's folders, it
    stops with one line; PM learns from the DNN's output (not the
    flite source), the post-filter from PM's output; without stage 8 the dev split is scored beside the
    DNN's own GV and MS post-filters, which equal stage 8's, and with it beside stage 8's; a rerun trains
    nothing; SPLITS= trains and scores nothing more."""
    import tomllib

    from conftest import PARALLEL_PROMPTS

    recipe = REPO / "recipes/flite2allison_16k/local"
    train, dev, test = list(PARALLEL_PROMPTS[:4]), list(PARALLEL_PROMPTS[4:6]), list(PARALLEL_PROMPTS[6:])
    work, vawgan, run = recipe_workdir(parallel, tmp_path, {"train": train, "dev": dev, "eval": test})
    (work / "postfilter_tiny.toml").write_text(TINY_PF)

    mean_pf = (str(recipe / "mean_postfilter.sh"), "slt", "0", "1", "tiny.toml", "postfilter_tiny.toml")
    r = run(*mean_pf)
    assert r.returncode == 2 and r.stderr.strip().count("\n") == 0 and "run stage 6 first" in r.stderr
    (work / "postfilter_conv_traj_ens.toml").write_text((work / "postfilter_tiny.toml").read_text())
    r = run(*mean_pf[:5], "postfilter_conv_traj_ens.toml")  # its folders would be PM's, emptied by --overwrite
    assert r.returncode == 2 and r.stderr.strip().count("\n") == 0 and "names PM's folders" in r.stderr
    # Stage 2's DNN, stage 6's conversions (as run.sh makes them) and stage 8's statistical post-filters.
    (work / "exp/slt").mkdir(parents=True)
    (work / "exp/slt/train_dev.ids").write_text("\n".join(train + dev) + "\n")
    for args in (("train-converter", "dump/slt", "dump/natural", "-o", "exp/slt", "--ids", "lists/train.ids",
                  "--dev-ids", "lists/dev.ids", "--config", "tiny.toml"),
                 ("convert", "dump/slt", "-m", "exp/slt", "--ids", "exp/slt/train_dev.ids", "-o", "exp/slt/converted_train"),
                 ("convert", "dump/slt", "-m", "exp/slt", "--ids", "lists/eval.ids", "-o", "exp/slt/converted_eval")):
        r = run(vawgan, *args)
        assert r.returncode == 0, r.stderr
    for d in ("converted_train", "converted_eval"):
        (work / f"exp/slt/{d}/.complete").touch()
    r = run(*mean_pf, SPLITS="dev")  # no stage 8: the DNN's own GV and MS post-filters stand beside
    assert r.returncode == 0, r.stderr
    pm = work / "exp/slt/pm"
    assert set(json.loads((pm / "dev/eval/metrics.json").read_text())["systems"]) >= {"dnn+gv-pf", "dnn+ms-pf"}
    stamps = [(pm / f"{m}/config.toml").stat().st_mtime_ns for m in ("conv_traj_ens-s0", "tiny-s0")]
    r = run(str(recipe / "seq_postfilter.sh"), "slt", "postfilter_tiny.toml", "0", "1", SPLITS="dev")
    assert r.returncode == 0, r.stderr
    for m in ("gv-pf", "ms-pf"):  # the same statistics of the same training prompts: the same output as stage 8's
        for u in dev:
            np.testing.assert_allclose(load_utterance(pm / f"dev/dnn+{m}", u).mcep,
                                       load_utterance(work / f"exp/slt/pfconv/dev/dnn+{m}", u).mcep, atol=1e-5)

    r = run(*mean_pf, SPLITS="dev")  # now beside stage 8's; nothing is trained again
    assert r.returncode == 0, r.stderr
    table = run(sys.executable, str(recipe / "pm_results.py"), "dev", "slt")  # every seed, against the references
    assert table.returncode == 0, table.stderr
    systems = json.loads((pm / "dev/eval/metrics.json").read_text())["systems"]
    m, ms_pf = systems["pm+tiny-s0"], systems["dnn+ms-pf"]
    cells = next(line for line in table.stdout.splitlines() if line.startswith("| pm+tiny, seed 0 |")).split(" | ")
    assert cells[1:3] == [f"{m['mcd_db']:.3f}", f"{m['gv_ratio']:.3f}"]
    wins = (0.9 <= m["gv_ratio"] <= 1.1 and m["ms_distance"] < ms_pf["ms_distance"] and m["mcd_db"] <= ms_pf["mcd_db"]
            and m["frechet_distance"] < min(ms_pf["frechet_distance"], systems["dnn+gv-pf"]["frechet_distance"]))
    assert cells[-1].startswith("yes" if wins else "no: ")
    assert "| dnn+ms-pf | " in table.stdout and "| pm, seed 0 | " in table.stdout
    need = run(sys.executable, str(recipe / "needed_gain.py"), "dump/natural", "exp/slt/train_dev.ids",
               "exp/slt/pm/converted_train-s0")  # per band, the gain PM's output needs against its own level
    assert need.returncode == 0, need.stderr
    rows = [line for line in need.stdout.splitlines() if line.startswith("| ") and line[2].isdigit()]
    assert [r.split(" | ")[0] for r in rows] == ["| 0.3–1.5", "| 1.5–4", "| 4–10", "| 10–30", "| 30–100"]
    where = run(sys.executable, str(recipe / "regions.py"), "dump/natural", "exp/slt/train_dev.ids",
                "pm=exp/slt/pm/converted_train-s0")  # all the prompts, then each length group that has some
    assert where.returncode == 0, where.stderr
    titles = [line for line in where.stdout.splitlines() if "prompts" in line]
    assert titles[0].startswith(f"{len(train + dev)} prompts;") and len(titles) >= 2
    assert sum(int(t.split()[0]) for t in titles[1:]) == len(train + dev)
    r = run(sys.executable, str(recipe / "needed_gain.py"), "dump/natural", "lists/dev.ids", "exp/slt/pm/nothing")
    assert r.returncode == 1 and r.stderr.strip().count("\n") == 0 and "exp/slt/pm/nothing" in r.stderr
    r = run(sys.executable, str(recipe / "pm_results.py"), "eval", "slt")  # no eval split scored yet
    assert r.returncode == 1 and r.stderr.strip().count("\n") == 0 and "exp/slt/pm/eval" in r.stderr
    assert [(pm / f"{m}/config.toml").stat().st_mtime_ns for m in ("conv_traj_ens-s0", "tiny-s0")] == stamps
    data = tomllib.loads((pm / "conv_traj_ens-s0/config.toml").read_text())["data"]
    assert Path(data["source"]).resolve() == (work / "exp/slt/converted_train").resolve()  # the DNN's output
    assert sorted(data["ids"]) == sorted(train)
    assert sorted(p.stem for p in (pm / "converted_train-s0").glob("*.npz")) == sorted(train + dev)
    assert sorted(p.stem for p in (pm / "converted_eval-s0").glob("*.npz")) == sorted(test)
    pf_data = tomllib.loads((pm / "tiny-s0/config.toml").read_text())["data"]
    assert Path(pf_data["system"]).resolve() == (pm / "converted_train-s0").resolve()
    metrics = json.loads((pm / "dev/eval/metrics.json").read_text())
    assert metrics["settings"]["utterances"] == len(dev)
    assert set(metrics["systems"]) == {"dnn", "dnn+gv-pf", "dnn+ms-pf", "pm-s0", "pm+tiny-s0", "pm+gv-pf-s0",
                                       "pm+ms-pf-s0"}
    assert not (pm / "eval").exists()
    for u in dev:  # PM changes the DNN's output, and the post-filter PM's
        assert (pm / f"converted_train-s0/{u}.npz").read_bytes() != (work / f"exp/slt/converted_train/{u}.npz").read_bytes()
        assert (pm / f"dev/pm+tiny-s0/{u}.npz").read_bytes() != (pm / f"converted_train-s0/{u}.npz").read_bytes()
    stamps = [(pm / f"{m}/config.toml").stat().st_mtime_ns for m in ("conv_traj_ens-s0", "tiny-s0")]
    r = run(*mean_pf, SPLITS="")
    assert r.returncode == 0, r.stderr
    assert [(pm / f"{m}/config.toml").stat().st_mtime_ns for m in ("conv_traj_ens-s0", "tiny-s0")] == stamps
    assert not (pm / "eval").exists() and (pm / "dev/eval/metrics.json").is_file()


def test_adv_again_runs_the_adversarial_stage_again_and_refuses_an_unfinished_experiment(parallel, tmp_path):
    """local/adv_again.py on a tiny pair post-filter trained on four real prompts: with a setting that
    changes the critic's view it trains the critic and adversarial stages again into OUT, whose config
    carries the new settings, and whose every stage `vawgan enhance` applies (the VAE stage's checkpoint,
    copied, says the new critic's shape too); an experiment without its post-filter statistics (one still training) is
    refused in one line before OUT, which holds an earlier run, is touched, as is a thread count that is not one;
    OUT/train.time records the stages' seconds and threads. With --keep-epochs each adversarial epoch is kept,
    the last equal to the run's; local/epoch_models.py makes post-filter folders of an epoch and of the mean of
    a span (the generator's parameters averaged, the critic the last's) that `vawgan enhance` applies, and
    refuses, in one line and writing nothing, an epoch not kept or a span that is not one; so does adv_again.py a
    setting it does not know, a value of the wrong kind, or epochs that are not a number."""
    import tomllib

    from conftest import PARALLEL_PROMPTS

    train, dev = list(PARALLEL_PROMPTS[:4]), list(PARALLEL_PROMPTS[4:6])
    work, vawgan, run = recipe_workdir(parallel, tmp_path, {"train": train, "dev": dev})
    (work / "pf.toml").write_text(TINY_PF)
    r = run(vawgan, "train-postfilter", "dump/slt", "dump/natural", "-o", "exp/pf", "--ids", "lists/train.ids",
            "--config", "pf.toml")
    assert r.returncode == 0, r.stderr
    adv_again = (sys.executable, str(REPO / "recipes/flite2allison_16k/local/adv_again.py"))
    new_critic = ("critic_speech_only=true", "critic_modulation=16,32", "spread_likelihood=0.5")
    r = run(*adv_again, "exp/pf", "exp/again", "2", "--keep-epochs", *new_critic)
    assert r.returncode == 0, r.stderr
    # With a new critic only the VAE stage is read: trained alone (critic and adversarial stages of 0
    # epochs; the critic's epochs then given here), it gives the same run to the bit, so what the run
    # discards need not be trained.
    r = run(vawgan, "train-postfilter", "dump/slt", "dump/natural", "-o", "exp/pf_vae", "--ids", "lists/train.ids",
            "--config", "pf.toml", "--vae-only")
    assert r.returncode == 0, r.stderr
    cfg = tomllib.loads((work / "exp/pf_vae/config.toml").read_text())["postfilter"]
    assert (cfg["vae_epochs"], cfg["critic_epochs"], cfg["adv_epochs"]) == (1, 0, 0)
    r = run(*adv_again, "exp/pf_vae", "exp/again_vae", "2", *new_critic)  # the critic stage's length not given
    assert r.returncode == 1 and "trained its VAE stage alone (critic_epochs = 0)" in r.stderr, r.stderr
    assert not (work / "exp/again_vae").exists()
    r = run(*adv_again, "exp/pf_vae", "exp/again_vae", "2", "critic_epochs=1", *new_critic)
    assert r.returncode == 0, r.stderr
    alone = torch.load(work / "exp/again_vae/checkpoints/adv.pt", weights_only=False)["model"]
    kept = [torch.load(work / f"exp/again/epochs/adv-e0{e}.pt", weights_only=False)["model"] for e in (1, 2)]
    last = torch.load(work / "exp/again/checkpoints/adv.pt", weights_only=False)["model"]
    assert sorted(p.name for p in (work / "exp/again/epochs").iterdir()) == ["adv-e01.pt", "adv-e02.pt"]
    for part in last:  # the last epoch kept is the run's adversarial stage; the first differs from it
        assert all(torch.equal(v, kept[1][part][k]) for k, v in last[part].items())
        assert all(torch.equal(v, alone[part][k]) for k, v in last[part].items())
    assert not all(torch.equal(v, kept[0]["vae"][k]) for k, v in last["vae"].items())
    cfg = tomllib.loads((work / "exp/again/config.toml").read_text())["postfilter"]
    assert (cfg["critic_speech_only"], cfg["spread_likelihood"], cfg["adv_epochs"]) == (True, 0.5, 2)
    assert {"critic.pt", "adv.pt"} <= {p.name for p in (work / "exp/again/checkpoints").iterdir()}
    assert re.fullmatch(r"train \d+ s \(critic\+adv, 1 threads\)\n", (work / "exp/again/train.time").read_text())
    for method in ("gv-pf", "vawgan"):  # the copied VAE stage's checkpoint fits the new critic's config too
        r = run(vawgan, "enhance", "dump/slt", "-m", "exp/again", "--method", method, "--ids", "lists/dev.ids",
                "-o", f"exp/again_{method}")
        assert r.returncode == 0, r.stderr
        assert len(list((work / f"exp/again_{method}").glob("*.npz"))) == len(dev)
    epoch_models = (sys.executable, str(REPO / "recipes/flite2allison_16k/local/epoch_models.py"))
    r = run(*epoch_models, "exp/again", "exp/epochs", "1", "1-2")
    assert r.returncode == 0, r.stderr
    avg = torch.load(work / "exp/epochs/avg1-2/checkpoints/adv.pt", weights_only=False)["model"]
    for part in ("vae", "spread"):  # each parameter the mean of the two epochs'; the critic is the last's
        for k, v in avg[part].items():
            torch.testing.assert_close(v, (kept[0][part][k] + kept[1][part][k]) / 2)
    assert all(torch.equal(v, kept[1]["critic"][k]) for k, v in avg["critic"].items())
    assert json.loads((work / "exp/epochs/avg1-2/epoch_models.json").read_text())["epochs"] == [1, 2]
    first = torch.load(work / "exp/epochs/e01/checkpoints/adv.pt", weights_only=False)["model"]
    assert all(torch.equal(v, kept[0]["vae"][k]) for k, v in first["vae"].items())
    outs = {}
    for name in ("e01", "avg1-2"):  # each folder is a post-filter `vawgan enhance` applies, and they differ
        r = run(vawgan, "enhance", "dump/slt", "-m", f"exp/epochs/{name}", "--ids", "lists/dev.ids",
                "-o", f"exp/pf_{name}")
        assert r.returncode == 0, r.stderr
        outs[name] = np.load(work / f"exp/pf_{name}/{dev[0]}.npz")["mcep"]
    assert not np.allclose(outs["e01"], outs["avg1-2"])
    r = run(vawgan, "enhance", "dump/slt", "-m", "exp/epochs/avg1-2", "--method", "vae", "--ids", "lists/dev.ids",
            "-o", "exp/pf_avg_vae")  # the folder holds the run's VAE stage too
    assert r.returncode == 0, r.stderr
    (work / "exp/epochs/e02").mkdir()
    (work / "exp/epochs/e02/notes.txt").write_text("mine")  # not a post-filter folder: kept, and refused
    shutil.copytree(work / "exp/pf", work / "exp/epochs/avg1-1")  # a trained post-filter, not made here: refused
    made = sorted(p.name for p in (work / "exp/epochs").rglob("*"))
    for items, says in ((["3"], "epoch 3 was not kept (kept: 1–2)"), (["2-1"], "give an epoch NN or a span A-B"),
                        (["1", "x"], "give an epoch NN or a span A-B"),
                        (["1", "2"], "exp/epochs/e02 holds something this script did not make"),
                        (["1-1"], "exp/epochs/avg1-1 holds something this script did not make")):
        r = run(*epoch_models, "exp/again", "exp/epochs", *items)
        assert r.returncode == 1 and says in r.stderr and r.stderr.strip().count("\n") == 0, r.stderr
        assert sorted(p.name for p in (work / "exp/epochs").rglob("*")) == made
    shutil.copytree(work / "exp/again", work / "exp/nest/e01/run")  # OUT/e01 would hold RUN itself
    r = run(*epoch_models, "exp/nest/e01/run", "exp/nest", "1")
    assert r.returncode == 1 and "exp/nest/e01 would be replaced, and it holds exp/nest/e01/run" in r.stderr, r.stderr
    assert (work / "exp/nest/e01/run/epochs/adv-e01.pt").is_file()
    before = sorted(p.name for p in (work / "exp/again").rglob("*"))
    for args, says in ((["1", "nosuch=1"], "'nosuch=1': not KEY=VALUE of a [postfilter] setting"),
                       (["1", "spread_lr=fast"], "'fast' is not a value of spread_lr"),
                       (["two"], "ADV_EPOCHS 'two': not a number of epochs"),
                       (["1", "spread_edges=sideways"],
                        "adv_again.py: the command line: [postfilter] spread_edges = 'sideways': choose")):
        r = run(*adv_again, "exp/pf", "exp/again", *args)
        assert r.returncode == 1 and says in r.stderr and r.stderr.strip().count("\n") == 0, r.stderr
    assert sorted(p.name for p in (work / "exp/again").rglob("*")) == before
    r = run(*adv_again, "exp/pf", "exp/again", "1", OMP_NUM_THREADS="two")
    assert r.returncode == 1 and "Traceback" not in r.stderr  # (libgomp says its own line about it first)
    assert r.stderr.strip().splitlines()[-1] == "adv_again.py: OMP_NUM_THREADS='two': not a number of threads"
    assert sorted(p.name for p in (work / "exp/again").rglob("*")) == before
    (work / "exp/pf/postfilter_stats.npz").unlink()
    r = run(*adv_again, "exp/pf", "exp/again", "1")
    assert r.returncode == 1 and r.stderr.strip().count("\n") == 0
    assert "postfilter_stats.npz: missing" in r.stderr and "Traceback" not in r.stderr
    assert sorted(p.name for p in (work / "exp/again").rglob("*")) == before


def test_needed_gain_measures_band_levels_and_fits_the_need_against_them():
    """local/needed_gain.py: a 5 Hz cosine's power lies in the 4–10 Hz band, four times larger at twice
    the amplitude (log 4 more); the fit gives back an exact line's slope with R² 1."""
    import importlib.util

    path = REPO / "recipes/flite2allison_16k/local/needed_gain.py"
    spec = importlib.util.spec_from_file_location("needed_gain", path)
    needed_gain = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(needed_gain)
    t = np.arange(400) / needed_gain.FRAME_RATE
    c = np.stack([np.cos(2 * np.pi * 5.0 * t), np.cos(2 * np.pi * 0.8 * t)], axis=1)  # (T, 2)
    level = needed_gain.band_log_power(c)
    assert level.shape == (5, 2) and level[:, 0].argmax() == 2 and level[:, 1].argmax() == 0
    np.testing.assert_allclose(needed_gain.band_log_power(2.0 * c), level + np.log(4.0))
    x = np.linspace(-3.0, 2.0, 20)
    slope, r2 = needed_gain.fit(x, 1.0 - 0.5 * x)
    assert abs(slope + 0.5) < 1e-12 and abs(r2 - 1.0) < 1e-12
