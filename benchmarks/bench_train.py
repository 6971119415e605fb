"""Training speed of VAWGAN's VAE and adversarial stages, measured side by side in one run.

On the demo corpus's speech frames (Allison prompts, dio), batch 128 unless --batch-size:
  reference      the loop as the method was first published: per batch, numpy fancy indexing of an
                 in-memory array and a new tensor, the same model and step math, PyTorch's default
                 Adam, the losses read back with .item() every step
  trainer        `vawgan train`'s path: Trainer + FrameBatches on the memory-mapped frame store
  unfused        the trainer with PyTorch's default Adam on CPU (a loop over tensors) instead of
                 the fused Adam the tasks use
  compile        the trainer with every layer stack torch.compile'd (inductor)
  gemms only     the step's matrix products alone (mm/addmm with the shapes the profiler recorded),
                 replayed back to back: the ceiling of any loop built on these kernels
Each prints frames/s, the ratio to the reference, and the share of the machine's own fp32 matmul
FLOP/s (square products of 256 to 2048, the best; measured in the same run) that the step's matmul
FLOPs (counted by the PyTorch profiler, forward + backward + the gradient penalty's double
backward) reach.

Variants run round-robin --repeats times; the median frames/s of each is reported (this shared
virtual machine runs fast as well as slow spells: one round of the reference ran at 64 k frames/s
where its other three ran at 41-42 k, so the best of rounds picked a lucky spell, not the code).
Usage: python benchmarks/bench_train.py [--quick] [--batch-size 128] [--epochs 3] [--threads N]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from tempfile import TemporaryDirectory

import numpy as np
import torch

from common import demo_features, matmul_flops, table
from vawgan_tts.data.frames import FrameBatches, frame_store, load_frames, normalize
from vawgan_tts.tasks.vawgan import VAWGANConfig, VAWGANTask
from vawgan_tts.trainer import StepContext, Trainer, TrainerConfig, seed_everything

STAGES = ("vae", "adv")


def profile_step(task: VAWGANTask, stage: str, batch: int):
    """One training step (learning rate 0) under the PyTorch profiler, with FLOPs and input shapes."""
    from torch.profiler import ProfilerActivity, profile

    ctx = StepContext({k: torch.optim.SGD(m.parameters(), lr=0.0) for k, m in task.modules().items()}, 0.0)
    x = torch.randn(batch, 39)
    with profile(activities=[ProfilerActivity.CPU], with_flops=True, record_shapes=True) as prof:
        task.train_step(x, stage, ctx)
    return prof


def step_flops(prof) -> float:
    """Matmul FLOPs of the profiled step (the profiler's count of mm/addmm, all passes)."""
    return float(sum(e.flops for e in prof.key_averages()))


def step_gemms(prof) -> list[tuple[str, list[list[int]]]]:
    """The profiled step's matrix products: (op, input shapes) in the order they ran."""
    return [(e.name, e.input_shapes) for e in prof.events() if e.name in ("aten::mm", "aten::addmm")]


def gemm_rate(gemms: list[tuple[str, list[list[int]]]], seconds: float = 2.0) -> float:
    """Steps/s when a step is nothing but its matrix products (fresh operands, same shapes)."""
    calls = []
    for name, shapes in gemms:
        args = [torch.randn(*shape) for shape in shapes if shape]
        calls.append((torch.addmm if name == "aten::addmm" else torch.mm, args))
    for fn, args in calls:
        fn(*args)
    reps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for fn, args in calls:
            fn(*args)
        reps += 1
    return reps / (time.perf_counter() - start)


def plain_adam(optimizers: dict[str, torch.optim.Optimizer]) -> dict[str, torch.optim.Optimizer]:
    """The same optimizers as torch.optim.Adam with PyTorch's defaults (no fused kernel)."""
    return {k: torch.optim.Adam(o.param_groups[0]["params"], **{**o.defaults, "fused": None})
            for k, o in optimizers.items()}


def config(epochs: int) -> VAWGANConfig:
    return VAWGANConfig(vae_epochs=epochs, critic_epochs=1, adv_epochs=epochs)


def reference(frames: np.ndarray, batch: int, epochs: int) -> dict[str, float]:
    """frames/s per stage of a plain loop (first epoch of each stage not timed)."""
    seed_everything(0)
    task = VAWGANTask(config(epochs))
    ctx = StepContext(plain_adam(task.make_optimizers()), 0.0)
    rates = {}
    for stage in ("vae", "critic", "adv"):
        n_epochs = 1 if stage == "critic" else epochs
        start = None
        for epoch in range(n_epochs):
            if epoch == 1:
                start = time.perf_counter()
            perm = np.random.permutation(len(frames))
            losses = []
            for i in range(0, len(frames), batch):
                x = torch.tensor(frames[perm[i:i + batch]])
                ctx.epoch_progress = epoch + i / len(frames)
                out = task.train_step(x, stage, ctx)
                losses.append({k: v.item() for k, v in out.items()})
        if stage in STAGES:
            rates[stage] = len(frames) * (n_epochs - 1) / (time.perf_counter() - start)
    return rates


class EpochClock:
    """Epoch hook: the time each epoch of each stage ended."""

    def __init__(self):
        self.marks: dict[str, list[float]] = {}

    def __call__(self, trainer, stage, epoch):
        self.marks.setdefault(stage, []).append(time.perf_counter())


def trainer_rates(store, batch: int, epochs: int, out: Path, variant: str) -> dict[str, float]:
    seed_everything(0)
    task = VAWGANTask(config(epochs), {})
    if variant == "unfused":
        base = task.make_optimizers
        task.make_optimizers = lambda: plain_adam(base())
    if variant == "compile":
        for module in task.modules().values():
            for child in module.children():
                child.compile()
    batches = FrameBatches(store.open(), store.stats, batch_size=batch)
    clock = EpochClock()
    trainer = Trainer(task, batches, out, TrainerConfig(batch_size=batch, checkpoint_every=0), progress=False,
                      hooks=[clock])
    trainer.fit()
    n = store.n_frames
    return {s: n * (len(clock.marks[s]) - 1) / (clock.marks[s][-1] - clock.marks[s][0]) for s in STAGES}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="60 utterances, 2 epochs per stage")
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--epochs", type=int, default=3, help="epochs per stage; the first is not timed")
    ap.add_argument("--threads", type=int, default=0, help="torch threads [default: torch's choice]")
    ap.add_argument("--variants", default="reference,trainer,unfused,compile,gemms")
    ap.add_argument("--repeats", type=int, default=3, help="round-robin rounds; the median of each is reported")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    feats, ids = demo_features()
    epochs = 2 if args.quick else args.epochs
    if args.quick:
        ids = ids[:60]
        args.repeats = min(args.repeats, 2)
    peak = matmul_flops()
    with TemporaryDirectory() as tmp:
        store = frame_store(feats, ids, VAWGANConfig().silence_threshold_db)
        frames = normalize(load_frames(feats, ids, VAWGANConfig().silence_threshold_db), store.stats)
        task = VAWGANTask(VAWGANConfig())
        profiled = {s: profile_step(task, s, args.batch_size) for s in STAGES}
        flops = {s: step_flops(p) for s, p in profiled.items()}
        gemms = {s: step_gemms(p) for s, p in profiled.items()}
        print(f"{len(ids)} utterances, {store.n_frames:,} frames, batch {args.batch_size}, "
              f"{torch.get_num_threads()} threads; matmul peak {peak / 1e9:.1f} GFLOP/s; step FLOPs "
              + ", ".join(f"{s} {flops[s] / 1e6:.1f} M" for s in STAGES), flush=True)
        # Round-robin repeats, median of each: interleaving exposes every variant to the same
        # disturbances, and the median ignores a spell that was unusually slow or fast.
        variants = args.variants.split(",")
        runs: dict[str, dict[str, list[float]]] = {v: {} for v in variants}
        for rep in range(args.repeats):
            for n, variant in enumerate(variants):
                if variant == "reference":
                    rates = reference(frames, args.batch_size, epochs)
                elif variant == "gemms":
                    rates = {s: args.batch_size * gemm_rate(gemms[s]) for s in STAGES}
                else:
                    rates = trainer_rates(store, args.batch_size, epochs, Path(tmp) / f"{rep}-{n}", variant)
                for s_, r in rates.items():
                    runs[variant].setdefault(s_, []).append(r)
                print(f"  round {rep + 1} {variant}: " + ", ".join(f"{s} {r:,.0f} frames/s" for s, r in rates.items()),
                      flush=True)
    medians = {v: {s: float(np.median(r)) for s, r in stages.items()} for v, stages in runs.items()}
    ref = medians.get("reference")
    rows = []
    for variant, rates in medians.items():
        for s in STAGES:
            share = flops[s] * rates[s] / args.batch_size / peak
            rows.append([variant, s, f"{rates[s]:,.0f}", f"{rates[s] / ref[s]:.2f}x" if ref else "-", f"{100 * share:.1f} %"])
    print(table(rows, ["variant", "stage", "frames/s", "vs reference", "matmul peak share"]))


if __name__ == "__main__":
    main()
