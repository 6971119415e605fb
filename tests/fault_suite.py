"""Fault injection: bad inputs and interrupted runs through the real command line.

Every case builds its inputs in a fresh folder, runs `vawgan` / `gen` as a user would (a
subprocess, so signals, exit statuses and tracebacks are real), and reports what happened:

    outcome     what the tool did, in words taken from its own output
    ok          the outcome is the defined one (processed correctly, or refused with a one-line
                reason naming the file, others unaffected)
    traceback   a Python traceback was printed (goal: never)
    lost        an output that existed or should exist was lost or left truncated (goal: never)

tests/test_reliability.py runs every case under pytest; ``python tests/fault_suite.py --write
docs/reliability.md`` runs them and writes the table in docs/reliability.md.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import signal
import shutil
import struct
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

import numpy as np
import soundfile as sf

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
ALLISON = REPO / "recipes/allison_8k/downloads/root/usr/share/asterisk/sounds/en_US_f_Allison"
GOOD = ("activated", "vm-goodbye", "conf-onlyperson", "vm-forward-multiple")
def tiny_train(vae_epochs: int = 2) -> list[str]:
    return ["--vae-epochs", str(vae_epochs), "--critic-epochs", "1", "--adv-epochs", "1", "--batch-size", "64",
            "--device", "cpu"]


TINY_TRAIN = tiny_train()


@dataclasses.dataclass
class Result:
    outcome: str
    ok: bool
    traceback: bool = False
    lost: bool = False


@dataclasses.dataclass
class Case:
    area: str
    name: str
    expected: str
    fn: Callable[[Path], Result]


CASES: list[Case] = []


def case(area: str, name: str, expected: str):
    def register(fn):
        CASES.append(Case(area, name, expected, fn))
        return fn
    return register


# ------------------------------------------------------------------------------------ helpers


def cli(*args, timeout: float = 600, env: dict | None = None, stdin: str | None = None, preexec=None):
    exe, *rest = [str(a) for a in args]
    full_env = {**os.environ, "OMP_NUM_THREADS": "1", "COLUMNS": "200", **(env or {})}
    return subprocess.run([str(BIN / exe), *rest], capture_output=True, text=True, timeout=timeout,
                          env=full_env, input=stdin, preexec_fn=preexec)


def has_traceback(p) -> bool:
    return "Traceback (most recent call last)" in (p.stdout + p.stderr)


def error_line(p) -> str:
    """The tool's one-line error (the last 'error:' line of stderr), whitespace squeezed."""
    lines = [ln for ln in " ".join(p.stderr.split("\n")).split("error:")[1:]]
    return " ".join(lines[-1].split()) if lines else ""


def good_wavs(folder: Path, names=GOOD) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for n in names:
        shutil.copy(ALLISON / f"{n}.wav", folder / f"{n}.wav")
    return folder


def speech() -> tuple[np.ndarray, int]:
    return sf.read(ALLISON / "vm-forward-multiple.wav")


def failed_reasons(feats: Path) -> dict[str, str]:
    path = feats / "failed.tsv"
    if not path.is_file():
        return {}
    rows = [ln.split("\t") for ln in path.read_text(encoding="utf-8").splitlines()[1:] if ln]
    return {Path(r[1]).stem if len(r) > 1 else r[0]: r[-1] for r in rows}


def extract_one_bad(tmp: Path, filename: str, write: Callable[[Path], None], must_fail: bool | None,
                    reason_has: str = "") -> Result:
    """Extract good files plus one bad one. must_fail: True (skipped with a reason), False
    (processed), None (either, as long as it is defined)."""
    wavs = good_wavs(tmp / "wavs")
    write(wavs / filename)
    feats = tmp / "feats"
    p = cli("vawgan", "extract", wavs, "-o", feats, "-j", "2", "--f0-method", "dio")
    reasons = failed_reasons(feats)
    good_ok = all((feats / f"{n}.npz").is_file() for n in GOOD)
    bad_id = [k for k in reasons]
    made = sorted(q.name for q in feats.glob("*.npz") if q.stem not in (*GOOD, "stats"))
    if bad_id:
        outcome = f"skipped (exit {p.returncode}): {next(iter(reasons.values()))}"
        ok = must_fail is not False and reason_has.lower() in outcome.lower() and p.returncode == 1
    else:
        outcome = f"processed (exit {p.returncode}) → {', '.join(made) or 'nothing'}"
        ok = must_fail is not True and p.returncode == 0 and len(made) == 1
    stray = list(feats.glob(".tmp-*"))
    return Result(outcome + ("" if good_ok else "; GOOD FILES AFFECTED"), ok and good_ok and not stray,
                  has_traceback(p), lost=not good_ok or bool(stray))


def riff(fmt_tag: int, channels: int, fs: int, bits: int, data: bytes) -> bytes:
    block = channels * bits // 8
    fmt = struct.pack("<HHIIHH", fmt_tag, channels, fs, fs * block, block, bits)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", len(data)) + data
    return b"RIFF" + struct.pack("<I", len(body)) + body


# ------------------------------------------------------------------------------- audio inputs


@case("audio", "empty file (0 bytes)", "skipped, reason in failed.tsv")
def _(tmp):
    return extract_one_bad(tmp, "empty.wav", lambda p: p.write_bytes(b""), True, "not readable")


@case("audio", "WAV cut off in the middle of its data", "processed up to where it ends")
def _(tmp):
    def write(p):
        x, fs = speech()
        sf.write(p, x, fs, subtype="PCM_16")
        raw = p.read_bytes()
        p.write_bytes(raw[: len(raw) // 2])
    return extract_one_bad(tmp, "truncated.wav", write, False)


@case("audio", "WAV header only (no data chunk)", "skipped, reason in failed.tsv")
def _(tmp):
    return extract_one_bad(tmp, "header_only.wav", lambda p: p.write_bytes(riff(1, 1, 8000, 16, b"")[:36]), True)


@case("audio", "text file named .wav", "skipped, reason in failed.tsv")
def _(tmp):
    return extract_one_bad(tmp, "text.wav", lambda p: p.write_text("not audio\n"), True, "not readable")


@case("audio", "codec libsndfile cannot read (MP3 in a RIFF)", "skipped, reason in failed.tsv")
def _(tmp):
    return extract_one_bad(tmp, "mp3_in_riff.wav", lambda p: p.write_bytes(riff(0x55, 1, 8000, 0, b"\x00" * 4000)), True,
                           "not readable")


@case("audio", "NaN and Inf samples", "skipped, reason in failed.tsv")
def _(tmp):
    def write(p):
        x = np.zeros(8000)
        x[10], x[20] = np.nan, np.inf
        sf.write(p, x, 8000, subtype="FLOAT")
    return extract_one_bad(tmp, "nan.wav", write, True, "non-finite")


@case("audio", "all-zero samples", "skipped, reason in failed.tsv")
def _(tmp):
    return extract_one_bad(tmp, "zeros.wav", lambda p: sf.write(p, np.zeros(16000), 8000), True, "silence")


@case("audio", "near-silent (−128 dBFS noise)", "skipped, reason in failed.tsv")
def _(tmp):
    rng = np.random.default_rng(0)
    return extract_one_bad(tmp, "near_silent.wav", lambda p: sf.write(p, 1e-7 * rng.standard_normal(16000), 8000,
                                                                       subtype="FLOAT"), True, "silence")


@case("audio", "shorter than one analysis window", "skipped, reason in failed.tsv")
def _(tmp):
    rng = np.random.default_rng(0)
    return extract_one_bad(tmp, "short.wav", lambda p: sf.write(p, 0.1 * rng.standard_normal(100), 8000), True,
                           "too short")


@case("audio", "6 channels", "processed (channel mean)")
def _(tmp):
    x, fs = speech()
    return extract_one_bad(tmp, "six.wav", lambda p: sf.write(p, np.tile(x[:, None], (1, 6)), fs), False)


@case("audio", "very low rate (1 kHz)", "skipped: F0 range does not fit below Nyquist")
def _(tmp):
    x, fs = speech()
    return extract_one_bad(tmp, "low.wav", lambda p: sf.write(p, x[::8], 1000), True, "fs/2")


@case("audio", "very high rate (192 kHz)", "processed at its own rate")
def _(tmp):
    import soxr

    x, fs = speech()
    return extract_one_bad(tmp, "high.wav", lambda p: sf.write(p, soxr.resample(x, fs, 192000)[:192000], 192000),
                           False)


@case("audio", "sample formats: u8, 24-bit, 32-bit, float, double, FLAC", "processed, each")
def _(tmp):
    x, fs = speech()
    wavs = tmp / "wavs"
    wavs.mkdir()
    kinds = {"u8.wav": "PCM_U8", "s24.wav": "PCM_24", "s32.wav": "PCM_32", "f32.wav": "FLOAT", "f64.wav": "DOUBLE",
             "s16.flac": "PCM_16"}
    for name, sub in kinds.items():
        sf.write(wavs / name, x, fs, subtype=sub)
    feats = tmp / "feats"
    p = cli("vawgan", "extract", wavs, "-o", feats, "-j", "2", "--f0-method", "dio")
    made = sorted(q.stem for q in feats.glob("*.npz") if q.stem != "stats")
    ok = p.returncode == 0 and made == sorted(Path(n).stem for n in kinds)
    return Result(f"exit {p.returncode}; extracted {len(made)} of {len(kinds)}", ok, has_traceback(p))


def _peak_rss_mb(*args) -> tuple[int, float]:
    """Exit status and peak resident memory (MB) of a CLI run and all its processes."""
    code = ("import resource, subprocess, sys; p = subprocess.run(sys.argv[1:], capture_output=True); "
            "print(p.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)")
    out = subprocess.run([sys.executable, "-c", code, *[str(a) for a in args]], capture_output=True, text=True,
                         env={**os.environ, "OMP_NUM_THREADS": "1"})
    rc, mb = out.stdout.split()
    return int(rc), float(mb)


@case("audio", "very long file (10 minutes)", "processed; peak memory grows no faster than the file (≤ 10× for a 10× longer one)")
def _(tmp):
    x, fs = sf.read(ALLISON / "vm-forward-multiple.wav")
    minute = np.tile(x, int(np.ceil(60 * fs / len(x))))[: 60 * fs]
    peaks = {}
    for minutes in (1, 10):
        wavs = tmp / f"m{minutes}"
        wavs.mkdir()
        sf.write(wavs / "long.wav", np.tile(minute, minutes), fs)
        rc, peaks[minutes] = _peak_rss_mb(BIN / "vawgan", "extract", wavs, "-o", tmp / f"f{minutes}", "-j", "1",
                                          "--f0-method", "dio")
        if rc != 0 or not (tmp / f"f{minutes}" / "long.npz").is_file():
            return Result(f"{minutes} min: exit {rc}", False)
    ratio = peaks[10] / peaks[1]
    # Envelope and aperiodicity are analysed in 10 s blocks (1,044 → 610 MB for this file); what
    # still grows is WORLD's F0 tracker, which holds filtered copies of the whole signal.
    return Result(f"processed; peak memory {peaks[1]:.0f} MB (1 min), {peaks[10]:.0f} MB (10 min): {ratio:.2f}×",
                  ratio <= 10)


@case("audio", "names with spaces, non-ASCII, shell/path characters", "processed; ids are safe file names")
def _(tmp):
    x, fs = speech()
    wavs = tmp / "wavs"
    (wavs / "sub dir").mkdir(parents=True)
    names = ["with space.wav", "naïve café.wav", "a:b?*|<>.wav", "-leading-dash.wav", "sub dir/..x.wav"]
    for n in names:
        sf.write(wavs / n, x[:8000], fs)
    feats = tmp / "feats"
    p = cli("vawgan", "extract", wavs, "-o", feats, "-j", "1", "--f0-method", "dio")
    made = sorted(q.name for q in feats.glob("*.npz") if q.stem != "stats")
    inside = all(q.resolve().parent == feats.resolve() for q in feats.rglob("*.npz"))
    ok = p.returncode == 0 and len(made) == len(names) and inside
    return Result(f"exit {p.returncode}; {', '.join(made)}", ok, has_traceback(p))


@case("audio", "list file whose ids climb out of the output folder (../../x)", "processed; written inside the output folder")
def _(tmp):
    wavs = good_wavs(tmp / "wavs", GOOD[:1])
    scp = tmp / "wav.scp"
    scp.write_text(f"../../escaped\t{wavs / (GOOD[0] + '.wav')}\n/abs/olute\t{wavs / (GOOD[0] + '.wav')}\n")
    feats = tmp / "out" / "feats"
    p = cli("vawgan", "extract", scp, "-o", feats, "-j", "1", "--f0-method", "dio")
    outside = [q for q in tmp.rglob("*.npz") if feats.resolve() not in q.resolve().parents]
    made = sorted(q.name for q in feats.glob("*.npz") if q.stem != "stats")
    return Result(f"exit {p.returncode}; {', '.join(made)}; outside the folder: {len(outside)}",
                  p.returncode == 0 and not outside and len(made) == 2, has_traceback(p), lost=bool(outside))


# ----------------------------------------------------------------------- features and models


@dataclasses.dataclass
class Trained:
    feats: Path
    exp: Path


_TRAINED: dict[str, Trained] = {}


def trained(root: Path) -> Trained:
    """One tiny trained experiment shared by the model cases (built once per process)."""
    if "t" not in _TRAINED:
        wavs = good_wavs(root / "wavs")
        feats = root / "feats"
        p = cli("vawgan", "extract", wavs, "-o", feats, "-j", "2", "--f0-method", "dio")
        assert p.returncode == 0, p.stderr
        exp = root / "exp"
        p = cli("vawgan", "train", feats, "-o", exp, *TINY_TRAIN)
        assert p.returncode == 0, p.stderr
        _TRAINED["t"] = Trained(feats, exp)
    return _TRAINED["t"]


def bad_feature_case(tmp: Path, mutate: Callable[[dict], dict], words: str) -> Result:
    t = trained(tmp.parent / "_shared")
    feats = tmp / "feats"
    shutil.copytree(t.feats, feats)
    victim = feats / f"{GOOD[0]}.npz"
    with np.load(victim) as z:
        data = mutate({k: z[k] for k in z.files})
    np.savez(victim, **data)
    out = tmp / "synth"
    p = cli("vawgan", "synth", feats, "-o", out, "-m", t.exp, "--system", "vae")
    line = error_line(p)
    ok = p.returncode == 2 and victim.name in line and words.lower() in line.lower()
    return Result(f"refused (exit {p.returncode}): {line}" if line else f"exit {p.returncode}", ok, has_traceback(p))


@case("features", ".npz without its mel-cepstrum", "refused, naming the file and the key")
def _(tmp):
    return bad_feature_case(tmp, lambda d: {k: v for k, v in d.items() if k != "mcep"}, "mcep")


@case("features", ".npz with a mel-cepstrum of the wrong order", "refused, naming the file and the shape")
def _(tmp):
    return bad_feature_case(tmp, lambda d: {**d, "mcep": d["mcep"][:, :25]}, "")


@case("features", ".npz with NaN in the mel-cepstrum", "refused, naming the file")
def _(tmp):
    def nan(d):
        m = d["mcep"].copy()
        m[3, 5] = np.nan
        return {**d, "mcep": m}
    return bad_feature_case(tmp, nan, "")


@case("features", "features at another rate / α than the model's", "refused, naming both settings")
def _(tmp):
    return bad_feature_case(tmp, lambda d: {**d, "fs": np.array(16000), "alpha": np.array(0.41)}, "α 0.410")


@case("features", "stats.npz that does not match the features (wrong dimension)", "refused at training, naming the file")
def _(tmp):
    t = trained(tmp.parent / "_shared")
    exp = tmp / "exp"
    shutil.copytree(t.exp, exp)
    np.savez(exp / "stats.npz", mean=np.zeros(12), std=np.ones(12), count=np.array(5))
    p = cli("vawgan", "train", t.feats, "-o", exp, "--stage", "critic", "--overwrite", *TINY_TRAIN)
    line = error_line(p)
    return Result(f"refused (exit {p.returncode}): {line}", p.returncode == 2 and "stats.npz" in line, has_traceback(p))


@case("models", "checkpoint of another task (a gen toy run) as a VAWGAN model", "refused, naming both tasks")
def _(tmp):
    t = trained(tmp.parent / "_shared")
    toy = tmp / "toy"
    p = cli("gen", "toy", "-o", toy, "--epochs", "1", "--batch-size", "4096", "--snapshot-every", "1")
    assert p.returncode == 0, p.stderr
    exp = tmp / "exp"
    shutil.copytree(t.exp, exp)
    shutil.copy(toy / "checkpoints" / "wgan.pt", exp / "checkpoints" / "vae.pt")
    p = cli("vawgan", "synth", t.feats, "-o", tmp / "out", "-m", exp, "--system", "vae")
    line = error_line(p)
    return Result(f"refused (exit {p.returncode}): {line}", p.returncode == 2 and "toy_wgan" in line and "vae.pt" in line,
                  has_traceback(p))


@case("models", "checkpoint truncated to half its size", "refused, naming the file")
def _(tmp):
    t = trained(tmp.parent / "_shared")
    exp = tmp / "exp"
    shutil.copytree(t.exp, exp)
    ck = exp / "checkpoints" / "adv.pt"
    ck.write_bytes(ck.read_bytes()[: ck.stat().st_size // 2])
    p = cli("vawgan", "synth", t.feats, "-o", tmp / "out", "-m", exp, "--system", "vawgan")
    line = error_line(p)
    return Result(f"refused (exit {p.returncode}): {line}", p.returncode == 2 and "adv.pt" in line, has_traceback(p))


@case("models", "checkpoint of another configuration (other layer sizes)", "refused, naming the file")
def _(tmp):
    t = trained(tmp.parent / "_shared")
    exp = tmp / "exp"
    shutil.copytree(t.exp, exp)
    conf = tmp / "wide.toml"
    conf.write_text("[vawgan]\nhidden = [64, 32]\n")
    p = cli("vawgan", "train", t.feats, "-o", exp, "--stage", "critic", "--overwrite", "--config", conf, *TINY_TRAIN)
    line = error_line(p)
    return Result(f"refused (exit {p.returncode}): {line}", p.returncode == 2 and "vae.pt" in line and "does not fit" in line,
                  has_traceback(p))


@case("models", "crafted checkpoint that runs code when unpickled", "refused; the code does not run")
def _(tmp):
    t = trained(tmp.parent / "_shared")
    exp = tmp / "exp"
    shutil.copytree(t.exp, exp)
    marker = tmp / "pwned"
    payload = f"""
import os, torch
class Evil:
    def __reduce__(self):
        return (os.system, ("touch {marker}",))
torch.save({{"version": 1, "task": "vawgan", "config": {{}}, "model": Evil(), "progress": {{}}}}, "{exp}/checkpoints/vae.pt")
"""
    subprocess.run([sys.executable, "-c", payload], check=True, capture_output=True)
    p = cli("vawgan", "synth", t.feats, "-o", tmp / "out", "-m", exp, "--system", "vae")
    line = error_line(p)
    ran = marker.exists()
    return Result(f"refused (exit {p.returncode}): {line}; code ran: {ran}", p.returncode == 2 and not ran,
                  has_traceback(p))


@case("models", "train into an EXP that holds a finished run", "refused without --overwrite; nothing touched")
def _(tmp):
    t = trained(tmp.parent / "_shared")
    exp = tmp / "exp"
    shutil.copytree(t.exp, exp)
    before = {q: q.read_bytes() for q in exp.rglob("*") if q.is_file()}
    p = cli("vawgan", "train", t.feats, "-o", exp, *TINY_TRAIN)
    after = {q: q.read_bytes() for q in exp.rglob("*") if q.is_file()}
    line = error_line(p)
    return Result(f"refused (exit {p.returncode}): {line}", p.returncode == 2 and "--overwrite" in line,
                  has_traceback(p), lost=before != after)


# ------------------------------------------------------------------------------ interruption


def _wait_for(path: Path, proc: subprocess.Popen, timeout: float = 300) -> bool:
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if path.is_file():
            return True
        if proc.poll() is not None:
            return False
        time.sleep(0.05)
    return False


def _default_sigint():
    # A shell's background job (`suite &`) ignores SIGINT, and children inherit that: give the
    # CLI the disposition a user's terminal would.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _popen(*args, **kw):
    exe, *rest = [str(a) for a in args]
    return subprocess.Popen([str(BIN / exe), *rest], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "OMP_NUM_THREADS": "1", "COLUMNS": "200"},
                            preexec_fn=_default_sigint, **kw)


def _state(exp: Path, name: str):
    import torch

    return torch.load(exp / "checkpoints" / name, map_location="cpu", weights_only=True)["model"]


def _same(a, b) -> bool:
    import torch

    return all(torch.equal(a[r][k], b[r][k]) for r in a for k in a[r])


@case("interruption", "Ctrl-C (SIGINT) during training, then --resume", "checkpoint, exit 130; resume finishes")
def _(tmp):
    t = trained(tmp.parent / "_shared")
    exp = tmp / "exp"
    proc = _popen("vawgan", "train", t.feats, "-o", exp, *tiny_train(200))
    started = _wait_for(exp / "log.csv", proc)
    time.sleep(2.0)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    saved = (exp / "checkpoints" / "last.pt").is_file()
    p = cli("vawgan", "train", t.feats, "-o", exp, *tiny_train(3), "--resume")
    done = (exp / "checkpoints" / "adv.pt").is_file()
    ok = started and proc.returncode == 130 and saved and p.returncode == 0 and done
    return Result(f"exit {proc.returncode}, last.pt {'written' if saved else 'MISSING'}; resume exit {p.returncode}",
                  ok, "Traceback" in err or has_traceback(p), lost=not saved)


@case("interruption", "SIGTERM during training", "checkpoint, exit 130")
def _(tmp):
    t = trained(tmp.parent / "_shared")
    exp = tmp / "exp"
    proc = _popen("vawgan", "train", t.feats, "-o", exp, *tiny_train(200))
    started = _wait_for(exp / "log.csv", proc)
    time.sleep(2.0)
    proc.terminate()
    _, err = proc.communicate(timeout=120)
    saved = (exp / "checkpoints" / "last.pt").is_file()
    return Result(f"exit {proc.returncode}, last.pt {'written' if saved else 'MISSING'}",
                  started and proc.returncode == 130 and saved, "Traceback" in err, lost=not saved)


@case("interruption", "kill -9 during training, then --resume", "resumes from the last periodic checkpoint; same parameters as an uninterrupted run")
def _(tmp):
    t = trained(tmp.parent / "_shared")
    conf = tmp / "periodic.toml"
    conf.write_text("[train]\ncheckpoint_every = 5\n")
    args = (t.feats, *tiny_train(6), "--config", conf)
    ref = tmp / "ref"
    p = cli("vawgan", "train", args[0], "-o", ref, *args[1:])
    assert p.returncode == 0, p.stderr
    exp = tmp / "exp"
    proc = _popen("vawgan", "train", args[0], "-o", exp, *args[1:])
    started = _wait_for(exp / "checkpoints" / "last.pt", proc)
    time.sleep(0.3)
    proc.kill()
    proc.communicate(timeout=60)
    p = cli("vawgan", "train", args[0], "-o", exp, *args[1:], "--resume")
    same = p.returncode == 0 and _same(_state(ref, "adv.pt"), _state(exp, "adv.pt"))
    return Result(f"killed (exit {proc.returncode}); resume exit {p.returncode}; parameters "
                  f"{'identical to' if same else 'DIFFERENT from'} the uninterrupted run",
                  started and same, has_traceback(p))


@case("interruption", "kill -9 during extraction, then rerun", "no partial .npz; the rerun completes the rest")
def _(tmp):
    wavs = tmp / "wavs"
    wavs.mkdir()
    for f in sorted(ALLISON.glob("*.wav"))[:60]:
        shutil.copy(f, wavs / f.name)
    feats = tmp / "feats"
    proc = _popen("vawgan", "extract", wavs, "-o", feats, "-j", "2", "--f0-method", "harvest",
                  start_new_session=True)
    t0 = time.monotonic()
    while len(list(feats.glob("*.npz"))) < 5 and proc.poll() is None and time.monotonic() - t0 < 120:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)  # the CLI and its worker processes, mid-write
    proc.communicate(timeout=60)
    partial = []
    for q in feats.glob("*.npz"):
        try:
            with np.load(q) as z:
                z["mcep"]
        except Exception:
            partial.append(q.name)
    n_before = len(list(feats.glob("*.npz")))
    p = cli("vawgan", "extract", wavs, "-o", feats, "-j", "2", "--f0-method", "harvest")
    n_after = len([q for q in feats.glob("*.npz") if q.stem != "stats"])
    stray = list(feats.glob(".tmp-*"))
    ok = not partial and p.returncode == 0 and n_after == 60 and not stray
    return Result(f"{n_before} complete .npz when killed, {len(partial)} unreadable; rerun exit {p.returncode}, "
                  f"{n_after}/60 extracted, {len(stray)} temporaries left", ok, has_traceback(p),
                  lost=bool(partial) or bool(stray))


def _fsize_limit(nbytes: int):
    def set_limit():
        import resource

        resource.setrlimit(resource.RLIMIT_FSIZE, (nbytes, nbytes))
    return set_limit


@case("disk", "file-size limit (ulimit -f) during extraction", "each file fails with the reason; no truncated .npz")
def _(tmp):
    wavs = good_wavs(tmp / "wavs")
    feats = tmp / "feats"
    p = cli("vawgan", "extract", wavs, "-o", feats, "-j", "1", "--f0-method", "dio", preexec=_fsize_limit(20_000))
    reasons = failed_reasons(feats)
    finals = [q for q in feats.glob("*.npz") if q.stem != "stats"]
    broken = []
    for q in finals:
        try:
            with np.load(q) as z:
                z["mcep"]
        except Exception:
            broken.append(q.name)
    stray = list(feats.glob(".tmp-*"))
    first = next(iter(reasons.values()), error_line(p))
    return Result(f"exit {p.returncode}; {len(reasons)} failed ({first}); {len(finals)} complete .npz, "
                  f"{len(broken)} truncated", p.returncode in (1, 2) and not broken and not stray and bool(first),
                  has_traceback(p), lost=bool(broken) or bool(stray))


@case("disk", "file-size limit while writing a checkpoint", "one-line error; no truncated checkpoint under its name")
def _(tmp):
    t = trained(tmp.parent / "_shared")
    exp = tmp / "exp"
    p = cli("vawgan", "train", t.feats, "-o", exp, *TINY_TRAIN, preexec=_fsize_limit(60_000))
    line = error_line(p)
    cks = list((exp / "checkpoints").glob("*.pt")) if (exp / "checkpoints").is_dir() else []
    broken = []
    for q in cks:
        r = subprocess.run([sys.executable, "-c", f"import torch; torch.load('{q}', weights_only=True)"], capture_output=True)
        if r.returncode:
            broken.append(q.name)
    stray = list((exp / "checkpoints").glob(".tmp-*")) if (exp / "checkpoints").is_dir() else []
    return Result(f"exit {p.returncode}: {line}; {len(broken)} truncated checkpoints",
                  p.returncode == 2 and bool(line) and not broken and not stray, has_traceback(p),
                  lost=bool(broken) or bool(stray))


# ------------------------------------------------------------------------------ text (gen)


_G2P: dict[str, Path] = {}


def g2p_model(root: Path) -> Path:
    if "m" not in _G2P:
        exp = root / "g2p"
        p = cli("gen", "seq2seq", "train", "-o", exp, "--limit", "200", "--epochs", "1", "--batch-size", "64")
        assert p.returncode == 0, p.stderr
        _G2P["m"] = exp
    return _G2P["m"]


def translate_case(tmp: Path, text: str | None, stdin: str | None, expect_exit: int, words: str) -> Result:
    exp = g2p_model(tmp.parent / "_shared")
    args = ["gen", "translate", "-m", exp, "--beam", "2"] + ([text] if text is not None else [])
    p = cli(*args, stdin=stdin)
    said = " ".join(p.stderr.split())
    ok = p.returncode == expect_exit and words.lower() in said.lower()
    n_out = len(p.stdout.splitlines())
    return Result(f"exit {p.returncode}; {n_out} output line(s); stderr: {said[:120]}", ok, has_traceback(p))


@case("text", "gen translate: empty string", "one-line error, exit 2")
def _(tmp):
    return translate_case(tmp, "", None, 2, "empty input")


@case("text", "gen translate: whitespace only", "one-line error, exit 2")
def _(tmp):
    return translate_case(tmp, " \t  ", None, 2, "empty input")


@case("text", "gen translate: 10,000 characters", "one-line error naming the limit, exit 2")
def _(tmp):
    return translate_case(tmp, "a" * 10000, None, 2, "longer than")


@case("text", "gen translate: unknown script (Cyrillic, CJK)", "warning naming the characters; output produced")
def _(tmp):
    return translate_case(tmp, "привет 你好", None, 0, "unknown to the model")


@case("text", "gen translate: control characters (BEL, ESC)", "removed; output produced")
def _(tmp):
    return translate_case(tmp, "speech\x07\x1b[31m", None, 0, "")


@case("text", "gen translate on stdin: empty and over-long lines among good ones", "one output line per input line; warnings; exit 1")
def _(tmp):
    r = translate_case(tmp, None, "speech\n\n" + "b" * 500 + "\nvoice\n", 1, "line 2: empty input")
    return r


# ---------------------------------------------------- the conversion, enhancement and evaluation commands
# The trained models are the experiments of every kind in tests/data/experiments (made at 84ee477, one
# prompt's features per voice beside them): a parallel converter, pair post-filters, VAWGAN-VC.

OLD = REPO / "tests/data/experiments"
PROMPT = "digits_6"


def models(tmp: Path) -> Path:
    root = tmp / "models"
    shutil.copytree(OLD, root)
    return root


def contents(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(Path(folder).iterdir()) if p.is_file()}


def refused(p, *words: str, exit_code: int = 2) -> tuple[str, bool]:
    """The outcome of a command that must refuse in one line containing ``words``."""
    line = error_line(p)
    ok = p.returncode == exit_code and bool(line) and all(w.lower() in line.lower() for w in words)
    return (f"refused (exit {p.returncode}): {line}" if line else f"exit {p.returncode}"), ok


def at_8k(m: Path) -> Path:
    """A folder holding the 8 kHz Allison prompt under the 16 kHz prompt's name (another rate, α)."""
    folder = m / "inputs" / "eight"
    folder.mkdir()
    shutil.copy(m / "inputs" / "feats8k" / "vm-and.npz", folder / f"{PROMPT}.npz")
    return folder


def ab_test(tmp: Path) -> tuple[Path, subprocess.CompletedProcess, tuple]:
    """An AB listening test of one prompt (copy synthesis as both systems) at tmp/test, its key beside it:
    (the test folder, the command's result, the command)."""
    m = models(tmp)
    wavs = tmp / "wavs"
    cli("vawgan", "synth", m / "inputs/slt", "--copy", "-o", wavs)
    (tmp / "ids").write_text(f"{PROMPT}\n")
    args = ("vawgan", "listening-test", f"a={wavs}", f"b={wavs}", "--kind", "ab", "-o", tmp / "test", "--ids", tmp / "ids")
    return tmp / "test", cli(*args), args


def into_own_input(tmp: Path, command: str, model: str) -> Result:
    m = models(tmp)
    before = contents(m / "inputs/slt")
    p = cli("vawgan", command, m / "inputs/slt", "-m", m / model, "-o", m / "inputs/slt")
    outcome, ok = refused(p, "input")
    return Result(outcome, ok, has_traceback(p), contents(m / "inputs/slt") != before)


@case("outputs", "enhance -o its own input folder", "refused; the input untouched")
def _(tmp):
    return into_own_input(tmp, "enhance", "postfilter_frame")


@case("outputs", "convert -o its own input folder", "refused; the input untouched")
def _(tmp):
    return into_own_input(tmp, "convert", "converter")


@case("outputs", "convert -o a folder another model wrote", "refused; its outputs kept")
def _(tmp):
    m = models(tmp)
    out = tmp / "out"
    first = cli("vawgan", "convert", m / "inputs/slt", "-m", m / "converter", "-o", out)
    before = contents(out)
    p = cli("vawgan", "convert", m / "inputs/slt", "-m", m / "vc", "--to", "natural", "--from", "slt", "-o", out)
    outcome, ok = refused(p, "--overwrite")
    return Result(outcome, ok and first.returncode == 0, has_traceback(p), contents(out) != before)


@case("outputs", "convert again: the same model, options and input", "done again (exit 0)")
def _(tmp):
    m = models(tmp)
    out = tmp / "out"
    ps = [cli("vawgan", "convert", m / "inputs/slt", "-m", m / "converter", "-o", out) for _ in range(2)]
    ok = all(p.returncode == 0 for p in ps) and (out / f"{PROMPT}.wav").is_file()
    return Result(f"exit {ps[0].returncode}, then {ps[1].returncode}", ok, any(map(has_traceback, ps)))


@case("outputs", "convert --overwrite into a folder another model wrote", "replaced (exit 0): the new model's output only")
def _(tmp):
    m = models(tmp)
    out = tmp / "out"
    cli("vawgan", "convert", m / "inputs/slt", "-m", m / "converter", "-o", out)
    old = (out / f"{PROMPT}.npz").read_bytes()
    p = cli("vawgan", "convert", m / "inputs/slt", "-m", m / "converter", "--adversarial", "0.5", "-o", out, "--overwrite")
    ok = p.returncode == 0 and (out / f"{PROMPT}.npz").read_bytes() != old and "adversarial" in (out / ".vawgan-output.json").read_text()
    return Result(f"exit {p.returncode}", ok, has_traceback(p))


@case("outputs", "train-vc -o a folder holding a trained converter", "refused; the converter still opens")
def _(tmp):
    m = models(tmp)
    before = (m / "converter/config.toml").read_bytes()
    (tmp / "ids").write_text(f"{PROMPT}\n")
    p = cli("vawgan", "train-vc", f"slt={m / 'inputs/slt'}", f"natural={m / 'inputs/natural'}", "-o", m / "converter",
            "--ids", tmp / "ids")
    outcome, ok = refused(p, "converter", "--overwrite")
    return Result(outcome, ok, has_traceback(p), (m / "converter/config.toml").read_bytes() != before)


@case("outputs", "train-converter -o a folder holding a pair post-filter", "refused; the post-filter kept")
def _(tmp):
    m = models(tmp)
    before = (m / "postfilter_frame/config.toml").read_bytes()
    (tmp / "ids").write_text(f"{PROMPT}\n")
    p = cli("vawgan", "train-converter", m / "inputs/slt", m / "inputs/natural", "-o", m / "postfilter_frame", "--ids", tmp / "ids")
    outcome, ok = refused(p, "post-filter", "--overwrite")
    return Result(outcome, ok, has_traceback(p), (m / "postfilter_frame/config.toml").read_bytes() != before)


@case("outputs", "listening-test where an earlier test's key still is", "refused; the key kept")
def _(tmp):
    test, first, args = ab_test(tmp)
    key = (tmp / "test-key.json").read_bytes()
    shutil.rmtree(test)
    p = cli(*args)
    outcome, ok = refused(p, "key", "--overwrite")
    return Result(outcome, ok and first.returncode == 0, has_traceback(p), (tmp / "test-key.json").read_bytes() != key)


def report_of(tmp: Path, exp: Path | None = None, *options) -> tuple[Path, subprocess.CompletedProcess, tuple]:
    """A report of the shared tiny VAWGAN (or ``exp``) at tmp/report, one system, one played prompt: (the
    report folder, the command's result, the command)."""
    t = trained(tmp.parent / "_shared")
    (tmp / "ids").write_text("\n".join(GOOD[:2]) + "\n")
    args = ("vawgan", "report", exp or t.exp, "-o", tmp / "report", "--ids", tmp / "ids", "--systems", "vae",
            "--show", GOOD[0], "--resamples", "100", "-j", "1", "--systems-dir", tmp / "systems", *options)
    return tmp / "report", cli(*args), args


def tree(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (relative path → bytes)."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@case("outputs", "report -o a folder holding another experiment's report", "refused; its page, metrics and audio kept")
def _(tmp):
    t = trained(tmp.parent / "_shared")
    report, first, _ = report_of(tmp)
    before = tree(report)
    other = tmp / "exp-copy"
    shutil.copytree(t.exp, other)
    (tmp / "ids").write_text(f"{GOOD[0]}\n")
    p = cli("vawgan", "report", other, "-o", report, "--ids", tmp / "ids", "--systems", "vae", "--resamples", "100")
    outcome, ok = refused(p, "report", "--overwrite")
    return Result(outcome, ok and first.returncode == 0 and "index.html" in before, has_traceback(p),
                  tree(report) != before)


@case("outputs", "report -o a folder holding the user's own audio/", "refused; the audio kept")
def _(tmp):
    t = trained(tmp.parent / "_shared")
    mine = tmp / "mine"
    good_wavs(mine / "audio", GOOD[:1])
    before = tree(mine)
    (tmp / "ids").write_text(f"{GOOD[0]}\n")
    p = cli("vawgan", "report", t.exp, "-o", mine, "--ids", tmp / "ids", "--systems", "vae", "--resamples", "100")
    outcome, ok = refused(p, "did not write", "--overwrite")
    return Result(outcome, ok, has_traceback(p), tree(mine) != before)


@case("outputs", "report -o the experiment folder", "refused before any work; the experiment untouched")
def _(tmp):
    t = trained(tmp.parent / "_shared")
    exp = tmp / "exp"
    shutil.copytree(t.exp, exp)
    before = tree(exp)
    (tmp / "ids").write_text(f"{GOOD[0]}\n")
    p = cli("vawgan", "report", exp, "-o", exp, "--ids", tmp / "ids", "--systems", "vae")
    outcome, ok = refused(p, "input")
    return Result(outcome, ok, has_traceback(p), tree(exp) != before)


@case("outputs", "report again that fails after its evaluation (a played WAV gone)",
      "one-line error; the earlier report kept whole")
def _(tmp):
    t = trained(tmp.parent / "_shared")
    feats, wavs = tmp / "feats", tmp / "wavs"
    shutil.copytree(t.feats, feats)
    good_wavs(wavs, GOOD[:2])
    manifest = feats / "manifest.tsv"
    rows = manifest.read_text().splitlines()
    manifest.write_text("\n".join([rows[0], *(r.split("\t")[0] + "\t" + str(wavs / (r.split("\t")[0] + ".wav")) + "\t"
                                              + "\t".join(r.split("\t")[2:]) for r in rows[1:])]) + "\n")
    report, first, args = report_of(tmp, None, "--feats", feats)
    before = tree(report)
    (wavs / f"{GOOD[0]}.wav").unlink()
    p = cli(*args)
    outcome, ok = refused(p, GOOD[0], "to play")
    left = [q.name for q in report.iterdir() if q.name.startswith(".partial")]
    return Result(outcome + (f"; left {left}" if left else ""), ok and first.returncode == 0 and not left,
                  has_traceback(p), tree(report) != before)


@case("outputs", "report again: the same experiment and options; then --overwrite with another",
      "done again (exit 0); replaced (exit 0)")
def _(tmp):
    t = trained(tmp.parent / "_shared")
    report, first, args = report_of(tmp)
    again = cli(*args)
    other = tmp / "exp-copy"
    shutil.copytree(t.exp, other)
    p = cli("vawgan", "report", other, *args[3:], "--overwrite")
    mark = json.loads((report / ".vawgan-output.json").read_text())
    ok = (first.returncode == again.returncode == p.returncode == 0 and (report / "index.html").is_file()
          and str(other.resolve()) in mark["inputs"])
    return Result(f"exit {first.returncode}, {again.returncode}, then {p.returncode}", ok,
                  any(map(has_traceback, (first, again, p))))


@case("outputs", "speaker-id -o its --eval-ids list, or a feature folder", "refused before training; the list and folder kept")
def _(tmp):
    m = models(tmp)
    (tmp / "ids").write_text(f"{PROMPT}\n")
    before, feats = (tmp / "ids").read_bytes(), contents(m / "inputs/natural")
    speakers = (f"slt={m / 'inputs/slt'}", f"natural={m / 'inputs/natural'}")
    ps = [cli("vawgan", "speaker-id", *speakers, "--ids", tmp / "ids", "--eval-ids", tmp / "ids", "-o", out)
          for out in (tmp / "ids", m / "inputs/natural")]
    (o1, ok1), (o2, ok2) = refused(ps[0], "input"), refused(ps[1], "is a folder")
    lost = (tmp / "ids").read_bytes() != before or contents(m / "inputs/natural") != feats
    return Result(f"{o1}; {o2}", ok1 and ok2, any(map(has_traceback, ps)), lost)


@case("outputs", "eval -o the folder of a system it scores", "refused before any work; the folder untouched")
def _(tmp):
    m = models(tmp)
    before = contents(m / "inputs/slt")
    p = cli("vawgan", "eval", "--natural", m / "inputs/natural", "--generated", f"slt={m / 'inputs/slt'}",
            "-o", m / "inputs/slt")
    outcome, ok = refused(p, "input")
    return Result(outcome, ok, has_traceback(p), contents(m / "inputs/slt") != before)


@case("settings", "speaker-id scores 8 kHz features beside 16 kHz speakers", "refused, naming both settings")
def _(tmp):
    m = models(tmp)
    (tmp / "ids").write_text(f"{PROMPT}\n")
    p = cli("vawgan", "speaker-id", f"slt={m / 'inputs/slt'}", f"natural={m / 'inputs/natural'}", "--ids", tmp / "ids",
            "--eval-ids", tmp / "ids", "--score", f"x={at_8k(m)}")
    outcome, ok = refused(p, "8000 Hz", "16000 Hz")
    return Result(outcome, ok, has_traceback(p))


@case("settings", "eval: natural 16 kHz features against an 8 kHz system", "refused, naming both settings")
def _(tmp):
    m = models(tmp)
    p = cli("vawgan", "eval", "--natural", m / "inputs/natural", "--generated", f"x={at_8k(m)}", "-o", tmp / "eval")
    outcome, ok = refused(p, "8000 Hz", "16000 Hz")
    return Result(outcome, ok, has_traceback(p))


@case("settings", "convert 8 kHz features with a 16 kHz converter", "refused, naming both settings")
def _(tmp):
    m = models(tmp)
    p = cli("vawgan", "convert", at_8k(m), "-m", m / "converter", "-o", tmp / "out")
    outcome, ok = refused(p, "8000 Hz", "16000 Hz")
    return Result(outcome, ok, has_traceback(p))


@case("settings", "enhance 8 kHz features with a 16 kHz post-filter", "none enhanced: exit 2, the reason listed")
def _(tmp):
    m = models(tmp)
    p = cli("vawgan", "enhance", at_8k(m), "-m", m / "postfilter_frame", "-o", tmp / "out")
    outcome, ok = refused(p, "none of the 1")
    listed = (tmp / "out/failed.tsv").is_file() and "8000 Hz" in (tmp / "out/failed.tsv").read_text()
    return Result(outcome, ok and listed, has_traceback(p))


@case("options", "eval --generated a=X --generated a=Y", "refused, naming the name")
def _(tmp):
    m = models(tmp)
    p = cli("vawgan", "eval", "--natural", m / "inputs/natural", "--generated", f"a={m / 'inputs/slt'}",
            "--generated", f"a={m / 'inputs/natural'}", "-o", tmp / "eval")
    outcome, ok = refused(p, "'a'")
    return Result(outcome, ok, has_traceback(p))


@case("options", "train-postfilter --sweep abc", "refused before any work")
def _(tmp):
    m = models(tmp)
    (tmp / "ids").write_text(f"{PROMPT}\n")
    t0 = time.monotonic()
    p = cli("vawgan", "train-postfilter", m / "inputs/slt", m / "inputs/natural", "-o", tmp / "pf", "--ids", tmp / "ids",
            "--sweep", "abc")
    outcome, ok = refused(p, "--sweep")
    return Result(f"{outcome} after {time.monotonic() - t0:.0f} s", ok and not (tmp / "pf").exists(), has_traceback(p))


@case("options", "train-converter --epochs 0", "refused (an untrained model is not a converter)")
def _(tmp):
    m = models(tmp)
    (tmp / "ids").write_text(f"{PROMPT}\n")
    p = cli("vawgan", "train-converter", m / "inputs/slt", m / "inputs/natural", "-o", tmp / "c", "--ids", tmp / "ids",
            "--epochs", "0")
    line = " ".join(p.stderr.split())
    ok = p.returncode == 2 and "--epochs" in line and not (tmp / "c").exists()
    return Result(f"refused (exit {p.returncode})" if ok else f"exit {p.returncode}", ok, has_traceback(p))


@case("options", "enhance --seed -1", "refused as usage")
def _(tmp):
    m = models(tmp)
    p = cli("vawgan", "enhance", m / "inputs/slt", "-m", m / "postfilter_conv", "-o", tmp / "out", "--seed", "-1")
    ok = p.returncode == 2 and "--seed" in p.stderr
    return Result(f"refused (exit {p.returncode})" if ok else f"exit {p.returncode}", ok, has_traceback(p))


@case("options", "enhance -m a converter (not an enhancer)", "refused, saying what it is")
def _(tmp):
    m = models(tmp)
    p = cli("vawgan", "enhance", m / "inputs/slt", "-m", m / "converter", "-o", tmp / "out")
    outcome, ok = refused(p, "parallel converter", "post-filter")
    return Result(outcome, ok and not (tmp / "out").exists(), has_traceback(p))


@case("options", "convert -m a pair post-filter (not a converter)", "refused, saying what it is")
def _(tmp):
    m = models(tmp)
    p = cli("vawgan", "convert", m / "inputs/slt", "-m", m / "postfilter_frame", "-o", tmp / "out")
    outcome, ok = refused(p, "pair post-filter", "converter")
    return Result(outcome, ok and not (tmp / "out").exists(), has_traceback(p))


@case("options", "report --from on a parallel converter", "refused before any work")
def _(tmp):
    m = models(tmp)
    (tmp / "ids").write_text(f"{PROMPT}\n")
    p = cli("vawgan", "report", m / "converter", "-o", tmp / "rep", "--ids", tmp / "ids", "--from", "slt", "--to", "natural")
    outcome, ok = refused(p, "--from")
    return Result(outcome, ok and not (tmp / "rep").exists(), has_traceback(p))


@case("options", "convert --code / report --knn on a parallel converter", "refused before any work")
def _(tmp):
    m = models(tmp)
    (tmp / "ids").write_text(f"{PROMPT}\n")
    ps = [cli("vawgan", "convert", m / "inputs/slt", "-m", m / "converter", "--code", "shift", "-o", tmp / "out"),
          cli("vawgan", "report", m / "converter", "-o", tmp / "rep", "--ids", tmp / "ids", "--knn", "4")]
    (o1, ok1), (o2, ok2) = refused(ps[0], "--code", "VAWGAN-VC"), refused(ps[1], "--knn", "VAWGAN-VC")
    return Result(f"{o1}; {o2}", ok1 and ok2 and not (tmp / "out").exists() and not (tmp / "rep").exists(),
                  any(map(has_traceback, ps)))


@case("options", "prematch: an unknown speaker, --stage critic, a parallel converter as EXP", "refused before any work")
def _(tmp):
    m = models(tmp)
    base = ("vawgan", "prematch", "--knn", "4", "-o", tmp / "out")
    ps = [cli(*base, m / "vc", "--speaker", "allison"),
          cli(*base, m / "vc", "--speaker", "natural", "--stage", "critic"),
          cli(*base, m / "converter", "--speaker", "natural")]
    checks = [refused(ps[0], "unknown speaker 'allison'", "slt, natural"),
              refused(ps[1], "--stage critic", "vae", "adv"),
              refused(ps[2], "parallel converter")]
    return Result("; ".join(o for o, _ in checks), all(ok for _, ok in checks) and not (tmp / "out").exists(),
                  any(map(has_traceback, ps)))


@case("options", "train --config mixing frame and conv options", "refused before any work, naming the option and the arch")
def _(tmp):
    t = trained(tmp.parent / "_shared")
    conf = tmp / "mixed.toml"
    conf.write_text("[vawgan]\narch = \"frame\"\nsegment = 48\n")
    p = cli("vawgan", "train", t.feats, "-o", tmp / "exp", "--config", conf, *TINY_TRAIN)
    outcome, ok = refused(p, "segment", "arch = 'frame'")
    return Result(outcome, ok and not (tmp / "exp").exists(), has_traceback(p))


@case("options", "train arch = conv with a crop longer than every utterance", "refused before any work, naming the lengths")
def _(tmp):
    t = trained(tmp.parent / "_shared")
    conf = tmp / "long.toml"
    conf.write_text("[vawgan]\narch = \"conv\"\nsegment = 100000\n")
    p = cli("vawgan", "train", t.feats, "-o", tmp / "exp", "--config", conf, *TINY_TRAIN)
    outcome, ok = refused(p, "segment = 100000", "longest")
    return Result(outcome, ok and not (tmp / "exp" / "checkpoints").exists(), has_traceback(p))


@case("models", "train --stage adv with a conv config on a frame experiment", "refused, naming both arches; its checkpoints, config and log kept")
def _(tmp):
    t = trained(tmp.parent / "_shared")
    exp = tmp / "exp"
    shutil.copytree(t.exp, exp)
    record = [exp / "checkpoints" / "adv.pt", exp / "config.toml", exp / "log.csv"]
    before = [f.read_bytes() for f in record]
    conf = tmp / "conv.toml"
    conf.write_text("[vawgan]\narch = \"conv\"\nsegment = 64\n")
    p = cli("vawgan", "train", t.feats, "-o", exp, "--stage", "adv", "--config", conf, "--overwrite", *TINY_TRAIN)
    outcome, ok = refused(p, "arch = 'frame'", "arch = 'conv'")
    changed = [f.name for f, b in zip(record, before) if f.read_bytes() != b]
    return Result(outcome + (f"; changed: {', '.join(changed)}" if changed else ""), ok and not changed,
                  has_traceback(p), lost=bool(changed))


@case("options", "train-converter --config mixing frame and conv options", "refused before any work, naming the option and the arch")
def _(tmp):
    m = models(tmp)
    (tmp / "ids").write_text(f"{PROMPT}\n")
    conf = tmp / "mixed.toml"
    conf.write_text("[dnn]\narch = \"conv\"\nhidden = 1024\n")
    p = cli("vawgan", "train-converter", m / "inputs/slt", m / "inputs/natural", "-o", tmp / "exp", "--ids", tmp / "ids",
            "--config", conf)
    outcome, ok = refused(p, "hidden", "arch = 'conv'")
    return Result(outcome, ok and not (tmp / "exp").exists(), has_traceback(p))


@case("models", "train-converter --adversarial on a sequence (conv) converter", "refused, naming the arch; the converter kept")
def _(tmp):
    m = models(tmp)
    (tmp / "ids").write_text(f"{PROMPT}\n")
    conf = tmp / "conv.toml"
    conf.write_text("[dnn]\narch = \"conv\"\nchannels = [8]\ndilations = [1]\nsegment = 16\nepochs = 1\nrounds = 1\n")
    exp = tmp / "exp"
    first = cli("vawgan", "train-converter", m / "inputs/slt", m / "inputs/natural", "-o", exp, "--ids", tmp / "ids",
                "--config", conf, "--jobs", "1")
    before = {f: f.read_bytes() for f in exp.rglob("*") if f.is_file()}
    p = cli("vawgan", "train-converter", m / "inputs/slt", m / "inputs/natural", "-o", exp, "--ids", tmp / "ids",
            "--config", conf, "--adversarial", "--adv-weight", "0.5")
    outcome, ok = refused(p, "arch = 'conv'", "adversarial")
    changed = sorted(str(f.relative_to(exp)) for f in set(before) | set(exp.rglob("*"))
                     if f.is_file() and before.get(f) != (f.read_bytes() if f.exists() else None))
    return Result(outcome + (f"; changed: {', '.join(changed)}" if changed else ""),
                  ok and first.returncode == 0 and bool(before) and not changed, has_traceback(p), lost=bool(changed))


@case("options", "listening-results: an answer row with a field missing", "refused, naming the file and row")
def _(tmp):
    ab_test(tmp)
    key = json.loads((tmp / "test-key.json").read_text())
    answers = tmp / "answers.csv"
    answers.write_text("test,listener,trial,a,b,choice\n" + f"{key['test']},01,1,a\n")
    p = cli("vawgan", "listening-results", answers, "--key", tmp / "test-key.json")
    outcome, ok = refused(p, "answers.csv")
    return Result(outcome, ok, has_traceback(p))


@case("outputs", "listening-results -o one of its answer files", "refused; the answers kept")
def _(tmp):
    ab_test(tmp)
    answers = tmp / "answers.csv"
    answers.write_text("test,listener,trial,a,b,choice\n")
    before = answers.read_bytes()
    p = cli("vawgan", "listening-results", answers, "--key", tmp / "test-key.json", "-o", answers)
    outcome, ok = refused(p, "answers.csv", "input")
    return Result(outcome, ok, has_traceback(p), answers.read_bytes() != before)


@case("options", "parallel-corpus again into its folder with another --fs", "refused; the WAVs kept")
def _(tmp):
    g722 = REPO / "recipes/flite2allison_16k/downloads/asterisk-core-sounds-en-g722/root/usr/share/asterisk/sounds/en_US_f_Allison"
    flite = REPO / "recipes/flite2allison_16k/downloads"
    rec = tmp / "rec"
    rec.mkdir()
    shutil.copy(g722 / "vm-goodbye.g722", rec)
    (tmp / "text").write_text("vm-goodbye: Goodbye\n")
    args = ("vawgan", "parallel-corpus", tmp / "text", "--recordings", rec, "-o", tmp / "corpus", "--flite", flite, "-j", "1")
    first = cli(*args)
    before = contents(tmp / "corpus/natural")
    p = cli(*args, "--fs", "8000")
    outcome, ok = refused(p, "16000", "8000")
    return Result(outcome, ok and first.returncode == 0, has_traceback(p), contents(tmp / "corpus/natural") != before)


def _wait_for_rows(log: Path, proc: subprocess.Popen, timeout: float = 300) -> bool:
    """Whether ``log`` (a trainer's log.csv) holds a logged step before ``proc`` ends: the training
    loop itself is running, not its set-up, nor the curves drawn after it."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        with contextlib.suppress(OSError):
            if log.read_text().count("\n") > 1:
                return True
        if proc.poll() is not None:
            return False
        time.sleep(0.02)
    return False


def _ctrl_c_in_training(args: tuple, log: Path) -> tuple[subprocess.Popen, bool, str]:
    """Run ``args``, Ctrl-C it once its training ``log`` holds a step: (the process, whether it did, stderr)."""
    proc = _popen(*args)
    started = _wait_for_rows(log, proc)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    return proc, started, err


def interrupt_then_resume(args: tuple, first: tuple, started_by: Path, last: Path, check: tuple, what: str) -> Result:
    """Run ``args + first``, Ctrl-C as soon as its log ``started_by`` holds a step (the training loop is
    running; a fixed delay raced the end of a short training on a fast machine), then ``args --resume``;
    the result must then work (``check``, a command)."""
    proc, started, err = _ctrl_c_in_training(args + first, started_by)
    saved = last.is_file()
    p = cli(*args, "--resume")
    c = cli(*check) if p.returncode == 0 else None
    done = c is not None and c.returncode == 0
    why = "" if done or c is None else f"; {check[1]} exit {c.returncode}: {error_line(c) or (c.stderr or c.stdout)[-300:]}"
    ok = started and proc.returncode == 130 and saved and done
    said = "" if proc.returncode == 130 else f" ({(err.strip().splitlines() or ['no stderr'])[-1][-200:]})"
    return Result(f"exit {proc.returncode}{said}, last.pt {'written' if saved else 'MISSING'}; resume exit {p.returncode}"
                  + (f"; {what}" if done else why), ok, "Traceback" in err or has_traceback(p), lost=not saved)


@case("interruption", "Ctrl-C during train-converter, then --resume", "checkpoint, exit 130; resume finishes")
def _(tmp):
    m = models(tmp)
    (tmp / "ids").write_text(f"{PROMPT}\n")
    exp = tmp / "conv"
    return interrupt_then_resume(
        ("vawgan", "train-converter", m / "inputs/slt", m / "inputs/natural", "-o", exp, "--ids", tmp / "ids"),
        ("--epochs", "1000", "--rounds", "2", "--device", "cpu"), exp / "round1/log.csv", exp / "round1/checkpoints/last.pt",
        ("vawgan", "convert", m / "inputs/slt", "-m", exp, "-o", tmp / "out"), "converts")


@case("interruption", "Ctrl-C during train-postfilter, then --resume", "checkpoint, exit 130; resume finishes")
def _(tmp):
    m = models(tmp)
    (tmp / "ids").write_text(f"{PROMPT}\n")
    (tmp / "config.toml").write_text("[postfilter]\nvae_epochs = 1000\ncritic_epochs = 1\nadv_epochs = 1\n")
    exp = tmp / "pf"
    return interrupt_then_resume(
        ("vawgan", "train-postfilter", m / "inputs/slt", m / "inputs/natural", "-o", exp, "--ids", tmp / "ids"),
        ("--config", tmp / "config.toml", "--device", "cpu"), exp / "log.csv", exp / "checkpoints/last.pt",
        ("vawgan", "enhance", m / "inputs/slt", "-m", exp, "-o", tmp / "out"), "enhances")


@case("interruption", "train-postfilter --resume with another --config and --seed",
      "refused in one line naming both (the run's own configuration continues); the checkpoint untouched")
def _(tmp):
    m = models(tmp)
    (tmp / "ids").write_text(f"{PROMPT}\n")
    (tmp / "config.toml").write_text("[postfilter]\nvae_epochs = 1000\ncritic_epochs = 1\nadv_epochs = 1\n")
    (tmp / "other.toml").write_text("[postfilter]\nvae_epochs = 5\n")
    exp = tmp / "pf"
    args = ("vawgan", "train-postfilter", m / "inputs/slt", m / "inputs/natural", "-o", exp, "--ids", tmp / "ids")
    _, started, _ = _ctrl_c_in_training(args + ("--config", tmp / "config.toml", "--device", "cpu"), exp / "log.csv")
    last = exp / "checkpoints/last.pt"
    before = last.read_bytes() if last.is_file() else b""
    p = cli(*args, "--resume", "--config", tmp / "other.toml", "--seed", "3")
    line = error_line(p)
    kept = bool(before) and last.read_bytes() == before
    ok = started and p.returncode == 2 and "--config" in line and "--seed" in line and kept
    return Result(f"exit {p.returncode}: {line}" + ("" if kept else "; last.pt CHANGED or missing"), ok,
                  has_traceback(p), lost=not kept)


# ---------------------------------------------------------------------------------- running


def run_case(c: Case, root: Path) -> Result:
    tmp = root / f"{CASES.index(c):02d}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    try:
        return c.fn(tmp)
    except Exception as e:  # the harness itself failed: report it, do not hide it
        return Result(f"HARNESS ERROR {type(e).__name__}: {str(e)[:200]}", False)


def table(results: list[tuple[Case, Result]]) -> str:
    rows = ["| area | input or fault | defined outcome | observed | as defined | traceback | output lost |",
            "|---|---|---|---|---|---|---|"]
    for c, r in results:
        obs = r.outcome.replace("|", "\\|")
        rows.append(f"| {c.area} | {c.name.replace('|', '/')} | {c.expected} | {obs} | {'yes' if r.ok else '**no**'} | "
                    f"{'**yes**' if r.traceback else 'no'} | {'**yes**' if r.lost else 'no'} |")
    return "\n".join(rows)


def main() -> None:
    import argparse
    import tempfile

    ap = argparse.ArgumentParser(description="Run the fault-injection suite; optionally write docs/reliability.md.")
    ap.add_argument("--write", type=Path, help="Markdown file to (re)write with the table")
    args = ap.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as d:
        for c in CASES:
            t0 = time.monotonic()
            r = run_case(c, Path(d))
            r.outcome = r.outcome.replace(str(Path(d).resolve()), "$TMP").replace(d, "$TMP")
            results.append((c, r))
            print(f"{'ok ' if r.ok and not r.traceback and not r.lost else 'BAD'} {time.monotonic() - t0:5.1f}s  "
                  f"{c.area}: {c.name} → {r.outcome}", flush=True)
    n = len(results)
    n_ok = sum(r.ok for _, r in results)
    n_tb = sum(r.traceback for _, r in results)
    n_lost = sum(r.lost for _, r in results)
    summary = f"{n} inputs and faults tried: {n_ok} as defined, {n_tb} tracebacks, {n_lost} outputs lost."
    print(summary)
    if args.write:
        from vawgan_tts.fileio import write_text_atomic

        head = (REPO / "docs" / "reliability_head.md").read_text(encoding="utf-8")
        write_text_atomic(args.write, f"{head}\n{summary}\n\n{table(results)}\n")
    sys.exit(0 if n_ok == n and not n_tb and not n_lost else 1)


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    main()
