"""The course's nn.Module notebook, rebuilt: ``nn.Linear(5, 1)``, an ``nn.Sequential`` of
Linear(5, 5) - ReLU - Linear(5, 1) - Sigmoid (also named through an ``OrderedDict``), and a
layer list the user edits. Everything shown (repr, parameters, ``state_dict``, the forward pass,
the dtype and device mismatch errors) comes from the real modules.

The multi-layer perceptron itself goes back to Rumelhart, Hinton and Williams (1986).
"""
from __future__ import annotations

import ast
from collections import OrderedDict
from typing import NamedTuple

import torch
import torch.nn as nn

IN_FEATURES = 5  # the notebook's input size
MAX_LAYERS = 12
MAX_WIDTH = 256
LAYERS = {"Linear": nn.Linear, "ReLU": nn.ReLU, "Sigmoid": nn.Sigmoid, "Tanh": nn.Tanh, "LeakyReLU": nn.LeakyReLU,
          "Softmax": nn.Softmax, "Dropout": nn.Dropout, "Identity": nn.Identity, "BatchNorm1d": nn.BatchNorm1d}
COURSE_LAYERS = "Linear(5, 5)\nReLU()\nLinear(5, 1)\nSigmoid()"


class LayerError(ValueError):
    """A layer list that cannot be built, with the reason (PyTorch's own message where it has one)."""


def seeded(seed: int, make):
    """Call ``make()`` with the global RNG seeded (nn.Linear initialises from it), restoring it afterwards."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return make()


def course_linear(seed: int = 0) -> nn.Linear:
    return seeded(seed, lambda: nn.Linear(5, 1))


def course_sequential(seed: int = 0) -> nn.Sequential:
    return seeded(seed, lambda: nn.Sequential(nn.Linear(5, 5), nn.ReLU(), nn.Linear(5, 1), nn.Sigmoid()))


def course_ordered(seed: int = 0) -> nn.Sequential:
    """The same net with named layers: ``model.fc1`` instead of ``model[0]``."""
    return seeded(seed, lambda: nn.Sequential(OrderedDict([
        ("fc1", nn.Linear(5, 5)),
        ("relu", nn.ReLU()),
        ("fc2", nn.Linear(5, 1)),
        ("sigmoid", nn.Sigmoid()),
    ])))


def _args(call: ast.Call) -> list[float | int]:
    out = []
    for a in call.args:
        sign = 1
        if isinstance(a, ast.UnaryOp) and isinstance(a.op, ast.USub):
            sign, a = -1, a.operand
        if not (isinstance(a, ast.Constant) and type(a.value) in (int, float)):
            raise LayerError("Layer arguments must be plain numbers, e.g. Linear(5, 5) or Dropout(0.5).")
        out.append(sign * a.value)
    return out


def parse_layers(text: str) -> list[tuple[str, list]]:
    """One layer per line, e.g. 'Linear(5, 5)'; read with an AST whitelist, never eval."""
    lines = [ln.strip() for ln in (text or "").splitlines() if ln.strip() and not ln.strip().startswith("#")]
    if not lines:
        raise LayerError("The layer list is empty: add at least one layer, e.g. Linear(5, 1).")
    if len(lines) > MAX_LAYERS:
        raise LayerError(f"At most {MAX_LAYERS} layers (got {len(lines)}).")
    specs = []
    for n, line in enumerate(lines, 1):
        if len(line) > 60:
            raise LayerError(f"Line {n} is too long.")
        try:
            node = ast.parse(line.removeprefix("nn."), mode="eval").body
        except SyntaxError:
            raise LayerError(f"Line {n} (`{line}`) is not a layer like Linear(5, 5) or ReLU().") from None
        if isinstance(node, ast.Name):  # "ReLU" without parentheses
            node = ast.Call(func=node, args=[], keywords=[])
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)) or node.keywords:
            raise LayerError(f"Line {n} (`{line}`) is not a layer like Linear(5, 5) or ReLU().")
        if node.func.id not in LAYERS:
            raise LayerError(f"Line {n}: unknown layer `{node.func.id}`; use one of {', '.join(LAYERS)}.")
        specs.append((node.func.id, _args(node)))
    return specs


def build_layers(text: str, seed: int = 0) -> nn.Sequential:
    """The layer list as an nn.Sequential, checked by a forward pass on one input of the first Linear's size."""
    specs = parse_layers(text)
    layers = []
    for name, args in specs:
        if name in ("Linear", "BatchNorm1d") and any(not isinstance(a, int) or not 1 <= a <= MAX_WIDTH for a in args):
            raise LayerError(f"{name} sizes must be whole numbers from 1 to {MAX_WIDTH}.")
        if name == "Softmax" and not args:
            args = [-1]  # the dimension to normalise over; nn.Softmax() without it is deprecated
        if name == "Softmax" and (len(args) != 1 or not isinstance(args[0], int) or abs(args[0]) > 8):
            raise LayerError("Softmax takes one whole number, the dimension to normalise over, e.g. Softmax(-1) "
                             "or Softmax(1).")
        if any(isinstance(a, int) and abs(a) > 10**9 for a in args):
            raise LayerError(f"{name}: a number is too large.")
        try:
            layers.append(seeded(seed + len(layers), lambda n=name, a=args: LAYERS[n](*a)))
        except (TypeError, ValueError, OverflowError) as err:  # PyTorch's own message, e.g. a missing out_features
            raise LayerError(f"{name}({', '.join(map(str, args))}): {err}") from None
    model = nn.Sequential(*layers)
    try:
        model.eval()(torch.zeros(2, in_features(model)))  # (2, F): a batch
        if not any(isinstance(m, nn.BatchNorm1d) for m in model.modules()):
            model(torch.zeros(in_features(model)))  # (F,): one vector, as forward_examples sends (Softmax(1) fails)
    except (RuntimeError, IndexError, TypeError, ValueError, OverflowError) as err:
        raise LayerError(f"The layers do not fit together: {err}") from None
    return model


def in_features(model: nn.Module) -> int:
    first = next((m for m in model.modules() if isinstance(m, (nn.Linear, nn.BatchNorm1d))), None)
    if first is None:
        return IN_FEATURES
    return first.in_features if isinstance(first, nn.Linear) else first.num_features


class Param(NamedTuple):
    name: str  # e.g. "fc1.weight"
    shape: tuple[int, ...]
    numel: int
    values: torch.Tensor  # detached copy


class ModuleInfo(NamedTuple):
    text: str  # repr(model)
    params: list[Param]
    state_dict: list[tuple[str, tuple[int, ...], str]]  # (key, shape, dtype)
    count: int  # trainable parameters


def describe(model: nn.Module) -> ModuleInfo:
    params = [Param(n, tuple(p.shape), p.numel(), p.detach().clone()) for n, p in model.named_parameters()]
    sd = [(k, tuple(v.shape), str(v.dtype).removeprefix("torch.")) for k, v in model.state_dict().items()]
    return ModuleInfo(repr(model), params, sd, sum(p.numel() for p in model.parameters() if p.requires_grad))


class Forward(NamedTuple):
    x_one: torch.Tensor  # (F,)
    y_one: torch.Tensor  # (out,)
    x_batch: torch.Tensor  # (3, F)
    y_batch: torch.Tensor  # (3, out)


@torch.no_grad()
def forward_examples(model: nn.Module, seed: int = 0, batch: int = 3) -> Forward:
    """One vector and a batch of ``batch`` vectors through the model (eval mode)."""
    gen = torch.Generator().manual_seed(seed)
    f = in_features(model)
    x1 = torch.randn(f, generator=gen)  # (F,): nn.Linear also accepts an unbatched vector
    xb = torch.randn(batch, f, generator=gen)  # (B, F)
    model.eval()
    y1 = model(x1[None])[0] if any(isinstance(m, nn.BatchNorm1d) for m in model.modules()) else model(x1)
    return Forward(x1, y1, xb, model(xb))


class Mismatch(NamedTuple):
    code: str  # what fails
    error: str | None  # PyTorch's message
    fix: str  # the code that works
    fixed: torch.Tensor | None  # the output once fixed


@torch.no_grad()
def dtype_mismatch(model: nn.Module) -> Mismatch:
    """A float64 input (numpy's default) into float32 weights fails; ``.float()`` fixes it."""
    x = torch.ones(in_features(model), dtype=torch.float64)  # (F,) like torch.from_numpy(np.ones(5))
    try:
        model.eval()(x[None])
        error = None
    except RuntimeError as err:
        error = str(err)
    fixed = model(x.float()[None])[0]
    return Mismatch("x = torch.from_numpy(np.ones(5))  # float64\nmodel(x)", error,
                    "model(x.float())  # or: model.double()", fixed)


@torch.no_grad()
def device_mismatch(model: nn.Module, device: torch.device) -> Mismatch:
    """Weights on the CPU, input elsewhere. Without a GPU, PyTorch's 'meta' device stands in for one."""
    other = device if device.type != "cpu" else torch.device("meta")
    x = torch.ones(in_features(model), device=other)  # (F,)
    try:
        model.eval()(x[None])
        error = None
    except RuntimeError as err:
        error = str(err)
    fixed = model(x.to("cpu")[None])[0] if other.type != "meta" else model(torch.ones(in_features(model))[None])[0]
    return Mismatch(f"x = torch.ones(5, device='{other}')\nmodel(x)  # the model is on the CPU", error,
                    "model(x.to('cpu'))  # or: model.to(x.device)", fixed)
