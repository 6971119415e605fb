"""Mini-batches drawn by index from tensors held in memory (or memory-mapped)."""

from __future__ import annotations

from typing import Iterator

import torch


class TensorBatches:
    """Shuffled mini-batches of the rows of one or more equally long tensors.

    An epoch is one permutation drawn from the generator the trainer passes in, so an epoch is
    reproducible from (seed, stage, epoch) alone and a resumed run can skip the batches it did.
    Yields a tensor (one input) or a tuple of tensors.
    """

    def __init__(self, *tensors: torch.Tensor, batch_size: int, shuffle: bool = True, drop_last: bool = False):
        if not tensors or any(len(t) != len(tensors[0]) for t in tensors):
            raise ValueError("need one or more tensors of equal length")
        if len(tensors[0]) == 0:
            raise ValueError("no rows to batch")
        self.tensors = tensors
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.drop_last = drop_last and len(tensors[0]) >= batch_size

    @property
    def n_rows(self) -> int:
        return len(self.tensors[0])

    def __len__(self) -> int:
        n, b = self.n_rows, self.batch_size
        return n // b if self.drop_last else -(-n // b)

    def epoch(self, generator: torch.Generator, start: int = 0) -> Iterator:
        order = torch.randperm(self.n_rows, generator=generator) if self.shuffle else torch.arange(self.n_rows)
        for i in range(start, len(self)):
            idx = order[i * self.batch_size : (i + 1) * self.batch_size]
            rows = tuple(t[idx] for t in self.tensors)
            yield rows[0] if len(rows) == 1 else rows
