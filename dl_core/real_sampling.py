"""Next-token sampling for the real decoder: temperature, top-k and top-p (nucleus) as one pure function,
and step-by-step generation as a generator.

Temperature: Ackley et al. 1985 / Hinton et al. 2015 (softmax(z / T)). Top-k: Fan et al. 2018, "Hierarchical
Neural Story Generation". Top-p: Holtzman et al. 2020, "The Curious Case of Neural Text Degeneration"
(https://arxiv.org/abs/1904.09751): keep the smallest set of most likely tokens whose mass reaches p.
"""
from __future__ import annotations

from typing import Iterator, NamedTuple

import torch
from torch import Tensor

from dl_core.real_attention import RealLM, forward, token_text


class NextToken(NamedTuple):
    probs: Tensor  # (V,) the distribution actually sampled from: 0 outside the kept set, sums to 1
    raw: Tensor    # (V,) softmax(logits) at temperature 1, nothing removed: what the model says
    kept: int      # how many tokens survive top-k and top-p


def next_token_probs(logits: Tensor, temperature: float = 1.0, top_k: int = 0, top_p: float = 1.0) -> NextToken:
    """logits (V,) -> the sampling distribution. temperature <= 0 means greedy (all mass on the argmax);
    top_k = 0 keeps every token; top_p = 1 keeps every token."""
    logits = logits.float()
    raw = torch.softmax(logits, -1)  # (V,)
    if temperature <= 0:
        probs = torch.zeros_like(raw)
        probs[logits.argmax()] = 1.0
        return NextToken(probs, raw, 1)
    z = logits / temperature  # (V,)
    if 0 < top_k < z.numel():
        kth = torch.topk(z, top_k).values[-1]
        z = z.masked_fill(z < kth, float("-inf"))
    if top_p < 1.0:
        p = torch.softmax(z, -1)
        sp, order = torch.sort(p, descending=True)  # (V,)
        before = torch.cumsum(sp, 0) - sp  # mass of the more likely tokens
        drop_sorted = before >= top_p  # the first token is always kept
        drop = torch.zeros_like(drop_sorted).scatter(0, order, drop_sorted)
        z = z.masked_fill(drop, float("-inf"))
    probs = torch.softmax(z, -1)  # (V,)
    return NextToken(probs, raw, int((probs > 0).sum()))


class Top(NamedTuple):
    tokens: list[str]  # k readable tokens, most likely first
    ids: list[int]     # their ids
    probs: list[float]  # their sampling probabilities
    raw: list[float]   # their temperature-1 probabilities


def top(lm: RealLM, nt: NextToken, k: int = 10) -> Top:
    """The k most likely tokens of the sampling distribution (ties broken by the raw distribution)."""
    order = torch.argsort(nt.probs + 1e-9 * nt.raw, descending=True)[:k].tolist()
    return Top(token_text(lm.tokenizer, order), order, [float(nt.probs[i]) for i in order],
               [float(nt.raw[i]) for i in order])


class Step(NamedTuple):
    step: int        # 1, 2, ...
    token: str       # the token that was drawn
    token_id: int    # its id
    prob: float      # its probability under the sampling distribution
    top: Top         # the candidates it was drawn from
    text_ids: Tensor  # (1, T+step) prompt plus everything generated so far


def generate(lm: RealLM, ids: Tensor, n: int, temperature: float = 1.0, top_k: int = 0, top_p: float = 1.0,
             seed: int = 0, max_tokens: int = 64) -> Iterator[Step]:
    """Draw up to ``n`` tokens one at a time (a full forward pass each: the sequences here are short).
    Stops early at the end-of-sequence token or when the text reaches ``max_tokens``."""
    assert lm.causal, "only the decoder predicts the next token"
    gen = torch.Generator().manual_seed(seed)
    eos = lm.tokenizer.eos_token_id
    for step in range(1, n + 1):
        if ids.shape[1] >= max_tokens:
            return
        nt = next_token_probs(forward(lm, ids).logits, temperature, top_k, top_p)
        tid = int(torch.multinomial(nt.probs, 1, generator=gen))
        ids = torch.cat([ids, torch.tensor([[tid]])], 1)  # (1, T+1)
        yield Step(step, token_text(lm.tokenizer, [tid])[0], tid, float(nt.probs[tid]), top(lm, nt), ids)
        if tid == eos:
            return
