"""The one place where the compute device is chosen.

Order: the ``DLV_DEVICE`` environment variable if set (``cpu``, ``cuda``, ``cuda:1``, ``mps``),
else CUDA, else Apple's MPS, else the CPU. Everything else receives the device as an argument.
"""
from __future__ import annotations

import os

import torch

ENV_VAR = "DLV_DEVICE"


def pick_device(env: dict[str, str] | None = None) -> torch.device:
    """Return the device to compute on; ``env`` defaults to ``os.environ``."""
    env = os.environ if env is None else env
    wanted = env.get(ENV_VAR, "").strip().lower()
    if wanted:
        dev = torch.device(wanted)  # raises RuntimeError on a malformed name
        if dev.type == "cuda" and not torch.cuda.is_available():
            raise RuntimeError(f"{ENV_VAR}={wanted} but CUDA is not available")
        if dev.type == "mps" and not _mps_available():
            raise RuntimeError(f"{ENV_VAR}={wanted} but MPS is not available")
        return dev
    if torch.cuda.is_available():
        return torch.device("cuda")
    if _mps_available():
        return torch.device("mps")
    return torch.device("cpu")


def _mps_available() -> bool:
    mps = getattr(torch.backends, "mps", None)
    return bool(mps is not None and mps.is_available())


def describe(device: torch.device) -> str:
    """A short human-readable name, e.g. ``cpu (2 threads)`` or ``cuda (NVIDIA H100)``."""
    if device.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(device)})"
    if device.type == "cpu":
        return f"cpu ({torch.get_num_threads()} threads)"
    return device.type
