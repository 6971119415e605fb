"""The dev trial of rules/vc_code_transport.md: a VAWGAN-VC model's conversions with the source's code
moved towards the target's before decoding. For each stage (vae: VAE-VC, adv: VAWGAN-VC; each stage's
best dev epoch, stage 7's checkpoint) and each variant, writes the converted features of PROMPTS into
OUT/<vae-vc|vawgan-vc>-<variant>/<id>.npz, ready for `vawgan eval --align dtw`.

Variants (z = μ of each source frame): as-is (today's conversion); shift and standardize (what became
`vawgan convert --code shift|standardize`: runs/vawgan_vc.py's code_move with each speaker's code
statistics over its own training share); reencode (decode as the target, encode that output, decode
the new code as the target).

Usage: python local/code_transport.py EXP SRC TGT PROMPTS OUT
  e.g. python local/code_transport.py exp/vc_trial/disjoint-s0 slt allison lists/dev.ids \
       exp/vc_trial/disjoint-s0/transport_dev_slt
"""

from __future__ import annotations

import sys
from pathlib import Path

from vawgan_tts.feature_folder import load_utterance, save_utterance
from vawgan_tts.runs.vawgan_vc import SpeakerConverter, speaker_folders

VARIANTS = ("as-is", "shift", "standardize", "reencode")
SYSTEMS = {"vae": "vae-vc", "adv": "vawgan-vc"}


def converter(exp: str, src: str, tgt: str, stage: str, variant: str) -> SpeakerConverter:
    """The variant's converter; reencode is as-is's with the codes passed through the decoder and the
    encoder once more."""
    code = "as-is" if variant == "reencode" else variant
    conv = SpeakerConverter(exp, tgt, src, stage=stage, which="best", code=code)
    if variant == "reencode":
        conv.move = lambda z: conv.task.codes(conv.task.decode_as(z, conv.to))
    return conv


def main(exp: str, src: str, tgt: str, prompts: str, out: str) -> None:
    folder = speaker_folders(exp)[src]
    ids = Path(prompts).read_text().split()
    for stage, system in SYSTEMS.items():
        for variant in VARIANTS:
            conv = converter(exp, src, tgt, stage, variant)
            for utt in ids:
                save_utterance(Path(out) / f"{system}-{variant}", utt, conv(load_utterance(folder, utt)))
        print(f"{exp} {src}->{tgt} {system}: {len(ids)} prompts x {len(VARIANTS)} variants -> {out}")


if __name__ == "__main__":
    if len(sys.argv) != 6:
        sys.exit(__doc__)
    main(*sys.argv[1:])
