"""The adversarial stage of a trained pair post-filter again, from its VAE and critic stages, with
changed [postfilter] settings: how stage 8's adversarial settings were chosen on the dev prompts
(conf/postfilter_conv_wgan.toml lists what was tried). Then score it on the dev prompts with
`vawgan enhance … --ids lists/dev.ids` and `vawgan eval`.

Usage: python local/adv_again.py EXP OUT ADV_EPOCHS [--keep-epochs] KEY=VALUE [...]
  e.g. python local/adv_again.py exp/slt/pfconv/conv-s0 exp/slt/pfconv/dev_tries/nc5w05 4 \
         adv_balance=fixed adv_weight=0.05 n_critic=5
--keep-epochs keeps the state after every adversarial epoch as OUT/epochs/adv-e<NN>.pt (NN from 01; the
last is the run's adv.pt), from which local/epoch_models.py makes post-filter folders.
A list is given comma-separated (spread_knots=0.5,1.0,2.0); an empty value is the empty list
(critic_scales= leaves the critic its other views only).

The optimizers continue from the critic stage's checkpoint, so learning rates (kept in the
optimizers' state) are the experiment's own, except `adv_lr`'s optimizer, which starts at the
adversarial stage. A part the experiment lacks (`spread_taps`'s filter), or has in another shape (a
filter of another tap count, or the knot form in place of the taps), starts as initialized (the
identity), without optimizer state. A setting that changes the critic's shape or view
(`critic_difference`, `critic_channels`, `critic_scales`, `critic_modulation`, `critic_bands_per_octave`,
`critic_speech_only`), or what it is trained on (`crop_per_utterance`), gives a new critic: its stage runs
again from the VAE stage, and the experiment's own critic and adversarial stages are not read: it may be
trained with `vawgan train-postfilter … --vae-only` (its VAE stage alone, the same to the bit; then give
critic_epochs=N here, the experiment's being 0). OUT is a post-filter folder `vawgan enhance` reads. It
trains on one thread, or on OMP_NUM_THREADS; OUT/train.time records the seconds its stages took.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from pathlib import Path

import torch

from vawgan_tts.alignment import load_alignments
from vawgan_tts.checkpoint import load_checkpoint, save_checkpoint
from vawgan_tts.config import from_dict, to_dict
from vawgan_tts.errors import VawganError
from vawgan_tts.features import FeatureStats
from vawgan_tts.runs.folder import ALIGNMENT, CONFIG, NORMALIZATION, POSTFILTER_STATS, fit
from vawgan_tts.runs.vawgan import plot_experiment_curves
from vawgan_tts.runs.vawgan_postfilter import _batches_and_dev, load_pair_postfilter_config, postfilter_task
from vawgan_tts.tasks.vawgan_postfilter import VAWGANPostfilterConfig, VAWGANPostfilterTask
from vawgan_tts.trainer import Trainer, seed_everything

CRITIC_SHAPE = ("critic_difference", "critic_channels", "critic_scales", "critic_modulation", "critic_bands_per_octave",
                "critic_speech_only", "crop_per_utterance")


EPOCHS = "epochs"  # OUT/epochs/adv-e<NN>.pt with --keep-epochs


def keep_epoch(trainer: Trainer, stage: str, epoch: int) -> None:
    """An epoch hook: the state after each adversarial epoch, as OUT/epochs/adv-e<NN>.pt (NN 1-based)."""
    if stage == "adv":
        (trainer.out_dir / EPOCHS).mkdir(exist_ok=True)
        trainer.save(trainer.out_dir / EPOCHS / f"adv-e{epoch + 1:02d}.pt")


def main(exp: Path, out: Path, epochs: int, settings: list[str], keep_epochs: bool = False) -> None:
    threads = os.environ.get("OMP_NUM_THREADS", "1")  # one unless asked: runs go side by side, one per core
    if not threads.isdigit() or int(threads) < 1:
        sys.exit(f"adv_again.py: OMP_NUM_THREADS={threads!r}: not a number of threads")
    threads = int(threads)
    config = load_pair_postfilter_config(exp / CONFIG)
    changed = to_dict(config.postfilter) | {"adv_epochs": epochs}
    given = []  # the keys set on the command line
    for item in settings:
        key, equals, value = item.partition("=")
        given.append(key)
        if key not in changed or not equals:
            sys.exit(f"adv_again.py: {item!r}: not KEY=VALUE of a [postfilter] setting of {exp / CONFIG}")
        old = changed[key]
        try:
            changed[key] = ([float(v) if any(c in v for c in ".eE") else int(v) for v in value.split(",") if v]
                            if isinstance(old, list)
                            else value == "true" if isinstance(old, bool) else type(old)(value))
        except ValueError:
            sys.exit(f"adv_again.py: {item!r}: {value!r} is not a value of {key} (like {old!r})")
    cfg = from_dict(VAWGANPostfilterConfig, changed, "the command line")
    new_critic = any(key in CRITIC_SHAPE for key in given)
    if new_critic and cfg.critic_epochs == 0 and "critic_epochs" not in given:
        sys.exit(f"adv_again.py: {exp / CONFIG} trained its VAE stage alone (critic_epochs = 0): give critic_epochs=N "
                 "for the new critic's stage")
    if out.resolve() == exp.resolve() or out.resolve() in exp.resolve().parents:
        sys.exit(f"adv_again.py: {out} would be emptied first, and it holds {exp}: give another OUT")
    copied = ("vae.pt",) if new_critic else ("vae.pt", "critic.pt")
    needed = [exp / "checkpoints" / n for n in copied] + [exp / n for n in (NORMALIZATION, ALIGNMENT, POSTFILTER_STATS)]
    for path in needed:  # before OUT is emptied; an experiment still training writes its statistics last
        if not path.is_file():
            sys.exit(f"adv_again.py: {path}: missing: {exp} is not a finished pair post-filter experiment")
    if out.exists():
        shutil.rmtree(out)
    (out / "checkpoints").mkdir(parents=True)
    for name in copied:
        shutil.copyfile(exp / "checkpoints" / name, out / "checkpoints" / name)
    for name in (NORMALIZATION, ALIGNMENT, POSTFILTER_STATS):
        shutil.copyfile(exp / name, out / name)
    data = config.data
    aligned = load_alignments(exp / ALIGNMENT)
    torch.set_num_threads(threads)
    seed_everything(config.train.seed)
    batches, _, _ = _batches_and_dev(cfg, Path(data.system), Path(data.natural), aligned,
                                     [u for u in data.ids if u in aligned], (), FeatureStats.load(exp / NORMALIZATION),
                                     config.train.batch_size)
    task = postfilter_task(cfg, load_checkpoint(exp / "checkpoints/vae.pt", VAWGANPostfilterTask.name)["extra"])
    modules = task.modules()
    for name in copied:  # each copied checkpoint fitted to this config
        path = out / "checkpoints" / name
        ckpt = load_checkpoint(path, VAWGANPostfilterTask.name)
        if new_critic:  # this config's critic, as initialized, and no optimizer state for it
            ckpt["model"]["critic"] = task.critic.state_dict()
            ckpt["optim"].pop("critic", None)
        ckpt["config"] = task.config_dict()  # what the weights now fit: `vawgan enhance --method vae|gv-pf|ms-pf` reads it
        for part, module in modules.items():  # a part the experiment lacks, or has in another shape
            state = module.state_dict()  # (a spread filter, or one of another tap count): as initialized
            old = ckpt["model"].get(part)
            if old is None or any(old.get(k) is None or old[k].shape != v.shape for k, v in state.items()):
                ckpt["model"][part] = state
                ckpt["optim"].pop(part, None)
        save_checkpoint(path, ckpt)
    tables = {"train": config.train, "postfilter": cfg, "data": data}
    stages = ["critic", "adv"] if new_critic else ["adv"]
    start = time.monotonic()
    hooks = [keep_epoch] if keep_epochs else []
    fit(Trainer(task, batches, out, config.train, progress=False, hooks=hooks), out, tables, stages, overwrite=True,
        curves=lambda log: plot_experiment_curves(out, log))
    (out / "train.time").write_text(f"train {time.monotonic() - start:.0f} s ({'+'.join(stages)}, {threads} threads)\n")
    print(f"{out}: the adversarial stage again ({', '.join(settings)}, {epochs} epochs)")


if __name__ == "__main__":
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    if not sys.argv[3].isdigit():
        sys.exit(f"adv_again.py: ADV_EPOCHS {sys.argv[3]!r}: not a number of epochs")
    rest = sys.argv[4:]
    try:
        main(Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3]), [a for a in rest if a != "--keep-epochs"],
             keep_epochs="--keep-epochs" in rest)
    except VawganError as e:  # a setting the config refuses, an EXP that is not a post-filter: one line
        sys.exit(f"adv_again.py: {e}")
