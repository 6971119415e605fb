"""Nearest-neighbour readout: each query replaced by the mean of the values of its k nearest keys.

kNN-VC (Baas, van Niekerk and Kamper, "Voice conversion with just nearest neighbors", Interspeech 2023)
converts by replacing each source frame's feature with the mean of its k nearest neighbours among the
target speaker's frames. Here (`vawgan convert --knn K`, runs/vawgan_vc.py) the keys are the codes μ
of the target's own training frames and the values their mel-cepstra: what comes out is made of the
target's real frames.
"""

from __future__ import annotations

import torch

from .errors import VawganError

CHUNK = 1024  # queries per distance matrix: (CHUNK, N) floats at a time, whatever the utterance's length


def nearest_mean(queries: torch.Tensor, keys: torch.Tensor, values: torch.Tensor, k: int) -> torch.Tensor:
    """queries (T, L), keys (N, L), values (N, D) -> (T, D): for each query, the mean of ``values`` at the
    ``k`` rows of ``keys`` nearest to it by Euclidean distance (ties: torch.topk's order)."""
    if not 1 <= k <= len(keys):
        raise VawganError(None, f"--knn {k}: choose from 1 to the {len(keys)} frames of the target's pool")
    parts = []
    for start in range(0, len(queries), CHUNK):
        index = torch.cdist(queries[start:start + CHUNK], keys).topk(k, largest=False).indices  # (chunk, k)
        parts.append(values[index].mean(1))
    return torch.cat(parts) if parts else values.new_zeros((0, values.shape[1]))
