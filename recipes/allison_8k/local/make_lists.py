"""Write deterministic train/dev/eval lists of the Allison prompts.

Prompts are sorted by utterance id; every 10th (offset 0) goes to eval, offset 1 to dev, the rest
to train. The `silence/` folder holds 10 files of pure dither (peak -84 dBFS): not speech, left out.
Writes DATA/wav.scp (utt<TAB>path of every prompt) and DATA/{train,dev,eval}.ids.
Usage: python local/make_lists.py CORPUS_DIR DATA_DIR
"""

import sys
from pathlib import Path

from vawgan_tts.extract import collect_inputs

corpus, data = Path(sys.argv[1]), Path(sys.argv[2])
pairs = [(utt, p) for utt, p in collect_inputs([corpus]) if p.parent.name != "silence"]
data.mkdir(parents=True, exist_ok=True)
(data / "wav.scp").write_text("".join(f"{utt}\t{p.resolve()}\n" for utt, p in pairs))
splits = {"eval": [], "dev": [], "train": []}
for i, (utt, _) in enumerate(pairs):
    splits["eval" if i % 10 == 0 else "dev" if i % 10 == 1 else "train"].append(utt)
for name, ids in splits.items():
    (data / f"{name}.ids").write_text("".join(f"{u}\n" for u in ids))
print(" ".join(f"{k}={len(v)}" for k, v in splits.items()), f"prompts={len(pairs)}")
