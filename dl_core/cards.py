"""Model cards: the JSON written next to every shipped weight file."""
from __future__ import annotations

import json
import platform
import sys
from pathlib import Path

import torch

ASSETS = Path(__file__).resolve().parent.parent / "assets"


def machine() -> str:
    return f"{platform.machine()}, {torch.get_num_threads()} torch threads"


def write_card(name: str, card: dict, folder: Path = ASSETS) -> Path:
    """Write ``<folder>/<name>.json``; adds the exact command line, torch version and machine."""
    full = {"name": name, **card, "torch": torch.__version__, "machine": machine(),
            "command": "python -m dl_core.train " + " ".join(sys.argv[1:])}
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.json"
    path.write_text(json.dumps(full, indent=2) + "\n")
    return path


def read_card(name: str, folder: Path = ASSETS) -> dict:
    return json.loads((folder / f"{name}.json").read_text())
