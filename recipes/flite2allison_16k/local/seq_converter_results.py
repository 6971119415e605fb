"""The sequence converter's table (stage 9): stage 2's frame DNN, then every seed of every sequence
configuration with its mean and range, and whether each meets the goal (DTW-MCD ≤ 5.25 dB).

Reads exp/<voice>/seqdnn/<split>/eval/metrics.json (local/seq_converter.sh): systems dnn and
<configuration>-s<seed>; the p-value is the paired test of each seed's utterance MCDs against the DNN's.

Usage: python local/seq_converter_results.py SPLIT [VOICE ...]   (prints Markdown)
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

GOAL_MCD = 5.25
FIGURES = (("mcd_db", "DTW-MCD [dB]", 2), ("gv_ratio", "GV ratio", 2), ("ms_distance", "MS dist [dB]", 2),
           ("frechet_distance", "Fréchet", 3), ("f0_rmse_cents", "F0 RMSE [cent]", 0))


def _cells(m: dict) -> str:
    return " | ".join(f"{m[k]:.{d}f}" for k, _, d in FIGURES)


def table(voice: str, split: str) -> str:
    path = Path("exp") / voice / "seqdnn" / split / "eval" / "metrics.json"
    metrics = json.loads(path.read_text())
    systems = metrics["systems"]
    head = "| system | " + " | ".join(h for _, h, _ in FIGURES) + " | MCD p vs dnn | MCD ≤ 5.25 |\n"
    head += "|---" * (len(FIGURES) + 3) + "|\n"
    rows = [f"| dnn (frame, stage 2) | {_cells(systems['dnn'])} | | {'yes' if systems['dnn']['mcd_db'] <= GOAL_MCD else 'no'} |\n"]
    groups: dict[str, list[tuple[str, dict]]] = {}
    for name, m in systems.items():
        hit = re.fullmatch(r"(\w+)-s(\d+)", name)  # <configuration>-s<seed>
        if hit:
            groups.setdefault(hit.group(1), []).append((hit.group(2), m))
    for label, runs in sorted(groups.items()):
        for seed, m in runs:
            p = m.get("p_vs_reference", {}).get("mcd_db")
            rows.append(f"| {label}, seed {seed} | {_cells(m)} | {'' if p is None else f'{p:.3g}'} | "
                        f"{'yes' if m['mcd_db'] <= GOAL_MCD else 'no'} |\n")
        cells = []
        for k, _, d in FIGURES:
            v = [m[k] for _, m in runs]
            cells.append(f"{sum(v) / len(v):.{d}f} [{min(v):.{d}f}, {max(v):.{d}f}]")
        met = sum(m["mcd_db"] <= GOAL_MCD for _, m in runs)
        rows.append(f"| **{label}, mean [range] of {len(runs)} seeds** | " + " | ".join(cells) + f" | | {met} of {len(runs)} |\n")
    return f"{voice}, {split} prompts ({metrics['settings']['utterances']} utterances):\n\n" + head + "".join(rows)


if __name__ == "__main__":
    split, voices = sys.argv[1], sys.argv[2:] or ["slt"]
    print("\n".join(table(v, split) for v in voices))
