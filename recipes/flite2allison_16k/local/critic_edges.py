"""Does a conv post-filter's critic tell generated crops by their edges? On the dev prompts, with z = μ, the
critic's mean score of crops generated on the crop itself (as in training: the crop's edges see padding),
the same frames cut from the whole utterance's output (no crop edges), the system's own crops and crops of
natural recordings; and the mean |difference| of the two generated versions by position in the crop.

Usage (in the recipe folder, after stage 8): python local/critic_edges.py EXP [NAME=DIR ...]
e.g. python local/critic_edges.py exp/slt/pfconv/conv_wgan-s0 ms-pf=exp/slt/pfconv/dev/dnn+ms-pf
NAME=DIR: further systems' features of the dev prompts (the same timing as the system's), their
crops scored by the same critic."""
import sys
from pathlib import Path

import numpy as np
import torch

from vawgan_tts.runs.folder import CONFIG
from vawgan_tts.runs.vawgan_postfilter import PairPostfilter, load_pair_postfilter_config
from vawgan_tts.tasks.vawgan_postfilter import Segments
from vawgan_tts.feature_folder import load_utterance

exp = sys.argv[1]
others = dict(a.split("=", 1) for a in sys.argv[2:])
pf = PairPostfilter(exp)
task, L = pf.task, pf.task.config.segment
rng = np.random.default_rng(0)
data = load_pair_postfilter_config(Path(exp) / CONFIG).data  # the system's and natural features it was trained on
ids = [l.strip() for l in open('lists/dev.ids') if l.strip()]


def norm(c):
    return torch.from_numpy(((c - pf.mean) / pf.std).astype(np.float32))


scores = {k: [] for k in ("crop-generated", "cut-from-whole", "system", "natural", *others)}
diff = np.zeros(L)
n = 0


def gen(x):
    seg = Segments(x, x, torch.ones(x.shape[:2]), x)
    mu, _ = task.encode(seg)
    return task.generate(mu, seg)


with torch.no_grad():
    for u in ids:
        x = norm(load_utterance(Path(data.system), u).mcep[:, 1:].astype(np.float64))[None]
        nat = norm(load_utterance(Path(data.natural), u).mcep[:, 1:].astype(np.float64))[None]
        if x.shape[1] < L + 2 or nat.shape[1] < L:
            continue
        whole = gen(x)
        for s in rng.integers(1, x.shape[1] - L, size=4):
            a, b = gen(x[:, s:s + L]), whole[:, s:s + L]
            scores["crop-generated"].append(float(task.critic(a)))
            scores["cut-from-whole"].append(float(task.critic(b)))
            scores["system"].append(float(task.critic(x[:, s:s + L])))
            for name, folder in others.items():
                c = norm(load_utterance(Path(folder), u).mcep[:, 1:].astype(np.float64))[None]
                scores[name].append(float(task.critic(c[:, s:s + L])))
            diff += (a - b).abs().mean(-1)[0].numpy()
            n += 1
        for s in rng.integers(0, nat.shape[1] - L + 1, size=4):
            scores["natural"].append(float(task.critic(nat[:, s:s + L])))
for k, v in scores.items():
    print(f"{k:16s} critic mean {np.mean(v):8.2f}  sd {np.std(v):6.2f}  n {len(v)}")
d = diff / n
print("mean |crop-generated − cut-from-whole| by position (normalized units):",
      " ".join(f"{d[i]:.3f}" for i in (0, 5, 10, 20, 30, 40, 48, 56, 66, 76, 86, 91, L - 1)))
