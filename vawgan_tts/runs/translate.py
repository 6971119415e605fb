"""Using a trained seq2seq run: translating text (greedy or beam), and scoring a split of the run's
own data (PER/WER for g2p, BLEU/chrF with sacrebleu for sentence pairs) into ``EXP/eval.json``.
Training lives in :mod:`.seq2seq`, decoding in :mod:`..models.seq2seq_decoding`."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Callable, Iterable, Sequence

import torch

from ..checkpoint import load_checkpoint, load_parts
from ..choices import SPLITS
from ..config import from_dict
from ..data.text import EOS_ID, SOS_ID, Vocab, detokenize, read_pairs_tsv, tokenize
from ..errors import VawganError
from ..fileio import write_text_atomic
from ..models.seq2seq_decoding import Hypothesis, beam_search, greedy_decode
from ..tasks.seq2seq import Seq2SeqConfig, Seq2SeqTask
from ..distributed import choose_device
from ..trainer import CHECKPOINTS, LAST
from .seq2seq import BEST


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
    load_parts(path, ckpt, task.modules(), "frame")  # seq2seq has no arch option
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
