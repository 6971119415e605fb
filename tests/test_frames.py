"""The frame store (memory-mapped training frames) and the batches drawn from it, on real features."""

import os

import numpy as np
import pytest
import torch

from vawgan_tts import extract as X
from vawgan_tts.batching import TensorBatches
from vawgan_tts.extract import ExtractConfig
from vawgan_tts.data.frames import FrameBatches, frame_store, load_frames, normalize
from vawgan_tts.errors import VawganError
from vawgan_tts.features import FeatureStats

IDS = ["vm-forward-multiple", "conf-onlyperson", "activated"]


@pytest.fixture()
def feats(tmp_path, allison_dir):
    out = tmp_path / "feats"
    X.run([allison_dir / f"{u}.wav" for u in IDS], out, ExtractConfig(f0_method="dio"), jobs=1)
    return out


def test_store_holds_the_speech_frames_and_their_statistics(feats):
    store = frame_store(feats, IDS, 30.0)
    frames = load_frames(feats, IDS, 30.0)
    mapped = store.open()
    assert isinstance(mapped, np.memmap) and mapped.shape == frames.shape == (store.n_frames, 39)
    assert np.array_equal(np.asarray(mapped), frames)
    for i, utt in enumerate(IDS):  # the index: each utterance's rows
        assert np.array_equal(store.utterance(mapped, i), load_frames(feats, [utt], 30.0))
    ref = FeatureStats.from_frames(frames)
    np.testing.assert_allclose(store.stats.mean, ref.mean, rtol=1e-10)
    np.testing.assert_allclose(store.stats.std, ref.std, rtol=1e-8)
    # Every frame without the silence threshold: a different store.
    assert frame_store(feats, IDS, None).n_frames > store.n_frames


def test_store_is_reused_until_a_feature_file_changes(feats):
    first = frame_store(feats, IDS, 30.0)
    stamp = first.data.stat().st_mtime_ns
    again = frame_store(feats, IDS, 30.0)
    assert again.data == first.data and again.data.stat().st_mtime_ns == stamp
    os.utime(feats / f"{IDS[0]}.npz")  # re-extracted (touched): a new store
    changed = frame_store(feats, IDS, 30.0)
    assert changed.data != first.data and changed.n_frames == first.n_frames
    with pytest.raises(VawganError, match="not built"):
        frame_store(feats, IDS[:1], 30.0, build=False)


def test_damaged_store_and_missing_utterance_are_clear_errors(feats):
    store = frame_store(feats, IDS, 30.0)
    with open(store.data, "r+b") as f:
        f.truncate(store.data.stat().st_size - 4)
    with pytest.raises(VawganError, match="damaged"):
        store.open()
    with pytest.raises(VawganError, match="no features"):
        frame_store(feats, [*IDS, "nope"], 30.0)
    assert not list((feats / "frames").glob(".tmp-*"))


def test_frame_batches_cover_the_epoch_normalized_and_shard_it(feats):
    store = frame_store(feats, IDS, 30.0)
    expected = torch.from_numpy(normalize(load_frames(feats, IDS, 30.0), store.stats))
    batches = FrameBatches(store.open(), store.stats, batch_size=64)
    rows = torch.cat(list(batches.epoch(torch.Generator().manual_seed(3))))
    assert rows.shape == expected.shape
    # The same rows, each once, normalized like the in-memory path.
    order = lambda t: t[torch.argsort(t[:, 0] * 1e4 + t[:, 1])]  # noqa: E731
    torch.testing.assert_close(order(rows), order(expected), rtol=1e-5, atol=1e-5)
    # Two shards: disjoint, equally long, together the first 2·len batches of the epoch.
    full = list(TensorBatches(expected, batch_size=64).epoch(torch.Generator().manual_seed(3)))
    shards = [list(batches.shard(r, 2).epoch(torch.Generator().manual_seed(3))) for r in (0, 1)]
    assert len(shards[0]) == len(shards[1]) == len(full) // 2
    for i in range(len(full) // 2):
        for r in (0, 1):
            a, b = shards[r][i], full[2 * i + r]
            torch.testing.assert_close(order(a), order(b), rtol=1e-5, atol=1e-5)
    # A resumed epoch continues with the same batches.
    tail = list(batches.epoch(torch.Generator().manual_seed(3), start=2))
    head = list(batches.epoch(torch.Generator().manual_seed(3)))
    assert all(torch.equal(a, b) for a, b in zip(tail, head[2:]))
