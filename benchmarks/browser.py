"""Browser benchmark: from a participant's input to the painted answer, in a real Chromium.

Server-side rerun times (AppTest, benchmarks.loadtest) miss what a participant feels: the websocket
round trip, the frontend applying every delta, and the paint. This drives Debian's chromium through
Playwright against a real ``streamlit run app.py`` and, side by side, the floor app
(benchmarks/floor_app.py: the same canvas, preprocessing and CNN, one st.metric), and times each
page's main interactions:

    stroke   a digit drawn on the canvas: mouse-up -> the "Prediction" metric repainted by a run that
             started after the stroke (not stale), or showing a new text
    slider   the page's main slider moved one step with the keyboard -> the page settled
    tab      a click on another tab -> its panel shows content and the page settled
    button   a click on the page's main button -> the page settled

"Settled": the rerun that started after the input has finished (or none came within 1.5 s: a fast
rerun whose start and end reach React in one batch never shows "running"), and the DOM has not
changed for 300 ms; the time is that of the DOM's last change (or the rerun's end, if later). Times
are taken inside the page, from the input event's own timestamp (``event.timeStamp``), with the
condition checked on every animation frame (``wait_for_function(polling="raf")``), so Playwright's
own latency is not counted.

    python -m benchmarks.browser                      # every page, 10 repetitions each
    python -m benchmarks.browser --pages cnn --reps 20
    python -m benchmarks.browser --pages cnn --load 30   # + 30 simulated participants (benchmarks.loadtest)
    python -m benchmarks.browser --quick              # CNN page and floor, 2 repetitions (a smoke run)
"""
from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("DLV_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]
SERVER_FLAGS = ["--server.address", "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats", "false",
                "--server.fileWatcherType", "none", "--runner.postScriptGC", "false"]
IDLE = "[data-testid=stApp][data-test-script-state=notRunning]"

# url path -> its main interactions: canvas key (stroke), tab labels (switch between the first two,
# the first is opened untimed), slider key, button key. Keys are the widgets' key= (CSS class st-key-<key>).
PAGES: dict[str, dict] = {
    "floor": dict(canvas="floor_canvas"),
    "cnn": dict(canvas="cnn_canvas", tabs=("Filters", "Feature maps"), slider="cnn_stage",
                button="cnn_kernel_step_next"),
    "basics": dict(tabs=("Autograd", "Tensors")),
    "rnn": dict(tabs=("Plain RNN, unrolled", "LSTM gates"), button="rnn_random_brackets"),
    "gan": dict(tabs=("Digit GAN", "2-D GAN Lab"), slider="gan2d_lr_d", button="gan2d_step"),
    "seq2seq": dict(tabs=("The bottleneck, measured", "Sequence to sequence"), slider="s2s_step"),
    "diffusion": dict(tabs=("3. Compare settings", "1. Forward: noise your digit"), slider="diff_t"),
    "transformer": dict(tabs=("Masks side by side", "Attention step by step"), slider="tf_heads"),
    "real_attention": dict(tabs=("Causal vs bidirectional", "Your text, its attention")),
    "rl": dict(tabs=("DQN on CartPole", "GridWorld (tabular)"), slider="rl_gamma", button="rl_step"),
}  # the Course and Glossary pages have links and a search box, no interaction worth timing
QUICK = ["floor", "cnn"]

# Strokes in canvas pixels (280 x 280): a 1, a 7, a 4 and a 0-ish loop; the canvas is cleared every 4.
STROKES = [[(140, 40), (140, 240)], [(60, 40), (220, 40), (120, 250)], [(80, 40), (60, 160), (220, 160)],
           [(140, 40), (70, 140), (140, 240), (210, 140), (140, 40)]]

_INSTRUMENT = """() => {
  if (window.__dlv) return;
  const d = window.__dlv = {t0: null, t1: null, states: [], doneAt: null, lastMut: null};
  for (const ev of ['mouseup', 'click', 'keydown'])
    window.addEventListener(ev, e => { d.t0 = e.timeStamp; d.t1 = d.doneAt = d.lastMut = null; d.states = []; }, true);
  const app = document.querySelector('[data-testid=stApp]');
  new MutationObserver(() => {
    const s = app.getAttribute('data-test-script-state');
    d.states.push(s);
    if (s === 'notRunning' && d.states.includes('running')) d.doneAt = performance.now();
  }).observe(app, {attributes: true, attributeFilter: ['data-test-script-state']});
  new MutationObserver(() => { if (d.t0 !== null) d.lastMut = performance.now(); })
    .observe(document.body, {subtree: true, childList: true, attributes: true, characterData: true});
}"""
# The page has settled after the input: a rerun that started after it has finished (or none came within
# 1.5 s: fast reruns whose start and end reach React in one batch never show "running"), and nothing in
# the DOM changed for 300 ms. The time is that of the last change (or of the rerun's end, if later).
_SETTLED = """() => {
  const d = window.__dlv, now = performance.now();
  if (!(%s)) return false;
  const app = document.querySelector('[data-testid=stApp]');
  if (app.getAttribute('data-test-script-state') !== 'notRunning') return false;
  if (d.states.includes('running')) { if (d.doneAt === null) return false; }
  else if (now - d.t0 < 1500) return false;
  if (d.lastMut !== null && now - d.lastMut < 300) return false;
  d.t1 = Math.max(d.lastMut || d.t0, d.doneAt || 0); return true;
}"""
# The Prediction metric is fresh: drawn by a run that started after the stroke, or its text changed.
_PREDICTION = """(before) => {
  const d = window.__dlv;
  const m = [...document.querySelectorAll('[data-testid=stMetric]')].find(e => e.innerText.includes('Prediction'));
  if (!m) return false;
  const c = m.closest('[data-testid=stElementContainer]');
  const fresh = d.states.includes('running') && c && c.getAttribute('data-stale') !== 'true';
  if (!fresh && m.innerText === before) return false;
  d.t1 = performance.now(); return true;
}"""
# The tab is selected and its panel shows content (a condition for _SETTLED).
_TAB_SHOWN = """(() => {
  const tab = [...document.querySelectorAll('[role=tab]')].find(t => t.innerText.trim() === %s);
  if (!tab || tab.getAttribute('aria-selected') !== 'true') return false;
  const panel = document.getElementById(tab.getAttribute('aria-controls'));
  return !!(panel && panel.querySelector('[data-testid=stElementContainer]'));
})()"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """``streamlit run <script>`` on a free port, until stop()."""

    def __init__(self, script: str, log: Path | None = None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        out = open(log, "w") if log else subprocess.DEVNULL
        self.proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", script, "--server.port", str(self.port),
                                      *SERVER_FLAGS], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.time() + 120
        while time.time() < deadline:
            try:
                if urllib.request.urlopen(self.url + "/_stcore/health", timeout=2).read() == b"ok":
                    return
            except OSError:
                if self.proc.poll() is not None:
                    break
                time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"{script} did not start")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def percentile(values: list[float], q: float) -> float:
    """Linear interpolation between order statistics (q in 0..100)."""
    v = sorted(values)
    if not v:
        return float("nan")
    k = (len(v) - 1) * q / 100
    lo, hi = int(k), min(int(k) + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (k - lo)


class PageDriver:
    """One browser tab on one page of one server, and its timed interactions (milliseconds)."""

    def __init__(self, browser, base: str, path: str, spec: dict, timeout_ms: int):
        self.spec, self.timeout = spec, timeout_ms
        self.pg = browser.new_page(viewport={"width": 1400, "height": 1100})
        self.pg.goto(f"{base}/{path}")
        self.pg.wait_for_selector(IDLE, timeout=timeout_ms)
        self.pg.evaluate(_INSTRUMENT)
        self.strokes = 0
        self._cleared = 0
        self._box = None

    def idle(self) -> None:
        self.pg.wait_for_selector(IDLE, timeout=self.timeout)
        self.pg.wait_for_timeout(250)  # a quiet moment between repetitions (a benchmark, not a test)
        self.pg.wait_for_selector(IDLE, timeout=self.timeout)

    def elapsed(self) -> float:
        return self.pg.evaluate("() => window.__dlv.t1 - window.__dlv.t0")

    def key(self, key: str):
        return self.pg.locator(f".st-key-{key}").first

    # -- interactions ---------------------------------------------------------------------------
    def stroke(self) -> float:
        canvas = self.pg.locator("canvas.upper-canvas").first
        if self._box is None:
            canvas.wait_for(timeout=self.timeout)
            canvas.scroll_into_view_if_needed()
            self._box = canvas.bounding_box()
        if self.strokes and self.strokes % len(STROKES) == 0 and self._cleared != self.strokes:
            self._cleared = self.strokes  # a fresh drawing now and then (untimed)
            self.key(f"{self.spec['canvas']}_clear").locator("button").click()
            self.idle()
            self._box = None
            canvas.wait_for(timeout=self.timeout)
            canvas.scroll_into_view_if_needed()
            self._box = canvas.bounding_box()
        m = self.pg.locator("[data-testid=stMetric]").filter(has_text="Prediction")
        before = m.first.inner_text() if m.count() else ""
        points = STROKES[self.strokes % len(STROKES)]
        self.strokes += 1
        x0, y0 = self._box["x"], self._box["y"]
        self.pg.mouse.move(x0 + points[0][0], y0 + points[0][1])
        self.pg.mouse.down()
        for (ax, ay), (bx, by) in zip(points, points[1:]):
            for i in range(1, 7):
                self.pg.mouse.move(x0 + ax + (bx - ax) * i / 6, y0 + ay + (by - ay) * i / 6)
        self.pg.mouse.up()
        self.pg.wait_for_function(_PREDICTION, arg=before, polling="raf", timeout=self.timeout)
        return self.elapsed()

    def slider(self, step: int) -> float:
        box = self.key(self.spec["slider"])
        box.scroll_into_view_if_needed()
        thumb = box.locator("input[type=range]").first  # react-aria's visually hidden input
        thumb.focus()
        value, lo, hi = thumb.evaluate("e => [+e.value, +e.min, +e.max]")
        right = value <= lo or (value < hi and step % 2 == 0)  # one step inwards at either end
        thumb.press("ArrowRight" if right else "ArrowLeft")
        self.pg.wait_for_function(_SETTLED % "true", polling="raf", timeout=self.timeout)
        return self.elapsed()

    def tab(self, step: int, label: str | None = None) -> float:
        """Step -1 (the warm-up) opens tabs[0], then the timed steps alternate tabs[1], tabs[0], ..."""
        label = label or self.spec["tabs"][(step + 1) % 2]
        self.pg.get_by_role("tab", name=label, exact=True).first.click()
        self.pg.wait_for_function(_SETTLED % (_TAB_SHOWN % json.dumps(label)), polling="raf", timeout=self.timeout)
        return self.elapsed()

    def button(self, step: int) -> float:
        btn = self.key(self.spec["button"]).locator("button").first
        btn.scroll_into_view_if_needed()
        btn.click()
        self.pg.wait_for_function(_SETTLED % "true", polling="raf", timeout=self.timeout)
        return self.elapsed()

    def available(self, what: str) -> bool:
        if what == "stroke":
            return "canvas" in self.spec
        if what == "tab":
            return bool(self.spec.get("tabs")) and self.pg.get_by_role("tab", name=self.spec["tabs"][0], exact=True).count() > 0
        key = self.spec.get(what)
        return bool(key) and self.key(key).count() > 0 and self.key(key).is_visible()

    def close(self) -> None:
        self.pg.close()


def measure(browser, app_url: str, floor_url: str, pages: list[str], reps: int, timeout_ms: int,
            log=print) -> list[dict]:
    """Rows {page, interaction, n, p50, p95, errors}; the floor's and the CNN page's strokes interleaved."""
    rows = []
    samples: dict[tuple[str, str], list[float]] = {}
    errors: dict[tuple[str, str], str] = {}

    def run(driver: PageDriver, page: str, what: str, step: int) -> None:
        key = (page, what)
        try:
            fn = getattr(driver, what)
            ms = fn() if what == "stroke" else fn(step)
            driver.idle()
            if step >= 0:  # step -1: warm-up
                samples.setdefault(key, []).append(ms)
        except Exception as err:  # reported in the table, the benchmark goes on
            errors[key] = f"{type(err).__name__}: {str(err).splitlines()[0][:120]}"
            log(f"  {page} {what}: {errors[key]}", flush=True)

    strokers = [p for p in pages if "canvas" in PAGES[p]]
    drivers = {p: PageDriver(browser, floor_url if p == "floor" else app_url, "" if p == "floor" else p,
                             PAGES[p], timeout_ms) for p in strokers}
    for step in range(-1, reps):
        for p, d in drivers.items():  # side by side: the same moment's machine load for both
            if errors.get((p, "stroke")) is None:
                run(d, p, "stroke", step)
    for page in pages:  # the other interactions; a page with a canvas goes on with its drawing
        if page == "floor":
            continue
        d = drivers.get(page) or PageDriver(browser, app_url, page, PAGES[page], timeout_ms)
        for what in ("tab", "slider", "button"):
            if not d.available(what):
                continue
            for step in range(-1, reps):
                if errors.get((page, what)) is None:
                    run(d, page, what, step)
            if what == "tab" and reps % 2 == 0:  # back to the tab the page opened with (untimed)
                d.tab(-1, d.spec["tabs"][1])
                d.idle()
        d.close()
    if "floor" in drivers:
        drivers["floor"].close()
    for (page, what), values in samples.items():
        rows.append(dict(page=page or "course", interaction=what, n=len(values), p50=percentile(values, 50),
                         p95=percentile(values, 95), error=errors.get((page, what))))
    for (page, what), err in errors.items():
        if (page, what) not in samples:
            rows.append(dict(page=page or "course", interaction=what, n=0, p50=float("nan"), p95=float("nan"), error=err))
    return rows


def table(rows: list[dict]) -> str:
    floor = next((r["p50"] for r in rows if r["page"] == "floor"), None)
    lines = ["| page | interaction | n | p50 ms | p95 ms | p50 / floor stroke |", "|---|---|---|---|---|---|"]
    for r in rows:
        ratio = f"{r['p50'] / floor:.2f}x" if floor and r["n"] else ""
        lines.append(f"| {r['page']} | {r['interaction']} | {r['n']} | {r['p50']:.0f} | {r['p95']:.0f} | {ratio} |"
                     + (f" {r['error']}" if r.get("error") else ""))
    return "\n".join(lines)


def load_average() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pages", default="all", help="comma-separated url paths (floor, cnn, basics, ...; course = '') or all")
    ap.add_argument("--reps", type=int, default=10, help="timed repetitions of each interaction (after one warm-up)")
    ap.add_argument("--quick", action="store_true", help="floor and CNN page, 2 repetitions: a smoke run")
    ap.add_argument("--load", type=int, default=0, metavar="N",
                    help="also run N simulated participants (benchmarks.loadtest, CNN page) against the app meanwhile")
    ap.add_argument("--timeout", type=float, default=60.0, help="seconds one interaction may take")
    ap.add_argument("--json", type=Path, help="also write the rows to this JSON file")
    args = ap.parse_args(argv)
    pages = QUICK if args.quick else list(PAGES) if args.pages == "all" else \
        [("" if p == "course" else p) for p in args.pages.split(",")]
    unknown = [p for p in pages if p not in PAGES]
    if unknown:
        ap.error(f"unknown pages {unknown}; known: {['course' if p == '' else p for p in PAGES]}")
    reps = 2 if args.quick else args.reps
    from playwright.sync_api import sync_playwright

    app = Server("app.py")
    floor = Server("benchmarks/floor_app.py")
    load = None
    try:
        if args.load:
            load = subprocess.Popen([sys.executable, "-m", "benchmarks.loadtest", "--url", app.url, "--users",
                                     str(args.load), "--pages", "cnn", "--duration", "100000", "--ramp", "10"],
                                    cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(15)  # let every simulated participant arrive
        before = load_average()
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            try:
                rows = measure(browser, app.url, floor.url, pages, reps, int(args.timeout * 1000))
            finally:
                browser.close()
    finally:
        if load is not None:
            load.terminate()
            load.wait(30)
        app.stop()
        floor.stop()
    print(f"Load average before / after: {before} / {load_average()}; {os.cpu_count()} CPUs; "
          f"{args.load} simulated participants on the app server")
    print(table(rows))
    if args.json:
        args.json.write_text(json.dumps(dict(rows=rows, load=args.load, loadavg=before), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
