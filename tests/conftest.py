"""Shared fixtures. Missing prerequisites (MNIST, chromium) skip locally but fail under DLV_STRICT=1 (CI)."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

STRICT = os.environ.get("DLV_STRICT") == "1"


def skip_or_fail(reason: str):
    """Skip with a reason; in CI (DLV_STRICT=1) a missing prerequisite is an error instead."""
    if STRICT:
        pytest.fail(f"{reason} (DLV_STRICT=1: prerequisites must be present)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def mnist_dir() -> Path:
    from dl_core import data

    value = os.environ.get("MNIST_DIR")
    if not value:
        skip_or_fail("MNIST_DIR is not set")
    folder = Path(value).resolve()
    if data.missing_files(folder):
        skip_or_fail(f"MNIST files missing in {folder}: {data.missing_files(folder)}")
    return folder


@pytest.fixture(scope="session")
def mnist_test(mnist_dir):
    from dl_core import data

    return data.load_split(False, mnist_dir)


@pytest.fixture(scope="session")
def mnist_train(mnist_dir):
    from dl_core import data

    return data.load_split(True, mnist_dir)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def app_server():
    """A real `streamlit run app.py` on a free port of 127.0.0.1; yields its URL."""
    port = free_port()
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    log = open(ROOT / ".pytest_cache" / "server.log", "w") if (ROOT / ".pytest_cache").is_dir() else subprocess.DEVNULL
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.address", "127.0.0.1",
         "--server.port", str(port), "--server.headless", "true", "--browser.gatherUsageStats", "false"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            if urllib.request.urlopen(url + "/_stcore/health", timeout=1).read() == b"ok":
                break
        except OSError:
            time.sleep(0.2)
    else:
        proc.kill()
        pytest.fail("streamlit server did not become healthy within 60 s")
    yield url
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        skip_or_fail(f"{CHROMIUM} not found (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        skip_or_fail("playwright is not installed")
    with sync_playwright() as p:
        br = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield br
        br.close()


@pytest.fixture(scope="module")
def one_thread():
    """Tiny models and thousands of tiny steps: one torch intra-op thread (as the app's server uses)
    is faster than two, and on a busy 2-core machine a second thread only spin-waits for the other
    core (60 transformer steps once took 100 s instead of 2 s). Restored afterwards."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
