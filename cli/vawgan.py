"""`vawgan`: extract features, train, synthesize, evaluate, report; the conversion and enhancement
commands (cli/conversion.py) and the listening tests (cli/listening.py). A thin skin over vawgan_tts:
each command parses, calls one library function and prints."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape
from rich.table import Table

from vawgan_tts.cli import conversion, listening
from vawgan_tts.cli.common import (AlignChoice, BatchSizeOption, CheckpointChoice, CodeChoice, ConfigOption, CriticKind,
                                   DeviceOption, DryRunOption, EXIT_PARTIAL, F0Method, IdsOption, OverwriteOption,
                                   ReplaceOption, ResumeOption, SeedOption, StageName, SystemName, default_jobs,
                                   handle_errors, make_app, out, print_dry_run, progress_bar, read_id_list, synthesize_ids,
                                   table)

app = make_app("Speech-feature enhancement with VAWGAN: WORLD + mel-cepstral features, training, synthesis, evaluation.")


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
    from vawgan_tts import extract as extraction
    from vawgan_tts.config import load_section
    from vawgan_tts.feature_folder import FAILED, ExtractConfig

    options = load_section(config, "extract", ExtractConfig, fs=fs, f0_method=f0_method and f0_method.value,
                           f0_floor=f0_floor, f0_ceil=f0_ceil)
    with progress_bar("files") as progress:
        task = progress.add_task("extract", total=len(extraction.collect_inputs(wavs)))
        summary = extraction.run(wavs, output, options, jobs=jobs or default_jobs(), overwrite=overwrite,
                                 on_progress=lambda _: progress.advance(task), scheduler=dask_scheduler)
    n = len(summary.outcomes)
    out.print(table(f"extraction → {summary.out_dir}", ("files", "extracted", "up to date", "failed", "frames", "audio", "wall", "files/s"),
                     [(n, summary.count("ok"), summary.count("skipped"), len(summary.failed), f"{summary.frames:,}",
                       f"{summary.audio_minutes:.1f} min", f"{summary.wall_seconds:.1f} s", f"{n / max(summary.wall_seconds, 1e-9):.1f}")]))
    if summary.failed:
        out.print(table(f"failed ({len(summary.failed)}), also in {summary.out_dir / FAILED}", ("file", "reason"),
                         [(o.source, o.reason) for o in summary.failed], fold=True))
        raise typer.Exit(EXIT_PARTIAL)


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


def synth(
    feats: Annotated[Path, typer.Argument(help="Feature folder (from `vawgan extract` or another system).")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Folder for .npz features and .wav files.")],
    model: Annotated[Optional[Path], typer.Option("--model", "-m", help="Experiment folder from `vawgan train`.")] = None,
    system: Annotated[SystemName, typer.Option("--system", help="What to apply before the vocoder.")] = SystemName["vawgan"],
    copy: Annotated[bool, typer.Option("--copy", help="Same as --system copy: analysis-synthesis, no model.")] = False,
    ids: IdsOption = None,
    checkpoint: Annotated[CheckpointChoice, typer.Option("--checkpoint", help="Each stage's last checkpoint, or its best dev epoch (training with a dev set).")] = CheckpointChoice["last"],
    overwrite: ReplaceOption = False,
):
    """Enhance features (or copy them) and write WAVs through the WORLD vocoder."""
    from vawgan_tts.enhance import make_system

    name = "copy" if copy else system.value
    n = synthesize_ids(feats, output, ids, make_system(name, model, checkpoint.value), name,
                       f"synth --system {name} --checkpoint {checkpoint.value}", None if name == "copy" else model, overwrite)
    out.print(f"{name}: wrote {n} utterances (.npz + .wav) to {output}")


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
    checkpoint: Annotated[CheckpointChoice, typer.Option("--checkpoint", help="A VAWGAN or VAWGAN-VC model: each stage's last checkpoint, or its best dev epoch (working files then in EXP/systems-best).")] = CheckpointChoice["last"],
    code: Annotated[CodeChoice, typer.Option("--code", help="A VAWGAN-VC model: the source's codes as they are, or moved by the mean (shift) or mean and deviation (standardize) of the two speakers' training codes (working files then in EXP/systems[-best]-<code>).")] = CodeChoice["as-is"],
    knn: Annotated[int, typer.Option("--knn", min=0, metavar="K", help="A VAWGAN-VC model: read each converted frame out of the target's own training frames, the mean of the K whose codes are nearest (kNN-VC), instead of the decoder; 0: the decoder.")] = 0,
    knn_context: Annotated[int, typer.Option("--knn-context", min=0, metavar="C", help="A VAWGAN-VC model with --knn: match each frame by the codes of the C frames either side of it too (working files then in EXP/systems[-…]-knn<K>-ctx<C>); 0: its own code.")] = 0,
    overwrite: ReplaceOption = False,
):
    """Run every system on the eval list, evaluate, and write an HTML report with audio.

    For a converter (from `vawgan train-converter`): the source voice, the conversion and the natural
    target of each held-out prompt side by side, aligned by DTW. OUTPUT is new or holds this same report
    (refreshed); another report there is replaced only with --overwrite, and only once the new one is whole."""
    from vawgan_tts.evaluation import parse_systems
    from vawgan_tts.report import build_experiment_report

    chosen = [s.strip() for s in systems.split(",") if s.strip()] if systems is not None else None
    options = dict(show=show, n_show=n_audio, systems=chosen, systems_dir=systems_dir, n_resamples=resamples,
                   jobs=jobs or default_jobs(), checkpoint=checkpoint.value, code=code.value, knn=knn,
                   knn_context=knn_context,
                   overwrite=overwrite,
                   **({"reference": reference} if reference is not None else {}))
    with progress_bar("steps") as progress:
        task = progress.add_task("report", total=None)
        result = build_experiment_report(exp, output, read_id_list(ids), feats, source, to, parse_systems(extra, "--extra"),
                                         on_progress=lambda step, done, total: progress.update(task, completed=done, total=total,
                                                                                               description=step), **options)
    print_metrics(result, output)
    out.print(f"report: {output / 'index.html'}")


def print_metrics(result: dict, output: Path) -> None:
    """One column per system (so that five systems fit an 80-column terminal), one row per figure:
    the figure, under it ± half its 95 % interval and the p-value against the reference."""
    ref = result["settings"].get("reference")
    table = Table(title=f"natural vs systems ({result['settings']['utterances']} utterances; mean ± half the 95 % "
                        f"interval{f'; p: paired test against {ref}' if ref else ''})")
    table.add_column("", no_wrap=True)
    for name in result["systems"]:
        table.add_column(escape(name), justify="right", no_wrap=True)  # "[dB]" is a unit, not markup
    from vawgan_tts.evaluation import FIGURES

    for key, label, scale, digits in ((f.key, f.short, f.scale, f.digits) for f in FIGURES):
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


# Every command, in the order of `vawgan --help`: the speech path's here, the others in their modules.
COMMANDS = (
    ("extract", extract),
    ("parallel-corpus", conversion.parallel_corpus),
    ("train", train),
    ("synth", synth),
    ("train-converter", conversion.train_converter),
    ("convert", conversion.convert),
    ("train-vc", conversion.train_vc),
    ("speaker-id", conversion.speaker_id),
    ("prematch", conversion.prematch),
    ("train-postfilter", conversion.train_postfilter),
    ("enhance", conversion.enhance),
    ("eval", evaluate),
    ("report", report),
    ("listening-test", listening.listening_test),
    ("listening-results", listening.listening_results),
)
for name, command in COMMANDS:
    app.command(name)(handle_errors(command))

if __name__ == "__main__":
    app()
