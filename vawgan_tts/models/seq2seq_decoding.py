"""Decoding a trained :class:`.seq2seq.Seq2Seq`: batched greedy search and beam search, each
sentence stopping at its own EOS; hypotheses carry their attention rows (for the plots)."""

from __future__ import annotations

import dataclasses

import torch

from .seq2seq import Seq2Seq


@dataclasses.dataclass
class Hypothesis:
    ids: list[int]  # without SOS/EOS
    score: float  # length-normalized log probability
    logprob: float
    attention: torch.Tensor  # (len(ids) + 1, S): one row per emitted token, EOS included


@torch.no_grad()
def greedy_decode(model: Seq2Seq, src: torch.Tensor, src_len: torch.Tensor, max_len: int,
                  sos: int, eos: int) -> list[Hypothesis]:
    """Batched greedy decoding; each sentence stops at its own EOS (or ``max_len`` tokens)."""
    s = model.encode(src, src_len)
    b = src.shape[0]
    y = torch.full((b,), sos, dtype=torch.long, device=src.device)
    done = torch.zeros(b, dtype=torch.bool, device=src.device)
    tokens, logps, atts = [], [], []
    for _ in range(max_len + 1):
        logits, s, w = model.step(y, s)
        lp = torch.log_softmax(logits.float(), -1)
        y = lp.argmax(-1)
        tokens.append(y)
        logps.append(lp.gather(1, y[:, None]).squeeze(1).masked_fill(done, 0.0))
        atts.append(w)
        done = done | (y == eos)
        if bool(done.all()):
            break
    tok = torch.stack(tokens, 1).cpu().tolist()
    lp_sum = torch.stack(logps, 1).sum(1).cpu().tolist()
    att = torch.stack(atts, 1).cpu()
    out = []
    for i in range(b):
        ids = tok[i][: tok[i].index(eos)] if eos in tok[i] else tok[i][:max_len]
        n = len(ids) + 1
        out.append(Hypothesis(ids, lp_sum[i] / n, lp_sum[i], att[i, :n, : int(src_len[i])]))
    return out


@torch.no_grad()
def beam_search(model: Seq2Seq, src: torch.Tensor, src_len: torch.Tensor, beam: int, max_len: int,
                sos: int, eos: int, n_best: int = 1, alpha: float = 1.0) -> list[Hypothesis]:
    """Beam search for one sentence (src (1, S)). Hypotheses are ranked by log p / length^alpha
    (length counts EOS); the search ends when ``beam`` hypotheses have finished or at ``max_len``.
    Returns the ``n_best`` best, best first. Beam 1 is greedy decoding."""
    s = model.encode(src, src_len)
    n_src = int(src_len[0])
    alive_ids: list[list[int]] = [[]]
    alive_lp = torch.zeros(1, device=src.device)
    alive_att: list[list[torch.Tensor]] = [[]]
    y = torch.full((1,), sos, dtype=torch.long, device=src.device)
    finished: list[Hypothesis] = []

    def norm(lp: float, n: int) -> float:
        return lp / (n**alpha)

    for t in range(max_len + 1):
        logits, s, w = model.step(y, s)
        lp = torch.log_softmax(logits.float(), -1) + alive_lp[:, None]  # (k, V)
        k = min(beam, lp.numel())
        top_lp, flat = lp.view(-1).topk(k)
        rows, toks = flat // lp.shape[1], flat % lp.shape[1]
        keep_rows, keep_toks, keep_lp = [], [], []
        for r, tk, v in zip(rows.tolist(), toks.tolist(), top_lp.tolist()):
            att = alive_att[r] + [w[r, :n_src].cpu()]
            if tk == eos or t == max_len:
                ids = alive_ids[r] + ([] if tk == eos else [tk])
                finished.append(Hypothesis(ids, norm(v, len(ids) + 1), v, torch.stack(att)))
            else:
                keep_rows.append(r)
                keep_toks.append(tk)
                keep_lp.append(v)
        if len(finished) >= beam or not keep_rows:
            break
        idx = torch.tensor(keep_rows, device=src.device)
        alive_ids = [alive_ids[r] + [tk] for r, tk in zip(keep_rows, keep_toks)]
        alive_att = [alive_att[r] + [w[r, :n_src].cpu()] for r in keep_rows]
        alive_lp = torch.tensor(keep_lp, device=src.device)
        y = torch.tensor(keep_toks, device=src.device)
        s = s.index(idx)
    finished.sort(key=lambda h: -h.score)
    return finished[:n_best]
