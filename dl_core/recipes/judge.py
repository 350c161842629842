"""``python -m dl_core.train judge``: the second judge of generated digits (assets/judge_resnet.pt).

    python -m dl_core.train judge --epochs 3 --seed 7 --threads 1

A residual net (``dl_core.judge_net``), another architecture and another seed than the shipped
CNN, trained with the CNN's loop (Adam, one-cycle, small random affine warps).
"""
from __future__ import annotations

import sys
import time
from dataclasses import asdict
from pathlib import Path

import torch

from dl_core import data, judge_net
from dl_core.cards import ASSETS, write_card
from dl_core.cnn import CNNConfig
from dl_core.cnn_train import EpochEvent, TrainConfig, train_steps
from dl_core.device import pick_device

NAME = "judge_resnet"


def register(sub) -> None:
    p = sub.add_parser("judge", help="the second judge of generated digits (a small residual net)")
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--batch-size", dest="batch_size", type=int, default=128)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--data", help="MNIST folder (default: $MNIST_DIR)")
    p.set_defaults(run=run)
    register_generators(sub)


def run(args) -> dict:
    torch.set_num_threads(args.threads)
    device = pick_device()
    cfg = TrainConfig(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, optimizer="adam",
                      schedule="onecycle", augment=True, seed=args.seed)
    folder = Path(args.data) if args.data else data.default_dir()
    train, test = data.load_split(True, folder), data.load_split(False, folder)
    torch.manual_seed(args.seed)
    model_cfg = judge_net.JudgeConfig()
    steps = train_steps(CNNConfig(), cfg, train, test, device, report_every=100,
                        model=judge_net.ResJudge(model_cfg))
    model = next(steps)
    history, t0 = [], time.perf_counter()
    for ev in steps:
        if isinstance(ev, EpochEvent):
            history.append({"epoch": ev.epoch, "test_loss": round(ev.test_loss, 5), "test_accuracy": ev.accuracy})
            sys.stderr.write(f"epoch {ev.epoch}: {ev.line()} [{ev.seconds:.0f} s]\n")
    judge_net.save(model.cpu(), ASSETS / f"{NAME}.pt")
    card = {"model": "ResJudge (dl_core.judge_net)", "config": asdict(model_cfg), "train_config": asdict(cfg),
            "parameters": judge_net.count_params(model),
            "purpose": "second judge of generated digits: accuracy / confident share, FD on its 256-d features",
            "data": {"dataset": "MNIST (official IDX files)", "sha256_of_decompressed_files": data.checksum(folder),
                     "train_images": len(train.labels), "test_images": len(test.labels)},
            "test_accuracy": history[-1]["test_accuracy"], "test_loss": history[-1]["test_loss"],
            "history": history, "train_time_s": round(time.perf_counter() - t0, 1), "device": device.type}
    write_card(NAME, card)
    return {"name": NAME, **card}


# --- python -m dl_core.train judge-generators: every generator's card gets the same five numbers ---
GENERATORS = ("gan_generator", "diffusion_unet", "diffusion_latent")
SWEEP = (0.0, 1.0, 2.0, 3.0, 5.0)  # guidance scales of the precomputed trade-off chart
SEED = 123  # the sampling seed (the diffusion recipes' judge uses the same)
FLOOR_SEED = 0


def register_generators(sub) -> None:
    p = sub.add_parser("judge-generators", help="judge the shipped generators with both judges, FD, diversity, ink")
    p.add_argument("--models", nargs="+", choices=GENERATORS, default=list(GENERATORS))
    p.add_argument("--samples", type=int, default=1000, help="samples per model (a multiple of 10)")
    p.add_argument("--sweep-samples", dest="sweep_samples", type=int, default=200, help="per guidance scale")
    p.add_argument("--steps", type=int, default=50, help="DDIM steps")
    p.add_argument("--sweep-steps", dest="sweep_steps", type=int, default=50, help="DDIM steps of the sweep")
    p.add_argument("--guidance", type=float, help="default guidance of the diffusion models (default: each card's)")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--data", help="MNIST folder (default: $MNIST_DIR)")
    p.set_defaults(run=run_generators)


class Context:
    """The two judges, the real test digits' feature moments, and real digits for diversity / ink."""

    def __init__(self, device: torch.device, folder=None):
        from dl_core import cnn, gen_metrics as G
        self.device = device
        self.cnn = cnn.load(ASSETS / "cnn_default.pt", device)
        self.judge2 = judge_net.load(ASSETS / f"{NAME}.pt", device)
        test = data.load_split(False, folder)
        self.real = (test.images, test.labels)
        self.test_feats = G.judge_outputs(self.judge2, test.images)[1]  # (10000, 256)
        self.real_moments = G.moments(self.test_feats)
        self.train = data.load_split(True, folder)

    def floor(self, n: int) -> float:
        """FD of n real training digits against the 10k test digits: what a perfect generator scores."""
        from dl_core import gen_metrics as G
        idx = torch.randperm(len(self.train.labels), generator=torch.Generator().manual_seed(FLOOR_SEED))[:n]
        feats = G.judge_outputs(self.judge2, self.train.images[idx])[1]
        return G.gaussian_fd(*G.moments(feats), *self.real_moments)

    def evaluate(self, images: torch.Tensor, requested):
        from dl_core import gen_metrics as G
        return G.evaluate(images, requested, self.cnn, self.judge2, self.real_moments, self.real)


def generate(name: str, n: int, guidance: float, steps: int, device: torch.device, seed: int = SEED):
    """(uint8 (n, 28, 28), requested classes (n,) or None) from a shipped generator."""
    from dl_core import dcgan, gen_metrics as G
    from dl_core.recipes import diffusion as R
    if name == "gan_generator":
        from dl_core.recipes.gan import final_batch, JUDGE_N
        g = dcgan.load(ASSETS / f"{name}.pt", device)
        if n == JUDGE_N:
            return final_batch(g, device), None
        return dcgan.to_pixels(dcgan.sample(g, n, seed, device)).cpu(), None
    fn = R.sampler_for(name, device, steps, guidance)
    gen = torch.Generator(device=device).manual_seed(seed)
    labels = torch.arange(10, device=device).repeat_interleave(n // 10)
    out = [G.to_uint8(fn(labels[i:i + 100], gen)).cpu() for i in range(0, len(labels), 100)]
    return torch.cat(out), labels.cpu()


def fields(rep, conditional: bool) -> dict:
    key = "accuracy" if conditional else "confident"
    r = lambda v: round(float(v), 4)  # noqa: E731
    return {f"{key}_cnn": r(rep.cnn), f"{key}_judge2": r(rep.judge2), "confident_cnn": r(rep.cnn_confident),
            "confident_judge2": r(rep.judge2_confident), "fd": round(rep.fd, 3), "diversity": r(rep.diversity),
            "diversity_per_class": rep.diversity_per_class, "ink": r(rep.ink), "real_ink": r(rep.real_ink),
            "ink_ratio": r(rep.ink / rep.real_ink), "samples": rep.n}


def run_generators(args) -> dict:
    from dl_core.cards import read_card
    torch.set_num_threads(args.threads)
    device = pick_device()
    folder = Path(args.data) if args.data else None
    ctx = Context(device, folder)
    floor = round(ctx.floor(args.samples), 3)
    judges = {"cnn": "assets/cnn_default.pt (the shipped CNN)",
              "judge2": f"assets/{NAME}.pt (a residual net, another seed; card assets/{NAME}.json)"}
    out = {}
    for name in args.models:
        t0 = time.perf_counter()
        card = read_card(name)
        conditional = name != "gan_generator"
        guidance = args.guidance if args.guidance is not None else float(card.get("default_guidance", 3.0))
        images, requested = generate(name, args.samples, guidance, args.steps, device)
        ev = {"judges": judges, **fields(ctx.evaluate(images, requested), conditional),
              "fd_floor": floor, "fd_features": f"{NAME} penultimate 256-d features, against the 10,000 MNIST test digits",
              "seed": SEED if conditional or args.samples != 1000 else "gan JUDGE_SEED (the card's score batch)"}
        if conditional:
            ev["sampler"] = f"DDIM {args.steps} steps, eta 0, guidance {guidance}"
            sweep, main = [], ctx.evaluate(images, requested)
            for w in SWEEP:
                if w == guidance and args.sweep_steps == args.steps:
                    rep = main  # the main batch is this point, with more samples
                else:
                    imgs, req = generate(name, args.sweep_samples, w, args.sweep_steps, device)
                    rep = ctx.evaluate(imgs, req)
                sweep.append({"guidance": w, "accuracy_cnn": round(rep.cnn, 4), "accuracy_judge2": round(rep.judge2, 4),
                              "diversity": round(rep.diversity, 4), "ink_ratio": round(rep.ink / rep.real_ink, 4),
                              "samples": rep.n})
            ev["guidance_sweep"] = sweep
            ev["sweep_sampler"] = f"DDIM {args.sweep_steps} steps, eta 0, {args.sweep_samples} samples per scale"
            card.update(default_guidance=guidance, judge_accuracy=ev["accuracy_cnn"], judge_samples=args.samples,
                        judge_sampler=ev["sampler"], judge_time_s=ev.get("time_s"))
            card.pop("per_class", None)
        ev["time_s"] = round(time.perf_counter() - t0, 1)
        for k in ("name", "torch", "machine"):
            card.pop(k, None)
        if "command" in card:  # the training command stays, under its own key; earlier re-judging is replaced
            command = card.pop("command")
            if "train_command" not in card and "trained_by" not in card:
                card["train_command"] = command
        card["evaluation"] = ev
        write_card(name, card)
        out[name] = ev
    return {"name": "judge-generators", "fd_floor": floor, **{k: {kk: v[kk] for kk in v if kk not in (
        "guidance_sweep", "diversity_per_class", "judges", "fd_features")} for k, v in out.items()}}
