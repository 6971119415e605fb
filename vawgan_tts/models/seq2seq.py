"""GRU encoder–decoder with attention, teacher-forced in training (decoding: :mod:`.seq2seq_decoding`).

Encoder: embedding → GRU over packed padded batches (bidirectional: hidden/2 per direction, so
the states stay ``hidden`` wide). Decoder, one GRU cell step per token:
  bahdanau  c_t = attend(h_{t−1});  h_t = GRU([e(y_{t−1}); c_t], h_{t−1})   (additive scores)
  luong     h_t = GRU([e(y_{t−1}); ã_{t−1}], h_{t−1});  c_t = attend(h_t)   (general scores,
            input feeding)
and in both ã_t = tanh(W[h_t; c_t]), logits = V ã_t. Attention never looks at padding.
"""

from __future__ import annotations

import dataclasses

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

ATTENTIONS = ("bahdanau", "luong")


class Attention(nn.Module):
    def __init__(self, hidden: int, kind: str):
        super().__init__()
        self.kind = kind
        self.key = nn.Linear(hidden, hidden, bias=False)
        if kind == "bahdanau":
            self.query = nn.Linear(hidden, hidden, bias=False)
            self.v = nn.Linear(hidden, 1, bias=False)

    def keys(self, enc: torch.Tensor) -> torch.Tensor:
        return self.key(enc)  # computed once per sentence

    def forward(self, q: torch.Tensor, keys: torch.Tensor, enc: torch.Tensor, mask: torch.Tensor):
        """q (B, H), keys/enc (B, S, H), mask (B, S) True on real tokens → context (B, H), weights (B, S)."""
        if self.kind == "bahdanau":
            scores = self.v(torch.tanh(keys + self.query(q).unsqueeze(1))).squeeze(-1)
        else:
            scores = torch.bmm(keys, q.unsqueeze(-1)).squeeze(-1)
        weights = torch.softmax(scores.masked_fill(~mask, float("-inf")), dim=-1)
        return torch.bmm(weights.unsqueeze(1), enc).squeeze(1), weights


@dataclasses.dataclass
class EncoderState:
    enc: torch.Tensor  # (B, S, H)
    keys: torch.Tensor  # (B, S, H)
    mask: torch.Tensor  # (B, S)
    h: torch.Tensor  # (B, H) decoder state
    feed: torch.Tensor  # (B, H) ã_{t−1} (luong) or zeros

    def index(self, idx: torch.Tensor) -> "EncoderState":
        return EncoderState(*(getattr(self, f.name)[idx] for f in dataclasses.fields(self)))


class Seq2Seq(nn.Module):
    def __init__(self, src_vocab: int, tgt_vocab: int, emb: int = 256, hidden: int = 256,
                 bidirectional: bool = True, attention: str = "bahdanau", dropout: float = 0.1):
        super().__init__()
        if attention not in ATTENTIONS:
            raise ValueError(f"attention {attention!r}: choose from {ATTENTIONS}")
        if bidirectional and hidden % 2:
            raise ValueError("a bidirectional encoder needs an even hidden size")
        self.attention_kind = attention
        self.src_emb = nn.Embedding(src_vocab, emb, padding_idx=0)
        self.tgt_emb = nn.Embedding(tgt_vocab, emb, padding_idx=0)
        self.encoder = nn.GRU(emb, hidden // 2 if bidirectional else hidden, batch_first=True,
                              bidirectional=bidirectional)
        self.bridge = nn.Linear(hidden, hidden)
        self.cell = nn.GRUCell(emb + hidden, hidden)
        self.attn = Attention(hidden, attention)
        self.combine = nn.Linear(2 * hidden, hidden)
        self.out = nn.Linear(hidden, tgt_vocab)
        self.drop = nn.Dropout(dropout)
        self.hidden = hidden

    # ------------------------------------------------------------------------- encoder

    def encode(self, src: torch.Tensor, src_len: torch.Tensor) -> EncoderState:
        """src (B, S) padded ids, src_len (B,) lengths (any order)."""
        x = self.drop(self.src_emb(src))
        packed = pack_padded_sequence(x, src_len.cpu(), batch_first=True, enforce_sorted=False)
        out, h_n = self.encoder(packed)
        enc, _ = pad_packed_sequence(out, batch_first=True, total_length=src.shape[1])
        last = torch.cat([h_n[-2], h_n[-1]], -1) if self.encoder.bidirectional else h_n[-1]
        mask = torch.arange(src.shape[1], device=src.device)[None, :] < src_len.to(src.device)[:, None]
        h0 = torch.tanh(self.bridge(last))
        return EncoderState(enc, self.attn.keys(enc), mask, h0, torch.zeros_like(h0))

    # ------------------------------------------------------------------------- decoder

    def step(self, y_prev: torch.Tensor, s: EncoderState) -> tuple[torch.Tensor, EncoderState, torch.Tensor]:
        """One decoder step from previous tokens (B,) → logits (B, V), new state, attention (B, S)."""
        e = self.drop(self.tgt_emb(y_prev))
        if self.attention_kind == "bahdanau":
            ctx, w = self.attn(s.h, s.keys, s.enc, s.mask)
            h = self.cell(torch.cat([e, ctx], -1), s.h)
        else:
            h = self.cell(torch.cat([e, s.feed], -1), s.h)
            ctx, w = self.attn(h, s.keys, s.enc, s.mask)
        att = torch.tanh(self.combine(torch.cat([h, ctx], -1)))
        logits = self.out(self.drop(att))
        return logits, EncoderState(s.enc, s.keys, s.mask, h, att), w

    def forward(self, src, src_len, tgt_in, teacher_forcing: float = 1.0) -> torch.Tensor:
        """Logits (B, T, V) for target inputs ``tgt_in`` (SOS + target); each step feeds the true
        previous token with probability ``teacher_forcing``, else the model's own argmax."""
        s = self.encode(src, src_len)
        y = tgt_in[:, 0]
        outs = []
        for t in range(tgt_in.shape[1]):
            logits, s, _ = self.step(y, s)
            outs.append(logits)
            if t + 1 < tgt_in.shape[1]:
                y = tgt_in[:, t + 1]
                if teacher_forcing < 1.0:
                    own = logits.argmax(-1)
                    use_true = torch.rand(y.shape, device=y.device) < teacher_forcing
                    y = torch.where(use_true, y, own)
        return torch.stack(outs, 1)
