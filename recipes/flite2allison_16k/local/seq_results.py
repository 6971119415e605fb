"""The sequence post-filter's table (stage 8): every seed's figures, their mean and range, and
whether each seed dominates both statistical post-filters on every figure at once.

Reads exp/<voice>/pfconv/<split>/eval/metrics.json (local/seq_postfilter.sh): systems dnn+<configuration>-s<seed>-<z>. Dominating means:
GV ratio within 0.9–1.1, MS distance below the MS post-filter's, DTW-MCD at or below the MS
post-filter's, Fréchet distance below both post-filters'.

Usage: python local/seq_results.py SPLIT [VOICE ...]   (prints Markdown)
With SPLIT = eval it also draws results/<voice>/seq_tradeoff.png: every seed of every configuration
(z = μ) beside the DNN and its two post-filters, on the GV-ratio / DTW-MCD and the MS-distance /
DTW-MCD planes, and copies the eval's MS figure of all of them to results/<voice>/seq_ms.png. Where
local/floor.py's figures exist, the GV plane also shows the floor no post-filter of the frame post-filter's
VAE stage can go below (vawgan_tts.spread_floor), and where exp/<voice>/pfconv/spread_sweep/eval (the
trajectory critic) or ms_sweep/eval (the modulation critic) exists, the spread filter's curve over its NLL
weight λ (systems lambda-<λ>). Where exp/<voice>/pm/eval exists, results/<voice>/pm_tradeoff.png shows every
seed of every post-filter on PM's output (local/mean_postfilter.sh) on the same planes.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

FIGURES = (("mcd_db", "DTW-MCD [dB]", 2), ("gv_ratio", "GV ratio", 2), ("ms_distance", "MS dist [dB]", 2),
           ("frechet_distance", "Fréchet", 3), ("gv_distance", "log-GV dist [dB]", 2))


# The λ curves drawn where they were measured: (folder under exp/<voice>/pfconv, its critic, line style).
SWEEPS = (("spread_sweep", "trajectory critic", "D-"), ("ms_sweep", "modulation critic", "o--"))


def dominates(m: dict, gv_pf: dict, ms_pf: dict) -> list[str]:
    """The conditions ``m`` misses (none: it dominates both post-filters)."""
    missed = []
    if not 0.9 <= m["gv_ratio"] <= 1.1:
        missed.append(f"GV ratio {m['gv_ratio']:.3f}")
    if not m["ms_distance"] < ms_pf["ms_distance"]:
        missed.append(f"MS {m['ms_distance']:.2f} ≥ {ms_pf['ms_distance']:.2f}")
    if not m["mcd_db"] <= ms_pf["mcd_db"]:
        missed.append(f"MCD {m['mcd_db']:.3f} > {ms_pf['mcd_db']:.3f}")
    if not m["frechet_distance"] < min(gv_pf["frechet_distance"], ms_pf["frechet_distance"]):
        missed.append(f"Fréchet {m['frechet_distance']:.3f}")
    return missed


# A table's head: the system, each figure, the dominance check.
HEADER = ("| system | " + " | ".join(h for _, h, _ in FIGURES) + " | dominates both post-filters |\n"
          + "|---" * (len(FIGURES) + 2) + "|\n")


def verdict(missed: list[str]) -> str:
    """A table's cell for :func:`dominates`' answer."""
    return "yes" if not missed else "no: " + "; ".join(missed)


def mean_range(values: list[float], digits: int) -> str:
    """Seeds' figures as "mean [min, max]"."""
    return f"{sum(values) / len(values):.{digits}f} [{min(values):.{digits}f}, {max(values):.{digits}f}]"


def table(voice: str, split: str) -> str:
    path = Path("exp") / voice / "pfconv" / split / "eval" / "metrics.json"
    systems = json.loads(path.read_text())["systems"]
    head = HEADER
    rows = []
    gv_pf, ms_pf = systems["dnn+gv-pf"], systems["dnn+ms-pf"]
    for name in ("dnn", "dnn+gv-pf", "dnn+ms-pf"):
        m = systems[name]
        rows.append(f"| {name} | " + " | ".join(f"{m[k]:.{d}f}" for k, _, d in FIGURES) + " | |\n")
    groups: dict[str, list[tuple[str, dict]]] = {}
    for name, m in systems.items():
        hit = re.fullmatch(r"dnn\+(\w+)-s(\d+)-(\w+)", name)  # dnn+<configuration>-s<seed>-<z>
        if hit:
            groups.setdefault(f"{hit.group(1)} z={hit.group(3)}", []).append((hit.group(2), m))
    for label, runs in groups.items():
        for seed, m in runs:
            missed = dominates(m, gv_pf, ms_pf)
            rows.append(f"| {label}, seed {seed} | " + " | ".join(f"{m[k]:.{d}f}" for k, _, d in FIGURES)
                        + f" | {verdict(missed)} |\n")
        cells = [mean_range([m[k] for _, m in runs], d) for k, _, d in FIGURES]
        wins = sum(not dominates(m, gv_pf, ms_pf) for _, m in runs)
        rows.append(f"| **{label}, mean [range] of {len(runs)} seeds** | " + " | ".join(cells)
                    + f" | {wins} of {len(runs)} |\n")
    return f"{voice}, {split} prompts ({json.loads(path.read_text())['settings']['utterances']} utterances):\n\n" + head + "".join(rows)


def plot(voice: str) -> None:
    """results/<voice>/seq_tradeoff.png and seq_ms.png from the eval prompts' metrics and figures."""
    import shutil

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder = Path("exp") / voice / "pfconv" / "eval" / "eval"
    systems = json.loads((folder / "metrics.json").read_text())["systems"]
    out = Path("results") / voice
    out.mkdir(parents=True, exist_ok=True)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.5))
    for ax, (key, label) in zip(axes, (("gv_ratio", "GV ratio (1 = natural)"), ("ms_distance", "MS distance [dB]"))):
        for name, marker in (("dnn", "s"), ("dnn+gv-pf", "^"), ("dnn+ms-pf", "v")):
            ax.plot(systems[name][key], systems[name]["mcd_db"], marker, ms=8, label=name.replace("dnn", "DNN"))
        configs: dict[str, list[dict]] = {}
        for name, m in systems.items():
            hit = re.fullmatch(r"dnn\+(\w+)-s(\d+)-mean", name)
            if hit:
                configs.setdefault(hit.group(1), []).append(m)
        for config, runs in sorted(configs.items()):
            ax.plot([m[key] for m in runs], [m["mcd_db"] for m in runs], "o", alpha=0.8,
                    label=f"DNN + VAWGAN post-filter, {config} (z = μ, each seed)")
        ax.set_xlabel(label)
        ax.set_ylabel("DTW-MCD [dB]")
        ax.grid(alpha=0.3)
    floor_metrics = Path("exp") / voice / "pfconv" / "floor" / "eval" / "metrics.json"
    if floor_metrics.is_file():  # local/floor.py's predictors: no post-filter of them goes below this band
        import numpy as np
        from floor import VAE_STAGE, floors  # local/floor.py: each VAE stage's floor, calibrated two ways

        found = json.loads(floor_metrics.read_text())["systems"]
        v = np.linspace(0.2, 1.2, 101)
        curves = [c for name in found if re.fullmatch(VAE_STAGE, name) for c in floors(found, name, v)]
        axes[0].fill_between(v, np.min(curves, axis=0), np.max(curves, axis=0), color="grey", alpha=0.35,
                             label="floor of any post-filter of the VAE stage's mean")
        ablation = floor_metrics.parent.parent / "eval_ms" / "metrics.json"
        if ablation.is_file():  # the MS gains on the VAE stage's mean (README: an ablation, not a candidate)
            runs = [m for name, m in json.loads(ablation.read_text())["systems"].items() if name.startswith("vae-s")]
            for ax, key in zip(axes, ("gv_ratio", "ms_distance")):
                ax.plot([m[key] for m in runs], [m["mcd_db"] for m in runs], "x", ms=8, color="black",
                        label="VAE stage's mean + MS gains (ablation)")
    for sweep_dir, what, style in SWEEPS:  # a spread filter's NLL weight λ, seed 0 (README)
        sweep = Path("exp") / voice / "pfconv" / sweep_dir / "eval" / "metrics.json"
        if not sweep.is_file():
            continue
        points = sorted((float(name.split("-", 1)[1]), m) for name, m in json.loads(sweep.read_text())["systems"].items()
                        if name.startswith("lambda-"))
        for ax, key in zip(axes, ("gv_ratio", "ms_distance")):
            ax.plot([m[key] for _, m in points], [m["mcd_db"] for _, m in points], style, color="grey", ms=4,
                    label=f"conv post-filter + spread filter, {what}, NLL weight λ (seed 0)")
            for lam, m in points:
                ax.annotate(f"{lam:g}", (m[key], m["mcd_db"]), textcoords="offset points", xytext=(4, -9), fontsize=7)
    axes[0].axvspan(0.9, 1.1, color="green", alpha=0.08)
    axes[0].legend(fontsize=6, loc="upper left")
    fig.suptitle(f"{voice} → Allison, eval prompts: the learned post-filters against the statistical ones")
    fig.tight_layout()
    fig.savefig(out / "seq_tradeoff.png", dpi=110)
    shutil.copyfile(folder / "ms.png", out / "seq_ms.png")


if __name__ == "__main__":
    split, voices = sys.argv[1], sys.argv[2:] or ["slt"]
    print("\n".join(table(v, split) for v in voices))
    if split == "eval":
        for v in voices:
            plot(v)
