"""The pair-trained VAWGAN post-filter and `vawgan enhance` on real data: flite's slt as the
"system" whose output is post-filtered towards Allison's recordings of the same prompts (16 kHz)."""

import json

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from vawgan_tts import metrics as M
from vawgan_tts.alignment import align_utterance
from vawgan_tts.cli.vawgan import app
from vawgan_tts.runs.apply import open_enhancer
from vawgan_tts.errors import VawganError
from vawgan_tts.features import load_features, save_features, speech_mask
from vawgan_tts.runs.vawgan_postfilter import (PairPostfilter, load_pair_postfilter_config, train_adversarial_weight,
                                        train_pair_postfilter)
from vawgan_tts.postfilters import StatisticalPostfilter
from vawgan_tts.tasks.vawgan_postfilter import VAWGANPostfilterConfig, VAWGANPostfilterTask
from vawgan_tts.trainer import StepContext

from conftest import PARALLEL_PROMPTS as PROMPTS

TRAIN, DEV = PROMPTS[:6], PROMPTS[6:]
runner = CliRunner()


def _config(system, natural, **kw):
    small = dict(data__system=str(system), data__natural=str(natural), data__ids=list(TRAIN), data__dev_ids=list(DEV),
                 postfilter__hidden=[64, 32], postfilter__latent=16, postfilter__critic_hidden=[32, 16],
                 postfilter__vae_epochs=40, postfilter__critic_epochs=2, postfilter__adv_epochs=4,
                 postfilter__kl_warmup_epochs=2.0, train__batch_size=128)
    return load_pair_postfilter_config(None, **(small | kw))


@pytest.fixture(scope="module")
def trained(parallel, tmp_path_factory):
    exp = tmp_path_factory.mktemp("pairpf") / "exp"
    said = []
    summary = train_pair_postfilter(exp, _config(*parallel), jobs=2, progress=False, say=said.append)
    return exp, summary, said


def _dtw_mcd(c, c0, nat):
    p = align_utterance(c, c0, nat.mcep[:, 1:], nat.mcep[:, 0])
    return float(np.mean(M.frame_mcd(nat.mcep[p[:, 1], 1:], c[p[:, 0]])))


def test_training_writes_the_experiment(trained):
    exp, summary, said = trained
    assert summary["aligned"] == len(PROMPTS) and summary["failed"] == 0
    assert said == [f"post-filter pairs: aligned {n}/{len(PROMPTS)} prompts by DTW" for n in range(1, len(PROMPTS) + 1)]
    for f in ("config.toml", "align.npz", "stats.npz", "log.csv", "dev.json", "curves.png", "critic.png",
              "postfilter_stats.npz", "checkpoints/vae.pt", "checkpoints/critic.pt", "checkpoints/adv.pt",
              "checkpoints/vae_best.pt"):
        assert (exp / f).is_file(), f
    cfg = (exp / "config.toml").read_text()
    assert "[postfilter]" in cfg and "[extract]" in cfg and 'f0_method = "dio"' in cfg
    with np.load(exp / "postfilter_stats.npz") as z:
        assert set(z.files) == {"gv_natural", "ms_natural", "ms_system"} and z["gv_natural"].shape == (39,)
    epochs = json.loads((exp / "dev.json").read_text())["epochs"]
    vae = [e["dev_loss"] for e in epochs if e["stage"] == "vae"]
    assert len(vae) == 40 and min(vae) < vae[0]  # the dev prompts' loss falls: it learns the mapping


def test_the_vae_stage_moves_the_system_towards_natural(trained, parallel):
    """On the training prompts the post-filter's output is nearer the natural recording (DTW-MCD) than
    the system's own output: it learned the pairs, not the identity."""
    exp, _, _ = trained
    system, natural = parallel
    pf = PairPostfilter(exp, "vae")
    before, after = [], []
    for u in TRAIN:
        f, nat = load_features(system / f"{u}.npz"), load_features(natural / f"{u}.npz")
        out = pf(f)
        assert np.array_equal(out.mcep[:, 0], f.mcep[:, 0]) and np.array_equal(out.f0, f.f0)  # only c1..c39 change
        before.append(_dtw_mcd(f.mcep[:, 1:], f.mcep[:, 0], nat))
        after.append(_dtw_mcd(out.mcep[:, 1:], f.mcep[:, 0], nat))
    assert np.mean(after) < np.mean(before) - 1.0, (before, after)


def test_residual_decoder_starts_from_the_system_frame():
    torch.manual_seed(0)
    task = VAWGANPostfilterTask(VAWGANPostfilterConfig(context=2, hidden=(16,), latent=4))
    last = [m for m in task.vae.decoder.modules() if isinstance(m, torch.nn.Linear)][-1]
    torch.nn.init.zeros_(last.weight)
    torch.nn.init.zeros_(last.bias)
    x = torch.randn(8, 5 * 39)
    assert torch.equal(task.reconstruct(x), x[:, 2 * 39 : 3 * 39])  # frame t of t-2..t+2
    # the decoder reads the system's frames beside z: its output depends on the input even at z = 0
    torch.nn.init.normal_(last.weight)
    correction = task.generate(torch.zeros(8, 4), x) - task.centre(x)
    assert not torch.allclose(correction[0], correction[1])
    plain = VAWGANPostfilterTask(VAWGANPostfilterConfig(context=2, hidden=(16,), latent=4, residual=False))
    assert plain.reconstruct(x).shape == (8, 39)


def test_critic_step_gives_the_generator_no_gradient():
    torch.manual_seed(0)
    task = VAWGANPostfilterTask(VAWGANPostfilterConfig(context=1, hidden=(16,), latent=4, critic_hidden=(8,)))
    ctx = StepContext(task.make_optimizers(), grad_clip=0.0)
    before = [p.detach().clone() for p in task.vae.parameters()]
    out = task.train_step((torch.randn(32, 3 * 39), torch.randn(32, 39)), "critic", ctx)
    assert all(p.grad is None for p in task.vae.parameters())
    assert all(torch.equal(a, b) for a, b in zip(before, task.vae.parameters()))
    assert any(p.grad is not None for p in task.critic.parameters())
    assert {"d_real", "d_fake", "w_distance", "gp"} <= set(out)


def test_gv_postfilter_brings_a_shrunk_utterance_to_the_target_gv(parallel):
    natural = load_features(parallel[1] / "vm-password.npz")
    c, c0 = natural.mcep[:, 1:].astype(np.float64), natural.mcep[:, 0]
    speech = speech_mask(c0)
    target = M.global_variance(c[speech])
    mu = c[speech].mean(0)
    shrunk = mu + 0.4 * (c - mu)  # an over-smoothed version: GV × 0.16
    assert np.all(M.global_variance(shrunk[speech]) < 0.2 * target)
    out = StatisticalPostfilter("gv-pf", {"gv_natural": target})(shrunk, c0)
    np.testing.assert_allclose(M.global_variance(out[speech].astype(np.float64)), target, rtol=1e-4)
    np.testing.assert_allclose(out[speech].mean(0), mu, atol=1e-4)


def test_ms_postfilter_refuses_without_the_system_statistics():
    with pytest.raises(VawganError, match="modulation spectrum of the system being filtered"):
        StatisticalPostfilter("ms-pf", {"gv_natural": np.ones(39), "ms_natural": np.zeros((33, 39))})


def test_pair_postfilter_methods_use_their_own_statistics(trained, parallel):
    exp, _, _ = trained
    f = load_features(parallel[0] / "vm-options.npz")
    for method in ("gv-pf", "ms-pf", "vawgan"):
        out = PairPostfilter(exp, method)(f)
        assert out.mcep.shape == f.mcep.shape and np.isfinite(out.mcep).all()
        assert not np.allclose(out.mcep[:, 1:], f.mcep[:, 1:])
    with pytest.raises(VawganError, match="its own system's statistics"):
        open_enhancer(exp, "ms-pf", system_feats=parallel[0])


def test_enhance_features_keeps_the_good_and_names_another_rate(trained, parallel, allison_dir, tmp_path):
    exp, _, _ = trained
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    for u in DEV:
        (mixed / f"{u}.npz").write_bytes((parallel[0] / f"{u}.npz").read_bytes())
    from vawgan_tts.features import analyze
    from vawgan_tts.audio import read_audio

    x, fs = read_audio(allison_dir / "vm-goodbye.wav")  # 8 kHz: another rate than the model's 16 kHz
    save_features(mixed / "telephone.npz", analyze(x, fs, "dio"))
    r = runner.invoke(app, ["enhance", str(mixed), "-m", str(exp), "-o", str(tmp_path / "out")])
    assert r.exit_code == 1, r.output
    assert "telephone" in r.output and "8000 Hz" in r.output and "16000 Hz" in r.output and "Traceback" not in r.output
    for u in DEV:
        assert (tmp_path / "out" / f"{u}.wav").is_file() and (tmp_path / "out" / f"{u}.npz").is_file()
    assert not (tmp_path / "out" / "telephone.wav").exists()
    assert (tmp_path / "out" / "failed.tsv").read_text().splitlines()[1].startswith("telephone\t")


def test_enhance_wavs_end_to_end(trained, parallel, tmp_path):
    """WAVs of the system in, analysed with the model's own settings (dio, 16 kHz), enhanced WAVs out;
    a broken WAV among them is one line and the rest are written."""
    exp, _, _ = trained
    wavs = tmp_path / "wavs"
    wavs.mkdir()
    corpus = parallel[0].parent / "corpus" / "slt"
    for u in DEV:
        (wavs / f"{u}.wav").write_bytes((corpus / f"{u}.wav").read_bytes())
    (wavs / "broken.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVE")
    r = runner.invoke(app, ["enhance", str(wavs), "-m", str(exp), "-o", str(tmp_path / "out"), "--method", "vawgan", "-j", "1"])
    assert r.exit_code == 1, r.output
    assert "broken" in r.output and "enhanced 2 utterances" in r.output and "Traceback" not in r.output
    for u in DEV:
        assert (tmp_path / "out" / f"{u}.wav").is_file()
        f = load_features(tmp_path / "out" / f"{u}.npz")
        assert f.fs == 16000
    # the analysis used the model's settings: the same features as the training side's extraction
    np.testing.assert_allclose(load_features(tmp_path / "out" / "input" / f"{DEV[0]}.npz").f0,
                               load_features(parallel[0] / f"{DEV[0]}.npz").f0, atol=1e-3)


def test_enhance_refuses_an_empty_folder(trained, tmp_path):
    (tmp_path / "empty").mkdir()
    r = runner.invoke(app, ["enhance", str(tmp_path / "empty"), "-m", str(trained[0]), "-o", str(tmp_path / "out")])
    assert r.exit_code == 2 and "nothing to enhance" in r.output and len(r.output.strip().splitlines()) == 1


def test_a_prompt_without_its_pair_is_named_and_left_out(parallel, tmp_path):
    system = tmp_path / "system"
    system.mkdir()
    for u in TRAIN[:3]:
        (system / f"{u}.npz").write_bytes((parallel[0] / f"{u}.npz").read_bytes())
    said = []
    cfg = _config(system, parallel[1], postfilter__vae_epochs=1, postfilter__critic_epochs=0, postfilter__adv_epochs=0,
                  data__dev_ids=[])
    (tmp_path / "exp").mkdir()
    np.savez(tmp_path / "exp" / "postfilter_stats.npz", stale=np.zeros(1))  # an earlier run's cache
    train_pair_postfilter(tmp_path / "exp", cfg, progress=False, say=said.append)
    assert sorted(s for s in said if "by DTW" not in s) == sorted(f"left out {u}: no features {system / f'{u}.npz'}" for u in TRAIN[3:])
    with np.load(tmp_path / "exp" / "postfilter_stats.npz") as z:  # recomputed for this run's prompts
        assert set(z.files) == {"gv_natural", "ms_natural", "ms_system"}


def test_a_sweep_point_restarts_from_the_same_vae(trained):
    exp, _, _ = trained
    out = train_adversarial_weight(exp, 0.5, progress=False)
    assert (out / "checkpoints" / "adv.pt").is_file() and not (out / "checkpoints" / "vae_best.pt").exists()
    assert "adv_weight = 0.5" in (out / "config.toml").read_text()
    a, b = PairPostfilter(exp, "vawgan"), PairPostfilter(exp, "vawgan", adv_weight=0.5)
    assert a.trained.path != b.trained.path


def test_a_resumed_training_continues_from_last_pt_with_its_own_pairs(trained, parallel, tmp_path):
    import shutil

    exp, _, _ = trained
    resumed = tmp_path / "exp"
    shutil.copytree(exp, resumed)
    said = []
    train_pair_postfilter(resumed, _config(*parallel), progress=False, say=said.append, resume=True)
    assert not any("by DTW" in s for s in said)  # the saved alignment, not a new one
    f = load_features(parallel[0] / f"{DEV[0]}.npz")
    np.testing.assert_allclose(PairPostfilter(resumed)(f).mcep, PairPostfilter(exp)(f).mcep, rtol=1e-5, atol=1e-5)
    with pytest.raises(VawganError, match="holds no trained experiment"):
        train_pair_postfilter(tmp_path / "none", _config(*parallel), progress=False, resume=True)
