"""The parallel DNN converter end to end on real data: flite's slt speaking eight Allison prompts,
converted towards Allison's own recordings of them (16 kHz G.722, decoded)."""

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from vawgan_tts import metrics as M
from vawgan_tts.cli.vawgan import app
from vawgan_tts.runs.converter import Converter, context_windows, load_converter_config, train_converter
from vawgan_tts.errors import VawganError
from vawgan_tts.f0 import LogF0Stats, convert_f0
from vawgan_tts.features import load_features

from conftest import PARALLEL_PROMPTS as PROMPTS, conversion_mcds

TRAIN, DEV = PROMPTS[:6], PROMPTS[6:]
runner = CliRunner()


def _config(src, tgt, **kw):
    return load_converter_config(None, data__source=str(src), data__target=str(tgt), data__ids=list(TRAIN),
                                 data__dev_ids=list(DEV), dnn__hidden=64, dnn__layers=2, dnn__epochs=30, dnn__rounds=2,
                                 train__batch_size=128, **kw)



@pytest.fixture(scope="module")
def trained(parallel, tmp_path_factory):
    exp = tmp_path_factory.mktemp("conv") / "exp"
    said = []
    summary = train_converter(exp, _config(*parallel), jobs=2, progress=False, say=said.append)
    return exp, summary, said


def test_rounds_write_their_folders_and_learn(trained):
    exp, summary, said = trained
    assert [r["round"] for r in summary["rounds"]] == [1, 2]
    for k in (1, 2):
        assert (exp / f"round{k}/align.npz").is_file() and (exp / f"round{k}/checkpoints/dnn.pt").is_file()
        dev = json.loads((exp / f"round{k}/dev.json").read_text())["epochs"]
        assert len(dev) == 30
    assert summary["rounds"][0]["train_loss"] < 0.9  # normalized units: 1.0 is predicting the mean
    assert any("round 2:" in line for line in said)


def test_conversion_moves_training_prompts_towards_the_target(trained, parallel):
    exp, _, _ = trained
    src_dir, tgt_dir = parallel
    conv = Converter(exp)
    before, after = conversion_mcds(conv.convert_mcep, src_dir, tgt_dir, TRAIN)
    assert np.mean(after) < np.mean(before) - 2.0


def test_converted_features_keep_source_timing_power_and_aperiodicity(trained, parallel):
    exp, _, _ = trained
    src = load_features(parallel[0] / "vm-options.npz")
    out = Converter(exp)(src)
    assert out.n_frames == src.n_frames
    np.testing.assert_array_equal(out.mcep[:, 0], src.mcep[:, 0])
    np.testing.assert_array_equal(out.bap, src.bap)
    np.testing.assert_array_equal(out.vuv, src.vuv)
    assert np.all((out.f0 > 0) == (src.f0 > 0))


def test_f0_transform_matches_the_target_statistics_on_training_frames(trained, parallel):
    exp, _, _ = trained
    src_dir, tgt_dir = parallel
    conv = Converter(exp)
    converted = [convert_f0(load_features(src_dir / f"{u}.npz").f0, conv.f0_src, conv.f0_tgt) for u in TRAIN]
    stats = LogF0Stats.from_f0(converted)
    target = LogF0Stats.from_f0(load_features(tgt_dir / f"{u}.npz").f0 for u in TRAIN)
    assert stats.mean == pytest.approx(target.mean, abs=1e-9) and stats.std == pytest.approx(target.std, rel=1e-9)


def test_convert_f0_hand_worked():
    src, tgt = LogF0Stats(np.log(100.0), 0.5, 10), LogF0Stats(np.log(200.0), 0.25, 10)
    f0 = np.array([0.0, 100.0, 100.0 * np.e])
    # the source mean maps to the target mean; two source σ above (×e) to two target σ above (×e^0.5)
    np.testing.assert_allclose(convert_f0(f0, src, tgt), [0.0, 200.0, 200.0 * np.exp(0.5)])


def test_log_f0_stats_by_hand():
    s = LogF0Stats.from_f0([np.array([0.0, 100.0, 0.0]), np.array([100.0 * np.e**2, 0.0])])
    # voiced frames only: log F0 = log 100 and log 100 + 2 -> mean log 100 + 1, std 1
    assert s.mean == pytest.approx(np.log(100.0) + 1.0) and s.std == pytest.approx(1.0) and s.count == 2
    with pytest.raises(VawganError, match="feats: too few voiced frames"):
        LogF0Stats.from_f0([np.array([0.0, 120.0])], "feats")


def test_context_windows_repeat_edges():
    c = np.arange(4.0)[:, None]
    np.testing.assert_array_equal(context_windows(c, 1), [[0, 0, 1], [0, 1, 2], [1, 2, 3], [2, 3, 3]])


def test_cli_convert_and_eval_with_dtw(trained, parallel, tmp_path):
    exp, _, _ = trained
    src_dir, tgt_dir = parallel
    ids = tmp_path / "dev.ids"
    ids.write_text("".join(f"{u}\n" for u in DEV))
    r = runner.invoke(app, ["convert", str(src_dir), "-m", str(exp), "-o", str(tmp_path / "conv"), "--ids", str(ids)])
    assert r.exit_code == 0, r.output
    assert sorted(p.name for p in (tmp_path / "conv").iterdir()) == [".vawgan-output.json", *sorted(f"{u}.{e}" for u in DEV for e in ("npz", "wav"))]
    r = runner.invoke(app, ["eval", "--natural", str(tgt_dir), "--generated", f"source={src_dir}", "--generated",
                            f"dnn={tmp_path / 'conv'}", "--ids", str(ids), "--align", "dtw", "-o", str(tmp_path / "eval")])
    assert r.exit_code == 0, r.output
    m = json.loads((tmp_path / "eval/metrics.json").read_text())
    assert m["settings"]["alignment"] == "dtw"
    assert m["systems"]["dnn"]["mcd_db"] < m["systems"]["source"]["mcd_db"]
    # slt speaks lower than Allison: the log-F0 transform brings F0 nearer
    assert m["systems"]["dnn"]["f0_rmse_cents"] < m["systems"]["source"]["f0_rmse_cents"]
    assert "F0 [cent]" in r.output


def test_existing_experiment_needs_overwrite(trained, parallel):
    exp, _, _ = trained
    with pytest.raises(VawganError, match="already holds a converter; give --overwrite"):
        train_converter(exp, _config(*parallel), progress=False)


def test_train_and_dev_must_not_overlap(parallel, tmp_path):
    cfg = load_converter_config(None, data__source=str(parallel[0]), data__target=str(parallel[1]), data__ids=list(TRAIN),
                                data__dev_ids=[TRAIN[0]])
    with pytest.raises(VawganError, match="both in training and dev"):
        train_converter(tmp_path / "e", cfg, progress=False)


def test_converter_refuses_features_at_another_rate(trained, parallel):
    exp, _, _ = trained
    src = load_features(parallel[0] / "vm-options.npz")
    with pytest.raises(VawganError, match="trained at 16000 Hz"):
        Converter(exp)(src.replace(fs=8000))


def test_not_a_converter_folder(tmp_path):
    with pytest.raises(VawganError, match="this needs a parallel converter"):
        Converter(tmp_path)


def test_a_prompt_missing_on_one_side_is_named_and_left_out(parallel, tmp_path):
    import shutil

    src = tmp_path / "src"
    shutil.copytree(parallel[0], src)
    (src / f"{TRAIN[0]}.npz").unlink()
    said = []
    cfg = load_converter_config(None, data__source=str(src), data__target=str(parallel[1]), data__ids=list(TRAIN),
                                dnn__hidden=16, dnn__layers=1, dnn__epochs=1, dnn__rounds=1)
    summary = train_converter(tmp_path / "e", cfg, progress=False, say=said.append)
    assert said[0] == f"left out {TRAIN[0]}: no features {src / TRAIN[0]}.npz"
    assert summary["rounds"][0]["aligned"] == len(TRAIN) - 1


def test_report_in_the_parallel_layout(trained, tmp_path):
    from vawgan_tts.report import build_conversion_report

    exp, _, _ = trained
    out = tmp_path / "report"
    result = build_conversion_report(exp, out, list(DEV), n_show=2, n_resamples=200)
    assert set(result["systems"]) == {"source", "converted", "converted+gv-pf", "converted+ms-pf"}
    assert result["settings"]["alignment"] == "dtw" and result["settings"]["reference"] == "converted"
    page = (out / "index.html").read_text()
    assert ("<th>source voice</th><th>converted</th><th>+ GV post-filter</th><th>+ MS post-filter</th>"
            "<th>natural target</th>") in page
    for folder in ("audio/source", "audio/converted", "audio/converted%2Bgv-pf", "audio/natural"):
        for u in DEV:
            assert f'src="{folder}/{u}.wav"' in page
    for folder in ("source", "converted", "converted+gv-pf", "natural"):
        for u in DEV:
            assert (out / "audio" / folder / f"{u}.wav").is_file()
    assert not list(out.rglob("*.npz"))  # the converted features stay in the experiment folder
    assert (exp / "systems" / "converted" / f"{DEV[0]}.npz").is_file()
    assert "F0 RMSE [cent]" in page and (out / "gv.png").is_file()
    with pytest.raises(VawganError, match="were used in training"):
        build_conversion_report(exp, tmp_path / "r2", [TRAIN[0]])


def test_report_plays_and_scores_extra_systems(trained, parallel, tmp_path):
    """`vawgan report EXP --extra NAME=DIR`: e.g. the conversion enhanced by `vawgan enhance`."""
    exp, _, _ = trained
    r = runner.invoke(app, ["convert", str(_source(exp)),
                            "-m", str(exp), "--ids", str(_ids(tmp_path, DEV)), "-o", str(tmp_path / "mine")])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["report", str(exp), "-o", str(tmp_path / "rep"), "--ids", str(_ids(tmp_path, DEV)),
                            "--extra", f"my system={tmp_path / 'mine'}", "--n-audio", "1", "--resamples", "200"])
    assert r.exit_code == 0, r.output
    result = json.loads((tmp_path / "rep" / "metrics.json").read_text())
    assert "my system" in result["systems"]
    page = (tmp_path / "rep" / "index.html").read_text()
    assert "<th>my system</th><th>natural target</th>" in page
    assert len(list((tmp_path / "rep" / "audio" / "my system").glob("*.wav"))) == 1
    assert 'src="audio/my%20system/' in page
    r = runner.invoke(app, ["report", str(exp), "-o", str(tmp_path / "rep2"), "--ids", str(_ids(tmp_path, DEV)),
                            "--extra", f"x={tmp_path / 'nothing'}"])
    assert r.exit_code == 2 and "no features for 2 report prompt(s)" in r.output and "Traceback" not in r.output
    r = runner.invoke(app, ["report", str(exp), "-o", str(tmp_path / "rep3"), "--ids", str(_ids(tmp_path, DEV)),
                            "--checkpoint", "best"])
    assert r.exit_code == 2 and "--checkpoint is for a VAWGAN or VAWGAN-VC model's report" in " ".join(r.output.split())
    assert not (tmp_path / "rep3").exists()
    r = runner.invoke(app, ["convert", str(parallel[0]), "-m", str(exp), "--checkpoint", "best", "-o",
                            str(tmp_path / "c3"), "--ids", str(_ids(tmp_path, DEV))])
    assert r.exit_code == 2 and "--checkpoint is for a VAWGAN-VC model" in " ".join(r.output.split())
    assert not (tmp_path / "c3").exists()


def _source(exp):
    from vawgan_tts.runs.converter import load_converter_config

    return load_converter_config(exp / "config.toml").data.source


def _ids(folder, ids):
    path = folder / f"ids{len(ids)}.txt"
    path.write_text("".join(f"{u}\n" for u in ids))
    return path


def test_gv_postfilter_brings_each_conversion_to_the_target_gv(trained, parallel):
    from vawgan_tts.features import speech_mask

    exp, _, _ = trained
    plain, pf = Converter(exp), Converter(exp, postfilter="gv")
    gv_target = pf.statistical.stats["gv_natural"]
    src = load_features(parallel[0] / f"{DEV[0]}.npz")
    speech = speech_mask(src.mcep[:, 0])
    before = M.global_variance(plain(src).mcep[speech, 1:])
    after = M.global_variance(pf(src).mcep[speech, 1:])
    assert np.mean(before / gv_target) < 0.8  # the converter over-smooths
    np.testing.assert_allclose(after, gv_target, rtol=1e-4)  # float32 features


def test_ms_postfilter_uses_the_converters_own_statistics(trained):
    exp, _, _ = trained
    stats = Converter(exp, postfilter="ms").statistical.stats
    assert stats["ms_converted"].shape == stats["ms_natural"].shape
    # the converter's trajectories are smoother: less modulation power above a few Hz than natural
    assert np.mean(stats["ms_converted"][200:800] - stats["ms_natural"][200:800]) < 0
    assert (exp / "round2" / "postfilter_stats.npz").is_file()
    with pytest.raises(VawganError, match="post-filter 'loud': choose from gv, ms"):
        Converter(exp, postfilter="loud")


def test_adversarial_converter_warm_starts_from_the_dnn(trained, parallel):
    from vawgan_tts.runs.converter import train_adversarial
    from vawgan_tts.tasks.adversarial_converter import AdversarialConverterConfig
    from vawgan_tts.trainer import read_log

    exp, _, _ = trained
    out = train_adversarial(exp, AdversarialConverterConfig(adv_weight=0.5, critic_epochs=1, adv_epochs=2, critic_hidden=(16,)),
                            progress=False)
    assert out == exp / "adv-w0.5" and (out / "checkpoints" / "adv.pt").is_file()
    log = read_log(out / "log.csv")
    assert {"mse", "adv_loss", "d_real", "d_fake", "w_distance"} <= set(log)
    src = load_features(parallel[0] / f"{DEV[0]}.npz")
    plain, adv = Converter(exp)(src), Converter(exp, adversarial=0.5)(src)
    assert adv.mcep.shape == plain.mcep.shape and not np.allclose(adv.mcep[:, 1:], plain.mcep[:, 1:])
    with pytest.raises(VawganError, match="no adversarial converter with w_d = 2"):
        Converter(exp, adversarial=2.0)


def test_report_systems_in_processes_equal_one_process_and_each_system_alone(trained, parallel, tmp_path):
    """`vawgan report --jobs 2`: the converter's three systems from one conversion per prompt, in two
    worker processes, write the same files as one process, and the same features as converting with
    each system's own Converter (the way `vawgan convert` does)."""
    import functools

    import soundfile as sf

    from vawgan_tts.runs.converter import conversion_systems
    from vawgan_tts.synthesis import synthesize_systems

    exp, _, _ = trained
    src_dir, _ = parallel
    run = {"converted": None, "converted+gv-pf": "gv", "converted+ms-pf": "ms"}
    outs = {}
    for jobs in (1, 2):
        outs[jobs] = {name: tmp_path / f"j{jobs}" / name for name in run}
        synthesize_systems(src_dir, outs[jobs], DEV, functools.partial(conversion_systems, exp, run), jobs=jobs)
    for name, pf in run.items():
        alone = Converter(exp, postfilter=pf)
        for u in DEV:
            one, two = load_features(outs[1][name] / f"{u}.npz"), load_features(outs[2][name] / f"{u}.npz")
            np.testing.assert_array_equal(one.mcep, two.mcep)
            np.testing.assert_array_equal(one.mcep, alone(load_features(src_dir / f"{u}.npz")).mcep)
            np.testing.assert_array_equal(sf.read(outs[1][name] / f"{u}.wav")[0], sf.read(outs[2][name] / f"{u}.wav")[0])
    # A prompt that is not there stops the run with its file named, from a worker as from this process.
    for jobs in (1, 2):
        with pytest.raises(VawganError, match=r"nope\.npz"):
            synthesize_systems(src_dir, outs[jobs], [DEV[0], "nope"], functools.partial(conversion_systems, exp, run),
                               jobs=jobs)


def test_a_resumed_training_keeps_finished_rounds_and_ends_as_it_would(trained, parallel, tmp_path):
    """As if interrupted in round 2 after its last checkpoint: --resume keeps round 1 (its round.json),
    continues round 2 from last.pt on its saved alignment, and converts as the uninterrupted run."""
    import shutil

    exp, summary, _ = trained
    resumed = tmp_path / "exp"
    shutil.copytree(exp, resumed)
    for f in ("round2/round.json", "round2/stats.npz", "rounds.json"):
        (resumed / f).unlink()
    said = []
    again = train_converter(resumed, _config(*parallel), progress=False, say=said.append, resume=True)
    assert "round 1: trained before, kept" in said and not any("round 2: aligned" in s for s in said)
    assert [r["round"] for r in again["rounds"]] == [1, 2] and again["rounds"][0] == summary["rounds"][0]
    src = load_features(parallel[0] / f"{DEV[0]}.npz")
    np.testing.assert_allclose(Converter(resumed)(src).mcep, Converter(exp)(src).mcep, rtol=1e-5, atol=1e-5)
    with pytest.raises(VawganError, match="the same inputs"):
        train_converter(resumed, _config(parallel[1], parallel[1]), progress=False, resume=True)
