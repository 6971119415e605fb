"""The sequence converter (``[dnn] arch = "conv"``): convolutions over the whole source trajectory,
trained on random crops with a mask of the frames DTW paired, end to end on real data (flite's slt
speaking Allison's prompts, converted towards her recordings), and checked against the frame arch."""

import dataclasses
import json

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from vawgan_tts.alignment import align_utterance, load_alignments
from vawgan_tts.cli.vawgan import app
from vawgan_tts.errors import VawganError
from vawgan_tts.features import load_features
from vawgan_tts.models.conv_converter import ConvConverter
from vawgan_tts.runs.converter import (DIM_OUT, Converter, Normalization, _design, _learning_pairs, _load_sides,
                                       _normalization, _residual_variance, _residual_variance_utterances, _sequences,
                                       dev_loss, dev_loss_utterances, load_converter_config, train_adversarial,
                                       train_converter)
from vawgan_tts.tasks.adversarial_converter import AdversarialConverterConfig
from vawgan_tts.tasks.dnn_converter import DNNConverterConfig, DNNConverterTask

from conftest import PARALLEL_PROMPTS as PROMPTS, conversion_mcds

TRAIN, DEV = PROMPTS[:6], PROMPTS[6:]
runner = CliRunner()


def _config(src, tgt, **kw):
    settings = dict(dnn__arch="conv", dnn__channels=(32, 32, 32), dnn__dilations=(1, 2, 4), dnn__segment=64,
                    dnn__segments_per_batch=8, dnn__epochs=30, dnn__rounds=2)
    return load_converter_config(None, data__source=str(src), data__target=str(tgt), data__ids=list(TRAIN),
                                 data__dev_ids=list(DEV), **{**settings, **kw})



def _aligned_pairs(parallel, utts):
    """The learning pairs of ``utts`` as round 1 makes them (the source aligned with the target by DTW)."""
    sides = _load_sides(*parallel, utts)
    aligned = {u: align_utterance(s.mcep[:, 1:], s.mcep[:, 0], t.mcep[:, 1:], t.mcep[:, 0]) for u, (s, t) in sides.items()}
    return _learning_pairs(sides, aligned)


@pytest.fixture(scope="module")
def seq_trained(parallel, tmp_path_factory):
    exp = tmp_path_factory.mktemp("seqconv") / "exp"
    summary = train_converter(exp, _config(*parallel), jobs=2, progress=False)
    return exp, summary


def test_a_crop_gives_the_whole_utterances_output_away_from_its_edges(parallel):
    c = load_features(parallel[0] / f"{PROMPTS[0]}.npz").mcep[:, 1:]
    x = torch.from_numpy(((c - c.mean(0)) / c.std(0)).astype(np.float32))[None]
    torch.manual_seed(0)
    model = ConvConverter(39, DIM_OUT, (16, 16), 5, (1, 2)).eval()
    assert model.receptive_field == 1 + 4 * (1 + 2 + 1)
    half, t = model.receptive_field // 2, x.shape[1]
    with torch.no_grad():
        whole = model(x)
        for start, stop in ((0, 90), (30, 150), (t - 100, t)):
            out = model(x[:, start:stop])
            lo = 0 if start == 0 else half
            hi = out.shape[1] if stop == t else out.shape[1] - half
            torch.testing.assert_close(out[:, lo:hi], whole[:, start + lo:start + hi], atol=1e-5, rtol=1e-5)
            if start > 0:  # the bound is tight: the crop's own padding shows at its edge
                assert not torch.allclose(out[:, 0], whole[:, start], atol=1e-5)
        assert model(x[:, :1]).shape == (1, 1, DIM_OUT)  # shorter than the receptive field: one frame per frame


def test_the_masked_loss_is_the_mean_over_paired_frames_only():
    torch.manual_seed(0)
    task = DNNConverterTask(DNNConverterConfig(arch="conv", channels=(8,), dilations=(1,)), 4, 6)
    x, y = torch.randn(2, 10, 4), torch.randn(2, 10, 6)
    mask = torch.zeros(2, 10)
    mask[0, 2:7], mask[1, :3] = 1, 1
    with torch.no_grad():
        err = ((task.model(x) - y) ** 2).mean(-1)
        expected = err[mask > 0].mean()
        y2 = torch.where(mask[..., None] > 0, y, y + 100.0)  # unpaired frames' targets do not count
        assert float(task.loss(x, y, mask)) == pytest.approx(float(expected), rel=1e-6)
        assert float(task.loss(x, y2, mask)) == pytest.approx(float(expected), rel=1e-6)


@pytest.mark.parametrize("arch, option, value", [("conv", "hidden", 64), ("conv", "context", 4), ("conv", "layers", 2),
                                                 ("frame", "channels", (64,)), ("frame", "segment", 32)])
def test_a_converter_config_mixing_archs_is_refused_in_one_line(arch, option, value):
    with pytest.raises(VawganError) as err:
        DNNConverterConfig(arch=arch, **{option: value})
    assert "\n" not in str(err.value) and option in str(err.value) and f"arch = '{arch}'" in str(err.value)
    with pytest.raises(VawganError, match="odd"):
        DNNConverterConfig(arch="conv", kernel=4)
    with pytest.raises(VawganError, match="dilations"):
        DNNConverterConfig(arch="conv", channels=(8, 8), dilations=(1,))


def test_the_conv_paths_match_the_frame_paths_for_a_one_frame_kernel(parallel):
    """A conv converter of kernel 1 is a frame converter of context 0 with the same weights: the
    per-utterance paths (crops' data, whole-utterance dev loss and residual variances) must give
    what the frame paths give on the design matrix."""
    pairs = _aligned_pairs(parallel, PROMPTS)
    frame_cfg = DNNConverterConfig(context=0, hidden=16, layers=2)
    conv_cfg = DNNConverterConfig(arch="conv", channels=(16, 16), kernel=1, dilations=(1, 1))
    norm = _normalization(pairs, TRAIN, frame_cfg)
    torch.manual_seed(0)
    frame, conv = DNNConverterTask(frame_cfg, 39, DIM_OUT), DNNConverterTask(conv_cfg, 39, DIM_OUT)
    linears = [m for m in frame.model.modules() if isinstance(m, torch.nn.Linear)]
    convs = [m for m in conv.model.modules() if isinstance(m, torch.nn.Conv1d)]
    with torch.no_grad():
        for lin, cv in zip(linears, convs, strict=True):
            cv.weight.copy_(lin.weight[..., None])
            cv.bias.copy_(lin.bias)
    x, y = _design(pairs, TRAIN, norm, frame_cfg)
    xs, ys, masks = _sequences(pairs, TRAIN, norm, conv_cfg)
    assert sum(float(m.sum()) for m in masks) == len(x)
    np.testing.assert_allclose(_residual_variance_utterances(conv, xs, ys, masks), _residual_variance(frame.model, x, y),
                               rtol=1e-4)

    class _Trainer:  # what the dev measures read of a trainer
        device = torch.device("cpu")

    t_frame, t_conv = _Trainer(), _Trainer()
    t_frame.task, t_conv.task = frame, conv
    a = dev_loss(*_design(pairs, DEV, norm, frame_cfg))(t_frame)["dev_loss"]
    b = dev_loss_utterances(*_sequences(pairs, DEV, norm, conv_cfg))(t_conv)["dev_loss"]
    assert b == pytest.approx(a, rel=1e-5)


def test_utterances_shorter_than_the_crop_are_padded_with_masked_frames(parallel):
    pairs = _aligned_pairs(parallel, TRAIN)
    cfg = DNNConverterConfig(arch="conv")
    norm = _normalization(pairs, TRAIN, cfg)
    longest = max(len(pairs.src[u]) for u in TRAIN)
    xs, ys, masks = _sequences(pairs, TRAIN, norm, cfg, longest)
    for u, x, y, m in zip(TRAIN, xs, ys, masks):
        n = len(pairs.src[u])
        assert x.shape == (longest, 39) and y.shape == (longest, DIM_OUT) and m.shape == (longest,)
        assert float(m.sum()) == len(pairs.rows[u]) and not m[n:].any()
        torch.testing.assert_close(x[n:], x[n - 1:n].expand(longest - n, 39))  # the edge frame repeats


def test_the_crop_batches_pad_short_utterances_and_carry_positions_with_mask_crop_edges(parallel, tmp_path):
    """_segment_batches: every training utterance, one shorter than the crop padded to its length; with
    mask_crop_edges a fourth stream of each frame's position (frame_positions), without it three."""
    from vawgan_tts.batching import frame_positions
    from vawgan_tts.runs.converter import _segment_batches

    pairs = _aligned_pairs(parallel, TRAIN)
    lengths = [len(pairs.src[u]) for u in TRAIN]
    crop = min(lengths) + 8  # the shortest utterance is padded to it
    assert crop <= max(lengths)
    cfg = DNNConverterConfig(arch="conv", segment=crop, mask_crop_edges=True)
    norm = _normalization(pairs, TRAIN, cfg)
    batches = _segment_batches(pairs, TRAIN, norm, cfg, tmp_path)
    assert len(batches.paired) == 4 and batches.length == crop
    assert [len(s) for s in batches.paired] == [sum(max(n, crop) for n in lengths)] * 4
    expected = torch.cat([torch.from_numpy(frame_positions(n, crop)) for n in lengths])
    assert torch.equal(batches.paired[3], expected)
    plain = _segment_batches(pairs, TRAIN, norm, DNNConverterConfig(arch="conv", segment=crop), tmp_path)
    assert len(plain.paired) == 3 and torch.equal(plain.paired[2], batches.paired[2])


def test_the_output_normalization_per_dimension_or_per_stream(parallel):
    """output_scale: "dimension" standardizes each of the 117 targets by its own deviation; "stream"
    gives each stream (statics, Δ, ΔΔ) one scale, the root mean square of its 39 deviations; the
    means and the inputs' statistics are the same either way."""
    from vawgan_tts.runs.converter import input_columns

    pairs = _aligned_pairs(parallel, TRAIN)
    y = np.concatenate([pairs.dyn[u] for u in TRAIN])
    per_dim = _normalization(pairs, TRAIN, DNNConverterConfig())
    np.testing.assert_allclose(per_dim.y_std, y.std(0), rtol=1e-9)
    per_stream = _normalization(pairs, TRAIN, DNNConverterConfig(output_scale="stream"))
    rms = np.sqrt((y.std(0).reshape(3, 39) ** 2).mean(1))
    np.testing.assert_allclose(per_stream.y_std, np.repeat(rms, 39), rtol=1e-9)
    for a, b in ((per_dim.y_mean, per_stream.y_mean), (per_dim.x_mean, per_stream.x_mean),
                 (per_dim.x_std, per_stream.x_std)):
        np.testing.assert_array_equal(a, b)
    x = np.concatenate([pairs.src[u][pairs.rows[u], input_columns(DNNConverterConfig())] for u in TRAIN])
    np.testing.assert_allclose(per_dim.x_std, x.std(0), rtol=1e-9)
    # What MLPG weighs the streams by, in normalized units: ones until the residuals are measured; with
    # the trajectory loss the targets' own variances (ones as well when each dimension is its own unit).
    np.testing.assert_array_equal(per_stream.residual_var, np.ones(DIM_OUT))
    traj = _normalization(pairs, TRAIN, DNNConverterConfig(arch="conv", loss="trajectory", output_scale="stream"))
    np.testing.assert_allclose(traj.residual_var, y.var(0) / np.repeat(rms, 39) ** 2, rtol=1e-9)
    assert traj.residual_var.std() > 0.1


def test_sequence_converter_trains_and_converts_whole_utterances(seq_trained, parallel):
    exp, summary = seq_trained
    src_dir, tgt_dir = parallel
    assert [r["round"] for r in summary["rounds"]] == [1, 2]
    dev = json.loads((exp / "round2/dev.json").read_text())["epochs"]
    assert len(dev) == 30 and dev[-1]["dev_loss"] < dev[0]["dev_loss"]
    aligned = load_alignments(exp / "round2/align.npz")
    assert summary["rounds"][1]["train_rows"] == sum(len(np.unique(aligned[u][:, 0])) for u in TRAIN)
    conv = Converter(exp)
    assert conv.task.config.arch == "conv"
    before, after = conversion_mcds(conv.convert_mcep, src_dir, tgt_dir, TRAIN)
    assert np.mean(after) < np.mean(before) - 2.0
    src = load_features(src_dir / "vm-options.npz")
    out = conv(src)
    assert out.n_frames == src.n_frames and np.isfinite(out.mcep).all()
    np.testing.assert_array_equal(out.mcep[:, 0], src.mcep[:, 0])
    # One frame in, one frame out, through the same MLPG: no crop or minimum length at conversion.
    assert conv.convert_mcep(src.mcep[:5]).shape == (5, 39)
    norm = Normalization.load(exp / "round2/stats.npz")
    assert norm.residual_var.shape == (DIM_OUT,) and (norm.residual_var > 0).all()


def test_sequence_converter_from_the_cli_and_its_refusals(seq_trained, parallel, tmp_path):
    exp, _ = seq_trained
    src_dir, tgt_dir = parallel
    ids = tmp_path / "dev.ids"
    ids.write_text("".join(f"{u}\n" for u in DEV))
    r = runner.invoke(app, ["convert", str(src_dir), "-m", str(exp), "-o", str(tmp_path / "conv"), "--ids", str(ids)])
    assert r.exit_code == 0, r.output
    assert sorted(p.name for p in (tmp_path / "conv").glob("*.npz")) == sorted(f"{u}.npz" for u in DEV)
    r = runner.invoke(app, ["convert", str(src_dir), "-m", str(exp), "-o", str(tmp_path / "m2"), "--ids", str(ids), "--members", "2"])
    assert r.exit_code != 0 and "--members 2: round 2 of this converter has 1 network (1 to 1)" in r.output
    assert len(r.output.strip().splitlines()) == 1 and not (tmp_path / "m2").exists()
    # The adversarial converter's critic and generator are frame-wise: refused, the converter kept.
    before = {p: p.read_bytes() for p in exp.rglob("*") if p.is_file()}
    with pytest.raises(VawganError, match="arch = 'conv'"):
        train_adversarial(exp, AdversarialConverterConfig(critic_epochs=1, adv_epochs=1), progress=False)
    assert {p: p.read_bytes() for p in exp.rglob("*") if p.is_file()} == before
    conf = tmp_path / "mixed.toml"
    conf.write_text('[dnn]\narch = "conv"\nhidden = 1024\n')
    train_ids = tmp_path / "train.ids"
    train_ids.write_text("".join(f"{u}\n" for u in TRAIN))
    r = runner.invoke(app, ["train-converter", str(src_dir), str(tgt_dir), "-o", str(tmp_path / "e"), "--ids", str(train_ids),
                            "--config", str(conf)])
    assert r.exit_code != 0 and "hidden: not an option of arch = 'conv'" in r.output
    assert len(r.output.strip().splitlines()) == 1 and not (tmp_path / "e").exists()


def test_a_crop_longer_than_every_utterance_is_refused_naming_the_source(parallel, tmp_path):
    too_long = r"slt.*\[dnn\] segment = 5000 frames is longer than every training utterance"
    with pytest.raises(VawganError, match=too_long):
        train_converter(tmp_path / "e", _config(*parallel, dnn__segment=5000, dnn__rounds=1), jobs=1, progress=False)


def test_crop_interior_by_hand():
    from vawgan_tts.batching import crop_interior, frame_positions

    pos = torch.from_numpy(frame_positions(10))[None]  # one utterance of 10 frames
    # A crop of frames 2..7 (not at either end of the utterance), margin 2: frames 4 and 5 only.
    np.testing.assert_array_equal(crop_interior(pos[:, 2:8], 2)[0].numpy(), [0, 0, 1, 1, 0, 0])
    # Crops at the utterance's own start / end keep the frames by that edge.
    np.testing.assert_array_equal(crop_interior(pos[:, 0:6], 2)[0].numpy(), [1, 1, 1, 1, 0, 0])
    np.testing.assert_array_equal(crop_interior(pos[:, 4:10], 2)[0].numpy(), [0, 0, 1, 1, 1, 1])
    np.testing.assert_array_equal(crop_interior(pos, 2)[0].numpy(), np.ones(10))
    # A short utterance padded to the crop length is one whole crop: every frame kept.
    np.testing.assert_array_equal(frame_positions(3, 5), [[0, 4], [1, 3], [2, 2], [3, 1], [4, 0]])


def test_the_crop_loss_counts_exactly_the_frames_that_match_the_whole_utterance(parallel):
    """Every frame the crop mask keeps has the output the whole utterance gives it (the loss trains
    what conversion computes), and the frames it drops include ones that differ (the mask is tight)."""
    from vawgan_tts.batching import SegmentBatches, crop_interior, frame_positions

    utts = [load_features(parallel[0] / f"{u}.npz").mcep[:, 1:] for u in PROMPTS[:3]]
    xs = [torch.from_numpy(((c - c.mean(0)) / c.std(0)).astype(np.float32)) for c in utts]
    torch.manual_seed(0)
    model = ConvConverter(39, 8, (16, 16), 5, (1, 2)).eval()
    margin = model.receptive_field // 2
    batches = SegmentBatches([xs, [torch.arange(len(x)).float() for x in xs], [torch.full((len(x),), float(i)) for i, x in enumerate(xs)],
                              [torch.from_numpy(frame_positions(len(x))) for x in xs]], 60, 40, crops=200)
    kept = differ = 0
    with torch.no_grad():
        whole = [model(x[None])[0] for x in xs]
        for x, index, which, pos in batches.epoch(torch.Generator().manual_seed(1)):
            out, keep = model(x), crop_interior(pos, margin) > 0
            ref = torch.stack([whole[int(w[0])][index_row.long()] for w, index_row in zip(which, index)])
            close = (out - ref).abs().amax(-1) < 1e-5
            assert bool(close[keep].all())
            kept, differ = kept + int(keep.sum()), differ + int((~close[~keep]).sum())
    assert kept > 0 and differ > 0


def test_the_training_step_takes_the_crop_mask_and_the_configured_loss():
    """A conv batch with positions trains on the paired frames the crop mask keeps (what conversion
    of the whole utterance gives them), a batch without on its mask alone; loss = "trajectory" is
    the TrajectoryError's value, refused in one line when the run built none; the log's key is "loss"."""
    from vawgan_tts.batching import crop_interior, frame_positions
    from vawgan_tts.tasks.dnn_converter import TrajectoryError

    from conftest import RecordingContext

    torch.manual_seed(0)
    cfg = DNNConverterConfig(arch="conv", channels=(8,), kernel=5, dilations=(1,), segment=16)
    task = DNNConverterTask(cfg, 39, DIM_OUT)
    x, y = torch.randn(2, 16, 39), torch.randn(2, 16, DIM_OUT)
    mask = torch.ones(2, 16)
    whole = torch.from_numpy(frame_positions(40))
    pos = torch.stack([whole[10:26], whole[:16]])  # a crop inside an utterance, one at its start
    kept = mask * crop_interior(pos, task.model.receptive_field // 2)
    assert 0 < float(kept.sum()) < 32
    with torch.no_grad():  # the recording context steps nothing: the weights stay as they are
        on_kept, on_mask = float(task.loss(x, y, kept)), float(task.loss(x, y, mask))
    out = task.train_step((x, y, mask, pos), "dnn", RecordingContext(task.make_optimizers()))
    assert set(out) == {"loss"}
    assert float(out["loss"]) == pytest.approx(on_kept, rel=1e-6) and on_kept != pytest.approx(on_mask, rel=1e-3)
    plain = task.train_step((x, y, kept), "dnn", RecordingContext(task.make_optimizers()))
    assert float(plain["loss"]) == pytest.approx(on_kept, rel=1e-6)
    traj = DNNConverterTask(dataclasses.replace(cfg, loss="trajectory"), 39, DIM_OUT)
    with pytest.raises(RuntimeError, match="^loss = 'trajectory' needs the TrajectoryError the training run builds$"):
        traj.loss(x, y, mask)
    traj.trajectory = TrajectoryError(16, np.zeros(DIM_OUT), np.ones(DIM_OUT), np.ones(DIM_OUT))
    with torch.no_grad():
        expected = traj.trajectory(traj.model(x), y, mask)
        assert float(traj.loss(x, y, mask)) == pytest.approx(float(expected), rel=1e-6)
        assert float(expected) != pytest.approx(float(((traj.model(x) - y) ** 2).mean()), rel=1e-3)


def test_predict_utterance_and_the_model_choice_for_each_arch():
    """predict_utterance: the frame arch's MLP over each frame's context window (edges repeated), the
    conv arch's network over the whole trajectory, both in eval mode; converter_model builds each
    arch with the config's dropout."""
    from vawgan_tts.runs.converter import context_windows, predict_utterance
    from vawgan_tts.tasks.dnn_converter import converter_model

    torch.manual_seed(0)
    x = np.random.default_rng(0).standard_normal((30, 39)).astype(np.float32)
    frame = DNNConverterTask(DNNConverterConfig(hidden=16, layers=2, context=2, dropout=0.5), 39, DIM_OUT)
    got = predict_utterance(frame, x)
    assert not frame.model.training and got.shape == (30, DIM_OUT)
    with torch.no_grad():
        want = frame.model(torch.from_numpy(context_windows(x, 2).astype(np.float32))).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)
    conv = DNNConverterTask(DNNConverterConfig(arch="conv", channels=(8,), kernel=5, dilations=(1,), dropout=0.5),
                            39, DIM_OUT)
    got = predict_utterance(conv, x)
    with torch.no_grad():
        np.testing.assert_allclose(got, conv.model(torch.from_numpy(x)[None])[0].numpy(), rtol=1e-6, atol=1e-6)
    for arch, extra in (("frame", {}), ("conv", {"channels": (8,), "dilations": (1,)})):
        model = converter_model(DNNConverterConfig(arch=arch, dropout=0.3, **extra), 39, DIM_OUT)
        assert {m.p for m in model.modules() if isinstance(m, torch.nn.Dropout)} == {0.3}  # after each hidden layer
    two = converter_model(DNNConverterConfig(arch="conv", dropout=0.3, channels=(8, 8), dilations=(1, 2)), 39, DIM_OUT)
    kinds = [type(m).__name__ for m in two.net]
    assert kinds.count("Dropout") == 2 and all(kinds[i - 1] == "ReLU" for i, k in enumerate(kinds) if k == "Dropout")
    for plain in (ConvConverter(39, 8, (8,), 5, (1,)), converter_model(DNNConverterConfig(arch="conv", channels=(8,),
                                                                                          dilations=(1,)), 39, 8)):
        assert not any(isinstance(m, torch.nn.Dropout) for m in plain.modules())  # none at dropout 0, the default
    with pytest.raises(ValueError, match="^2 hidden layers need as many dilations, not 1$"):
        ConvConverter(39, 8, (8, 8), 5, (1,))


# ------------------------------------------------------------------ the trajectory loss (MGE)


def test_the_trajectory_loss_is_mlpg_of_the_crop_against_the_target_statics(parallel):
    """The torch operator gives what whole-array MLPG gives on the same crop, the loss is the masked
    mean of its statics' error, it reaches the Δ and ΔΔ outputs (the frames loss's statics alone would
    not), and means whose streams agree with the target trajectory cost nothing."""
    from vawgan_tts.runs.converter import _trajectory
    from vawgan_tts.tasks.dnn_converter import TrajectoryError

    pairs = _aligned_pairs(parallel, TRAIN)
    cfg = DNNConverterConfig(arch="conv", loss="trajectory", segment=40)
    norm = _normalization(pairs, TRAIN, cfg)
    y_all = np.concatenate([pairs.dyn[u] for u in TRAIN])
    np.testing.assert_allclose(norm.residual_var * norm.y_std**2, y_all.var(0), rtol=1e-6)  # the targets' own
    loss = TrajectoryError(40, norm.y_mean, norm.y_std, norm.residual_var * norm.y_std**2)
    _, ys, masks = _sequences(pairs, TRAIN[:2], norm, cfg)
    y = torch.stack([ys[0][10:50], ys[1][:40]])
    mask = torch.stack([masks[0][10:50], masks[1][:40]])
    pred = (y + 0.3 * torch.randn(y.shape, generator=torch.Generator().manual_seed(0))).requires_grad_(True)
    c = loss.statics(pred)
    for b in range(2):
        np.testing.assert_allclose(c[b].detach().numpy(), _trajectory(norm, pred[b].detach().double().numpy()).numpy(),
                                   rtol=1e-4, atol=1e-4)
    err = ((c - y[..., :39]) ** 2).mean(-1)
    value = loss(pred, y, mask)
    assert float(value.detach()) == pytest.approx(float(((err * mask).sum() / mask.sum()).detach()), rel=1e-5)
    value.backward()
    assert float(pred.grad[..., 39:].abs().sum()) > 0 and float(pred.grad[mask == 0].abs().sum()) > 0  # unpaired frames' means count through MLPG
    # Statics, Δ and ΔΔ of one trajectory (the crop's own edges repeated, as MLPG's windows do): no error.
    from vawgan_tts.mlpg import delta_features
    statics = y[0, :, :39].double().numpy() * norm.y_std[:39] + norm.y_mean[:39]
    consistent = torch.from_numpy(((delta_features(statics) - norm.y_mean) / norm.y_std).astype(np.float32))[None]
    assert float(loss(consistent, consistent, torch.ones(1, 40))) < 1e-8
    with pytest.raises(ValueError, match="crops of 40 frames, not 39"):
        loss.statics(pred[:, :39])


def test_the_trajectory_loss_trains_and_conversion_uses_its_variances(parallel, tmp_path):
    exp = tmp_path / "traj"
    summary = train_converter(exp, _config(*parallel, dnn__loss="trajectory", dnn__epochs=15), jobs=2, progress=False)
    dev = json.loads((exp / "round2/dev.json").read_text())["epochs"]
    assert dev[-1]["dev_loss"] < dev[0]["dev_loss"] and summary["rounds"][1]["dev_loss"] == pytest.approx(min(e["dev_loss"] for e in dev), abs=1e-5)
    conv = Converter(exp)
    norm = conv.norm
    sides = _load_sides(*parallel, TRAIN)
    aligned = load_alignments(exp / "round2/align.npz")
    y_all = np.concatenate([_learning_pairs(sides, {u: aligned[u] for u in TRAIN}).dyn[u] for u in TRAIN])
    np.testing.assert_allclose(norm.residual_var * norm.y_std**2, y_all.var(0), rtol=1e-5)  # kept, not the residuals'
    before, after = conversion_mcds(conv.convert_mcep, *parallel, TRAIN)
    assert np.mean(after) < np.mean(before) - 2.0


def test_the_trajectory_loss_is_a_conv_option():
    with pytest.raises(VawganError, match="loss: not an option of arch = 'frame'"):
        DNNConverterConfig(loss="trajectory")
    with pytest.raises(VawganError, match="loss"):
        DNNConverterConfig(arch="conv", loss="mge")


# ---------------------------------------------------------------------- an ensemble (members)


def test_an_ensemble_trains_its_members_in_the_last_round_and_converts_with_their_mean(parallel, tmp_path):
    from vawgan_tts.mlpg import mlpg
    from vawgan_tts.runs.converter import input_columns, member_seed, predict_utterance

    exp = tmp_path / "ens"
    summary = train_converter(exp, _config(*parallel, dnn__members=3, dnn__epochs=4), jobs=2, progress=False)
    assert "member_dev_losses" not in summary["rounds"][0]  # earlier rounds only align: one network
    assert len(summary["rounds"][1]["member_dev_losses"]) == 3 and not (exp / "round1/member1").exists()
    for m in (1, 2):
        assert (exp / f"round2/member{m}/checkpoints/dnn_best.pt").is_file()
        assert (exp / f"round2/member{m}/stats.npz").is_file() and (exp / f"round2/member{m}/dev.json").is_file()
    assert member_seed(0, 1) not in (0, 1, 2) and member_seed(1, 1) != member_seed(0, 1)
    conv = Converter(exp)
    assert len(conv.members) == 3
    src = load_features(parallel[0] / f"{DEV[0]}.npz")
    outs = []
    for trained, n in conv.members:  # each member alone, then the mean of their means through one MLPG
        x = src.mcep.astype(np.float64)[:, input_columns(trained.task.config)]
        outs.append((predict_utterance(trained.task, (x - n.x_mean) / n.x_std) * n.y_std + n.y_mean, n.residual_var * n.y_std**2))
    assert not np.allclose(outs[0][0], outs[1][0], atol=1e-3)  # the members differ
    expected = mlpg(np.mean([m for m, _ in outs], 0), np.mean([v for _, v in outs], 0))
    np.testing.assert_allclose(conv.convert_mcep(src.mcep), expected, rtol=1e-6, atol=1e-6)
    one = Converter(exp, members=1)
    np.testing.assert_allclose(one.convert_mcep(src.mcep), mlpg(*outs[0]), rtol=1e-6, atol=1e-6)
    with pytest.raises(VawganError, match="--members 4: round 2 of this converter has 3 networks"):
        Converter(exp, members=4)
    with pytest.raises(VawganError, match="ensemble of 3"):
        train_adversarial(exp, AdversarialConverterConfig(critic_epochs=1, adv_epochs=1), progress=False)
    r = runner.invoke(app, ["convert", str(parallel[0]), "-m", str(exp), "-o", str(tmp_path / "c2"), "--members", "2",
                            "--ids", str(_ids(tmp_path, DEV[:1]))])
    assert r.exit_code == 0, r.output
    two = Converter(exp, members=2)
    np.testing.assert_allclose(load_features(tmp_path / "c2" / f"{DEV[0]}.npz").mcep[:, 1:], two.convert_mcep(src.mcep),
                               rtol=1e-5, atol=1e-5)
    # Interrupted after the last member's final epoch, before its stats and the round's summary: resumed, the
    # finished members are kept and the last one ends with the same weights.
    before = torch.load(exp / "round2/member2/checkpoints/dnn_best.pt", weights_only=False)["model"]["model"]
    for name in ("round2/round.json", "rounds.json", "round2/member2/stats.npz"):
        (exp / name).unlink()
    again = train_converter(exp, _config(*parallel, dnn__members=3, dnn__epochs=4), jobs=2, progress=False, resume=True)
    assert again["rounds"][1]["member_dev_losses"] == summary["rounds"][1]["member_dev_losses"]
    after = torch.load(exp / "round2/member2/checkpoints/dnn_best.pt", weights_only=False)["model"]["model"]
    assert all(torch.equal(before[k], after[k]) for k in before) and (exp / "round2/member2/stats.npz").is_file()


def test_align_epochs_trains_the_rounds_before_the_last_shorter(parallel, tmp_path):
    from vawgan_tts.runs.converter import round_config

    exp = tmp_path / "short"
    summary = train_converter(exp, _config(*parallel, dnn__epochs=3, dnn__align_epochs=1, dnn__rounds=3), jobs=2, progress=False)
    epochs = [len(json.loads((exp / f"round{k}/dev.json").read_text())["epochs"]) for k in (1, 2, 3)]
    assert epochs == [1, 1, 3] and len(summary["rounds"]) == 3  # each round's network measured once an epoch
    assert Converter(exp).convert_mcep(load_features(parallel[0] / f"{DEV[0]}.npz").mcep).shape[1] == 39
    cfg = DNNConverterConfig(arch="conv", epochs=20, align_epochs=5, rounds=3)
    assert [round_config(cfg, k).epochs for k in (1, 2, 3)] == [5, 5, 20] and round_config(cfg, 3) is cfg
    unset = DNNConverterConfig(arch="conv", epochs=20, rounds=3)
    assert all(round_config(unset, k) is unset for k in (1, 2, 3))  # unset: every round trains epochs
    with pytest.raises(VawganError, match=r"\[dnn\] align_epochs = 0: must be ≥ 1"):
        DNNConverterConfig(align_epochs=0)


def _ids(tmp_path, utts):
    path = tmp_path / "some.ids"
    path.write_text("".join(f"{u}\n" for u in utts))
    return path


def test_the_masked_frame_mean_by_hand():
    from vawgan_tts.tasks.base import masked_frame_mean

    per_frame, mask = torch.tensor([[3.0, 5.0, 7.0]]), torch.tensor([[0.0, 1.0, 0.0]])
    assert float(masked_frame_mean(per_frame, mask)) == 5.0  # one frame counted: its own value
    assert float(masked_frame_mean(per_frame, torch.tensor([[1.0, 0.0, 1.0]]))) == 5.0
    assert float(masked_frame_mean(per_frame, torch.zeros(1, 3))) == 0.0  # none counted: 0, not a division by 0
