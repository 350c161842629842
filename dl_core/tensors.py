"""Tensors as the course's first notebook taught them, re-checked against today's PyTorch.

Building tensors (from a list, a numpy array or a factory), the dtype table with its aliases,
``view``/``reshape``/``permute``/``transpose`` with which element moves where (broadcasting and
type promotion are in ``dl_core/tensor_rules.py``). Every error shown is the one PyTorch itself raises: we run the real operation and
catch it, we never paraphrase. Values typed by a user are read with an AST whitelist (numbers,
lists, a leading minus), never ``eval``.
"""
from __future__ import annotations

import ast
import math
from typing import NamedTuple

import numpy as np
import torch

MAX_NUMEL = 10_000  # the largest tensor the page builds
MAX_DIMS = 6  # the most dimensions a typed shape may have
FACTORIES = ("empty", "zeros", "ones", "rand", "randn", "arange")


class TensorError(ValueError):
    """Bad input from the user, or the real PyTorch error message of an operation."""


class DType(NamedTuple):
    name: str  # canonical name, e.g. "float32"
    dtype: torch.dtype
    aliases: tuple[str, ...]  # other spellings that give the same dtype (torch.float, torch.double, ...)
    legacy: str  # the legacy tensor type of the course's PyTorch 0.4 (torch.FloatTensor, ...)
    kind: str  # "floating", "integer" or "boolean"
    in_course: bool  # one of the notebook's eight dtypes


DTYPES = (
    DType("float32", torch.float32, ("torch.float",), "torch.FloatTensor", "floating", True),
    DType("float64", torch.float64, ("torch.double",), "torch.DoubleTensor", "floating", True),
    DType("float16", torch.float16, ("torch.half",), "torch.HalfTensor", "floating", True),
    DType("uint8", torch.uint8, (), "torch.ByteTensor", "integer", True),
    DType("int8", torch.int8, (), "torch.CharTensor", "integer", True),
    DType("int16", torch.int16, ("torch.short",), "torch.ShortTensor", "integer", True),
    DType("int32", torch.int32, ("torch.int",), "torch.IntTensor", "integer", True),
    DType("int64", torch.int64, ("torch.long",), "torch.LongTensor", "integer", True),
    DType("bfloat16", torch.bfloat16, (), "torch.BFloat16Tensor", "floating", False),
    DType("bool", torch.bool, (), "torch.BoolTensor", "boolean", False),
)
BY_NAME = {d.name: d for d in DTYPES}


def dtype_row(dt: torch.dtype) -> DType:
    return next(d for d in DTYPES if d.dtype == dt)


def dtype_table() -> list[dict]:
    """One row per dtype: name, aliases, bits, legacy type, kind, smallest and largest value."""
    rows = []
    for d in DTYPES:
        info = torch.finfo(d.dtype) if d.kind == "floating" else (torch.iinfo(d.dtype) if d.kind == "integer" else None)
        rows.append({"dtype": f"torch.{d.name}", "aliases": ", ".join(d.aliases) or "-",
                     "bits": torch.empty(0, dtype=d.dtype).element_size() * 8, "legacy type": d.legacy,
                     "kind": d.kind, "min": "False" if info is None else f"{info.min:.4g}",
                     "max": "True" if info is None else f"{info.max:.4g}",
                     "in the course": "yes" if d.in_course else "added later"})
    return rows


# ---------------------------------------------------------------- reading user input ----------
def _number(node: ast.AST) -> float | int:
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        v = _number(node.operand)
        return -v if isinstance(node.op, ast.USub) else v
    if isinstance(node, ast.Constant) and type(node.value) in (int, float, bool):
        if isinstance(node.value, int) and abs(node.value) > 2**63:
            raise TensorError(f"{node.value} is too large for any integer dtype.")
        return node.value
    raise TensorError("Only numbers, square brackets and commas are allowed, e.g. [[1, 2], [3, 4]].")


def _nested(node: ast.AST, depth: int = 0):
    if depth > MAX_DIMS:
        raise TensorError(f"At most {MAX_DIMS} levels of nesting.")
    if isinstance(node, (ast.List, ast.Tuple)):
        return [_nested(e, depth + 1) for e in node.elts]
    return _number(node)


def parse_values(text: str) -> list | float:
    """'[[1, 2], [3, 4.5]]' -> nested Python lists of numbers, through an AST whitelist (no eval)."""
    text = (text or "").strip()
    if not text:
        raise TensorError("Type some values, e.g. [[1, 2, 3], [4, 5, 6]].")
    if len(text) > 20_000:
        raise TensorError(f"That input is {len(text):,} characters long; at most 20,000 please.")
    try:
        tree = ast.parse(text, mode="eval")
    except (SyntaxError, RecursionError, MemoryError, ValueError) as err:
        raise TensorError(f"Not a list of numbers: {getattr(err, 'msg', err)}.") from None
    return _nested(tree.body)


def parse_shape(text: str, allow_infer: bool = False) -> tuple[int, ...]:
    """'2, 3' or '(2, 3)' or '2x3' -> (2, 3). With allow_infer, -1 entries are kept for view/reshape."""
    if len(text or "") > 200:
        raise TensorError("A shape is a few whole numbers, e.g. 2, 3; that input is too long.")
    cleaned = (text or "").replace("x", ",").replace("X", ",").replace("(", "").replace(")", "")
    cleaned = cleaned.replace("[", "").replace("]", "").strip().strip(",")
    if not cleaned:
        return ()
    parts = [p.strip() for p in cleaned.split(",")]
    if len(parts) > MAX_DIMS:
        raise TensorError(f"At most {MAX_DIMS} dimensions.")
    try:
        dims = tuple(int(p) for p in parts)
    except ValueError:
        raise TensorError(f"A shape is whole numbers separated by commas, e.g. 2, 3 (got {text.strip()[:40]!r}).") from None
    if any(d < 0 and not (allow_infer and d == -1) for d in dims):
        raise TensorError("Sizes must be >= 0" + (" (or -1 to let PyTorch infer one)." if allow_infer else "."))
    # Count every dimension, not only numel: (0, 200000000) holds no element, but a chart or a
    # strided walk over it still pays for each of the 200 million positions along one axis.
    if math.prod(max(abs(d), 1) for d in dims) > MAX_NUMEL:
        raise TensorError(f"That is more than {MAX_NUMEL:,} elements (a size 0 counts as 1 here, so every "
                          "dimension stays small); pick a smaller shape.")
    return dims


# ---------------------------------------------------------------- building ---------------------
class Built(NamedTuple):
    tensor: torch.Tensor
    code: str  # the PyTorch line that builds it


def build(source: str, dtype: str, device: torch.device, values: str = "", shape: str = "2, 3",
          seed: int = 0, start: float = 0, end: float = 6, step: float = 1) -> Built:
    """A tensor from a typed list ('list'), a numpy array ('numpy') or a factory (FACTORIES)."""
    dt = BY_NAME[dtype].dtype
    dev = "" if device.type == "cpu" else f", device='{device}'"
    try:
        if source in ("list", "numpy"):
            data = parse_values(values)
            if source == "list":
                t = torch.tensor(data, dtype=dt, device=device)
                return Built(t, f"torch.tensor({values.strip()}, dtype=torch.{dtype}{dev})")
            arr = np.array(data)  # numpy picks float64 / int64 for Python numbers
            t = torch.from_numpy(arr)  # shares memory with arr, keeps numpy's dtype
            code = f"a = np.array({values.strip()})  # {arr.dtype}\nt = torch.from_numpy(a)  # shares a's memory"
            if t.dtype != dt or device.type != "cpu":
                t = t.to(device=device, dtype=dt)
                code += f"\nt = t.to(torch.{dtype}{dev})  # a copy"
            return Built(t, code)
        if source == "arange":
            if step == 0 or (end - start) / step > MAX_NUMEL:
                raise TensorError(f"arange would make more than {MAX_NUMEL:,} elements (or step is 0).")
            t = torch.arange(start, end, step, dtype=dt, device=device)
            return Built(t, f"torch.arange({start:g}, {end:g}, {step:g}, dtype=torch.{dtype}{dev})")
        if source not in FACTORIES:
            raise TensorError(f"Unknown source {source!r}.")
        size = parse_shape(shape)
        gen = torch.Generator(device=device).manual_seed(seed) if source in ("rand", "randn") else None
        extra = ", generator=g" if gen is not None else ""
        t = getattr(torch, source)(*size, dtype=dt, device=device, **({"generator": gen} if gen else {}))
        code = f"torch.{source}({', '.join(map(str, size))}, dtype=torch.{dtype}{dev}{extra})"
        if gen is not None:
            code = f"g = torch.Generator().manual_seed({seed})\n" + code
        return Built(t, code)
    except (RuntimeError, TypeError, OverflowError, ValueError) as err:  # PyTorch's own words
        raise TensorError(str(err)) from None


def info(t: torch.Tensor) -> dict:
    """What the notebook printed: dtype, shape, strides, device, size in memory, contiguity."""
    row = dtype_row(t.dtype)
    return {"dtype": f"torch.{row.name}", "aliases": ", ".join(row.aliases) or "-", "shape": tuple(t.shape),
            "strides": t.stride(), "device": str(t.device), "numel": t.numel(), "element size (bytes)": t.element_size(),
            "memory (bytes)": t.numel() * t.element_size(), "contiguous": t.is_contiguous()}


def cast_all(t: torch.Tensor, limit: int = 6) -> list[dict]:
    """The first values of ``t`` cast to every dtype (``t.to(dtype)``), to see truncation and wrap-around."""
    flat = t.reshape(-1)[:limit]
    rows = []
    for d in DTYPES:
        try:
            vals = flat.to(d.dtype).tolist()
            shown = ", ".join(f"{v:.4g}" if isinstance(v, float) else str(v) for v in vals)
        except RuntimeError as err:
            shown = f"error: {err}"
        rows.append({"code": f"t.to(torch.{d.name})", "first values": shown})
    return rows


# ---------------------------------------------------------------- reshaping -------------------
class Reshaped(NamedTuple):
    tensor: torch.Tensor | None  # the result, or None when PyTorch refused
    source_index: torch.Tensor | None  # for every output element, the flat index it came from
    code: str
    error: str | None  # PyTorch's message
    shares_memory: bool  # a view (same storage) rather than a copy


RESHAPE_OPS = ("view", "reshape", "permute", "transpose", "flatten", "contiguous")


def reshape(t: torch.Tensor, op: str, args: tuple[int, ...], transposed_first: bool = False) -> Reshaped:
    """Apply one reshaping op; ``transposed_first`` starts from ``t.t()`` (a non-contiguous view)."""
    base = t.t() if transposed_first and t.dim() == 2 else t
    index = torch.arange(t.numel()).view(t.shape)  # (same shape as t): each element's flat position
    index = index.t() if transposed_first and t.dim() == 2 else index
    prefix = "t.t()" if transposed_first and t.dim() == 2 else "t"
    arg_text = ", ".join(map(str, args))
    code = {"view": f"{prefix}.view({arg_text})", "reshape": f"{prefix}.reshape({arg_text})",
            "permute": f"{prefix}.permute({arg_text})", "transpose": f"{prefix}.transpose({arg_text})",
            "flatten": f"{prefix}.flatten()", "contiguous": f"{prefix}.contiguous()"}[op]

    def run(x: torch.Tensor) -> torch.Tensor:
        if op in ("view", "reshape", "permute"):
            return getattr(x, op)(*args)
        if op == "transpose":
            if len(args) != 2:
                raise TensorError("transpose takes exactly two dimensions, e.g. 0, 1.")
            return x.transpose(*args)
        return getattr(x, op)()

    try:
        out = run(base)
    except (RuntimeError, IndexError, TypeError, TensorError) as err:  # shown on the page as PyTorch says it
        return Reshaped(None, None, code, str(err), False)
    moved = run(index)
    same = out.numel() > 0 and out.untyped_storage().data_ptr() == base.untyped_storage().data_ptr()
    return Reshaped(out, moved, code, None, same)
