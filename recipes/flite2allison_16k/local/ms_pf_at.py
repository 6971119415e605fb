"""The MS post-filter (vawgan_tts.postfilters.ms_postfilter) at a chosen strength, applied to any
system's feature folder with that system's own modulation spectrum on the training prompts: how far a
deterministic, per-modulation-frequency gain on a given predictor gets (the analysis of README
"What the goal asks of the mean"). The library's `vawgan enhance --method ms-pf` applies strength
0.85 to a pair post-filter's own system only.

Usage: python local/ms_pf_at.py SYSTEM_TRAIN SYSTEM_IN OUT STRENGTH IDS
  SYSTEM_TRAIN  the system's output on lists/train.ids (its MS to undo)
  SYSTEM_IN     the same system's output to filter; OUT gets the filtered .npz of IDS
"""

from __future__ import annotations

import sys
from pathlib import Path

from vawgan_tts.feature_folder import load_utterance, save_utterance
from vawgan_tts.postfilters import ms_postfilter, natural_and_system_stats


def main(system_train: Path, system_in: Path, out: Path, strength: float, ids_file: Path) -> None:
    if out.resolve() in (system_in.resolve(), system_train.resolve()):
        sys.exit(f"ms_pf_at.py: {out} is an input; give another OUT")
    train = Path("lists/train.ids").read_text().split()
    stats = natural_and_system_stats(Path("dump/natural"), system_train, train)
    out.mkdir(parents=True, exist_ok=True)
    for u in ids_file.read_text().split():
        f = load_utterance(system_in, u)
        mcep = f.mcep.copy()
        mcep[:, 1:] = ms_postfilter(mcep[:, 1:], stats["ms_natural"], stats["ms_system"], strength)
        save_utterance(out, u, f.replace(mcep=mcep))
    print(f"{out}: the MS post-filter at strength {strength} on {system_in}")


if __name__ == "__main__":
    if len(sys.argv) != 6:
        sys.exit(__doc__)
    main(Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]), float(sys.argv[4]), Path(sys.argv[5]))
