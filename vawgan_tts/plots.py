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


def _save(fig, path: str | Path, dpi: int = 110) -> Path:
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=dpi, bbox_inches="tight")
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


def plot_utterance(envelopes: Mapping[str, np.ndarray], f0: Mapping[str, np.ndarray], fs: int, frame_period_ms: float,
                   path: str | Path, title: str, floor_db: float = 70.0) -> Path:
    """One utterance in every system: the spectral envelope (dB) as an image per system, natural first,
    on one colour scale (``floor_db`` below the loudest bin), and the F0 contours (Hz, voiced frames)
    overlaid in the last panel. Each system on its own time axis: a converter's timing may differ."""
    names = list(envelopes)
    colors = _colors(names)
    top = max(float(np.max(e)) for e in envelopes.values())
    longest = max(len(e) for e in envelopes.values()) * frame_period_ms / 1000.0
    ncols = 2 if len(names) > 2 else 1
    nrows = -(-len(names) // ncols)
    fig = plt.figure(figsize=(6 * ncols, 1.7 * nrows + 2.2))
    grid = fig.add_gridspec(nrows + 1, ncols, height_ratios=[1] * nrows + [1.3])
    for k, name in enumerate(names):
        ax = fig.add_subplot(grid[k // ncols, k % ncols])
        env = envelopes[name]
        ax.imshow(env.T, origin="lower", aspect="auto", cmap="magma", vmin=top - floor_db, vmax=top,
                  extent=(0, len(env) * frame_period_ms / 1000.0, 0, fs / 2000.0), interpolation="nearest")
        ax.set_xlim(0, longest)
        ax.set_ylabel("kHz")
        ax.set_title(name, fontsize=9, loc="left")
    ax = fig.add_subplot(grid[nrows, :])
    for name, contour in f0.items():
        t = np.arange(len(contour)) * frame_period_ms / 1000.0
        ax.plot(t, np.where(contour > 0, contour, np.nan), color=colors[name], lw=1.8 if name == NATURAL else 1.0,
                label=name)
    ax.set_xlim(0, longest)
    ax.set_ylabel("F0 [Hz]")
    ax.set_xlabel("time [s]")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7, ncol=min(len(f0), 6))
    fig.suptitle(title)
    fig.tight_layout()
    return _save(fig, path, dpi=72)


def _epoch_means(log: Mapping[str, list], key: str, stages: Sequence[str]):
    """(x, y): per-epoch means of ``key`` over the given stages, x at the epoch's last step."""
    xs, ys = [], []
    cur, vals, last_step = None, [], 0
    for step, stage, epoch, v in zip(log["step"], log["stage"], log["epoch"], log.get(key, [])):
        if stage not in stages or not np.isfinite(v):
            continue
        if (stage, epoch) != cur and vals:
            xs.append(last_step)
            ys.append(np.mean(vals))
            vals = []
        cur, last_step = (stage, epoch), step
        vals.append(v)
    if vals:
        xs.append(last_step)
        ys.append(np.mean(vals))
    return np.array(xs), np.array(ys)


def _shade_stages(ax, log: Mapping[str, list]) -> None:
    steps, stages = np.array(log["step"]), np.array(log["stage"])
    colors = {"critic": "0.9", "adv": "#fde9d9"}
    for name, color in colors.items():
        sel = steps[stages == name]
        if len(sel):
            ax.axvspan(sel.min(), sel.max(), color=color, zorder=0, label=f"{name} stage")


def plot_training_curves(log: Mapping[str, list], path: str | Path) -> Path:
    """VAE loss and KL over every step with the critic/adversarial stages shaded; α of the adversarial stage."""
    fig, axes = plt.subplots(1, 3, figsize=(15, 3.8))
    steps = np.array(log["step"])
    # The adversarial loss −(E1 + α·E2) with α = |E1/E2| is 0 or 2·NLL by construction, so its
    # value says nothing; its parts (NLL, KL, the critic's scores, α) are plotted instead.
    for ax, key, title, stages in (
        (axes[0], "vae_loss", "VAE loss (NLL + KL)", ("vae", "adv")),
        (axes[1], "kl", "KL term", ("vae", "adv")),
        (axes[2], "alpha", "α = |E1 / E2|", ("adv",)),
    ):
        v = np.array(log.get(key, [np.nan] * len(steps)), dtype=float)
        ok = np.isfinite(v)
        _shade_stages(ax, log)
        ax.plot(steps[ok], v[ok], lw=0.5, alpha=0.35, color="C0", label="per step")
        ex, ey = _epoch_means(log, key, stages)
        ax.plot(ex, ey, "o-", ms=3, color="C3", label="epoch mean")
        ax.set_title(title)
        ax.set_xlabel("step")
        ax.grid(True, alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    return _save(fig, path)


def plot_critic_curves(log: Mapping[str, list], path: str | Path) -> Path:
    """Mean D(x) vs mean D(G(z)) and the gradient penalty, per epoch, over the critic stages."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    for key, label, color in (("d_real", "D(x): natural", "C2"), ("d_fake", "D(G(z)): reconstructed", "C1")):
        ex, ey = _epoch_means(log, key, ("critic", "adv"))
        axes[0].plot(ex, ey, "o-", ms=3, color=color, label=label)
    _shade_stages(axes[0], log)
    axes[0].set_title("critic scores (epoch means)")
    axes[0].legend(fontsize=8)
    for key, label, color in (("w_distance", "D(x) − D(G(z))", "C0"), ("gp", "gradient penalty", "C4")):
        ex, ey = _epoch_means(log, key, ("critic", "adv"))
        axes[1].plot(ex, ey, "o-", ms=3, color=color, label=label)
    axes[1].set_title("Wasserstein estimate and penalty")
    axes[1].legend(fontsize=8)
    for ax in axes:
        ax.set_xlabel("step")
        ax.grid(True, alpha=0.3)
    fig.tight_layout()
    return _save(fig, path)


# ------------------------------------------------------------------------------------- gen


def plot_curves(log: Mapping[str, list], panels: Sequence[tuple[str, Sequence[str]]], path: str | Path,
                extra: Mapping[str, tuple[np.ndarray, np.ndarray]] | None = None) -> Path:
    """One panel per ``(title, keys)``: each key's per-step values (faint) and epoch means.
    ``extra`` adds (x, y) series by name to the first panel, e.g. a test loss per epoch."""
    fig, axes = plt.subplots(1, len(panels), figsize=(5.2 * len(panels), 3.6), squeeze=False)
    steps = np.array(log["step"])
    stages = tuple(sorted(set(log["stage"])))
    for ax, (title, keys) in zip(axes[0], panels):
        for i, key in enumerate(keys):
            v = np.array(log.get(key, [np.nan] * len(steps)), dtype=float)
            ok = np.isfinite(v)
            if not ok.any():
                continue
            ax.plot(steps[ok], v[ok], lw=0.5, alpha=0.25, color=f"C{i}")
            ex, ey = _epoch_means(log, key, stages)
            ax.plot(ex, ey, "o-", ms=3, color=f"C{i}", label=f"{key} (epoch mean)")
        ax.set_title(title)
        ax.set_xlabel("step")
        ax.grid(True, alpha=0.3)
    for j, (name, (x, y)) in enumerate((extra or {}).items()):
        axes[0][0].plot(x, y, "s--", ms=4, color=f"C{len(panels[0][1]) + j}", label=name)
    for ax in axes[0]:
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8)
    fig.tight_layout()
    return _save(fig, path)


def image_grid(images: np.ndarray, path: str | Path, nrow: int, title: str | None = None) -> Path:
    """(N, 1, H, W) or (N, H, W) images with values in [0, 1] as one grey grid, ``nrow`` per row."""
    imgs = np.asarray(images, dtype=np.float32).reshape(len(images), *np.shape(images)[-2:])
    n, h, w = imgs.shape
    ncol = -(-n // nrow)
    canvas = np.ones((ncol * (h + 1) + 1, nrow * (w + 1) + 1), dtype=np.float32)
    for i, img in enumerate(imgs):
        r, c = divmod(i, nrow)
        canvas[1 + r * (h + 1): 1 + r * (h + 1) + h, 1 + c * (w + 1): 1 + c * (w + 1) + w] = img
    size = min(12.0, 0.6 * nrow + 1)
    fig, ax = plt.subplots(figsize=(size, size * canvas.shape[0] / canvas.shape[1]))
    ax.imshow(np.clip(canvas, 0, 1), cmap="gray_r", vmin=0, vmax=1, interpolation="nearest")
    ax.axis("off")
    if title:
        ax.set_title(title)
    return _save(fig, path)


def latent_scatter(z: np.ndarray, labels: np.ndarray, classes: Sequence[str], path: str | Path) -> Path:
    """2-D encodings (means) coloured by class."""
    fig, ax = plt.subplots(figsize=(7, 6))
    cmap = plt.get_cmap("tab10")
    for k, name in enumerate(classes):
        sel = labels == k
        ax.scatter(z[sel, 0], z[sel, 1], s=2, alpha=0.5, color=cmap(k % 10), label=name, rasterized=True)
    ax.set_xlabel("z₁")
    ax.set_ylabel("z₂")
    ax.set_title("Test-set encodings (posterior means)")
    ax.legend(markerscale=6, fontsize=8, loc="best")
    ax.grid(True, alpha=0.3)
    return _save(fig, path)


def toy_snapshot(samples: np.ndarray, modes: np.ndarray, grid_x: np.ndarray, grid_y: np.ndarray,
                 critic: np.ndarray, path: str | Path, title: str) -> Path:
    """Generated 2-D samples over the real modes, on the critic's contour."""
    fig, ax = plt.subplots(figsize=(6.2, 5.6))
    cs = ax.contourf(grid_x, grid_y, critic, levels=24, cmap="RdBu_r", alpha=0.55)
    fig.colorbar(cs, ax=ax, label="critic D(x)")
    ax.scatter(samples[:, 0], samples[:, 1], s=1.5, alpha=0.35, color="C2", label="generated", rasterized=True)
    ax.scatter(modes[:, 0], modes[:, 1], s=30, marker="x", color="black", label="mode centres")
    ax.set_xlim(grid_x.min(), grid_x.max())
    ax.set_ylim(grid_y.min(), grid_y.max())
    ax.set_aspect("equal")
    ax.set_title(title)
    ax.legend(loc="upper right", fontsize=8, markerscale=4)
    return _save(fig, path)


def attention_map(weights: np.ndarray, src: Sequence[str], out: Sequence[str], path: str | Path, title: str) -> Path:
    """Attention weights (output tokens × source tokens) as a heat map."""
    fig, ax = plt.subplots(figsize=(max(3.0, 0.45 * len(src) + 1.5), max(2.5, 0.35 * len(out) + 1.2)))
    im = ax.imshow(weights, cmap="viridis", vmin=0, vmax=1, aspect="auto")
    ax.set_xticks(range(len(src)), src, fontsize=9)
    ax.set_yticks(range(len(out)), out, fontsize=9)
    ax.set_xlabel("source")
    ax.set_ylabel("output")
    ax.set_title(title, fontsize=9)
    fig.colorbar(im, ax=ax, fraction=0.05)
    return _save(fig, path)
