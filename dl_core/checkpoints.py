"""Checkpoints: a model's weights saved next to its frozen config, so that the file alone rebuilds the
model. Loading uses ``torch.load(weights_only=True)``: no pickled code runs. Every model module
re-exports ``count_params`` and ``save`` and wraps ``load`` with its own constructor."""
from __future__ import annotations

from dataclasses import asdict
from typing import Callable, TypeVar

import torch
import torch.nn as nn

M = TypeVar("M", bound=nn.Module)


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def save(model: nn.Module, path, extra: dict | None = None, half: bool = False) -> None:
    """``{"config": asdict(model.cfg), "state_dict": ..., **extra}``; ``half`` stores float tensors as
    float16 (half the file; ``load`` turns them back into float32)."""
    state = {k: v.half() if half and v.is_floating_point() else v for k, v in model.state_dict().items()}
    torch.save({"config": asdict(model.cfg), "state_dict": state, **(extra or {})}, path)


def round_to_half(model: M) -> M:
    """Round the weights to float16 precision in place: the model that ``save(..., half=True)`` ships,
    so that scores measured afterwards are those of the shipped weights."""
    with torch.no_grad():
        for v in model.state_dict().values():
            if v.is_floating_point():
                v.copy_(v.half().float())
    return model


def load(path, make: Callable[[dict], M], device: torch.device) -> M:
    """``make(config dict)`` rebuilds the model; the weights are copied in (cast to its dtypes); eval mode."""
    ckpt = torch.load(path, map_location=device, weights_only=True)
    model = make(ckpt["config"])
    model.load_state_dict(ckpt["state_dict"])
    return model.to(device).eval()
