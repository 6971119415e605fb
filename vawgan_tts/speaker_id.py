"""Which speaker an utterance sounds like: a frame classifier for evaluating voice conversion.

A small MLP (scikit-learn's MLPClassifier) on standardized c1..c39 speech frames of each speaker's
training prompts; an utterance is given to the speaker with the highest mean log-posterior over its
speech frames (frames are not independent, but the mean log-posterior is the usual utterance score
of a frame-level speaker model). c0, the loudness, is left out, and so are F0 and aperiodicity: the
classifier judges the spectral envelope, which is what the converters change.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from .data.frames import load_frames
from .errors import VawganError
from .feature_folder import has_utterance, uniform_settings, utterance_path
from .features import SPEECH_THRESHOLD_DB, FeatureStats, load_features, speech_mask

MAX_FRAMES = 20000  # per speaker: enough for five voices, trains in about a minute on two cores


class SpeakerClassifier:
    def __init__(self, speakers: Mapping[str, str | Path], ids: Sequence[str], hidden: tuple[int, ...] = (256,),
                 max_frames: int = MAX_FRAMES, seed: int = 0):
        """Train on the speech frames of ``ids`` in each speaker's feature folder (at most
        ``max_frames`` per speaker, drawn at random so that every speaker weighs the same)."""
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.neural_network import MLPClassifier

        if len(speakers) < 2:
            raise VawganError(None, "speaker identification needs two or more speakers")
        rng = np.random.default_rng(seed)
        xs, ys = [], []
        self.names = list(speakers)
        self.settings = None  # the speakers' feature settings: every folder identified must share them
        for k, (name, folder) in enumerate(speakers.items()):
            have = [u for u in ids if has_utterance(Path(folder), u)]
            if not have:
                raise VawganError(folder, f"speaker {name!r} has none of the {len(ids)} training prompts")
            self.settings = self._check_settings(folder, have, f"speaker {name!r}")
            f = load_frames(folder, have, SPEECH_THRESHOLD_DB)
            f = f[rng.permutation(len(f))[:max_frames]]
            xs.append(f)
            ys.append(np.full(len(f), k))
        x = np.concatenate(xs)
        self.stats = FeatureStats.from_frames(x)
        self.model = MLPClassifier(hidden_layer_sizes=hidden, early_stopping=True, max_iter=60, random_state=seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            self.model.fit(self._standard(x), np.concatenate(ys))
        self.frame_accuracy = float(self.model.best_validation_score_)

    def _check_settings(self, folder: str | Path, ids: Sequence[str], who: str):
        settings = uniform_settings(folder, ids)
        if self.settings is not None and not settings.matches(self.settings):
            raise VawganError(folder, f"{who}: features at {settings}; the classifier's speakers are at {self.settings}: "
                                      "extract all alike")
        return settings

    def _standard(self, c: np.ndarray) -> np.ndarray:
        return (c - self.stats.mean) / np.maximum(self.stats.std, 1e-8)

    def scores(self, path: str | Path) -> np.ndarray:
        """Mean log-posterior of each speaker over the utterance's speech frames. -> (S,)"""
        feats = load_features(path)
        c = feats.mcep[speech_mask(feats.mcep[:, 0], SPEECH_THRESHOLD_DB), 1:]
        if len(c) == 0:
            raise VawganError(path, "no speech frames to identify the speaker from")
        return np.log(np.maximum(self.model.predict_proba(self._standard(c)), 1e-12)).mean(axis=0)

    def identify(self, path: str | Path) -> str:
        return self.names[int(np.argmax(self.scores(path)))]

    def tally(self, folder: str | Path, ids: Sequence[str]) -> dict[str, int]:
        """How many of the utterances ``ids`` in ``folder`` are given to each speaker."""
        missing = [u for u in ids if not has_utterance(Path(folder), u)]
        if missing:
            raise VawganError(folder, f"no features for {len(missing)} of the {len(ids)} utterances, e.g. {missing[0]}")
        self._check_settings(folder, ids, "these utterances")
        counts = dict.fromkeys(self.names, 0)
        for u in ids:
            counts[self.identify(utterance_path(Path(folder), u))] += 1
        return counts


def identify_sets(speakers: Mapping[str, str | Path], ids: Sequence[str], eval_ids: Sequence[str],
                  sets: Mapping[str, str | Path] | None = None, expected: Mapping[str, str] | None = None,
                  seed: int = 0, output: str | Path | None = None) -> dict:
    """`vawgan speaker-id`: a classifier of ``speakers`` (name → feature folder) trained on ``ids``;
    each speaker's own recordings of ``eval_ids`` identified (its confusion row, labelled "NAME
    (recordings)"), then each of ``sets`` (name → converted features); ``expected``: the speaker a set
    should sound like, whose share is given. Returns (and writes to ``output`` as JSON) ``{"speakers",
    "frame_accuracy", "utterances", "sets": {label: {"counts", "expected", "share"}}}``."""
    import json

    from .fileio import write_text_atomic

    sets, expected = dict(sets or {}), dict(expected or {})
    for name, who in expected.items():
        if name not in sets or who not in speakers:
            raise VawganError(None, f"--expect {f'{name}={who}'!r}: NAME=SPEAKER with NAME one of --score "
                                    f"({', '.join(sets) or 'none'}) and SPEAKER one of {', '.join(speakers)}")
    clf = SpeakerClassifier(speakers, ids, seed=seed)
    rows = {f"{n} (recordings)": (folder, n) for n, folder in speakers.items()}
    rows |= {n: (folder, expected.get(n)) for n, folder in sets.items()}
    result = {"speakers": clf.names, "frame_accuracy": clf.frame_accuracy, "utterances": len(eval_ids), "sets": {}}
    for label, (folder, target) in rows.items():
        counts = clf.tally(folder, eval_ids)
        result["sets"][label] = {"counts": counts, "expected": target,
                                 "share": counts[target] / len(eval_ids) if target else None}
    if output is not None:
        write_text_atomic(output, json.dumps(result, indent=2) + "\n")
    return result
