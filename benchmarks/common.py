"""What the benchmarks share: the demo corpus's features (extracted once into a git-ignored cache
when the demo has not run), the machine's matmul FLOP/s, and a table printer."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO / "recipes/allison_8k/downloads/root/usr/share/asterisk/sounds/en_US_f_Allison"
DEMO_FEATS = REPO / "recipes/allison_8k/dump/feats_dio"
CACHE = REPO / "downloads/bench"


def demo_features() -> tuple[Path, list[str]]:
    """The demo's extracted features (dio) and its ids; extracts the prompts into the cache if the
    demo has not been run."""
    for feats in (DEMO_FEATS, CACHE / "feats_dio"):
        if (feats / "manifest.tsv").is_file():
            break
    else:
        if not CORPUS.is_dir():
            sys.exit(f"{CORPUS} missing: run `make data`")
        feats = CACHE / "feats_dio"
        vawgan = str(Path(sys.executable).with_name("vawgan"))
        print(f"extracting the Allison prompts into {feats} (once) ...", flush=True)
        subprocess.run([vawgan, "extract", str(CORPUS), "-o", str(feats), "--f0-method", "dio"], check=False,
                       stdout=subprocess.DEVNULL)
    from vawgan_tts.feature_folder import read_manifest

    return feats, read_manifest(feats)


def matmul_flops(sizes: tuple[int, ...] = (256, 512, 1024, 2048), seconds: float = 0.5) -> float:
    """Sustained FLOP/s of square fp32 matrix products with torch's current threads, the best over
    ``sizes`` (no one size is the fastest on every machine and thread count): the compute limit the
    training figures are a share of."""
    import torch

    best = 0.0
    for n in sizes:
        a, b = torch.randn(n, n), torch.randn(n, n)
        for _ in range(3):
            a @ b
        reps, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            a @ b
            reps += 1
        best = max(best, 2 * n**3 * reps / (time.perf_counter() - start))
    return best


def table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    fmt = "  ".join(f"{{:>{w}}}" for w in widths)
    return "\n".join([fmt.format(*header), *(fmt.format(*map(str, r)) for r in rows)])
