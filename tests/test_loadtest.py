"""Workshop mode: the websocket load generator against a real server, and the training cap on the CNN page."""
from __future__ import annotations

import asyncio
import random
import threading

import pytest

from benchmarks import loadtest
from benchmarks.loadtest import Session, Widget, load, next_value, percentile

CNN_PAGE = str(loadtest.ROOT / "pages" / "cnn.py")


def run_async(coro):
    """asyncio.run in a thread of its own: the browser tests' Playwright keeps an event loop running
    in the main thread for the whole session, and asyncio.run refuses to nest."""
    out = {}

    def target():
        try:
            out["value"] = asyncio.run(coro)
        except BaseException as err:  # re-raised in the test's thread
            out["error"] = err

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if "error" in out:
        raise out["error"]
    return out["value"]


# ---------------------------------------------------------------- the generator's own logic ---
def test_next_value_is_another_valid_value():
    rng = random.Random(0)
    slider = Widget("s", "slider", "", [4.0], lo=0.0, hi=12.0, step=1.0, is_int=True)
    sel = Widget("b", "select_slider", "", ["64"], options=["16", "32", "64", "128"])
    box = Widget("d", "selectbox", "", "7", options=[str(d) for d in range(10)])
    num = Widget("n", "number_input", "", 2, lo=1.0, hi=5.0, step=1.0, is_int=True)
    text = Widget("t", "text_input", "", "(()", max_chars=5)
    for _ in range(50):
        v = next_value(slider, rng)
        assert len(v) == 1 and 0 <= v[0] <= 12 and v[0] == int(v[0]) and v[0] != 4.0
        v = next_value(sel, rng)
        assert v[0] in sel.options and v != ["64"]
        v = next_value(box, rng)
        assert v in box.options and v != "7"
        v = next_value(num, rng)
        assert isinstance(v, int) and 1 <= v <= 5 and v != 2
        v = next_value(text, rng)
        assert len(v) <= 5 and set(v) <= set("()")
    drawing = loadtest.json.loads(next_value(Widget("c", "canvas", "", None), rng))
    assert drawing["drawing"]["data"].startswith("data:image/png;base64,")


def test_percentile_matches_numpy():
    np = pytest.importorskip("numpy")
    values = [random.Random(1).random() for _ in range(37)]
    for q in (0, 50, 95, 100):
        assert percentile(values, q) == pytest.approx(float(np.percentile(values, q)))


# ---------------------------------------------------------------- against a real server -------
def test_load_generator_three_sessions_no_errors(app_server):
    """3 simulated participants (home, cnn, home), 3 widget changes each, over the real websocket."""
    stats = run_async(load(app_server, ["home", "cnn"], users=3, think=0.2, duration=120, ramp=0.3,
                             timeout=90, seed=1, max_reruns=3))
    for page in ("home", "cnn"):
        s = stats[page]
        assert s.failed_sessions == 0, s.messages
        assert s.errors == 0, s.messages
        assert len(s.opens) == s.users > 0
        assert len(s.reruns) == 3 * s.users, f"{page}: {len(s.reruns)} reruns recorded"
        assert all(0 < t < 90 for t in s.reruns)
    assert stats["cnn"].by_widget, "the CNN page's widgets were found and changed"


def test_one_session_visits_every_page_without_errors(app_server):
    """Like a participant clicking through the whole sidebar: every page, one widget change on each."""
    async def visit():
        session = Session(app_server, random.Random(2), timeout=90)
        shown = {}
        try:
            run = await session.open("home")
            pages = sorted(session.pages)
            assert {"", "cnn"} <= set(pages), pages
            shown[""] = run.exceptions
            for page in pages:
                opened = await session.navigate(page)
                _, changed = await session.change_random_widget()
                shown[page] = opened.exceptions + changed.exceptions
        finally:
            await session.close()
        return shown

    shown = run_async(visit())
    assert not {page: texts for page, texts in shown.items() if texts}


def test_participants_switch_stateful_tabs_like_a_widget(app_server):
    """Pages whose tabs run only when open (st.tabs(key=..., on_change="rerun")): the generator sees
    the tabs as a widget, and switching them brings the other tab's widgets."""
    async def switch():
        session = Session(app_server, random.Random(3), timeout=90)
        try:
            await session.open("gan")
            [tabs] = [w for w in session.widgets.values() if w.kind == "tabs"]
            before = {w.key for w in session.widgets.values()}
            session.changeable = lambda: [tabs]  # this one change: the tab
            _, run = await session.change_random_widget()
            after = {w.key for w in session.widgets.values()}
            return tabs.key, tabs.options, tabs.value, before, after, run.exceptions
        finally:
            await session.close()

    key, options, value, before, after, exceptions = run_async(switch())
    assert key == "gan_tab" and options == ["2-D GAN Lab", "Digit GAN"] and value == "Digit GAN"
    assert "gan2d_loss" in before and "gan_seed" not in before
    assert "gan_seed" in after and "gan2d_loss" not in after and not exceptions


# ---------------------------------------------------------------- the training cap ------------
def test_training_cap_holds_on_the_cnn_page(monkeypatch, mnist_dir):
    """Cap 1: the first session trains in a worker process; two more sessions press start and wait in
    the queue, told their place; when the first stops, the next one starts."""
    import time

    from streamlit.testing.v1 import AppTest

    from ui import workers

    monkeypatch.setenv("DLV_MAX_JOBS", "1")
    monkeypatch.setenv("MNIST_DIR", str(mnist_dir))
    if workers._POOL is not None:  # the pool reads DLV_MAX_JOBS when it is first created
        workers._POOL.shutdown()
    monkeypatch.setattr(workers, "_POOL", None)

    def cnn_session() -> AppTest:
        # The page script itself: through app.py + switch_page, AppTest resets Streamlit's legacy
        # pages-folder flag before every run, so ui.common.page_start reruns once per run and the
        # button's click is consumed by the aborted first pass.
        at = AppTest.from_file(CNN_PAGE, default_timeout=120)
        at.session_state["cnn_tab"] = "Train it yourself"  # lazy tabs: the training controls' tab
        at.run()
        assert not at.exception
        return at

    first = cnn_session()
    first.button(key="cnn_train_start").click().run()
    assert not first.exception
    job = first.session_state["cnn_job"]
    others = []
    try:
        assert job.running, job.error
        assert workers.pool().cap == 1
        for place in (1, 2):
            other = cnn_session()
            other.button(key="cnn_train_start").click().run()
            assert not other.exception
            waiting = [i.value for i in other.info if "Waiting" in i.value]
            assert waiting and f"{['1st', '2nd'][place - 1]} in the queue" in waiting[0], [i.value for i in other.info]
            assert "1 of 1" in waiting[0]
            others.append(other.session_state["cnn_job"])
            assert others[-1].state == "queued"
        assert workers.pool().running_count() == 1 and workers.pool().waiting_count() == 2
        first.button(key="cnn_train_stop").click().run()
        deadline = time.monotonic() + 60
        while others[0].state == "queued" and time.monotonic() < deadline:
            time.sleep(0.1)
        assert job.state == "stopped" and others[0].state == "running" and others[1].state == "queued"
    finally:
        workers.pool().shutdown()
    assert all(not j.active for j in [job, *others])
