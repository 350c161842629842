"""Two rules of PyTorch's arithmetic, computed for the shapes and dtypes a user types:
broadcasting (which shapes combine, and to what) and type promotion (which dtype a result gets,
and what an in-place op refuses). Every answer is PyTorch's own: the ops are run on small tensors.
"""
from __future__ import annotations

from typing import NamedTuple

import torch

from dl_core.tensors import BY_NAME, dtype_row


# ---------------------------------------------------------------- broadcasting ----------------
class Broadcast(NamedTuple):
    aligned_a: tuple[int, ...]  # shape a padded with leading 1s to the common rank
    aligned_b: tuple[int, ...]
    dims: tuple[str, ...]  # per aligned dim: "same", "a stretched", "b stretched" or "mismatch"
    result: tuple[int, ...] | None  # the broadcast shape, or None when incompatible
    error: str | None  # PyTorch's message for ``a + b``


def broadcast(a: tuple[int, ...], b: tuple[int, ...]) -> Broadcast:
    """Right-align the shapes, compare dimension by dimension, then let PyTorch decide."""
    n = max(len(a), len(b))
    pa, pb = (1,) * (n - len(a)) + tuple(a), (1,) * (n - len(b)) + tuple(b)
    dims = tuple("same" if x == y else "a stretched" if x == 1 else "b stretched" if y == 1 else "mismatch"
                 for x, y in zip(pa, pb))
    try:
        result = tuple(torch.broadcast_shapes(a, b))
    except RuntimeError:
        result = None
    error = None
    if result is None:  # the message of the real op; stride-0 expands cost no memory and it fails before allocating
        try:
            _ = torch.zeros(1).expand(a) + torch.zeros(1).expand(b)
        except RuntimeError as err:
            error = str(err)
    return Broadcast(pa, pb, dims, result, error)


def matmul_shapes(a: tuple[int, ...], b: tuple[int, ...]) -> tuple[tuple[int, ...] | None, str | None]:
    """(result shape, None) or (None, PyTorch's error) for ``A @ B``; no real memory is used."""
    try:
        out = torch.empty(a, device="meta") @ torch.empty(b, device="meta")
        return tuple(out.shape), None
    except RuntimeError:
        pass
    try:
        _ = torch.zeros(1).expand(a) @ torch.zeros(1).expand(b)
    except RuntimeError as err:
        return None, str(err)
    return None, "PyTorch refused these shapes."


# ---------------------------------------------------------------- type promotion --------------
class Promotion(NamedTuple):
    code: str
    result: str | None  # e.g. "tensor([2.5000, 3.5000]) torch.float32"
    dtype: str | None  # the result dtype's name
    error: str | None  # PyTorch's message


OPS = {"+": torch.add, "-": torch.sub, "*": torch.mul, "/": torch.div, "//": torch.floor_divide}


def promote(dtype_a: str, dtype_b: str, op: str = "+") -> Promotion:
    """``a op b`` on small real tensors of the two dtypes: today's result dtype, or the error."""
    a = torch.tensor([1, 2]).to(BY_NAME[dtype_a].dtype)
    b = torch.tensor([2.5, 4.0]).to(BY_NAME[dtype_b].dtype)
    code = f"a = torch.tensor([1, 2]).to(torch.{dtype_a})\nb = torch.tensor([2.5, 4.0]).to(torch.{dtype_b})\na {op} b"
    try:
        out = OPS[op](a, b)
    except RuntimeError as err:
        return Promotion(code, None, None, str(err))
    return Promotion(code, f"{out.tolist()}", dtype_row(out.dtype).name, None)


def inplace(dtype: str, op: str = "/=", value: float = 7) -> Promotion:
    """``x op= value`` in place on a tensor of ``dtype``; an int tensor cannot hold a float result."""
    x = torch.tensor([10, 20, 30]).to(BY_NAME[dtype].dtype)
    code = f"x = torch.tensor([10, 20, 30], dtype=torch.{dtype})\nx {op} {value:g}"
    try:
        {"/=": x.div_, "+=": x.add_, "*=": x.mul_, "-=": x.sub_}[op](value)
    except RuntimeError as err:
        return Promotion(code, None, None, str(err))
    return Promotion(code, f"{x.tolist()}", dtype_row(x.dtype).name, None)
