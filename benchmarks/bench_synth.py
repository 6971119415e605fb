"""Synthesis real-time factor (seconds of compute per second of audio), stage by stage.

On the demo corpus's eval utterances (Allison prompts, 8 kHz, dio features), in one process:
  vae        the enhancement: c1..c39 through a VAE (z = μ), normalization included
  vocoder    vawgan_tts.synthesis.synthesize: mel-cepstrum → envelope (pysptk mc2sp), band
             aperiodicity → aperiodicity, pyworld.synthesize
  write      16-bit WAV, atomically
The VAE is a freshly initialized one of the default size (its cost does not depend on training).
RTF < 1 is faster than real time; 1 / RTF is how many cores' worth of real-time streams one core runs.

Usage: python benchmarks/bench_synth.py [--quick]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch

from common import demo_features, table
from vawgan_tts.audio import write_audio
from vawgan_tts.data.frames import denormalize, normalize
from vawgan_tts.features import FeatureStats, load_features
from vawgan_tts.synthesis import synthesize
from vawgan_tts.tasks.vawgan import VAWGANConfig, VAWGANTask


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="10 utterances")
    args = ap.parse_args()
    feats_dir, ids = demo_features()
    ids = ids[::10][: 10 if args.quick else 56]
    utts = [load_features(feats_dir / f"{u}.npz") for u in ids]
    audio_s = sum(f.n_frames * f.frame_period / 1000 for f in utts)
    stats = FeatureStats.load(feats_dir / "stats.npz")
    task = VAWGANTask(VAWGANConfig())
    task.vae.eval()
    t = dict.fromkeys(("vae", "vocoder", "write"), 0.0)
    with tempfile.TemporaryDirectory() as tmp, torch.no_grad():
        for utt, f in zip(ids, utts):
            s = time.perf_counter()
            mc = f.mcep.copy()
            x = torch.from_numpy(normalize(mc[:, 1:], stats))
            mc[:, 1:] = denormalize(task.vae.reconstruct(x).numpy(), stats)
            t["vae"] += time.perf_counter() - s
            s = time.perf_counter()
            y = synthesize(f.replace(mcep=mc))
            t["vocoder"] += time.perf_counter() - s
            s = time.perf_counter()
            write_audio(Path(tmp) / f"{utt}.wav", y, f.fs)
            t["write"] += time.perf_counter() - s
    total = sum(t.values())
    rows = [[k, f"{v:.3f}", f"{v / audio_s:.4f}"] for k, v in t.items()] + [["all", f"{total:.3f}", f"{total / audio_s:.4f}"]]
    print(f"{len(ids)} utterances, {audio_s:.1f} s of {utts[0].fs} Hz audio, {torch.get_num_threads()} torch threads")
    print(table(rows, ["stage", "seconds", "RTF"]))
    print(f"synthesis RTF {total / audio_s:.4f}: {audio_s / total:.0f}× faster than real time")


if __name__ == "__main__":
    main()
