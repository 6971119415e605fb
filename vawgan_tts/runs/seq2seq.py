"""Seq2seq runs: ``gen seq2seq train|eval`` and ``gen translate``.

EXP/
  config.toml                [train] [seq2seq] [data]
  data/{train,dev,test}.tsv  the split this run used: source<TAB>target
  log.csv, checkpoints/      the trainer's, plus checkpoints/best.pt (lowest dev loss)
  metrics.json               dev loss per epoch, training minutes; "final"
  eval.json, attention/      from `gen seq2seq eval`
"""

from __future__ import annotations

import dataclasses
import math
import time
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from ..batching import SequenceBatches
from ..checkpoint import load_checkpoint
from ..choices import SEQ2SEQ_TASKS, SOURCE_TOKENIZERS, SPLITS, TARGET_TOKENIZERS
from ..config import check_choice
from ..data.text import (EOS_ID, SOS_ID, Vocab, load_cmudict, read_pairs_tsv, split_of,
                         tokenize)
from ..errors import VawganError
from ..fileio import write_text_atomic
from ..tasks.seq2seq import Seq2SeqConfig, Seq2SeqTask
from ..trainer import CHECKPOINTS, LAST, Trainer, TrainerConfig, seed_everything
from .folder import METRICS, BestDev, fit

BEST = "best.pt"


@dataclasses.dataclass(frozen=True)
class Seq2SeqDataConfig:
    task: str = "g2p"  # g2p: CMUdict letters → ARPAbet; pairs: a TSV of sentence pairs
    pairs: str = ""  # the TSV (task pairs)
    src_tokens: str = "char"  # pairs: char | word | ja   (g2p: letters)
    tgt_tokens: str = "word"  # pairs: char | word        (g2p: phones)
    dev: float = 0.05
    test: float = 0.05
    split_seed: int = 0
    split_by: str = "source"  # pairs sharing this side stay in one split (g2p: the word)
    limit: int = 0  # train on this many pairs only (a fixed random subset); 0: all

    SECTION = "data"

    def __post_init__(self):
        check_choice(self, "task", SEQ2SEQ_TASKS)
        check_choice(self, "split_by", ("source", "target"))
        if self.task == "pairs":
            check_choice(self, "src_tokens", SOURCE_TOKENIZERS)
            check_choice(self, "tgt_tokens", TARGET_TOKENIZERS)

    def tokenizers(self) -> tuple[str, str]:
        return ("letters", "space") if self.task == "g2p" else (self.src_tokens, self.tgt_tokens)


@dataclasses.dataclass(frozen=True)
class Seq2SeqRun:
    train: TrainerConfig = TrainerConfig(batch_size=64, grad_clip=1.0, checkpoint_every=500)
    seq2seq: Seq2SeqConfig = Seq2SeqConfig()
    data: Seq2SeqDataConfig = Seq2SeqDataConfig()


# ------------------------------------------------------------------------------------ data


def raw_pairs(data: Seq2SeqDataConfig) -> list[tuple[str, str]]:
    if data.task == "g2p":
        return [(w, " ".join(p)) for w, p in load_cmudict()]
    if not data.pairs:
        raise VawganError(None, "task pairs needs a TSV file (--pairs FILE.tsv)")
    return read_pairs_tsv(data.pairs)


def split_pairs(pairs: Sequence[tuple[str, str]], data: Seq2SeqDataConfig) -> dict[str, list[tuple[str, str]]]:
    side = 0 if data.split_by == "source" else 1
    out: dict[str, list[tuple[str, str]]] = {s: [] for s in SPLITS}
    for p in pairs:
        out[split_of(p[side], data.dev, data.test, data.split_seed)].append(p)
    if data.limit and len(out["train"]) > data.limit:
        keep = np.sort(np.random.default_rng(data.split_seed).permutation(len(out["train"]))[: data.limit])
        out["train"] = [out["train"][i] for i in keep]
    return out


def write_split(path: Path, pairs: Sequence[tuple[str, str]]) -> None:
    write_text_atomic(path, "".join(f"{a}\t{b}\n" for a, b in pairs))


def encode_pairs(pairs, src_vocab: Vocab, tgt_vocab: Vocab, kinds: tuple[str, str], max_len: int):
    out = []
    for a, b in pairs:
        s, t = tokenize(a, kinds[0]), tokenize(b, kinds[1])
        if 0 < len(s) <= max_len and 0 < len(t) <= max_len:
            out.append((src_vocab.encode(s), tgt_vocab.encode(t)))
    return out


# ----------------------------------------------------------------------------------- hooks


@torch.no_grad()
def mean_loss(task: Seq2SeqTask, batches: SequenceBatches, device) -> float:
    task.model.eval()
    total, tokens = 0.0, 0
    for batch in batches.epoch(torch.Generator()):
        batch = tuple(b.to(device) for b in batch)
        loss, n = task.loss(batch)
        total += float(loss) * int(n)
        tokens += int(n)
    return total / max(tokens, 1)


def dev_monitor(exp_dir: Path, dev: SequenceBatches, config: Seq2SeqConfig, resume: bool) -> BestDev:
    """The dev hook (:class:`.folder.BestDev`): dev loss into ``EXP/metrics.json``, ``best.pt`` when it
    improves, and :class:`Patience`'s rule after it."""
    rule = Patience(exp_dir / METRICS, config, resume)
    hook = BestDev(exp_dir / METRICS, lambda trainer: {"dev_loss": mean_loss(trainer.task, dev, trainer.device)},
                   lambda _: BEST, keep_old=resume, with_stage=False, mark_best=False, extend=rule)
    rule.lowest = hook.lowest
    return hook


class Patience:
    """After each dev epoch: the learning rate times ``lr_decay`` when the dev loss did not improve
    (the optimizer's state, and so the lowered rate, is in every checkpoint); stop after ``patience``
    epochs without improvement or once the training time passes ``max_minutes``."""

    def __init__(self, record: Path, config: Seq2SeqConfig, resume: bool):
        self.config = config
        self.start = time.monotonic()
        self.minutes_before, self.since_best = 0.0, 0
        self.lowest = lambda: math.inf  # the hook's lowest dev loss so far (set by dev_monitor)
        if resume and record.is_file():
            import json

            old = json.loads(record.read_text()).get("epochs", [])
            if old:
                self.minutes_before = old[-1].get("train_minutes", 0.0)
                self.since_best = len(old) - 1 - int(np.argmin([e["dev_loss"] for e in old]))

    def __call__(self, trainer: Trainer, stage: str, epoch: int, entry: dict, improved: bool) -> tuple[bool, bool]:
        minutes = self.minutes_before + (time.monotonic() - self.start) / 60
        self.since_best = 0 if improved else self.since_best + 1
        trainer.report_loss(improved)
        out_of_time = self.config.max_minutes > 0 and minutes >= self.config.max_minutes
        stop = self.since_best >= self.config.patience or out_of_time
        entry |= {"best_dev_loss": round(self.lowest(), 5), "lr": trainer.optimizers["model"].param_groups[0]["lr"],
                  "train_minutes": round(minutes, 2),
                  "stopped": ("patience" if self.since_best >= self.config.patience else "time") if stop else ""}
        return stop, stop or epoch + 1 == self.config.epochs


# ----------------------------------------------------------------------------------- train


def train_seq2seq(exp_dir: str | Path, cfg: Seq2SeqRun, resume: bool = False, dry_run: bool = False,
                  overwrite: bool = False, progress: bool = True) -> Trainer:
    exp_dir = Path(exp_dir)
    seed_everything(cfg.train.seed)
    kinds = cfg.data.tokenizers()
    if resume and (exp_dir / "data" / "train.tsv").is_file():
        splits = {s: read_pairs_tsv(exp_dir / "data" / f"{s}.tsv") for s in ("train", "dev")}
    else:
        splits = split_pairs(raw_pairs(cfg.data), cfg.data)
    for s in ("train", "dev"):
        if not splits[s]:
            raise VawganError(None, f"the {s} split is empty ({len(splits['train'])} training pairs in all)")
    if resume and (exp_dir / CHECKPOINTS / LAST).is_file():
        extra = load_checkpoint(exp_dir / CHECKPOINTS / LAST, Seq2SeqTask.name)["extra"]
        src_vocab, tgt_vocab = Vocab(extra["src_vocab"]), Vocab(extra["tgt_vocab"])
    else:
        src_vocab = Vocab.build(tokenize(a, kinds[0]) for a, _ in splits["train"])
        tgt_vocab = Vocab.build(tokenize(b, kinds[1]) for _, b in splits["train"])
    task = Seq2SeqTask(cfg.seq2seq, src_vocab.itos, tgt_vocab.itos,
                       {"task": cfg.data.task, "src_tokens": kinds[0], "tgt_tokens": kinds[1]})
    max_len = cfg.seq2seq.max_len
    train = SequenceBatches(encode_pairs(splits["train"], src_vocab, tgt_vocab, kinds, max_len),
                            cfg.train.batch_size, SOS_ID, EOS_ID)
    dev = SequenceBatches(encode_pairs(splits["dev"], src_vocab, tgt_vocab, kinds, max_len), 256, SOS_ID, EOS_ID,
                          shuffle=False)
    hooks = [] if dry_run else [dev_monitor(exp_dir, dev, cfg.seq2seq, resume)]
    trainer = Trainer(task, train, exp_dir, cfg.train, progress=progress, hooks=hooks)

    def write_splits():
        if not resume:
            for name, pairs in splits.items():
                write_split(exp_dir / "data" / f"{name}.tsv", pairs)

    def curves(log):
        import json

        from ..plots import plot_curves

        rows = json.loads((exp_dir / METRICS).read_text())["epochs"]
        plot_curves(log, [("cross-entropy per token (nats)", ("loss",))], exp_dir / "curves.png",
                    {"dev loss": (np.array([r["step"] for r in rows]), np.array([r["dev_loss"] for r in rows]))})

    return fit(trainer, exp_dir, cfg, resume=resume, dry_run=dry_run, overwrite=overwrite, curves=curves,
               before_fit=write_splits)
