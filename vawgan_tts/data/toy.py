"""The 2-D mixture of 25 Gaussians on a 5×5 grid, and how well a sampler covers it.

Set-up of the mode-collapse studies (VEEGAN, Srivastava et al. 2017; PacGAN, Lin et al. 2018):
modes at {−4, −2, 0, 2, 4}², standard deviation 0.05, 4000 samples per mode. A mode is *captured*
when at least 1 % of the samples lie within 3σ of it; a sample is *high quality* when it lies
within 3σ of any mode.
"""

from __future__ import annotations

import numpy as np

GRID = (-4.0, -2.0, 0.0, 2.0, 4.0)
STD = 0.05


def grid_modes(grid=GRID) -> np.ndarray:
    """(25, 2) mode centres, row by row."""
    return np.array([(x, y) for y in grid for x in grid], dtype=np.float32)


def gaussian_grid(n_per_mode: int = 4000, std: float = STD, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Samples (25·n, 2) float32 and the index of the mode each came from."""
    rng = np.random.default_rng(seed)
    modes = grid_modes()
    labels = np.repeat(np.arange(len(modes)), n_per_mode)
    x = modes[labels] + rng.normal(0.0, std, size=(len(labels), 2)).astype(np.float32)
    return x.astype(np.float32), labels


def mode_metrics(samples: np.ndarray, modes: np.ndarray | None = None, std: float = STD,
                 min_share: float = 0.01, radius_sigmas: float = 3.0) -> dict:
    """``modes_captured`` (of len(modes)), ``high_quality_ratio`` and the share per mode."""
    modes = grid_modes() if modes is None else modes
    samples = np.asarray(samples, dtype=np.float64).reshape(-1, 2)
    d = np.linalg.norm(samples[:, None, :] - modes[None, :, :], axis=-1)
    nearest = d.argmin(1)
    close = d[np.arange(len(samples)), nearest] <= radius_sigmas * std
    share = np.bincount(nearest[close], minlength=len(modes)) / max(len(samples), 1)
    return {
        "modes_captured": int((share >= min_share).sum()),
        "n_modes": int(len(modes)),
        "high_quality_ratio": float(close.mean()) if len(samples) else 0.0,
        "share_per_mode": [round(float(s), 5) for s in share],
    }
