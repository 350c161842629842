"""Scalar expressions typed by a user, run through real PyTorch autograd, node by node.

The course built a tiny scalar autograd engine by hand (in the spirit of Karpathy's micrograd)
and drew its computation graph. Here the same picture is made from PyTorch itself: the text is
parsed with ``ast`` and checked against a whitelist (numbers, variable names, ``+ - * / **``,
unary minus, and calls to exp/log/tanh/relu/sigmoid), then every AST node becomes one real
torch op. Nothing is ever passed to ``eval`` or ``exec``.

Backpropagation is the chain rule applied in reverse topological order (Rumelhart, Hinton and
Williams, "Learning representations by back-propagating errors", 1986); ``backward_steps``
yields it one node at a time, each local step computed by ``torch.autograd.grad`` on that op.
"""
from __future__ import annotations

import ast
import math
import re
from typing import Callable, Iterator, NamedTuple

import torch

MAX_CHARS = 500  # longer input is refused before parsing
MAX_NODES = 80  # graph nodes (ops, variables, constants)
MAX_VARS = 6  # distinct variable names
NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,15}")
FUNCS: dict[str, Callable] = {"exp": torch.exp, "log": torch.log, "tanh": torch.tanh, "relu": torch.relu,
                              "sigmoid": torch.sigmoid}
BINOPS = {ast.Add: ("+", torch.add), ast.Sub: ("-", torch.sub), ast.Mult: ("*", torch.mul),
          ast.Div: ("/", torch.div), ast.Pow: ("**", torch.pow)}
OP_FUNCS: dict[str, Callable] = {**{sym: fn for sym, fn in BINOPS.values()}, "neg": torch.neg, **FUNCS}
NOT_ALLOWED = {  # AST node type -> how a person would call it
    "Attribute": "attribute access (a.b)", "Subscript": "indexing (a[0])", "Lambda": "lambda functions",
    "ListComp": "comprehensions", "SetComp": "comprehensions", "DictComp": "comprehensions",
    "GeneratorExp": "comprehensions", "Compare": "comparisons", "BoolOp": "and / or", "IfExp": "if / else",
    "List": "lists", "Tuple": "tuples", "Dict": "dicts", "Set": "sets", "Starred": "*unpacking",
    "NamedExpr": "the := operator", "JoinedStr": "f-strings", "Await": "await", "Yield": "yield",
    "YieldFrom": "yield", "Slice": "slices",
}


class ExprError(ValueError):
    """A clear, user-facing reason why an expression cannot be used."""


class Parsed(NamedTuple):
    source: str  # the text as typed
    name: str  # the output's name: "h" for "h = ...", else "f"
    tree: ast.expr  # the validated expression
    variables: tuple[str, ...]  # in order of first appearance


class Node(NamedTuple):
    id: int  # position in topological order
    op: str  # "var", "const", "+", "-", "*", "/", "**", "neg", "exp", "log", "tanh", "relu", "sigmoid"
    label: str  # the source text this node computes, e.g. "x*w"
    inputs: tuple[int, ...]  # ids of the nodes it reads
    value: float
    grad: float | None  # d output / d node after one backward pass (None for constants)


class Graph(NamedTuple):
    nodes: tuple[Node, ...]  # topological order: every node after its inputs
    output: int  # id of the output node
    name: str
    tensors: tuple[torch.Tensor, ...]  # the real autograd tensors, same order as nodes


# ---------------------------------------------------------------- parsing ---------------------
def parse(text: str) -> Parsed:
    """Validate ``text`` (optionally ``name = expression``) against the whitelist."""
    text = (text or "").strip()
    if not text:
        raise ExprError("Type an expression, e.g. h = sigmoid(relu(x*w + b) * 2 - 1).")
    if len(text) > MAX_CHARS:
        raise ExprError(f"The expression is {len(text):,} characters long; the limit is {MAX_CHARS}.")
    odd = next((c for c in text if ord(c) > 126 or (ord(c) < 32 and c not in "\t\n")), None)
    if odd is not None:
        raise ExprError(f"Only plain ASCII is allowed; found {odd!r} (U+{ord(odd):04X}). Use * for times, ** for powers.")
    try:
        module = ast.parse(text, mode="exec")
    except SyntaxError as err:
        raise ExprError(f"Syntax error at column {err.offset or 0}: {err.msg}.") from None
    except (RecursionError, MemoryError, ValueError):
        raise ExprError("The expression is nested too deeply.") from None
    if len(module.body) != 1:
        raise ExprError("Only one expression, optionally named, e.g. h = x*w + b.")
    stmt, name = module.body[0], "f"
    if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
        name, expr = stmt.targets[0].id, stmt.value
        _check_name(name)
    elif isinstance(stmt, ast.Expr):
        expr = stmt.value
    else:
        raise ExprError("Only one expression, optionally named, e.g. h = x*w + b.")
    variables: list[str] = []
    _check(expr, variables, depth=0)
    if name in variables:
        raise ExprError(f"The result's name `{name}` is also an input variable; pick another name.")
    return Parsed(text, name, expr, tuple(variables))


def _check_name(name: str) -> None:
    if name.startswith("__") or "__" in name:
        raise ExprError(f"Names with double underscores (`{name}`) are not allowed.")
    if not NAME_RE.fullmatch(name):
        raise ExprError(f"`{name}` is not a usable name: letters, digits and _, at most 16 characters.")
    if name in FUNCS:
        raise ExprError(f"`{name}` is a function: call it like {name}(x).")


def _check(node: ast.AST, variables: list[str], depth: int) -> None:
    if depth > 40:
        raise ExprError("The expression is nested too deeply.")
    kind = type(node).__name__
    if isinstance(node, ast.Constant):
        if type(node.value) not in (int, float):
            what = "strings" if isinstance(node.value, (str, bytes)) else f"the constant {node.value!r}"
            raise ExprError(f"Only numbers are allowed as constants, not {what}.")
        try:
            finite = math.isfinite(float(node.value))
        except OverflowError:  # a 320-digit integer does not fit a float at all
            finite = False
        if not finite:
            raise ExprError("A constant is too large: every number here becomes a float32 or float64 tensor "
                            "(at most about 1.8e308).")
    elif isinstance(node, ast.Name):
        _check_name(node.id)
        if node.id not in variables:
            if len(variables) >= MAX_VARS:
                raise ExprError(f"At most {MAX_VARS} different variables.")
            variables.append(node.id)
    elif isinstance(node, ast.BinOp):
        if type(node.op) not in BINOPS:
            raise ExprError(f"The operator `{_op_symbol(node.op)}` is not allowed: use + - * / **.")
        _check(node.left, variables, depth + 1)
        _check(node.right, variables, depth + 1)
    elif isinstance(node, ast.UnaryOp):
        if not isinstance(node.op, (ast.USub, ast.UAdd)):
            raise ExprError(f"The operator `{_op_symbol(node.op)}` is not allowed: only a leading minus.")
        _check(node.operand, variables, depth + 1)
    elif isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name):
            raise ExprError("Only calls to exp, log, tanh, relu and sigmoid are allowed (no attribute or method calls).")
        fname = node.func.id
        if "__" in fname:
            raise ExprError(f"Names with double underscores (`{fname}`) are not allowed.")
        if fname not in FUNCS:
            raise ExprError(f"Unknown function `{fname}`: use one of {', '.join(FUNCS)}.")
        if node.keywords:
            raise ExprError(f"Keyword arguments are not allowed: write {fname}(x).")
        if len(node.args) != 1:
            raise ExprError(f"`{fname}` takes exactly one argument, got {len(node.args)}.")
        _check(node.args[0], variables, depth + 1)
    else:
        raise ExprError(f"Not allowed: {NOT_ALLOWED.get(kind, kind)}. Only numbers, variables, + - * / ** and "
                        f"calls to {', '.join(FUNCS)}.")


def _op_symbol(op: ast.AST) -> str:
    return {"Mod": "%", "FloorDiv": "//", "MatMult": "@", "LShift": "<<", "RShift": ">>", "BitOr": "|",
            "BitXor": "^", "BitAnd": "&", "Not": "not", "Invert": "~"}.get(type(op).__name__, type(op).__name__)


# ---------------------------------------------------------------- forward -------------------
def _forward(parsed: Parsed, env: dict[str, torch.Tensor], dtype: torch.dtype, nodes: list | None) -> torch.Tensor:
    """Evaluate with real torch ops; when ``nodes`` is a list, append (op, label, inputs, tensor)."""
    seen: dict[str, int] = {}

    def label(n: ast.AST) -> str:
        return ast.get_source_segment(parsed.source, n) or type(n).__name__

    def visit(n: ast.AST) -> tuple[torch.Tensor, int]:
        if isinstance(n, ast.Name):
            if n.id not in seen:
                seen[n.id] = _add(nodes, "var", n.id, (), env[n.id])
            return env[n.id], seen[n.id]
        if isinstance(n, ast.Constant):
            t = torch.tensor(float(n.value), dtype=dtype)
            return t, _add(nodes, "const", label(n), (), t)
        if isinstance(n, ast.UnaryOp):
            a, ia = visit(n.operand)
            if isinstance(n.op, ast.UAdd):
                return a, ia
            return _op("neg", label(n), (a,), (ia,), nodes)
        if isinstance(n, ast.Call):
            a, ia = visit(n.args[0])
            return _op(n.func.id, label(n), (a,), (ia,), nodes)
        sym, _ = BINOPS[type(n.op)]
        (a, ia), (b, ib) = visit(n.left), visit(n.right)
        if sym == "/" and b.item() == 0.0:
            raise ExprError(f"Division by zero: the denominator `{label(n.right)}` is 0 at these values.")
        return _op(sym, label(n), (a, b), (ia, ib), nodes)

    for name in parsed.variables:
        if name not in env:
            raise ExprError(f"No value given for the variable `{name}`.")
    return visit(parsed.tree)[0]


def _add(nodes: list | None, op: str, label: str, inputs: tuple[int, ...], t: torch.Tensor) -> int:
    if nodes is None:
        return -1
    if len(nodes) >= MAX_NODES:
        raise ExprError(f"The expression makes more than {MAX_NODES} graph nodes; please shorten it.")
    nodes.append((op, label, inputs, t))
    return len(nodes) - 1


def _op(op: str, label: str, args: tuple, ids: tuple, nodes: list | None) -> tuple[torch.Tensor, int]:
    out = OP_FUNCS[op](*args)
    if not math.isfinite(out.item()):
        vals = ", ".join(f"{a.item():.4g}" for a in args)
        if op == "log":
            why = "log needs a positive input"
        elif op == "**" and math.isnan(out.item()):
            why = "a negative base with a fractional power"
        elif op == "**" and args[0].item() == 0.0:
            why = "0 to a negative power"
        else:
            why = f"too large for {str(out.dtype).removeprefix('torch.')}"
        raise ExprError(f"`{label}` is {out.item()} at these values ({op} of {vals}: {why}).")
    if nodes is not None and out.requires_grad:
        out.retain_grad()  # keep d output / d (this intermediate) after backward
    return out, _add(nodes, op, label, ids, out)


def leaves(parsed: Parsed, values: dict[str, float], dtype: torch.dtype) -> dict[str, torch.Tensor]:
    """One leaf tensor with requires_grad per variable."""
    return {v: torch.tensor(float(values.get(v, 0.0)), dtype=dtype, requires_grad=True) for v in parsed.variables}


def build(parsed: Parsed, values: dict[str, float], dtype: torch.dtype = torch.float32) -> Graph:
    """Forward through real torch ops, one ``backward()``, and every node's value and gradient."""
    raw: list = []
    env = leaves(parsed, values, dtype)
    out = _forward(parsed, env, dtype, raw)
    if out.requires_grad:
        out.backward()
    nodes = tuple(Node(i, op, lab, ins, t.item(), None if op == "const" else (t.grad.item() if t.grad is not None else 0.0))
                  for i, (op, lab, ins, t) in enumerate(raw))
    return Graph(nodes, len(nodes) - 1, parsed.name, tuple(t for _, _, _, t in raw))


def evaluate(parsed: Parsed, values: dict[str, float], dtype: torch.dtype = torch.float32) -> float:
    """The expression's value, no graph kept."""
    env = {v: torch.tensor(float(values[v]), dtype=dtype) for v in parsed.variables if v in values}
    with torch.no_grad():
        return _forward(parsed, env, dtype, None).item()


# ---------------------------------------------------------------- backward, step by step -----
class BackStep(NamedTuple):
    index: int  # 0 for the output node
    node: int  # whose local backward runs in this step
    upstream: float  # d output / d node, complete now (all its users have been processed)
    shares: tuple[tuple[int, float], ...]  # (input id, amount added to that input's grad)
    grads: dict[int, float]  # every node's gradient accumulated so far


def backward_steps(graph: Graph) -> Iterator[BackStep]:
    """The chain rule in reverse topological order; each local step is ``torch.autograd.grad`` of one op."""
    grads: dict[int, float] = {graph.output: 1.0}
    for k, node in enumerate(reversed(graph.nodes)):
        upstream = grads.get(node.id, 0.0)
        shares: list[tuple[int, float]] = []
        if node.op not in ("var", "const"):
            ins = [graph.tensors[i].detach().clone().requires_grad_(True) for i in node.inputs]
            out = OP_FUNCS[node.op](*ins)  # the same op, on detached copies: only its local derivative
            local = torch.autograd.grad(out, ins, grad_outputs=torch.tensor(upstream, dtype=out.dtype))
            for i, g in zip(node.inputs, local):
                if graph.nodes[i].op != "const":
                    grads[i] = grads.get(i, 0.0) + float(g)
                    shares.append((i, float(g)))
        yield BackStep(k, node.id, upstream, tuple(shares), dict(grads))


# ---------------------------------------------------------------- gradient accumulation ------
def accumulate(parsed: Parsed, values: dict[str, float], times: int = 3,
               dtype: torch.dtype = torch.float32) -> list[dict[str, float]]:
    """``backward()`` ``times`` times without ``zero_grad``: each leaf's ``.grad`` after every call."""
    env = leaves(parsed, values, dtype)
    out = _forward(parsed, env, dtype, None)
    history = []
    for _ in range(times):
        if out.requires_grad:
            out.backward(retain_graph=True)  # keep the graph so backward can run again
        history.append({v: float(t.grad) if t.grad is not None else 0.0 for v, t in env.items()})
    return history
