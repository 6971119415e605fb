"""How much of the speaker a VAWGAN-VC model's code z still carries: a probe classifier (scikit-learn
MLP, one hidden layer of 256) trained to tell the five speakers apart from the codes μ of the speech
frames of some training prompts, and scored on the dev prompts, which every speaker reads (so the
phones are the same for all five and only the speaker can tell the codes apart). Chance is about
0.2. Prints the dev accuracy, and each speaker's reconstruction MCD (the model's decoder given that
speaker's own code and embedding, speech frames, no alignment needed).

Usage: python local/code_speaker_probe.py EXP [STAGE] [N_TRAIN_PROMPTS]
  STAGE: vae (VAE-VC, the default) or adv (VAWGAN-VC); N_TRAIN_PROMPTS: 60 by default.
  e.g. python local/code_speaker_probe.py exp/vc_trial/zadv1-s0 vae
"""

from __future__ import annotations

import sys

import numpy as np
import torch
from sklearn.neural_network import MLPClassifier

from vawgan_tts.alignment import speech_frames
from vawgan_tts.data.frames import normalize
from vawgan_tts.feature_folder import load_utterance
from vawgan_tts.metrics import frame_mcd
from vawgan_tts.runs.vawgan_vc import SpeakerConverter, speaker_folders


def codes(converter: SpeakerConverter, folders: dict, ids: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """μ of every speech frame of ``ids`` in every speaker's folder, and each code's speaker index."""
    mus, labels = [], []
    for k, folder in enumerate(folders.values()):
        for utt in ids:
            f = load_utterance(folder, utt)
            s = speech_frames(f.mcep[:, 0], folder)
            with torch.no_grad():
                mu, _ = converter.task.vae.encode(torch.from_numpy(normalize(f.mcep[s, 1:], converter.stats_in)))
            mus.append(mu.numpy())
            labels.append(np.full(len(s), k))
    return np.concatenate(mus), np.concatenate(labels)


def reconstruction_mcd(exp: str, speaker: str, folder, ids: list[str], stage: str) -> float:
    """Mean over ``ids`` of the MCD (speech frames) between a speaker's frames and their reconstruction."""
    rebuild = SpeakerConverter(exp, speaker, None, stage=stage)
    per_utt = []
    for utt in ids:
        f = load_utterance(folder, utt)
        s = speech_frames(f.mcep[:, 0], folder)
        per_utt.append(frame_mcd(f.mcep[s, 1:], rebuild(f).mcep[s, 1:]).mean())
    return float(np.mean(per_utt))


def main(exp: str, stage: str = "vae", n_train: int = 60) -> None:
    folders = speaker_folders(exp)
    train = open("lists/train.ids").read().split()[:n_train]
    dev = open("lists/dev.ids").read().split()
    converter = SpeakerConverter(exp, next(iter(folders)), None, stage=stage)
    probe = MLPClassifier((256,), max_iter=200, random_state=0).fit(*codes(converter, folders, train))
    accuracy = probe.score(*codes(converter, folders, dev))
    print(f"{exp} {stage}: speaker accuracy of a probe on the code (dev) {accuracy:.3f}")
    for name, folder in folders.items():
        print(f"{exp} {stage}: reconstruction MCD {name} {reconstruction_mcd(exp, name, folder, dev, stage):.3f} dB")


if __name__ == "__main__":
    main(sys.argv[1], *(sys.argv[2:3]), *(int(a) for a in sys.argv[3:4]))
