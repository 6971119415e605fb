"""`python -m vawgan_tts …` is the `vawgan` command."""

from vawgan_tts.cli.vawgan import app

app(prog_name="vawgan")
