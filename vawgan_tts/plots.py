"""Figures a person looks at, as PNGs. matplotlib only; no computation beyond what a plot needs."""

from __future__ import annotations

from pathlib import Path
from typing import Mapping, Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from .fileio import atomic_path  # noqa: E402

NATURAL = "natural"
SCATTER_PAIRS = ((1, 2), (2, 3), (5, 6), (11, 13))  # 1-based mel-cepstral indices


def _save(fig, path: str | Path) -> Path:
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path


def _colors(names: Sequence[str]) -> dict[str, str]:
    cycle = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    out = {NATURAL: "black"}
    for i, n in enumerate(n for n in names if n != NATURAL):
        out[n] = cycle[i % len(cycle)]
    return out


def plot_gv(gv: Mapping[str, np.ndarray], path: str | Path) -> Path:
    """GV per dimension (log scale); ``gv`` maps a name ('natural' first) to a (D,) array of c1..cD."""
    colors = _colors(list(gv))
    fig, ax = plt.subplots(figsize=(8, 4))
    for name, v in gv.items():
        dims = np.arange(1, len(v) + 1)
        ax.semilogy(dims, v, marker=".", lw=2.2 if name == NATURAL else 1.3, color=colors[name], label=name)
    ax.set_xlabel("mel-cepstral dimension")
    ax.set_ylabel("global variance")
    ax.set_title("Global variance per dimension")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    return _save(fig, path)


def plot_ms(
    ms_db: Mapping[str, np.ndarray], freqs: np.ndarray, dims: Sequence[int], path: str | Path, max_hz: float = 50.0
) -> Path:
    """Modulation spectra (dB) of a few 1-based dimensions over 0 < f ≤ max_hz."""
    colors = _colors(list(ms_db))
    band = (freqs > 0) & (freqs <= max_hz)
    fig, axes = plt.subplots(1, len(dims), figsize=(4 * len(dims), 3.4), squeeze=False)
    for ax, d in zip(axes[0], dims):
        for name, ms in ms_db.items():
            ax.plot(freqs[band], ms[band, d - 1], color=colors[name], lw=1.8 if name == NATURAL else 1.0, label=name)
        ax.set_xscale("log")
        ax.set_title(f"c{d}")
        ax.set_xlabel("modulation frequency [Hz]")
        ax.grid(True, which="both", alpha=0.3)
    axes[0][0].set_ylabel("power [dB]")
    axes[0][0].legend(fontsize=8)
    fig.suptitle("Modulation spectrum")
    return _save(fig, path)


def plot_scatter(
    frames: Mapping[str, np.ndarray], path: str | Path, pairs: Sequence[tuple[int, int]] = SCATTER_PAIRS
) -> Path:
    """Scatter of dimension pairs, one row per system over the natural frames in grey.
    ``frames`` maps a name to (N, D) c1..cD frames and must hold 'natural'."""
    systems = [n for n in frames if n != NATURAL]
    colors = _colors(list(frames))
    nat = frames[NATURAL]
    fig, axes = plt.subplots(
        max(len(systems), 1), len(pairs), figsize=(3.2 * len(pairs), 3.0 * max(len(systems), 1)), squeeze=False
    )
    for r, name in enumerate(systems or [NATURAL]):
        for ax, (a, b) in zip(axes[r], pairs):
            ax.scatter(nat[:, a - 1], nat[:, b - 1], s=2, alpha=0.25, color="0.6", label=NATURAL, rasterized=True)
            if name != NATURAL:
                gen = frames[name]
                ax.scatter(gen[:, a - 1], gen[:, b - 1], s=2, alpha=0.35, color=colors[name], label=name, rasterized=True)
            ax.set_xlabel(f"c{a}")
            ax.set_ylabel(f"c{b}")
        axes[r][0].legend(markerscale=5, fontsize=8, loc="upper left")
    fig.suptitle("Mel-cepstral scatter: natural (grey) vs each system")
    fig.tight_layout()
    return _save(fig, path)
