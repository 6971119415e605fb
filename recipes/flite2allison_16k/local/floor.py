"""What the dominance goal asks of the post-filter's conditional mean (README "What the goal asks of
the mean"): for each voice and seed, the stage-6 frame post-filter's VAE stage (trained on squared
error: the best predictor of Allison's frames from the DNN's that this recipe has) and the least
DTW-MCD any post-filter of it can have at GV ratio 0.9 and 1 (vawgan_tts.spread_floor), beside the
MS post-filter's MCD, which a dominating post-filter must not exceed.

The floor's a, the share of natural's variance the predictor holds, is calibrated two ways: the
predictor's own GV ratio, and its MCD against the DNN's (the DNN taken as a conditional mean at its
GV ratio). The check row: the floor the DNN's own figures give at the GV post-filter's GV ratio,
against the GV post-filter's measured MCD (the scaled conditional mean the floor is made of).

Reads exp/<voice>/pfconv/floor/eval/metrics.json: systems dnn, dnn+gv-pf, dnn+ms-pf, vae-s<seed>,
vae-s<seed>+gv-pf (the commands are in README). Usage: python local/floor.py [VOICE ...]  (Markdown)
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from vawgan_tts.spread_floor import mcd_floor, predictable_share

VAE_STAGE = r"vae-s\d+"  # the systems floors are drawn from: each seed's VAE stage


def floors(systems: dict, name: str, v) -> tuple:
    """(floor with a = the predictor's GV ratio, floor with a calibrated on the DNN) at GV ratio(s) v."""
    m, dnn = systems[name], systems["dnn"]
    return (mcd_floor(m["mcd_db"], m["gv_ratio"], v),
            mcd_floor(m["mcd_db"], predictable_share(m["mcd_db"], dnn["mcd_db"], dnn["gv_ratio"]), v))


def table(voice: str) -> str:
    systems = json.loads((Path("exp") / voice / "pfconv/floor/eval/metrics.json").read_text())["systems"]
    dnn, gv_pf, ms_pf = systems["dnn"], systems["dnn+gv-pf"], systems["dnn+ms-pf"]
    check = float(mcd_floor(dnn["mcd_db"], dnn["gv_ratio"], gv_pf["gv_ratio"]))
    rows = [f"{voice}, eval prompts. Check: the DNN's floor at the GV post-filter's GV ratio "
            f"{gv_pf['gv_ratio']:.2f} is {check:.2f} dB; the GV post-filter measures {gv_pf['mcd_db']:.2f}. "
            f"The MS post-filter: {ms_pf['mcd_db']:.2f} dB at GV ratio {ms_pf['gv_ratio']:.2f}.\n",
            "| predictor | DTW-MCD | GV ratio | floor at GV 0.9 (own a / calibrated a) | floor at GV 1 | "
            "+ GV post-filter, measured | room under the MS post-filter at GV 0.9 [dB] |",
            "|---|---|---|---|---|---|---|"]
    for name in sorted(n for n in systems if re.fullmatch(VAE_STAGE, n)):
        seed = name.rsplit("-s", 1)[1]
        m, scaled = systems[name], systems[f"{name}+gv-pf"]
        f9, f10 = floors(systems, name, 0.9), floors(systems, name, 1.0)
        rows.append(f"| VAE stage, seed {seed} | {m['mcd_db']:.2f} | {m['gv_ratio']:.2f} | {f9[0]:.2f} / {f9[1]:.2f} | "
                    f"{f10[0]:.2f} / {f10[1]:.2f} | {scaled['mcd_db']:.2f} at {scaled['gv_ratio']:.2f} | "
                    f"{ms_pf['mcd_db'] - f9[0]:+.2f} / {ms_pf['mcd_db'] - f9[1]:+.2f} |")
    return "\n".join(rows) + "\n"


if __name__ == "__main__":
    print("\n".join(table(v) for v in sys.argv[1:] or ["slt", "rms", "awb"]))
