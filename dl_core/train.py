"""Command line that produces every shipped model: ``python -m dl_core.train <model> [options]``.

    python -m dl_core.train cnn --arch course             # the notebook's net, the notebook's recipe
    python -m dl_core.train cnn --arch default            # the stronger default net

Writes ``assets/<name>.pt`` (weights + config) and ``assets/<name>.json`` (the model card).
"""
from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from dataclasses import asdict, replace
from pathlib import Path

import torch

from dl_core import cnn, data
from dl_core.cnn_train import EpochEvent, TrainConfig, train_steps
from dl_core.device import pick_device

ASSETS = Path(__file__).resolve().parent.parent / "assets"

# The recipes of the shipped CNNs; command-line flags override single fields.
CNN_RECIPES = {
    "course": TrainConfig(epochs=14, batch_size=64, lr=0.01, optimizer="sgd", momentum=0.5, seed=1),
    "default": TrainConfig(epochs=8, batch_size=128, lr=0.003, optimizer="adam", schedule="onecycle",
                           augment=True, seed=1),
}


def train_cnn(args) -> dict:
    device = pick_device()
    torch.set_num_threads(args.threads) if args.threads else None
    recipe = CNN_RECIPES[args.arch]
    overrides = {k: getattr(args, k) for k in ("epochs", "batch_size", "lr", "seed") if getattr(args, k) is not None}
    cfg = replace(recipe, **overrides)
    model_cfg = cnn.CNNConfig(arch=args.arch)
    folder = Path(args.data) if args.data else data.default_dir()
    train = data.load_split(True, folder, allow_download=True)
    test = data.load_split(False, folder, allow_download=True)
    steps = train_steps(model_cfg, cfg, train, test, device, report_every=100)
    model = next(steps)
    history = []
    t0 = time.perf_counter()
    for ev in steps:
        if isinstance(ev, EpochEvent):
            history.append({"epoch": ev.epoch, "test_loss": round(ev.test_loss, 5), "test_accuracy": ev.accuracy})
            sys.stderr.write(f"epoch {ev.epoch}: {ev.line()} [{ev.seconds:.0f} s]\n")
    seconds = time.perf_counter() - t0
    name = args.out or f"cnn_{args.arch}"
    ASSETS.mkdir(exist_ok=True)
    cnn.save(model.cpu(), ASSETS / f"{name}.pt")
    card = {
        "name": name,
        "model": type(model).__name__,
        "config": asdict(model_cfg),
        "train_config": asdict(cfg),
        "parameters": cnn.count_params(model),
        "data": {"dataset": "MNIST (official IDX files)", "sha256_of_decompressed_files": data.checksum(folder),
                 "train_images": cfg.max_train or len(train.labels), "test_images": len(test.labels)},
        "epochs": cfg.epochs,
        "test_accuracy": history[-1]["test_accuracy"],
        "test_loss": history[-1]["test_loss"],
        "history": history,
        "train_time_s": round(seconds, 1),
        "machine": f"{platform.machine()}, {torch.get_num_threads()} threads, {device.type}",
        "torch": torch.__version__,
        "command": "python -m dl_core.train " + " ".join(sys.argv[1:]),
    }
    (ASSETS / f"{name}.json").write_text(json.dumps(card, indent=2) + "\n")
    return card


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(prog="python -m dl_core.train", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="model", required=True)
    c = sub.add_parser("cnn", help="an MNIST CNN")
    c.add_argument("--arch", choices=sorted(cnn.ARCHS), default="default")
    c.add_argument("--epochs", type=int)
    c.add_argument("--batch-size", dest="batch_size", type=int)
    c.add_argument("--lr", type=float)
    c.add_argument("--seed", type=int)
    c.add_argument("--data", help="folder with the MNIST files (default: $MNIST_DIR or data/mnist)")
    c.add_argument("--threads", type=int, help="torch threads (default: torch's choice)")
    c.add_argument("--out", help="asset name (default: cnn_<arch>)")
    args = ap.parse_args(argv)
    card = {"cnn": train_cnn}[args.model](args)
    sys.stdout.write(json.dumps({k: card[k] for k in ("name", "parameters", "test_accuracy", "train_time_s")}) + "\n")


if __name__ == "__main__":
    main()
