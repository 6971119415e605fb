"""What every command shares: the console, error handling, progress bars, common options."""

from __future__ import annotations

import functools
import os
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from vawgan_tts.choices import (ALIGNMENTS, CHECKPOINTS, CODE_MOVES, CONVERTER_POSTFILTERS, CRITICS, ENHANCE_METHODS,
                                F0_METHODS, INFERENCE_Z, LISTENING_TESTS, SYSTEMS, VAWGAN_STAGES)
from vawgan_tts.errors import VawganError

console = Console(stderr=True)
out = Console()

EXIT_PARTIAL = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


def fail(message: str, code: int = EXIT_USAGE) -> typer.Exit:
    console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


def handle_errors(fn):
    """Turn user errors into one red line and exit 2; Ctrl-C into exit 130. Bugs keep tracebacks.
    A command that finished under torchrun leaves the process group with every rank together."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            result = fn(*args, **kwargs)
            if "torch.distributed" in sys.modules:  # only a command that imported torch can have joined
                from vawgan_tts import distributed

                distributed.leave()
            return result
        except VawganError as e:
            raise fail(str(e)) from None
        except OSError as e:  # the environment (disk full, file-size limit, permissions), not a bug
            if e.errno is None:
                raise
            where = f"{e.filename}: " if e.filename else ""
            raise fail(f"{where}{e.strerror or e} (partial outputs are not kept)") from None
        except (KeyboardInterrupt, Exception) as e:  # a typer.Exit (a RuntimeError) is raised again
            if not _caused_by_interrupt(e):
                raise
            console.print("[yellow]interrupted[/]")
            raise typer.Exit(EXIT_INTERRUPTED) from None

    return wrapper


def _caused_by_interrupt(error: BaseException) -> bool:
    """Whether ``error`` is a Ctrl-C (KeyboardInterrupt, or SIGTERM made one by the trainer) or one that
    surfaced as another error: Python 3.11 re-raises an exception from a class body's ``__set_name__``
    as RuntimeError, so a Ctrl-C while a module is imported (matplotlib's, as the curves are drawn after
    training) arrives as one, with the interrupt as its cause."""
    seen = set()
    while error is not None and id(error) not in seen:
        if isinstance(error, KeyboardInterrupt):
            return True
        seen.add(id(error))
        error = error.__cause__ or error.__context__
    return False


class RateColumn(ProgressColumn):
    """Items per second, e.g. '12.3 files/s'."""

    def __init__(self, unit: str):
        super().__init__()
        self.unit = unit

    def render(self, task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{speed:.1f} {self.unit}/s" if speed else f"– {self.unit}/s", style="progress.data.speed")


def progress_bar(unit: str = "files", transient: bool = False) -> Progress:
    """A rich progress bar on a terminal; plain lines where stderr is a file or a pipe."""
    if not console.is_terminal:
        from vawgan_tts.progress import PlainProgress

        return PlainProgress(unit, stream=console.file)
    return Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TaskProgressColumn(),
        RateColumn(unit),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=transient,
    )


def _print_version(value: bool) -> None:
    if value:
        from vawgan_tts import __version__

        out.print(f"vawgan-tts {__version__}", highlight=False)
        raise typer.Exit()


def add_version_option(app: typer.Typer) -> None:
    """``--version`` on a command group: prints the toolkit's version and exits."""

    @app.callback()
    def main(version: Annotated[bool, typer.Option("--version", callback=_print_version, is_eager=True,
                                                   help="Print the version and exit.")] = False):
        pass


def default_jobs() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def refuse_settings_on_resume(resume: bool, exp: Path, **given) -> None:
    """``--resume`` continues with the experiment's own configuration (EXP/config.toml): an option that
    would change it (``given``: flag -> value, None when left out) is refused in one line, not ignored."""
    named = [flag for flag, value in given.items() if value is not None]
    if resume and named:
        raise VawganError(exp, f"--resume continues with the experiment's own configuration (config.toml): leave out "
                               f"{', '.join(named)} (to resume on another device, edit [train] device there)")


def read_id_list(path: Path | None) -> list[str] | None:
    """A file of utterance ids, one per line (first column; '#' comments)."""
    if path is None:
        return None
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as e:
        raise VawganError(path, f"cannot read id list ({e.strerror})") from None
    ids = [ln.split()[0] for ln in lines if ln.strip() and not ln.lstrip().startswith("#")]
    if not ids:  # an empty list is a mistake, never "all utterances"
        raise VawganError(path, "the id list is empty")
    return ids


Jobs = Annotated[int, typer.Option("--jobs", "-j", min=1, help="Parallel processes [default: number of cores].")]
IdsOption = Annotated[
    Path | None, typer.Option("--ids", help="File of utterance ids to use, one per line [default: all].")
]
ConfigOption = Annotated[
    Path | None, typer.Option("--config", "-c", help="TOML file; its tables set the defaults, options override.")
]

# The trainer's common options, the same on every training command (`vawgan train`, `gen …`).
EpochsOption = Annotated[Optional[int], typer.Option("--epochs", min=1, help="Training epochs.")]
BatchSizeOption = Annotated[Optional[int], typer.Option("--batch-size", min=1, help="Examples per optimizer step [default: the config's [train] batch_size].")]
LrOption = Annotated[Optional[float], typer.Option("--lr", help="Learning rate.")]
SeedOption = Annotated[Optional[int], typer.Option("--seed", min=0, help="Seed of every random draw (initialization, shuffles, noise) [default: 0].")]
DeviceOption = Annotated[Optional[str], typer.Option("--device", help="auto, cpu or cuda.")]
ResumeOption = Annotated[bool, typer.Option("--resume", help="Continue from EXP/checkpoints/last.pt.")]
OverwriteOption = Annotated[bool, typer.Option("--overwrite", help="Train again into an EXP that holds a finished run.")]
ReplaceOption = Annotated[bool, typer.Option("--overwrite", help="Replace what another command, model or option wrote in OUTPUT.")]
TrainIdsOption = Annotated[Path, typer.Option("--ids", help="File of training prompt ids (one per line).")]
DevIdsOption = Annotated[Optional[Path], typer.Option("--dev-ids", help="File of dev prompt ids: a dev loss per epoch and the best checkpoints, never trained on.")]
DryRunOption = Annotated[bool, typer.Option("--dry-run", help="One batch of each stage; writes nothing.")]
OutputOption = Annotated[Path, typer.Option("--output", "-o", help="Experiment folder.")]


def print_dry_run(trainer) -> None:
    from rich.table import Table

    table = Table(title="dry run: one batch per stage")
    table.add_column("stage")
    table.add_column("metrics")
    for name, m in trainer.dry_run_metrics.items():
        table.add_row(name, "  ".join(f"{k}={v:.4g}" for k, v in m.items()))
    out.print(table)

def choices(name: str, values) -> type[Enum]:
    """An option's choices from the library's own list, so the CLI cannot drift from what it accepts."""
    return Enum(name, {v: v for v in values}, type=str)


(F0Method, StageName, CriticKind, SystemName, CheckpointChoice, AlignChoice, PostfilterChoice, EnhanceMethod, InferenceZ,
 TestKind, CodeChoice) = (choices(name, values) for name, values in (
    ("F0Method", F0_METHODS), ("StageName", (*VAWGAN_STAGES, "all")), ("CriticKind", CRITICS), ("SystemName", SYSTEMS),
    ("CheckpointChoice", CHECKPOINTS), ("AlignChoice", ALIGNMENTS), ("PostfilterChoice", CONVERTER_POSTFILTERS),
    ("EnhanceMethod", ENHANCE_METHODS), ("InferenceZ", INFERENCE_Z), ("TestKind", LISTENING_TESTS),
    ("CodeChoice", CODE_MOVES)))


def make_app(help: str) -> typer.Typer:
    """A command-line app: plain help text ("[default: …]" and units in brackets must show), no shell
    completion, no pretty tracebacks (errors are one line: :func:`handle_errors`), and --version."""
    app = typer.Typer(help=help, no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
                      rich_markup_mode=None)
    add_version_option(app)
    return app


def table(title: str, columns, rows, fold: bool = False) -> Table:
    """A rich table of plain cells (escaped: "[dB]" is a unit, not markup)."""
    table = Table(title=escape(title))
    for col in columns:
        table.add_column(escape(col), overflow="fold" if fold else "ellipsis", justify="left" if fold else "right")
    for row in rows:
        table.add_row(*(escape(str(c)) for c in row))
    return table


def say(line: str) -> None:
    """A library's progress line, printed as it is (no markup)."""
    out.print(escape(line), soft_wrap=True)


def synthesize_ids(feats: Path, output: Path, ids: Path | None, transform, label: str, result: str,
                   model: Path | None, overwrite: bool) -> int:
    """`synthesis.synthesize_folder` with a progress bar; returns how many utterances were written."""
    from vawgan_tts.synthesis import synthesize_folder

    with progress_bar("utts") as progress:
        task = progress.add_task(label, total=None)
        written = synthesize_folder(feats, output, read_id_list(ids), transform, result, model, overwrite,
                                    on_progress=lambda _: progress.advance(task))
    return len(written)
