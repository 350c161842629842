"""``python -m dl_core.train diffusion|diffusion-ae|latent-diffusion|diffusion-judge``: the diffusion models.

    python -m dl_core.train diffusion --minutes 22          # pixel-space U-Net -> assets/diffusion_unet.pt
    python -m dl_core.train diffusion-ae --minutes 4        # E/D for 28x28 -> 4x7x7 -> assets/diffusion_ae.pt
    python -m dl_core.train latent-diffusion --minutes 15   # cross-attention eps-model on the AE's latents
    python -m dl_core.train diffusion-judge --name diffusion_unet   # re-score a model with the shipped CNN

Training: AdamW, cosine decay over the step (or time) budget, EMA of the weights for sampling,
10% label dropout for classifier-free guidance. The judge is the shipped CNN (assets/cnn_default.pt).
"""
from __future__ import annotations

import copy
import math
import sys
import time
from dataclasses import asdict
from pathlib import Path

import torch

from dl_core import cnn, data
from dl_core import diffusion as D
from dl_core import unet
from dl_core.cards import ASSETS, read_card, write_card
from dl_core.device import pick_device

JUDGE = ASSETS / "cnn_default.pt"


def register(sub) -> None:
    for name, help_ in (("diffusion", "pixel-space class-conditional U-Net (DDPM/DDIM)"),
                        ("diffusion-ae", "the latent-diffusion autoencoder E/D"),
                        ("latent-diffusion", "latent eps-model with cross-attention on the class")):
        p = sub.add_parser(name, help=help_)
        p.add_argument("--steps", type=int, default=4000, help="optimizer steps (upper bound with --minutes)")
        p.add_argument("--minutes", type=float, help="time budget; the cosine decay follows elapsed time")
        p.add_argument("--batch-size", dest="batch_size", type=int, default=128)
        p.add_argument("--lr", type=float, default=2e-3)
        p.add_argument("--seed", type=int, default=0)
        p.add_argument("--threads", type=int, default=1)
        p.add_argument("--judge-samples", dest="judge_samples", type=int, default=1000)
        p.add_argument("--judge-steps", dest="judge_steps", type=int, default=50)
        p.add_argument("--guidance", type=float, default=3.0, help="default guidance scale (judged)")
        p.add_argument("--data", help="MNIST folder (default: $MNIST_DIR)")
        p.add_argument("--init", help="start from this checkpoint's weights (continue a shorter run)")
        p.set_defaults(run=run, kind=name)
    j = sub.add_parser("diffusion-judge", help="score a shipped diffusion model with the shipped CNN")
    j.add_argument("--name", default="diffusion_unet", choices=["diffusion_unet", "diffusion_latent"])
    j.add_argument("--judge-samples", dest="judge_samples", type=int, default=1000)
    j.add_argument("--judge-steps", dest="judge_steps", type=int, default=50)
    j.add_argument("--guidance", type=float, default=3.0)
    j.add_argument("--threads", type=int, default=1)
    j.set_defaults(run=run_judge)


def images(split: data.Split) -> torch.Tensor:
    """(N, 28, 28) uint8 -> (N, 1, 28, 28) in [-1, 1]."""
    return split.images.float().div(127.5).sub(1.0).unsqueeze(1)


def judge_accuracy(sampler_fn, device: torch.device, n: int = 1000, batch: int = 100, seed: int = 123) -> dict:
    """Sample n digits (n/10 per class) and return the shipped CNN's agreement with the requested class."""
    judge = cnn.load(JUDGE, device)
    g = torch.Generator(device=device).manual_seed(seed)
    labels = torch.arange(10, device=device).repeat_interleave(max(1, n // 10))
    hits, per_class = 0, torch.zeros(10)
    for i in range(0, len(labels), batch):
        y = labels[i:i + batch]
        x = sampler_fn(y, g)  # (B, 1, 28, 28) in [-1, 1]
        pred = judge(data.normalize((D.to_unit(x) * 255).round().to(torch.uint8)[:, 0])).argmax(1)
        ok = (pred == y).float().cpu()
        hits += int(ok.sum())
        per_class.index_add_(0, y.cpu(), ok)
    return {"judge_accuracy": round(hits / len(labels), 4), "judge_samples": len(labels),
            "per_class": [round(v, 3) for v in (per_class / (len(labels) // 10)).tolist()]}


class EMA:
    """Exponential moving average of weights with warm-up: decay_n = min(decay, (1 + n) / (10 + n))."""

    def __init__(self, model: torch.nn.Module, decay: float = 0.999):
        self.model = copy.deepcopy(model).eval()
        self.decay, self.n = decay, 0

    @torch.no_grad()
    def update(self, model: torch.nn.Module) -> None:
        self.n += 1
        d = min(self.decay, (1 + self.n) / (10 + self.n))
        for e, p in zip(self.model.state_dict().values(), model.state_dict().values()):
            if e.dtype.is_floating_point:
                e.mul_(d).add_(p.detach(), alpha=1 - d)


def fit(model, loss_fn, xs: torch.Tensor, ys: torch.Tensor, args, device) -> tuple[EMA, dict]:
    """Generic loop: random batches, AdamW, cosine decay by step or by elapsed time, EMA."""
    g = torch.Generator().manual_seed(args.seed)
    if getattr(args, "init", None):
        model.load_state_dict(torch.load(args.init, map_location=device, weights_only=True)["state_dict"])
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.0)
    ema = EMA(model)
    budget = args.minutes * 60 if args.minutes else None
    t0 = time.perf_counter()
    losses, step = [], 0
    while step < args.steps:
        frac = step / args.steps
        if budget:
            frac = max(frac, (time.perf_counter() - t0) / budget)
        if frac >= 1:
            break
        for group in opt.param_groups:
            group["lr"] = args.lr * 0.5 * (1 + math.cos(math.pi * frac)) * min(1.0, (step + 1) / 100)
        idx = torch.randint(0, len(xs), (args.batch_size,), generator=g)
        loss = loss_fn(model, xs[idx].to(device), ys[idx].to(device), g)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        ema.update(model)
        losses.append(loss.item())
        step += 1
        if step % 100 == 0:
            sys.stderr.write(f"step {step}: loss {sum(losses[-100:]) / 100:.4f} [{time.perf_counter() - t0:.0f} s]\n")
    hist = [round(sum(losses[i:i + 100]) / len(losses[i:i + 100]), 5) for i in range(0, len(losses), 100)]
    return ema, {"steps": step, "train_time_s": round(time.perf_counter() - t0, 1), "loss_per_100_steps": hist}


def _data_card(folder) -> dict:
    return {"dataset": "MNIST train split (official IDX files), scaled to [-1, 1]",
            "sha256_of_decompressed_files": data.checksum(folder), "train_images": 60000}


def run(args) -> dict:
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    device = pick_device()
    folder = Path(args.data) if args.data else data.default_dir()
    train = data.load_split(True, folder)
    xs, ys = images(train), train.labels
    if args.kind == "diffusion":
        cfg = unet.UNetConfig(channels=(16, 32, 64), emb_dim=64)
        model = unet.UNet(cfg).to(device)
        sched = D.make_schedule(cfg.schedule, cfg.T)
        ema, stats = fit(model, lambda m, x, y, g: D.loss(m, x, y, sched, g), xs, ys, args, device)
        name = "diffusion_unet"
        unet.save(ema.model.cpu(), ASSETS / f"{name}.pt")
        card = {"model": "UNet (eps-model)", "config": asdict(cfg), "parameters": unet.count_params(model)}
    elif args.kind == "diffusion-ae":
        from dl_core import latent
        cfg = latent.AEConfig()
        model = latent.AutoEncoder(cfg).to(device)
        ema, stats = fit(model, lambda m, x, y, g: latent.ae_loss(m, x), xs, ys, args, device)
        name = "diffusion_ae"
        scale = latent.latent_std(ema.model, xs[:5000].to(device))
        ema.model.latent_std.fill_(scale)
        latent.save(ema.model.cpu(), ASSETS / f"{name}.pt", extra={"latent_std": scale})
        test = images(data.load_split(False, folder))
        with torch.no_grad():
            mse = float(torch.nn.functional.mse_loss(ema.model(test[:2000].to(device)), test[:2000].to(device)))
        card = {"model": "AutoEncoder (E/D)", "config": asdict(cfg), "parameters": latent.count_params(model),
                "test_mse_in_minus1_1": round(mse, 5), "latent_std": round(scale, 4)}
        return _finish(name, card, stats, folder, args)
    else:
        from dl_core import latent
        ae = latent.load_ae(ASSETS / "diffusion_ae.pt", device)
        stats = latent.latent_stats(ae, xs.to(device))  # per-channel scale of E(x) on the 60k training images
        cfg = latent.LatentConfig(**stats)
        model = latent.LatentDenoiser(cfg).to(device)
        with torch.no_grad():
            zs = torch.cat([model.normalize(ae.encode(xs[i:i + 1000].to(device))).cpu() for i in range(0, len(xs), 1000)])
        sched = D.make_schedule(cfg.schedule, cfg.T)
        ema, stats = fit(model, lambda m, x, y, g: D.loss(m, x, y, sched, g), zs, ys, args, device)
        name = "diffusion_latent"
        latent.save(ema.model.cpu(), ASSETS / f"{name}.pt")
        card = {"model": "LatentDenoiser (cross-attention eps-model)", "config": asdict(cfg),
                "parameters": latent.count_params(model), "autoencoder": "diffusion_ae"}
    card = {**card, "default_guidance": args.guidance}
    _finish(name, card, stats, folder, args, write=True)
    return run_judge(argparse_ns(name, args))


def argparse_ns(name, args):
    from argparse import Namespace
    return Namespace(name=name, judge_samples=args.judge_samples, judge_steps=args.judge_steps,
                     guidance=args.guidance, threads=args.threads)


def _finish(name, card, stats, folder, args, write=True) -> dict:
    card = {**card, "data": _data_card(folder), **stats, "batch_size": args.batch_size, "lr": args.lr,
            "optimizer": "AdamW, cosine decay, 100-step warm-up, EMA 0.999", "seed": args.seed,
            "label_dropout": 0.1, "device": pick_device().type}
    if getattr(args, "init", None):
        card["continued_from"] = {"checkpoint": Path(args.init).name, "previous_run": _previous(name)}
    write_card(name, card)
    return {"name": name, **card}


def _previous(name: str) -> dict:
    """The earlier card's training facts, kept when a run continues from its weights."""
    try:
        old = read_card(name)
    except FileNotFoundError:
        return {}
    keep = ("steps", "train_time_s", "lr", "batch_size", "train_command", "command", "continued_from")
    return {k: old[k] for k in keep if k in old}


def sampler_for(name: str, device: torch.device, steps: int, guidance: float):
    """A function (labels, generator) -> images in [-1, 1] for a shipped model, DDIM with eta = 0."""
    if name == "diffusion_unet":
        model = unet.load(ASSETS / f"{name}.pt", device)
        sched = D.make_schedule(model.cfg.schedule, model.cfg.T)
        return lambda y, g: D.final(D.ddim_sample(model, y, sched, (len(y), 1, 28, 28), steps, guidance,
                                                  generator=g, device=device))
    from dl_core import latent
    ae = latent.load_ae(ASSETS / "diffusion_ae.pt", device)
    model = latent.load(ASSETS / f"{name}.pt", device)
    sched = D.make_schedule(model.cfg.schedule, model.cfg.T)
    shape = latent.LATENT_SHAPE
    clip = model.x0_range(torch.zeros(1, device=device))
    return lambda y, g: latent.decode(ae, model, D.final(D.ddim_sample(
        model, y, sched, (len(y), *shape), steps, guidance, generator=g, device=device, clip=clip)))


def run_judge(args) -> dict:
    torch.set_num_threads(args.threads)
    device = pick_device()
    t0 = time.perf_counter()
    score = judge_accuracy(sampler_for(args.name, device, args.judge_steps, args.guidance), device,
                           n=args.judge_samples)
    card = read_card(args.name)
    card.setdefault("train_command", card.pop("command", None))
    card.pop("command", None)
    card.update({"judge": "shipped CNN assets/cnn_default.pt (99.69% on MNIST test)",
                 "judge_sampler": f"DDIM {args.judge_steps} steps, eta 0, guidance {args.guidance}",
                 "judge_time_s": round(time.perf_counter() - t0, 1), **score,
                 "default_guidance": args.guidance})
    card.pop("name", None)
    for k in ("torch", "machine"):
        card.pop(k, None)
    write_card(args.name, card)
    return {"name": args.name, "test_accuracy": score["judge_accuracy"], **card}
