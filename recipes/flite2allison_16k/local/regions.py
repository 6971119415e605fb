"""Where a system's spread and movement go: in speech or in the pauses. For each system, against the
natural recordings of the same prompts, two ratios (generated / natural, per coefficient c1..c39, then
the mean over coefficients) in each region:

- GV: the mean over utterances of each utterance's variance over the region's frames (over speech frames
  it is `vawgan eval`'s GV ratio but for the selection of the generated frames: eval takes those DTW
  paired with natural speech frames; over all frames it counts the pauses too);
- movement: the mean squared first difference x_t − x_{t−1} over the pairs of frames both in the region,
  pooled over utterances.

Speech frames are `features.speech_mask` of each side's own c0 (a post-filter keeps the system's c0). No
alignment: each side is summed over its own frames. The table is given for all the prompts, then for the
prompts of each length (natural recording's frames, as local/coef_groups.py groups them).

Usage (in the recipe folder): python local/regions.py NATURAL IDS NAME=FOLDER [...]
e.g. python local/regions.py dump/natural lists/dev.ids ms-pf=exp/slt/pfconv/dev/dnn+ms-pf
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from vawgan_tts.feature_folder import load_utterance
from vawgan_tts.metrics import global_variance
from vawgan_tts.features import speech_mask

from coef_groups import LENGTHS

REGIONS = ("speech", "pause", "all")


def region_masks(c0: np.ndarray) -> dict[str, np.ndarray]:
    """(T,) c0 -> each region's (T,) bool frames."""
    speech = speech_mask(c0)
    return {"speech": speech, "pause": ~speech, "all": np.ones_like(speech)}


def side_figures(folder: Path, ids: list[str]) -> dict[str, dict[str, np.ndarray]]:
    """Per region: "gv", the mean over utterances of the region's variance (D,) (utterances with fewer
    than 2 frames there left out), and "move", the pooled mean squared first difference (D,)."""
    gv = {r: [] for r in REGIONS}
    move = {r: [0.0, 0] for r in REGIONS}
    for u in ids:
        mc = load_utterance(folder, u).mcep
        c = mc[:, 1:].astype(np.float64)
        for r, m in region_masks(mc[:, 0]).items():
            if m.sum() >= 2:
                gv[r].append(global_variance(c[m]))
            both = m[1:] & m[:-1]
            move[r][0] = move[r][0] + (np.diff(c, axis=0)[both] ** 2).sum(axis=0)
            move[r][1] += int(both.sum())
    return {r: {"gv": np.mean(gv[r], axis=0), "move": move[r][0] / max(move[r][1], 1)} for r in REGIONS}


def main(natural: Path, ids: list[str], systems: dict[str, Path]) -> None:
    table(natural, ids, systems, f"{len(ids)} prompts")
    frames = {u: len(load_utterance(natural, u).mcep) for u in ids}
    for lo, hi in LENGTHS:
        some = [u for u in ids if frames[u] >= lo and (hi is None or frames[u] < hi)]
        if some:
            table(natural, some, systems, f"\n{len(some)} prompts of [{lo}, {hi or '∞'}) natural frames")


def table(natural: Path, ids: list[str], systems: dict[str, Path], title: str) -> None:
    nat = side_figures(natural, ids)
    print(f"{title}; generated / natural, mean over c1..c39")
    print(f"{'system':32s} " + " ".join(f"{'GV ' + r:>10s}" for r in REGIONS)
          + " " + " ".join(f"{'move ' + r:>12s}" for r in REGIONS))
    for name, folder in systems.items():
        gen = side_figures(folder, ids)
        gv = [float(np.mean(gen[r]["gv"] / nat[r]["gv"])) for r in REGIONS]
        mv = [float(np.mean(gen[r]["move"] / nat[r]["move"])) for r in REGIONS]
        print(f"{name:32s} " + " ".join(f"{v:10.3f}" for v in gv) + " " + " ".join(f"{v:12.3f}" for v in mv))


if __name__ == "__main__":
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    main(Path(sys.argv[1]), [u for u in Path(sys.argv[2]).read_text().split() if u],
         dict(a.split("=", 1) for a in sys.argv[3:]))
