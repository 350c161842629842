"""``python -m dl_core.train cnn --arch {course,default}``: the shipped MNIST CNNs."""
from __future__ import annotations

import sys
import time
from dataclasses import asdict, replace
from pathlib import Path

import torch

from dl_core import cnn, data
from dl_core.cards import ASSETS, write_card
from dl_core.cnn_train import EpochEvent, TrainConfig, train_steps
from dl_core.device import pick_device

# The recipes of the shipped CNNs; command-line flags override single fields.
RECIPES = {
    "course": TrainConfig(epochs=14, batch_size=64, lr=0.01, optimizer="sgd", momentum=0.5, seed=1),
    "default": TrainConfig(epochs=8, batch_size=128, lr=0.003, optimizer="adam", schedule="onecycle",
                           augment=True, seed=1),
}


def register(sub) -> None:
    c = sub.add_parser("cnn", help="an MNIST CNN (the course's or the stronger default)")
    c.add_argument("--arch", choices=sorted(cnn.ARCHS), default="default")
    c.add_argument("--epochs", type=int)
    c.add_argument("--batch-size", dest="batch_size", type=int)
    c.add_argument("--lr", type=float)
    c.add_argument("--seed", type=int)
    c.add_argument("--data", help="folder with the MNIST files (default: $MNIST_DIR or data/mnist)")
    c.add_argument("--threads", type=int, help="torch threads (default: torch's choice)")
    c.add_argument("--out", help="asset name (default: cnn_<arch>)")
    c.set_defaults(run=run)


def run(args) -> dict:
    device = pick_device()
    if args.threads:
        torch.set_num_threads(args.threads)
    overrides = {k: getattr(args, k) for k in ("epochs", "batch_size", "lr", "seed") if getattr(args, k) is not None}
    cfg = replace(RECIPES[args.arch], **overrides)
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
    name = args.out or f"cnn_{args.arch}"
    cnn.save(model.cpu(), ASSETS / f"{name}.pt")
    card = {
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
        "train_time_s": round(time.perf_counter() - t0, 1),
        "device": device.type,
    }
    write_card(name, card)
    return {"name": name, **card}
