"""The numerical derivative of a typed expression (``dl_core.expr``), next to autograd's exact one.

A central difference (f(v + h) - f(v - h)) / 2h is what one checks a backward pass with. Held in
float32 it shows both failure modes: a large h is inexact (truncation error, ~h^2), a tiny h drowns
in rounding error (~eps / h); ``h_sweep`` measures both against autograd.
"""
from __future__ import annotations

import torch

from dl_core.expr import ExprError, Parsed, build, evaluate


def numerical(parsed: Parsed, values: dict[str, float], var: str, h: float,
              dtype: torch.dtype = torch.float32) -> float:
    """Central difference (f(v + h) - f(v - h)) / 2h, every number held in ``dtype``."""
    x = torch.tensor(float(values[var]), dtype=dtype)
    step = torch.tensor(h, dtype=dtype)
    try:
        up = evaluate(parsed, {**values, var: x + step}, dtype)
        down = evaluate(parsed, {**values, var: x - step}, dtype)
    except ExprError:
        return float("nan")
    diff = torch.tensor(up, dtype=dtype) - torch.tensor(down, dtype=dtype)  # (1,) in dtype
    return float(diff / (2 * step))


def h_sweep(parsed: Parsed, values: dict[str, float], var: str, hs: list[float],
            dtype: torch.dtype = torch.float32) -> list[tuple[float, float, float]]:
    """(h, numerical derivative, |numerical - autograd|) for each h; all NaN where ``dtype`` cannot
    even evaluate the expression (1/(b*b - 0.04000000000000001) is finite in float32, 1/0 in float64)."""
    try:
        exact = build(parsed, values, dtype)
    except ExprError:
        return [(h, float("nan"), float("nan")) for h in hs]
    node = next(n for n in exact.nodes if n.op == "var" and n.label == var)
    return [(h, d, abs(d - node.grad)) for h in hs for d in [numerical(parsed, values, var, h, dtype)]]
