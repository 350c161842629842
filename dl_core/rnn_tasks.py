"""Three toy sequence tasks whose solutions are readable in the gates, generated in code (no downloads).

* ``brackets``: a stream of ``(``, ``)`` and other characters; predict the nesting depth after every
  character. Solving it needs a counter, and an LSTM builds one in a single cell (the classic
  "counting cell" of Karpathy, Johnson & Fei-Fei, "Visualizing and understanding recurrent
  networks", 2015).
* ``remember``: a key ``A``-``D``, then a long stretch of random lowercase distractors, then ``?``;
  answer the key at the ``?``. The memorisation task of Hochreiter & Schmidhuber (1997): a plain RNN
  loses the key as the distance grows, an LSTM keeps it in a cell whose forget gate stays near 1.
* ``sine``: a noisy sine wave of random frequency and phase; predict the next value at every step.

Every generator takes an explicit ``torch.Generator``, so a seed reproduces every batch exactly.
"""
from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from typing import NamedTuple

import torch

IGNORE = -100  # target value of the steps that are not scored (cross_entropy's ignore_index)

MAX_DEPTH = 8  # brackets: deepest nesting generated (classes 0 .. MAX_DEPTH)
OTHER = "abcdefghijklmnopqrstuvwxyz0123456789 +-*/=,.;:"  # brackets: characters that do not count
KEYS = "ABCD"  # remember: the symbols to remember
DISTRACTORS = "abcdefghijklmnopqrstuvwxyz"  # remember: the stretch in between
QUERY = "?"  # remember: "now answer"
NOISE = 0.1  # sine: standard deviation of the training noise
OMEGA = (0.15, 0.6)  # sine: angular frequency range in radians per step (periods of 10 to 42 steps)


@dataclass(frozen=True)
class Task:
    name: str  # "brackets", "remember" or "sine"
    symbols: str  # input vocabulary in id order ("" for real-valued input)
    classes: tuple  # output labels in class order (() for regression)
    lengths: tuple  # (shortest, longest) training sequence; for remember: distances between key and "?"
    max_len: int  # longest input the page accepts

    @property
    def vocab(self) -> int:
        return len(self.symbols)

    @property
    def n_out(self) -> int:
        return len(self.classes) or 1


TASKS = {
    "brackets": Task("brackets", "()" + OTHER, tuple(str(d) for d in range(MAX_DEPTH + 1)), (10, 100), 120),
    "remember": Task("remember", KEYS + DISTRACTORS + QUERY, tuple(KEYS), (1, 60), 120),
    "sine": Task("sine", "", (), (60, 60), 120),
}


class Batch(NamedTuple):
    x: torch.Tensor  # (B, T) symbol ids, or (B, T, 1) values for sine
    y: torch.Tensor  # (B, T) targets: classes (IGNORE where unscored) or the next noisy value
    clean: torch.Tensor | None  # sine: (B, T) the next value without noise; else None


def brackets(gen: torch.Generator, batch: int, length: int) -> Batch:
    """Depth walks between 0 and MAX_DEPTH; each sequence has its own bracket density and bias."""
    p_bracket = 0.3 + 0.6 * torch.rand(batch, 1, generator=gen)  # (B, 1) share of brackets
    p_open = 0.4 + 0.2 * torch.rand(batch, 1, generator=gen)  # (B, 1) opens among brackets
    u = torch.rand(batch, length, generator=gen)  # (B, T)
    v = torch.rand(batch, length, generator=gen)
    other = torch.randint(2, 2 + len(OTHER), (batch, length), generator=gen)  # ids of non-brackets
    x = torch.empty(batch, length, dtype=torch.long)
    y = torch.empty(batch, length, dtype=torch.long)
    depth = torch.zeros(batch, dtype=torch.long)
    for t in range(length):
        is_bracket = u[:, t] < p_bracket[:, 0]
        opens = (v[:, t] < p_open[:, 0]) | (depth == 0)
        opens = opens & (depth < MAX_DEPTH)
        x[:, t] = torch.where(is_bracket, torch.where(opens, 0, 1), other[:, t])
        depth = depth + torch.where(is_bracket, torch.where(opens, 1, -1), 0)
        y[:, t] = depth
    return Batch(x, y, None)


def remember(gen: torch.Generator, batch: int, distance: int) -> Batch:
    """key, ``distance`` distractors, "?": length distance + 2; only the last step is scored."""
    key = torch.randint(0, len(KEYS), (batch,), generator=gen)  # (B,)
    noise = torch.randint(len(KEYS), len(KEYS) + len(DISTRACTORS), (batch, distance), generator=gen)
    query = torch.full((batch, 1), len(KEYS) + len(DISTRACTORS))
    x = torch.cat([key[:, None], noise, query], dim=1)  # (B, D + 2)
    y = torch.full_like(x, IGNORE)
    y[:, -1] = key
    return Batch(x, y, None)


def sine(gen: torch.Generator, batch: int, length: int, noise: float = NOISE) -> Batch:
    """x_t = sin(w t + phi) + noise; the target at step t is x_{t+1}."""
    omega = OMEGA[0] + (OMEGA[1] - OMEGA[0]) * torch.rand(batch, 1, generator=gen)  # (B, 1)
    phase = 2 * math.pi * torch.rand(batch, 1, generator=gen)
    t = torch.arange(length + 1, dtype=torch.float32)  # (T + 1,)
    clean = torch.sin(omega * t + phase)  # (B, T + 1)
    noisy = clean + noise * torch.randn(batch, length + 1, generator=gen)
    return Batch(noisy[:, :-1, None], noisy[:, 1:], clean[:, 1:])


def make_batch(task: str, gen: torch.Generator, batch: int, length: int) -> Batch:
    """``length`` is the sequence length (brackets, sine) or the key-to-query distance (remember)."""
    return {"brackets": brackets, "remember": remember, "sine": sine}[task](gen, batch, length)


def sine_wave(omega: float, phase: float, noise: float, length: int, seed: int) -> Batch:
    """One chosen wave (the page's input): x (1, T, 1), y and clean (1, T)."""
    gen = torch.Generator().manual_seed(seed)
    t = torch.arange(length + 1, dtype=torch.float32)
    clean = torch.sin(omega * t + phase)[None]  # (1, T + 1)
    noisy = clean + noise * torch.randn(1, length + 1, generator=gen)
    return Batch(noisy[:, :-1, None], noisy[:, 1:], clean[:, 1:])


def checksum(b: Batch) -> str:
    """sha256 of a batch's tensors: the model card's fingerprint of its held-out data."""
    h = hashlib.sha256()
    for t in (b.x, b.y, b.clean):
        if t is not None:
            h.update(t.contiguous().numpy().tobytes())
    return h.hexdigest()


class Encoded(NamedTuple):
    ids: list  # symbol ids of the characters kept
    text: str  # the characters kept, in order
    unknown: str  # distinct characters that were dropped (outside the vocabulary), in order of appearance
    truncated: int  # characters cut off beyond task.max_len (0 if none)


def encode(task: Task, text: str) -> Encoded:
    """User text -> ids: unknown characters are dropped (and reported), the rest cut at max_len."""
    index = {s: k for k, s in enumerate(task.symbols)}
    kept = [ch for ch in text if ch in index]
    unknown = "".join(dict.fromkeys(ch for ch in text if ch not in index))
    cut = max(0, len(kept) - task.max_len)
    kept = kept[:task.max_len]
    return Encoded([index[ch] for ch in kept], "".join(kept), unknown, cut)


def depths(text: str) -> tuple[list[int], list[str]]:
    """True nesting depth after every character (never below 0), and what is unusual about the text."""
    d, out, notes = 0, [], []
    for k, ch in enumerate(text):
        if ch == "(":
            d += 1
        elif ch == ")":
            if d == 0:
                notes.append(f"the ')' at position {k + 1} closes nothing (depth stays 0)")
            d = max(0, d - 1)
        out.append(d)
    if out and max(out) > MAX_DEPTH:
        notes.append(f"it nests {max(out)} deep; the model only saw depths up to {MAX_DEPTH}")
    return out, notes


def remember_notes(text: str) -> list[str]:
    """What makes a typed remember-input differ from the training data."""
    notes = []
    if text and text[0] not in KEYS:
        notes.append(f"it should start with the key to remember, one of {', '.join(KEYS)}")
    if any(ch in KEYS for ch in text[1:]):
        notes.append("a key letter appears again after the start; training never did that")
    if text.count(QUERY) > 1 or (text and text[-1] != QUERY):
        notes.append(f"the model is asked only at a single '{QUERY}' at the very end")
    distance = len(text) - 2
    if distance > TASKS["remember"].lengths[1]:
        notes.append(f"the distance {distance} is longer than any in training (at most {TASKS['remember'].lengths[1]})")
    return notes
