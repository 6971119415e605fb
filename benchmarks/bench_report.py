"""A converter's report, end to end, with --jobs 1 and --jobs 2 side by side in one run.

On the flite2allison_16k recipe's converter (`./run.sh --voice slt --stop-stage 2` first) and its
eval list: `vawgan report EXP -o OUT --ids lists/eval.ids --jobs J` in a subprocess, each into a fresh
output and systems folder. Wall time of each; CPU time (user + system of the command and every
process it waited for) of the one-process run. The post-filter statistics (the converter's output on
every training prompt, cached in the experiment once per model) are computed first and reported on
their own line, so both runs start from the same state.

With --one-thread both runs are limited to one BLAS/OpenMP thread per process (OMP_NUM_THREADS,
OPENBLAS_NUM_THREADS, MKL_NUM_THREADS = 1): without it --jobs 1 already computes part of the time on
two threads (torch's matrix products in conversion, numpy's in the intervals and tests), so its wall
time understates one core's and the ratio understates what the processes add.

Usage: python benchmarks/bench_report.py [--exp DIR] [--ids FILE] [--quick] [--one-thread]
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import REPO, table

RECIPE = REPO / "recipes/flite2allison_16k"


def _run(cmd: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float]:
    """(wall, CPU) seconds of one command and the children it waited for."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{done.stderr}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--exp", type=Path, default=RECIPE / "exp/slt", help="a converter experiment")
    ap.add_argument("--ids", type=Path, default=RECIPE / "lists/eval.ids")
    ap.add_argument("--quick", action="store_true", help="the first 10 ids")
    ap.add_argument("--one-thread", action="store_true", help="one BLAS/OpenMP thread per process in both runs")
    args = ap.parse_args()
    env = dict(os.environ)
    if args.one_thread:
        env |= {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    if not (args.exp / "config.toml").is_file():
        sys.exit(f"{args.exp}: no converter experiment; run recipes/flite2allison_16k/run.sh --stop-stage 2")
    from vawgan_tts.runs.converter import Converter

    start = time.perf_counter()
    Converter(args.exp).postfilter_stats()
    stats_s = time.perf_counter() - start
    vawgan = str(Path(sys.executable).with_name("vawgan"))
    rows, walls = [], {}
    with tempfile.TemporaryDirectory() as tmp:
        ids = Path(tmp) / "ids"
        lines = args.ids.read_text().split()
        ids.write_text("\n".join(lines[:10] if args.quick else lines) + "\n")
        n = len(ids.read_text().split())
        for jobs in (1, 2):
            out = Path(tmp) / f"j{jobs}"
            wall, cpu = _run([vawgan, "report", str(args.exp.resolve()), "-o", str(out / "report"), "--ids", str(ids),
                              "--systems-dir", str(out / "systems"), "--jobs", str(jobs)], cwd=Path(tmp), env=env)
            walls[jobs] = wall
            rows.append([str(jobs), f"{wall:.1f}", f"{cpu:.1f}" if jobs == 1 else "(workers not counted)"])
    threads = "one BLAS/OpenMP thread per process" if args.one_thread else "the libraries' default threads"
    print(f"report of {n} utterances, 4 systems (source, converted, +gv-pf, +ms-pf), {args.exp}; {threads}")
    print(f"post-filter statistics (once per model, cached): {stats_s:.1f} s")
    print(table(rows, ["--jobs", "wall [s]", "CPU [s]"]))
    print(f"--jobs 2 is {walls[1] / walls[2]:.2f}× --jobs 1 in wall time")


if __name__ == "__main__":
    main()
