"""Command line that produces every shipped model: ``python -m dl_core.train <model> [options]``.

    python -m dl_core.train cnn --arch course      # the notebook's net, the notebook's recipe
    python -m dl_core.train cnn --arch default     # the stronger default net
    python -m dl_core.train --help                 # every model

Each sub-command lives in ``dl_core/recipes/<module>.py``; it writes ``assets/<name>.pt`` (weights
plus config) and ``assets/<name>.json`` (the model card) and prints a one-line summary.
"""
from __future__ import annotations

import argparse
import importlib
import json
import pkgutil
import sys

from dl_core import recipes


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m dl_core.train", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="model", required=True)
    for info in sorted(pkgutil.iter_modules(recipes.__path__), key=lambda m: m.name):
        importlib.import_module(f"dl_core.recipes.{info.name}").register(sub)
    return ap


def main(argv=None) -> None:
    args = parser().parse_args(argv)
    card = args.run(args)
    summary = {k: card[k] for k in card if k in ("name", "parameters", "test_accuracy", "train_time_s")}
    sys.stdout.write(json.dumps(summary or card, default=str) + "\n")


if __name__ == "__main__":
    main()
