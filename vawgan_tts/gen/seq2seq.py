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
from typing import Callable, Iterable, Sequence

import numpy as np
import torch

from ..batching import SequenceBatches
from ..checkpoint import load_checkpoint
from ..choices import SEQ2SEQ_TASKS, SOURCE_TOKENIZERS, TARGET_TOKENIZERS
from ..config import check_choice, from_dict
from ..data.text import (EOS_ID, SOS_ID, Vocab, detokenize, load_cmudict, read_pairs_tsv, split_of,
                         tokenize)
from ..errors import VawganError
from ..fileio import write_text_atomic
from ..models.seq2seq import Hypothesis, beam_search, greedy_decode
from ..tasks.seq2seq import Seq2SeqConfig, Seq2SeqTask
from ..trainer import CHECKPOINTS, LAST, LOG_CSV, Trainer, TrainerConfig, choose_device, read_log, seed_everything
from .common import METRICS, EpochRecord, save_run_config

BEST = "best.pt"
SPLITS = ("train", "dev", "test")


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


class DevMonitor:
    """Epoch hook: dev loss; ``best.pt`` when it improves, else the learning rate times ``lr_decay``
    (the optimizer's state, and so the lowered rate, is in every checkpoint); stop after
    ``patience`` epochs without improvement or once the training time passes ``max_minutes``."""

    def __init__(self, exp_dir: Path, dev: SequenceBatches, config: Seq2SeqConfig, resume: bool):
        self.exp_dir, self.dev, self.config = exp_dir, dev, config
        self.record = EpochRecord(exp_dir / METRICS, keep_old=resume)
        self.start = time.monotonic()
        self.minutes_before = 0.0
        self.best, self.since_best = math.inf, 0
        if resume and (exp_dir / METRICS).is_file():
            import json

            old = json.loads((exp_dir / METRICS).read_text()).get("epochs", [])
            if old:
                self.minutes_before = old[-1].get("train_minutes", 0.0)
                self.best = min(e["dev_loss"] for e in old)
                self.since_best = len(old) - 1 - int(np.argmin([e["dev_loss"] for e in old]))

    def __call__(self, trainer: Trainer, stage: str, epoch: int) -> bool:
        minutes = self.minutes_before + (time.monotonic() - self.start) / 60
        dev_loss = mean_loss(trainer.task, self.dev, trainer.device)
        improved = dev_loss < self.best
        if improved:
            self.best, self.since_best = dev_loss, 0
            trainer.save(trainer.checkpoint_dir / BEST)
        else:
            self.since_best += 1
            for opt in trainer.optimizers.values():
                for group in opt.param_groups:
                    group["lr"] *= self.config.lr_decay
        lr = trainer.optimizers["model"].param_groups[0]["lr"]
        out_of_time = self.config.max_minutes > 0 and minutes >= self.config.max_minutes
        stop = self.since_best >= self.config.patience or out_of_time
        last = stop or epoch + 1 == self.config.epochs
        self.record.add({"epoch": epoch + 1, "step": trainer.position.step, "dev_loss": round(dev_loss, 5),
                         "best_dev_loss": round(self.best, 5), "lr": lr, "train_minutes": round(minutes, 2),
                         "stopped": ("patience" if self.since_best >= self.config.patience else "time") if stop else ""},
                        final=last)
        return stop


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
    hooks = [] if dry_run else [DevMonitor(exp_dir, dev, cfg.seq2seq, resume)]
    trainer = Trainer(task, train, exp_dir, cfg.train, progress=progress, hooks=hooks)
    if not dry_run and trainer.is_main:
        save_run_config(exp_dir, cfg)
        if not resume:
            for s, pairs in splits.items():
                write_split(exp_dir / "data" / f"{s}.tsv", pairs)
    trainer.fit(resume=resume, dry_run=dry_run, overwrite=overwrite)
    if not dry_run and trainer.is_main:
        from ..plots import plot_curves

        import json

        rows = json.loads((exp_dir / METRICS).read_text())["epochs"]
        plot_curves(read_log(exp_dir / LOG_CSV), [("cross-entropy per token (nats)", ("loss",))],
                    exp_dir / "curves.png",
                    {"dev loss": (np.array([r["step"] for r in rows]), np.array([r["dev_loss"] for r in rows]))})
    return trainer


# ------------------------------------------------------------------------------ inference


@dataclasses.dataclass
class Translator:
    task: Seq2SeqTask
    src_vocab: Vocab
    tgt_vocab: Vocab
    kinds: tuple[str, str]
    g2p: bool
    device: torch.device
    checkpoint: Path

    @property
    def max_len(self) -> int:
        return self.task.config.max_len

    def encode(self, text: str) -> tuple[list[int], list[str]]:
        """Source ids and the tokens the model has never seen (mapped to <unk>)."""
        toks = tokenize(text, self.kinds[0])
        if not toks:
            raise VawganError(None, "empty input")
        if len(toks) > self.max_len:
            raise VawganError(None, f"input of {len(toks)} tokens is longer than this model's limit of {self.max_len}")
        return self.src_vocab.encode(toks), self.src_vocab.unknown(toks)

    def decode_ids(self, srcs: Sequence[list[int]], beam: int = 1, n_best: int = 1, batch: int = 256,
                   max_len: int | None = None) -> list[list[Hypothesis]]:
        """Hypotheses per source (best first): batched greedy for beam 1, else beam search."""
        max_len = max_len or self.max_len
        out: list[list[Hypothesis]] = []
        self.task.model.eval()
        if beam == 1 and n_best == 1:
            for i in range(0, len(srcs), batch):
                chunk = srcs[i:i + batch]
                src = torch.zeros(len(chunk), max(len(s) for s in chunk), dtype=torch.long)
                for j, s in enumerate(chunk):
                    src[j, : len(s)] = torch.tensor(s)
                lens = torch.tensor([len(s) for s in chunk])
                out += [[h] for h in greedy_decode(self.task.model, src.to(self.device), lens, max_len, SOS_ID, EOS_ID)]
            return out
        for s in srcs:
            src = torch.tensor([s], device=self.device)
            out.append(beam_search(self.task.model, src, torch.tensor([len(s)]), beam, max_len, SOS_ID, EOS_ID,
                                   n_best=n_best))
        return out

    def output_text(self, h: Hypothesis) -> str:
        return detokenize(self.tgt_vocab.decode(h.ids), self.kinds[1])

    def units(self, text: str) -> list[str]:
        """What one input line is translated as: for G2P each word, else the whole line."""
        from ..data.text import clean_text

        text = clean_text(text)
        return text.split() if self.g2p else ([text] if text else [])


def load_translator(exp_dir: str | Path, device: str = "auto") -> Translator:
    exp_dir = Path(exp_dir)
    ckdir = exp_dir / CHECKPOINTS
    path = next((p for p in (ckdir / BEST, ckdir / "train.pt", ckdir / LAST) if p.is_file()), None)
    if path is None:
        raise VawganError(exp_dir, "no seq2seq checkpoint (train one with `gen seq2seq train -o EXP`)")
    ckpt = load_checkpoint(path, Seq2SeqTask.name)
    cfg = from_dict(Seq2SeqConfig, ckpt["config"], path)
    extra = ckpt["extra"]
    task = Seq2SeqTask(cfg, extra["src_vocab"], extra["tgt_vocab"], extra)
    try:
        task.model.load_state_dict(ckpt["model"]["model"])
    except (KeyError, RuntimeError) as e:
        raise VawganError(path, f"does not fit its own configuration ({str(e).splitlines()[0][:200]})") from None
    dev = choose_device(device)
    task.model.to(dev).eval()
    return Translator(task, Vocab(extra["src_vocab"]), Vocab(extra["tgt_vocab"]),
                      (extra["src_tokens"], extra["tgt_tokens"]), extra["task"] == "g2p", dev, path)


# ----------------------------------------------------------------------------------- eval


def g2p_scores(hyps: dict[str, list[str]], refs: dict[str, list[list[str]]]) -> dict[str, float]:
    """PER: phone edit distance to the closest reference pronunciation over the phones of that
    reference, summed over words; WER: share of words whose output matches no reference."""
    from rapidfuzz.distance import Levenshtein

    errors = length = wrong = 0
    for word, hyp in hyps.items():
        dists = [(Levenshtein.distance(hyp, r), len(r)) for r in refs[word]]
        d, n = min(dists)
        errors, length, wrong = errors + d, length + n, wrong + (d > 0)
    return {"per": 100.0 * errors / max(length, 1), "wer": 100.0 * wrong / max(len(hyps), 1), "words": len(hyps)}


def bleu_scores(hyps: Sequence[str], refs: Sequence[str]) -> dict[str, float]:
    import sacrebleu

    return {"bleu": sacrebleu.corpus_bleu(list(hyps), [list(refs)]).score,
            "chrf": sacrebleu.corpus_chrf(list(hyps), [list(refs)]).score, "sentences": len(hyps)}


DECODE_CHUNK = 256  # inputs decoded per batch call (batched greedy equals one-by-one decoding)


def evaluate_seq2seq(exp_dir: str | Path, split: str = "test", beam: int = 1, limit: int = 0,
                     n_attention: int = 4, device: str = "auto",
                     on_progress: Callable[[int, int], None] | None = None) -> dict:
    """Decode a split of the run's own data; PER/WER (g2p) or BLEU/chrF (pairs) → EXP/eval.json."""
    import json

    from ..plots import attention_map

    exp_dir = Path(exp_dir)
    if split not in SPLITS:
        raise VawganError(None, f"unknown split {split!r}; choose from {', '.join(SPLITS)}")
    tr = load_translator(exp_dir, device)
    pairs = read_pairs_tsv(exp_dir / "data" / f"{split}.tsv")
    refs: dict[str, list[str]] = {}
    for a, b in pairs:
        refs.setdefault(a, []).append(b)
    sources = list(refs)[:limit] if limit else list(refs)
    encoded = [tr.src_vocab.encode(tokenize(s, tr.kinds[0])[: tr.max_len]) for s in sources]
    t0 = time.monotonic()
    hyps = []
    for k in range(0, len(encoded), DECODE_CHUNK):
        hyps += [h[0] for h in tr.decode_ids(encoded[k : k + DECODE_CHUNK], beam=beam)]
        if on_progress is not None:
            on_progress(len(hyps), len(encoded))
    seconds = time.monotonic() - t0
    if tr.g2p:
        scores = g2p_scores({s: tr.tgt_vocab.decode(h.ids) for s, h in zip(sources, hyps)},
                            {s: [r.split() for r in refs[s]] for s in sources})
    else:
        scores = bleu_scores([tr.output_text(h) for h in hyps], [refs[s][0] for s in sources])
    examples = []
    for i, (s, h) in enumerate(zip(sources, hyps)):
        if i < 20:
            examples.append({"source": s, "output": tr.output_text(h), "references": refs[s]})
        if i < n_attention:
            attention_map(h.attention.numpy(), tokenize(s, tr.kinds[0]), [*tr.tgt_vocab.decode(h.ids), "</s>"],
                          exp_dir / "attention" / f"{split}_{i:02d}.png", title=f"{s} → {tr.output_text(h)}")
    result = {"split": split, "beam": beam, "checkpoint": tr.checkpoint.name, "decode_seconds": round(seconds, 2),
              **{k: (round(v, 3) if isinstance(v, float) else v) for k, v in scores.items()}, "examples": examples}
    write_text_atomic(exp_dir / "eval.json", json.dumps(result, indent=1, ensure_ascii=False) + "\n")
    return result


def translate_lines(tr: Translator, lines: Iterable[str], beam: int = 1, n_best: int = 1):
    """Per input line: (outputs — one string per n-best rank, G2P words joined by ' | ' —, the
    unknown tokens met, an error message or None)."""
    for line in lines:
        units = tr.units(line)
        if not units:
            yield [], [], "empty input"
            continue
        try:
            enc = [tr.encode(u) for u in units]
        except VawganError as e:
            yield [], [], e.reason
            continue
        unknown = sorted({t for _, unk in enc for t in unk})
        per_unit = tr.decode_ids([ids for ids, _ in enc], beam=beam, n_best=n_best)
        ranks = min(len(h) for h in per_unit)
        outputs = [" | ".join(tr.output_text(h[r]) for h in per_unit) for r in range(ranks)]
        yield outputs, unknown, None
