"""Image sets (idx reader, Fashion-MNIST, digits) and the toy mixture with its coverage metric."""

import gzip

import numpy as np
import pytest

from vawgan_tts.data.images import load_image_set, read_idx
from vawgan_tts.data.toy import GRID, STD, gaussian_grid, grid_modes, mode_metrics
from vawgan_tts.errors import VawganError


def test_fashion_mnist_test_split_has_documented_shapes(fashion_dir):
    s = load_image_set("fashion-mnist", "test", fashion_dir)
    assert s.images.shape == (10000, 1, 28, 28) and s.images.dtype == np.uint8
    assert s.labels.shape == (10000,)
    assert np.bincount(s.labels).tolist() == [1000] * 10  # the test set is balanced
    assert s.classes[9] == "Ankle boot"
    assert 0 < s.images.mean() < 255


def test_idx_round_trip_and_magic(tmp_path):
    arr = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    raw = bytes([0, 0, 0x08, 3]) + np.array(arr.shape, ">u4").tobytes() + arr.tobytes()
    (tmp_path / "a-idx3-ubyte").write_bytes(raw)
    with gzip.open(tmp_path / "a-idx3-ubyte.gz", "wb") as f:
        f.write(raw)
    assert np.array_equal(read_idx(tmp_path / "a-idx3-ubyte"), arr)
    assert np.array_equal(read_idx(tmp_path / "a-idx3-ubyte.gz"), arr)
    (tmp_path / "bad").write_bytes(b"\x01\x02" + raw[2:])
    with pytest.raises(VawganError, match="magic"):
        read_idx(tmp_path / "bad")
    (tmp_path / "badtype").write_bytes(bytes([0, 0, 0x07, 3]) + raw[4:])
    with pytest.raises(VawganError, match="type code"):
        read_idx(tmp_path / "badtype")


def test_truncated_real_idx_is_refused_naming_the_file(fashion_dir, tmp_path):
    with gzip.open(fashion_dir / "t10k-labels-idx1-ubyte.gz", "rb") as f:
        raw = f.read()
    cut = tmp_path / "t10k-labels-idx1-ubyte"
    cut.write_bytes(raw[: len(raw) - 100])
    with pytest.raises(VawganError) as e:
        read_idx(cut)
    assert str(cut) in str(e.value) and "truncated" in str(e.value)
    gz = tmp_path / "cut.gz"
    gz.write_bytes(gzip.compress(raw)[:-30])  # a gzip stream cut short
    with pytest.raises(VawganError, match="cut.gz"):
        read_idx(gz)


def test_missing_dataset_says_how_to_get_it(tmp_path):
    with pytest.raises(VawganError, match="--data-dir") as e:
        load_image_set("mnist", "train", None)
    assert "mnist" in str(e.value)
    with pytest.raises(VawganError, match="no idx files"):
        load_image_set("fashion-mnist", "train", tmp_path)


def test_digits_split_is_fixed_and_disjoint():
    a, b = load_image_set("digits", "train"), load_image_set("digits", "test")
    assert a.images.shape == (1497, 1, 8, 8) and b.images.shape == (300, 1, 8, 8)
    assert a.images.max() == 255
    again = load_image_set("digits", "test")
    assert np.array_equal(b.images, again.images)


def test_perfect_sampler_covers_every_mode():
    x, labels = gaussian_grid(4000, seed=3)
    assert x.shape == (100000, 2) and np.bincount(labels).tolist() == [4000] * 25
    m = mode_metrics(x)
    assert m["modes_captured"] == 25
    # Within 3σ of a 2-D isotropic Gaussian: 1 − exp(−9/2) = 0.9889.
    assert m["high_quality_ratio"] == pytest.approx(1 - np.exp(-4.5), abs=0.003)


def test_collapsed_sampler_captures_one_mode():
    rng = np.random.default_rng(0)
    x = np.array([GRID[1], GRID[3]]) + rng.normal(0, STD, (5000, 2))
    m = mode_metrics(x)
    assert m["modes_captured"] == 1 and m["high_quality_ratio"] > 0.98
    # Spread uniformly over the square: most samples fall between modes.
    u = rng.uniform(-5, 5, (20000, 2))
    mu = mode_metrics(u)
    assert mu["high_quality_ratio"] < 0.05 and mu["modes_captured"] == 0
    # A mode needs ≥ 1 % of all samples: 0.5 % near one mode does not count.
    few = np.concatenate([u, grid_modes()[:1] + rng.normal(0, STD, (100, 2))])
    assert mode_metrics(few)["modes_captured"] == 0
