"""Seq2seq training throughput, measured side by side in one run (never a timed unit test).

On the same CMUdict training words and the same model (embedding/hidden 256, bidirectional GRU
encoder, Bahdanau attention), compares target tokens per second of
  batched    the trainer core: bucketed padded mini-batches of 128, Adam, gradient clipping,
             log.csv and periodic checkpoints included
  one-by-one one sentence per step with SGD, as the classic tutorial loop trains: no padding,
             no batching
and prints the ratio. Usage: python benchmarks/bench_seq2seq.py [--quick] [--seconds S]
"""

from __future__ import annotations

import argparse
import tempfile
import time

import torch

from vawgan_tts.batching import SequenceBatches
from vawgan_tts.data.text import EOS_ID, SOS_ID, Vocab, tokenize
from vawgan_tts.runs.seq2seq import Seq2SeqDataConfig, encode_pairs, raw_pairs, split_pairs
from vawgan_tts.tasks.seq2seq import Seq2SeqConfig, Seq2SeqTask
from vawgan_tts.trainer import Trainer, TrainerConfig, seed_everything


class _Budget:
    """Epoch-free stop: an iterable of batches that ends after ``seconds``."""

    def __init__(self, inner: SequenceBatches, seconds: float):
        self.inner, self.seconds = inner, seconds
        self.tokens = 0
        self.elapsed = 0.0

    def __len__(self):
        return len(self.inner)

    def epoch(self, generator, start=0):
        t0 = time.perf_counter()
        for batch in self.inner.epoch(generator, start):
            if time.perf_counter() - t0 > self.seconds:
                break
            self.tokens += int((batch[3] != 0).sum())
            yield batch
            self.elapsed = time.perf_counter() - t0


def batched(pairs, sv, tv, seconds: float) -> float:
    seed_everything(0)
    task = Seq2SeqTask(Seq2SeqConfig(epochs=1), sv.itos, tv.itos, {"task": "g2p", "src_tokens": "letters", "tgt_tokens": "space"})
    budget = _Budget(SequenceBatches(pairs, 128, SOS_ID, EOS_ID), seconds)
    with tempfile.TemporaryDirectory() as d:
        Trainer(task, budget, d, TrainerConfig(batch_size=128, grad_clip=1.0, checkpoint_every=500), progress=False).fit()
    return budget.tokens / budget.elapsed


def one_by_one(pairs, sv, tv, seconds: float) -> float:
    seed_everything(0)
    task = Seq2SeqTask(Seq2SeqConfig(epochs=1), sv.itos, tv.itos)
    opt = torch.optim.SGD(task.model.parameters(), lr=0.01)
    task.model.train()
    tokens, t0 = 0, time.perf_counter()
    for src, tgt in pairs:
        if time.perf_counter() - t0 > seconds:
            break
        s = torch.tensor([src])
        tin, tout = torch.tensor([[SOS_ID, *tgt]]), torch.tensor([[*tgt, EOS_ID]])
        logits = task.model(s, torch.tensor([len(src)]), tin)
        loss = torch.nn.functional.cross_entropy(logits[0], tout[0])
        opt.zero_grad()
        loss.backward()
        opt.step()
        tokens += len(tgt) + 1
    return tokens / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="5 s per loop instead of 60")
    ap.add_argument("--seconds", type=float, default=None)
    args = ap.parse_args()
    seconds = args.seconds or (5.0 if args.quick else 60.0)
    data = Seq2SeqDataConfig()
    train = split_pairs(raw_pairs(data), data)["train"]
    sv = Vocab.build(tokenize(a, "letters") for a, _ in train)
    tv = Vocab.build(tokenize(b, "space") for _, b in train)
    pairs = encode_pairs(train, sv, tv, ("letters", "space"), 100)
    g = torch.Generator().manual_seed(0)
    pairs = [pairs[i] for i in torch.randperm(len(pairs), generator=g).tolist()]
    print(f"{len(pairs)} CMUdict training pairs; {seconds:.0f} s per loop; torch threads {torch.get_num_threads()}")
    b = batched(pairs, sv, tv, seconds)
    o = one_by_one(pairs, sv, tv, seconds)
    print(f"batched trainer (batch 128): {b:10.0f} target tokens/s")
    print(f"one sentence per SGD step:   {o:10.0f} target tokens/s")
    print(f"ratio batched / one-by-one:  {b / o:10.1f}×")


if __name__ == "__main__":
    main()
