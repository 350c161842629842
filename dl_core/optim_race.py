"""Losses, activations and an optimizer race on 2-D loss surfaces, with the real ``torch.optim``.

MSE and cross-entropy are written out by hand next to ``F.mse_loss`` / ``F.cross_entropy``
(the course's examples: MSE 3.6667 and CE 1.6856 on the default inputs below).

Surfaces: Rosenbrock's banana valley (Rosenbrock, 1960), a saddle, an elongated bowl and
Himmelblau's four-minimum function. Optimizers: SGD, SGD with momentum (Polyak, 1964),
Adagrad (Duchi et al., 2011), RMSprop (Tieleman and Hinton, 2012) and Adam (Kingma and Ba,
2014). A point (x, y) is one ``nn.Parameter`` of shape (2,); each step is ``zero_grad``,
``loss.backward()``, ``opt.step()``, exactly as in a training loop.
"""
from __future__ import annotations

from typing import Callable, Iterator, NamedTuple

import numpy as np
import torch
import torch.nn.functional as F

MAX_STEPS = 1000  # the longest race the page runs
BLOW_UP = 1e6  # a coordinate beyond this counts as diverged
MSE_DEFAULT = ([1.0, 2.0, 3.0], [2.0, 3.0, 6.0])  # (predictions, targets): MSE = (1 + 1 + 9) / 3 = 3.6667
CE_DEFAULT = ([[0.5, 2.0, 3.0], [3.0, 0.1, 0.0]], [2, 1])  # (logits, classes): one right, one wrong -> 1.6856


# ---------------------------------------------------------------- losses and activations -----
class LossResult(NamedTuple):
    by_hand: float  # the formula written out
    torch: float  # the PyTorch function
    per_item: np.ndarray  # the terms that are averaged
    probs: np.ndarray | None  # softmax probabilities (cross-entropy only), (B, C)


def mse(pred: torch.Tensor, target: torch.Tensor) -> LossResult:
    """mean((pred - target)^2) next to F.mse_loss."""
    sq = (pred - target) ** 2  # (N,)
    return LossResult(float(sq.mean()), float(F.mse_loss(pred, target)), sq.numpy(), None)


def cross_entropy(logits: torch.Tensor, target: torch.Tensor) -> LossResult:
    """mean(logsumexp(z) - z[target]) = mean(-log softmax(z)[target]) next to F.cross_entropy."""
    lse = torch.logsumexp(logits, dim=1)  # (B,)
    picked = logits[torch.arange(len(target)), target]  # (B,)
    per = lse - picked  # (B,) -log p(target)
    return LossResult(float(per.mean()), float(F.cross_entropy(logits, target)), per.numpy(),
                      torch.softmax(logits, 1).numpy())


ACTIVATION_FNS = {"relu": torch.relu, "sigmoid": torch.sigmoid, "tanh": torch.tanh}


def activation_curves(lo: float = -5.0, hi: float = 5.0, n: int = 201) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """name -> (x, f(x), f'(x)); the derivative comes from autograd."""
    out = {}
    for name, fn in ACTIVATION_FNS.items():
        x = torch.linspace(lo, hi, n, requires_grad=True)
        y = fn(x)
        (dy,) = torch.autograd.grad(y.sum(), x)
        out[name] = (x.detach().numpy(), y.detach().numpy(), dy.numpy())
    return out


def activations(v: torch.Tensor) -> dict[str, np.ndarray]:
    """Each activation applied to a user vector, softmax included (it needs the whole vector)."""
    return {**{k: fn(v).numpy() for k, fn in ACTIVATION_FNS.items()}, "softmax": torch.softmax(v, 0).numpy()}


class Surface(NamedTuple):
    name: str
    f: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]  # elementwise loss(x, y)
    start: tuple[float, float]  # the default starting point
    box: tuple[float, float, float, float]  # x_min, x_max, y_min, y_max drawn
    minimum: tuple[float, float] | None  # a global minimum, if there is one
    log_scale: bool  # colour the contour by log(1 + loss)
    note: str


SURFACES = {
    "rosenbrock": Surface("Rosenbrock", lambda x, y: (1 - x) ** 2 + 100 * (y - x ** 2) ** 2, (-1.5, 1.5),
                          (-2.0, 2.0, -1.0, 3.0), (1.0, 1.0), True,
                          "A curved, flat-bottomed valley: easy to find, slow to follow to the minimum at (1, 1)."),
    "saddle": Surface("Saddle", lambda x, y: x ** 2 - y ** 2 + 0.1 * y ** 4, (-1.5, 1e-3),
                      (-2.0, 2.0, -2.5, 2.5), None, False,
                      "Starts almost exactly on the ridge: the gradient in y is tiny, so plain SGD lingers at the "
                      "saddle point (0, 0) while adaptive methods escape to one of the two valleys."),
    "bowl": Surface("Elongated bowl", lambda x, y: 0.05 * x ** 2 + 2 * y ** 2, (-4.0, 1.5),
                    (-5.0, 5.0, -2.0, 2.0), (0.0, 0.0), False,
                    "40 times steeper in y than in x: SGD zig-zags across the valley, momentum and Adam do not."),
    "himmelblau": Surface("Himmelblau", lambda x, y: (x ** 2 + y - 11) ** 2 + (x + y ** 2 - 7) ** 2, (0.2, 0.5),
                          (-5.0, 5.0, -5.0, 5.0), (3.0, 2.0), True,
                          "Four equally good minima: which one an optimizer reaches depends on its path."),
}

OPTIMIZERS = ("SGD", "SGD+momentum", "RMSprop", "Adagrad", "Adam")
DEFAULT_LRS = {  # per surface: learning rates that make an instructive race (all editable on the page)
    "rosenbrock": {"SGD": 1e-3, "SGD+momentum": 1e-3, "RMSprop": 1e-2, "Adagrad": 0.5, "Adam": 0.2},
    "saddle": {"SGD": 0.02, "SGD+momentum": 0.01, "RMSprop": 0.01, "Adagrad": 0.2, "Adam": 0.05},
    "bowl": {"SGD": 0.4, "SGD+momentum": 0.05, "RMSprop": 0.05, "Adagrad": 0.5, "Adam": 0.1},
    "himmelblau": {"SGD": 0.01, "SGD+momentum": 0.003, "RMSprop": 0.05, "Adagrad": 0.5, "Adam": 0.1},
}


def make_optimizer(name: str, params, lr: float) -> torch.optim.Optimizer:
    """The real torch.optim class for each racer (momentum 0.9 for SGD+momentum)."""
    if name == "SGD":
        return torch.optim.SGD(params, lr=lr)
    if name == "SGD+momentum":
        return torch.optim.SGD(params, lr=lr, momentum=0.9)
    if name == "RMSprop":
        return torch.optim.RMSprop(params, lr=lr)
    if name == "Adagrad":
        return torch.optim.Adagrad(params, lr=lr)
    if name == "Adam":
        return torch.optim.Adam(params, lr=lr)
    raise ValueError(f"Unknown optimizer {name!r}; choose one of {', '.join(OPTIMIZERS)}.")


class Point(NamedTuple):
    step: int
    x: float
    y: float
    loss: float


def trajectory(surface: str, optimizer: str, lr: float, steps: int,
               start: tuple[float, float] | None = None) -> Iterator[Point]:
    """Yield the point before the first step and after every step; stops early on divergence."""
    s = SURFACES[surface]
    steps = max(0, min(int(steps), MAX_STEPS))
    p = torch.nn.Parameter(torch.tensor(start or s.start, dtype=torch.float64))  # (2,)
    opt = make_optimizer(optimizer, [p], lr)
    for k in range(steps + 1):
        loss = s.f(p[0], p[1])
        yield Point(k, float(p[0].detach()), float(p[1].detach()), float(loss.detach()))
        if k == steps or not torch.isfinite(loss) or float(p.detach().abs().max()) > BLOW_UP:
            return
        opt.zero_grad()
        loss.backward()
        opt.step()


def race(surface: str, lrs: dict[str, float], steps: int,
         start: tuple[float, float] | None = None) -> dict[str, np.ndarray]:
    """Each optimizer's whole path as an array of rows (step, x, y, loss)."""
    return {name: np.array([tuple(pt) for pt in trajectory(surface, name, lr, steps, start)], dtype=np.float64)
            for name, lr in lrs.items()}


def grid(surface: str, n: int = 60) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(xs (n,), ys (n,), loss (n, n)) over the surface's box; row i is ys[i]."""
    s = SURFACES[surface]
    xs = torch.linspace(s.box[0], s.box[1], n, dtype=torch.float64)
    ys = torch.linspace(s.box[2], s.box[3], n, dtype=torch.float64)
    yy, xx = torch.meshgrid(ys, xs, indexing="ij")  # (n, n) each
    return xs.numpy(), ys.numpy(), s.f(xx, yy).numpy()
