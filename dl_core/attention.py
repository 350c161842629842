"""Attention, written out: scaled dot-product attention with every intermediate, multi-head attention
with explicit per-head projections, sinusoidal positional encoding, and the causal and padding masks.

Vaswani et al. 2017, "Attention Is All You Need" (https://arxiv.org/abs/1706.03762), sections 3.2
(attention), 3.2.2 (multi-head) and 3.5 (positional encoding):

    Attention(Q, K, V) = softmax(Q K^T / sqrt(d_k)) V
    head_h = Attention(X_q W_h^Q, X_kv W_h^K, X_kv W_h^V)
    MultiHead = Concat(head_1, ..., head_H) W^O

Mask convention (the same as ``F.scaled_dot_product_attention``'s boolean ``attn_mask``): a mask is
a bool tensor broadcastable to (..., T_q, T_k); True means "this query may look at this key", False
means blocked: the scaled score becomes -inf, so its softmax weight is exactly 0. (Careful:
``nn.MultiheadAttention``'s bool masks mean the opposite, True = blocked.)
"""
from __future__ import annotations

import math
from typing import NamedTuple

import torch
import torch.nn as nn
from torch import Tensor


class AttentionSteps(NamedTuple):
    out: Tensor      # (..., Tq, d_v)  weights @ V
    weights: Tensor  # (..., Tq, Tk)   softmax over the keys; every row sums to 1
    scores: Tensor   # (..., Tq, Tk)   Q K^T
    scaled: Tensor   # (..., Tq, Tk)   Q K^T / sqrt(d_k)
    masked: Tensor   # (..., Tq, Tk)   scaled, with blocked cells set to -inf


def scaled_dot_product_attention(q: Tensor, k: Tensor, v: Tensor, mask: Tensor | None = None) -> AttentionSteps:
    """q (..., Tq, d_k), k (..., Tk, d_k), v (..., Tk, d_v) -> every stage of softmax(QK^T/sqrt(d_k)) V."""
    d_k = q.size(-1)
    scores = q @ k.transpose(-2, -1)  # (..., Tq, Tk)
    scaled = scores / math.sqrt(d_k)  # (..., Tq, Tk)
    masked = scaled if mask is None else scaled.masked_fill(~mask, float("-inf"))  # (..., Tq, Tk)
    weights = torch.softmax(masked, dim=-1)  # (..., Tq, Tk)
    out = weights @ v  # (..., Tq, d_v)
    return AttentionSteps(out, weights, scores, scaled, masked)


def attention(q: Tensor, k: Tensor, v: Tensor, mask: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """The short form: ``out, weights = attention(q, k, v, mask)``."""
    steps = scaled_dot_product_attention(q, k, v, mask)
    return steps.out, steps.weights


# ---------------------------------------------------------------- masks ------------------------
def causal_mask(t: int, device=None) -> Tensor:
    """(T, T) bool, True on and below the diagonal: position i sees positions 0..i, never later ones."""
    return torch.ones(t, t, dtype=torch.bool, device=device).tril()


def padding_mask(lengths: Tensor, t: int) -> Tensor:
    """(B, 1, 1, T) bool from real lengths: True for real keys, False for the <pad> keys after them.
    Broadcasts over heads and queries; padded *queries* still attend (their rows are ignored later)."""
    keys = torch.arange(t, device=lengths.device)  # (T,)
    return (keys[None, :] < lengths[:, None])[:, None, None, :]  # (B, 1, 1, T)


def key_padding_mask(ids: Tensor, pad_id: int) -> Tensor:
    """(B, 1, 1, T) bool from token ids: False where the key is the padding token."""
    return (ids != pad_id)[:, None, None, :]


def combine(*masks: Tensor | None) -> Tensor | None:
    """Logical AND of the given masks (None = no mask), broadcast together."""
    present = [m for m in masks if m is not None]
    if not present:
        return None
    out = present[0]
    for m in present[1:]:
        out = out & m
    return out


# ---------------------------------------------------------------- positions --------------------
def sinusoidal_encoding(max_len: int, d_model: int) -> Tensor:
    """(max_len, d_model): PE[pos, 2i] = sin(pos / 10000^(2i/d)), PE[pos, 2i+1] = cos(pos / 10000^(2i/d))."""
    pos = torch.arange(max_len, dtype=torch.float32)[:, None]  # (P, 1)
    two_i = torch.arange(0, d_model, 2, dtype=torch.float32)  # (ceil(D/2),)
    angle = pos / torch.pow(10000.0, two_i / d_model)  # (P, ceil(D/2))
    pe = torch.zeros(max_len, d_model)
    pe[:, 0::2] = torch.sin(angle)
    pe[:, 1::2] = torch.cos(angle[:, : d_model // 2])
    return pe


# ---------------------------------------------------------------- multi-head -------------------
class MHAOut(NamedTuple):
    out: Tensor            # (B, Tq, D)      concat @ W^O + b^O
    weights: Tensor        # (B, H, Tq, Tk)  every head's attention weights
    q: Tensor              # (B, H, Tq, d_k) X_q W_h^Q + b_h^Q per head
    k: Tensor              # (B, H, Tk, d_k)
    v: Tensor              # (B, H, Tk, d_k)
    heads: Tensor          # (B, H, Tq, d_k) every head's output (weights @ V)
    concat: Tensor         # (B, Tq, D)      the heads side by side
    steps: AttentionSteps  # scores / scaled / masked per head, each (B, H, Tq, Tk)


class MultiHeadAttention(nn.Module):
    """H heads, each with its own projection matrices W_h^Q, W_h^K, W_h^V of shape (D, d_k), d_k = D / H,
    and one output projection W^O (D x D). Stored per head, so ``w_q[h]`` *is* head h's W^Q."""

    def __init__(self, d_model: int, n_heads: int, generator: torch.Generator | None = None):
        super().__init__()
        if d_model % n_heads:
            raise ValueError(f"d_model={d_model} is not divisible by n_heads={n_heads}")
        self.n_heads = n_heads
        self.d_k = d_model // n_heads
        self.w_q = nn.Parameter(torch.empty(n_heads, d_model, self.d_k))  # (H, D, d_k)
        self.w_k = nn.Parameter(torch.empty(n_heads, d_model, self.d_k))  # (H, D, d_k)
        self.w_v = nn.Parameter(torch.empty(n_heads, d_model, self.d_k))  # (H, D, d_k)
        self.b_q = nn.Parameter(torch.zeros(n_heads, 1, self.d_k))  # (H, 1, d_k)
        self.b_k = nn.Parameter(torch.zeros(n_heads, 1, self.d_k))  # (H, 1, d_k)
        self.b_v = nn.Parameter(torch.zeros(n_heads, 1, self.d_k))  # (H, 1, d_k)
        self.w_o = nn.Linear(d_model, d_model)
        self.reset_parameters(generator)

    @torch.no_grad()
    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        """Xavier-uniform projections (as nn.MultiheadAttention), zero biases; explicit generator."""
        d_model = self.n_heads * self.d_k
        bound = math.sqrt(6.0 / (d_model + d_model))
        for w in (self.w_q, self.w_k, self.w_v):
            w.uniform_(-bound, bound, generator=generator)
        for b in (self.b_q, self.b_k, self.b_v, self.w_o.bias):
            b.zero_()
        self.w_o.weight.uniform_(-bound, bound, generator=generator)

    def forward(self, x_q: Tensor, x_kv: Tensor, mask: Tensor | None = None) -> MHAOut:
        """x_q (B, Tq, D) gives the queries; x_kv (B, Tk, D) the keys and values (x_kv is x_q for
        self-attention, the encoder's output for cross-attention). mask: see the module docstring."""
        b, t_q, _ = x_q.shape
        q = x_q[:, None] @ self.w_q + self.b_q  # (B, 1, Tq, D) @ (H, D, d_k) -> (B, H, Tq, d_k)
        k = x_kv[:, None] @ self.w_k + self.b_k  # (B, H, Tk, d_k)
        v = x_kv[:, None] @ self.w_v + self.b_v  # (B, H, Tk, d_k)
        steps = scaled_dot_product_attention(q, k, v, mask)  # out (B, H, Tq, d_k)
        concat = steps.out.transpose(1, 2).reshape(b, t_q, -1)  # (B, Tq, H * d_k)
        out = self.w_o(concat)  # (B, Tq, D)
        return MHAOut(out, steps.weights, q, k, v, steps.out, concat, steps)
