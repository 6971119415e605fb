"""Datasets: speech frames, images, the toy mixture, text pairs."""
