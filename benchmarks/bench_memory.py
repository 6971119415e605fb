"""Peak memory of VAWGAN training on the demo corpus (1×) and on a corpus 10× its size, side by side.

The 10× corpus is the demo's feature files linked ten times under new ids (10× the frames, no new
audio). Each size trains in a fresh process: the frame store is built on first use (one utterance
in memory at a time), memory-mapped, and one VAE epoch runs on it. Reported per size:
  peak anonymous memory  the process's own memory (heap, tensors, the permutation, the index),
                         sampled every 5 ms: what training costs in RAM
  peak RSS               VmHWM, which also counts the pages of the mapped store that the epoch
                         touched: page cache the kernel can drop, not memory the process holds
Goal: peak anonymous memory at 10× ≤ 1.2× that at 1×.

Usage: python benchmarks/bench_memory.py [--quick] [--scale 10]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from common import demo_features, table

CHILD = r"""
import json, sys, threading, time
from pathlib import Path

def status(key):
    for line in open("/proc/self/status"):
        if line.startswith(key + ":"):
            return int(line.split()[1]) * 1024
    return 0

peak = {"anon": 0}
stop = threading.Event()
def sample():
    while not stop.is_set():
        peak["anon"] = max(peak["anon"], status("RssAnon"))
        time.sleep(0.005)
threading.Thread(target=sample, daemon=True).start()

from vawgan_tts.runs.vawgan import DataConfig, ExperimentConfig, train_vawgan
from vawgan_tts.tasks.vawgan import VAWGANConfig
from vawgan_tts.trainer import TrainerConfig

feats, exp = sys.argv[1], sys.argv[2]
base = status("RssAnon")
t = time.perf_counter()
cfg = ExperimentConfig(train=TrainerConfig(checkpoint_every=0),
                       vawgan=VAWGANConfig(vae_epochs=1, critic_epochs=0, adv_epochs=0),
                       data=DataConfig(feats=feats))
trainer = train_vawgan(exp, cfg, stages=["vae"], progress=False)
wall = time.perf_counter() - t
stop.set()
peak["anon"] = max(peak["anon"], status("RssAnon"))
print(json.dumps({"frames": trainer.batches.n_rows, "peak_anon": peak["anon"], "peak_rss": status("VmHWM"),
                  "after_imports_anon": base, "wall": wall}))
"""


def make_corpus(feats: Path, ids: list[str], scale: int, out: Path) -> Path:
    """``scale`` copies of the corpus as symbolic links, with a manifest naming them."""
    out.mkdir(parents=True)
    rows = ["utt\tsource\tframes\tstatus"]
    for k in range(scale):
        for utt in ids:
            (out / f"{utt}-{k}.npz").symlink_to((feats / f"{utt}.npz").resolve())
            rows.append(f"{utt}-{k}\t-\t0\tok")
    (out / "manifest.tsv").write_text("\n".join(rows) + "\n")
    return out


def measure(corpus: Path, exp: Path) -> dict:
    env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "2")}
    r = subprocess.run([sys.executable, "-c", CHILD, str(corpus), str(exp)], capture_output=True, text=True, env=env)
    if r.returncode != 0:
        sys.exit(r.stderr[-2000:])
    return json.loads(r.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="100 utterances as 1×")
    ap.add_argument("--scale", type=int, default=10)
    args = ap.parse_args()
    feats, ids = demo_features()
    if args.quick:
        ids = ids[:100]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        results = {}
        for scale in (1, args.scale):
            corpus = make_corpus(feats, ids, scale, tmp / f"x{scale}")
            results[scale] = measure(corpus, tmp / f"exp{scale}")
            r = results[scale]
            print(f"  {scale}×: {r['frames']:,} frames, peak anon {r['peak_anon'] / 2**20:.0f} MiB, "
                  f"peak RSS {r['peak_rss'] / 2**20:.0f} MiB, {r['wall']:.1f} s", flush=True)
    one, big = results[1], results[args.scale]
    rows = [[f"{s}×", f"{r['frames']:,}", f"{r['frames'] * 39 * 4 / 2**20:.0f}", f"{r['peak_anon'] / 2**20:.0f}",
             f"{r['peak_rss'] / 2**20:.0f}", f"{r['wall']:.1f}"] for s, r in results.items()]
    print(table(rows, ["corpus", "frames", "store MiB", "peak anon MiB", "peak RSS MiB", "wall s"]))
    print(f"peak anonymous memory {args.scale}× / 1×: {big['peak_anon'] / one['peak_anon']:.3f} (goal ≤ 1.2); "
          f"peak RSS incl. mapped pages: {big['peak_rss'] / one['peak_rss']:.3f}")


if __name__ == "__main__":
    main()
