"""Dynamic features and maximum-likelihood parameter generation (MLPG).

A model that predicts, per frame, the mean of static + Δ + ΔΔ features gives frame-wise guesses
that need not agree with each other; MLPG finds the static trajectory c that is most likely under
them (Tokuda et al. 2000, eq. 18–20): with W the (3T × T) matrix that maps a trajectory to its
statics, deltas and delta-deltas, μ the predicted means and Σ their (diagonal) variances,

    c = (Wᵀ Σ⁻¹ W)⁻¹ Wᵀ Σ⁻¹ μ.

Each dimension is its own system. Wᵀ Σ⁻¹ W is symmetric, positive definite and banded (the
windows reach one frame each way, so its bandwidth is 2): ``scipy.linalg.solveh_banded`` solves it
in O(T). At the ends of an utterance a window reaching outside repeats the edge frame; the same
rule makes :func:`delta_features` equal ``W @ c``, so MLPG of exact dynamic features returns the
trajectory they came from.

With variances that do not depend on the means (global, per output dimension), MLPG is linear in
the means: :func:`mlpg_operator` gives the matrix, so a network can be trained through MLPG on its
static trajectory's error (minimum generation error: Wu & Tokuda 2008 for HMMs; for neural voice
conversion, Xie et al. 2014, "Sequence error minimization training of neural network for voice
conversion").
"""

from __future__ import annotations

import numpy as np
import scipy.linalg
import scipy.linalg.lapack
import scipy.sparse

# Windows over frames t-1, t, t+1 (HTS's defaults).
WINDOWS = (
    np.array([0.0, 1.0, 0.0]),  # static
    np.array([-0.5, 0.0, 0.5]),  # Δ
    np.array([1.0, -2.0, 1.0]),  # ΔΔ
)


def window_matrix(n_frames: int, window: np.ndarray) -> scipy.sparse.csr_matrix:
    """(T, T) sparse: row t applies ``window`` (over t-1, t, t+1) to a trajectory, the edge frame
    standing in for frames before the first and after the last."""
    rows, cols, vals = [], [], []
    for k, w in zip((-1, 0, 1), window):
        if w == 0.0:
            continue
        t = np.arange(n_frames)
        rows.append(t)
        cols.append(np.clip(t + k, 0, n_frames - 1))
        vals.append(np.full(n_frames, w))
    m = scipy.sparse.coo_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                                shape=(n_frames, n_frames))
    return m.tocsr()  # duplicates (the folded edge coefficients) are summed


def delta_features(c: np.ndarray) -> np.ndarray:
    """(T, D) statics -> (T, 3D): [c, Δc, ΔΔc], each block ``window_matrix(T, w) @ c``."""
    c = np.asarray(c, dtype=np.float64)
    padded = np.concatenate([c[:1], c, c[-1:]])
    prev, cur, nxt = padded[:-2], padded[1:-1], padded[2:]
    blocks = [w[0] * prev + w[1] * cur + w[2] * nxt for w in WINDOWS]
    return np.concatenate(blocks, axis=1)


def _folded_windows(n_frames: int) -> np.ndarray:
    """(len(WINDOWS), T, 3): row t of each window matrix as its coefficients on frames t-1, t, t+1,
    with the coefficients that reach past an end moved onto the edge frame (what ``window_matrix``
    sums as duplicates)."""
    coef = np.broadcast_to(np.stack(WINDOWS)[:, None, :], (len(WINDOWS), n_frames, 3)).copy()
    coef[:, 0, 1] += coef[:, 0, 0]
    coef[:, 0, 0] = 0.0
    coef[:, -1, 1] += coef[:, -1, 2]
    coef[:, -1, 2] = 0.0
    return coef


def mlpg(means: np.ndarray, variances: np.ndarray) -> np.ndarray:
    """Static trajectory from per-frame means of [c, Δc, ΔΔc]. (T, 3D), (3D,) or (T, 3D) -> (T, D).

    ``variances``: of each output dimension (e.g. the training residuals'), per frame or global.

    The normal equations of every dimension are built at once, directly in the upper band storage
    that ``solveh_banded`` reads (row 2 - u holds diagonal u): frame t of window j adds
    p_j[t]·a_k·a_l to P[t+k, t+l] and p_j[t]·μ_j[t]·a_k to b[t+k], where a_k (k = -1, 0, 1) are
    that row's coefficients. Then one banded Cholesky solve per dimension (LAPACK ``pbsv``).
    """
    means = np.asarray(means, dtype=np.float64)
    t, d3 = means.shape
    if d3 % len(WINDOWS):
        raise ValueError(f"means have {d3} columns, not a multiple of {len(WINDOWS)}")
    d = d3 // len(WINDOWS)
    prec = 1.0 / np.broadcast_to(np.asarray(variances, dtype=np.float64), means.shape)
    coef = _folded_windows(t)
    band = np.zeros((d, 3, t))  # per dimension, upper band storage
    rhs = np.zeros((d, t))
    for j in range(len(WINDOWS)):
        p = prec[:, j * d:(j + 1) * d].T  # (D, T)
        pm = p * means[:, j * d:(j + 1) * d].T
        for k in (-1, 0, 1):
            lo, hi = max(0, -k), min(t, t - k)  # frames t whose t + k exists
            a_k = coef[j, lo:hi, k + 1]
            rhs[:, lo + k:hi + k] += a_k * pm[:, lo:hi]
            for l in range(k, 2):
                lo, hi = max(0, -k), min(t, t - l)  # frames with both t + k and t + l inside
                a = coef[j, lo:hi, k + 1] * coef[j, lo:hi, l + 1]
                band[:, 2 - (l - k), lo + l:hi + l] += a * p[:, lo:hi]
    # LAPACK's banded Cholesky solver (what solveh_banded calls) straight, without its checks per call.
    pbsv = scipy.linalg.lapack.get_lapack_funcs("pbsv", (band,))
    out = np.empty((t, d))
    for k in range(d):
        _, x, info = pbsv(band[k], rhs[k])
        if info != 0:
            raise np.linalg.LinAlgError(f"MLPG: the normal equations of dimension {k} are not positive definite "
                                        f"(LAPACK pbsv info {info}): a variance is zero or not finite")
        out[:, k] = x
    return out


def mlpg_operator(n_frames: int, variances: np.ndarray) -> np.ndarray:
    """(D, T, 3T): per dimension d, the matrix (Wᵀ Σ_d⁻¹ W)⁻¹ Wᵀ Σ_d⁻¹ that MLPG applies to that
    dimension's means stacked stream by stream, [μ_c(0..T-1), μ_Δ(0..T-1), μ_ΔΔ(0..T-1)].

    ``variances``: (3D,) global variances of the output dimensions. Applied to every dimension's
    means it gives exactly :func:`mlpg` with those variances (the same windows, the same edge frames).
    Dense, O(D·T²) memory: meant for training crops of a fixed length, not for whole corpora.
    """
    variances = np.asarray(variances, dtype=np.float64)
    if variances.ndim != 1 or len(variances) % len(WINDOWS):
        raise ValueError(f"variances have shape {variances.shape}, not (3D,)")
    d = len(variances) // len(WINDOWS)
    w = np.vstack([window_matrix(n_frames, win).toarray() for win in WINDOWS])  # (3T, T)
    out = np.empty((d, n_frames, len(WINDOWS) * n_frames))
    for k in range(d):
        prec = np.repeat(1.0 / variances[k::d], n_frames)  # (3T,): stream j's precision on its T rows
        wt_prec = w.T * prec
        out[k] = scipy.linalg.solve(wt_prec @ w, wt_prec, assume_a="pos")
    return out
