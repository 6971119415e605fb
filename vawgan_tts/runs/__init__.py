"""Runs: each one turns a configuration into an experiment folder — data, task, trainer, the epoch
hooks that write what a person looks at — and loads what it trained back. The folder itself (config
file, metrics file, checkpoint paths, whether a run may continue or must refuse) is :mod:`.folder`;
the loop is :mod:`vawgan_tts.trainer`, the step math :mod:`vawgan_tts.tasks`."""
