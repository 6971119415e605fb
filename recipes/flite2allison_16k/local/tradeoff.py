"""The GV-ratio / DTW-MCD trade-off of the adversarial converter over w_d and of the pair-trained
VAWGAN post-filter over its adversarial weight, with the plain DNN and its post-filters on the same
axes, and the adversarial stages' curves. Reads the measured metrics (exp/<voice>/report/metrics.json,
exp/<voice>/adv-w*/eval/metrics.json, exp/<voice>/postfilter/eval/metrics.json) and logs; writes
results/<voice>/tradeoff.png, adv_curves.png and pf_curves.png.
Usage: python local/tradeoff.py VOICE
"""

import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from vawgan_tts.trainer import read_log  # noqa: E402

voice = sys.argv[1]
exp = Path("exp") / voice
out = Path("results") / voice
out.mkdir(parents=True, exist_ok=True)
report = json.loads((exp / "report" / "metrics.json").read_text())["systems"]
adv = []
for d in sorted(exp.glob("adv-w*"), key=lambda p: float(p.name[5:])):
    m = d / "eval" / "metrics.json"
    if m.is_file():
        adv.append((float(d.name[5:]), next(iter(json.loads(m.read_text())["systems"].values())), d))

fig, ax = plt.subplots(figsize=(6, 4.5))
ax.plot([s["gv_ratio"] for _, s, _ in adv], [s["mcd_db"] for _, s, _ in adv], "o-", label="adversarial converter (w_d)")
for w, s, _ in adv:
    ax.annotate(f"{w:g}", (s["gv_ratio"], s["mcd_db"]), textcoords="offset points", xytext=(4, 4))
pf_eval = exp / "postfilter" / "eval" / "metrics.json"
pf_points = []
if pf_eval.is_file():
    pf_systems = json.loads(pf_eval.read_text())["systems"]
    pf_points = sorted((float(n.rsplit("-w", 1)[1]), s) for n, s in pf_systems.items() if n.startswith("dnn+vawgan-w"))
    ax.plot([s["gv_ratio"] for _, s in pf_points], [s["mcd_db"] for _, s in pf_points], "D-",
            label="DNN + VAWGAN post-filter (pairs; weight)")
    for w, s in pf_points:
        ax.annotate(f"{w:g}", (s["gv_ratio"], s["mcd_db"]), textcoords="offset points", xytext=(4, -10))
    if "dnn+natural-vawgan" in pf_systems:
        s = pf_systems["dnn+natural-vawgan"]
        ax.plot(s["gv_ratio"], s["mcd_db"], "x", ms=8, label="DNN + VAWGAN (natural speech only)")
for name, marker in (("converted", "s"), ("converted+gv-pf", "^"), ("converted+ms-pf", "v")):
    if name in report:
        ax.plot(report[name]["gv_ratio"], report[name]["mcd_db"], marker, label=name.replace("converted", "DNN"))
ax.set_xlabel("GV ratio (1 = natural)")
ax.set_ylabel("DTW-MCD [dB]")
ax.set_title(f"{voice} → Allison, eval prompts: accuracy against spread")
ax.grid(alpha=0.3)
ax.legend()
fig.tight_layout()
fig.savefig(out / "tradeoff.png", dpi=110)


def curves(runs, what: str, fake: str, terms, path: Path) -> None:
    """One row per (weight, run folder): the critic's D(x) and D(fake) over the critic and adversarial
    stages, and the generator's ``terms`` ((label, log → per-step values)) over the adversarial stage."""
    fig, axes = plt.subplots(len(runs), 2, figsize=(10, 2.6 * len(runs)), squeeze=False)
    for row, (w, d) in zip(axes, runs):
        log = read_log(d / "log.csv")
        steps = log["step"]
        row[0].plot(steps, log["d_real"], label="D(x) natural", lw=0.6)
        row[0].plot(steps, log["d_fake"], label=fake, lw=0.6)
        row[0].set_title(f"{what} {w:g}: critic")
        row[0].legend(fontsize=7)
        adv_steps = [i for i, s in enumerate(log["stage"]) if s == "adv"]
        for label, values in terms:
            v = values(log)
            row[1].plot([steps[i] for i in adv_steps], [v[i] for i in adv_steps], label=label, lw=0.6)
        row[1].set_title(f"{what} {w:g}: generator terms (adversarial stage)")
        row[1].legend(fontsize=7)
    for ax in axes[-1]:
        ax.set_xlabel("step")
    fig.tight_layout()
    fig.savefig(path, dpi=100)


if adv:
    curves([(w, d) for w, _, d in adv], "w_d =", "D(G(x)) converted",
           [("MSE", lambda log: log["mse"]), ("L_ADV", lambda log: log["adv_loss"])], out / "adv_curves.png")
pf_runs = sorted(((float(d.name[5:]), d) for d in (exp / "postfilter").glob("adv-w*") if (d / "log.csv").is_file()))
if pf_runs:
    # L_adv = NLL − α·E[D(G(z))] with α = |NLL / E[D(G(z))]| is 0 in value by its scaling; what moves the
    # decoder is its gradient, the reconstruction's minus the critic's at weight α: plot α·D(G(z)).
    curves(pf_runs, "post-filter, weight", "D(G(z)) post-filtered",
           [("reconstruction (NLL)", lambda log: log["nll"]),
            ("α·D(G(z)): the adversarial part", lambda log: [a * f for a, f in zip(log["alpha"], log["d_fake"])])],
           out / "pf_curves.png")
print(f"{out / 'tradeoff.png'}: {len(adv)} adversarial converter points, {len(pf_points)} post-filter points")
