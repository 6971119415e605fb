"""Extraction speed, measured side by side in one run (never a timed unit test).

Compares, on the Allison prompts:
  bare   a plain Python loop of the same soundfile + pyworld + pysptk calls, writing .npz
  cli-1  `vawgan extract --jobs 1`
  cli-2  `vawgan extract --jobs 2`
run round-robin --repeats times (best of each), and prints the ratios: cli-2 / cli-1 speed-up
(goal ≥ 1.8× on 2 cores) and cli-1 / bare overhead (goal ≤ 1.15×). The CLI converts envelopes
to mel-cepstra with one matrix product per file (features.sp2mc) where the bare loop calls
pysptk.sp2mc, which loops over frames in Python: the CLI can be faster than the bare loop.
Usage: python benchmarks/bench_extract.py [--quick] [--f0-method dio|harvest] [--repeats N]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import soundfile as sf

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import pysptk
    import pyworld

from common import CORPUS


def bare_loop(files: list[Path], out: Path, f0_method: str) -> None:
    """What a researcher would write by hand: no parallelism, no checks, no manifest."""
    out.mkdir(parents=True, exist_ok=True)
    for f in files:
        x, fs = sf.read(f, dtype="float64")
        if f0_method == "harvest":
            f0, t = pyworld.harvest(x, fs, 71.0, 800.0, 5.0)
        else:
            f0, t = pyworld.dio(x, fs, 71.0, 800.0, 5.0)
            f0 = pyworld.stonemask(x, f0, t, fs)
        fft_size = pyworld.get_cheaptrick_fft_size(fs, 71.0)
        sp = pyworld.cheaptrick(x, f0, t, fs, f0_floor=71.0, fft_size=fft_size)
        ap = pyworld.d4c(x, f0, t, fs, fft_size=fft_size)
        mc = pysptk.sp2mc(sp, 39, pysptk.util.mcepalpha(fs))
        np.savez(out / f"{f.stem}.npz", mcep=mc.astype(np.float32), f0=f0, ap=ap[:, ::64])


def timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="60 prompts instead of all 558")
    ap.add_argument("--f0-method", default="dio", choices=["dio", "harvest"])
    ap.add_argument("--repeats", type=int, default=2, help="round-robin rounds; the best of each is reported")
    args = ap.parse_args()
    if not CORPUS.is_dir():
        sys.exit(f"{CORPUS} missing: run `make data`")
    files = sorted(p for p in CORPUS.rglob("*.wav") if p.parent.name != "silence")
    if args.quick:
        files = files[:: max(1, len(files) // 60)][:60]
    vawgan = str(Path(sys.executable).with_name("vawgan"))
    audio_s = sum(sf.info(f).duration for f in files)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        wavs = tmp / "wavs"
        wavs.mkdir()
        for f in files:  # flat copy: ids = stems, as the bare loop names them
            shutil.copy(f, wavs / f"{f.parent.name}_{f.name}" if f.parent != CORPUS else wavs / f.name)

        def cli(jobs: int):
            return lambda: subprocess.run(
                [vawgan, "extract", str(wavs), "-o", str(tmp / f"cli{jobs}"), "--jobs", str(jobs),
                 "--f0-method", args.f0_method, "--overwrite"],
                check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )

        runs = {"bare": lambda: bare_loop(sorted(wavs.glob("*.wav")), tmp / "bare", args.f0_method),
                "cli-1": cli(1), "cli-2": cli(2)}
        # Round-robin repeats, best of each: the least disturbed run on a shared machine.
        results = {name: float("inf") for name in runs}
        for rep in range(args.repeats):
            for name, fn in runs.items():
                s = timed(fn)
                results[name] = min(results[name], s)
                print(f"  round {rep + 1} {name}: {s:.2f} s", flush=True)
    print(f"{len(files)} files, {audio_s / 60:.1f} min of audio, F0 by {args.f0_method}")
    for name, s in results.items():
        print(f"  {name:6s} {s:7.2f} s   {audio_s / s:6.1f}× real time   {len(files) / s:6.1f} files/s")
    print(f"speed-up --jobs 2 vs --jobs 1: {results['cli-1'] / results['cli-2']:.2f}×  (goal ≥ 1.8)")
    print(f"--jobs 1 vs bare loop:         {results['cli-1'] / results['bare']:.2f}×  (goal ≤ 1.15)")


if __name__ == "__main__":
    main()
