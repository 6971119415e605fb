"""Post-filter folders from the adversarial epochs that `local/adv_again.py --keep-epochs` kept: one per
epoch asked for, and one per span of epochs whose generator is averaged (Polyak averaging of the VAE and
the spread filter over those epochs' parameters, as in Yazıcı et al. 2019, "The unusual effectiveness of
averaging in GAN training"; the critic, which enhancement never runs, is the span's last). Each folder is
what `vawgan enhance -m` reads: the run's configuration, statistics and VAE and critic stages, with the
epoch (or the average) as its adversarial stage.

Usage: python local/epoch_models.py RUN OUT [NN ...] [A-B ...]
  e.g. python local/epoch_models.py exp/rms/pm/mirror-nolow-l05-s0 exp/rms/pm/epochs-s0 12 24 13-24
makes OUT/e12/, OUT/e24/ and OUT/avg13-24/ (NN and A, B count epochs from 1, as RUN/epochs/adv-e<NN>.pt do).
A folder of OUT made so before (its epoch_models.json says which run and epochs) is replaced; one that holds
anything else, or RUN, is refused before anything is written.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import torch

from vawgan_tts.checkpoint import load_checkpoint, save_checkpoint
from vawgan_tts.runs.folder import ALIGNMENT, CONFIG, NORMALIZATION, POSTFILTER_STATS
from vawgan_tts.tasks.vawgan_postfilter import VAWGANPostfilterTask

KEPT = "epochs"  # adv_again.py's folder of kept epochs
RUN_FILES = (CONFIG, NORMALIZATION, ALIGNMENT, POSTFILTER_STATS, "checkpoints/vae.pt", "checkpoints/critic.pt")
MADE = "epoch_models.json"  # in each folder made here: the run and the epochs it holds
NOT_AVERAGED = ("critic",)  # the parts enhancement does not run


def averaged(states: list[dict]) -> dict:
    """The last of ``states`` (checkpoints of one run) with every floating-point parameter of its generator's
    parts replaced by the mean over ``states``; integer buffers and the critic stay the last's."""
    out = states[-1]
    for part, tensors in out["model"].items():
        if part in NOT_AVERAGED:
            continue
        for name, value in tensors.items():
            if torch.is_tensor(value) and value.is_floating_point():
                tensors[name] = torch.stack([s["model"][part][name] for s in states]).mean(0)
    return out


def folder(run: Path, out: Path, epochs: list[int], state: dict) -> None:
    """``out`` as a post-filter folder of ``run`` with ``state`` (of ``epochs``) as its adversarial stage (written
    last), marked as made here first (so that a folder cut short is replaced by the next call, like a whole one)."""
    if out.exists():
        shutil.rmtree(out)
    (out / "checkpoints").mkdir(parents=True)
    (out / MADE).write_text(json.dumps({"run": str(run.resolve()), "epochs": epochs}) + "\n")
    for name in RUN_FILES:
        shutil.copyfile(run / name, out / name)
    save_checkpoint(out / "checkpoints/last.pt", state)
    save_checkpoint(out / "checkpoints/adv.pt", state)


def parse(items: list[str], kept: dict[int, Path]) -> list[tuple[str, list[int]]]:
    """Each item, ``NN`` or ``A-B``, as (folder name, the epochs it takes); refused in one line where an
    item is neither or names an epoch not kept."""
    asked = []
    for item in items:
        a, dash, b = item.partition("-")
        if not (a.isdigit() and (not dash or b.isdigit())) or (dash and int(b) < int(a)):
            sys.exit(f"epoch_models.py: {item!r}: give an epoch NN or a span A-B (A <= B)")
        epochs = list(range(int(a), int(b) + 1)) if dash else [int(a)]
        missing = [e for e in epochs if e not in kept]
        if missing:
            sys.exit(f"epoch_models.py: {item!r}: epoch {missing[0]} was not kept (kept: {min(kept)}–{max(kept)})")
        asked.append((f"avg{a}-{b}" if dash else f"e{int(a):02d}", epochs))
    return asked


def main(run: Path, out: Path, items: list[str]) -> None:
    kept = {int(p.stem.split("-e")[1]): p for p in sorted((run / KEPT).glob("adv-e*.pt"))}
    if not kept:
        sys.exit(f"epoch_models.py: {run / KEPT}: no kept epochs (train with local/adv_again.py --keep-epochs)")
    for name in RUN_FILES:
        if not (run / name).is_file():
            sys.exit(f"epoch_models.py: {run / name}: missing: {run} is not a finished adv_again.py run")
    asked = parse(items, kept)
    for name, _ in asked:  # before anything is written: a folder made here before is replaced, nothing else
        target = (out / name).resolve()
        if target == run.resolve() or target in run.resolve().parents:
            sys.exit(f"epoch_models.py: {out / name} would be replaced, and it holds {run}: give another OUT")
        if target.exists() and not (target / MADE).is_file():
            sys.exit(f"epoch_models.py: {out / name} holds something this script did not make: give another OUT")
    for name, epochs in asked:
        states = [load_checkpoint(kept[e], VAWGANPostfilterTask.name) for e in epochs]
        folder(run, out / name, epochs, averaged(states))
        print(f"{out / name}: epoch{'s' if len(epochs) > 1 else ''} {epochs[0]}"
              + (f"–{epochs[-1]} averaged" if len(epochs) > 1 else ""))


if __name__ == "__main__":
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    main(Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3:])
