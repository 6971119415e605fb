"""Tasks: the math of one training step per task; the trainer calls them through one protocol."""
