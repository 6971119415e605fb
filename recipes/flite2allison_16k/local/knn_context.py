"""The dev trial of rules/vc_knn_context.md: the kNN readout (`vawgan convert --code shift --knn 16`, the
VAE stage's best dev epoch) with each frame matched by the codes of the frames t-C..t+C side by side, in
the source utterance and in each of the target's training prompts alike (edge frames repeated). Writes
OUT/ctx<C>/<id>.npz for C = 0 (the readout as it is), 1, 2, 4, ready for `vawgan eval --align dtw`.

Usage: python local/knn_context.py EXP SRC TGT PROMPTS OUT
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
from vawgan_tts.runs.converter import context_windows
from vawgan_tts.runs.vawgan_vc import SHARES, SpeakerConverter, speaker_codes, speaker_folders

CONTEXTS = (0, 1, 2, 4)
K = 16


def main(exp: str, src: str, tgt: str, prompts: str, out: str) -> None:
    conv = SpeakerConverter(exp, tgt, src, stage="vae", which="best", code="shift", knn=K)
    folders = speaker_folders(exp)
    share = json.loads((Path(exp) / SHARES).read_text())["train"][tgt]
    pool = [speaker_codes(conv.trained, conv.stats_out, folders[tgt], [u]) for u in share]
    frames = torch.cat([p.frames for p in pool])
    assert torch.equal(torch.cat([p.codes for p in pool]), conv.pool.codes), "the converter's pool, prompt by prompt"
    for c in CONTEXTS:
        keys = torch.from_numpy(np.concatenate([context_windows(p.codes.numpy(), c) for p in pool]))
        for utt in Path(prompts).read_text().split():
            feats = load_utterance(folders[src], utt)
            z = conv.move(conv.task.codes(torch.from_numpy(normalize(feats.mcep[:, 1:], conv.stats_in))))
            queries = torch.from_numpy(context_windows(z.numpy(), c))
            y = nearest_mean(queries, keys, frames, K).numpy()
            base = conv(feats)  # the readout as it is: its c0, F0, V/UV and aperiodicity are kept
            if c == 0:
                np.testing.assert_allclose(y, base.mcep[:, 1:], atol=1e-5)
            mcep = np.concatenate([base.mcep[:, :1], y.astype(base.mcep.dtype)], axis=1)
            save_utterance(Path(out) / f"ctx{c}", utt, base.replace(mcep=mcep))
        print(f"{exp} {src}->{tgt} ctx{c}: -> {out}/ctx{c}")


if __name__ == "__main__":
    if len(sys.argv) != 6:
        sys.exit(__doc__)
    main(*sys.argv[1:])
