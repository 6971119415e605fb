"""cProfile of a converter's report, end to end in one process, from a cold start of the model's
cached post-filter statistics (deleted first): where a report's time goes.

Prints wall and CPU time, the figures of every system (to compare two versions of the code: run it
with another checkout first on PYTHONPATH), and the top entries by cumulative time; writes the
profile to OUT.prof.

Usage: python benchmarks/profile_report.py EXP OUT [--ids FILE] [--jobs N] [--top 25]
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import time
from pathlib import Path

from common import REPO


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("exp", type=Path, help="a converter experiment")
    ap.add_argument("out", type=Path, help="the report folder to write (its systems go beside it)")
    ap.add_argument("--ids", type=Path, default=REPO / "recipes/flite2allison_16k/lists/eval.ids")
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--top", type=int, default=25)
    args = ap.parse_args()
    for cache in args.exp.glob("round*/postfilter_stats.npz"):
        cache.unlink()
    import vawgan_tts
    from vawgan_tts.report import build_conversion_report

    print(f"vawgan_tts from {Path(vawgan_tts.__file__).parent}")
    ids = args.ids.read_text().split()
    kwargs = {"jobs": args.jobs} if args.jobs > 1 else {}  # the code before --jobs took none
    wall, cpu = time.perf_counter(), time.process_time()
    prof = cProfile.Profile()
    prof.enable()
    result = build_conversion_report(args.exp, args.out, ids, systems_dir=args.out.with_name(args.out.name + "_systems"),
                                     **kwargs)
    prof.disable()
    print(f"wall {time.perf_counter() - wall:.1f} s, CPU of this process (all threads) {time.process_time() - cpu:.1f} s")
    for name, m in result["systems"].items():
        print(name, {k: round(m[k], 4) for k in ("mcd_db", "gv_ratio", "gv_distance", "ms_distance", "frechet_distance")})
    prof.dump_stats(f"{args.out}.prof")
    pstats.Stats(f"{args.out}.prof").sort_stats("cumulative").print_stats(args.top)


if __name__ == "__main__":
    main()
