"""`vawgan`: extract features, train, synthesize, evaluate. A thin skin over vawgan_tts."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from cli.common import (
    EXIT_PARTIAL,
    ConfigOption,
    IdsOption,
    console,
    default_jobs,
    handle_errors,
    out,
    progress_bar,
    read_id_list,
)

app = typer.Typer(
    help="Speech-feature enhancement with VAWGAN: WORLD + mel-cepstral features, training, synthesis, evaluation.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


class F0Method(str, Enum):
    harvest = "harvest"
    dio = "dio"


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
):
    """WORLD analysis + 39-dim mel-cepstra of every input, in parallel; resumable."""
    from vawgan_tts import extract as X
    from vawgan_tts.config import ExtractConfig, load_section

    options = load_section(
        config, "extract", ExtractConfig,
        fs=fs, f0_method=f0_method and f0_method.value, f0_floor=f0_floor, f0_ceil=f0_ceil,
    )
    n_files = len(X.collect_inputs(wavs))
    with progress_bar("files") as progress:
        task = progress.add_task("extract", total=n_files)
        summary = X.run(
            wavs, output, options, jobs=jobs or default_jobs(), overwrite=overwrite,
            on_progress=lambda _: progress.advance(task),
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
            fails.add_row(o.source, o.reason)
        out.print(fails)


@app.command()
@handle_errors
def synth(
    feats: Annotated[Path, typer.Argument(help="Feature folder (from `vawgan extract` or another system).")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Folder for .npz features and .wav files.")],
    copy: Annotated[bool, typer.Option("--copy", help="Analysis-synthesis: resynthesize the features unchanged.")] = False,
    ids: IdsOption = None,
):
    """Features → WAVs through the WORLD vocoder."""
    from vawgan_tts.evaluation import feature_ids
    from vawgan_tts.synthesis import synthesize_corpus

    if not copy:
        raise typer.BadParameter("give --copy (model-based systems come with `vawgan train`)")
    utts = read_id_list(ids) or feature_ids(feats)
    with progress_bar("utts") as progress:
        task = progress.add_task("synth", total=len(utts))
        synthesize_corpus(feats, output, utts, on_progress=lambda _: progress.advance(task))
    out.print(f"wrote {len(utts)} utterances to {output}")


@app.command("eval")
@handle_errors
def evaluate(
    natural: Annotated[Path, typer.Option("--natural", help="Natural (reference) feature folder.")],
    generated: Annotated[list[str], typer.Option("--generated", help="NAME=DIR of a system's features; repeat.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Folder for metrics.json and figures.")],
    ids: IdsOption = None,
    speech_threshold_db: Annotated[float, typer.Option("--speech-threshold-db", help="Frames this far below an utterance's loudest are silence for GV and MCD.")] = 30.0,
):
    """GV, modulation spectrum and MCD of each system against natural features."""
    from vawgan_tts.evaluation import evaluate as run_eval, parse_system

    systems = dict(parse_system(g) for g in generated)
    result = run_eval(natural, systems, output, ids=read_id_list(ids), speech_threshold_db=speech_threshold_db)
    print_metrics(result, output)


def print_metrics(result: dict, output: Path) -> None:
    table = Table(title=f"natural vs systems ({result['settings']['utterances']} utterances)")
    for col in ("system", "log-GV dist [dB]", "MS dist [dB]", "MCD [dB]", "GV ratio"):
        table.add_column(col, justify="right")
    for name, m in result["systems"].items():
        table.add_row(name, f"{m['gv_distance']:.3f}", f"{m['ms_distance']:.3f}", f"{m['mcd_db']:.3f}", f"{m['gv_ratio']:.3f}")
    out.print(table)
    out.print(f"metrics and figures in {output}")


if __name__ == "__main__":
    app()
