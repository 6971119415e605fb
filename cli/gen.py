"""`gen`: generative models on the same trainer core as the speech path (image, toy, seq2seq)."""

from __future__ import annotations

import typer

app = typer.Typer(
    help="Image VAE/GAN/WGAN, the 5×5 Gaussian-mixture WGAN study and seq2seq, on vawgan-tts's trainer core.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def main() -> None:
    """Generative-model playground sharing vawgan-tts's trainer core."""


if __name__ == "__main__":
    app()
