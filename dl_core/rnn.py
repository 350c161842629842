"""Recurrent cells written out gate by gate, a sequence runner that keeps every step, a small model.

* ``RNNCell``: the Elman network (Elman, "Finding structure in time", 1990):
  ``h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)``.
* ``LSTMCell``: Hochreiter & Schmidhuber, "Long short-term memory" (1997), with the forget gate of
  Gers, Schmidhuber & Cummins (2000): input, forget, cell-candidate and output gates ``i, f, g, o``.
* ``GRUCell``: Cho et al., "Learning phrase representations using RNN encoder-decoder" (2014):
  reset and update gates ``r, z`` and the candidate ``n``.

Each cell has exactly the parameters of ``nn.RNNCell`` / ``nn.LSTMCell`` / ``nn.GRUCell`` (same
names, same gate order), so a ``state_dict`` copies across and the tests compare the numbers.
``unroll`` runs a cell over a sequence and returns every step's intermediates, stacked over time.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from dl_core import checkpoints
from dl_core.checkpoints import count_params, save  # noqa: F401  (re-exported: unet.save, unet.count_params, ...)


class RNNStep(NamedTuple):
    h: torch.Tensor  # (B, H) new hidden state


class GRUStep(NamedTuple):
    h: torch.Tensor  # (B, H) new hidden state
    r: torch.Tensor  # (B, H) reset gate in [0, 1]
    z: torch.Tensor  # (B, H) update gate in [0, 1]: 1 keeps the old state
    n: torch.Tensor  # (B, H) candidate state in [-1, 1]


class LSTMStep(NamedTuple):
    h: torch.Tensor  # (B, H) hidden state (the output)
    c: torch.Tensor  # (B, H) cell state (the memory)
    i: torch.Tensor  # (B, H) input gate in [0, 1]
    f: torch.Tensor  # (B, H) forget gate in [0, 1]
    g: torch.Tensor  # (B, H) cell candidate in [-1, 1]
    o: torch.Tensor  # (B, H) output gate in [0, 1]


class _Cell(nn.Module):
    """Shared parameters: ``gates`` blocks of H rows, initialised U(-1/sqrt(H), 1/sqrt(H)) like PyTorch."""

    gates = 1

    def __init__(self, input_size: int, hidden_size: int, generator: torch.Generator | None = None):
        super().__init__()
        self.input_size, self.hidden_size = input_size, hidden_size
        self.weight_ih = nn.Parameter(torch.empty(self.gates * hidden_size, input_size))
        self.weight_hh = nn.Parameter(torch.empty(self.gates * hidden_size, hidden_size))
        self.bias_ih = nn.Parameter(torch.empty(self.gates * hidden_size))
        self.bias_hh = nn.Parameter(torch.empty(self.gates * hidden_size))
        bound = 1.0 / math.sqrt(hidden_size)
        for p in self.parameters():
            nn.init.uniform_(p, -bound, bound, generator=generator)

    def preactivations(self, x: torch.Tensor, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The two halves of every gate's input: (W_ih x + b_ih, W_hh h + b_hh), each (B, gates*H)."""
        from_x = F.linear(x, self.weight_ih, self.bias_ih)  # (B, G*H)
        from_h = F.linear(h, self.weight_hh, self.bias_hh)  # (B, G*H)
        return from_x, from_h

    def zero_state(self, x: torch.Tensor) -> tuple:
        """All-zero initial state for the batch of x (same device and dtype)."""
        return (x.new_zeros(x.shape[0], self.hidden_size),)


class RNNCell(_Cell):
    gates = 1

    def forward(self, x: torch.Tensor, state: tuple) -> RNNStep:  # x: (B, I), state: (h,)
        (h,) = state
        from_x, from_h = self.preactivations(x, h)  # (B, H) each
        h = torch.tanh(from_x + from_h)  # (B, H)
        return RNNStep(h)


class GRUCell(_Cell):
    gates = 3  # rows: reset r, update z, candidate n

    def forward(self, x: torch.Tensor, state: tuple) -> GRUStep:
        (h_prev,) = state
        from_x, from_h = self.preactivations(x, h_prev)  # (B, 3H) each
        xr, xz, xn = from_x.chunk(3, dim=1)  # (B, H) each
        hr, hz, hn = from_h.chunk(3, dim=1)
        r = torch.sigmoid(xr + hr)  # how much of the old state the candidate may read
        z = torch.sigmoid(xz + hz)  # how much of the old state to keep
        n = torch.tanh(xn + r * hn)  # the candidate new state
        h = (1 - z) * n + z * h_prev  # (B, H)
        return GRUStep(h, r, z, n)


class LSTMCell(_Cell):
    gates = 4  # rows: input i, forget f, candidate g, output o (PyTorch's order)

    def zero_state(self, x: torch.Tensor) -> tuple:
        zeros = x.new_zeros(x.shape[0], self.hidden_size)
        return zeros, zeros.clone()

    def forward(self, x: torch.Tensor, state: tuple) -> LSTMStep:  # state: (h, c)
        h_prev, c_prev = state
        from_x, from_h = self.preactivations(x, h_prev)  # (B, 4H) each
        a_i, a_f, a_g, a_o = (from_x + from_h).chunk(4, dim=1)  # (B, H) each
        i = torch.sigmoid(a_i)  # input gate: how much of the candidate to write
        f = torch.sigmoid(a_f)  # forget gate: how much of the old memory to keep
        g = torch.tanh(a_g)  # cell candidate: what to write
        o = torch.sigmoid(a_o)  # output gate: how much of the memory to show
        c = f * c_prev + i * g  # (B, H) the new memory
        h = o * torch.tanh(c)  # (B, H) the new hidden state
        return LSTMStep(h, c, i, f, g, o)


CELLS = {"rnn": RNNCell, "gru": GRUCell, "lstm": LSTMCell}
STEP_TYPES = {"rnn": RNNStep, "gru": GRUStep, "lstm": LSTMStep}


def state_of(step: NamedTuple) -> tuple:
    """The recurrent state a step hands to the next one: (h,) or (h, c)."""
    return (step.h, step.c) if isinstance(step, LSTMStep) else (step.h,)


def unroll(cell: _Cell, x: torch.Tensor, state: tuple | None = None):
    """Run ``cell`` over x (B, T, I); returns the cell's step tuple with every field stacked to (B, T, H)."""
    if state is None:
        state = cell.zero_state(x)
    steps = []
    for t in range(x.shape[1]):
        step = cell(x[:, t], state)  # one time step
        steps.append(step)
        state = state_of(step)
    return type(steps[0])(*[torch.stack(field, dim=1) for field in zip(*steps)])


@dataclass(frozen=True)
class SeqConfig:
    cell: str = "lstm"  # "rnn", "gru" or "lstm"
    vocab: int = 0  # input symbols fed one-hot; 0 means real-valued inputs of size input_size
    input_size: int = 1  # features per step when vocab == 0
    hidden: int = 32  # units in the hidden (and cell) state
    n_out: int = 1  # classes per step, or 1 for a regression value


class SeqModel(nn.Module):
    """One-hot (or real) input -> recurrent cell -> linear head at every step."""

    def __init__(self, cfg: SeqConfig, generator: torch.Generator | None = None):
        super().__init__()
        self.cfg = cfg
        self.cell = CELLS[cfg.cell](cfg.vocab or cfg.input_size, cfg.hidden, generator)
        self.head = nn.Linear(cfg.hidden, cfg.n_out)
        bound = 1.0 / math.sqrt(cfg.hidden)
        for p in self.head.parameters():
            nn.init.uniform_(p, -bound, bound, generator=generator)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Symbol ids (B, T) -> one-hot (B, T, V); real inputs (B, T, I) pass through."""
        if x.dtype == torch.long:
            return F.one_hot(x, self.cfg.vocab).float()
        return x

    def forward(self, x: torch.Tensor, state: tuple | None = None):
        feats = self.features(x)  # (B, T, I)
        steps = unroll(self.cell, feats, state)  # every field (B, T, H)
        out = self.head(steps.h)  # (B, T, n_out)
        return out, steps


def init_forget_bias(model: SeqModel, value: float = 1.0) -> None:
    """Start LSTM forget gates open (Gers et al. 2000; Jozefowicz et al. 2015): remembering is the default."""
    if model.cfg.cell == "lstm":
        hid = model.cfg.hidden
        with torch.no_grad():
            model.cell.bias_ih[hid:2 * hid].fill_(value)
            model.cell.bias_hh[hid:2 * hid].zero_()


def build(cfg: SeqConfig, seed: int) -> SeqModel:
    """A freshly initialised model; ``seed`` fixes every initial weight."""
    model = SeqModel(cfg, torch.Generator().manual_seed(seed))
    init_forget_bias(model)
    return model


def load(path, device: torch.device) -> SeqModel:
    """Weights plus the config (and e.g. the task name, saved as ``extra``) rebuild the model."""
    return checkpoints.load(path, lambda cfg: SeqModel(SeqConfig(**cfg)), device)


def input_gradients(model: SeqModel, feats: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """|| d loss_T / d x_t || for every step t: how much the last step's loss still feels each input.

    feats: (B, T, I) float inputs, target: (B,) classes (or (B,) values for regression) at the last
    step. Returns (T,), the gradient norm per step averaged over the batch.
    """
    x = feats.detach().clone().requires_grad_(True)
    out, _ = model(x)  # (B, T, n_out)
    last = out[:, -1]  # (B, n_out)
    if model.cfg.n_out == 1:
        loss = F.mse_loss(last[:, 0], target.float())
    else:
        loss = F.cross_entropy(last, target)
    (grad,) = torch.autograd.grad(loss, x)  # (B, T, I)
    return grad.norm(dim=2).mean(dim=0)  # (T,)


class Shapes(NamedTuple):
    input: tuple  # the input tensor's shape
    h0: tuple  # initial hidden state
    c0: tuple | None  # initial cell state (LSTM only)
    output: tuple  # every step's top-layer hidden state
    h_n: tuple  # final hidden state of every layer and direction
    c_n: tuple | None  # final cell state (LSTM only)
    params: int  # parameters of the module


def module_shapes(kind: str, input_size: int, hidden: int, layers: int, batch_first: bool,
                  bidirectional: bool, seq_len: int, batch: int, seed: int = 0) -> Shapes:
    """Build ``nn.RNN/GRU/LSTM`` with these arguments, run it on random input, report every shape."""
    gen = torch.Generator().manual_seed(seed)
    module = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}[kind](
        input_size, hidden, layers, batch_first=batch_first, bidirectional=bidirectional)
    dirs = 2 if bidirectional else 1
    x_shape = (batch, seq_len, input_size) if batch_first else (seq_len, batch, input_size)
    x = torch.randn(x_shape, generator=gen)
    h0 = torch.zeros(layers * dirs, batch, hidden)  # never batch-first, even with batch_first=True
    with torch.no_grad():
        if kind == "lstm":
            c0 = torch.zeros_like(h0)
            out, (h_n, c_n) = module(x, (h0, c0))
        else:
            c0 = c_n = None
            out, h_n = module(x, h0)
    size = lambda t: None if t is None else tuple(t.shape)  # noqa: E731
    return Shapes(size(x), size(h0), size(c0), size(out), size(h_n), size(c_n), count_params(module))
