"""Load test: N simulated workshop participants against a running app, over Streamlit's own websocket.

No browser per participant. Each simulated participant does what the Streamlit 1.67 frontend does:
GET the page (and /_stcore/health, which sets the XSRF cookie), opens ws://HOST/_stcore/stream with
the subprotocols ["streamlit", <xsrf token>], sends a BackMsg ``rerun_script`` naming the page, and
reads the ForwardMsg stream until ``script_finished``. It discovers the widgets in the received deltas
(ids, types, options, min/max), then every ``--think`` seconds (jittered 0.5x..1.5x) changes one of
them to another valid value (sliders, select sliders, selectboxes, radios, number inputs, segmented
controls / pills, multiselects, checkboxes, text inputs, and the drawable canvas: a fresh random
stroke) by sending a rerun with the full widget states, exactly as the browser would, fragment id
included when the widget lives in an ``st.fragment``. It measures rerun latency (send ->
script_finished), counts exception elements shown on the page ("errors"), ``st.error`` boxes, and
failed sessions (refused or dropped connections, reruns that do not finish within ``--timeout``).

    python -m benchmarks.loadtest --url http://127.0.0.1:8501 --users 30 --think 3 --duration 60 --pages cnn,home
    python -m benchmarks.loadtest --start-server --users 30 --pages cnn             # own server, + CPU/RSS
    python -m benchmarks.loadtest --start-server --users 0 --rerun-cpu 20 --pages all   # single-user CPU/rerun
    python -m benchmarks.loadtest --start-server --users 0 --memory 1,10,30 --pages all # RSS vs sessions
    python -m benchmarks.loadtest --start-server --users 30 --pages cnn --trainers 3   # + 3 press "train"

Ordinary participants never press buttons (``--trainers K`` adds K who press "start training" and
watch the job's auto-refreshing fragment, as the browser does), and leave uploaders and data editors
alone. Pages are url paths as in the browser ("cnn", "rnn"; "home" is the default page "").
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import base64
import http.cookiejar
import io
import json
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

CANVAS_COMPONENT = "streamlit_drawable_canvas"  # bidi component name contains this
WIDGET_KINDS = ("slider", "select_slider", "selectbox", "radio", "number_input", "checkbox", "text_input",
                "text_area", "button_group", "multiselect", "canvas", "tabs")
# What deploy/ runs with (deploy/run_replicas.sh, deploy/Dockerfile): no module watcher, no full
# gc.collect() after every script run; both cost every rerun CPU time under the GIL.
DEPLOY_FLAGS = ["--server.fileWatcherType=none", "--runner.postScriptGC=false", "--server.maxUploadSize=5"]
CACHE_ENTRIES = 256  # messages the simulated browser keeps to answer the server's ref_hash messages


# ---------------------------------------------------------------- widgets ---------------------
@dataclass
class Widget:
    id: str
    kind: str  # one of WIDGET_KINDS
    fragment_id: str  # "" when not inside an st.fragment
    value: Any  # the wire value: list[float], list[str], str, int, float, bool (None: not sent)
    options: list[str] = field(default_factory=list)
    lo: float | None = None
    hi: float | None = None
    step: float = 1.0
    is_int: bool = False
    multi: bool = False
    max_chars: int = 0
    max_selections: int = 0

    @property
    def key(self) -> str:
        """The user key (``key=``) when the id carries one, else the raw id."""
        parts = self.id.split("-", 2)
        return parts[2] if self.id.startswith("$$ID-") and len(parts) == 3 else self.id


def widget_from_element(element, fragment_id: str) -> Widget | None:
    """A Widget for a delta's Element, or None for anything we do not drive (buttons, forms, ...)."""
    kind = element.WhichOneof("type")
    if kind == "bidi_component":
        el = element.bidi_component
        if CANVAS_COMPONENT in el.component_name and not el.form_id:
            return Widget(el.id, "canvas", fragment_id, None)
        return None
    if kind not in ("slider", "selectbox", "radio", "number_input", "checkbox", "text_input", "text_area",
                    "button_group", "multiselect"):
        return None
    el = getattr(element, kind)
    if el.disabled or el.form_id:
        return None
    w = Widget(el.id, kind, fragment_id, None)
    if kind == "slider":
        if el.data_type not in (0, 1):  # dates and times: skip
            return None
        if el.type == 2:  # SELECT_SLIDER: wire value is the formatted option(s)
            w.kind, w.options = "select_slider", list(el.options)
            idx = list(el.value) if el.set_value else list(el.default)
            w.value = [w.options[int(i)] for i in idx if 0 <= int(i) < len(w.options)] or None
        else:
            w.lo, w.hi, w.step, w.is_int = el.min, el.max, el.step or 1.0, el.data_type == 0
            w.value = list(el.value) if el.set_value else list(el.default)
    elif kind in ("selectbox", "radio"):
        w.options = list(el.options)
        if el.set_value:
            w.value = el.raw_value
        elif 0 <= el.default < len(w.options):
            w.value = w.options[el.default]
    elif kind == "number_input":
        w.is_int = el.data_type == 0
        w.lo = el.min if el.has_min else None
        w.hi = el.max if el.has_max else None
        w.step = el.step or 1.0
        w.value = el.value if el.set_value else el.default
    elif kind == "checkbox":
        w.value = el.value if el.set_value else el.default
    elif kind in ("text_input", "text_area"):
        w.value, w.max_chars = (el.value if el.set_value else el.default), el.max_chars
    elif kind == "button_group":
        w.options = [o.content for o in el.options]
        w.multi = el.click_mode == 1
        w.value = list(el.raw_values) if el.set_value else [w.options[i] for i in el.default if i < len(w.options)]
    elif kind == "multiselect":
        w.options, w.multi, w.max_selections = list(el.options), True, el.max_selections
        w.value = list(el.raw_values) if el.set_value else [w.options[i] for i in el.default if i < len(w.options)]
    return w


def canvas_drawing(rng: random.Random) -> str:
    """A random pen stroke on the 280x280 black canvas, as the drawable canvas sends it (PNG data URL)."""
    from PIL import Image, ImageDraw

    img = Image.new("RGBA", (280, 280), (0, 0, 0, 255))
    pts = [(rng.randint(60, 220), rng.randint(40, 240)) for _ in range(rng.randint(2, 5))]
    ImageDraw.Draw(img).line(pts, fill=(255, 255, 255, 255), width=20, joint="curve")
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    url = "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")
    raw = {"version": "5.3.0", "background": "#000000",
           "objects": [{"type": "path", "stroke": "#FFFFFF", "strokeWidth": 20, "points": pts}]}
    return json.dumps({"drawing": {"raw": raw, "data": url}})


def next_value(w: Widget, rng: random.Random) -> Any:
    """Another valid value for the widget (different from the current one where possible)."""
    def pick(options, current):
        others = [o for o in options if o != current]
        return rng.choice(others or options)

    if w.kind == "slider":
        n = int(round((w.hi - w.lo) / w.step)) if w.hi > w.lo else 0
        cur = w.value or [w.lo]
        new = []
        for v in cur:
            choices = [i for i in range(n + 1) if abs(w.lo + i * w.step - v) > 1e-9] or [0]
            new.append(w.lo + rng.choice(choices) * w.step)
        new.sort()
        return [float(int(round(v))) if w.is_int else float(v) for v in new]
    if w.kind == "select_slider":
        cur = w.value or [w.options[0]]
        if len(cur) == 2:
            a, b = sorted(rng.sample(range(len(w.options)), 2)) if len(w.options) > 1 else (0, 0)
            return [w.options[a], w.options[b]]
        return [pick(w.options, cur[0])]
    if w.kind in ("selectbox", "radio", "tabs"):
        return pick(w.options, w.value)
    if w.kind == "number_input":
        cur = w.value if w.value is not None else (w.lo or 0.0)
        lo = w.lo if w.lo is not None else cur - 10 * w.step
        hi = w.hi if w.hi is not None else cur + 10 * w.step
        n = int(round((hi - lo) / w.step)) if hi > lo else 0
        choices = [lo + i * w.step for i in range(min(n, 1000) + 1)]
        v = pick(choices, cur)
        return int(round(v)) if w.is_int else float(v)
    if w.kind == "checkbox":
        return not w.value
    if w.kind in ("text_input", "text_area"):
        text = w.value or ""
        alphabet = "".join(sorted(set(text))) or "abcdefghij ()[]0123456789"  # stay in the text's vocabulary
        text = text[:-1] if text and rng.random() < 0.4 else text + rng.choice(alphabet)
        return text[: w.max_chars] if w.max_chars else text
    if w.kind in ("button_group", "multiselect"):
        if not w.multi:
            return [pick(w.options, w.value[0] if w.value else None)]
        k = rng.randint(0, min(len(w.options), w.max_selections or len(w.options)))
        return rng.sample(w.options, k)
    if w.kind == "canvas":
        return canvas_drawing(rng)
    raise ValueError(w.kind)


def fill_state(state, w: Widget) -> None:
    """Write the widget's current wire value into a WidgetState proto."""
    state.id = w.id
    if w.kind == "slider":
        state.double_array_value.data[:] = w.value
    elif w.kind in ("select_slider", "button_group", "multiselect"):
        state.string_array_value.data[:] = w.value
    elif w.kind in ("selectbox", "radio", "text_input", "text_area", "tabs"):
        state.string_value = w.value
    elif w.kind == "number_input":
        if w.is_int:
            state.int_value = int(w.value)
        else:
            state.double_value = float(w.value)
    elif w.kind == "checkbox":
        state.bool_value = bool(w.value)
    elif w.kind == "canvas":
        state.json_value = w.value


# ---------------------------------------------------------------- one participant -------------
class SessionFailed(Exception):
    pass


@dataclass
class Run:
    """What one script run (page open or rerun) showed."""
    seconds: float
    status: int
    exceptions: list[str]
    error_alerts: list[str]
    warnings: list[str]


class Session:
    """One simulated browser tab: cookies, the websocket, the widgets on the page, the message cache."""

    def __init__(self, base_url: str, rng: random.Random, timeout: float = 60.0):
        self.base = base_url.rstrip("/")
        self.rng = rng
        self.timeout = timeout
        self.ws = None
        self.widgets: dict[str, Widget] = {}
        self.page_hash = ""
        self.pages: dict[str, str] = {}  # url path -> page script hash
        self.buttons: dict[str, str] = {}  # user key -> element id of the enabled buttons on the page
        self.auto_reruns: dict[str, float] = {}  # fragment id -> seconds (st.fragment(run_every=...))
        self.cache: dict[str, bytes] = {}  # ForwardMsg hash -> serialized message (like the browser's)
        self._seen: set[str] = set()
        self._tab_paths: dict[tuple, str] = {}  # delta path of a stateful st.tabs container -> its widget id
        self._run_exceptions: list[str] = []
        self._run_errors: list[str] = []
        self._run_warnings: list[str] = []
        self._fragment = ""
        self._done: asyncio.Future | None = None
        self._reader: asyncio.Task | None = None
        self.closed_reason: str | None = None

    # -- connection ---------------------------------------------------------------------------
    def _cookies(self, page: str) -> dict[str, str]:
        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        opener.open(f"{self.base}/{page}", timeout=self.timeout).read()
        opener.open(f"{self.base}/_stcore/health", timeout=self.timeout).read()
        return {c.name: c.value for c in jar}

    async def open(self, page: str) -> Run:
        """GET the page like a browser, connect the websocket, run the page; returns the first run."""
        from websockets.asyncio.client import connect

        path = "" if page in ("", "home") else page
        try:
            cookies = await asyncio.to_thread(self._cookies, path)
            ws_url = re.sub(r"^http", "ws", self.base) + "/_stcore/stream"
            headers = {"Origin": self.base}
            if cookies:
                headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
            token = cookies.get("_streamlit_xsrf", "PLACEHOLDER_AUTH_TOKEN")
            self.ws = await asyncio.wait_for(
                connect(ws_url, subprotocols=["streamlit", token], additional_headers=headers, max_size=None,
                        compression=None, open_timeout=self.timeout, ping_interval=None),  # browsers send no pings
                self.timeout)
        except Exception as err:  # refused, reset, handshake rejected, timed out
            raise SessionFailed(f"connect: {type(err).__name__}: {err}") from err
        self._reader = asyncio.create_task(self._read())
        return await self._rerun(page_name=path)

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
        if self._reader is not None:
            self._reader.cancel()
            try:
                await self._reader
            except (asyncio.CancelledError, Exception):
                pass

    # -- actions ------------------------------------------------------------------------------
    def changeable(self) -> list[Widget]:
        return [w for w in self.widgets.values() if w.kind == "canvas" or (w.value is not None and (
            w.options or w.kind in ("slider", "number_input", "checkbox", "text_input", "text_area")))]

    async def change_random_widget(self) -> tuple[Widget | None, Run]:
        """Change one widget to another valid value and rerun (only its fragment, if it lives in one)."""
        candidates = self.changeable()
        if not candidates:
            return None, await self._rerun()  # a page without widgets: the rerun button ("R")
        w = self.rng.choice(candidates)
        w.value = next_value(w, self.rng)
        return w, await self._rerun(fragment_id=w.fragment_id)

    async def press(self, key: str) -> Run:
        """Click the button with this ``key=`` (a trigger value in the widget states, as the browser sends)."""
        if key not in self.buttons:
            raise SessionFailed(f"no enabled button {key!r} on the page: {sorted(self.buttons)}")
        return await self._rerun(trigger=self.buttons[key])

    async def auto_rerun(self) -> Run | None:
        """What the browser does for an st.fragment(run_every=...): rerun that fragment (None if there is none)."""
        if not self.auto_reruns:
            return None
        fragment_id = next(iter(self.auto_reruns))
        return await self._rerun(fragment_id=fragment_id, is_auto_rerun=True)

    async def open_tab(self, label: str) -> Run | None:
        """Click the stateful tab with this label (lazy tabs: its body runs only when open); None if absent."""
        for w in list(self.widgets.values()):
            if w.kind == "tabs" and label in w.options and w.value != label:
                w.value = label
                return await self._rerun(fragment_id=w.fragment_id)
        return None

    async def navigate(self, page: str) -> Run:
        """Follow a page link in the same session (as st.navigation's sidebar does)."""
        path = "" if page in ("", "home") else page
        if path not in self.pages:
            raise SessionFailed(f"page {page!r} is not in the app's navigation: {sorted(self.pages)}")
        return await self._rerun(page_hash=self.pages[path])

    # -- protocol -----------------------------------------------------------------------------
    async def _rerun(self, page_name: str = "", page_hash: str | None = None, fragment_id: str = "",
                     trigger: str = "", is_auto_rerun: bool = False) -> Run:
        from streamlit.proto.BackMsg_pb2 import BackMsg

        msg = BackMsg()
        rs = msg.rerun_script
        rs.query_string = ""
        rs.page_name = page_name
        rs.page_script_hash = page_hash if page_hash is not None else self.page_hash
        rs.fragment_id = fragment_id
        rs.is_auto_rerun = is_auto_rerun
        while len(self.cache) > CACHE_ENTRIES:  # forget the oldest, before telling the server what we hold
            del self.cache[next(iter(self.cache))]
        rs.cached_message_hashes.extend(self.cache)
        rs.context_info.timezone = "Europe/Berlin"
        rs.context_info.timezone_offset = -60
        rs.context_info.locale = "en-US"
        rs.context_info.url = f"{self.base}/{page_name}"
        rs.context_info.color_scheme = "light"
        navigating = page_hash is not None and page_hash != self.page_hash
        for w in self.widgets.values():
            if w.value is not None and not navigating:
                fill_state(rs.widget_states.widgets.add(), w)
        if trigger:
            state = rs.widget_states.widgets.add()
            state.id, state.trigger_value = trigger, True
        self._seen, self._fragment = set(), fragment_id
        self._run_exceptions, self._run_errors, self._run_warnings = [], [], []
        self._done = asyncio.get_running_loop().create_future()
        self._done.add_done_callback(lambda f: f.cancelled() or f.exception())  # retrieved even after a timeout
        t0 = time.perf_counter()
        try:
            await self.ws.send(msg.SerializeToString())
            status = await asyncio.wait_for(asyncio.shield(self._done), self.timeout)
        except asyncio.TimeoutError:
            raise SessionFailed(f"no script_finished within {self.timeout:.0f} s") from None
        except Exception as err:
            raise SessionFailed(f"{type(err).__name__}: {err}") from err
        seconds = time.perf_counter() - t0
        if status == 1:
            raise SessionFailed("script finished with a compile error")
        return Run(seconds, status, self._run_exceptions, self._run_errors, self._run_warnings)

    async def _read(self) -> None:
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        try:
            async for data in self.ws:
                msg = ForwardMsg()
                msg.ParseFromString(data)
                if msg.HasField("ref_hash"):  # the server says "you already have this one"
                    cached = ForwardMsg()
                    cached.ParseFromString(self.cache[msg.ref_hash])
                    cached.metadata.CopyFrom(msg.metadata)
                    msg = cached
                elif msg.metadata.cacheable and msg.hash:
                    self.cache[msg.hash] = data
                self._handle(msg)
            self.closed_reason = "server closed the connection"
        except Exception as err:
            self.closed_reason = f"{type(err).__name__}: {err}"
        if self._done is not None and not self._done.done():
            self._done.set_exception(SessionFailed(f"disconnected: {self.closed_reason}"))

    def _tabs_block(self, msg) -> None:
        """Stateful tabs (``st.tabs(key=..., on_change="rerun")``, where only the open tab runs) are a
        widget too: the container announces its id and open tab, then one block per tab brings its label.
        A participant switches tabs like any other widget, so every tab's widgets get their share."""
        block, path = msg.delta.add_block, tuple(msg.metadata.delta_path)
        kind = block.WhichOneof("type")
        if kind == "tab_container" and block.tab_container.id:
            w = Widget(block.tab_container.id, "tabs", msg.delta.fragment_id, None)
            w.lo = float(block.tab_container.default_tab_index)  # the open tab's index, until its label arrives
            self.widgets[w.id] = w
            self._seen.add(w.id)
            self._tab_paths[path] = w.id
        elif kind == "tab" and path[:-1] in self._tab_paths:
            w = self.widgets.get(self._tab_paths[path[:-1]])
            if w is not None:
                if len(w.options) == int(w.lo or 0):
                    w.value = block.tab.label
                w.options.append(block.tab.label)

    def _handle(self, msg) -> None:
        kind = msg.WhichOneof("type")
        if kind == "new_session":  # sent by fragment runs too
            self.page_hash = msg.new_session.page_script_hash
            if not self._fragment:  # a full run re-announces its buttons and auto-rerunning fragments
                self.auto_reruns.clear()
                self.buttons.clear()
        elif kind == "auto_rerun":
            self.auto_reruns[msg.auto_rerun.fragment_id] = msg.auto_rerun.interval
        elif kind == "stop_auto_rerun":
            for fragment_id in msg.stop_auto_rerun.fragment_ids:
                self.auto_reruns.pop(fragment_id, None)
        elif kind == "navigation":
            self.page_hash = msg.navigation.page_script_hash or self.page_hash
            self.pages = {p.url_pathname: p.page_script_hash for p in msg.navigation.app_pages}
        elif kind == "page_not_found":
            self._run_exceptions.append(f"page not found: {msg.page_not_found.page_name}")
        elif kind == "delta" and msg.delta.WhichOneof("type") == "add_block":
            self._tabs_block(msg)
        elif kind == "delta" and msg.delta.WhichOneof("type") == "new_element":
            element = msg.delta.new_element
            etype = element.WhichOneof("type")
            if etype == "exception":
                where = " <- ".join(line.strip() for line in element.exception.stack_trace[-3:][::-1])
                self._run_exceptions.append(f"{element.exception.type}: {element.exception.message}"[:300]
                                            + (f" at {where}"[:600] if where else ""))
            elif etype == "alert" and element.alert.format == 1:
                self._run_errors.append(element.alert.body[:300])
            elif etype == "alert" and element.alert.format == 2:
                self._run_warnings.append(element.alert.body[:300])
            if etype == "button" and not element.button.is_form_submitter:
                key = Widget(element.button.id, "button", "", None).key
                if element.button.disabled:
                    self.buttons.pop(key, None)
                else:
                    self.buttons[key] = element.button.id
            w = widget_from_element(element, msg.delta.fragment_id)
            if w is not None:
                old = self.widgets.get(w.id)
                if old is not None and old.kind == w.kind and w.value is not None and old.value is not None \
                        and not _server_set(element) and _still_valid(old.value, w):
                    w.value = old.value  # the browser keeps what the user chose
                if old is not None and w.kind == "canvas":
                    w.value = old.value
                self.widgets[w.id] = w
                self._seen.add(w.id)
        elif kind == "script_finished":
            status = msg.script_finished
            if status == 2:  # stopped early because a rerun follows (e.g. st.rerun): keep waiting
                return
            if status == 0:  # a full run: widgets that were not drawn are gone
                self.widgets = {i: w for i, w in self.widgets.items() if i in self._seen}
            elif status == 3 and self._fragment:
                self.widgets = {i: w for i, w in self.widgets.items()
                                if i in self._seen or w.fragment_id != self._fragment}
            if self._done is not None and not self._done.done():
                self._done.set_result(status)


def _still_valid(value, w: Widget) -> bool:
    if w.kind in ("select_slider", "button_group", "multiselect"):
        return all(v in w.options for v in value)
    if w.kind in ("selectbox", "radio"):
        return value in w.options
    return True


def _server_set(element) -> bool:
    etype = element.WhichOneof("type")
    return bool(getattr(getattr(element, etype), "set_value", False))


# ---------------------------------------------------------------- the server ------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def proc_cpu_seconds(pid: int) -> float:
    """utime + stime of a process (all its threads), from /proc/<pid>/stat."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def proc_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} / {five:.2f} / {fifteen:.2f} on {os.cpu_count()} cores"


class Server:
    """`streamlit run app.py` on a free port of 127.0.0.1 (or the processes of a server already running)."""

    def __init__(self, pids: list[int] | None = None, url: str | None = None):
        self.proc = None
        self.pids = pids or []
        self.url = url

    @classmethod
    def start(cls, extra_args: list[str] | None = None, timeout: float = 90) -> "Server":
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.address", "127.0.0.1",
             "--server.port", str(port), "--server.headless", "true", "--browser.gatherUsageStats", "false",
             *(extra_args or [])],
            cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)), stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
        server = cls([proc.pid], url)
        server.proc = proc
        deadline = time.time() + timeout
        while True:
            try:
                if urllib.request.urlopen(url + "/_stcore/health", timeout=2).read() == b"ok":
                    return server
            except OSError:
                if proc.poll() is not None or time.time() > deadline:
                    server.stop()
                    raise RuntimeError("streamlit server did not become healthy") from None
                time.sleep(0.2)

    def cpu_seconds(self) -> float:
        return sum(proc_cpu_seconds(p) for p in self.pids)

    def rss_mb(self) -> float:
        return sum(proc_rss_mb(p) for p in self.pids)

    def stop(self) -> None:
        if self.proc is None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


# ---------------------------------------------------------------- statistics ------------------
def percentile(values: list[float], q: float) -> float:
    """Linear-interpolated percentile (like numpy's default); nan for no values."""
    if not values:
        return float("nan")
    s = sorted(values)
    pos = (len(s) - 1) * q / 100
    lo = int(pos)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


@dataclass
class PageStats:
    page: str
    users: int = 0
    opens: list[float] = field(default_factory=list)  # seconds, page open (connect -> first finish)
    reruns: list[float] = field(default_factory=list)  # seconds, widget change -> script_finished
    errors: int = 0  # exception elements shown on the page
    error_alerts: int = 0  # st.error boxes
    failed_sessions: int = 0
    busy: int = 0  # "server is busy" warnings (training participants only)
    messages: list[str] = field(default_factory=list)  # first few error / failure texts
    by_widget: dict[str, list[float]] = field(default_factory=dict)

    def note(self, text: str) -> None:
        if len(self.messages) < 8 and text not in self.messages:
            self.messages.append(text)

    def opened(self, run: Run) -> None:
        """The page's first run: its time is an open time, not a rerun."""
        self.opens.append(run.seconds)
        self.add(run, None)

    def add(self, run: Run, widget: Widget | None) -> None:
        self.errors += len(run.exceptions)
        self.error_alerts += len(run.error_alerts)
        for text in run.exceptions:
            self.note(f"exception: {text}")
        if widget is not None:
            self.by_widget.setdefault(f"{widget.key} ({widget.kind})", []).append(run.seconds)

    def summary(self) -> dict:
        ms = [t * 1e3 for t in self.reruns]
        return {"page": self.page or "home", "users": self.users, "reruns": len(ms),
                "p50_ms": percentile(ms, 50), "p95_ms": percentile(ms, 95), "max_ms": max(ms, default=float("nan")),
                "open_p50_ms": percentile([t * 1e3 for t in self.opens], 50),
                "open_max_ms": max((t * 1e3 for t in self.opens), default=float("nan")),
                "errors": self.errors, "error_alerts": self.error_alerts, "failed_sessions": self.failed_sessions,
                "busy": self.busy,
                "messages": self.messages,
                "by_widget": {k: {"n": len(v), "p50_ms": percentile([t * 1e3 for t in v], 50),
                                  "p95_ms": percentile([t * 1e3 for t in v], 95)}
                              for k, v in sorted(self.by_widget.items())}}


# ---------------------------------------------------------------- scenarios -------------------
@contextlib.asynccontextmanager
async def counted_session(url: str, stats: PageStats, rng: random.Random, timeout: float):
    """A session whose failure (refused, dropped, too slow) counts as a failed session in ``stats``
    and ends the participant; the websocket is closed in any case."""
    session = Session(url, rng, timeout)
    try:
        yield session
    except SessionFailed as err:
        stats.failed_sessions += 1
        stats.note(f"failed session: {err}")
    finally:
        await session.close()


async def participant(url: str, page: str, stats: PageStats, think: float, until: float, start_delay: float,
                      rng: random.Random, timeout: float, max_reruns: int | None) -> None:
    await asyncio.sleep(start_delay)
    async with counted_session(url, stats, rng, timeout) as session:
        stats.opened(await session.open(page))
        done = 0
        while max_reruns is None or done < max_reruns:
            pause = think * rng.uniform(0.5, 1.5)
            if time.monotonic() + pause >= until:
                break
            await asyncio.sleep(pause)
            widget, run = await session.change_random_widget()
            stats.reruns.append(run.seconds)
            stats.add(run, widget)
            done += 1


async def trainer(url: str, page: str, start: str, stop: str, stats: PageStats, until: float, start_delay: float,
                  rng: random.Random, timeout: float, tab: str | None = None) -> None:
    """A participant who presses "start training" and then watches: the browser's auto-reruns of the
    st.fragment(run_every=...) that polls the job are the latencies recorded. Presses stop at the end."""
    await asyncio.sleep(start_delay)
    async with counted_session(url, stats, rng, timeout) as session:
        stats.opened(await session.open(page))
        if tab is None and start not in session.buttons:  # the training controls live in a lazy tab
            tab = "Train it yourself"
        if tab:
            opened = await session.open_tab(tab)
            if opened is not None:
                stats.add(opened, None)
        run = await session.press(start)
        stats.add(run, None)
        if any("busy" in text.lower() for text in run.warnings):
            stats.busy += 1
        while session.auto_reruns:
            interval = next(iter(session.auto_reruns.values()))
            if time.monotonic() + interval >= until:
                break
            await asyncio.sleep(interval)
            run = await session.auto_rerun()
            stats.reruns.append(run.seconds)
            stats.add(run, None)
        if stop in session.buttons:
            await session.press(stop)


async def load(url: str, pages: list[str], users: int, think: float, duration: float, ramp: float,
               timeout: float, seed: int, max_reruns: int | None = None, trainers: int = 0,
               train_page: str = "cnn", train_buttons: tuple[str, str] = ("cnn_train_start", "cnn_train_stop"),
               train_tab: str | None = None) -> dict[str, PageStats]:
    """``users`` participants, assigned to ``pages`` round-robin, for ``duration`` seconds; plus
    ``trainers`` participants who start a training on ``train_page`` and watch it."""
    stats = {p: PageStats(p) for p in pages}
    until = time.monotonic() + duration
    tasks = []
    if trainers:
        name = f"{train_page} (training)"
        stats[name] = PageStats(name, users=trainers)
        for i in range(trainers):
            tasks.append(trainer(url, train_page, *train_buttons, stats[name], until, 0.5 * i,
                                 random.Random(seed * 1000 - 1 - i), timeout, train_tab))
    for i in range(users):
        page = pages[i % len(pages)]
        stats[page].users += 1
        delay = ramp * i / max(users, 1)
        tasks.append(participant(url, page, stats[page], think, until, delay, random.Random(seed * 1000 + i),
                                 timeout, max_reruns))
    await asyncio.gather(*tasks)
    return stats


async def discover_pages(url: str, timeout: float = 60) -> list[str]:
    session = Session(url, random.Random(0), timeout)
    try:
        await session.open("")
        return ["home" if p == "" else p for p in session.pages]
    finally:
        await session.close()


async def rerun_cpu(url: str, server: Server, pages: list[str], n: int, seed: int, timeout: float) -> list[dict]:
    """One participant alone: server CPU seconds (utime+stime, /proc) per page open and per rerun."""
    out = []
    for page in pages:
        session = Session(url, random.Random(seed), timeout)
        try:
            c0 = server.cpu_seconds()
            run = await session.open(page)
            open_cpu = server.cpu_seconds() - c0
            cpu, wall, by_widget, errors = [], [], {}, len(run.exceptions)
            messages = list(run.exceptions[:2])
            for _ in range(n):
                await asyncio.sleep(0.05)  # let the server finish sending before we read its clock
                c0 = server.cpu_seconds()
                widget, run = await session.change_random_widget()
                used = server.cpu_seconds() - c0
                cpu.append(used)
                wall.append(run.seconds)
                errors += len(run.exceptions)
                messages += [m for m in run.exceptions if m not in messages][:max(0, 3 - len(messages))]
                name = f"{widget.key} ({widget.kind})" if widget else "(rerun)"
                by_widget.setdefault(name, []).append(used)
            out.append({"page": page, "open_cpu_ms": open_cpu * 1e3, "reruns": n,
                        "cpu_p50_ms": percentile([c * 1e3 for c in cpu], 50),
                        "cpu_mean_ms": statistics.fmean(cpu) * 1e3 if cpu else float("nan"),
                        "cpu_max_ms": max(cpu, default=float("nan")) * 1e3,
                        "wall_p50_ms": percentile([w * 1e3 for w in wall], 50), "errors": errors,
                        "messages": messages,
                        "by_widget": {k: {"n": len(v), "cpu_mean_ms": statistics.fmean(v) * 1e3}
                                      for k, v in sorted(by_widget.items())}})
        except SessionFailed as err:
            out.append({"page": page, "failed": str(err)})
        finally:
            await session.close()
    return out


async def memory(url: str, server: Server, pages: list[str], counts: list[int], seed: int, timeout: float,
                 settle: float = 2.0) -> list[dict]:
    """Server RSS with 1, 10, 30 ... sessions connected, each after visiting every page (one widget
    change on each). Sessions accumulate; at the end all leave and RSS is read again."""
    sessions: list[Session] = []
    out = [{"sessions": 0, "rss_mb": server.rss_mb(), "load": load_average()}]
    failures = 0

    async def visit_all(s: Session) -> None:
        nonlocal failures
        try:
            await s.open(pages[0])
            await s.change_random_widget()
            for page in pages[1:]:
                await s.navigate(page)
                await s.change_random_widget()
        except SessionFailed:
            failures += 1

    for i, count in enumerate(counts):
        new = [Session(url, random.Random(seed * 7919 + len(sessions) + j), timeout)
               for j in range(count - len(sessions))]
        sessions += new
        for k in range(0, len(new), 5):  # 5 at a time: an arrival wave, not a stampede
            await asyncio.gather(*(visit_all(s) for s in new[k:k + 5]))
        await asyncio.sleep(settle)
        out.append({"sessions": len(sessions), "rss_mb": server.rss_mb(), "failed": failures, "load": load_average()})
    await asyncio.gather(*(s.close() for s in sessions))
    await asyncio.sleep(settle)
    out.append({"sessions": "0 (all left)", "rss_mb": server.rss_mb(), "failed": failures, "load": load_average()})
    return out


# ---------------------------------------------------------------- reporting -------------------
def fmt(x: float) -> str:
    return "-" if x != x else f"{x:.0f}"


def load_table(summaries: list[dict]) -> str:
    lines = ["| page | users | reruns | p50 ms | p95 ms | max ms | open p50 / max ms | errors | st.error | failed sessions |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    busy = [f"{s['page']}: {s['busy']} of {s['users']} were told the server is busy" for s in summaries if s["busy"]]
    for s in summaries:
        lines.append(f"| {s['page']} | {s['users']} | {s['reruns']} | {fmt(s['p50_ms'])} | {fmt(s['p95_ms'])} | "
                     f"{fmt(s['max_ms'])} | {fmt(s['open_p50_ms'])} / {fmt(s['open_max_ms'])} | {s['errors']} | "
                     f"{s['error_alerts']} | {s['failed_sessions']} |")
    return "\n".join(lines + busy)


def cpu_table(rows: list[dict]) -> str:
    lines = ["| page | open CPU ms | rerun CPU p50 / mean / max ms | rerun wall p50 ms | errors |", "|---|---|---|---|---|"]
    for r in rows:
        if "failed" in r:
            lines.append(f"| {r['page']} | failed: {r['failed']} | | | |")
            continue
        lines.append(f"| {r['page']} | {fmt(r['open_cpu_ms'])} | {fmt(r['cpu_p50_ms'])} / {fmt(r['cpu_mean_ms'])} / "
                     f"{fmt(r['cpu_max_ms'])} | {fmt(r['wall_p50_ms'])} | {r['errors']} |")
    return "\n".join(lines)


def load_once(args, url: str, server: "Server | None", pages: list[str]) -> dict:
    """One load run: ``args.users`` participants on ``pages`` (round-robin); prints its table."""
    c0 = server.cpu_seconds() if server else None
    rss0 = server.rss_mb() if server else None
    before = load_average()
    own0, t0 = time.process_time(), time.perf_counter()
    stats = asyncio.run(load(url, pages, args.users, args.think, args.duration, args.ramp, args.timeout,
                             args.seed, args.max_reruns, args.trainers, args.train_page,
                             tuple(args.train_buttons.split(",")), args.train_tab))
    wall = time.perf_counter() - t0
    summaries = [s.summary() for s in stats.values()]
    out = {"users": args.users, "think_s": args.think, "duration_s": args.duration, "wall_s": wall,
           "pages": summaries, "load_before": before, "load_after": load_average(),
           "generator_cpu_s": time.process_time() - own0}
    print(f"{args.users} users, think {args.think:g} s, {args.duration:g} s, load average before "
          f"{before}, after {out['load_after']}:\n{load_table(summaries)}")
    if server is not None:
        out["server_cpu_s"] = server.cpu_seconds() - c0
        out["server_rss_mb"] = [rss0, server.rss_mb()]
        print(f"Server CPU {out['server_cpu_s']:.1f} s in {wall:.0f} s wall "
              f"({100 * out['server_cpu_s'] / wall:.0f}% of one core); RSS {rss0:.0f} -> "
              f"{server.rss_mb():.0f} MB. Load generator CPU {out['generator_cpu_s']:.1f} s.")
    for s in summaries:
        for text in s["messages"]:
            print(f"  {s['page']}: {text}")
        if args.verbose:
            for k, v in s["by_widget"].items():
                print(f"  {s['page']:12s} {k:45s} n={v['n']:3d} p50 {fmt(v['p50_ms'])} ms p95 {fmt(v['p95_ms'])} ms")
    print(flush=True)
    return out


def run_all(args) -> dict:
    server = None
    if args.start_server:
        server = Server.start((DEPLOY_FLAGS if args.deploy_flags else []) + args.server_arg)
        url = server.url
    else:
        url = args.url
        if args.server_pid:
            server = Server([int(p) for p in args.server_pid.split(",")], url)
    result: dict[str, Any] = {"url": url, "load_before": load_average()}
    try:
        pages = args.pages.split(",")
        if pages == ["all"]:
            pages = asyncio.run(discover_pages(url, args.timeout))
        result["pages"] = pages
        if args.rerun_cpu:
            if server is None:
                raise SystemExit("--rerun-cpu needs --start-server or --server-pid")
            rows = asyncio.run(rerun_cpu(url, server, pages, args.rerun_cpu, args.seed, args.timeout))
            result["rerun_cpu"] = rows
            result["rerun_cpu_load"] = load_average()
            print(f"Single-user server CPU per page (load average {result['rerun_cpu_load']}):\n{cpu_table(rows)}\n")
            for r in rows:
                for text in r.get("messages", []):
                    print(f"  {r['page']}: exception: {text}")
            if args.verbose:
                for r in rows:
                    for k, v in r.get("by_widget", {}).items():
                        print(f"  {r['page']:12s} {k:45s} n={v['n']:3d} cpu mean {v['cpu_mean_ms']:.0f} ms")
        if args.users:
            runs = [load_once(args, url, server, group) for group in ([[p] for p in pages] if args.each_page else [pages])]
            result["load"] = runs if args.each_page else runs[0]
        if args.memory:
            if server is None:
                raise SystemExit("--memory needs --start-server or --server-pid")
            counts = [int(c) for c in args.memory.split(",")]
            rows = asyncio.run(memory(url, server, pages, counts, args.seed, args.timeout))
            result["memory"] = rows
            print("\n| sessions (each visited " + ", ".join(pages) + ") | server RSS MB | failed | load average |")
            print("|---|---|---|---|")
            for r in rows:
                print(f"| {r['sessions']} | {r['rss_mb']:.0f} | {r.get('failed', 0)} | {r['load']} |")
    finally:
        if server is not None:
            server.stop()
    return result


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url", default="http://127.0.0.1:8501", help="a running app (ignored with --start-server)")
    ap.add_argument("--start-server", action="store_true",
                    help="start `streamlit run app.py` on a free port of 127.0.0.1 and report its CPU and RSS")
    ap.add_argument("--deploy-flags", action="store_true",
                    help="--start-server with deploy/'s settings: " + " ".join(DEPLOY_FLAGS))
    ap.add_argument("--server-arg", action="append", default=[],
                    help="extra argument for --start-server, e.g. --server-arg=--runner.postScriptGC=false (repeat)")
    ap.add_argument("--server-pid", default="", help="pid(s), comma-separated, of the running server(s) to measure")
    ap.add_argument("--users", type=int, default=30)
    ap.add_argument("--think", type=float, default=3.0, help="seconds between a user's actions (x0.5..1.5 jitter)")
    ap.add_argument("--duration", type=float, default=60.0, help="seconds of load")
    ap.add_argument("--ramp", type=float, default=None, help="seconds over which users arrive (default: --think)")
    ap.add_argument("--pages", default="cnn,home", help="url paths, comma-separated (users round-robin), or 'all'")
    ap.add_argument("--each-page", action="store_true",
                    help="one load run per page (all --users on that page), one after the other, same server")
    ap.add_argument("--timeout", type=float, default=60.0, help="a run that takes longer fails the session")
    ap.add_argument("--max-reruns", type=int, default=None, help="stop each user after this many reruns")
    ap.add_argument("--trainers", type=int, default=0,
                    help="extra participants who press start training on --train-page and watch the job")
    ap.add_argument("--train-page", default="cnn")
    ap.add_argument("--train-tab", help="the label of the tab that holds the training buttons (e.g. 'DQN on CartPole')")
    ap.add_argument("--train-buttons", default="cnn_train_start,cnn_train_stop", help="start,stop button keys")
    ap.add_argument("--rerun-cpu", type=int, default=0, metavar="N",
                    help="first, one user alone: server CPU per rerun over N reruns on each page")
    ap.add_argument("--memory", default="", metavar="COUNTS", help="e.g. 1,10,30: server RSS with that many sessions")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", type=Path, help="also write all results to this JSON file")
    ap.add_argument("-v", "--verbose", action="store_true", help="latency / CPU per widget")
    args = ap.parse_args(argv)
    if args.ramp is None:
        args.ramp = args.think
    return args


def main(argv=None) -> dict:
    args = parse_args(argv)
    result = run_all(args)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return result


def rows(quick: bool) -> list[tuple[str, str, str]]:
    """Rows for benchmarks.run: every page under 30 users (10 users, 20 s when quick), one page at a
    time, against one server started with deploy/'s flags."""
    users, duration = (10, 20) if quick else (30, 60)
    res = run_all(parse_args(["--start-server", "--deploy-flags", "--users", str(users), "--duration",
                              str(duration), "--pages", "all", "--each-page"]))
    out = []
    for one in res["load"]:
        s = one["pages"][0]
        out.append((f"Load test (websocket), {users} users, 3 s think, {duration} s, {s['page']} page, deploy/ "
                    f"flags: rerun p50 / p95 / max (load avg {one['load_before'].split(' / ')[0]})",
                    f"{fmt(s['p50_ms'])} / {fmt(s['p95_ms'])} / {fmt(s['max_ms'])} ms, {s['errors']} errors, "
                    f"{s['failed_sessions']} failed", "p95 <= 1000 ms, 0 errors, 0 failed"))
    return out


if __name__ == "__main__":
    main()
