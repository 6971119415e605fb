"""A parallel corpus: natural recordings of a set of prompts and a synthesizer speaking the same texts.

The natural side is decoded from whatever container the recordings come in (PyAV, FFmpeg's
decoders: G.722, MP3, Opus, …) and written as 16-bit WAV; the synthetic side is Debian's flite
speaking each transcript with each asked-for voice. Preparation runs in parallel processes, is
resumable (a WAV already there is kept; every write is atomic) and is never stopped by one bad
prompt: a prompt missing on one side, an empty transcript or a failed synthesis is one line in
``failed.tsv`` and the rest of the corpus is prepared.

OUT/
  text                        ``id<TAB>transcript`` of every speech prompt (Kaldi's ``text``)
  natural/wav.scp, natural/<id>.wav
  <voice>/wav.scp, <voice>/<id>.wav     one folder per flite voice
  failed.tsv                  ``side<TAB>id<TAB>reason`` of what could not be prepared
"""

from __future__ import annotations

import dataclasses
import gzip
import os
import re
import shutil
import subprocess
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from .audio import read_audio, write_audio
from .errors import VawganError
from .extract import utterance_id
from .fileio import atomic_path, write_text_atomic

NATURAL = "natural"
TEXT = "text"
FAILED = "failed.tsv"
SETTINGS = "settings.json"
WAV_SCP = "wav.scp"
FLITE_VOICES = ("slt", "rms", "awb", "kal16")  # Debian libflite1's voices; all speak at 16 kHz
_BRACKETED = re.compile(r"\[[^\]]*\]")
_DESCRIPTION = re.compile(r"^\s*(\[[^\]]*\]|\([^)]*\))\s*$")  # "[ascending tones]", "(1 second of silence)"


@dataclasses.dataclass(frozen=True)
class Transcripts:
    """Prompts read from a transcript file: ``speech`` id → text; ``non_speech`` the ids whose entry
    is only a [bracketed] or (parenthesized) description (a tone, a beep, a stretch of silence);
    ``empty`` ids with no text."""

    speech: dict[str, str]
    non_speech: tuple[str, ...]
    empty: tuple[str, ...]


def read_transcripts(path: str | Path) -> Transcripts:
    """Read ``name: text`` lines (gzip or plain; ';' starts a comment). A name may hold folders
    (``digits/1``): ids follow :func:`vawgan_tts.extract.utterance_id` (``digits_1``), so they match
    the ids extraction gives the recordings. [Bracketed] parts of a text are annotations (``at [@]``);
    an entry that is only a [bracketed] or (parenthesized) description is not speech."""
    path = Path(path)
    try:
        raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
        lines = raw.decode("utf-8").splitlines()
    except FileNotFoundError:
        raise VawganError(path, "no such transcript file") from None
    except (OSError, UnicodeDecodeError, EOFError) as e:
        raise VawganError(path, f"not readable as UTF-8 transcripts ({type(e).__name__}: {e})") from None
    speech, non_speech, empty = {}, [], []
    for n, line in enumerate(lines, 1):
        line = line.strip()
        if not line or line.startswith(";"):
            continue
        name, sep, text = line.partition(":")
        if not sep or not name.strip():
            raise VawganError(path, f"line {n}: expected 'name: text', got {line[:60]!r}")
        utt = utterance_id(Path(name.strip()))
        spoken = " ".join(_BRACKETED.sub(" ", text).split())
        if _DESCRIPTION.match(text) or (text.strip() and not spoken):
            non_speech.append(utt)
        elif spoken:
            speech[utt] = spoken
        else:
            empty.append(utt)
    return Transcripts(speech=speech, non_speech=tuple(non_speech), empty=tuple(empty))


def find_recordings(folder: str | Path, suffix: str) -> dict[str, Path]:
    """id → path of every ``*suffix`` file under ``folder`` (ids as extraction names them)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise VawganError(folder, "no such folder")
    return {utterance_id(p.relative_to(folder)): p for p in sorted(folder.rglob(f"*{suffix}")) if p.is_file()}


def decode_audio(path: str | Path, fmt: str | None = None) -> tuple[np.ndarray, int]:
    """Mono float64 samples and their rate from any file FFmpeg decodes (PyAV). ``fmt`` names the
    container when the file has none to probe (raw G.722: ``"g722"``); WAV/FLAC go to soundfile."""
    path = Path(path)
    if fmt is None and path.suffix.lower() in (".wav", ".flac"):
        return read_audio(path)
    import av

    try:
        with av.open(str(path), format=fmt) as container:
            stream = container.streams.audio[0]
            chunks = [frame.to_ndarray() for frame in container.decode(stream)]
            fs = stream.codec_context.sample_rate
    except (av.FFmpegError, IndexError, ValueError) as e:
        raise VawganError(path, f"not decodable as audio ({type(e).__name__}: {e})") from None
    if not chunks:
        raise VawganError(path, "no samples")
    x = np.concatenate([c.reshape(c.shape[0], -1) if c.ndim > 1 else c[None] for c in chunks], axis=1)
    x = x.astype(np.float64)
    if np.issubdtype(chunks[0].dtype, np.integer):
        x /= float(np.iinfo(chunks[0].dtype).max) + 1.0
    return np.ascontiguousarray(x.mean(axis=0)), int(fs)


@dataclasses.dataclass(frozen=True)
class Flite:
    """Debian's flite, possibly unpacked without root: the binary and the folder of its libraries."""

    binary: Path
    library_dir: Path | None = None

    @classmethod
    def find(cls, root: str | Path | None = None) -> "Flite":
        """flite under ``root`` (a folder holding ``usr/bin/flite`` and ``usr/lib/<arch>/libflite*``,
        as ``dpkg-deb -x`` of flite and libflite1 leave them), else on PATH."""
        if root is not None:
            root = Path(root)
            binary = next(iter(sorted(root.rglob("bin/flite"))), None)
            libs = sorted({p.parent for p in root.rglob("libflite.so*")})
            if binary is None:
                raise VawganError(root, "flite not found (no bin/flite below it; unpack Debian's flite and libflite1 there)")
            return cls(binary, libs[0] if libs else None)
        found = shutil.which("flite")
        if found is None:
            raise VawganError(None, "flite not found on PATH (install Debian's flite, or give its unpacked folder)")
        return cls(Path(found))

    def speak(self, text: str, voice: str, out_wav: str | Path) -> None:
        """Synthesize ``text`` with ``voice`` into ``out_wav`` (atomically)."""
        env = dict(os.environ)
        if self.library_dir is not None:
            env["LD_LIBRARY_PATH"] = f"{self.library_dir}:{env.get('LD_LIBRARY_PATH', '')}".rstrip(":")
        with atomic_path(out_wav) as tmp:
            try:
                run = subprocess.run([str(self.binary), "-voice", voice, "-t", text, "-o", str(tmp)], env=env,
                                     capture_output=True, text=True, timeout=120)
            except OSError as e:
                raise VawganError(self.binary, f"flite does not run ({e.strerror or e})") from None
            if run.returncode != 0 or tmp.stat().st_size <= 44:
                why = (run.stderr or run.stdout).strip().splitlines()
                raise VawganError(self.binary, f"flite -voice {voice} failed (exit {run.returncode}"
                                               f"{': ' + why[-1] if why else ''})")


# ------------------------------------------------------------------------------ preparation


@dataclasses.dataclass(frozen=True)
class _Job:
    side: str  # NATURAL or a voice
    utt: str
    target: Path
    source: Path | None = None  # natural: the recording
    fmt: str | None = None
    text: str = ""


@dataclasses.dataclass
class PrepareSummary:
    out_dir: Path
    prepared: dict[str, list[str]]  # side -> ids with a WAV
    failed: list[tuple[str, str, str]]  # (side, id, reason)
    made: int  # WAVs written by this run (the rest were there already)


def _run_job(job: _Job, flite: Flite | None, fs: int | None) -> tuple[str, str, str, bool]:
    """(side, id, reason or "", written) for one WAV; never raises for bad input."""
    if job.target.is_file():
        return job.side, job.utt, "", False
    try:
        if job.side == NATURAL:
            x, rate = decode_audio(job.source, job.fmt)
            if fs is not None and rate != fs:
                raise VawganError(job.source, f"decodes at {rate} Hz, the corpus is at {fs} Hz")
            write_audio(job.target, x, rate)
        else:
            flite.speak(job.text, job.side, job.target)
            if fs is not None:
                rate = read_audio(job.target)[1]
                if rate != fs:
                    job.target.unlink()
                    raise VawganError(job.target, f"flite voice {job.side} speaks at {rate} Hz, the corpus is at {fs} Hz")
    except VawganError as e:
        return job.side, job.utt, str(e), False
    return job.side, job.utt, "", True


def _check_settings(out_dir: Path, settings: dict) -> None:
    """``OUT/settings.json`` records what the corpus was prepared with; a rerun with other settings is
    refused before anything is written."""
    import json

    path = out_dir / SETTINGS
    if path.is_file():
        try:
            held = json.loads(path.read_text())
        except ValueError:
            held = None
        if held != settings:
            raise VawganError(out_dir, f"was prepared with {held} (its {SETTINGS}); preparing it with {settings} would "
                                       "mix the two: give another folder, or remove this one")
    elif settings["fs"] is not None and out_dir.is_dir():  # prepared before settings were recorded: its WAVs say
        import soundfile

        for wav in (out_dir / NATURAL).glob("*.wav"):
            if soundfile.info(str(wav)).samplerate != settings["fs"]:
                raise VawganError(wav, f"at {soundfile.info(str(wav)).samplerate} Hz: this folder was prepared at another "
                                       f"rate than --fs {settings['fs']}; give another folder, or remove this one")
            break
    write_text_atomic(path, json.dumps(settings) + "\n")


def prepare_parallel_corpus(
    transcripts: str | Path,
    recordings: str | Path,
    out_dir: str | Path,
    voices: Sequence[str] = ("slt",),
    suffix: str = ".g722",
    fmt: str | None = "g722",
    flite: Flite | None = None,
    fs: int | None = 16000,
    jobs: int = 1,
    on_progress: Callable[[int, int], None] | None = None,
) -> PrepareSummary:
    """Write the natural recordings and each voice's synthesis of every speech prompt under ``out_dir``.

    A prompt is prepared when it has both a transcript with speech and a recording; otherwise it is
    reported (``failed.tsv``) and left out of every list. ``fs``: the one rate both sides must have
    (None: do not check). A folder prepared before is completed (WAVs already there are kept), so
    one prepared at another rate is refused: its WAVs would be mixed with the new ones."""
    out_dir = Path(out_dir)
    _check_settings(out_dir, {"fs": fs})
    bad = [v for v in voices if v not in FLITE_VOICES]
    if bad:
        raise VawganError(None, f"unknown flite voice {bad[0]!r} (choose from {', '.join(FLITE_VOICES)})")
    if voices and flite is None:
        flite = Flite.find()
    text = read_transcripts(transcripts)
    found = find_recordings(recordings, suffix)
    if not found:
        raise VawganError(recordings, f"no {suffix} recordings below it")
    failed = [(NATURAL, u, f"{transcripts}: empty transcript") for u in text.empty]
    failed += [(NATURAL, u, f"{recordings}: no recording {u}{suffix} for this transcript")
               for u in sorted(set(text.speech) - set(found))]
    described = set(text.non_speech)
    failed += [(NATURAL, u, f"{found[u]}: no transcript in {transcripts}")
               for u in sorted(set(found) - set(text.speech) - described - set(text.empty))]
    utts = sorted(set(text.speech) & set(found))
    work = [_Job(NATURAL, u, out_dir / NATURAL / f"{u}.wav", source=found[u], fmt=fmt) for u in utts]
    work += [_Job(v, u, out_dir / v / f"{u}.wav", text=text.speech[u]) for v in voices for u in utts]

    results = []
    if jobs > 1:
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            for n, r in enumerate(pool.map(_run_job, work, [flite] * len(work), [fs] * len(work), chunksize=8), 1):
                results.append(r)
                if on_progress is not None:
                    on_progress(n, len(work))
    else:
        for n, job in enumerate(work, 1):
            results.append(_run_job(job, flite, fs))
            if on_progress is not None:
                on_progress(n, len(work))

    ok: dict[str, set[str]] = {side: set() for side in (NATURAL, *voices)}
    for side, utt, reason, _ in results:
        if reason:
            failed.append((side, utt, reason))
        else:
            ok[side].add(utt)
    # A prompt counts only when every side has it: the lists stay parallel.
    complete = sorted(set.intersection(*ok.values())) if ok else []
    prepared = {side: complete for side in ok}
    for side in ok:
        write_text_atomic(out_dir / side / WAV_SCP, "".join(f"{u}\t{(out_dir / side / f'{u}.wav').resolve()}\n" for u in complete))
    write_text_atomic(out_dir / TEXT, "".join(f"{u}\t{text.speech[u]}\n" for u in complete))
    write_text_atomic(out_dir / FAILED, "".join(f"{s}\t{u}\t{r}\n" for s, u, r in sorted(failed)))
    return PrepareSummary(out_dir, prepared, sorted(failed), sum(r[3] for r in results))

