"""Model cards: the JSON written next to every shipped weight file."""
from __future__ import annotations

import json
import platform
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
ASSETS = ROOT / "assets"
COMMAND_KEYS = ("command", "train_command", "trained_by")


def portable(command: str) -> str:
    """A command line without this machine's absolute paths: paths inside the repository become
    relative, ``--out /elsewhere`` is dropped (the files were copied to the default, assets/), any
    other absolute path keeps only its file name."""
    words = command.split()
    out = []
    for i, w in enumerate(words):
        flag, eq, value = w.partition("=") if w.startswith("--") else ("", "", w)
        if not value.startswith("/"):
            out.append(w)
            continue
        p = Path(value)
        if p.is_relative_to(ROOT):
            value = str(p.relative_to(ROOT)) or "."
        elif (eq and flag == "--out") or (i > 0 and words[i - 1] == "--out"):
            if not eq:
                out.pop()
            continue
        else:
            value = p.name
        out.append(f"{flag}={value}" if eq else value)
    return " ".join(out)


def portable_card(card):
    """The card with ``portable`` applied to every command string, nested ones included."""
    if isinstance(card, dict):
        return {k: portable(v) if k in COMMAND_KEYS and isinstance(v, str) else portable_card(v)
                for k, v in card.items()}
    if isinstance(card, list):
        return [portable_card(v) for v in card]
    return card


def machine() -> str:
    return f"{platform.machine()}, {torch.get_num_threads()} torch threads"


def write_card(name: str, card: dict, folder: Path = ASSETS) -> Path:
    """Write ``<folder>/<name>.json``; adds the exact command line, torch version and machine."""
    full = portable_card({"name": name, **card, "torch": torch.__version__, "machine": machine(),
                          "command": "python -m dl_core.train " + " ".join(sys.argv[1:])})
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.json"
    path.write_text(json.dumps(full, indent=2) + "\n")
    return path


def read_card(name: str, folder: Path = ASSETS) -> dict:
    return json.loads((folder / f"{name}.json").read_text())
