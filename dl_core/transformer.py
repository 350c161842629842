"""A small encoder-decoder transformer whose every attention map can be looked at.

Vaswani et al. 2017, "Attention Is All You Need" (https://arxiv.org/abs/1706.03762), figure 1: the
post-norm ("Add & Norm") encoder and decoder stacks, sinusoidal positions added to scaled token
embeddings, greedy decoding one token at a time. Built from ``dl_core.attention``; every forward
returns the attention weights of every layer and head instead of hiding them inside modules.

Shapes: B batch, S source length, T target length, L layers, H heads, D d_model, V vocabulary.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, NamedTuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from dl_core.attention import MultiHeadAttention, causal_mask, combine, key_padding_mask, sinusoidal_encoding
from dl_core.seq_tasks import BOS, EOS, PAD
from dl_core import checkpoints
from dl_core.checkpoints import count_params, save  # noqa: F401  (re-exported: unet.save, unet.count_params, ...)


@dataclass(frozen=True)
class TransformerConfig:
    vocab_size: int = 13  # shared input/output vocabulary (dl_core.seq_tasks: 3 specials + 10 digits)
    d_model: int = 64     # width of every token vector
    n_heads: int = 4      # attention heads per attention layer (d_k = d_model / n_heads)
    n_layers: int = 2     # encoder blocks, and as many decoder blocks
    d_ff: int = 128       # hidden width of the position-wise feed-forward network
    max_len: int = 64     # longest sequence the positional-encoding table covers


class EncoderOut(NamedTuple):
    memory: Tensor   # (B, S, D) the encoder's output, read by every cross-attention
    mask: Tensor     # (B, 1, 1, S) True for real source tokens
    attn: Tensor     # (L, B, H, S, S) encoder self-attention weights
    states: Tensor   # (L + 1, B, S, D) the residual stream entering each block, then the output


class DecoderOut(NamedTuple):
    logits: Tensor      # (B, T, V) next-token scores at every target position
    self_attn: Tensor   # (L, B, H, T, T) masked (causal) self-attention weights
    cross_attn: Tensor  # (L, B, H, T, S) cross-attention weights over the source
    states: Tensor      # (L + 1, B, T, D)


class Output(NamedTuple):
    logits: Tensor      # (B, T, V)
    enc_attn: Tensor    # (L, B, H, S, S)
    self_attn: Tensor   # (L, B, H, T, T)
    cross_attn: Tensor  # (L, B, H, T, S)


def feed_forward(d_model: int, d_ff: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(d_model, d_ff), nn.ReLU(), nn.Linear(d_ff, d_model))


class EncoderBlock(nn.Module):
    """Multi-head self-attention -> Add & Norm -> feed forward -> Add & Norm."""

    def __init__(self, cfg: TransformerConfig):
        super().__init__()
        self.attn = MultiHeadAttention(cfg.d_model, cfg.n_heads)
        self.norm1 = nn.LayerNorm(cfg.d_model)
        self.ff = feed_forward(cfg.d_model, cfg.d_ff)
        self.norm2 = nn.LayerNorm(cfg.d_model)

    def forward(self, x: Tensor, mask: Tensor) -> tuple[Tensor, Tensor]:
        a = self.attn(x, x, mask)  # every key a real source token
        x = self.norm1(x + a.out)  # (B, S, D)
        f = self.ff(x)  # (B, S, D)
        x = self.norm2(x + f)  # (B, S, D)
        return x, a.weights


class DecoderBlock(nn.Module):
    """Masked self-attention -> Add & Norm -> cross-attention over the encoder -> Add & Norm -> FF -> Add & Norm."""

    def __init__(self, cfg: TransformerConfig):
        super().__init__()
        self.self_attn = MultiHeadAttention(cfg.d_model, cfg.n_heads)
        self.norm1 = nn.LayerNorm(cfg.d_model)
        self.cross_attn = MultiHeadAttention(cfg.d_model, cfg.n_heads)
        self.norm2 = nn.LayerNorm(cfg.d_model)
        self.ff = feed_forward(cfg.d_model, cfg.d_ff)
        self.norm3 = nn.LayerNorm(cfg.d_model)

    def forward(self, y: Tensor, memory: Tensor, self_mask: Tensor, cross_mask: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        s = self.self_attn(y, y, self_mask)  # causal: position t sees targets 0..t
        y = self.norm1(y + s.out)  # (B, T, D)
        c = self.cross_attn(y, memory, cross_mask)  # queries from the decoder, keys/values from the encoder
        y = self.norm2(y + c.out)  # (B, T, D)
        f = self.ff(y)  # (B, T, D)
        y = self.norm3(y + f)  # (B, T, D)
        return y, s.weights, c.weights


class Seq2SeqTransformer(nn.Module):
    def __init__(self, cfg: TransformerConfig):
        super().__init__()
        self.cfg = cfg
        self.embed = nn.Embedding(cfg.vocab_size, cfg.d_model)  # shared by source and target
        self.register_buffer("pe", sinusoidal_encoding(cfg.max_len, cfg.d_model), persistent=False)
        self.encoder = nn.ModuleList(EncoderBlock(cfg) for _ in range(cfg.n_layers))
        self.decoder = nn.ModuleList(DecoderBlock(cfg) for _ in range(cfg.n_layers))
        self.lm_head = nn.Linear(cfg.d_model, cfg.vocab_size)
        # std d^-0.5, so that embedding * sqrt(d) has unit-size entries like the PE it is added to
        nn.init.normal_(self.embed.weight, std=cfg.d_model ** -0.5)

    def embed_tokens(self, ids: Tensor, use_positions: bool = True) -> Tensor:
        """(B, T) ids -> (B, T, D): embedding * sqrt(D) + PE[:T] (PE left out when use_positions is False)."""
        x = self.embed(ids) * math.sqrt(self.cfg.d_model)  # (B, T, D)
        if use_positions:
            x = x + self.pe[: ids.size(1)]  # (T, D) broadcast over the batch
        return x

    def encode(self, src: Tensor, use_positions: bool = True) -> EncoderOut:
        mask = key_padding_mask(src, PAD)  # (B, 1, 1, S)
        x = self.embed_tokens(src, use_positions)  # (B, S, D)
        states, attn = [x], []
        for block in self.encoder:
            x, w = block(x, mask)
            states.append(x)
            attn.append(w)
        return EncoderOut(x, mask, torch.stack(attn), torch.stack(states))

    def decode(self, tgt_in: Tensor, enc: EncoderOut, use_positions: bool = True) -> DecoderOut:
        t = tgt_in.size(1)
        self_mask = combine(causal_mask(t, tgt_in.device), key_padding_mask(tgt_in, PAD))  # (B, 1, T, T)
        y = self.embed_tokens(tgt_in, use_positions)  # (B, T, D)
        states, self_w, cross_w = [y], [], []
        for block in self.decoder:
            y, s, c = block(y, enc.memory, self_mask, enc.mask)
            states.append(y)
            self_w.append(s)
            cross_w.append(c)
        logits = self.lm_head(y)  # (B, T, V)
        return DecoderOut(logits, torch.stack(self_w), torch.stack(cross_w), torch.stack(states))

    def forward(self, src: Tensor, tgt_in: Tensor, use_positions: bool = True) -> Output:
        enc = self.encode(src, use_positions)
        dec = self.decode(tgt_in, enc, use_positions)
        return Output(dec.logits, enc.attn, dec.self_attn, dec.cross_attn)


# ---------------------------------------------------------------- decoding ---------------------
class DecodeStep(NamedTuple):
    index: int         # output position, 0-based
    token: int         # the chosen token id
    probs: Tensor      # (V,) next-token probabilities, softmax(logits / temperature)
    logits: Tensor     # (V,) raw next-token scores
    cross: Tensor      # (L, H, S) this step's cross-attention over the source, per layer and head
    self_attn: Tensor  # (L, H, index + 1) this step's masked self-attention over the output so far
    prefix: tuple      # the decoder's input ids for this step: <bos> + tokens chosen so far


@torch.no_grad()
def greedy_steps(model: Seq2SeqTransformer, src: Tensor, max_steps: int, temperature: float = 1.0,
                 sample: bool = False, generator: torch.Generator | None = None,
                 use_positions: bool = True) -> Iterator[DecodeStep]:
    """Decode one (S,) source, one token per step, until <eos> or ``max_steps``. Greedy picks the most
    probable token (temperature rescales the probabilities shown but never changes the argmax);
    ``sample=True`` draws from softmax(logits / temperature) with ``generator``."""
    if temperature <= 0:
        raise ValueError("temperature must be > 0")
    enc = model.encode(src[None], use_positions)
    prefix = [BOS]
    for i in range(max_steps):
        tgt = torch.tensor([prefix], dtype=torch.long, device=src.device)  # (1, i + 1)
        dec = model.decode(tgt, enc, use_positions)
        logits = dec.logits[0, -1]  # (V,)
        probs = torch.softmax(logits / temperature, dim=-1)  # (V,)
        if sample:
            token = int(torch.multinomial(probs.cpu(), 1, generator=generator))
        else:
            token = int(probs.argmax())
        yield DecodeStep(i, token, probs, logits, dec.cross_attn[:, 0, :, -1], dec.self_attn[:, 0, :, -1], tuple(prefix))
        if token == EOS:
            return
        prefix.append(token)


@torch.no_grad()
def greedy_batch(model: Seq2SeqTransformer, src: Tensor, max_steps: int, use_positions: bool = True) -> Tensor:
    """(B, S) sources -> (B, <= max_steps) greedy outputs (ids after <bos>; read them with Vocab.decode)."""
    enc = model.encode(src, use_positions)
    out = torch.full((src.size(0), 1), BOS, dtype=torch.long, device=src.device)  # (B, 1)
    done = torch.zeros(src.size(0), dtype=torch.bool, device=src.device)
    for _ in range(max_steps):
        logits = model.decode(out, enc, use_positions).logits[:, -1]  # (B, V)
        nxt = logits.argmax(-1).masked_fill(done, PAD)  # (B,)
        out = torch.cat([out, nxt[:, None]], dim=1)
        done = done | (nxt == EOS)
        if bool(done.all()):
            break
    return out[:, 1:]


def sequence_loss(logits: Tensor, targets: Tensor) -> Tensor:
    """Cross-entropy over every real target position (<pad> ignored)."""
    return F.cross_entropy(logits.reshape(-1, logits.size(-1)), targets.reshape(-1), ignore_index=PAD)


# ---------------------------------------------------------------- checkpoints ------------------
def load(path: Path, device: torch.device) -> Seq2SeqTransformer:
    return checkpoints.load(path, lambda cfg: Seq2SeqTransformer(TransformerConfig(**cfg)), device)
