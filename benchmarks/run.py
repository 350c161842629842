"""Benchmarks on this machine: drawn-digit inference, page reruns, training throughput, server memory.

    python -m benchmarks.run [--quick] [--skip-server] [--json out.json]

Prints a Markdown table. Every number is measured here and now; nothing is copied from elsewhere.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from dl_core import cnn, data, digits  # noqa: E402
from dl_core.cnn_train import BatchEvent, TrainConfig, train_steps  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]
ARCHS = ("default", "course")


def machine() -> dict:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor() or "unknown")
    return {"cpu": cpu, "cores": os.cpu_count(), "torch_threads": torch.get_num_threads(),
            "torch": torch.__version__, "python": platform.python_version()}


def pct(times_s: list[float]) -> tuple[float, float]:
    """(p50, p95) in milliseconds."""
    return float(np.percentile(times_s, 50) * 1e3), float(np.percentile(times_s, 95) * 1e3)


def row(name, result, target="", note="", **numbers) -> dict:
    return {"name": name, "result": result, "target": target, "note": note, **numbers}


def timing_row(name, times_s, target_ms=None, note="") -> dict:
    p50, p95 = pct(times_s)
    target = ""
    if target_ms is not None:
        target = f"p50 <= {target_ms:g} ms ({'met' if p50 <= target_ms else 'MISSED'})"
    return row(name, f"p50 {p50:.1f} ms, p95 {p95:.1f} ms", target, note or f"n={len(times_s)}",
               p50_ms=p50, p95_ms=p95, n=len(times_s))


# ---------------------------------------------------------------- 1. drawn-digit inference ----
def drawing() -> np.ndarray:
    """A fixed RGBA 280x280 'drawing' of a 7: white 20 px strokes on black, like the canvas sends."""
    img = Image.new("RGBA", (280, 280), (0, 0, 0, 255))
    ImageDraw.Draw(img).line([(70, 60), (210, 60), (120, 230)], fill=(255, 255, 255, 255), width=20, joint="curve")
    return np.asarray(img)


def bench_inference(runs: int, warmup: int) -> list[dict]:
    rgba, rows = drawing(), []
    for arch in ARCHS:
        model = cnn.load(ROOT / "assets" / f"cnn_{arch}.pt", torch.device("cpu"))
        for p in model.parameters():  # as ui.models.shipped_cnn does
            p.requires_grad_(False)
        times, pred = [], None
        for i in range(warmup + runs):
            t0 = time.perf_counter()
            prep = digits.prepare(digits.to_ink(rgba))
            pred = cnn.analyse(model, prep.x).pred
            if i >= warmup:
                times.append(time.perf_counter() - t0)
        rows.append(timing_row(f"Drawn digit -> analyse, {arch} CNN", times, 10,
                               f"n={runs}, to_ink+prepare+analyse, predicted {pred}"))
    return rows


# ---------------------------------------------------------------- 2. page reruns (AppTest) ----
CPU_S: list[float] = []  # process CPU seconds of each timed() call, for the CPU column


def timed(fn) -> float:
    """Wall seconds of fn(); its process CPU seconds go to CPU_S (robust when other work shares the cores)."""
    c0, t0 = time.process_time(), time.perf_counter()
    fn()
    CPU_S.append(time.process_time() - c0)
    return time.perf_counter() - t0


def cpu_note(n: int) -> str:
    """Median server CPU of the last n timed() calls."""
    return f"n={n}, CPU p50 {np.percentile(CPU_S[-n:], 50) * 1e3:.0f} ms"


def bench_reruns(n: int) -> list[dict]:
    from streamlit.testing.v1 import AppTest

    # AppTest() itself logs a harmless "missing ScriptRunContext" warning; keep the output clean
    logging.getLogger("streamlit.runtime.scriptrunner_utils.script_run_context").setLevel(logging.ERROR)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    rows = [row("Home page, cold run", f"{timed(at.run) * 1e3:.0f} ms")]
    rows.append(timing_row("Home page, rerun, same input", [timed(at.run) for _ in range(n)], 200, cpu_note(n)))
    at.switch_page("pages/cnn.py")
    rows.append(row("CNN page, cold run", f"{timed(at.run) * 1e3:.0f} ms", note="first visit, draw mode"))
    at.button_group(key="cnn_source").set_value("Font digit").run()
    if at.exception or not at.metric:
        raise RuntimeError(f"CNN page did not show a prediction: {at.exception}")
    others = [d for d in range(10) if d != 7]  # 7 is the default font digit, already computed
    seq = others + (others * (n // len(others) + 1))[:n]  # first pass: cache misses; then n cached revisits
    times = [timed(lambda d=d: at.selectbox(key="cnn_font_digit").set_value(d).run()) for d in seq]
    if at.exception:
        raise RuntimeError(f"CNN page raised: {at.exception}")
    k = len(others)
    cpu = CPU_S[-len(times):]
    rows.append(timing_row("CNN page, rerun, new input (cache miss)", times[:k], 200,
                           f"n={k}, CPU p50 {np.percentile(cpu[:k], 50) * 1e3:.0f} ms, font digits other than 7"))
    rows.append(timing_row("CNN page, rerun, changed input (cached)", times[k:], 200,
                           f"n={len(times) - k}, CPU p50 {np.percentile(cpu[k:], 50) * 1e3:.0f} ms"))
    rows.append(timing_row("CNN page, rerun, same input", [timed(at.run) for _ in range(n)], 200, cpu_note(n)))
    return rows


# ---------------------------------------------------------------- 3. training throughput -----
def training_data(n: int) -> tuple[data.Split, str]:
    try:
        full = data.load_split(True)
        return data.Split(full.images[:n], full.labels[:n]), "real MNIST"
    except data.MnistMissing:
        gen = torch.Generator().manual_seed(0)
        images = torch.randint(0, 256, (n, 28, 28), dtype=torch.uint8, generator=gen)
        return data.Split(images, torch.randint(0, 10, (n,), generator=gen)), "RANDOM tensors (MNIST missing)"


def bench_training(n: int) -> list[dict]:
    train, source = training_data(n)
    cfg = TrainConfig(epochs=1, batch_size=64, optimizer="adam", lr=0.002, max_train=n)
    rows = []
    for arch in ("course", "default"):
        steps = train_steps(cnn.CNNConfig(arch=arch), cfg, train, train, torch.device("cpu"))
        next(steps)  # the model
        last = None
        for event in steps:
            if isinstance(event, BatchEvent):
                last = event
                if event.batch == event.batches:
                    break  # stop before the end-of-epoch evaluation
        steps.close()
        rows.append(row(f"Training, {arch} CNN", f"{last.samples_per_s:.0f} samples/s",
                        note=f"{n} images, {source}, batch 64, Adam lr 0.002", samples_per_s=last.samples_per_s))
    return rows


# ---------------------------------------------------------------- 4. server memory -----------
def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def visit(url: str) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.goto(url, timeout=60_000)
            page.get_by_text("A CNN sees your digit").first.wait_for(timeout=60_000)
            page.locator("[data-testid=stMetric], [data-testid=stAlert]").first.wait_for(timeout=60_000)
            page.wait_for_selector("[data-testid=stApp][data-test-script-state=notRunning]", timeout=60_000)
            page.wait_for_timeout(1000)  # let late component messages (canvas) settle
        finally:
            browser.close()


def bench_server() -> list[dict]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.address", "127.0.0.1", "--server.port",
         str(port), "--server.headless", "true", "--browser.gatherUsageStats", "false"],
        cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 60
        while True:
            try:
                if urllib.request.urlopen(url + "/_stcore/health", timeout=1).read() == b"ok":
                    break
            except OSError:
                if proc.poll() is not None or time.time() > deadline:
                    raise RuntimeError("streamlit server did not become healthy") from None
                time.sleep(0.2)
        idle = rss_mb(proc.pid)
        rows = [row("Server RSS, idle", f"{idle:.0f} MB", rss_mb=idle)]
        if not Path(CHROMIUM).exists():
            return rows + [row("Server RSS, after CNN visit", "n/a", note=f"{CHROMIUM} not found")]
        try:
            visit(url + "/cnn")
        except Exception as err:  # ImportError (no playwright), timeouts, browser crashes
            return rows + [row("Server RSS, after CNN visit", "n/a", note=f"{type(err).__name__}: {err}"[:120])]
        after = rss_mb(proc.pid)
        return rows + [row("Server RSS, after CNN visit", f"{after:.0f} MB", note=f"+{after - idle:.0f} MB, "
                           "headless Chromium session on /cnn", rss_mb=after)]
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# ---------------------------------------------------------------- 5. the other pages ---------
def topic_rows(quick: bool) -> list[dict]:
    """Rows from every benchmarks/bench_<topic>.py: ``rows(quick) -> [(measurement, result, target)]``."""
    import importlib

    out = []
    for path in sorted((ROOT / "benchmarks").glob("bench_*.py")):
        module = importlib.import_module(f"benchmarks.{path.stem}")
        try:
            out += [row(name, result, target) for name, result, target in module.rows(quick)]
        except Exception as err:  # one topic's failure must not hide the others' numbers
            out.append(row(f"{path.stem}", "FAILED", note=f"{type(err).__name__}: {err}"[:160]))
    return out


# ---------------------------------------------------------------- main -----------------------
def table(info: dict, rows: list[dict], seconds: float) -> str:
    lines = [f"Machine: {info['cpu']}, {info['cores']} cores, torch {info['torch']} with {info['torch_threads']} "
             f"threads, Python {info['python']}. Total {seconds:.0f} s.", "",
             "| Measurement | Result | Target | Notes |", "|---|---|---|---|"]
    lines += [f"| {r['name']} | {r['result']} | {r['target']} | {r['note']} |" for r in rows]
    return "\n".join(lines)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer repetitions")
    ap.add_argument("--skip-server", action="store_true", help="skip the real-server measurements (memory; the load test on every page)")
    ap.add_argument("--json", type=Path, help="also write the results as JSON to this file")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    info, rows = machine(), []
    rows += bench_inference(runs=50 if args.quick else 200, warmup=10 if args.quick else 30)
    rows += bench_reruns(n=10 if args.quick else 20)
    rows += bench_training(n=1280 if args.quick else 6400)
    rows += topic_rows(args.quick)
    if not args.skip_server:
        rows += bench_server()
        from benchmarks import loadtest  # the workshop: 30 participants on every page, one page at a time

        try:
            rows += [row(name, result, target) for name, result, target in loadtest.rows(args.quick)]
        except Exception as err:
            rows.append(row("Load test", "FAILED", note=f"{type(err).__name__}: {err}"[:160]))
    seconds = time.perf_counter() - t0
    print(table(info, rows, seconds))
    if args.json:
        args.json.write_text(json.dumps({"machine": info, "seconds": seconds, "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
