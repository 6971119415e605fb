"""Write deterministic train/dev/eval lists of the Allison prompts.

Prompts are sorted by utterance id; every 10th (offset 0) goes to eval, offset 1 to dev, the rest
to train. Not speech, left out: the `silence/` folder (10 files of pure dither, peak -84 dBFS) and
the prompts whose transcript is only a [bracketed] description (tones and beeps: ascending-2tone,
beep, beeperr, descending-2tone, and tt-monkeys: monkeys screaming).
Writes DATA/wav.scp (utt<TAB>path of every prompt) and DATA/{train,dev,eval}.ids.
Usage: python local/make_lists.py CORPUS_DIR TRANSCRIPTS DATA_DIR
"""

import sys
from pathlib import Path

from vawgan_tts.corpus import read_transcripts
from vawgan_tts.extract import collect_inputs

corpus, transcripts, data = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
not_speech = set(read_transcripts(transcripts).non_speech)
pairs = [(utt, p) for utt, p in collect_inputs([corpus]) if p.parent.name != "silence" and utt not in not_speech]
data.mkdir(parents=True, exist_ok=True)
(data / "wav.scp").write_text("".join(f"{utt}\t{p.resolve()}\n" for utt, p in pairs))
splits = {"eval": [], "dev": [], "train": []}
for i, (utt, _) in enumerate(pairs):
    splits["eval" if i % 10 == 0 else "dev" if i % 10 == 1 else "train"].append(utt)
for name, ids in splits.items():
    (data / f"{name}.ids").write_text("".join(f"{u}\n" for u in ids))
print(" ".join(f"{k}={len(v)}" for k, v in splits.items()), f"prompts={len(pairs)}")
