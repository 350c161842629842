"""A GRU encoder-decoder, with and without additive attention, step by step.

* Without attention ("RNN Encoder-Decoder", Cho et al. 2014, "Learning phrase representations using
  RNN encoder-decoder for statistical machine translation"; Sutskever et al. 2014): the encoder
  squeezes the whole input into its last hidden state, the **context vector** c; the decoder
  starts from it and sees the same c at every step.
* With attention ("RNNsearch", Bahdanau, Cho & Bengio 2015, "Neural machine translation by jointly
  learning to align and translate"): a bidirectional encoder keeps one annotation h_j per input
  step; at each output step the decoder scores them, e_tj = v^T tanh(W s_{t-1} + U h_j), turns the
  scores into weights a_t = softmax(e_t) and reads its own context c_t = sum_j a_tj h_j.

The recurrent cell is ``dl_core.rnn.GRUCell`` (written out gate by gate). Decoding is a generator
(``decode_steps``) so the page draws every step; ``beam_search`` returns its whole tree.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterator, NamedTuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from dl_core.rnn import GRUCell, unroll
from dl_core.seq_tasks import BOS, EOS, PAD
from dl_core import checkpoints
from dl_core.checkpoints import count_params, save  # noqa: F401  (re-exported: unet.save, unet.count_params, ...)


@dataclass(frozen=True)
class Seq2SeqConfig:
    vocab: int = 13  # shared input/output vocabulary (dl_core.seq_tasks: pad, bos, eos, 0-9)
    emb: int = 32  # token embedding size
    hidden: int = 96  # GRU state size (per direction in the encoder)
    attention: bool = False  # additive (Bahdanau) attention over the encoder states
    bidirectional: bool = False  # encoder reads the input both ways (RNNsearch does)


class Encoded(NamedTuple):
    states: torch.Tensor  # (B, S, E) encoder hidden state per input step (E = H or 2H)
    context: torch.Tensor  # (B, E) the context vector: last real step (fwd) | first step (bwd)
    mask: torch.Tensor  # (B, S) True on real input tokens
    keys: torch.Tensor | None  # (B, S, H) U h_j + b, computed once for attention (None without)


class DecStep(NamedTuple):
    h: torch.Tensor  # (B, H) decoder state after this step
    logits: torch.Tensor  # (B, V) next-token scores
    attn: torch.Tensor | None  # (B, S) attention weights (sum to 1), None without attention
    context: torch.Tensor  # (B, E) the context this step read


class Step(NamedTuple):
    t: int  # output position
    state: torch.Tensor  # (H,) decoder state
    probs: torch.Tensor  # (V,) next-token probabilities
    token: int  # chosen (or forced) token
    attn: torch.Tensor | None  # (S,) attention weights, or None
    forced: bool  # True when the token was forced, not chosen by the model


def _flip(x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Reverse each row's first ``lengths[b]`` steps (padding stays at the end): x (B, S, ...)."""
    s = x.shape[1]
    pos = torch.arange(s, device=x.device)[None]  # (1, S)
    idx = torch.where(pos < lengths[:, None], lengths[:, None] - 1 - pos, pos)  # (B, S)
    idx = idx.view(*idx.shape, *([1] * (x.dim() - 2))).expand_as(x)
    return x.gather(1, idx)


class Seq2Seq(nn.Module):
    def __init__(self, cfg: Seq2SeqConfig, generator: torch.Generator | None = None):
        super().__init__()
        self.cfg = cfg
        h, e = cfg.hidden, cfg.hidden * (2 if cfg.bidirectional else 1)
        self.embed = nn.Embedding(cfg.vocab, cfg.emb)
        self.enc_fwd = GRUCell(cfg.emb, h, generator)
        self.enc_bwd = GRUCell(cfg.emb, h, generator) if cfg.bidirectional else None
        self.bridge = nn.Linear(e, h)  # s_0 = tanh(W c)
        self.dec = GRUCell(cfg.emb + e, h, generator)  # input: [previous token; context]
        if cfg.attention:
            self.att_query = nn.Linear(h, h, bias=False)  # W
            self.att_key = nn.Linear(e, h)  # U
            self.att_v = nn.Linear(h, 1, bias=False)  # v
        self.out = nn.Linear(h + e + cfg.emb, cfg.vocab)  # logits from [s_t; c_t; previous token]
        for name, p in self.named_parameters():
            if not name.startswith(("enc_", "dec.")):
                bound = 1.0 / math.sqrt(p.shape[-1]) if p.dim() > 1 else 0.05
                nn.init.uniform_(p, -bound, bound, generator=generator)

    def encode(self, src: torch.Tensor, lengths: torch.Tensor | None = None) -> Encoded:
        """src (B, S) ids right-padded with <pad> -> per-step states and the context vector."""
        mask = src != PAD  # (B, S)
        lengths = mask.sum(1) if lengths is None else lengths  # (B,)
        x = self.embed(src)  # (B, S, emb)
        fwd = unroll(self.enc_fwd, x).h  # (B, S, H)
        last = (lengths - 1).clamp(min=0)  # (B,)
        context = fwd[torch.arange(src.shape[0]), last]  # (B, H) state after the last real token
        states = fwd
        if self.enc_bwd is not None:
            bwd = _flip(unroll(self.enc_bwd, _flip(x, lengths)).h, lengths)  # (B, S, H) read right to left
            states = torch.cat([fwd, bwd], dim=2)  # (B, S, 2H)
            context = torch.cat([context, bwd[:, 0]], dim=1)  # (B, 2H)
        keys = self.att_key(states) if self.cfg.attention else None  # (B, S, H)
        return Encoded(states, context, mask, keys)

    def init_state(self, enc: Encoded) -> torch.Tensor:
        return torch.tanh(self.bridge(enc.context))  # (B, H)

    def attend(self, s: torch.Tensor, enc: Encoded) -> tuple[torch.Tensor, torch.Tensor]:
        """Additive attention: s (B, H) -> (context (B, E), weights (B, S))."""
        q = self.att_query(s)[:, None]  # (B, 1, H)
        scores = self.att_v(torch.tanh(q + enc.keys)).squeeze(2)  # (B, S)
        scores = scores.masked_fill(~enc.mask, float("-inf"))
        weights = torch.softmax(scores, dim=1)  # (B, S)
        ctx = torch.bmm(weights[:, None], enc.states).squeeze(1)  # (B, E)
        return ctx, weights

    def step(self, token: torch.Tensor, s: torch.Tensor, enc: Encoded) -> DecStep:
        """One decoder step: previous token (B,) and state s_{t-1} (B, H) -> s_t, logits, attention."""
        y = self.embed(token)  # (B, emb)
        if self.cfg.attention:
            ctx, weights = self.attend(s, enc)  # (B, E), (B, S)
        else:
            ctx, weights = enc.context, None  # the same context vector at every step
        h = self.dec(torch.cat([y, ctx], dim=1), (s,)).h  # (B, H)
        logits = self.out(torch.cat([h, ctx, y], dim=1))  # (B, V)
        return DecStep(h, logits, weights, ctx)

    def forward(self, src: torch.Tensor, tgt_in: torch.Tensor) -> torch.Tensor:
        """Teacher forcing: logits (B, T, V) for every target position."""
        enc = self.encode(src)
        s = self.init_state(enc)  # (B, H)
        logits = []
        for t in range(tgt_in.shape[1]):
            out = self.step(tgt_in[:, t], s, enc)
            s = out.h
            logits.append(out.logits)
        return torch.stack(logits, dim=1)  # (B, T, V)


def loss_fn(logits: torch.Tensor, tgt_out: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tgt_out.reshape(-1), ignore_index=PAD)


@torch.no_grad()
def greedy_batch(model: Seq2Seq, src: torch.Tensor, max_len: int) -> torch.Tensor:
    """Greedy decoding of a whole batch: (B, max_len) ids (anything after <eos> is ignored by decode)."""
    enc = model.encode(src)
    s = model.init_state(enc)
    token = torch.full((src.shape[0],), BOS, dtype=torch.long, device=src.device)
    out = []
    for _ in range(max_len):
        st = model.step(token, s, enc)
        s, token = st.h, st.logits.argmax(1)
        out.append(token)
    return torch.stack(out, dim=1)


@torch.no_grad()
def decode_steps(model: Seq2Seq, src: torch.Tensor, max_len: int,
                 force: dict[int, int] | None = None) -> Iterator[Step]:
    """Greedy decoding of one input src (S,), one yield per output step, until <eos> or max_len.

    ``force`` {step: token id} overrides the model's choice at those steps (the what-if); the
    probabilities at a forced step are still the model's own.
    """
    force = force or {}
    enc = model.encode(src[None])
    s = model.init_state(enc)  # (1, H)
    token = torch.tensor([BOS], device=src.device)
    for t in range(max_len):
        st = model.step(token, s, enc)
        probs = torch.softmax(st.logits, dim=1)[0]  # (V,)
        chosen = int(force.get(t, int(probs.argmax())))
        attn = None if st.attn is None else st.attn[0]
        yield Step(t, st.h[0], probs, chosen, attn, t in force)
        if chosen == EOS:
            return
        s, token = st.h, torch.tensor([chosen], device=src.device)


class BeamNode(NamedTuple):
    id: int  # node id (0 is the <bos> root)
    parent: int  # parent node id (-1 for the root)
    step: int  # output position (-1 for the root)
    token: int  # token id
    logp: float  # log-probability of this token given its prefix
    score: float  # sum of log-probabilities of the whole prefix
    kept: bool  # survived the top-k cut (False: pruned candidate)


class Beam(NamedTuple):
    nodes: list[BeamNode]  # every expanded candidate (kept and pruned): the beam tree
    finals: list[tuple[list[int], float, int]]  # (tokens, score, leaf node id), best first


@torch.no_grad()
def beam_search(model: Seq2Seq, src: torch.Tensor, k: int, max_len: int, show: int = 0) -> Beam:
    """Beam search of width ``k`` on one input (S,); scores are summed log-probabilities.

    At each step every live hypothesis proposes its tokens; the k best (hypothesis, token) pairs
    survive. A hypothesis ending in <eos> is finished. ``show`` extra pruned candidates per step are
    recorded in the tree for drawing. Width 1 is exactly greedy decoding.
    """
    enc1 = model.encode(src[None])
    nodes = [BeamNode(0, -1, -1, BOS, 0.0, 0.0, True)]
    live = [0]  # node ids of the live hypotheses
    states = model.init_state(enc1)  # (n_live, H)
    finals: list[tuple[list[int], float, int]] = []
    for t in range(max_len):
        n = len(live)
        enc = Encoded(*(None if f is None else f.expand(n, *f.shape[1:]) for f in enc1))
        tokens = torch.tensor([nodes[i].token for i in live], device=src.device)
        st = model.step(tokens, states, enc)
        logp = torch.log_softmax(st.logits, dim=1)  # (n, V)
        total = logp + torch.tensor([nodes[i].score for i in live], device=src.device)[:, None]
        order = total.flatten().argsort(descending=True)[: k + show]
        new_live, new_states = [], []
        for rank, flat in enumerate(order.tolist()):
            row, tok = divmod(flat, logp.shape[1])
            node = BeamNode(len(nodes), live[row], t, tok, float(logp[row, tok]), float(total[row, tok]), rank < k)
            nodes.append(node)
            if rank >= k:
                continue
            if tok == EOS or t == max_len - 1:
                finals.append((tokens_of(nodes, node.id), node.score, node.id))
            else:
                new_live.append(node.id)
                new_states.append(st.h[row])
        if not new_live or len(finals) >= k and max(f[1] for f in finals) >= max(nodes[i].score for i in new_live):
            break
        live, states = new_live, torch.stack(new_states)
    finals.sort(key=lambda f: -f[1])
    return Beam(nodes, finals)


def tokens_of(nodes: list[BeamNode], leaf: int) -> list[int]:
    """The token ids from the root (excluded) to ``leaf`` (included)."""
    out = []
    while nodes[leaf].parent != -1:
        out.append(nodes[leaf].token)
        leaf = nodes[leaf].parent
    return out[::-1]


def build(cfg: Seq2SeqConfig, seed: int) -> Seq2Seq:
    return Seq2Seq(cfg, torch.Generator().manual_seed(seed))


def load(path, device: torch.device) -> Seq2Seq:
    return checkpoints.load(path, lambda cfg: Seq2Seq(Seq2SeqConfig(**cfg)), device)
