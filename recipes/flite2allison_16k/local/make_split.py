"""Write the recipe's fixed split by prompt (run once; the lists are committed in lists/).

Of the sorted ids of every speech prompt with a recording (data/corpus/text), every 10th (offset 0)
is eval, the next one dev, the rest train. No eval prompt trains anything: the converter, its
alignment rounds, its statistics and the F0 transform all use train (and dev for monitoring).
Usage: python local/make_split.py data/corpus/text lists
"""

import sys
from pathlib import Path

text, out = Path(sys.argv[1]), Path(sys.argv[2])
ids = sorted(line.split("\t", 1)[0] for line in text.read_text(encoding="utf-8").splitlines() if line)
splits = {"train": [], "dev": [], "eval": []}
for i, u in enumerate(ids):
    splits["eval" if i % 10 == 0 else "dev" if i % 10 == 1 else "train"].append(u)
out.mkdir(parents=True, exist_ok=True)
for name, part in splits.items():
    (out / f"{name}.ids").write_text("".join(f"{u}\n" for u in part))
print(" ".join(f"{k}={len(v)}" for k, v in splits.items()))
