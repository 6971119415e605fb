"""Shared fixtures: real recorded speech only.

- ``arctic_wav``: the CMU ARCTIC utterance that ships with pysptk (16 kHz, male).
- ``allison_dir``: Debian's Allison prompts (8 kHz, female), fetched by `make data` / `make test`
  into recipes/allison_8k/downloads. A missing corpus fails the tests that need it, loudly.
- ``flite2allison``: Debian's Allison prompts in G.722 at 16 kHz, their transcripts, flite and its
  voices, unpacked by `make data` into recipes/flite2allison_16k/downloads; missing, they fail loudly.
- ``parallel``: flite's slt and Allison (16 kHz) speaking eight prompts, as two feature folders
  (dio), built once per session from ``flite2allison``.
- ``fashion_dir``: Debian's Fashion-MNIST idx files (installed, or fetched by `make data` into
  downloads/); missing, it fails loudly too.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from vawgan_tts.trainer import StepContext

REPO = Path(__file__).resolve().parents[1]
ALLISON = REPO / "recipes/allison_8k/downloads/root/usr/share/asterisk/sounds/en_US_f_Allison"
FLITE2ALLISON = REPO / "recipes/flite2allison_16k/downloads"
PARALLEL_PROMPTS = ("agent-pass", "auth-thankyou", "conf-getpin", "vm-goodbye", "vm-password", "vm-savedto",
                    "vm-options", "activated")
FEW_PROMPTS = ("vm-forward-multiple", "activated", "conf-onlyperson", "digits/5", "letters/m", "vm-goodbye")


@pytest.fixture(scope="session")
def arctic_wav() -> Path:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pysptk

    return Path(pysptk.util.example_audio_file())


@pytest.fixture(scope="session")
def allison_dir() -> Path:
    if not ALLISON.is_dir():
        pytest.fail(f"{ALLISON} missing: run `make data` (make test fetches it)")
    return ALLISON


@pytest.fixture(scope="session")
def flite2allison() -> dict[str, Path]:
    """Paths of the 16 kHz parallel corpus's sources: ``g722`` (folder of prompts), ``transcripts``,
    ``flite`` (the folder flite and libflite1 are unpacked in)."""
    paths = {
        "g722": FLITE2ALLISON / "asterisk-core-sounds-en-g722/root/usr/share/asterisk/sounds/en_US_f_Allison",
        "transcripts": FLITE2ALLISON / "asterisk-core-sounds-en/root/usr/share/doc/asterisk-core-sounds-en/core-sounds-en.txt.gz",
        "flite": FLITE2ALLISON,
    }
    for p in paths.values():
        if not p.exists():
            pytest.fail(f"{p} missing: run `make data` (make test fetches it)")
    return paths


# Extraction's pool forks from a forkserver, which only the process that started it can reach. mutmut
# runs each mutant's tests in a process forked from the one that ran the clean suite (and started the
# server): there a pool of two failed at once (ChildProcessError), so every mutant whose tests use
# `parallel` was counted killed whatever it changed. Under mutmut (which sets MUTANT_UNDER_TEST) the
# features are extracted in the process itself; they are the same either way.
EXTRACT_JOBS = 1 if "MUTANT_UNDER_TEST" in os.environ else 2
# A folder named by this variable keeps `parallel`'s corpus and features from one session to the next.
# mutmut starts a session per mutant, in a process forked from its own, which would build them again
# there, flite's pool and all; `make mutation` names .cache/test-parallel, so they are built once. Unset
# (CI, `make test`): a temporary folder per session.
PARALLEL_CACHE = "VAWGAN_TEST_PARALLEL_CACHE"


@pytest.fixture(scope="session")
def parallel(flite2allison, tmp_path_factory) -> tuple[Path, Path]:
    """(slt feature folder, Allison feature folder) of the eight ``PARALLEL_PROMPTS``."""
    cache = os.environ.get(PARALLEL_CACHE)
    if not cache:
        return _build_parallel(tmp_path_factory.mktemp("parallel"), flite2allison)
    root = Path(cache)  # built in place (the features' manifests name the WAVs by path), one session at a time
    root.parent.mkdir(parents=True, exist_ok=True)
    with open(root.parent / f".{root.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (root / ".complete").is_file():
            shutil.rmtree(root, ignore_errors=True)  # a build cut short
            root.mkdir()
            _build_parallel(root, flite2allison)
            (root / ".complete").touch()
    return root / "slt", root / "natural"


def _build_parallel(root: Path, flite2allison) -> tuple[Path, Path]:
    from vawgan_tts.extract import ExtractConfig
    from vawgan_tts.corpus import Flite, prepare_parallel_corpus, read_transcripts
    from vawgan_tts.extract import run as extract

    rec = root / "rec"
    rec.mkdir()
    for p in PARALLEL_PROMPTS:
        (rec / f"{p}.g722").write_bytes((flite2allison["g722"] / f"{p}.g722").read_bytes())
    text = read_transcripts(flite2allison["transcripts"]).speech
    (root / "text").write_text("".join(f"{p}: {text[p]}\n" for p in PARALLEL_PROMPTS))
    prepare_parallel_corpus(root / "text", rec, root / "corpus", voices=("slt",), flite=Flite.find(flite2allison["flite"]), jobs=2)
    cfg = ExtractConfig(f0_method="dio")
    for side in ("natural", "slt"):
        extract([root / "corpus" / side / "wav.scp"], root / side, cfg, jobs=EXTRACT_JOBS)
    return root / "slt", root / "natural"


@pytest.fixture(scope="session")
def fashion_dir() -> Path:
    from vawgan_tts.data.images import find_idx_dir
    from vawgan_tts.errors import VawganError

    try:
        return find_idx_dir("fashion-mnist", None)
    except VawganError as e:
        pytest.fail(str(e))


@pytest.fixture()
def allison_few(allison_dir, tmp_path) -> Path:
    """A folder with a handful of Allison prompts, sub-folders kept."""
    out = tmp_path / "wavs"
    for name in FEW_PROMPTS:
        dst = out / f"{name}.wav"
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(allison_dir / f"{name}.wav", dst)
    return out


def dtw_mcd(src_c: np.ndarray, src_c0: np.ndarray, tgt) -> float:
    """Mean MCD of a converted trajectory (T, 39) with the source's power (T,) against the target's
    features over the speech frames DTW pairs (the converter tests' measure)."""
    from vawgan_tts import metrics as M
    from vawgan_tts.alignment import align_utterance

    p = align_utterance(src_c, src_c0, tgt.mcep[:, 1:], tgt.mcep[:, 0])
    return float(np.mean(M.frame_mcd(tgt.mcep[p[:, 1], 1:], src_c[p[:, 0]])))


def conversion_mcds(convert, src_dir: Path, tgt_dir: Path, utts) -> tuple[list[float], list[float]]:
    """Per prompt, :func:`dtw_mcd` of the source unconverted and of ``convert(source c0..c39)`` (T, 39)
    against the target's recording: (before, after)."""
    from vawgan_tts.features import load_features

    before, after = [], []
    for u in utts:
        s, t = load_features(src_dir / f"{u}.npz"), load_features(tgt_dir / f"{u}.npz")
        before.append(dtw_mcd(s.mcep[:, 1:], s.mcep[:, 0], t))
        after.append(dtw_mcd(convert(s.mcep), s.mcep[:, 0], t))
    return before, after


def write_broken_files(folder: Path) -> dict[str, str]:
    """Bad inputs mixed into a corpus; returns {utt id: words its reason must contain}."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "empty.wav").write_bytes(b"")
    (folder / "not_audio.wav").write_text("this is a text file, not a RIFF WAVE\n")
    x = np.zeros(8000)
    x[100] = np.nan
    sf.write(folder / "nan_samples.wav", x, 8000, subtype="FLOAT")
    sf.write(folder / "all_zero.wav", np.zeros(16000), 8000, subtype="PCM_16")
    sf.write(folder / "too_short.wav", 0.1 * np.random.default_rng(0).standard_normal(100), 8000)
    return {
        "empty": "not readable",
        "not_audio": "not readable",
        "nan_samples": "non-finite",
        "all_zero": "silence",
        "too_short": "too short",
    }


class RecordingContext(StepContext):
    """Steps nothing; keeps the gradients each optimizer would have applied."""

    def __init__(self, optimizers):
        super().__init__(optimizers, 0.0)
        self.grads = {}

    def step(self, name, loss):
        opt = self.optimizers[name]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        self.grads[name] = {id(p): None if p.grad is None else p.grad.clone() for g in opt.param_groups for p in g["params"]}
