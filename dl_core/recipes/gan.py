"""``python -m dl_core.train gan``: the shipped digit DCGAN, its training snapshots and its model card.

Writes ``assets/gan_generator.pt`` (the generator, config + weights), ``assets/gan_snapshots.npz``
(the SAME 64 fixed-noise samples at every snapshot step as uint8 images, plus the loss history) and
``assets/gan_generator.json`` (the card, with the judge's scores). The judge is the shipped CNN
classifier (``--judge default``); ``--rescore`` re-judges the shipped files without training.
"""
from __future__ import annotations

import hashlib
import sys
import time
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
import torch

from dl_core import cnn, data, dcgan, gan_judge
from dl_core.cards import ASSETS, read_card, write_card
from dl_core.device import pick_device

NAME = "gan_generator"
SNAPSHOTS_FILE = "gan_snapshots.npz"
MODEL = dcgan.DCGANConfig(z_dim=32, g_ch=64, d_ch=32, g_fc=256, d_fc=256)
RECIPE = dcgan.TrainConfig(steps=8000, batch_size=64, lr=2e-4, beta1=0.5, ema=0.998, seed=1,
                           snapshots=(50, 100, 200, 500, 750, 1000, 1500, 2000, 3000, 4000, 6000))
FIXED_SEED = 0  # the noise of the 64 samples shown at every snapshot
JUDGE_SEED = 12345  # the noise of the 1,000-sample batch the card is scored on
JUDGE_N = 1000
TARGET = {"confident": 0.8, "min_class": 0.05}
HISTORY_EVERY = 25  # steps averaged into one point of the stored loss history


def register(sub) -> None:
    p = sub.add_parser("gan", help="the digit DCGAN (generator, training snapshots, judged model card)")
    p.add_argument("--steps", type=int)
    p.add_argument("--batch-size", dest="batch_size", type=int)
    p.add_argument("--lr", type=float)
    p.add_argument("--seed", type=int)
    p.add_argument("--g-ch", dest="g_ch", type=int, help="generator width (default %d)" % MODEL.g_ch)
    p.add_argument("--d-ch", dest="d_ch", type=int, help="discriminator width (default %d)" % MODEL.d_ch)
    p.add_argument("--g-fc", dest="g_fc", type=int, help="generator's hidden FC width (default %d)" % MODEL.g_fc)
    p.add_argument("--d-fc", dest="d_fc", type=int, help="discriminator's hidden FC width (default %d)" % MODEL.d_fc)
    p.add_argument("--judge", choices=sorted(cnn.ARCHS), default="default", help="which shipped CNN judges")
    p.add_argument("--data", help="folder with the MNIST files (default: $MNIST_DIR or data/mnist)")
    p.add_argument("--threads", type=int, help="torch threads (default: torch's choice)")
    p.add_argument("--out", type=Path, default=ASSETS, help="folder for the weights, snapshots and card")
    p.add_argument("--rescore", action="store_true", help="only re-judge the shipped generator and snapshots")
    p.set_defaults(run=run)


def judge_model(arch: str, device: torch.device):
    path = ASSETS / f"cnn_{arch}.pt"
    info = {"weights": f"assets/{path.name}", "sha256": hashlib.sha256(path.read_bytes()).hexdigest()}
    return cnn.load(path, device), info


def final_batch(g: dcgan.Generator, device: torch.device) -> torch.Tensor:
    """The card's 1,000 samples as uint8 (1000, 28, 28)."""
    return dcgan.to_pixels(dcgan.sample(g, JUDGE_N, JUDGE_SEED, device)).cpu()


def scores(g: dcgan.Generator, steps: np.ndarray, images: np.ndarray, judge, device) -> dict:
    final = gan_judge.judge(judge, final_batch(g, device))
    per_snapshot = [{"step": int(s), **gan_judge.judge(judge, torch.from_numpy(im)).as_dict()}
                    for s, im in zip(steps, images)]
    return {"score": {**final.as_dict(), "seed": JUDGE_SEED, "meets_target": gan_judge.meets(final, **TARGET)},
            "target": TARGET, "snapshot_scores": per_snapshot}


def run(args) -> dict:
    device = pick_device()
    if args.threads:
        torch.set_num_threads(args.threads)
    judge, judge_info = judge_model(args.judge, device)
    if args.rescore:
        g = dcgan.load(ASSETS / f"{NAME}.pt", device)
        snaps = np.load(ASSETS / SNAPSHOTS_FILE)
        card = {k: v for k, v in read_card(NAME).items() if k not in ("name", "torch", "machine", "command")}
        card["trained_by"] = card.get("trained_by") or read_card(NAME)["command"]
        card.update(judge=judge_info, **scores(g, snaps["steps"], snaps["images"], judge, device))
        write_card(NAME, card)
        return {"name": NAME, **card["score"]}
    overrides = {k: getattr(args, k) for k in ("steps", "batch_size", "lr", "seed") if getattr(args, k) is not None}
    tcfg = replace(RECIPE, **overrides)
    cfg = replace(MODEL, **{k: getattr(args, k) for k in ("g_ch", "d_ch", "g_fc", "d_fc")
                          if getattr(args, k, None) is not None})
    folder = Path(args.data) if args.data else data.default_dir()
    train = data.load_split(True, folder, allow_download=True)
    fixed_z = dcgan.noise(64, cfg.z_dim, FIXED_SEED, device)
    steps = dcgan.train(cfg, tcfg, train.images, device, fixed_z)
    g = next(steps)
    snap_steps, snap_images, history, window = [], [], [], []
    t0 = time.perf_counter()
    for ev in steps:
        if ev.losses is not None:
            window.append(ev.losses)
        if len(window) == HISTORY_EVERY or (window and ev.step == tcfg.steps):
            history.append([ev.step, *np.mean(window, axis=0)])
            window = []
            if ev.step % 500 == 0:
                sys.stderr.write(f"step {ev.step}: d_loss {history[-1][1]:.3f} g_loss {history[-1][2]:.3f} "
                                 f"D(x) {history[-1][3]:.2f} D(G(z)) {history[-1][4]:.2f} [{ev.seconds:.0f} s]\n")
        if ev.samples is not None:
            snap_steps.append(ev.step)
            snap_images.append(ev.samples.numpy())
    train_time = time.perf_counter() - t0
    # The shipped weights are float16 (half the file): round G to them, so that the last snapshot
    # and every score below are those of the generator that ships.
    g = dcgan.round_to_half(g.cpu())
    dcgan.save(g, args.out / f"{NAME}.pt", half=True)
    g = g.to(device)
    snap_images[-1] = dcgan.to_pixels(dcgan.sample(g, 64, FIXED_SEED, device)).cpu().numpy()
    steps_arr, images_arr = np.array(snap_steps, dtype=np.int32), np.stack(snap_images)  # (S,), (S, 64, 28, 28)
    np.savez_compressed(args.out / SNAPSHOTS_FILE, steps=steps_arr, images=images_arr,
                        history=np.array(history, dtype=np.float32), fixed_seed=FIXED_SEED)
    card = {
        "model": "DCGAN generator (dl_core.dcgan.Generator)",
        "config": asdict(cfg),
        "train_config": asdict(tcfg),
        "parameters": dcgan.count_params(g),
        "discriminator_parameters": dcgan.count_params(dcgan.Discriminator(cfg)),
        "data": {"dataset": "MNIST training images (official IDX files), labels unused",
                 "sha256_of_decompressed_files": data.checksum(folder), "train_images": len(train.labels)},
        "steps": tcfg.steps,
        "epochs": round(tcfg.steps * tcfg.batch_size / len(train.labels), 2),
        "train_time_s": round(train_time, 1),
        "device": device.type,
        "snapshots": {"file": f"assets/{SNAPSHOTS_FILE}", "steps": snap_steps, "fixed_seed": FIXED_SEED},
        "judge": judge_info,
        **scores(g, steps_arr, images_arr, judge, device),
    }
    write_card(NAME, card, args.out)
    return {"name": NAME, **card["score"], "train_time_s": card["train_time_s"]}
