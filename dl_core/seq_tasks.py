"""Generated sequence-to-sequence tasks shared by the transformer and the encoder-decoder (seq2seq) pages.

The task is **reversing a digit string**: ``"31415" -> "51413"``. It is the classic toy task of
Sutskever et al. 2014, "Sequence to Sequence Learning with Neural Networks" (they reversed the
*source* to help LSTMs) and is ideal for reading attention: output step t has to look at input
position L-1-t, so a trained model's cross-attention is a clean anti-diagonal. Both pages train on
exactly this generator, so their exact-match numbers are comparable.

Token ids (one shared vocabulary for inputs and outputs)::

    0 <pad>   1 <bos>   2 <eos>   3..12 the digits "0".."9"

A source is its digits followed by ``<eos>``; a target is ``<bos>`` + reversed digits (decoder
input) and reversed digits + ``<eos>`` (what the decoder must predict). Inputs have ``min_len`` to
``max_len`` digits (default 3 to 16).

Held-out split: a string is *held out* when ``crc32(string) % 10 == 0`` (about 10% of all
strings of every length). ``sample(..., split="train")`` never returns a held-out string and
``split="test"`` returns only held-out ones, so test inputs are never seen in training, for
any seed.

Usage::

    from dl_core.seq_tasks import TASK
    g = torch.Generator().manual_seed(0)
    pairs = TASK.sample(64, g, split="train")          # [("4071", "1704"), ...]
    pairs8 = TASK.sample(64, g, split="test", length=8)  # every input has 8 digits
    batch = TASK.batch(pairs, device)                  # padded id tensors, see Batch
    TASK.vocab.decode(batch.tgt_out[0].tolist())       # back to "1704"
    TASK.problem("12a")                                 # a message for bad input, None when fine
"""
from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from typing import NamedTuple

import torch

PAD, BOS, EOS = 0, 1, 2
SPECIALS = ("<pad>", "<bos>", "<eos>")


@dataclass(frozen=True)
class Vocab:
    """Special tokens first, then one token per character of ``chars``."""
    chars: str = "0123456789"  # the characters inputs and outputs are made of

    @property
    def itos(self) -> tuple[str, ...]:
        return SPECIALS + tuple(self.chars)

    def __len__(self) -> int:
        return len(SPECIALS) + len(self.chars)

    def encode(self, text: str, bos: bool = False, eos: bool = False) -> list[int]:
        """Characters to ids (raises KeyError on a character outside the vocabulary)."""
        index = {c: i + len(SPECIALS) for i, c in enumerate(self.chars)}
        ids = [index[c] for c in text]
        return ([BOS] if bos else []) + ids + ([EOS] if eos else [])

    def decode(self, ids) -> str:
        """Ids to text: stops at the first <eos>, drops <pad> and <bos>."""
        out = []
        for i in ids:
            i = int(i)
            if i == EOS:
                break
            if i >= len(SPECIALS):
                out.append(self.chars[i - len(SPECIALS)])
        return "".join(out)

    def token(self, i: int) -> str:
        """One id as a readable token: '7', '<eos>', ..."""
        return self.itos[int(i)]


class Batch(NamedTuple):
    src: torch.Tensor          # (B, S) input digits + <eos>, right-padded with <pad>
    tgt_in: torch.Tensor       # (B, T) <bos> + output digits, right-padded (the decoder's input)
    tgt_out: torch.Tensor      # (B, T) output digits + <eos>, right-padded (what it must predict)
    src_lengths: torch.Tensor  # (B,) number of real source tokens (digits + <eos>)


def _pad(rows: list[list[int]], device) -> torch.Tensor:
    width = max(len(r) for r in rows)
    return torch.tensor([r + [PAD] * (width - len(r)) for r in rows], dtype=torch.long, device=device)


@dataclass(frozen=True)
class ReverseDigits:
    """Reverse a string of decimal digits. See the module docstring for ids and the split."""
    min_len: int = 3                            # shortest input, in digits
    max_len: int = 16                           # longest input, in digits
    vocab: Vocab = field(default_factory=Vocab)  # shared input/output vocabulary
    name: str = "reverse-digits"                # recorded in model cards

    def target(self, src: str) -> str:
        return src[::-1]

    def describe(self) -> str:
        return (f"reverse a string of {self.min_len}-{self.max_len} decimal digits, e.g. '31415' -> '51413'; "
                f"held out: crc32(input) % 10 == 0")

    @staticmethod
    def is_held_out(src: str) -> bool:
        return zlib.crc32(src.encode()) % 10 == 0

    def sample(self, n: int, generator: torch.Generator, split: str = "train",
               length: int | None = None) -> list[tuple[str, str]]:
        """``n`` (input, target) pairs from ``split`` ("train", "test" or "any"). The length is
        uniform in [min_len, max_len] unless ``length`` fixes it. Deterministic given the generator."""
        if split not in ("train", "test", "any"):
            raise ValueError(f"split must be 'train', 'test' or 'any', not {split!r}")
        pairs: list[tuple[str, str]] = []
        while len(pairs) < n:
            m = 4 * (n - len(pairs)) + 16 if split != "test" else 12 * (n - len(pairs)) + 64
            if length is None:
                lengths = torch.randint(self.min_len, self.max_len + 1, (m,), generator=generator)
            else:
                lengths = torch.full((m,), length)
            digits = torch.randint(0, 10, (m, int(lengths.max())), generator=generator)
            for row, k in zip(digits.tolist(), lengths.tolist()):
                s = "".join(map(str, row[:k]))
                if split == "any" or self.is_held_out(s) == (split == "test"):
                    pairs.append((s, self.target(s)))
                    if len(pairs) == n:
                        break
        return pairs

    def batch(self, pairs: list[tuple[str, str]], device=None) -> Batch:
        src = [self.vocab.encode(s, eos=True) for s, _ in pairs]
        tgt_in = [self.vocab.encode(t, bos=True) for _, t in pairs]
        tgt_out = [self.vocab.encode(t, eos=True) for _, t in pairs]
        lengths = torch.tensor([len(s) for s in src], device=device)
        return Batch(_pad(src, device), _pad(tgt_in, device), _pad(tgt_out, device), lengths)

    def encode_source(self, src: str, device=None) -> torch.Tensor:
        """One input string -> (S,) ids with the trailing <eos> (call ``problem`` first)."""
        return torch.tensor(self.vocab.encode(src, eos=True), dtype=torch.long, device=device)

    def problem(self, text: str) -> str | None:
        """Why ``text`` is not a valid input (empty, too long, characters outside the vocabulary), or None."""
        if not text:
            return "The input is empty: type some digits, e.g. 31415."
        bad = sorted({c for c in text if c not in self.vocab.chars})
        if bad:
            shown = ", ".join(repr(c) for c in bad[:8])
            return f"Only the digits 0-9 are in this model's vocabulary; not: {shown}."
        if len(text) > self.max_len:
            return f"The input has {len(text)} digits; the model was trained on at most {self.max_len}."
        return None


def exact_match(predictions: list[str], targets: list[str]) -> float:
    """Fraction of outputs that equal their target exactly (every character, nothing extra)."""
    if not targets:
        raise ValueError("no targets")
    return sum(p == t for p, t in zip(predictions, targets, strict=True)) / len(targets)


TASK = ReverseDigits()
