"""`gen`: generative models on the same trainer core as the speech path (image, toy, seq2seq)."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from vawgan_tts.cli.common import (
    BatchSizeOption,
    ConfigOption,
    DeviceOption,
    DryRunOption,
    EpochsOption,
    LrOption,
    OutputOption,
    OverwriteOption,
    ResumeOption,
    SeedOption,
    CriticKind,
    choices,
    handle_errors,
    make_app,
    out,
    print_dry_run,
    progress_bar,
)
from vawgan_tts.choices import (IMAGE_ARCHS, IMAGE_DATASETS, LR_DECAYS, SEQ2SEQ_TASKS, SOURCE_TOKENIZERS, SPLITS,
                                TARGET_TOKENIZERS)

app = make_app("Image VAE/GAN/WGAN, the 5×5 Gaussian-mixture WGAN study and seq2seq, on vawgan-tts's trainer core.")
image_app = typer.Typer(help="Image VAE, GAN and WGAN (Fashion-MNIST, MNIST, 8×8 digits).", no_args_is_help=True,
                        rich_markup_mode=None)
app.add_typer(image_app, name="image")
seq_app = typer.Typer(help="Attention GRU seq2seq: grapheme-to-phoneme (CMUdict) or sentence pairs.", no_args_is_help=True,
                      rich_markup_mode=None)
app.add_typer(seq_app, name="seq2seq")

Dataset, Arch, LrDecay = choices("Dataset", IMAGE_DATASETS), choices("Arch", IMAGE_ARCHS), choices("LrDecay", LR_DECAYS)

DataOption = Annotated[Optional[Dataset], typer.Option("--data", help="Image set [default: fashion-mnist].")]
DataDirOption = Annotated[Optional[Path], typer.Option("--data-dir", help="Folder of the idx files (MNIST, or Fashion-MNIST elsewhere).")]
LimitOption = Annotated[Optional[int], typer.Option("--limit", min=1, help="Train on the first N images only.")]


def _value(e: Enum | None):
    return None if e is None else e.value


def _finish(trainer, output: Path, dry_run: bool, what: str) -> None:
    if dry_run:
        print_dry_run(trainer)
    elif trainer.is_main:  # under torchrun, one report
        out.print(f"{what} → {output} (step {trainer.position.step})")


def _train_overrides(epochs_key: str, epochs, batch_size, lr_key: str, lr, seed, device) -> dict:
    return {epochs_key: epochs, lr_key: lr, "train__batch_size": batch_size, "train__seed": seed,
            "train__device": device}


@image_app.command("vae")
@handle_errors
def image_vae(
    output: OutputOption,
    data: DataOption = None,
    data_dir: DataDirOption = None,
    arch: Annotated[Optional[Arch], typer.Option("--arch", help="mlp (784-400-latent) or conv [default: mlp].")] = None,
    latent: Annotated[Optional[int], typer.Option("--latent", min=1, help="Latent dimensions (2 draws a latent map) [default: 20].")] = None,
    limit: LimitOption = None,
    config: ConfigOption = None,
    epochs: EpochsOption = None,
    batch_size: BatchSizeOption = None,
    lr: LrOption = None,
    seed: SeedOption = None,
    device: DeviceOption = None,
    resume: ResumeOption = False,
    overwrite: OverwriteOption = False,
    dry_run: DryRunOption = False,
):
    """Train an image VAE (BCE + KL); grids, test loss and (latent 2) the latent map per epoch."""
    from vawgan_tts.runs.folder import run_config
    from vawgan_tts.runs.image import ImageVAERun, train_image_vae

    cfg = run_config(ImageVAERun, output, config, resume, **_image_data(data, data_dir, limit),
                     image_vae__arch=_value(arch), image_vae__latent=latent,
                     **_train_overrides("image_vae__epochs", epochs, batch_size, "image_vae__lr", lr, seed, device))
    trainer = train_image_vae(output, cfg, resume=resume, dry_run=dry_run, overwrite=overwrite)
    _finish(trainer, output, dry_run, f"image VAE ({cfg.image_vae.arch}, latent {cfg.image_vae.latent})")


def _image_data(data, data_dir, limit) -> dict:
    return {"data__dataset": _value(data), "data__data_dir": data_dir and str(data_dir), "data__limit": limit}


def _image_gan(loss: str, output: Path, *, config, resume: bool, overwrite: bool, dry_run: bool, overrides: dict):
    """``gen image gan`` and ``wgan``: the same run with another loss; ``overrides`` as ``section__key``."""
    from vawgan_tts.runs.folder import run_config
    from vawgan_tts.runs.image import ImageGANRun, train_image_gan

    cfg = run_config(ImageGANRun, output, config, resume, image_gan__loss=loss, **overrides)
    trainer = train_image_gan(output, cfg, resume=resume, dry_run=dry_run, overwrite=overwrite)
    what = "GAN" if loss == "gan" else f"WGAN ({cfg.image_gan.critic})"
    _finish(trainer, output, dry_run, what)


@image_app.command("gan")
@handle_errors
def image_gan(
    output: OutputOption,
    data: DataOption = None,
    data_dir: DataDirOption = None,
    limit: LimitOption = None,
    config: ConfigOption = None,
    epochs: EpochsOption = None,
    batch_size: BatchSizeOption = None,
    lr: LrOption = None,
    seed: SeedOption = None,
    device: DeviceOption = None,
    resume: ResumeOption = False,
    overwrite: OverwriteOption = False,
    dry_run: DryRunOption = False,
):
    """Train an MLP GAN (z 100; G 128-256-512-1024; D 512-256-1); a 5×5 sample grid per epoch."""
    _image_gan("gan", output, config=config, resume=resume, overwrite=overwrite, dry_run=dry_run,
               overrides=_image_data(data, data_dir, limit)
               | _train_overrides("image_gan__epochs", epochs, batch_size, "image_gan__lr", lr, seed, device))


@image_app.command("wgan")
@handle_errors
def image_wgan(
    output: OutputOption,
    critic: Annotated[Optional[CriticKind], typer.Option("--critic", help="gp (gradient penalty) or clip [default: gp].")] = None,
    n_critic: Annotated[Optional[int], typer.Option("--n-critic", min=1, help="Critic steps per generator step [default: 5].")] = None,
    data: DataOption = None,
    data_dir: DataDirOption = None,
    limit: LimitOption = None,
    config: ConfigOption = None,
    epochs: EpochsOption = None,
    batch_size: BatchSizeOption = None,
    lr: LrOption = None,
    seed: SeedOption = None,
    device: DeviceOption = None,
    resume: ResumeOption = False,
    overwrite: OverwriteOption = False,
    dry_run: DryRunOption = False,
):
    """Train the same networks as a WGAN (critic: weight clipping or gradient penalty)."""
    _image_gan("wgan", output, config=config, resume=resume, overwrite=overwrite, dry_run=dry_run,
               overrides=_image_data(data, data_dir, limit) | {"image_gan__critic": _value(critic), "image_gan__n_critic": n_critic}
               | _train_overrides("image_gan__epochs", epochs, batch_size, "image_gan__lr", lr, seed, device))


@app.command()
@handle_errors
def toy(
    output: OutputOption,
    critic: Annotated[Optional[CriticKind], typer.Option("--critic", help="gp or clip [default: gp].")] = None,
    clip: Annotated[Optional[float], typer.Option("--clip", help="Weight-clipping bound [default: 0.1].")] = None,
    n_critic: Annotated[Optional[int], typer.Option("--n-critic", min=1, help="Critic steps per generator step [default: 5].")] = None,
    snapshot_every: Annotated[Optional[int], typer.Option("--snapshot-every", min=1, help="Epochs between snapshots [default: 10].")] = None,
    lr_decay: Annotated[Optional[LrDecay], typer.Option("--lr-decay", help="linear (to 0 at the last epoch) or none [default: linear].")] = None,
    config: ConfigOption = None,
    epochs: EpochsOption = None,
    batch_size: BatchSizeOption = None,
    lr: LrOption = None,
    seed: SeedOption = None,
    device: DeviceOption = None,
    resume: ResumeOption = False,
    overwrite: OverwriteOption = False,
    dry_run: DryRunOption = False,
):
    """WGAN on the 5×5 mixture of Gaussians: snapshots with the critic's contour, modes captured."""
    from vawgan_tts.runs.folder import run_config
    from vawgan_tts.runs.toy_wgan import ToyRun, train_toy

    cfg = run_config(ToyRun, output, config, resume, toy__critic=_value(critic), toy__clip=clip,
                     toy__n_critic=n_critic, toy__lr_decay=_value(lr_decay),
                     data__snapshot_every=snapshot_every,
                     **_train_overrides("toy__epochs", epochs, batch_size, "toy__lr", lr, seed, device))
    trainer = train_toy(output, cfg, resume=resume, dry_run=dry_run, overwrite=overwrite)
    if not dry_run and trainer.is_main:
        import json

        final = json.loads((output / "metrics.json").read_text()).get("final", {})
        if final:
            out.print(f"modes captured {final['modes_captured']}/25, high-quality samples "
                      f"{100 * final['high_quality_ratio']:.1f} %")
    _finish(trainer, output, dry_run, f"toy WGAN ({cfg.toy.critic})")


Seq2SeqTaskName, SrcTokens, TgtTokens, Split = (choices(name, values) for name, values in (
    ("Seq2SeqTaskName", SEQ2SEQ_TASKS), ("SrcTokens", SOURCE_TOKENIZERS), ("TgtTokens", TARGET_TOKENIZERS), ("Split", SPLITS)))
BeamOption = Annotated[int, typer.Option("--beam", min=1, help="Beam width; 1 is greedy decoding.")]


@seq_app.command("train")
@handle_errors
def seq2seq_train(
    output: OutputOption,
    task: Annotated[Optional[Seq2SeqTaskName], typer.Option("--task", help="g2p (CMUdict) or pairs (a TSV) [default: g2p].")] = None,
    pairs: Annotated[Optional[Path], typer.Option("--pairs", help="TSV of source<TAB>target lines (task pairs).")] = None,
    src_tokens: Annotated[Optional[SrcTokens], typer.Option("--src-tokens", help="pairs: char, word or ja (fugashi) [default: char].")] = None,
    tgt_tokens: Annotated[Optional[TgtTokens], typer.Option("--tgt-tokens", help="pairs: char or word [default: word].")] = None,
    limit: Annotated[Optional[int], typer.Option("--limit", min=1, help="Train on N pairs only.")] = None,
    max_minutes: Annotated[Optional[float], typer.Option("--max-minutes", help="Stop after the epoch that passes this much training time.")] = None,
    config: ConfigOption = None,
    epochs: EpochsOption = None,
    batch_size: BatchSizeOption = None,
    lr: LrOption = None,
    seed: SeedOption = None,
    device: DeviceOption = None,
    resume: ResumeOption = False,
    overwrite: OverwriteOption = False,
    dry_run: DryRunOption = False,
):
    """Train an attention GRU encoder-decoder; early stopping on the dev loss (best.pt)."""
    from vawgan_tts.runs.folder import run_config
    from vawgan_tts.runs.seq2seq import Seq2SeqRun, train_seq2seq

    cfg = run_config(Seq2SeqRun, output, config, resume, data__task=_value(task), data__pairs=pairs and str(pairs),
                     data__src_tokens=_value(src_tokens), data__tgt_tokens=_value(tgt_tokens), data__limit=limit,
                     seq2seq__max_minutes=max_minutes,
                     **_train_overrides("seq2seq__epochs", epochs, batch_size, "seq2seq__lr", lr, seed, device))
    trainer = train_seq2seq(output, cfg, resume=resume, dry_run=dry_run, overwrite=overwrite)
    _finish(trainer, output, dry_run, f"seq2seq ({cfg.data.task})")


@seq_app.command("eval")
@handle_errors
def seq2seq_eval(
    model: Annotated[Path, typer.Option("--model", "-m", help="Experiment folder from `gen seq2seq train`.")],
    split: Annotated[Split, typer.Option("--split", help="Which of the run's splits.")] = Split["test"],
    beam: BeamOption = 1,
    limit: Annotated[int, typer.Option("--limit", min=0, help="Evaluate the first N sources only; 0: all.")] = 0,
    device: Annotated[str, typer.Option("--device", help="auto, cpu or cuda.")] = "auto",
):
    """PER/WER (g2p) or BLEU/chrF (pairs) on a split; EXP/eval.json and attention heat maps."""
    from rich.table import Table

    from vawgan_tts.runs.translate import evaluate_seq2seq

    with progress_bar("inputs") as progress:
        task = progress.add_task("decode", total=None)
        r = evaluate_seq2seq(model, split.value, beam=beam, limit=limit, device=device,
                             on_progress=lambda done, total: progress.update(task, completed=done, total=total))
    table = Table(title=f"{model.name}: {split.value} split, beam {beam} ({r['checkpoint']})")
    keys = [k for k in ("per", "wer", "words", "bleu", "chrf", "sentences", "decode_seconds") if k in r]
    for k in keys:
        table.add_column(k.upper() if k in ("per", "wer", "bleu") else k, justify="right")
    table.add_row(*[f"{r[k]:.2f}" if isinstance(r[k], float) else str(r[k]) for k in keys])
    out.print(table)
    ex = Table(title="examples")
    for col in ("source", "output", "reference(s)"):
        ex.add_column(col)
    for e in r["examples"][:8]:
        ex.add_row(e["source"], e["output"], " / ".join(e["references"]))
    out.print(ex)
    out.print(f"written {model / 'eval.json'} and {model / 'attention'}/")


@app.command()
@handle_errors
def translate(
    model: Annotated[Path, typer.Option("--model", "-m", help="Experiment folder from `gen seq2seq train`.")],
    text: Annotated[Optional[str], typer.Argument(help="Text to translate; without it, lines from stdin.")] = None,
    beam: BeamOption = 5,
    n_best: Annotated[int, typer.Option("--n-best", min=1, help="Outputs per input (≤ beam), best first, tab-separated.")] = 1,
    device: Annotated[str, typer.Option("--device", help="auto, cpu or cuda.")] = "auto",
):
    """Translate TEXT (G2P: pronounce each word) or every stdin line, one output line per input.

    Control characters are removed; characters the model never saw become <unk> with a warning; an
    empty or over-long input is an error for TEXT and an empty output line (with a warning) on stdin."""
    import sys

    from vawgan_tts.cli.common import console, fail
    from vawgan_tts.runs.translate import load_translator, translate_lines

    if n_best > beam:
        raise fail(f"--n-best {n_best} needs --beam ≥ {n_best}")
    tr = load_translator(model, device)
    lines = [text] if text is not None else (ln.rstrip("\n") for ln in sys.stdin)
    bad = 0
    for n, (outputs, unknown, error) in enumerate(translate_lines(tr, lines, beam=beam, n_best=n_best), 1):
        where = "input" if text is not None else f"line {n}"
        if unknown:
            console.print(f"[yellow]warning:[/] {where}: unknown to the model, read as <unk>: {' '.join(unknown)}",
                          highlight=False)
        if error:
            if text is not None:
                raise fail(error)
            console.print(f"[yellow]warning:[/] {where}: {error}", highlight=False)
            bad += 1
        print("\t".join(outputs), flush=True)
    if bad:
        raise typer.Exit(1)


if __name__ == "__main__":
    app()
