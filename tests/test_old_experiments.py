"""Experiments written before issue 26's restructuring still open through the commands and give what
they gave then: tests/data/experiments/ was made by make_experiments.py beside it at commit 84ee477
(tiny models on real slt / Allison features; expected.npz holds each system's mel-cepstrum of one held-out
prompt then). Every kind that a command opens: the enhancement VAWGAN (`synth`), the parallel converter
and its adversarial converter (`convert`), the pair post-filter, frame and conv, with a swept weight
(`enhance`), VAWGAN-VC (`convert --to`)."""

import shutil
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from vawgan_tts.cli.vawgan import app
from vawgan_tts.features import load_features

OLD = Path(__file__).parent / "data" / "experiments"
runner = CliRunner()


@pytest.fixture(scope="module")
def old(tmp_path_factory) -> Path:
    """A copy: opening an experiment may cache statistics in it, never in the repository."""
    root = tmp_path_factory.mktemp("old") / "experiments"
    shutil.copytree(OLD, root)
    return root


@pytest.fixture(scope="module")
def expected() -> dict[str, np.ndarray]:
    with np.load(OLD / "expected.npz") as z:
        return {k.replace("__", "/"): z[k] for k in z.files}


def _run(args, out: Path, utt: str) -> np.ndarray:
    result = runner.invoke(app, [*map(str, args), "-o", str(out)])
    assert result.exit_code == 0, result.output
    return load_features(out / f"{utt}.npz").mcep


CASES = {
    "vawgan/vae": ["synth", "@inputs/feats8k", "-m", "@vawgan", "--system", "vae"],
    "vawgan/vawgan": ["synth", "@inputs/feats8k", "-m", "@vawgan", "--system", "vawgan"],
    "converter/dnn": ["convert", "@inputs/slt", "-m", "@converter"],
    "converter/adv": ["convert", "@inputs/slt", "-m", "@converter", "--adversarial", "0.5"],
    "postfilter_frame/vawgan": ["enhance", "@inputs/slt", "-m", "@postfilter_frame"],
    "postfilter_frame/vae": ["enhance", "@inputs/slt", "-m", "@postfilter_frame", "--method", "vae"],
    "postfilter_frame/gv-pf": ["enhance", "@inputs/slt", "-m", "@postfilter_frame", "--method", "gv-pf"],
    "postfilter_frame/ms-pf": ["enhance", "@inputs/slt", "-m", "@postfilter_frame", "--method", "ms-pf"],
    "postfilter_frame/vawgan-w0.5": ["enhance", "@inputs/slt", "-m", "@postfilter_frame", "--adv-weight", "0.5"],
    "postfilter_conv/vawgan": ["enhance", "@inputs/slt", "-m", "@postfilter_conv"],
    "postfilter_conv/vae": ["enhance", "@inputs/slt", "-m", "@postfilter_conv", "--method", "vae"],
    "vc/adv": ["convert", "@inputs/slt", "-m", "@vc", "--to", "natural", "--from", "slt"],
    "vc/vae": ["convert", "@inputs/slt", "-m", "@vc", "--to", "natural", "--from", "slt", "--stage", "vae"],
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_an_old_experiment_opens_and_gives_what_it_gave(case, old, expected, tmp_path):
    args = [old / a[1:] if a.startswith("@") else a for a in CASES[case]]  # @: a path in the copy
    utt = "vm-and" if case.startswith("vawgan/") else "digits_6"
    got = _run(args, tmp_path / "out", utt)
    np.testing.assert_allclose(got, expected[case], rtol=1e-5, atol=1e-5)


def test_every_old_system_is_tested(expected):
    assert set(CASES) == set(expected)
