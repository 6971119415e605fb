"""The dev trial of rules/vc_knn.md: a VAWGAN-VC model's conversions read out of the target speaker's own
frames by nearest neighbours (kNN-VC, Baas et al. 2023) instead of by the decoder. For each stage (vae,
adv; each stage's best dev epoch) and variant, writes the converted features of PROMPTS into
OUT/<vae|vawgan>-<variant>/<id>.npz, ready for `vawgan eval --align dtw`.

The pool: every frame of the target's training share (EXP/shares.json): its code μ and its c1..c39.
Variants: code-k<k> and shift-k<k> (what became `vawgan convert --knn K [--code shift]`: μ of the source
frame, moved or not, and the mean c1..c39 of its k nearest pool codes); out-k<k> (the decoder's converted
frame matched to the pool's normalized c1..c39). c0, F0, V/UV and aperiodicity: the converter's.

Usage: python local/knn_readout.py EXP SRC TGT PROMPTS OUT
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import numpy as np
import torch

from vawgan_tts.data.frames import normalize
from vawgan_tts.feature_folder import load_utterance, save_utterance
from vawgan_tts.knn import nearest_mean
from vawgan_tts.runs.vawgan_vc import SpeakerConverter, speaker_folders

STAGES = {"vae": "vae", "adv": "vawgan"}
KS = {"code": (1, 4, 16), "shift": (1, 4, 16), "out": (4, 16)}


def main(exp: str, src: str, tgt: str, prompts: str, out: str) -> None:
    folder = speaker_folders(exp)[src]
    ids = Path(prompts).read_text().split()
    for stage, system in STAGES.items():
        for variant in ("code", "shift"):
            for k in KS[variant]:
                conv = SpeakerConverter(exp, tgt, src, stage=stage, which="best",
                                        code="shift" if variant == "shift" else "as-is", knn=k)
                for utt in ids:
                    save_utterance(Path(out) / f"{system}-{variant}-k{k}", utt, conv(load_utterance(folder, utt)))
        conv = SpeakerConverter(exp, tgt, src, stage=stage, which="best", knn=1)  # its pool; the decoder below
        keys = torch.from_numpy(normalize(conv.pool.frames.numpy(), conv.stats_out))
        for utt in ids:
            feats = load_utterance(folder, utt)
            converted = conv.task.convert(torch.from_numpy(normalize(feats.mcep[:, 1:], conv.stats_in)), conv.to)
            base = conv(feats)  # its c0, F0, V/UV and aperiodicity are kept
            for k in KS["out"]:
                y = nearest_mean(converted, keys, conv.pool.frames, k).numpy()
                mcep = np.concatenate([feats.mcep[:, :1], y.astype(feats.mcep.dtype)], axis=1)
                save_utterance(Path(out) / f"{system}-out-k{k}", utt, dataclasses.replace(base, mcep=mcep))
        print(f"{exp} {src}->{tgt} {system}: {len(ids)} prompts -> {out}")


if __name__ == "__main__":
    if len(sys.argv) != 6:
        sys.exit(__doc__)
    main(*sys.argv[1:])
