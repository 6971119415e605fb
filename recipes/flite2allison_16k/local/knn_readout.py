"""The dev trial of rules/vc_knn.md: a VAWGAN-VC model's conversions read out of the target speaker's own
frames by nearest neighbours (kNN-VC, Baas et al. 2023) instead of by the decoder. For each stage (vae,
adv; each stage's best dev epoch) and variant, writes the converted features of PROMPTS into
OUT/<vae|vawgan>-<variant>/<id>.npz, ready for `vawgan eval --align dtw`.

The pool: every frame of the target's training share (EXP/shares.json): its code μ and its c1..c39.
Variants: code-k<k> (μ of the source frame, the mean c1..c39 of its k nearest pool codes), shift-k<k>
(the same after `--code shift`), out-k<k> (the decoder's converted frame matched to the pool's
normalized c1..c39). c0, F0, V/UV and aperiodicity: the converter's.

Usage: python local/knn_readout.py EXP SRC TGT PROMPTS OUT
"""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

import numpy as np
import torch

from vawgan_tts.data.frames import normalize
from vawgan_tts.feature_folder import load_utterance, save_utterance
from vawgan_tts.runs.vawgan_vc import SpeakerConverter, speaker_folders

STAGES = {"vae": "vae", "adv": "vawgan"}
KS = {"code": (1, 4, 16), "shift": (1, 4, 16), "out": (4, 16)}


def pool(conv: SpeakerConverter, folder: Path, ids: list[str]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The target's training frames: codes μ (N, latent), normalized c1..c39 (N, 39) and c1..c39 (N, 39)."""
    codes, normed, frames = [], [], []
    for utt in ids:
        mcep = load_utterance(folder, utt).mcep[:, 1:].astype(np.float32)
        x = torch.from_numpy(normalize(mcep, conv.stats_out))
        codes.append(conv.task.codes(x))
        normed.append(x)
        frames.append(torch.from_numpy(mcep))
    return torch.cat(codes), torch.cat(normed), torch.cat(frames)


def nearest_mean(queries: torch.Tensor, keys: torch.Tensor, values: torch.Tensor, k: int) -> torch.Tensor:
    """The mean of ``values`` at the ``k`` rows of ``keys`` nearest (Euclidean) to each query."""
    index = torch.cdist(queries, keys).topk(k, largest=False).indices  # (T, k)
    return values[index].mean(1)


def main(exp: str, src: str, tgt: str, prompts: str, out: str) -> None:
    folders = speaker_folders(exp)
    shares = json.loads((Path(exp) / "shares.json").read_text())["train"]
    ids = Path(prompts).read_text().split()
    for stage, system in STAGES.items():
        conv = SpeakerConverter(exp, tgt, src, stage=stage, which="best", code="shift")
        assert conv.stats_in is conv.stats_out, "the trial is for global normalization (conf/vc.toml)"
        p_codes, p_normed, p_frames = pool(conv, folders[tgt], shares[tgt])
        for utt in ids:
            feats = load_utterance(folders[src], utt)
            base = _plain(conv, feats)  # today's conversion: its c0, F0, V/UV and aperiodicity are kept
            x = torch.from_numpy(normalize(feats.mcep[:, 1:], conv.stats_in))
            with torch.no_grad():
                z = conv.task.codes(x)
                converted = conv.task.decode_as(z, conv.to)
                queries = {"code": (z, p_codes), "shift": (conv.move(z), p_codes), "out": (converted, p_normed)}
                for variant, ks in KS.items():
                    q, keys = queries[variant]
                    for k in ks:
                        y = nearest_mean(q, keys, p_frames, k).numpy()
                        mcep = np.concatenate([feats.mcep[:, :1], y.astype(feats.mcep.dtype)], axis=1)
                        save_utterance(Path(out) / f"{system}-{variant}-k{k}", utt, dataclasses.replace(base, mcep=mcep))
        print(f"{exp} {src}->{tgt} {system}: {len(ids)} prompts -> {out}")


def _plain(conv: SpeakerConverter, feats):
    """``conv``'s conversion of ``feats`` with the codes as they are (its log-F0 transform, c0, V/UV)."""
    move, conv.move = conv.move, None
    try:
        return conv(feats)
    finally:
        conv.move = move


if __name__ == "__main__":
    if len(sys.argv) != 6:
        sys.exit(__doc__)
    main(*sys.argv[1:])
