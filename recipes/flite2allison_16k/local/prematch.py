"""The pairs of rules/vc_prematch.md: a speaker's own prompts read out by nearest neighbours from its
other frames, as the kNN readout (`vawgan convert --knn K`) reads a converted prompt out of them — kNN-VC's
"prematched" training data (Baas et al. 2023).

The VAE stage at its best dev epoch (the readout's checkpoint). Each prompt of SPEAKER's training share
(EXP/shares.json) is read out of the rest of the share: c1..c39 the mean of the K frames whose codes are
nearest, the prompt's own frames left out of the pool; each prompt of its dev share (not in the pool) out
of the whole share. c0, F0, V/UV and aperiodicity are the recording's. Writes OUT/<id>.npz and the two
share lists OUT/train.ids and OUT/dev.ids, for `vawgan train-postfilter OUT <natural> --ids OUT/train.ids
--dev-ids OUT/dev.ids`.

Usage: python local/prematch.py EXP SPEAKER K OUT
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import torch

from vawgan_tts.data.frames import normalize
from vawgan_tts.feature_folder import load_utterance, save_utterance
from vawgan_tts.knn import nearest_mean
from vawgan_tts.runs.vawgan_vc import SHARES, SpeakerConverter, speaker_folders


def main(exp: str, speaker: str, k: str, out: str) -> None:
    conv = SpeakerConverter(exp, speaker, stage="vae", which="best", knn=int(k))
    folder = speaker_folders(exp)[speaker]
    shares = json.loads((Path(exp) / SHARES).read_text())
    train, dev = shares["train"][speaker], shares["dev"][speaker]
    spans, start = {}, 0  # each training prompt's rows of the pool (speaker_codes concatenates them in share order)
    for utt in train:
        n = load_utterance(folder, utt).n_frames
        spans[utt], start = (start, start + n), start + n
    assert start == len(conv.pool.codes), "the pool is the training share in its order"
    for utt in train + dev:
        feats = load_utterance(folder, utt)
        keep = torch.ones(len(conv.pool.codes), dtype=torch.bool)
        if utt in spans:
            keep[slice(*spans[utt])] = False
        z = conv.task.codes(torch.from_numpy(normalize(feats.mcep[:, 1:], conv.stats_in)))
        y = nearest_mean(z, conv.pool.codes[keep], conv.pool.frames[keep], int(k)).numpy()
        save_utterance(out, utt, feats.replace(mcep=np.concatenate([feats.mcep[:, :1], y.astype(feats.mcep.dtype)], 1)))
    for name, ids in (("train", train), ("dev", dev)):
        (Path(out) / f"{name}.ids").write_text("".join(f"{u}\n" for u in ids))
    print(f"{exp}: {speaker}'s {len(train)} training and {len(dev)} dev prompts read out (k = {k}) -> {out}")


if __name__ == "__main__":
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    main(*sys.argv[1:])
