"""Image datasets: Fashion-MNIST and MNIST from idx files, scikit-learn's 8×8 digits.

The idx format (LeCun et al.): a 4-byte magic ``0 0 <type> <ndim>``, then ``ndim`` big-endian
uint32 sizes, then the data. We read it with numpy (``.gz`` or plain) and check every part.
"""

from __future__ import annotations

import dataclasses
import gzip
import os
from pathlib import Path

import numpy as np

from ..choices import IMAGE_DATASETS
from ..errors import VawganError

IDX_TYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
FASHION_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                   "Ankle boot")
IDX_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
# Where Debian's dataset-fashion-mnist puts it, and where `make data` unpacks it without root.
DEBIAN_FASHION = Path("/usr/share/datasets/fashion-mnist")
REPO_DOWNLOADS = Path(__file__).resolve().parents[2] / "downloads"
FETCHED_FASHION = REPO_DOWNLOADS / "dataset-fashion-mnist" / "root" / "usr/share/datasets/fashion-mnist"


def read_idx(path: str | Path) -> np.ndarray:
    """An idx file (optionally gzip-compressed) as a numpy array of its declared shape."""
    path = Path(path)
    try:
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        raise VawganError(path, "no such file") from None
    except (OSError, EOFError) as e:
        raise VawganError(path, f"cannot read idx file ({e})") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise VawganError(path, "not an idx file (bad magic number)")
    code, ndim = raw[2], raw[3]
    if code not in IDX_TYPES or ndim == 0:
        raise VawganError(path, f"not an idx file (type code 0x{code:02x}, {ndim} dimensions)")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise VawganError(path, "truncated idx header")
    shape = tuple(int(d) for d in np.frombuffer(raw, ">u4", count=ndim, offset=4))
    dtype = np.dtype(IDX_TYPES[code])
    expected = int(np.prod(shape)) * dtype.itemsize
    if len(raw) - header != expected:
        raise VawganError(path, f"holds {len(raw) - header} data bytes, its header {shape} needs {expected} (truncated?)")
    return np.frombuffer(raw, dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))


@dataclasses.dataclass(frozen=True)
class ImageSet:
    """``images``: uint8 (N, 1, H, W); ``labels``: int64 (N,)."""

    name: str
    images: np.ndarray
    labels: np.ndarray
    classes: tuple[str, ...]

    @property
    def shape(self) -> tuple[int, int, int]:
        return tuple(self.images.shape[1:])


def find_idx_dir(name: str, data_dir: str | Path | None) -> Path:
    """The folder with the idx files of ``name``: ``data_dir``, else $VAWGAN_DATA/<name>, else (for
    Fashion-MNIST) Debian's install path or the copy `make data` fetched."""
    if data_dir is not None:
        candidates = [Path(data_dir)]
    else:
        candidates = [Path(os.environ["VAWGAN_DATA"]) / name] if os.environ.get("VAWGAN_DATA") else []
        if name == "fashion-mnist":
            candidates += [DEBIAN_FASHION, FETCHED_FASHION]
    for d in candidates:
        if _idx_path(d, IDX_FILES["train"][0]) is not None:
            return d
    if name == "mnist":
        how = "point --data-dir at a folder with MNIST's idx files (train-images-idx3-ubyte[.gz], …)"
    else:
        how = ("install Debian's dataset-fashion-mnist, or run `make data` (fetches it without root into "
               "downloads/), or point --data-dir at its idx files")
    if candidates:
        raise VawganError(None, f"{name}: no idx files found (looked in {', '.join(map(str, candidates))}); {how}")
    raise VawganError(None, f"{name}: no folder given and $VAWGAN_DATA unset; {how}")


def _idx_path(folder: Path, stem: str) -> Path | None:
    for p in (folder / f"{stem}.gz", folder / stem):
        if p.is_file():
            return p
    return None


def load_image_set(name: str, split: str = "train", data_dir: str | Path | None = None) -> ImageSet:
    """``split`` is train or test; digits (1797 images) are split 1497 / 300 in a fixed order."""
    if name not in IMAGE_DATASETS:
        raise VawganError(None, f"unknown image dataset {name!r}; choose from {', '.join(IMAGE_DATASETS)}")
    if split not in IDX_FILES:
        raise VawganError(None, f"unknown split {split!r}; choose train or test")
    if name == "digits":
        from sklearn.datasets import load_digits

        d = load_digits()
        images = np.rint(d.images * (255 / 16)).astype(np.uint8)[:, None]
        order = np.random.default_rng(0).permutation(len(images))
        idx = order[300:] if split == "train" else order[:300]
        return ImageSet(name, images[idx], d.target[idx].astype(np.int64), tuple(str(i) for i in range(10)))
    folder = find_idx_dir(name, data_dir)
    img_stem, lab_stem = IDX_FILES[split]
    paths = [_idx_path(folder, s) for s in (img_stem, lab_stem)]
    missing = [s for s, p in zip((img_stem, lab_stem), paths) if p is None]
    if missing:
        raise VawganError(folder, f"missing {', '.join(missing)}[.gz]")
    images, labels = read_idx(paths[0]), read_idx(paths[1])
    if images.ndim != 3 or images.dtype != np.uint8:
        raise VawganError(paths[0], f"expected uint8 images of shape (N, H, W), found {images.dtype} {images.shape}")
    if labels.ndim != 1 or len(labels) != len(images):
        raise VawganError(paths[1], f"{labels.shape} labels for {len(images)} images")
    classes = FASHION_CLASSES if name == "fashion-mnist" else tuple(str(i) for i in range(10))
    return ImageSet(name, images[:, None], labels.astype(np.int64), classes)
