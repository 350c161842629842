"""Sharing a playground setup (``dl_core.playground``): the config as plain strings for URL query
parameters, read back with every unreadable field reported, and a standalone PyTorch script that
regenerates the data and trains the same net the same way, step for step.
"""
from __future__ import annotations

import inspect
from dataclasses import asdict, fields

from dl_core.playground import ACTIVATIONS, DATASETS, FEATURES, PlaygroundConfig, check


def to_params(cfg: PlaygroundConfig) -> dict[str, str]:
    d = asdict(cfg)
    return {k: ",".join(map(str, v)) if isinstance(v, (tuple, list)) else f"{v:g}" if isinstance(v, float) else str(v)
            for k, v in d.items()}


def from_params(params: dict[str, str]) -> tuple[PlaygroundConfig, list[str]]:
    """A config from URL strings; anything unreadable falls back to the default and is reported."""
    default, values, problems = PlaygroundConfig(), {}, []
    for f in fields(PlaygroundConfig):
        if f.name not in params:
            continue
        raw = str(params[f.name])[:100]
        try:
            if f.name in ("features", "hidden"):
                parts = [p.strip() for p in raw.split(",") if p.strip()]
                values[f.name] = tuple(parts if f.name == "features" else map(int, parts))
            else:
                values[f.name] = type(getattr(default, f.name))(raw)
            check(PlaygroundConfig(**{**asdict(default), f.name: values[f.name]}))
        except (ValueError, TypeError):
            problems.append(f"{f.name}={raw!r}")
            values.pop(f.name, None)
    return PlaygroundConfig(**{**asdict(default), **values}), problems


def export_script(cfg: PlaygroundConfig, steps: int = 2000) -> str:
    """A standalone script that regenerates the data and trains the same net the same way."""
    layers, width = [], len(cfg.features)
    for h in cfg.hidden:
        layers.append(f"    nn.Linear({width}, {h}), nn.{ACTIVATIONS[cfg.activation]}(),")
        width = h
    layers.append(f"    nn.Linear({width}, {2 if cfg.loss == 'ce' else 1}),")
    feats = "\n".join(f"        {FEATURES[f]},  # {f}" for f in cfg.features)
    loss = ("(torch.logsumexp(out, 1) - out.gather(1, y[:, None])[:, 0]).mean()  # = F.cross_entropy(out, y)"
            if cfg.loss == "ce" else "F.mse_loss(torch.sigmoid(out[:, 0]), y.float())")
    prob = "torch.sigmoid(out[:, 1] - out[:, 0])" if cfg.loss == "ce" else "torch.sigmoid(out[:, 0])"
    l2 = (f"\n    loss = loss + {cfg.l2!r} * sum((m.weight ** 2).sum() for m in model if isinstance(m, nn.Linear))"
          if cfg.l2 > 0 else "")
    opt = "Adam" if cfg.optimizer == "adam" else "SGD"
    return f'''"""Exported from "Deep Learning, Visually": the PyTorch basics playground.

Setup: {to_params(cfg)}
Run: python this_file.py [steps]
"""
import math
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

STEPS = int(sys.argv[1]) if len(sys.argv) > 1 else {steps}


{inspect.getsource(DATASETS[cfg.dataset])}

def features(p):  # (N, 2) -> (N, {len(cfg.features)})
    return torch.stack([
{feats}
    ], 1)


def loss_fn(model, out, y):
    loss = {loss}{l2}
    return loss


gen = torch.Generator().manual_seed({cfg.seed})
x, y = {cfg.dataset}({cfg.n_points}, {cfg.noise!r}, gen)
perm = torch.randperm({cfg.n_points}, generator=gen)
k = {int(round(cfg.train_frac * cfg.n_points))}
x_train, y_train, x_test, y_test = x[perm[:k]], y[perm[:k]], x[perm[k:]], y[perm[k:]]

torch.manual_seed({cfg.seed})
model = nn.Sequential(
{chr(10).join(layers)}
)
opt = torch.optim.{opt}(model.parameters(), lr={cfg.lr!r})
batches = torch.Generator().manual_seed({cfg.seed + 1})
xs = features(x_train)
order = torch.empty(0, dtype=torch.long)
for step in range(1, STEPS + 1):
    if len(order) == 0:
        order = torch.randperm(len(y_train), generator=batches)
    idx, order = order[:{cfg.batch_size}], order[{cfg.batch_size}:]
    loss = loss_fn(model, model(xs[idx]), y_train[idx])
    opt.zero_grad()
    loss.backward()
    opt.step()

with torch.no_grad():
    for name, xx, yy in (("train", x_train, y_train), ("test", x_test, y_test)):
        out = model(features(xx))
        acc = ((({prob}) > 0.5).long() == yy).float().mean().item()
        print(f"{{name}}: loss {{loss_fn(model, out, yy).item():.4f}}, accuracy {{acc:.4f}}")
'''
