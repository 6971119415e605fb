"""The documentation's command lines: README's example runs as written; every option that README
and docs/ show for a command exists on that command."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import typer

from vawgan_tts.cli.gen import app as gen_app
from vawgan_tts.cli.vawgan import app as vawgan_app

REPO = Path(__file__).resolve().parents[1]
DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]


def readme_example() -> list[str]:
    text = (REPO / "README.md").read_text()
    block = text.split("## Example session", 1)[1].split("```sh\n", 1)[1].split("```", 1)[0]
    return [line for line in block.splitlines() if line.strip() and not line.startswith(". ")]


def test_readme_example_runs_as_written(allison_few, tmp_path):
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}", "OMP_NUM_THREADS": "1"}
    shutil.copytree(allison_few, tmp_path / "my_wavs")
    for line in readme_example():
        r = subprocess.run(["bash", "-euo", "pipefail", "-c", line], cwd=tmp_path, env=env, capture_output=True,
                           text=True, timeout=600)
        assert r.returncode == 0, f"{line}\n{r.stdout[-2000:]}\n{r.stderr[-2000:]}"
    held_out = (tmp_path / "eval.ids").read_text().split()
    assert len(held_out) == 2 and not set(held_out) & set((tmp_path / "train.ids").read_text().split())
    assert (tmp_path / "report" / "index.html").is_file()
    assert (tmp_path / "eval" / "metrics.json").is_file()


def _commands():
    found = {}
    for name, app in (("vawgan", vawgan_app), ("gen", gen_app)):
        def walk(cmd, path):
            if hasattr(cmd, "commands"):
                for sub_name, sub in cmd.commands.items():
                    walk(sub, [*path, sub_name])
            else:
                found[" ".join(path)] = {o for p in cmd.params for o in (*p.opts, *p.secondary_opts) if o.startswith("-")}
        walk(typer.main.get_command(app), [name])
    return found


def documented_command_lines():
    """`vawgan …` / `gen …` command lines in code spans and blocks of README.md and docs/*.md."""
    for doc in DOCS:
        text = doc.read_text()
        blocks = re.findall(r"```sh\n(.*?)```", text, re.S)
        prose = re.sub(r"```.*?```", "", text, flags=re.S).replace("\n", " ")  # spans may wrap lines
        for chunk in blocks + re.findall(r"`([^`]*)`", prose):
            for line in re.split(r"\n|&&| \| ", chunk):  # shell lines, `a && b`, pipes
                m = re.search(r"(?:^|\s)((?:vawgan|gen) [a-z0-9 ]+.*)", line.split("#")[0])
                if m:
                    yield doc.name, m.group(1)


def test_every_documented_option_exists():
    commands = _commands()
    wrong, seen = [], 0
    for doc, line in documented_command_lines():
        words = line.split()
        cmd = max((c for c in commands if words[: len(c.split())] == c.split()), key=len, default=None)
        if cmd is None:
            continue
        seen += 1
        for opt in re.findall(r"(?<![\w-])(--?[a-z][\w-]*)", line[len(cmd):]):
            if opt not in commands[cmd] | {"--help"}:
                wrong.append(f"{doc}: `{cmd}` has no {opt} ({line})")
    assert seen >= 20
    assert not wrong, "\n".join(wrong)


def readme_block(after: str) -> list[str]:
    """The command lines of README's first ```sh block after the sentence starting ``after``."""
    block = (REPO / "README.md").read_text().split(after, 1)[1].split("```sh\n", 1)[1].split("```", 1)[0]
    return [line for line in block.splitlines() if line.strip()]


def test_readme_conversion_and_enhancement_run_as_written(parallel, tmp_path):
    """README's parallel-conversion and post-filter lines, as written, in a folder laid out as the
    recipe's (dump/slt, dump/natural: the `parallel` fixture's eight prompts; lists/: six to train,
    one dev, one eval). The corpus line itself needs the Debian packages' paths (the recipe's stage 1,
    tested in test_corpus.py): the fixture made that corpus."""
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}", "OMP_NUM_THREADS": "1"}
    (tmp_path / "dump").mkdir()
    shutil.copytree(parallel[0], tmp_path / "dump/slt")
    shutil.copytree(parallel[1], tmp_path / "dump/natural")
    ids = sorted(p.stem for p in parallel[0].glob("*.npz") if p.stem != "stats")
    (tmp_path / "lists").mkdir()
    for name, part in (("train", ids[:6]), ("dev", ids[6:7]), ("eval", ids[7:])):
        (tmp_path / "lists" / f"{name}.ids").write_text("\n".join(part) + "\n")
    conversion = readme_block("A real over-smoothed system to enhance")
    enhancement = readme_block("Enhancing that system's output")
    assert conversion[0].startswith("vawgan parallel-corpus") and any(" enhance " in f" {line} " for line in enhancement)
    for line in conversion[1:] + enhancement:
        r = subprocess.run(["bash", "-euo", "pipefail", "-c", line], cwd=tmp_path, env=env, capture_output=True,
                           text=True, timeout=900)
        assert r.returncode == 0, f"{line}\n{r.stdout[-2000:]}\n{r.stderr[-2000:]}"
    assert (tmp_path / "eval/metrics.json").is_file()
    for out in ("enhanced", "gv"):
        assert (tmp_path / out / f"{ids[7]}.wav").is_file()
