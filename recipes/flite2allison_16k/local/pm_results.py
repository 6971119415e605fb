"""The post-filters on PM's output (local/mean_postfilter.sh, rules/postfilter_mean.md): every seed of every
configuration, its mean and range, and whether each seed dominates both statistical post-filters on every
figure at once (the issue's goal, :func:`seq_results.dominates`).

Reads every exp/<voice>/pm/<split>/*/metrics.json (a configuration's seeds are often scored in a folder of
their own, eval_<name>): systems pm-s<seed> (PM alone) and pm+<configuration>-s<seed>, each judged against
the DNN's GV and MS post-filters scored in the same file; the same system scored in two files (another
resampling) is taken from the later file in name order, where its figures are the same. pm+gv-pf-s<s> and
pm+ms-pf-s<s>, the statistical post-filters of PM's own pairs, are ablations and are left out.

Usage: python local/pm_results.py SPLIT [VOICE ...]   (prints Markdown; default voice slt)
With SPLIT = eval it also draws results/<voice>/pm_tradeoff.png: every seed of every configuration beside
the DNN and its two post-filters (and stage 8's seeds where exp/<voice>/pfconv/eval/eval exists) on the
GV-ratio / DTW-MCD and the MS-distance / DTW-MCD planes.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from seq_results import FIGURES, HEADER, dominates, mean_range, verdict

REFERENCES = ("dnn", "dnn+gv-pf", "dnn+ms-pf")
SYSTEM = re.compile(r"(pm|pm\+(?!gv-pf-|ms-pf-)[\w-]+)-s(\d+)")  # PM alone, and not pm+gv-pf-s<s> nor pm+ms-pf-s<s>
# The figures with the digits the goal's thresholds need (GV ratio 0.895 is not 0.90).
DIGITS = {"mcd_db": 3, "gv_ratio": 3, "ms_distance": 2, "frechet_distance": 3, "gv_distance": 2}


def runs(voice: str, split: str) -> tuple[dict[str, dict], dict[str, dict[int, tuple[dict, dict]]]]:
    """(the references of the first file that has them all, {configuration: {seed: (figures, the
    references of its own file)}}) over exp/<voice>/pm/<split>/*/metrics.json."""
    files = sorted((Path("exp") / voice / "pm" / split).glob("*/metrics.json"))
    if not files:
        sys.exit(f"pm_results.py: no exp/{voice}/pm/{split}/*/metrics.json: run local/mean_postfilter.sh first")
    first: dict[str, dict] = {}
    found: dict[str, dict[int, tuple[dict, dict]]] = {}
    for path in files:
        systems = json.loads(path.read_text())["systems"]
        if not all(r in systems for r in REFERENCES):
            continue
        refs = {r: systems[r] for r in REFERENCES}
        first = first or refs
        for name, m in systems.items():
            hit = SYSTEM.fullmatch(name)
            if hit:
                found.setdefault(hit.group(1), {})[int(hit.group(2))] = (m, refs)
    if not first:
        sys.exit(f"pm_results.py: no metrics.json under exp/{voice}/pm/{split} scores {', '.join(REFERENCES)}")
    return first, found


def row(label: str, m: dict, note: str = "") -> str:
    return f"| {label} | " + " | ".join(f"{m[k]:.{DIGITS[k]}f}" for k, _, _ in FIGURES) + f" | {note} |\n"


def table(voice: str, split: str) -> str:
    refs, found = runs(voice, split)
    out = f"{voice}, {split} prompts, post-filters on PM's output:\n\n"
    out += HEADER
    out += "".join(row(name, m) for name, m in refs.items())
    for config, seeds in sorted(found.items()):
        wins = 0
        for seed, (m, own) in sorted(seeds.items()):
            missed = dominates(m, own["dnn+gv-pf"], own["dnn+ms-pf"])
            wins += not missed
            out += row(f"{config}, seed {seed}", m, verdict(missed))
        if len(seeds) < 2:
            continue
        cells = [mean_range([m[k] for m, _ in seeds.values()], DIGITS[k]) for k, _, _ in FIGURES]
        out += (f"| **{config}, mean [range] of {len(seeds)} seeds** | " + " | ".join(cells)
                + f" | {wins} of {len(seeds)} |\n")
    return out


def plot(voice: str) -> None:
    """results/<voice>/pm_tradeoff.png from the eval prompts' figures."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    refs, found = runs(voice, "eval")
    stage8_path = Path("exp") / voice / "pfconv" / "eval" / "eval" / "metrics.json"
    stage8 = json.loads(stage8_path.read_text())["systems"] if stage8_path.is_file() else {}
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.5))
    for ax, (key, label) in zip(axes, (("gv_ratio", "GV ratio (1 = natural)"), ("ms_distance", "MS distance [dB]"))):
        for name, marker in zip(REFERENCES, ("s", "^", "v")):
            ax.plot(refs[name][key], refs[name]["mcd_db"], marker, ms=8, label=name.replace("dnn", "DNN"))
        runs8 = [m for name, m in stage8.items() if re.fullmatch(r"dnn\+conv_ms-s\d+-mean", name)]
        if runs8:
            ax.plot([m[key] for m in runs8], [m["mcd_db"] for m in runs8], "o", alpha=0.8,
                    label="DNN + VAWGAN post-filter, conv_ms (stage 8, z = μ)")
        for config, seeds in sorted(found.items()):
            what = "DNN + PM" if config == "pm" else f"DNN + PM + VAWGAN post-filter {config[3:]} (z = μ)"
            ax.plot([m[key] for m, _ in seeds.values()], [m["mcd_db"] for m, _ in seeds.values()], "*", ms=10,
                    alpha=0.8, label=f"{what}, seeds {', '.join(map(str, sorted(seeds)))}")
        ax.set_xlabel(label)
        ax.set_ylabel("DTW-MCD [dB]")
        ax.grid(alpha=0.3)
    axes[0].axvspan(0.9, 1.1, color="green", alpha=0.08)
    axes[1].legend(fontsize=6, loc="upper right")
    fig.suptitle(f"{voice} → Allison, eval prompts: post-filters on PM's output against the statistical ones")
    fig.tight_layout()
    out = Path("results") / voice
    out.mkdir(parents=True, exist_ok=True)
    fig.savefig(out / "pm_tradeoff.png", dpi=110)


if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in ("dev", "eval"):
        sys.exit("usage: python local/pm_results.py dev|eval [VOICE ...]")
    split, voices = sys.argv[1], sys.argv[2:] or ["slt"]
    print("\n".join(table(v, split) for v in voices))
    if split == "eval":
        for v in voices:
            plot(v)
