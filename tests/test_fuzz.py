"""Hostile input everywhere: every text and number input on every tab of every page, and every URL
query parameter the app reads, gets a list of nasty values. Nothing may raise, show a traceback,
render a markdown link or image from the input, take more than 2 s of CPU per input, or grow the
server's peak memory by 200 MB.

The inputs are found at run time (AppTest's widget lists, the pages' keyed ``st.tabs``, the
``query_params`` the code reads), so a new page or widget is fuzzed without touching this file.
The fuzzing runs in a fresh Python process (``python tests/test_fuzz.py``) so that its peak RSS
(ru_maxrss) measures only this app under these inputs, not earlier tests in the same session.
"""
from __future__ import annotations

import ast
import base64
import io
import json
import math
import os
import re
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")
PAGES = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "pages").glob("*.py"))

LINK = "[Your session expired - sign in](https://evil.example)"
IMAGE = "![](http://evil.example/pixel.png)"
TEXTS = {
    "empty": "",
    "10k": "9," * 5_000,
    "1M": "x" * 1_000_000,
    "control": "a\x00b\x07c\x1b[31md\r\n\te\x7f",
    "emoji": "\U0001f600\U0001f469\u200d\U0001f4bb" * 20,
    "rtl": "\u202eabc\u200f1, 2\u202c",
    "link": LINK,
    "image": IMAGE,
    "html": "<img src=x onerror=alert(1)>",
    "huge": "1e308 * 1e308",
    "bigint": "1" + "0" * 320,
    "nan": "nan",
    "inf": "-inf",
    "zero_shape": "0, 1000000000",
    "negative": "-5, -1",
    "markup": "`code` **bold** :red[x] $x^2$ # heading | a | b |",
    "breakout": "` [click](https://evil.example) ``` ![](http://evil.example/b.png) `",
}
FLOATS = {"huge": 1e308, "nan": math.nan, "neg_inf": -math.inf, "negative": -1.0}
INTS = {"max": 2 ** 63 - 1, "min": -(2 ** 63)}
ONE_BY_ONE = ("1M", "link", "zero_shape")  # also sent to each text input alone
CPU_LIMIT_S = 2.0  # CPU seconds of the server process per answered input
RSS_LIMIT_MB = 200  # growth of the process's peak RSS over the whole fuzz
# A rendered link or image to the payloads' host, a bare autolink to it, or raw HTML from them.
_UNESCAPED = re.compile(r"(?<!\\)\]\(https?://evil|(?<![\\\w])https?://evil|(?<!\\)<img src=x")
_CODE_SPAN = re.compile(r"(?<!`)(`+)(?!`)(.+?)(?<!`)\1(?!`)", re.S)  # shown literally by markdown
_TRACEBACK = re.compile(r"Traceback \(most recent call last\)|File \"/")


# ------------------------------------------------------------ discovering what to fuzz ------------
def keyed_tabs(page: str) -> list[tuple[str, list[str]]]:
    """(key, labels) of every ``st.tabs(..., key=...)`` in a page script: the lazy tabs AppTest opens
    through session state (only the open tab runs)."""
    tree = ast.parse((ROOT / page).read_text())
    consts = {t.id: n.value for n in tree.body if isinstance(n, ast.Assign) for t in n.targets if isinstance(t, ast.Name)}
    out = []
    for node in ast.walk(tree):
        name = getattr(node.func, "attr", getattr(node.func, "id", "")) if isinstance(node, ast.Call) else ""
        if name in ("tabs", "lazy_tabs") and node.args:  # st.tabs(labels, key=...) or lazy_tabs(labels, key, ...)
            key = next((k.value.value for k in node.keywords if k.arg == "key" and isinstance(k.value, ast.Constant)), None)
            if key is None and name == "lazy_tabs" and len(node.args) > 1 and isinstance(node.args[1], ast.Constant):
                key = node.args[1].value
            arg = node.args[0]
            arg = consts.get(arg.id, arg) if isinstance(arg, ast.Name) else arg
            try:
                labels = list(ast.literal_eval(arg))
            except ValueError:  # labels built at run time: the view is still fuzzed on its first tab
                continue
            if key:
                out.append((key, labels))
    return out


def query_param_names() -> list[str]:
    """Every URL parameter the code reads: literal names, tabs bound to the URL, and the playground's
    ``pg_`` + config field (the page reads every ``pg_*``)."""
    from dataclasses import fields

    from dl_core.playground import PlaygroundConfig

    names = set()
    for path in [*ROOT.glob("ui/*.py"), *ROOT.glob("pages/*.py"), ROOT / "app.py"]:
        src = path.read_text()
        names |= set(re.findall(r"query_params(?:\.get\(|\[)\s*\"([^\"]+)\"", src))
        names |= set(re.findall(r"key=\"([^\"]+)\"[^\n]*bind=\"query-params\"", src))
        if 'startswith("pg_")' in src:
            names |= {f"pg_{f.name}" for f in fields(PlaygroundConfig)}
    return sorted(names)


# ------------------------------------------------------------ checking one answer ----------------
def rendered_markdown(at) -> list[str]:
    """Every string Streamlit renders as markdown: text elements, alerts and widget labels."""
    out = []
    for group in ("markdown", "caption", "error", "warning", "info", "success", "title", "header", "subheader",
                  "toast"):
        out += [e.value for e in getattr(at, group)]
    for group in ("text_input", "number_input", "text_area", "selectbox", "button", "slider", "checkbox", "radio"):
        out += [w.label for w in getattr(at, group)]
    return [s for s in out if isinstance(s, str)]


def outside_code(body: str) -> str:
    """The markdown with its code spans blanked out (their content is shown as typed)."""
    return _CODE_SPAN.sub(" ", body)


def problems_of(at, where: str) -> list[str]:
    bad = [f"{where}: exception {e.value[:200]!r}" for e in at.exception]
    for body in rendered_markdown(at) + [c.value for c in at.code] + [t.value for t in at.get("text")]:
        if _TRACEBACK.search(body):
            bad.append(f"{where}: traceback text {body[:200]!r}")
    for body in rendered_markdown(at):
        m = _UNESCAPED.search(outside_code(body))
        if m:
            bad.append(f"{where}: markdown from user input {body[max(0, m.start() - 60):m.end() + 40]!r}")
    return bad


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def choose(at, kind: str, key: str, index: int) -> bool:
    """Pick a selectbox's or radio's option by position, sending the option's label as the browser
    does (AppTest's own select_index applies a format_func twice)."""
    from streamlit.proto.WidgetStates_pb2 import WidgetState

    try:
        widget = getattr(at, kind)(key=key)
    except KeyError:
        return False
    state = WidgetState(id=widget.id, string_value=widget.options[index])
    widget.__class__ = type("Chosen", (type(widget),), {"_widget_state": property(lambda self: state)})
    return True


# ------------------------------------------------------------ the worker (a fresh process) -------
def put(at, kind: str, key: str, value) -> bool:
    """Set one input if it is on screen (``None``: its default); False when it is not."""
    try:
        widget = getattr(at, kind)(key=key)
    except KeyError:
        return False
    if widget.disabled:
        return False
    default = widget.proto.default
    widget.set_value(default[0] if value is None and isinstance(default, list | tuple) else
                     default if value is None else value)
    return True


def fuzz(pages: list[str]) -> dict:
    import torch
    from streamlit.testing.v1 import AppTest

    torch.set_num_threads(1)
    report = {"problems": [], "slowest": [0.0, ""], "runs": 0, "widgets": 0, "views": [], "params": []}

    def run(at, where: str) -> None:
        t0 = time.process_time()
        try:
            at.run()
        except Exception as err:  # AppTest's own timeout or a crash of the harness: a finding too
            report["problems"].append(f"{where}: run failed {type(err).__name__}: {str(err)[:200]}")
            return
        cpu = time.process_time() - t0
        report["runs"] += 1
        if cpu > report["slowest"][0]:
            report["slowest"] = [cpu, where]
        # a view's first render loads its shipped models once per process (not an answer to an input)
        if cpu > CPU_LIMIT_S and not where.endswith("(first render)"):
            report["problems"].append(f"{where}: {cpu:.1f} s of CPU")
        report["problems"].extend(problems_of(at, where))

    def fresh(page: str, tab: tuple[str, str] | None, query: dict | None = None):
        at = AppTest.from_file(APP, default_timeout=120)
        at.switch_page(page)
        for k, v in (query or {}).items():
            at.query_params[k] = v
        if tab:
            at.session_state[tab[0]] = tab[1]
        return at

    # Warm up every view once (model loading, caches), then measure the peak from there on.
    views = [(page, None) for page in pages]
    views += [(page, (key, label)) for page in pages for key, labels in keyed_tabs(page) for label in labels[1:]]
    warm = {}
    for page, tab in views:
        at = fresh(page, tab)
        run(at, f"{page} {tab} (first render)")
        warm[(page, tab)] = at
    report["rss_before_mb"] = peak_rss_mb()

    def inputs(at) -> list[tuple[str, str]]:
        return [(kind, w.key) for kind in ("text_input", "text_area", "number_input") for w in getattr(at, kind)
                if w.key and not w.disabled]

    def fuzz_inputs(at, where: str, done: set) -> None:
        todo = [(kind, key) for kind, key in inputs(at) if key not in done]
        done |= {key for _, key in todo}
        texts = [(kind, key) for kind, key in todo if kind != "number_input"]
        numbers = [(kind, key) for kind, key in todo if kind == "number_input"]
        report["views"].append([where, len(texts), len(numbers)])
        report["widgets"] += len(todo)
        # Every payload into all text inputs at once, then the worst ones into each input alone
        # (an early "bad input" return in one input must not hide the inputs after it). Inputs may
        # vanish after bad input (an early return): only those on screen are set.
        for name, value in TEXTS.items():
            if name in ("10k", "inf", "huge"):  # covered by "1M", "nan", "bigint" (time)
                continue
            for kind, key in texts:
                put(at, kind, key, value)
            run(at, f"{where} all text inputs={name}")
        for kind, key in texts:
            for name in ONE_BY_ONE:
                for k2, key2 in texts:
                    put(at, k2, key2, None)
                if not put(at, kind, key, TEXTS[name]):
                    run(at, f"{where} defaults")
                    if not put(at, kind, key, TEXTS[name]):
                        continue
                run(at, f"{where} {key}={name}")
        for kind, key in texts:
            put(at, kind, key, None)
        run(at, f"{where} defaults")
        for kind, key in numbers:
            try:
                widget = at.number_input(key=key)
            except KeyError:  # drawn only for some inputs (e.g. after a valid text): nothing to fuzz here now
                continue
            is_int = widget.proto.data_type == widget.proto.INT
            for name, value in (INTS if is_int else FLOATS).items():
                if put(at, kind, key, value):
                    run(at, f"{where} {key}={name}")
            put(at, kind, key, None)
            run(at, f"{where} {key}=default")

    for (page, tab), at in warm.items():
        where = f"{page}{' [' + tab[1] + ']' if tab else ''}"
        done: set = set()
        fuzz_inputs(at, where, done)
        # Inputs that only appear for another choice (e.g. "Build from: torch.zeros" shows a shape box):
        # try every option of every keyed selectbox and radio once and fuzz what it reveals.
        for kind, key in [(kind, w.key) for kind in ("selectbox", "radio") for w in getattr(at, kind) if w.key]:
            try:
                n_options = len(getattr(at, kind)(key=key).options)
            except KeyError:
                continue
            if n_options > 8:  # a long list (dtypes, ops) picks values, it does not reveal inputs (time)
                continue
            for i in range(1, n_options):
                if not choose(at, kind, key, i):
                    break
                run(at, f"{where} {key}=option {i}")
                if any(k not in done for _, k in inputs(at)):
                    fuzz_inputs(at, f"{where} {key}=option {i}", done)
            if choose(at, kind, key, 0):
                run(at, f"{where} {key}=option 0")

    report["params"] = query_param_names()
    params = report["params"]
    for name, value in TEXTS.items():  # every parameter at once (each is read and reported on its own)
        page = "pages/basics.py"  # the page that reads them: the playground (pg_*) and its tabs (bound)
        tab = next(((k, labels[-1]) for k, labels in keyed_tabs(page)), None)
        run(fresh(page, tab, {p: value for p in params if p not in ("basics_tab",)}), f"?all={name}")
        run(fresh(page, None, {"basics_tab": value}), f"?basics_tab={name}")
    report["rss_after_mb"] = peak_rss_mb()
    return report


def test_canvas_refuses_a_png_that_is_not_the_canvas():
    """A crafted data URL (an 8000x8000 PNG, ~80 kB) is refused from its header, never decoded."""
    import numpy as np
    import pytest
    from PIL import Image

    from ui.canvas import CanvasError, canvas_pixels

    def url(img: Image.Image) -> str:
        buf = io.BytesIO()
        img.save(buf, "PNG")
        return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()

    drawn = Image.new("RGBA", (280, 280), (0, 0, 0, 255))
    drawn.paste((255, 255, 255, 255), (100, 50, 120, 230))
    arr = canvas_pixels(url(drawn))
    assert arr.shape == (280, 280, 4) and arr.dtype == np.uint8 and arr[60, 110, 0] == 255 and arr[10, 10, 0] == 0
    assert canvas_pixels(None) is None
    bomb = url(Image.new("L", (8000, 8000)))
    assert len(bomb) < 200_000
    before = peak_rss_mb()
    for bad in (bomb, url(Image.new("RGBA", (281, 280))), "data:image/png;base64,!!!", "not a data url",
                "data:image/png;base64," + base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\0" * 40).decode(),
                "data:image/png;base64," + "A" * 2_000_000):
        with pytest.raises(CanvasError):
            canvas_pixels(bad)
    assert peak_rss_mb() - before < 50, "the refused PNG was decoded anyway"


def test_the_inputs_that_reached_tracebacks_or_gigabytes_get_messages():
    """The known cases, at the core: each one is refused with a message, or answered."""
    import pytest
    import torch

    from dl_core import expr as E
    from dl_core import expr_numeric as EN
    from dl_core import modules_demo as M
    from dl_core import tensors as T

    for shape in ("0, 200000000", "0, 1000000000", "200000000, 0", "1, 0, 100000"):
        with pytest.raises(T.TensorError, match="more than 10,000"):
            T.parse_shape(shape)
    assert T.parse_shape("0, 3") == (0, 3) and T.build("zeros", "float32", torch.device("cpu"), shape="0, 3").tensor.shape == (0, 3)
    for text in ("h = x * " + "9" * 320, "h = x * 1e400"):
        with pytest.raises(E.ExprError, match="too large"):
            E.parse(text)
    parsed = E.parse("h = 1/(b*b - 0.04000000000000001)")
    assert math.isfinite(E.build(parsed, {"b": 0.2}, torch.float32).nodes[-1].value)
    with pytest.raises(E.ExprError, match="Division by zero"):
        E.build(parsed, {"b": 0.2}, torch.float64)
    assert all(math.isnan(d) for _, d, _ in EN.h_sweep(parsed, {"b": 0.2}, "b", [1e-3, 1e-4], torch.float64))
    for layers, message in (("Linear(5, 5)\nSoftmax(0.5)", "Softmax takes one whole number"),
                            ("Linear(5, 5)\nSoftmax(1)", "Dimension out of range"),
                            ("Linear(5, 5)\nLeakyReLU(1e308)", "overflow")):
        with pytest.raises(M.LayerError, match=message):
            M.build_layers(layers)
    assert M.build_layers("Linear(5, 5)\nSoftmax(-1)")(torch.zeros(5)).sum().item() == pytest.approx(1.0)


def test_the_link_detector_can_fail():
    """The check that fails the fuzz on a planted link really sees raw links, images and HTML."""
    for raw in (LINK, IMAGE, "see https://evil.example/x", TEXTS["html"]):
        assert _UNESCAPED.search(raw), raw
    from ui.plain import md

    for raw in (LINK, IMAGE, "see https://evil.example/x", TEXTS["html"], "a ``` b ` https://evil.example"):
        assert not _UNESCAPED.search(outside_code(md(raw))), md(raw)
    assert md("a ``` b") == "````a ``` b````" and md("`x") == "`` `x ``" and md("x" * 1000).endswith("...`")


def test_a_shared_link_cannot_plant_a_link_or_an_image(browser, app_server):
    """In a real browser: a playground link whose parameters are a markdown link and an image shows
    them as text in the warning; no anchor to the outside host, no outside image request."""
    from urllib.parse import urlencode, urlparse

    pg = browser.new_page()
    outside = []
    pg.on("request", lambda req: outside.append(req.url) if urlparse(req.url).hostname == "evil.example" else None)
    try:
        pg.goto(f"{app_server}/basics?" + urlencode({"basics_tab": "Playground", "pg_dataset": LINK,
                                                     "pg_activation": IMAGE}))
        warning = pg.get_by_text("could not be used and were reset")
        warning.wait_for(timeout=60_000)
        text = warning.inner_text()
        assert "[Your session expired - sign in](https://evil.example)" in text, text
        assert "![](http://evil.example/pixel.png)" in text, text
        anchors = pg.locator("a[href*='evil.example']")
        assert anchors.count() == 0, [anchors.nth(i).evaluate("a => a.outerHTML") for i in range(anchors.count())]
        assert pg.locator("img[src*='evil.example']").count() == 0
        assert outside == []
    finally:
        pg.close()


def test_hostile_input_everywhere(tmp_path):
    """The fuzz, in a fresh process; its report is checked here."""
    out = tmp_path / "report.json"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    t0 = time.monotonic()
    proc = subprocess.run([sys.executable, __file__, str(out)], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=1200)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(out.read_text())
    wall = time.monotonic() - t0
    print(f"fuzz: {report['runs']} runs, {report['widgets']} inputs on {len(report['views'])} views, "
          f"{len(report['params'])} URL parameters, slowest {report['slowest'][0]:.2f} s CPU "
          f"({report['slowest'][1]}), peak RSS {report['rss_before_mb']:.0f} -> {report['rss_after_mb']:.0f} MB, "
          f"{wall:.0f} s wall")
    assert report["widgets"] >= 10 and len(report["views"]) >= len(PAGES), report["views"]
    assert {"pg_dataset", "pg_hidden"} <= set(report["params"]), report["params"]
    assert report["problems"] == [], "\n".join(report["problems"][:40])
    assert report["rss_after_mb"] - report["rss_before_mb"] < RSS_LIMIT_MB, report


if __name__ == "__main__":
    result = fuzz(sys.argv[2:] or PAGES)
    Path(sys.argv[1]).write_text(json.dumps(result, indent=1))
