"""Sequence-to-sequence training: cross-entropy per target token, teacher forcing ratio."""

from __future__ import annotations

import dataclasses

import torch
import torch.nn.functional as F

from ..config import check_choice, check_ranges
from ..data.text import PAD_ID
from ..models.seq2seq import ATTENTIONS, Seq2Seq
from .base import OneModelTask, PlateauDecay, Stage, StepContext


@dataclasses.dataclass(frozen=True)
class Seq2SeqConfig:
    emb: int = 256
    hidden: int = 256
    bidirectional: bool = True
    attention: str = "bahdanau"  # bahdanau (additive, before the GRU step) | luong (general, after)
    dropout: float = 0.1
    lr: float = 1e-3
    epochs: int = 30
    teacher_forcing: float = 1.0  # probability of feeding the true previous token
    patience: int = 3  # early stopping: epochs without a better dev loss
    lr_decay: float = 0.5  # the learning rate is multiplied by this after an epoch without a better dev loss
    max_minutes: float = 0.0  # stop after the epoch that passes this much training time; 0: no limit
    max_len: int = 100  # longest output decoded, and longest input accepted (tokens)

    SECTION = "seq2seq"

    def __post_init__(self):
        check_choice(self, "attention", ATTENTIONS)
        check_ranges(self, emb=">= 1", hidden=">= 1", dropout="0..1", lr="> 0", epochs=">= 0", teacher_forcing="0..1",
                     patience=">= 1", lr_decay="0..1", max_minutes=">= 0", max_len=">= 1")


class Seq2SeqTask(OneModelTask):
    name = "seq2seq"
    metric_names = ("loss", "tokens")

    def __init__(self, config: Seq2SeqConfig, src_vocab: list[str], tgt_vocab: list[str], extra: dict | None = None):
        self.config = config
        self.stages = (Stage("train", config.epochs),)
        self.model = Seq2Seq(len(src_vocab), len(tgt_vocab), config.emb, config.hidden, config.bidirectional,
                             config.attention, config.dropout)
        self.extra = {"src_vocab": list(src_vocab), "tgt_vocab": list(tgt_vocab), **(extra or {})}
        self.lr_schedule = PlateauDecay(config.lr_decay)  # told the dev loss by the run's epoch hook

    def loss(self, batch, teacher_forcing: float = 1.0) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean cross-entropy per target token (EOS included, padding not) and the token count."""
        src, src_len, tgt_in, tgt_out = batch
        logits = self.model(src, src_len, tgt_in, teacher_forcing)
        loss = F.cross_entropy(logits.flatten(0, 1).float(), tgt_out.flatten(), ignore_index=PAD_ID)
        return loss, (tgt_out != PAD_ID).sum()

    def train_step(self, batch, stage: str, ctx: StepContext) -> dict[str, torch.Tensor]:
        loss, tokens = self.loss(batch, self.config.teacher_forcing)
        ctx.step("model", loss)
        return {"loss": loss.detach(), "tokens": tokens.detach()}
