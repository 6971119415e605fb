"""The dev trial of rules/vc_code_transport.md: a VAWGAN-VC model's conversions with the source's code
moved towards the target's before decoding. For each stage (vae: VAE-VC, adv: VAWGAN-VC; each stage's
best dev epoch, stage 7's checkpoint) and each variant, writes the converted features of PROMPTS into
OUT/<vae-vc|vawgan-vc>-<variant>/<id>.npz, ready for `vawgan eval --align dtw`.

Variants (z = μ of each source frame): as-is (today's conversion); shift (z − m_src + m_tgt);
standardize ((z − m_src) / s_src · s_tgt + m_tgt); reencode (decode as the target, encode that output,
decode the new code as the target). m_s, s_s: mean and deviation of μ over speaker s's own training
share (its speech frames, as training selected them: EXP/shares.json, the config's silence threshold).

Usage: python local/code_transport.py EXP SRC TGT PROMPTS OUT
  e.g. python local/code_transport.py exp/vc_trial/disjoint-s0 slt allison lists/dev.ids \
       exp/vc_trial/disjoint-s0/transport_dev_slt
"""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

import numpy as np
import torch

from vawgan_tts.data.frames import denormalize, load_frames, normalize
from vawgan_tts.feature_folder import load_utterance, save_utterance
from vawgan_tts.runs.vawgan_vc import SpeakerConverter, speaker_folders

VARIANTS = ("as-is", "shift", "standardize", "reencode")
SYSTEMS = {"vae": "vae-vc", "adv": "vawgan-vc"}


def code_stats(conv: SpeakerConverter, folder: Path, ids: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and deviation (per dimension) of μ over the speech frames of ``ids``, as training selected them."""
    v = conv.task.config
    frames = load_frames(folder, ids, v.silence_threshold_db if v.drop_silence else None)
    with torch.no_grad():
        mu, _ = conv.task.vae.encode(torch.from_numpy(normalize(frames, conv.stats_in)))
    return mu.mean(0), mu.std(0)


def converted(conv: SpeakerConverter, x: torch.Tensor, variant: str, stats: dict) -> torch.Tensor:
    """The decoder's frames for normalized source frames ``x`` (T, 39) under ``variant``."""
    vae, to = conv.task.vae, torch.full((len(x),), conv.to, dtype=torch.long)
    with torch.no_grad():
        z, _ = vae.encode(x)
        (m_s, s_s), (m_t, s_t) = stats["src"], stats["tgt"]
        if variant == "shift":
            z = z - m_s + m_t
        elif variant == "standardize":
            z = (z - m_s) / s_s * s_t + m_t
        elif variant == "reencode":
            z, _ = vae.encode(vae.decode(z, to))
        return vae.decode(z, to)


def main(exp: str, src: str, tgt: str, prompts: str, out: str) -> None:
    folders = speaker_folders(exp)
    shares = json.loads((Path(exp) / "shares.json").read_text())["train"]
    ids = Path(prompts).read_text().split()
    for stage, system in SYSTEMS.items():
        conv = SpeakerConverter(exp, tgt, src, stage=stage, which="best")
        assert conv.stats_in is conv.stats_out, "the trial is for global normalization (conf/vc.toml)"
        stats = {"src": code_stats(conv, folders[src], shares[src]), "tgt": code_stats(conv, folders[tgt], shares[tgt])}
        for variant in VARIANTS:
            folder = Path(out) / f"{system}-{variant}"
            folder.mkdir(parents=True, exist_ok=True)
            for utt in ids:
                feats = load_utterance(folders[src], utt)
                ref = conv(feats)  # today's conversion: its c0, F0, V/UV and aperiodicity are kept
                x = torch.from_numpy(normalize(feats.mcep[:, 1:], conv.stats_in))
                y = denormalize(converted(conv, x, variant, stats).numpy(), conv.stats_out)
                if variant == "as-is":
                    assert np.allclose(y, ref.mcep[:, 1:], atol=1e-4), "the trial's as-is differs from the converter"
                mcep = np.concatenate([ref.mcep[:, :1], y.astype(ref.mcep.dtype)], axis=1)
                save_utterance(folder, utt, dataclasses.replace(ref, mcep=mcep))
        print(f"{exp} {src}->{tgt} {system}: {len(ids)} prompts x {len(VARIANTS)} variants -> {out}")


if __name__ == "__main__":
    if len(sys.argv) != 6:
        sys.exit(__doc__)
    main(*sys.argv[1:])
