"""`vawgan`: extract features, train, synthesize, evaluate. A thin skin over vawgan_tts."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape
from rich.table import Table

from vawgan_tts.choices import (ALIGNMENTS, CHECKPOINTS, CONVERTER_POSTFILTERS, CRITICS, ENHANCE_METHODS, F0_METHODS,
                                INFERENCE_Z, LISTENING_TESTS, SYSTEMS, VAWGAN_STAGES)

from vawgan_tts.cli.common import (
    EXIT_PARTIAL,
    BatchSizeOption,
    ConfigOption,
    DeviceOption,
    DryRunOption,
    IdsOption,
    OverwriteOption,
    ResumeOption,
    SeedOption,
    add_version_option,
    default_jobs,
    handle_errors,
    out,
    print_dry_run,
    progress_bar,
    read_id_list,
)

app = typer.Typer(
    help="Speech-feature enhancement with VAWGAN: WORLD + mel-cepstral features, training, synthesis, evaluation.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # help text is plain: "[default: …]" and units in brackets must show
)
add_version_option(app)


# Choices come from the library's own lists, so the CLI cannot drift from what it accepts.
F0Method = Enum("F0Method", {m: m for m in F0_METHODS}, type=str)
StageName = Enum("StageName", {s: s for s in (*VAWGAN_STAGES, "all")}, type=str)
CriticKind = Enum("CriticKind", {c: c for c in CRITICS}, type=str)
SystemName = Enum("SystemName", {s: s for s in SYSTEMS}, type=str)
CheckpointChoice = Enum("CheckpointChoice", {c: c for c in CHECKPOINTS}, type=str)
AlignChoice = Enum("AlignChoice", {a: a for a in ALIGNMENTS}, type=str)
PostfilterChoice = Enum("PostfilterChoice", {p: p for p in CONVERTER_POSTFILTERS}, type=str)
EnhanceMethod = Enum("EnhanceMethod", {m: m for m in ENHANCE_METHODS}, type=str)
InferenceZ = Enum("InferenceZ", {z: z for z in INFERENCE_Z}, type=str)
TestKind = Enum("TestKind", {k: k for k in LISTENING_TESTS}, type=str)


@app.command()
@handle_errors
def extract(
    wavs: Annotated[list[Path], typer.Argument(help="WAV/FLAC files, folders (searched recursively) or list files.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Feature folder to write.")],
    jobs: Annotated[Optional[int], typer.Option("--jobs", "-j", min=1, help="Parallel processes [default: all cores].")] = None,
    config: ConfigOption = None,
    fs: Annotated[Optional[int], typer.Option("--fs", min=1000, help="Resample to this rate (Hz) [default: keep each file's].")] = None,
    f0_method: Annotated[Optional[F0Method], typer.Option("--f0-method", help="WORLD F0 estimator [default: harvest].")] = None,
    f0_floor: Annotated[Optional[float], typer.Option("--f0-floor", help="Lowest F0 searched (Hz) [default: 71].")] = None,
    f0_ceil: Annotated[Optional[float], typer.Option("--f0-ceil", help="Highest F0 searched (Hz) [default: 800].")] = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Re-extract files whose features are up to date.")] = False,
    dask_scheduler: Annotated[Optional[str], typer.Option("--dask-scheduler", metavar="tcp://HOST:PORT", help="Send the files to this Dask distributed cluster instead of local processes (needs the dask extra; workers must see the same paths).")] = None,
):
    """WORLD analysis + 39-dim mel-cepstra of every input, in parallel; resumable."""
    from vawgan_tts import extract as X
    from vawgan_tts.config import load_section
    from vawgan_tts.extract import ExtractConfig

    options = load_section(
        config, "extract", ExtractConfig,
        fs=fs, f0_method=f0_method and f0_method.value, f0_floor=f0_floor, f0_ceil=f0_ceil,
    )
    n_files = len(X.collect_inputs(wavs))
    with progress_bar("files") as progress:
        task = progress.add_task("extract", total=n_files)
        summary = X.run(
            wavs, output, options, jobs=jobs or default_jobs(), overwrite=overwrite,
            on_progress=lambda _: progress.advance(task), scheduler=dask_scheduler,
        )
    _print_extract_summary(summary)
    if summary.failed:
        raise typer.Exit(EXIT_PARTIAL)


def _print_extract_summary(summary) -> None:
    table = Table(title=f"extraction → {summary.out_dir}", show_header=True)
    for col in ("files", "extracted", "up to date", "failed", "frames", "audio", "wall", "files/s"):
        table.add_column(col, justify="right")
    hours = summary.frames * 0.005 / 3600
    n = len(summary.outcomes)
    table.add_row(
        str(n), str(summary.count("ok")), str(summary.count("skipped")),
        f"[red]{len(summary.failed)}[/]" if summary.failed else "0",
        f"{summary.frames:,}", f"{hours * 60:.1f} min", f"{summary.wall_seconds:.1f} s",
        f"{n / max(summary.wall_seconds, 1e-9):.1f}",
    )
    out.print(table)
    if summary.failed:
        fails = Table(title=f"failed ({len(summary.failed)}), also in {summary.out_dir / 'failed.tsv'}")
        fails.add_column("file", overflow="fold")
        fails.add_column("reason", overflow="fold")
        for o in summary.failed:
            fails.add_row(escape(o.source), escape(o.reason))
        out.print(fails)


@app.command("parallel-corpus")
@handle_errors
def parallel_corpus(
    transcripts: Annotated[Path, typer.Argument(help="Transcript file, one 'name: text' line per prompt (.gz or plain).")],
    recordings: Annotated[Path, typer.Option("--recordings", help="Folder of the natural recordings (searched recursively).")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Corpus folder to write.")],
    voice: Annotated[list[str], typer.Option("--voice", help="flite voice speaking every transcript; repeat [default: slt].")] = ["slt"],
    suffix: Annotated[str, typer.Option("--suffix", help="File ending of the recordings.")] = ".g722",
    format: Annotated[Optional[str], typer.Option("--format", help="FFmpeg container of the recordings when their files have none to probe [default: g722 for .g722].")] = None,
    flite: Annotated[Optional[Path], typer.Option("--flite", help="Folder where Debian's flite and libflite1 are unpacked [default: flite on PATH].")] = None,
    fs: Annotated[int, typer.Option("--fs", min=1000, help="The rate both sides must have (Hz).")] = 16000,
    jobs: Annotated[Optional[int], typer.Option("--jobs", "-j", min=1, help="Parallel processes [default: all cores].")] = None,
):
    """Natural recordings and flite's synthesis of the same transcripts as WAVs; parallel, resumable."""
    from vawgan_tts.corpus import FAILED, Flite, prepare_parallel_corpus

    fmt = format or ("g722" if suffix == ".g722" else None)
    engine = Flite.find(flite) if voice else None
    with progress_bar("wavs") as progress:
        task = progress.add_task("prepare", total=None)
        summary = prepare_parallel_corpus(transcripts, recordings, output, voices=voice, suffix=suffix, fmt=fmt,
                                          flite=engine, fs=fs, jobs=jobs or default_jobs(),
                                          on_progress=lambda done, total: progress.update(task, completed=done, total=total))
    n = len(summary.prepared[next(iter(summary.prepared))])
    out.print(f"{n} prompt{'s' * (n != 1)} on every side ({', '.join(summary.prepared)}), {summary.made} WAVs written → {output}", soft_wrap=True)
    for side, utt, reason in summary.failed:
        out.print(escape(f"  left out {side} {utt}: {reason}"), highlight=False, soft_wrap=True)
    if summary.failed:
        out.print(f"{len(summary.failed)} left out, also in {output / FAILED}")


@app.command()
@handle_errors
def train(
    feats: Annotated[Path, typer.Argument(help="Extraction folder (from `vawgan extract`).")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Experiment folder.")],
    stage: Annotated[StageName, typer.Option("--stage", help="vae, critic, adv, or all three in order.")] = StageName["all"],
    config: ConfigOption = None,
    ids: IdsOption = None,
    dev_ids: Annotated[Optional[Path], typer.Option("--dev-ids", help="File of dev utterance ids (left out of training; dev loss per epoch, best checkpoints) [default: every 10th training utterance, [data] dev_share].")] = None,
    vae_epochs: Annotated[Optional[int], typer.Option("--vae-epochs", min=0, help="Epochs of the VAE stage [default: the config's].")] = None,
    critic_epochs: Annotated[Optional[int], typer.Option("--critic-epochs", min=0, help="Epochs of the critic stage [default: the config's].")] = None,
    adv_epochs: Annotated[Optional[int], typer.Option("--adv-epochs", min=0, help="Epochs of the adversarial stage [default: the config's].")] = None,
    critic: Annotated[Optional[CriticKind], typer.Option("--critic", help="gp (WGAN-GP) or clip (weight clipping).")] = None,
    batch_size: BatchSizeOption = None,
    lr: Annotated[Optional[float], typer.Option("--lr", help="VAE learning rate.")] = None,
    seed: SeedOption = None,
    device: DeviceOption = None,
    resume: ResumeOption = False,
    overwrite: OverwriteOption = False,
    dry_run: DryRunOption = False,
):
    """Train VAWGAN: the VAE, then the critic, then both adversarially."""
    from vawgan_tts.runs.folder import run_config
    from vawgan_tts.runs.vawgan import ExperimentConfig, train_vawgan

    stages = None if stage.value == "all" else [stage.value]
    # Later stages and --resume start from the experiment's own configuration unless --config.
    cfg = run_config(
        ExperimentConfig, output, config, resume or stages not in (None, ["vae"]), ignore=("extract",),
        data__feats=str(feats), data__ids=read_id_list(ids), data__dev_ids=read_id_list(dev_ids),
        vawgan__vae_epochs=vae_epochs, vawgan__critic_epochs=critic_epochs, vawgan__adv_epochs=adv_epochs,
        vawgan__critic=critic and critic.value, vawgan__lr=lr,
        train__batch_size=batch_size, train__seed=seed, train__device=device,
    )
    trainer = train_vawgan(output, cfg, stages, resume=resume, dry_run=dry_run, overwrite=overwrite)
    if dry_run:
        print_dry_run(trainer)
    elif trainer.is_main:  # under torchrun, one report
        out.print(f"trained {', '.join(stages or ['vae', 'critic', 'adv'])} → {output} (step {trainer.position.step})")


@app.command()
@handle_errors
def synth(
    feats: Annotated[Path, typer.Argument(help="Feature folder (from `vawgan extract` or another system).")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Folder for .npz features and .wav files.")],
    model: Annotated[Optional[Path], typer.Option("--model", "-m", help="Experiment folder from `vawgan train`.")] = None,
    system: Annotated[SystemName, typer.Option("--system", help="What to apply before the vocoder.")] = SystemName["vawgan"],
    copy: Annotated[bool, typer.Option("--copy", help="Same as --system copy: analysis-synthesis, no model.")] = False,
    ids: IdsOption = None,
    checkpoint: Annotated[CheckpointChoice, typer.Option("--checkpoint", help="Each stage's last checkpoint, or its best dev epoch (training with a dev set).")] = CheckpointChoice["last"],
):
    """Enhance features (or copy them) and write WAVs through the WORLD vocoder."""
    from vawgan_tts.enhance import make_system

    name = "copy" if copy else system.value
    n = _synthesize(feats, output, ids, make_system(name, model, checkpoint.value), name)
    out.print(f"{name}: wrote {n} utterances (.npz + .wav) to {output}")


def _synthesize(feats: Path, output: Path, ids: Path | None, transform, label: str) -> int:
    """Every utterance of the id list (default: all in FEATS) through ``transform`` and the vocoder,
    with a progress bar; returns how many were written."""
    from vawgan_tts.feature_folder import feature_ids
    from vawgan_tts.synthesis import synthesize_corpus

    from vawgan_tts.errors import VawganError

    utts = read_id_list(ids) or feature_ids(feats)
    if not utts:
        raise VawganError(feats, "no .npz features to convert")
    with progress_bar("utts") as progress:
        task = progress.add_task(label, total=len(utts))
        synthesize_corpus(feats, output, utts, transform=transform, on_progress=lambda _: progress.advance(task))
    return len(utts)


@app.command("train-converter")
@handle_errors
def train_converter(
    source: Annotated[Path, typer.Argument(help="Feature folder of the source speaker (from `vawgan extract`).")],
    target: Annotated[Path, typer.Argument(help="Feature folder of the target speaker's recordings of the same prompts.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Experiment folder.")],
    ids: Annotated[Path, typer.Option("--ids", help="File of training prompt ids (one per line).")],
    dev_ids: Annotated[Optional[Path], typer.Option("--dev-ids", help="File of dev prompt ids: a dev loss per epoch, never trained on.")] = None,
    config: ConfigOption = None,
    epochs: Annotated[Optional[int], typer.Option("--epochs", min=0, help="Epochs per alignment round [default: the config's].")] = None,
    rounds: Annotated[Optional[int], typer.Option("--rounds", min=1, help="Rounds of alignment and training [default: the config's, 3].")] = None,
    batch_size: BatchSizeOption = None,
    seed: SeedOption = None,
    device: DeviceOption = None,
    jobs: Annotated[Optional[int], typer.Option("--jobs", "-j", min=1, help="Processes for the alignment [default: all cores].")] = None,
    overwrite: OverwriteOption = False,
    adversarial: Annotated[bool, typer.Option("--adversarial", help="Then train the adversarial converter (Saito et al. 2018) from the DNN, into EXP/adv-w<W>/; with an existing DNN in EXP, only that.")] = False,
    adv_weight: Annotated[Optional[float], typer.Option("--adv-weight", min=0.0, help="w_d, the adversarial term's weight relative to the MSE [default: the config's [adv], 1].")] = None,
):
    """Train a parallel DNN converter (MLPG output) with rounds of DTW alignment and training."""
    from vawgan_tts.runs.converter import CONFIG, load_converter_config, train_adversarial, train_converter as run

    cfg = load_converter_config(
        config, data__source=str(source), data__target=str(target), data__ids=read_id_list(ids),
        data__dev_ids=read_id_list(dev_ids), dnn__epochs=epochs, dnn__rounds=rounds, adv__adv_weight=adv_weight,
        train__batch_size=batch_size, train__seed=seed, train__device=device,
    )
    say = lambda line: out.print(escape(line), soft_wrap=True)  # noqa: E731
    if not (adversarial and (output / CONFIG).is_file() and not overwrite):
        run(output, cfg, jobs=jobs or default_jobs(), overwrite=overwrite, say=say)
        out.print(f"converter → {output}")
    if adversarial:
        train_adversarial(output, cfg.adv, cfg.train, say=say)


@app.command()
@handle_errors
def convert(
    feats: Annotated[Path, typer.Argument(help="Source speaker's feature folder.")],
    model: Annotated[Path, typer.Option("--model", "-m", help="Converter experiment folder (from `vawgan train-converter`).")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Folder for converted .npz features and .wav files.")],
    ids: IdsOption = None,
    postfilter: Annotated[Optional[PostfilterChoice], typer.Option("--postfilter", help="gv: scale each utterance's GV to the target's natural GV; ms: move the modulation spectrum from the converter's own to the target's [default: none].")] = None,
    adversarial: Annotated[Optional[float], typer.Option("--adversarial", min=0.0, metavar="W", help="Use the adversarial converter trained with w_d = W (EXP/adv-w<W>/) [default: the DNN].")] = None,
    to: Annotated[Optional[str], typer.Option("--to", help="VAWGAN-VC model (from `vawgan train-vc`): the target speaker.")] = None,
    source: Annotated[Optional[str], typer.Option("--from", help="VAWGAN-VC: the source speaker, for its log-F0 statistics [default: each utterance's own].")] = None,
    stage: Annotated[Optional[str], typer.Option("--stage", help="VAWGAN-VC: adv (VAWGAN-VC) or vae (VAE-VC, after the VAE stage) [default: adv].")] = None,
):
    """Convert a source speaker's features to the target speaker's and write WAVs through WORLD.

    With a parallel converter (`vawgan train-converter`) the target is the one it was trained for;
    with a VAWGAN-VC model (`vawgan train-vc`) any trained speaker: --to SPEAKER."""
    from vawgan_tts.errors import VawganError
    from vawgan_tts.runs.converter import Converter
    from vawgan_tts.runs.vawgan_vc import SpeakerConverter, is_vc

    if is_vc(model):
        if to is None:
            raise VawganError(model, "a VAWGAN-VC model converts to any of its speakers: give --to SPEAKER")
        if postfilter is not None or adversarial is not None:
            raise VawganError(model, "--postfilter and --adversarial are for a parallel converter")
        if stage not in (None, "adv", "vae"):
            raise VawganError(None, f"--stage {stage!r}: choose from adv, vae")
        transform = SpeakerConverter(model, to, source, stage=stage or "adv")
    else:
        if to is not None or source is not None or stage is not None:
            raise VawganError(model, "--to, --from and --stage are for a VAWGAN-VC model (`vawgan train-vc`)")
        transform = Converter(model, postfilter=postfilter and postfilter.value, adversarial=adversarial)
    n = _synthesize(feats, output, ids, transform, "convert")
    out.print(f"converted {n} utterances (.npz + .wav) → {output}")


@app.command("train-vc")
@handle_errors
def train_vc(
    speakers: Annotated[list[str], typer.Argument(help="NAME=FEATS of each speaker: a feature folder from `vawgan extract`.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Experiment folder.")],
    ids: Annotated[Path, typer.Option("--ids", help="Training prompt ids; dealt to the speakers in turn (non-parallel).")],
    dev_ids: Annotated[Optional[Path], typer.Option("--dev-ids", help="Dev prompt ids, dealt the same way.")] = None,
    config: ConfigOption = None,
    split: Annotated[Optional[str], typer.Option("--split", help="disjoint: each prompt to one speaker (non-parallel); shared: every prompt to all [default: disjoint].")] = None,
    stage: Annotated[StageName, typer.Option("--stage", help="Train one stage, or all in order.")] = StageName["all"],
    batch_size: BatchSizeOption = None,
    seed: SeedOption = None,
    device: DeviceOption = None,
    resume: ResumeOption = False,
    overwrite: OverwriteOption = False,
):
    """Train VAWGAN voice conversion (Hsu et al. 2017) on several speakers without parallel data."""
    from vawgan_tts.evaluation import parse_system
    from vawgan_tts.runs.vawgan_vc import load_vc_config, train_vawgan_vc

    pairs = [parse_system(s) for s in speakers]
    cfg = load_vc_config(config, [n for n, _ in pairs], data__feats=tuple(str(f) for _, f in pairs),
                         data__ids=read_id_list(ids), data__dev_ids=read_id_list(dev_ids), data__split=split,
                         train__batch_size=batch_size, train__seed=seed, train__device=device)
    train_vawgan_vc(output, cfg, stages=None if stage.value == "all" else [stage.value], resume=resume,
                    overwrite=overwrite)
    out.print(f"VAWGAN-VC ({', '.join(n for n, _ in pairs)}) → {output}")


@app.command("speaker-id")
@handle_errors
def speaker_id(
    speakers: Annotated[list[str], typer.Argument(help="NAME=FEATS of each speaker the classifier knows (feature folders).")],
    ids: Annotated[Path, typer.Option("--ids", help="Prompts to train the classifier on (every speaker's recordings of them).")],
    eval_ids: Annotated[Path, typer.Option("--eval-ids", help="Held-out prompts: each speaker's own recordings of them are identified (the classifier's confusion matrix), and every --score folder's.")],
    score: Annotated[Optional[list[str]], typer.Option("--score", help="NAME=DIR of converted features to identify; repeat.")] = None,
    expect: Annotated[Optional[list[str]], typer.Option("--expect", help="NAME=SPEAKER: the speaker a --score set should sound like; its share is reported.")] = None,
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Write the counts as JSON here too.")] = None,
    seed: SeedOption = None,
):
    """Train a speaker classifier on mel-cepstral frames; report which speaker each utterance sounds like."""
    import json

    from vawgan_tts.errors import VawganError
    from vawgan_tts.evaluation import parse_system
    from vawgan_tts.fileio import write_text_atomic
    from vawgan_tts.speaker_id import SpeakerClassifier

    known = dict(parse_system(s) for s in speakers)
    sets = dict(parse_system(s) for s in score or ())
    expected = {}
    for e in expect or ():
        name, sep, who = e.partition("=")
        if not sep or name not in sets or who not in known:
            raise VawganError(None, f"--expect {e!r}: NAME=SPEAKER with NAME one of --score ({', '.join(sets) or 'none'}) "
                                    f"and SPEAKER one of {', '.join(known)}")
        expected[name] = who
    clf = SpeakerClassifier(known, read_id_list(ids), seed=seed or 0)
    test = read_id_list(eval_ids)
    rows = {f"{n} (recordings)": (clf.tally(folder, test), n) for n, folder in known.items()}
    rows |= {n: (clf.tally(folder, test), expected.get(n)) for n, folder in sets.items()}
    table = Table(title=f"speaker identification, {len(test)} held-out prompts each "
                        f"(frame accuracy on its own validation frames {100 * clf.frame_accuracy:.1f} %)")
    table.add_column("utterances of")
    for n in clf.names:
        table.add_column(f"→ {escape(n)}", justify="right")
    table.add_column("to the expected", justify="right")
    result = {"speakers": clf.names, "frame_accuracy": clf.frame_accuracy, "utterances": len(test), "sets": {}}
    for label, (counts, target) in rows.items():
        share = counts[target] / len(test) if target else None
        table.add_row(escape(label), *(str(counts[n]) for n in clf.names),
                      f"{100 * share:.1f} % ({target})" if target else "")
        result["sets"][label] = {"counts": counts, "expected": target, "share": share}
    out.print(table)
    if output is not None:
        write_text_atomic(output, json.dumps(result, indent=2) + "\n")


@app.command("train-postfilter")
@handle_errors
def train_postfilter(
    system: Annotated[Path, typer.Argument(help="Feature folder of the system's output on the training (and dev) prompts.")],
    natural: Annotated[Path, typer.Argument(help="Feature folder of the natural recordings of the same prompts.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Experiment folder.")],
    ids: Annotated[Path, typer.Option("--ids", help="File of training prompt ids (one per line).")],
    dev_ids: Annotated[Optional[Path], typer.Option("--dev-ids", help="File of dev prompt ids: dev loss per epoch and best checkpoints, never trained on.")] = None,
    config: ConfigOption = None,
    adv_weight: Annotated[Optional[float], typer.Option("--adv-weight", min=0.0, help="Weight of the adversarial term in the decoder's loss [default: the config's [postfilter]].")] = None,
    sweep: Annotated[Optional[str], typer.Option("--sweep", metavar="W1,W2,…", help="Then train the critic and adversarial stages again from the same VAE at each weight, into EXP/adv-w<W>/ (with an existing EXP, only that).")] = None,
    batch_size: BatchSizeOption = None,
    seed: SeedOption = None,
    device: DeviceOption = None,
    jobs: Annotated[Optional[int], typer.Option("--jobs", "-j", min=1, help="Processes for the alignment [default: all cores].")] = None,
    overwrite: OverwriteOption = False,
):
    """Train a VAWGAN post-filter on (system output, natural) pairs of the same prompts, aligned by DTW."""
    from vawgan_tts.runs.pair_postfilter import CONFIG, load_pair_postfilter_config, train_adversarial_weight, train_pair_postfilter

    weights = _weights(sweep)  # refused before any training, not after it
    cfg = load_pair_postfilter_config(
        config, data__system=str(system), data__natural=str(natural), data__ids=read_id_list(ids),
        data__dev_ids=read_id_list(dev_ids), postfilter__adv_weight=adv_weight,
        train__batch_size=batch_size, train__seed=seed, train__device=device,
    )
    say = lambda line: out.print(escape(line), soft_wrap=True)  # noqa: E731
    if not (sweep and (output / CONFIG).is_file() and not overwrite):
        result = train_pair_postfilter(output, cfg, jobs=jobs or default_jobs(), overwrite=overwrite, say=say)
        out.print(f"post-filter → {output} ({result['aligned']} prompts aligned, {result['train_frames']:,} training frames)")
    for w in weights:
        out.print(f"adversarial weight {w:g} → {train_adversarial_weight(output, w)}")


def _weights(spec: str | None) -> list[float]:
    try:
        weights = [float(w) for w in spec.split(",")] if spec else []
    except ValueError:
        raise typer.BadParameter(f"{spec!r}: give weights as numbers separated by commas, e.g. 0.1,0.3,1", param_hint="--sweep") from None
    if any(w < 0 for w in weights):
        raise typer.BadParameter("weights must be >= 0", param_hint="--sweep")
    return weights


@app.command()
@handle_errors
def enhance(
    inputs: Annotated[list[Path], typer.Argument(help="A system's output: one feature folder (.npz), or WAV/FLAC files, folders or lists (analysed as the model's features were).")],
    model: Annotated[Path, typer.Option("--model", "-m", help="A pair post-filter (`vawgan train-postfilter`) or an enhancement VAWGAN (`vawgan train`).")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Folder for enhanced .npz features and .wav files.")],
    method: Annotated[EnhanceMethod, typer.Option("--method", help="vawgan or vae: the model's decoder after that stage; gv-pf, ms-pf: the GV or MS post-filter with the model's natural statistics.")] = EnhanceMethod["vawgan"],
    ids: IdsOption = None,
    checkpoint: Annotated[CheckpointChoice, typer.Option("--checkpoint", help="Each stage's last checkpoint, or its best dev epoch.")] = CheckpointChoice["last"],
    adv_weight: Annotated[Optional[float], typer.Option("--adv-weight", min=0.0, metavar="W", help="With a pair post-filter's --sweep: the VAWGAN trained at weight W (EXP/adv-w<W>/).")] = None,
    system_feats: Annotated[Optional[Path], typer.Option("--system-feats", help="For ms-pf with an enhancement VAWGAN: the system's output on training prompts (the MS to undo).")] = None,
    jobs: Annotated[Optional[int], typer.Option("--jobs", "-j", min=1, help="Processes for analysing WAVs [default: all cores].")] = None,
    z: Annotated[Optional[InferenceZ], typer.Option("--z", help="A conv post-filter's latent: mean (z = μ), prior (noise per frame) or posterior (z ~ q(z|x)) [default: its config's].")] = None,
    seed: Annotated[int, typer.Option("--seed", min=0, help="Seed of a conv post-filter's noise (prior, posterior): the same seed, the same output.")] = 0,
):
    """Enhance a synthesis or conversion system's output (features or WAVs) and write WAVs through WORLD."""
    from vawgan_tts.enhance import analysis_settings, enhance_corpus, output_enhancer

    transform = output_enhancer(model, method.value, checkpoint.value, adv_weight, system_feats, seed=seed,
                                inference_z=z.value if z is not None else None)
    with progress_bar("utts") as progress:
        task = progress.add_task(method.value, total=None)
        written, failed = enhance_corpus(inputs, output, transform, analysis_settings(model), read_id_list(ids),
                                         jobs=jobs or default_jobs(), on_progress=lambda _: progress.advance(task))
    for utt, reason in sorted(failed.items()):
        out.print(escape(f"{utt}: {reason}"), soft_wrap=True)
    out.print(f"{method.value}: enhanced {len(written)} utterances (.npz + .wav) → {output}"
              + (f"; {len(failed)} failed, listed in {output / 'failed.tsv'}" if failed else ""))
    if failed:
        raise typer.Exit(EXIT_PARTIAL)


@app.command("eval")
@handle_errors
def evaluate(
    natural: Annotated[Path, typer.Option("--natural", help="Natural (reference) feature folder.")],
    generated: Annotated[list[str], typer.Option("--generated", help="NAME=DIR of a system's features; repeat.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Folder for metrics.json and figures.")],
    ids: IdsOption = None,
    speech_threshold_db: Annotated[float, typer.Option("--speech-threshold-db", help="Frames this far below an utterance's loudest are silence for GV and MCD.")] = 30.0,
    align: Annotated[AlignChoice, typer.Option("--align", help="auto: frame t with frame t when lengths agree, else DTW; dtw: always DTW of speech frames (systems with their own timing: synthesis, conversion).")] = AlignChoice["auto"],
    reference: Annotated[Optional[str], typer.Option("--reference", help="A system (one of the NAMEs) every other is tested against: paired randomization test over utterances, p-values in metrics.json.")] = None,
    resamples: Annotated[int, typer.Option("--resamples", min=100, help="Bootstrap and permutation resamples.")] = 2000,
    jobs: Annotated[Optional[int], typer.Option("--jobs", "-j", min=1, help="Processes for alignment, scores, intervals and tests [default: all cores].")] = None,
):
    """GV, modulation spectrum, MCD, Fréchet distance and F0 of each system against natural features,
    with 95 % bootstrap intervals; per_utterance.csv holds every utterance's scores."""
    from vawgan_tts.evaluation import evaluate as run_eval, parse_systems

    systems = parse_systems(generated)
    with progress_bar("utts") as progress:
        task = progress.add_task("eval", total=None)
        result = run_eval(natural, systems, output, ids=read_id_list(ids), speech_threshold_db=speech_threshold_db,
                          align=align.value, reference=reference, n_resamples=resamples, jobs=jobs or default_jobs(),
                          on_progress=lambda done, total: progress.update(task, completed=done, total=total))
    print_metrics(result, output)


@app.command()
@handle_errors
def report(
    exp: Annotated[Path, typer.Argument(help="Experiment folder from `vawgan train` or `vawgan train-converter`.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Report folder (index.html inside): only what the page uses, to share as it is.")],
    ids: Annotated[Path, typer.Option("--ids", help="Utterance ids to evaluate (the eval list).")],
    feats: Annotated[Optional[Path], typer.Option("--feats", help="Natural features [default: the experiment's].")] = None,
    systems: Annotated[Optional[str], typer.Option("--systems", help="Comma-separated systems to run and show [default: all; enhancement: copy,vae,vawgan,gv-pf,ms-pf; converter: source,converted,converted+gv-pf,converted+ms-pf and every --extra].")] = None,
    show: Annotated[Optional[list[str]], typer.Option("--show", help="An utterance to play and plot; repeat [default: best, median and worst by MCD].")] = None,
    n_audio: Annotated[int, typer.Option("--n-audio", min=0, help="How many utterances to play when --show is not given, spread over the per-utterance MCD.")] = 3,
    reference: Annotated[Optional[str], typer.Option("--reference", help="The system every other is tested against (paired test, p-values) [default: vae; converter: converted].")] = None,
    systems_dir: Annotated[Optional[Path], typer.Option("--systems-dir", help="Where every system's features and WAVs are written [default: EXP/systems]; not part of the report.")] = None,
    resamples: Annotated[int, typer.Option("--resamples", min=100, help="Bootstrap and permutation resamples.")] = 2000,
    jobs: Annotated[Optional[int], typer.Option("--jobs", "-j", min=1, help="Processes for conversion, synthesis and re-analysis [default: all cores].")] = None,
    extra: Annotated[Optional[list[str]], typer.Option("--extra", help="For a converter: NAME=DIR of a further system's .npz and .wav of the same prompts (e.g. from `vawgan enhance`); repeat.")] = None,
    source: Annotated[Optional[str], typer.Option("--from", help="For a VAWGAN-VC model: the source speaker of the direction to report.")] = None,
    to: Annotated[Optional[str], typer.Option("--to", help="For a VAWGAN-VC model: the target speaker.")] = None,
):
    """Run every system on the eval list, evaluate, and write an HTML report with audio.

    For a converter (from `vawgan train-converter`): the source voice, the conversion and the natural
    target of each held-out prompt side by side, aligned by DTW."""
    from vawgan_tts.runs.converter import is_converter
    from vawgan_tts.errors import VawganError
    from vawgan_tts.evaluation import parse_system
    from vawgan_tts.report import build_conversion_report, build_report, build_vc_report
    from vawgan_tts.runs.vawgan_vc import is_vc

    chosen = [s.strip() for s in systems.split(",") if s.strip()] if systems is not None else None
    common = dict(show=show, n_show=n_audio, systems=chosen, systems_dir=systems_dir, n_resamples=resamples,
                  jobs=jobs or default_jobs())
    if reference is not None:
        common["reference"] = reference
    if (source is not None or to is not None) and not is_vc(exp):
        raise VawganError(exp, "--from and --to are for a VAWGAN-VC model (`vawgan train-vc`)")
    if extra and not (is_vc(exp) or is_converter(exp)):
        raise VawganError(exp, "--extra is for a converter's report (the parallel layout)")
    with progress_bar("steps") as progress:
        task = progress.add_task("report", total=None)
        common["on_progress"] = lambda step, done, total: progress.update(task, completed=done, total=total, description=step)
        if is_vc(exp):
            if source is None or to is None:
                raise VawganError(exp, "a VAWGAN-VC model: give the direction with --from SPEAKER --to SPEAKER")
            result = build_vc_report(exp, output, read_id_list(ids), source, to, extra=dict(parse_system(e) for e in extra or ()),
                                     **common)
        elif is_converter(exp):
            result = build_conversion_report(exp, output, read_id_list(ids), extra=dict(parse_system(e) for e in extra or ()),
                                             **common)
        else:
            result = build_report(exp, output, read_id_list(ids), feats, **common)
    print_metrics(result, output)
    out.print(f"report: {output / 'index.html'}")


@app.command("listening-test")
@handle_errors
def listening_test(
    systems: Annotated[list[str], typer.Argument(help="NAME=DIR of each system: a folder of <id>.wav (e.g. EXP/systems/vawgan).")],
    output: Annotated[Path, typer.Option("--output", "-o", help="The test folder to hand to listeners; the key is written beside it (OUTPUT-key.json).")],
    ids: Annotated[Path, typer.Option("--ids", help="Utterance ids to test.")],
    reference: Annotated[Optional[Path], typer.Option("--reference", help="The natural recordings (a feature folder from `vawgan extract`, or a folder of <id>.wav): MUSHRA's open and hidden reference.")] = None,
    kind: Annotated[TestKind, typer.Option("--kind", help="mushra (ratings 0-100 against a reference) or ab (preference).")] = TestKind["mushra"],
    anchor: Annotated[Optional[str], typer.Option("--anchor", help="The system that is MUSHRA's low anchor (the VAE, the unconverted source).")] = None,
    pair: Annotated[Optional[list[str]], typer.Option("--pair", help="AB: A:B, two system names; repeat [default: every pair].")] = None,
    listeners: Annotated[int, typer.Option("--listeners", min=1, help="Listener pages, each with its own trial and system order.")] = 10,
    seed: Annotated[int, typer.Option("--seed", min=0, help="Seed of every page's order: page k's order comes from (seed, k).")] = 0,
    title: Annotated[str, typer.Option("--title", help="Heading of the pages.")] = "Listening test",
):
    """Write a blind listening test (static pages: MUSHRA or AB) with randomized, hidden systems."""
    from vawgan_tts.errors import VawganError
    from vawgan_tts.evaluation import parse_system
    from vawgan_tts.listening_test import key_path, write_listening_test

    kind = kind.value
    pairs = []
    for p in pair or ():
        a, sep, b = p.partition(":")
        if not sep:
            raise VawganError(None, f"--pair {p!r}: expected A:B")
        pairs.append((a, b))
    key = write_listening_test(dict(parse_system(s) for s in systems), reference, output, read_id_list(ids), kind=kind,
                               anchor=anchor, pairs=pairs or None, listeners=listeners, seed=seed, title=title)
    n = len(key["utterances"]) if kind == "mushra" else len(key["utterances"]) * len(key["pairs"])
    out.print(f"{kind} test {key['test']}: {n} trials, {listeners} listener pages in {output} "
              f"(open {output / 'index.html'}); key: {key_path(output)} (keep it from the listeners)")


@app.command("listening-results")
@handle_errors
def listening_results(
    answers: Annotated[list[Path], typer.Argument(help="Answer CSVs downloaded from the listener pages.")],
    key: Annotated[Path, typer.Option("--key", help="The test's key (OUTPUT-key.json of `vawgan listening-test`).")],
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Write the scores as JSON here too.")] = None,
    screening: Annotated[bool, typer.Option("--screening/--no-screening", help="MUSHRA: leave out listeners who rate the hidden reference below 90 in more than 15 % of trials (BS.1534-3).")] = True,
):
    """Aggregate a listening test's answers: MUSHRA means with 95 % intervals, AB preferences with p-values."""
    import json

    from vawgan_tts.fileio import write_text_atomic
    from vawgan_tts.listening_test import aggregate

    result = aggregate(answers, key, screening=screening)
    if result["kind"] == "mushra":
        table = Table(title=f"MUSHRA, {len(result['listeners']) - len(result['excluded_listeners'])} listeners "
                            f"(mean, t-based 95 % interval over ratings)")
        for col in ("system", "mean", "95 % interval", "ratings"):
            table.add_column(col, justify="right")
        for name, s in result["scores"].items():
            label = f"{name} (hidden)" if name == "reference" else f"{name} (anchor)" if s["anchor"] else name
            table.add_row(escape(label), f"{s['mean']:.1f}", f"[{s['ci95'][0]:.1f}, {s['ci95'][1]:.1f}]", str(s["ratings"]))
        out.print(table)
        if result["excluded_listeners"]:
            out.print(f"left out by post-screening: listener {', '.join(result['excluded_listeners'])}")
    else:
        table = Table(title=f"AB preference, {len(result['listeners'])} listeners (share of decided trials, Wilson 95 % interval)")
        for col in ("pair", "prefer first", "prefer second", "no preference", "share first", "95 % interval", "p"):
            table.add_column(col, justify="right")
        for name, e in result["pairs"].items():
            table.add_row(escape(name), str(e[e["first"]]), str(e[e["second"]]), str(e["none"]), f"{e['share_first']:.2f}",
                          f"[{e['ci95'][0]:.2f}, {e['ci95'][1]:.2f}]", f"{e['p']:.2g}")
        out.print(table)
    if output is not None:
        write_text_atomic(output, json.dumps(result, indent=2) + "\n")
        out.print(f"scores: {output}")


# Row labels of the metric table: short, with units (docs/metrics.md). FD is the Fréchet distance of
# c1..c39; F0 the RMSE in cents on frames voiced in both; V/UV the share of aligned frames whose voicing
# differs; F0 r the correlation of log F0.
METRIC_ROWS = (("mcd_db", "MCD [dB]", 1.0, 3), ("gv_distance", "logGV [dB]", 1.0, 3), ("ms_distance", "MS [dB]", 1.0, 3),
               ("gv_ratio", "GV ratio", 1.0, 3), ("frechet_distance", "FD", 1.0, 2), ("f0_rmse_cents", "F0 [cent]", 1.0, 1),
               ("vuv_error", "V/UV [%]", 100.0, 1), ("log_f0_corr", "F0 r", 1.0, 3))


def print_metrics(result: dict, output: Path) -> None:
    """One column per system (so that five systems fit an 80-column terminal), one row per figure:
    the figure, under it ± half its 95 % interval and the p-value against the reference."""
    ref = result["settings"].get("reference")
    table = Table(title=f"natural vs systems ({result['settings']['utterances']} utterances; mean ± half the 95 % "
                        f"interval{f'; p: paired test against {ref}' if ref else ''})")
    table.add_column("", no_wrap=True)
    for name in result["systems"]:
        table.add_column(escape(name), justify="right", no_wrap=True)  # "[dB]" is a unit, not markup
    for key, label, scale, digits in METRIC_ROWS:
        cells = []
        for m in result["systems"].values():
            if key not in m:  # a metrics.json from before the figure existed
                cells.append("–")
                continue
            cell = f"{scale * m[key]:.{digits}f}"
            lo, hi = m.get("ci95", {}).get(key, (float("nan"),) * 2)
            if lo == lo and hi == hi:
                cell += f"\n±{scale * (hi - lo) / 2:.{digits}f}"
            p = m.get("p_vs_reference", {}).get(key)
            if p is not None:
                cell += f"\np={p:.2g}"
            cells.append(cell)
        table.add_row(escape(label), *cells)
    out.print(table)
    out.print(f"metrics and figures in {output}; per utterance: {output / 'per_utterance.csv'}")


if __name__ == "__main__":
    app()
