"""`vawgan`'s listening-test commands: write a blind test, aggregate its answers. Registered in cli/vawgan.py."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from vawgan_tts.cli.common import (TestKind, out, read_id_list, table)


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
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace an earlier test (its folder and key) at OUTPUT.")] = False,
):
    """Write a blind listening test (static pages: MUSHRA or AB) with randomized, hidden systems."""
    from vawgan_tts.evaluation import parse_systems
    from vawgan_tts.listening_test import key_path, parse_pairs, write_listening_test

    kind = kind.value
    key = write_listening_test(parse_systems(systems, "SYSTEMS"), reference, output, read_id_list(ids), kind=kind,
                               anchor=anchor, pairs=parse_pairs(pair), listeners=listeners, seed=seed, title=title, overwrite=overwrite)
    n = len(key["utterances"]) if kind == "mushra" else len(key["utterances"]) * len(key["pairs"])
    out.print(f"{kind} test {key['test']}: {n} trials, {listeners} listener pages in {output} "
              f"(open {output / 'index.html'}); key: {key_path(output)} (keep it from the listeners)")


def listening_results(
    answers: Annotated[list[Path], typer.Argument(help="Answer CSVs downloaded from the listener pages.")],
    key: Annotated[Path, typer.Option("--key", help="The test's key (OUTPUT-key.json of `vawgan listening-test`).")],
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Write the scores as JSON here too.")] = None,
    screening: Annotated[bool, typer.Option("--screening/--no-screening", help="MUSHRA: leave out listeners who rate the hidden reference below 90 in more than 15 % of trials (BS.1534-3).")] = True,
):
    """Aggregate a listening test's answers: MUSHRA means with 95 % intervals, AB preferences with p-values."""
    from vawgan_tts.listening_test import aggregate

    result = aggregate(answers, key, screening=screening, output=output)
    if result["kind"] == "mushra":
        out.print(table(f"MUSHRA, {len(result['listeners']) - len(result['excluded_listeners'])} listeners (mean, t-based "
                         "95 % interval over ratings)", ("system", "mean", "95 % interval", "ratings"),
                         [(f"{name} (hidden)" if name == "reference" else f"{name} (anchor)" if s["anchor"] else name,
                           f"{s['mean']:.1f}", f"[{s['ci95'][0]:.1f}, {s['ci95'][1]:.1f}]", s["ratings"])
                          for name, s in result["scores"].items()]))
        if result["excluded_listeners"]:
            out.print(f"left out by post-screening: listener {', '.join(result['excluded_listeners'])}")
    else:
        out.print(table(f"AB preference, {len(result['listeners'])} listeners (share of decided trials, Wilson 95 % interval)",
                         ("pair", "prefer first", "prefer second", "no preference", "share first", "95 % interval", "p"),
                         [(name, e[e["first"]], e[e["second"]], e["none"], f"{e['share_first']:.2f}",
                           f"[{e['ci95'][0]:.2f}, {e['ci95'][1]:.2f}]", f"{e['p']:.2g}") for name, e in result["pairs"].items()]))
    if output is not None:
        out.print(f"scores: {output}")
