"""Runs of the `gen` tasks (image VAE/GAN/WGAN, toy WGAN, seq2seq): data, task, trainer and the
per-epoch hooks that write what a person looks at. The loop itself is :mod:`vawgan_tts.trainer`."""
