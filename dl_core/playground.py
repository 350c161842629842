"""A TensorFlow-Playground-style trainer (Smilkov and Carter, 2016) in real PyTorch.

Five 2-D datasets generated in code, hand-made input features, a small MLP (Rumelhart et al.,
1986) trained with cross-entropy (default) or MSE, optional L2, SGD or Adam (Kingma and Ba,
2014). Training is a generator of steps, so the page decides how many to run per redraw. Sharing the
setup (URL strings, an exported script) is in ``dl_core/playground_share.py``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterator, NamedTuple

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

LIM = 6.0  # the data lives in [-LIM, LIM]^2, as in TensorFlow Playground
MAX_HIDDEN_LAYERS = 6
MAX_WIDTH = 8
ACTIVATIONS = {"tanh": "Tanh", "relu": "ReLU", "sigmoid": "Sigmoid", "linear": "Identity"}


# ---------------------------------------------------------------- datasets (self-contained: exported as is)
def circles(n: int, noise: float, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Class 1 inside radius 2.5, class 0 on a ring from 3.5 to 5."""
    y = (torch.arange(n) < n // 2).long()  # (n,)
    r = torch.where(y == 1, torch.rand(n, generator=gen) * 2.5, 3.5 + torch.rand(n, generator=gen) * 1.5)
    t = torch.rand(n, generator=gen) * 2 * math.pi
    x = torch.stack([r * torch.cos(t), r * torch.sin(t)], 1)  # (n, 2)
    return x + noise * 2.0 * torch.randn(n, 2, generator=gen), y


def xor(n: int, noise: float, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Class 1 where x1 and x2 have the same sign (quadrants I and III)."""
    x = (torch.rand(n, 2, generator=gen) * 2 - 1) * 5  # (n, 2) in [-5, 5]
    x = x + 0.3 * torch.sign(x)  # keep a small gap around the axes
    y = (x[:, 0] * x[:, 1] > 0).long()
    return x + noise * 2.0 * torch.randn(n, 2, generator=gen), y


def gaussians(n: int, noise: float, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Two blobs, class 1 around (2, 2) and class 0 around (-2, -2)."""
    y = (torch.arange(n) < n // 2).long()
    centre = torch.where(y[:, None] == 1, torch.tensor([2.0, 2.0]), torch.tensor([-2.0, -2.0]))  # (n, 2)
    return centre + (0.8 + noise * 4.0) * torch.randn(n, 2, generator=gen), y


def spiral(n: int, noise: float, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Two interleaved spiral arms, one per class."""
    y = (torch.arange(n) < n // 2).long()
    s = torch.rand(n, generator=gen)  # position along the arm, 0..1
    r = 0.3 + s * 5.0
    t = 1.75 * s * 2 * math.pi + math.pi * y  # the second arm is the first rotated by 180 degrees
    x = torch.stack([r * torch.sin(t), r * torch.cos(t)], 1)  # (n, 2)
    return x + noise * 2.0 * torch.randn(n, 2, generator=gen), y


def moons(n: int, noise: float, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Two interleaving half circles (as in scikit-learn's make_moons), scaled to the box."""
    y = (torch.arange(n) < n // 2).long()
    t = torch.rand(n, generator=gen) * math.pi
    upper = torch.stack([torch.cos(t), torch.sin(t)], 1)  # (n, 2)
    lower = torch.stack([1 - torch.cos(t), 0.5 - torch.sin(t)], 1)
    x = torch.where(y[:, None] == 1, lower, upper)
    x = (x - torch.tensor([0.5, 0.25])) * 3.5
    return x + noise * 2.0 * torch.randn(n, 2, generator=gen), y


DATASETS = {"circles": circles, "xor": xor, "gaussians": gaussians, "spiral": spiral, "moons": moons}
FEATURES = {  # name -> code on p (N, 2) in data units; coordinates are divided by 3 to stay near [-2, 2]
    "x1": "p[:, 0] / 3", "x2": "p[:, 1] / 3", "x1^2": "(p[:, 0] / 3) ** 2", "x2^2": "(p[:, 1] / 3) ** 2",
    "x1*x2": "p[:, 0] * p[:, 1] / 9", "sin(x1)": "torch.sin(p[:, 0])", "sin(x2)": "torch.sin(p[:, 1])",
}
_FEATURE_FNS = {  # the same formulas as code (a test checks the exported script reproduces the page)
    "x1": lambda p: p[:, 0] / 3, "x2": lambda p: p[:, 1] / 3, "x1^2": lambda p: (p[:, 0] / 3) ** 2,
    "x2^2": lambda p: (p[:, 1] / 3) ** 2, "x1*x2": lambda p: p[:, 0] * p[:, 1] / 9,
    "sin(x1)": lambda p: torch.sin(p[:, 0]), "sin(x2)": lambda p: torch.sin(p[:, 1]),
}


@dataclass(frozen=True)
class PlaygroundConfig:
    dataset: str = "circles"  # one of DATASETS
    noise: float = 0.1  # 0 .. 0.5: standard deviation of the added noise / 2 (data units)
    n_points: int = 400  # points generated in total (half per class)
    train_frac: float = 0.5  # share of the points used for training; the rest is the test set
    seed: int = 0  # seeds the data, the split, the initial weights and the batch order
    features: tuple[str, ...] = ("x1", "x2")  # inputs fed to the net, from FEATURES
    hidden: tuple[int, ...] = (4, 4)  # width of each hidden layer (empty: logistic regression)
    activation: str = "tanh"  # hidden activation, from ACTIVATIONS
    lr: float = 0.03  # learning rate
    batch_size: int = 10  # points per gradient step
    l2: float = 0.0  # weight of the L2 penalty on the weight matrices (not the biases)
    loss: str = "ce"  # "ce" (cross-entropy over 2 logits) or "mse" (on a sigmoid output vs 0/1)
    optimizer: str = "adam"  # "adam" or "sgd" (TensorFlow Playground's plain SGD)


def check(cfg: PlaygroundConfig) -> None:
    """Raise ValueError with a clear message for a setup the page must not run."""
    if cfg.dataset not in DATASETS or cfg.activation not in ACTIVATIONS or cfg.loss not in ("ce", "mse") \
            or cfg.optimizer not in ("adam", "sgd"):
        raise ValueError("Unknown dataset, activation, loss or optimizer.")
    if not cfg.features or any(f not in FEATURES for f in cfg.features):
        raise ValueError("Pick at least one input feature.")
    if len(cfg.hidden) > MAX_HIDDEN_LAYERS or any(not 1 <= w <= MAX_WIDTH for w in cfg.hidden):
        raise ValueError(f"At most {MAX_HIDDEN_LAYERS} hidden layers of 1 to {MAX_WIDTH} neurons.")
    if not (20 <= cfg.n_points <= 2000 and 0.1 <= cfg.train_frac <= 0.9 and 1 <= cfg.batch_size <= 500
            and 0 <= cfg.noise <= 0.5 and 0 < cfg.lr <= 10 and 0 <= cfg.l2 <= 1):
        raise ValueError("A number in the setup is out of range.")


class Data(NamedTuple):
    x_train: torch.Tensor  # (N_train, 2) coordinates
    y_train: torch.Tensor  # (N_train,) labels 0/1
    x_test: torch.Tensor
    y_test: torch.Tensor


def make_data(cfg: PlaygroundConfig) -> Data:
    gen = torch.Generator().manual_seed(cfg.seed)
    x, y = DATASETS[cfg.dataset](cfg.n_points, cfg.noise, gen)
    perm = torch.randperm(cfg.n_points, generator=gen)
    k = int(round(cfg.train_frac * cfg.n_points))
    return Data(x[perm[:k]], y[perm[:k]], x[perm[k:]], y[perm[k:]])


def featurize(p: torch.Tensor, names: tuple[str, ...]) -> torch.Tensor:
    """(N, 2) coordinates -> (N, len(names)) network inputs."""
    return torch.stack([_FEATURE_FNS[n](p) for n in names], 1)


def build_model(cfg: PlaygroundConfig) -> nn.Sequential:
    """Linear-activation pairs for each hidden layer, then 2 logits (CE) or 1 output (MSE)."""
    layers, width = [], len(cfg.features)
    with torch.random.fork_rng(devices=[]):  # nn.Linear draws from the global RNG: seed it, then restore it
        torch.manual_seed(cfg.seed)
        for h in cfg.hidden:
            layers += [nn.Linear(width, h), getattr(nn, ACTIVATIONS[cfg.activation])()]
            width = h
        layers.append(nn.Linear(width, 2 if cfg.loss == "ce" else 1))
    return nn.Sequential(*layers)


def loss_fn(cfg: PlaygroundConfig, model: nn.Module, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    if cfg.loss == "ce":  # out: (B, 2) logits; logsumexp(z) - z[y] is F.cross_entropy(out, y), written out
        loss = (torch.logsumexp(out, 1) - out.gather(1, y[:, None])[:, 0]).mean()
    else:
        loss = F.mse_loss(torch.sigmoid(out[:, 0]), y.float())  # out: (B, 1)
    if cfg.l2 > 0:
        loss = loss + cfg.l2 * sum((m.weight ** 2).sum() for m in model if isinstance(m, nn.Linear))
    return loss


def prob_class1(cfg: PlaygroundConfig, out: torch.Tensor) -> torch.Tensor:
    """P(class 1): softmax over two logits is the sigmoid of their difference."""
    return torch.sigmoid(out[:, 1] - out[:, 0]) if cfg.loss == "ce" else torch.sigmoid(out[:, 0])


class Step(NamedTuple):
    step: int  # gradient steps taken so far
    epoch: float  # passes over the training set
    train_loss: float  # on the whole training set (L2 term included)
    test_loss: float
    train_acc: float
    test_acc: float


@torch.no_grad()
def evaluate(cfg: PlaygroundConfig, model: nn.Module, data: Data, step: int) -> Step:
    rows = []
    for x, y in ((data.x_train, data.y_train), (data.x_test, data.y_test)):
        out = model(featurize(x, cfg.features))
        rows += [float(loss_fn(cfg, model, out, y)), float(((prob_class1(cfg, out) > 0.5).long() == y).float().mean())]
    return Step(step, step * cfg.batch_size / len(data.y_train), rows[0], rows[2], rows[1], rows[3])


def train_steps(cfg: PlaygroundConfig, model: nn.Module, data: Data, max_steps: int,
                eval_every: int = 1) -> Iterator[Step]:
    """Yield the state before training, then every ``eval_every`` minibatch steps, up to ``max_steps``."""
    check(cfg)
    opt = (torch.optim.Adam if cfg.optimizer == "adam" else torch.optim.SGD)(model.parameters(), lr=cfg.lr)
    gen = torch.Generator().manual_seed(cfg.seed + 1)  # the batch order
    xs, n = featurize(data.x_train, cfg.features), len(data.y_train)  # (N, F)
    yield evaluate(cfg, model, data, 0)
    step, order = 0, torch.empty(0, dtype=torch.long)
    while step < max_steps:
        if len(order) == 0:
            order = torch.randperm(n, generator=gen)
        idx, order = order[:cfg.batch_size], order[cfg.batch_size:]
        model.train()
        loss = loss_fn(cfg, model, model(xs[idx]), data.y_train[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        step += 1
        if step % eval_every == 0 or step == max_steps:
            yield evaluate(cfg, model, data, step)


def grid_points(n: int) -> torch.Tensor:
    """(n*n, 2) coordinates of an n x n grid over the box; row-major with y going down from +LIM."""
    xs = torch.linspace(-LIM, LIM, n)
    ys = torch.linspace(LIM, -LIM, n)
    yy, xx = torch.meshgrid(ys, xs, indexing="ij")  # (n, n) each
    return torch.stack([xx.reshape(-1), yy.reshape(-1)], 1)


@torch.no_grad()
def views(cfg: PlaygroundConfig, model: nn.Module, n: int = 40) -> tuple[np.ndarray, list[np.ndarray]]:
    """One forward pass over an n x n grid of the box (row 0 at the top, y = +LIM) giving
    (P(class 1) as (n, n), [the input features (F, n, n), then each hidden layer after its activation])."""
    h = featurize(grid_points(n), cfg.features)  # (n*n, F)
    maps = [h.T.reshape(-1, n, n).numpy()]
    for layer in model.eval():
        h = layer(h)
        if not isinstance(layer, nn.Linear):
            maps.append(h.T.reshape(-1, n, n).numpy())
    return prob_class1(cfg, h).reshape(n, n).numpy(), maps
