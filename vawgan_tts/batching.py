"""Mini-batches drawn by index from tensors held in memory (or memory-mapped)."""

from __future__ import annotations

import copy
from typing import Iterator, Sequence

import numpy as np
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
        self.rank, self.world = 0, 1

    def shard(self, rank: int, world: int) -> "TensorBatches":
        """This process's share under data parallelism: of each epoch's batches (the same
        permutation on every rank), numbers ``rank``, ``rank + world``, …; every rank gets
        the same count, so none waits for a batch the others lack."""
        return _sharded(self, rank, world)

    @property
    def n_rows(self) -> int:
        return len(self.tensors[0])

    def _all_batches(self) -> int:
        n, b = self.n_rows, self.batch_size
        return n // b if self.drop_last else -(-n // b)

    def __len__(self) -> int:
        return self._all_batches() // self.world

    def epoch(self, generator: torch.Generator, start: int = 0) -> Iterator:
        order = _permutation(self.n_rows, generator) if self.shuffle else torch.arange(self.n_rows)
        for i in range(start, len(self)):
            j = i * self.world + self.rank
            yield self.gather(order[j * self.batch_size : (j + 1) * self.batch_size])

    def gather(self, idx: torch.Tensor):
        """The batch of rows ``idx``: one indexed copy per tensor, no Python loop over rows."""
        rows = tuple(t[idx] for t in self.tensors)
        return rows[0] if len(rows) == 1 else rows


def _permutation(n: int, generator: torch.Generator) -> torch.Tensor:
    """A random order of ``n`` rows; int32 where it fits (4 bytes per row of a large corpus, not 8)."""
    return torch.randperm(n, generator=generator, dtype=torch.int32 if n < 2**31 else torch.int64)


def _sharded(batches, rank: int, world: int):
    if not 0 <= rank < world:
        raise ValueError(f"rank {rank} outside 0..{world - 1}")
    out = copy.copy(batches)
    out.rank, out.world = rank, world
    if len(out) == 0:
        raise ValueError(f"{batches._all_batches()} batches per epoch cannot be shared by {world} processes")
    return out


class SequenceBatches:
    """Padded mini-batches of (source ids, target ids) pairs, sentences of similar length together.

    An epoch shuffles the pairs with the trainer's generator, sorts each window of ``bucket``
    batches by source length, cuts it into batches and shuffles the batch order: little padding,
    still random, reproducible from (seed, stage, epoch). Yields ``(src, src_len, tgt_in, tgt_out)``:
    src (B, S) and targets (B, T) right-padded with 0; tgt_in starts with SOS, tgt_out ends with EOS.
    """

    def __init__(self, pairs: list[tuple[list[int], list[int]]], batch_size: int, sos: int, eos: int,
                 bucket: int = 50, shuffle: bool = True):
        if not pairs:
            raise ValueError("no sentence pairs to batch")
        self.pairs, self.batch_size, self.sos, self.eos = pairs, int(batch_size), sos, eos
        self.bucket, self.shuffle = bucket, shuffle
        self.rank, self.world = 0, 1

    def shard(self, rank: int, world: int) -> "SequenceBatches":
        """This process's share under data parallelism (as :meth:`TensorBatches.shard`)."""
        return _sharded(self, rank, world)

    def _all_batches(self) -> int:
        return -(-len(self.pairs) // self.batch_size)

    def __len__(self) -> int:
        return self._all_batches() // self.world

    def _order(self, generator: torch.Generator) -> list[list[int]]:
        n, b = len(self.pairs), self.batch_size
        order = torch.randperm(n, generator=generator).tolist() if self.shuffle else list(range(n))
        batches = []
        window = b * self.bucket
        for w in range(0, n, window):
            chunk = sorted(order[w:w + window], key=lambda i: len(self.pairs[i][0]))
            batches += [chunk[i:i + b] for i in range(0, len(chunk), b)]
        if self.shuffle:
            perm = torch.randperm(len(batches), generator=generator).tolist()
            batches = [batches[i] for i in perm]
        return batches

    def collate(self, idx: list[int]):
        src = [self.pairs[i][0] for i in idx]
        tgt = [self.pairs[i][1] for i in idx]
        s = torch.zeros(len(idx), max(len(x) for x in src), dtype=torch.long)
        t = torch.zeros(len(idx), max(len(y) for y in tgt) + 1, dtype=torch.long)
        t_out = torch.zeros_like(t)
        for j, (x, y) in enumerate(zip(src, tgt)):
            s[j, : len(x)] = torch.tensor(x)
            t[j, : len(y) + 1] = torch.tensor([self.sos, *y])
            t_out[j, : len(y) + 1] = torch.tensor([*y, self.eos])
        return s, torch.tensor([len(x) for x in src]), t, t_out

    def epoch(self, generator: torch.Generator, start: int = 0) -> Iterator:
        mine = self._order(generator)[self.rank::self.world][: len(self)]
        for idx in mine[start:]:
            yield self.collate(idx)


class SegmentBatches:
    """Mini-batches of random crops of ``length`` frames, for models over time.

    ``paired``: streams cut at the same places (e.g. a system's trajectory, the natural trajectory
    on its time axis, a mask of the frames that have a target), each a list of per-utterance tensors
    (T_i, …) with the same T_i across streams. ``free``: streams cropped at places of their own
    (e.g. natural utterances for a critic, which need not be the same prompts). An epoch draws
    ``crops`` crops (default: as many as fit end to end in the paired frames, so an epoch sees about
    every frame once), each uniform over every start that keeps the crop inside one utterance, from
    the trainer's generator: reproducible from (seed, stage, epoch). Yields a tuple: each paired
    stream's crops (B, length, …), then each free stream's. ``paired_within`` / ``free_within``:
    per utterance a (T_i,) boolean of the frames a crop may cover (e.g. speech only); a crop then
    starts only where all its frames are allowed. ``per_utterance``: a crop's utterance is drawn
    uniformly over the utterances that have a start, then its start uniformly within it (paired and
    free streams alike), so each utterance weighs alike, as the corpus figures weigh them; otherwise
    uniformly over every start, so an utterance weighs by its number of starts (T_i − length + 1).
    """

    def __init__(self, paired: Sequence[Sequence[torch.Tensor]], length: int, batch_size: int,
                 free: Sequence[Sequence[torch.Tensor]] = (), crops: int | None = None,
                 paired_within: Sequence[np.ndarray] | None = None, free_within: Sequence[np.ndarray] | None = None,
                 per_utterance: bool = False):
        if not paired or not paired[0]:
            raise ValueError("no utterances to crop")
        lengths = [len(u) for u in paired[0]]
        if any([len(u) for u in s] != lengths for s in paired):
            raise ValueError("paired streams must hold utterances of equal lengths")
        self.length, self.batch_size = int(length), int(batch_size)
        self.paired, self.paired_starts, paired_weights = self._stack(paired, self.length, paired_within)
        self.free, self.free_starts, free_weights = (self._stack(free, self.length, free_within) if free
                                                     else ((), None, None))
        # Per start, the chance of drawing it (None: uniform over starts)
        self.paired_weights, self.free_weights = (paired_weights, free_weights) if per_utterance else (None, None)
        self.crops = int(crops) if crops else max(self.batch_size, sum(lengths) // self.length)
        self.rank, self.world = 0, 1

    @staticmethod
    def _stack(streams: Sequence[Sequence[torch.Tensor]], length: int, within: Sequence[np.ndarray] | None = None
               ) -> tuple[tuple[torch.Tensor, ...], torch.Tensor, torch.Tensor]:
        """Each stream's utterances end to end, every start index whose crop stays in one
        utterance (and, with ``within``, covers allowed frames only), and per start the weight that
        makes each utterance with a start equally likely: 1 / (its starts · the utterances with one)."""
        sizes = [len(u) for u in streams[0]]
        if any(len(s) != len(sizes) for s in streams):
            raise ValueError("streams cropped together must hold the same utterances")
        if max(sizes) < length:
            raise ValueError(f"no utterance has {length} frames to crop")
        offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        starts = [o + crop_starts(n, length, None if within is None else within[i])
                  for i, (o, n) in enumerate(zip(offsets, sizes))]
        counts = [len(st) for st in starts if len(st)]
        starts = np.concatenate(starts)
        if not len(starts):
            raise ValueError(f"no crop of {length} frames lies within the allowed frames of any utterance")
        weights = np.concatenate([np.full(n, 1.0 / n) for n in counts]) / len(counts)
        return tuple(torch.cat(list(s)) for s in streams), torch.from_numpy(starts), torch.from_numpy(weights)

    def shard(self, rank: int, world: int) -> "SegmentBatches":
        """This process's share under data parallelism (as :meth:`TensorBatches.shard`)."""
        return _sharded(self, rank, world)

    def _all_batches(self) -> int:
        return -(-self.crops // self.batch_size)

    def __len__(self) -> int:
        return self._all_batches() // self.world

    def _draw(self, starts: torch.Tensor, weights: torch.Tensor | None, generator: torch.Generator) -> torch.Tensor:
        """``self.crops`` indices into ``starts``: uniform, or by ``weights``."""
        if weights is None:
            return torch.randint(len(starts), (self.crops,), generator=generator)
        return torch.multinomial(weights, self.crops, replacement=True, generator=generator)

    def epoch(self, generator: torch.Generator, start: int = 0) -> Iterator:
        picks = self._draw(self.paired_starts, self.paired_weights, generator)
        free = (self._draw(self.free_starts, self.free_weights, generator)
                if self.free_starts is not None else None)
        span = torch.arange(self.length)
        for i in range(start, len(self)):
            j = i * self.world + self.rank
            sel = slice(j * self.batch_size, (j + 1) * self.batch_size)
            idx = self.paired_starts[picks[sel]][:, None] + span
            out = tuple(s[idx] for s in self.paired)
            if free is not None:
                idx = self.free_starts[free[sel]][:, None] + span
                out += tuple(s[idx] for s in self.free)
            yield out


def edge_padded(a: np.ndarray, length: int) -> np.ndarray:
    """``a`` (T, …) with its last frame repeated up to ``length`` frames (as it is when T >= length):
    the models' padding convention (the edge frame repeats)."""
    return np.concatenate([a, np.repeat(a[-1:], max(0, length - len(a)), axis=0)])


def consecutive_crops(utterances: Sequence[torch.Tensor], length: int) -> torch.Tensor:
    """Each utterance (T_i >= ``length``, …) cut into consecutive crops of ``length`` frames, the last
    one ending at the utterance's end: (N, length, …), a fixed batch (the dev figures of models over time)."""
    return torch.stack([u[s:s + length] for u in utterances
                        for s in [*range(0, len(u) - length + 1, length), len(u) - length]])


def crop_starts(n: int, length: int, allowed: np.ndarray | None = None) -> np.ndarray:
    """The starts s of every crop [s, s + length) inside an utterance of ``n`` frames, and with
    ``allowed`` ((n,) bool) every frame of which is allowed: (k,) int64."""
    if n < length:
        return np.zeros(0, np.int64)
    if allowed is None:
        return np.arange(n - length + 1)
    barred = np.concatenate([[0], np.cumsum(~np.asarray(allowed, bool))])  # barred frames before each index
    return np.flatnonzero(barred[length:] - barred[:-length] == 0)


def frame_positions(n: int, length: int = 0) -> np.ndarray:
    """(max(n, length), 2): each frame's index in its utterance and the frames after it, for an
    utterance of ``n`` frames padded to ``length`` (a padded utterance ends at its padding's end)."""
    total = max(n, length)
    index = np.arange(total)
    return np.stack([index, total - 1 - index], axis=1).astype(np.float32)


def crop_interior(positions: torch.Tensor, margin: int) -> torch.Tensor:
    """(B, L, 2) crops of :func:`frame_positions` -> (B, L) float: 1 where a frame of a crop has
    everything within ``margin`` frames of it inside the crop, or reaches past the crop only where
    the crop's edge is its utterance's own (padded alike when the whole utterance is converted); 0
    where a stride-1 model of receptive field 2·margin + 1 would see padding the whole utterance
    does not have there."""
    length = positions.shape[1]
    j = torch.arange(length, device=positions.device)
    at_start = (positions[:, :1, 0] == 0)  # (B, 1): the crop begins where its utterance begins
    at_end = (positions[:, -1:, 1] == 0)
    left = (j >= margin)[None] | at_start
    right = (length - 1 - j >= margin)[None] | at_end
    return (left & right).float()
