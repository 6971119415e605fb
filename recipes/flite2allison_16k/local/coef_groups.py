"""Where a system's squared error and spread lie across the mel-cepstrum: for each system, against the
natural recordings of the same prompts, per group of coefficients (c1–c4, c5–c12, c13–c24, c25–c39):

- se: the squared error Σ_d (c_d − ĉ_d)² over the group's coefficients, per frame pair, mean over the
  pairs `vawgan eval --align dtw` scores (natural speech frames, DTW of both sides' speech frames); the
  groups' se add up to the mean squared distance of which DTW-MCD takes the root frame by frame;
- GV: the group's mean over coefficients of the ratio of the mean utterance variances, the generated
  frames selected as `vawgan eval` selects them (those paired with natural speech).

The GV ratio averages 39 ratios alike, while the MCD weighs each coefficient by its squared error, which
the low coefficients dominate: this shows which coefficients a post-filter's spread is bought in. The
GV ratio is also given over the prompts of each length (natural recording's frames: under 256, under 512,
longer; their number in brackets): where in the corpus the spread is missing.

Usage (in the recipe folder): python local/coef_groups.py NATURAL IDS NAME=FOLDER [...]
e.g. python local/coef_groups.py dump/natural lists/dev.ids ms-pf=exp/slt/pfconv/dev/dnn+ms-pf
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from vawgan_tts.alignment import DEFAULT_BAND
from vawgan_tts.evaluation import aligned_frames
from vawgan_tts.feature_folder import utterance_path
from vawgan_tts.features import SPEECH_THRESHOLD_DB, load_features, speech_mask
from vawgan_tts.metrics import global_variance

GROUPS = ((1, 4), (5, 12), (13, 24), (25, 39))  # inclusive coefficient numbers
LENGTHS = ((0, 256), (256, 512), (512, None))  # prompts by their natural recording's frames (5 ms): [a, b)


def utterance_figures(natural: Path, folder: Path, u: str) -> tuple[np.ndarray, int, np.ndarray, np.ndarray, int]:
    """One prompt's (D,) summed squared error over its scored frame pairs, their number, the (D,) GVs of
    the generated frames scored and of the natural speech frames, and the natural recording's frames."""
    nat_path, gen_path = utterance_path(natural, u), utterance_path(folder, u)
    nat, gen = load_features(nat_path), load_features(gen_path)
    speech = speech_mask(nat.mcep[:, 0], SPEECH_THRESHOLD_DB)
    i, j = aligned_frames(nat, gen, speech, "dtw", DEFAULT_BAND, SPEECH_THRESHOLD_DB, (gen_path, nat_path))
    d = nat.mcep[i, 1:].astype(np.float64) - gen.mcep[j, 1:]
    selected = np.zeros(len(gen.mcep), bool)
    selected[j] = True
    gv_gen, gv_nat = global_variance(gen.mcep[selected, 1:]), global_variance(nat.mcep[speech, 1:])
    return (d**2).sum(axis=0), len(i), gv_gen, gv_nat, len(nat.mcep)


def group_figures(figures: list[tuple]) -> tuple[np.ndarray, np.ndarray]:
    """Over prompts' :func:`utterance_figures`: (D,) mean squared error per coefficient over the scored
    frame pairs, (D,) GV ratio per coefficient."""
    se, pairs, gv_gen, gv_nat, _ = zip(*figures)
    return np.sum(se, axis=0) / sum(pairs), np.mean(gv_gen, axis=0) / np.mean(gv_nat, axis=0)


def main(natural: Path, ids: list[str], systems: dict[str, Path]) -> None:
    print(f"{len(ids)} prompts; se: squared error per DTW frame pair; GV: generated / natural")
    print(f"{'system':24s} {'se all':>7s} " + " ".join(f"{f'c{a}-{b} se':>10s} {'GV':>6s}" for a, b in GROUPS)
          + "   GV by natural frames " + " ".join(f"[{a}, {b or '∞'})" for a, b in LENGTHS))
    for name, folder in systems.items():
        figures = [utterance_figures(natural, folder, u) for u in ids]
        se, gv = group_figures(figures)
        cells = [f"{se[a - 1:b].sum():10.4f} {gv[a - 1:b].mean():6.3f}" for a, b in GROUPS]
        by_length = []
        for a, b in LENGTHS:
            these = [f for f in figures if a <= f[-1] < (b or np.inf)]
            by_length.append(f"{group_figures(these)[1].mean():.3f} ({len(these)})" if these else "—")
        print(f"{name:24s} {se.sum():7.4f} " + " ".join(cells) + "   " + " ".join(by_length))


if __name__ == "__main__":
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    main(Path(sys.argv[1]), [u for u in Path(sys.argv[2]).read_text().split() if u],
         {k: Path(v) for k, v in (a.split("=", 1) for a in sys.argv[3:])})
