"""What a new user reads: --version, a help text for every option, defaults and units visible."""

import typer
from typer.testing import CliRunner

from vawgan_tts.cli.gen import app as gen_app
from vawgan_tts.cli.vawgan import app as vawgan_app
from vawgan_tts import __version__

runner = CliRunner()


def _leaves(cmd, path):
    if hasattr(cmd, "commands"):  # a group (typer may carry its own copy of click: no isinstance)
        for name, sub in cmd.commands.items():
            yield from _leaves(sub, [*path, name])
    else:
        yield " ".join(path), cmd


def test_version_on_both_commands():
    assert __version__ and __version__ != "0+unknown"
    for app in (vawgan_app, gen_app):
        r = runner.invoke(app, ["--version"])
        assert r.exit_code == 0 and r.output.strip() == f"vawgan-tts {__version__}"


def test_every_option_has_help_text():
    missing, seen = [], 0
    for name, app in (("vawgan", vawgan_app), ("gen", gen_app)):
        for path, cmd in _leaves(typer.main.get_command(app), [name]):
            seen += 1
            missing += [f"{path} {p.opts[0]}" for p in cmd.params
                        if p.param_type_name == "option" and not (p.help or "").strip()]
    assert seen >= 12  # extract, train, synth, eval, report; image vae|gan|wgan, toy, seq2seq …
    assert not missing, missing


def test_help_shows_bracketed_defaults():
    r = runner.invoke(vawgan_app, ["extract", "--help"], terminal_width=200)
    assert "[default: all cores]" in r.output and "[default: harvest]" in r.output


def test_metric_table_shows_units(tmp_path):
    from vawgan_tts.cli.vawgan import print_metrics
    from vawgan_tts.cli.common import out

    with out.capture() as cap:
        print_metrics({"settings": {"utterances": 2}, "systems": {"a[1]": {
            "gv_distance": 1.0, "ms_distance": 2.0, "mcd_db": 3.0, "gv_ratio": 0.5, "f0_rmse_cents": 12.5,
            "vuv_error": 0.25, "frechet_distance": 4.25, "log_f0_corr": 0.875,
            "ci95": {"mcd_db": [2.5, 3.5], "vuv_error": [0.2, 0.3]}, "p_vs_reference": {"mcd_db": 0.0123}},
            "old": {"gv_distance": 1.0, "ms_distance": 2.0, "mcd_db": 3.0, "gv_ratio": 0.5, "f0_rmse_cents": 12.5,
                    "vuv_error": 0.25}}}, tmp_path)
    text = cap.get()
    for heading in ("logGV [dB]", "MS [dB]", "MCD [dB]", "GV ratio", "F0 [cent]", "V/UV [%]", "FD", "F0 r", "a[1]", "12.5",
                    "25.0", "±5.0", "3.000", "±0.500", "p=0.012", "4.25", "0.875", "–"):
        assert heading in text, text
