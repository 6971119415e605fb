"""The frame-by-frame mean of several systems' mel-cepstra (an ablation: what averaging the seeds of one
configuration does, as the sequence converter's ensemble averages its members). Every input must hold
the utterance with the same number of frames (post-filters of one system's output do); F0, aperiodicity
and the rest are the first system's. Writes features only (.npz), which `vawgan eval` reads.

Usage: python local/average_systems.py OUT IDS SYSTEM [SYSTEM ...]
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from vawgan_tts.feature_folder import load_utterance, save_utterance


def main(out: Path, ids_file: Path, systems: list[Path]) -> None:
    if out.resolve() in {s.resolve() for s in systems}:
        sys.exit(f"average_systems.py: {out} is an input; give another OUT")
    out.mkdir(parents=True, exist_ok=True)
    for u in ids_file.read_text().split():
        feats = [load_utterance(s, u) for s in systems]
        lengths = {len(f.mcep) for f in feats}
        if len(lengths) != 1:
            sys.exit(f"average_systems.py: {u}: the systems have {sorted(lengths)} frames; they must agree")
        save_utterance(out, u, feats[0].replace(mcep=np.mean([f.mcep for f in feats], axis=0)))
    print(f"{out}: the mean of {len(systems)} systems' mel-cepstra")


if __name__ == "__main__":
    if len(sys.argv) < 5:
        sys.exit(__doc__)
    main(Path(sys.argv[1]), Path(sys.argv[2]), [Path(a) for a in sys.argv[3:]])
