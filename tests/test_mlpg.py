"""MLPG and dynamic features against dense linear algebra and hand-worked values."""

import numpy as np
import pytest

from vawgan_tts.mlpg import WINDOWS, delta_features, mlpg, window_matrix


def test_delta_features_hand_worked():
    c = np.array([[1.0], [2.0], [4.0], [7.0]])
    dyn = delta_features(c)
    # Δ_t = (c_{t+1} - c_{t-1}) / 2, ΔΔ_t = c_{t+1} - 2 c_t + c_{t-1}; the edge frame repeats past the ends.
    np.testing.assert_allclose(dyn[:, 0], [1, 2, 4, 7])
    np.testing.assert_allclose(dyn[:, 1], [0.5, 1.5, 2.5, 1.5])
    np.testing.assert_allclose(dyn[:, 2], [1, 1, 1, -3])


def test_delta_features_equal_the_window_matrices():
    c = np.random.default_rng(0).standard_normal((30, 4))
    dense = np.concatenate([window_matrix(30, w).toarray() @ c for w in WINDOWS], axis=1)
    np.testing.assert_allclose(delta_features(c), dense, atol=1e-12)


def _dense_mlpg(means, variances):
    t, d3 = means.shape
    d = d3 // 3
    w = np.vstack([window_matrix(t, win).toarray() for win in WINDOWS])  # (3T, T)
    out = np.empty((t, d))
    for k in range(d):
        mu = np.concatenate([means[:, j * d + k] for j in range(3)])
        prec = 1.0 / np.concatenate([variances[:, j * d + k] for j in range(3)])
        out[:, k] = np.linalg.solve(w.T @ (prec[:, None] * w), w.T @ (prec * mu))
    return out


@pytest.mark.parametrize("t", [1, 2, 3, 57])
def test_mlpg_equals_dense_solve(t):
    rng = np.random.default_rng(t)
    means = rng.standard_normal((t, 3 * 5))
    variances = rng.uniform(0.05, 3.0, size=(t, 3 * 5))
    np.testing.assert_allclose(mlpg(means, variances), _dense_mlpg(means, variances), rtol=1e-9, atol=1e-9)


def test_mlpg_with_global_variances_broadcasts():
    rng = np.random.default_rng(1)
    means = rng.standard_normal((40, 6))
    var = rng.uniform(0.1, 2.0, size=6)
    np.testing.assert_allclose(mlpg(means, var), _dense_mlpg(means, np.tile(var, (40, 1))), atol=1e-9)


def test_mlpg_of_consistent_dynamics_returns_the_trajectory():
    c = np.cumsum(np.random.default_rng(2).standard_normal((80, 3)), axis=0)
    np.testing.assert_allclose(mlpg(delta_features(c), np.ones(9)), c, atol=1e-9)


def test_mlpg_trusts_the_confident_stream():
    # Statics say 0 everywhere but are unsure; deltas say a slope of 1 with confidence: the
    # trajectory follows the slope (a ramp through the statics' mean), not the flat statics.
    t = 21
    means = np.zeros((t, 3))
    means[:, 1] = 1.0
    means[[0, -1], 1] = 0.5  # what a ramp's Δ is at the repeated edge frames
    c = mlpg(means, np.array([1e3, 1e-3, 1e3]))[:, 0]
    np.testing.assert_allclose(np.diff(c), 1.0, atol=1e-3)
    assert abs(c.mean()) < 1e-3


def test_mlpg_rejects_a_width_that_is_not_three_streams():
    with pytest.raises(ValueError, match="multiple of 3"):
        mlpg(np.zeros((5, 4)), np.ones(4))


@pytest.mark.parametrize("t", [1, 2, 5])
def test_folded_window_rows_are_the_window_matrices(t):
    # Row t's coefficients on frames t-1, t, t+1, placed in a T×T matrix, give window_matrix exactly
    # (the edge folding included): the banded normal equations are built from these.
    from vawgan_tts.mlpg import _folded_windows

    coef = _folded_windows(t)
    for j, w in enumerate(WINDOWS):
        dense = np.zeros((t, t))
        for row in range(t):
            for k in (-1, 0, 1):
                if 0 <= row + k < t:
                    dense[row, row + k] += coef[j, row, k + 1]
        np.testing.assert_array_equal(dense, window_matrix(t, w).toarray())


def test_mlpg_long_utterance_equals_the_per_dimension_sparse_solve():
    # 900 frames (4.5 s at 5 ms), 39 dimensions: the normal matrices of the windows built with scipy.sparse.
    import scipy.sparse.linalg

    rng = np.random.default_rng(5)
    t, d = 900, 39
    means = rng.standard_normal((t, 3 * d))
    variances = rng.uniform(0.05, 3.0, size=3 * d)
    mats = [window_matrix(t, w) for w in WINDOWS]
    ref = np.empty((t, d))
    for k in range(d):
        p = sum(m.T @ m / variances[j * d + k] for j, m in enumerate(mats))
        b = sum(m.T @ means[:, j * d + k] / variances[j * d + k] for j, m in enumerate(mats))
        ref[:, k] = scipy.sparse.linalg.spsolve(p.tocsc(), b)
    np.testing.assert_allclose(mlpg(means, variances), ref, atol=1e-9)


def test_mlpg_refuses_normal_equations_that_are_not_positive_definite():
    variances = np.ones(6)
    variances[[0, 2, 4]] = -1.0  # every stream of the first dimension: P = -WᵀW
    with pytest.raises(np.linalg.LinAlgError, match="dimension 0 are not positive definite"):
        mlpg(np.zeros((10, 6)), variances)


@pytest.mark.parametrize("t", [1, 2, 3, 40])
def test_mlpg_operator_is_mlpg_as_a_matrix(t):
    """Applied to each dimension's stacked means, the operator gives the banded solver's trajectory
    (and so the dense normal equations'), for global variances."""
    from vawgan_tts.mlpg import mlpg_operator

    rng = np.random.default_rng(10 + t)
    d = 4
    means = rng.standard_normal((t, 3 * d))
    var = rng.uniform(0.05, 3.0, size=3 * d)
    op = mlpg_operator(t, var)
    assert op.shape == (d, t, 3 * t)
    stacked = means.reshape(t, 3, d).transpose(2, 1, 0).reshape(d, 3 * t)
    np.testing.assert_allclose(np.einsum("dts,ds->td", op, stacked), mlpg(means, var), atol=1e-10)
    np.testing.assert_allclose(np.einsum("dts,ds->td", op, stacked), _dense_mlpg(means, np.tile(var, (t, 1))), atol=1e-10)
    with pytest.raises(ValueError, match="not \\(3D,\\)"):
        mlpg_operator(t, var[:-1])
