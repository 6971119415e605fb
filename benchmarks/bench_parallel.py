"""The parallel corpus's preparation time and the alignment's speed-up with processes.

  prepare   decode Allison's G.722 prompts and let flite speak every transcript with one voice
            (vawgan_tts.corpus.prepare_parallel_corpus, --jobs J), then WORLD (dio) + mel-cepstra of
            both sides (vawgan_tts.extract.run): the recipe's stages 0-1 for one voice, from nothing
  align     DTW of every training prompt's source and target speech frames (alignment.align_corpus)
            with 1 process and with J, round-robin over several rounds; the median of each
  eval memory  peak RSS of `vawgan eval` on one 60 s utterance (Allison's prompts joined) against a
            copy with every 10th frame dropped (lengths differ, so frames are paired by DTW), in a
            fresh process; unbanded (librosa) DTW peaked at 3.3 GB on such a pair
Goals (issue 14): preparation <= 3 minutes per voice; alignment with 2 processes >= 1.8x one.

Usage: python benchmarks/bench_parallel.py [--quick] [--voice slt] [--jobs 2]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from common import REPO, table
from vawgan_tts.alignment import align_corpus
from vawgan_tts.extract import ExtractConfig
from vawgan_tts.corpus import Flite, prepare_parallel_corpus
from vawgan_tts.extract import run as extract

DEB = REPO / "recipes/flite2allison_16k/downloads"
G722 = DEB / "asterisk-core-sounds-en-g722/root/usr/share/asterisk/sounds/en_US_f_Allison"
TEXT = DEB / "asterisk-core-sounds-en/root/usr/share/doc/asterisk-core-sounds-en/core-sounds-en.txt.gz"
TRAIN = REPO / "recipes/flite2allison_16k/lists/train.ids"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="60 prompts, one alignment round")
    ap.add_argument("--voice", default="slt")
    ap.add_argument("--jobs", type=int, default=2)
    args = ap.parse_args()
    if not G722.is_dir():
        raise SystemExit(f"{G722} missing: run `make data`")
    train = TRAIN.read_text().split()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        text = TEXT
        if args.quick:
            from vawgan_tts.corpus import read_transcripts

            keep = set(train[:60])
            speech = read_transcripts(TEXT).speech
            text = tmp / "text.txt"
            text.write_text("".join(f"{u}: {t}\n" for u, t in speech.items() if u in keep))
            train = [u for u in train if u in keep]
        start = time.perf_counter()
        s = prepare_parallel_corpus(text, G722, tmp / "corpus", voices=(args.voice,), flite=Flite.find(DEB), jobs=args.jobs)
        t_prepare = time.perf_counter() - start
        cfg = ExtractConfig(fs=16000, f0_method="dio")
        t_extract = {}
        for side in ("natural", args.voice):
            start = time.perf_counter()
            extract([tmp / "corpus" / side / "wav.scp"], tmp / side, cfg, jobs=args.jobs)
            t_extract[side] = time.perf_counter() - start
        prompts = len(s.prepared["natural"])
        print(table([["decode + synthesize", f"{t_prepare:.1f} s"],
                     ["extract natural", f"{t_extract['natural']:.1f} s"],
                     [f"extract {args.voice}", f"{t_extract[args.voice]:.1f} s"],
                     ["prepare one voice, all", f"{t_prepare + sum(t_extract.values()):.1f} s (goal <= 180 s)"]],
                    ["stage", f"{prompts} prompts, --jobs {args.jobs}"]))
        times = {1: [], args.jobs: []}
        for _ in range(1 if args.quick else 3):
            for j in times:
                start = time.perf_counter()
                done, failed = align_corpus(tmp / args.voice, tmp / "natural", train, jobs=j)
                times[j].append(time.perf_counter() - start)
        med = {j: statistics.median(t) for j, t in times.items()}
        print(table([[f"{j}", f"{med[j]:.2f} s", " ".join(f"{t:.2f}" for t in times[j])] for j in times],
                    ["processes", "median", "rounds"]))
        print(f"alignment of {len(done)} prompts: --jobs {args.jobs} is {med[1] / med[args.jobs]:.2f}x --jobs 1 (goal >= 1.8x)")
        print(f"vawgan eval, one 60 s utterance against a shorter copy: peak RSS {eval_peak_rss(tmp / 'natural', tmp):.0f} MB")


def eval_peak_rss(natural: Path, tmp: Path) -> float:
    import subprocess
    import sys

    import numpy as np

    from vawgan_tts.feature_folder import feature_ids
    from vawgan_tts.features import load_features, save_features

    parts, frames = [], 0
    for u in feature_ids(natural):
        f = load_features(natural / f"{u}.npz")
        parts.append(f)
        frames += f.n_frames
        if frames >= 12000:  # 60 s at 5 ms
            break
    cat = {k: np.concatenate([getattr(p, k) for p in parts]) for k in ("mcep", "f0", "vuv", "bap")}
    long = parts[0].replace(**cat)
    keep = np.arange(long.n_frames) % 10 != 9
    save_features(tmp / "long_nat" / "long.npz", long)
    save_features(tmp / "long_gen" / "long.npz", long.replace(**{k: v[keep] for k, v in cat.items()}))
    # A fresh process that runs the command and reports its own peak (VmHWM), nothing else's.
    child = ("import resource, sys\nfrom vawgan_tts.cli.vawgan import app\n"
             "try:\n    app(sys.argv[1:])\nexcept SystemExit:\n    pass\n"
             "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)")
    r = subprocess.run([sys.executable, "-c", child, "eval", "--natural", str(tmp / "long_nat"), "--generated",
                        f"short={tmp / 'long_gen'}", "-o", str(tmp / "long_eval")], capture_output=True, text=True, check=True)
    return int(r.stderr.strip().splitlines()[-1]) / 1024


if __name__ == "__main__":
    main()
