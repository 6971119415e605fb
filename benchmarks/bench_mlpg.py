"""MLPG per utterance: the banded solve of every dimension at once against the per-dimension loop
it replaced and a dense solve of the same normal equations, side by side in one run.

Inputs: the demo corpus's utterances (Allison prompts, dio features), c1..c39 with their Δ and ΔΔ,
with Gaussian noise added (so the streams disagree, as a converter's predictions do) and per-frame
variances drawn from [0.05, 3]. Each method runs on every utterance; the figure is the median time
per utterance over the utterances, and the output's largest absolute difference from the dense
solve.

  banded         vawgan_tts.mlpg.mlpg: the band of all 39 normal-equation systems written with numpy,
                 one solveh_banded per dimension
  per-dimension  the implementation before it (kept below, verbatim): three sparse window matrices and
                 their products built once per dimension
  dense          numpy.linalg.solve of Wᵀ Σ⁻¹ W per dimension (T×T; utterances up to 600 frames)

Usage: python benchmarks/bench_mlpg.py [--quick]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import numpy as np
import scipy.linalg
import scipy.sparse

from common import REPO, demo_features, table
from vawgan_tts.features import load_features
from vawgan_tts.mlpg import WINDOWS, delta_features, mlpg, window_matrix

sys.path.insert(0, str(REPO / "tests"))
from test_mlpg import _dense_mlpg as mlpg_dense  # noqa: E402  (the tests' reference: one dense solve per dimension)

DENSE_MAX_FRAMES = 600


def mlpg_per_dimension(means: np.ndarray, variances: np.ndarray) -> np.ndarray:
    """The per-dimension loop of vawgan_tts.mlpg before the banded rewrite (commit a80ecc1 and earlier)."""
    means = np.asarray(means, dtype=np.float64)
    t, d3 = means.shape
    d = d3 // len(WINDOWS)
    prec = 1.0 / np.broadcast_to(np.asarray(variances, dtype=np.float64), means.shape)
    mats = [window_matrix(t, w) for w in WINDOWS]
    out = np.empty((t, d))
    for k in range(d):
        cols = [j * d + k for j in range(len(WINDOWS))]
        p = sum(m.T @ scipy.sparse.diags(prec[:, c]) @ m for m, c in zip(mats, cols))
        b = sum(m.T @ (prec[:, c] * means[:, c]) for m, c in zip(mats, cols))
        p = scipy.sparse.dia_matrix(p)
        ab = np.zeros((3, t))
        for u in range(3):
            ab[2 - u, u:] = p.diagonal(u)
        out[:, k] = scipy.linalg.solveh_banded(ab, b)
    return out


def _time(fn, *args) -> tuple[float, np.ndarray]:
    start = time.perf_counter()
    out = fn(*args)
    return time.perf_counter() - start, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="10 utterances")
    args = ap.parse_args()
    feats_dir, ids = demo_features()
    ids = ids[::10][: 10 if args.quick else 56]
    rng = np.random.default_rng(0)
    times = {"banded": [], "per-dimension": [], "dense": []}
    worst = {"banded": 0.0, "per-dimension": 0.0}
    frames = []
    for utt in ids:
        c = load_features(feats_dir / f"{utt}.npz").mcep[:, 1:].astype(np.float64)
        means = delta_features(c) + 0.3 * rng.standard_normal((len(c), 3 * c.shape[1]))
        variances = rng.uniform(0.05, 3.0, size=means.shape)
        frames.append(len(c))
        mlpg(means, variances)  # warm caches once per shape
        t_new, new = _time(mlpg, means, variances)
        t_old, old = _time(mlpg_per_dimension, means, variances)
        times["banded"].append(t_new)
        times["per-dimension"].append(t_old)
        ref = old
        if len(c) <= DENSE_MAX_FRAMES:
            t_dense, ref = _time(mlpg_dense, means, variances)
            times["dense"].append(t_dense)
        worst["banded"] = max(worst["banded"], float(np.abs(new - ref).max()))
        worst["per-dimension"] = max(worst["per-dimension"], float(np.abs(old - ref).max()))
        worst["banded vs per-dimension"] = max(worst.get("banded vs per-dimension", 0.0), float(np.abs(new - old).max()))
    med = {k: statistics.median(v) for k, v in times.items() if v}
    rows = [[k, f"{1000 * med[k]:.2f}", f"{med[k] / med['banded']:.1f}×",
             f"{worst[k]:.1e}" if k in worst else "(reference)"] for k in med]
    print(f"{len(ids)} utterances, {min(frames)}–{max(frames)} frames (median {int(np.median(frames))}), "
          f"39 dimensions; dense solve on the {len(times['dense'])} of ≤ {DENSE_MAX_FRAMES} frames")
    print(table(rows, ["method", "ms/utt (median)", "time vs banded", "max |Δ| vs dense"]))
    print(f"banded MLPG is {med['per-dimension'] / med['banded']:.0f}× the per-dimension loop; largest difference "
          f"between the two outputs {worst['banded vs per-dimension']:.1e}")


if __name__ == "__main__":
    main()
