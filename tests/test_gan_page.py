"""The GAN page: AppTest (widgets driven by key, stepping the 2-D GAN) and a real browser pressing Play."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import torch
from streamlit.testing.v1 import AppTest

from ui import gan_lab

ROOT = Path(__file__).resolve().parent.parent
IDLE = "[data-testid=stApp][data-test-script-state=notRunning]"


pytestmark = pytest.mark.usefixtures("one_thread")  # tiny models: see conftest.one_thread


def gan_page() -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.switch_page("pages/gan.py")
    at.run()
    ok(at)
    return at


def ok(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def metric(at: AppTest, label: str) -> str:
    """The first metric with this label (the digit tab has one score panel per section)."""
    return next(m.value for m in at.metric if m.label == label)


def tab(at: AppTest, name: str) -> AppTest:
    """Open one of the page's tabs (only the open tab runs)."""
    at.session_state["gan_tab"] = name
    at.run()
    ok(at)
    return at


def steps(at: AppTest) -> int:
    return int(metric(at, "Step").replace(",", ""))


def flat(net) -> torch.Tensor:
    return torch.cat([p.detach().flatten() for p in net.parameters()]).clone()


def test_page_renders_both_tabs_with_code():
    at = gan_page()
    assert [t.label for t in at.tabs][:2] == ["2-D GAN Lab", "Digit GAN"]
    assert steps(at) == 0
    assert any("def train_step" in c.value for c in at.code), "Show the code has the real training step"
    assert not any("Confident samples" == m.label for m in at.metric), "only the open tab runs"
    tab(at, "Digit GAN")
    assert any("(1) update D" in c.value for c in at.code)
    assert any("Confident samples" == m.label for m in at.metric), "the digit tab shows the judge's score"
    import json
    ev = json.loads((ROOT / "assets" / "gan_generator.json").read_text())["evaluation"]
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Confident, second judge"] == f"{100 * ev['confident_judge2']:.1f}%"  # the card's numbers
    assert metrics[f"FD (floor {ev['fd_floor']:.1f})"] == f"{ev['fd']:.1f}"
    assert any("How good is this generator?" in m.value for m in at.markdown)
    assert not at.error


def test_stepping_d_only_g_only_play_and_reset():
    at = gan_page()
    lab = at.session_state["gan2d_lab"]
    g0, d0 = flat(lab.g), flat(lab.d)
    at.button(key="gan2d_step_d").click().run()
    ok(at)
    lab = at.session_state["gan2d_lab"]
    assert steps(at) == 1 and torch.equal(flat(lab.g), g0) and not torch.equal(flat(lab.d), d0)
    d1 = flat(lab.d)
    at.button(key="gan2d_step_g").click().run()
    assert steps(at) == 2 and torch.equal(flat(lab.d), d1) and not torch.equal(flat(lab.g), g0)
    at.button(key="gan2d_step").click().run()
    assert steps(at) == 3
    js_before = metric(at, "JS")
    at.button(key="gan2d_play").click().run()  # playing: every run of the view takes a tick of steps
    ok(at)
    assert steps(at) == 3 + gan_lab.STEPS_PER_TICK
    at.selectbox(key="gan2d_loss").set_value("leastsquares").run()  # change the loss while it plays
    at.select_slider(key="gan2d_lr_g").set_value(0.01).run()
    ok(at)
    assert steps(at) == 3 + 3 * gan_lab.STEPS_PER_TICK, "training went on with the new settings"
    assert metric(at, "JS") != js_before
    at.button(key="gan2d_play").click().run()  # pause
    n = steps(at)
    at.run()
    assert steps(at) == n, "paused: a rerun takes no step"
    at.button(key="gan2d_reset").click().run()
    assert steps(at) == 0


def test_slow_motion_alternates_d_and_g():
    at = gan_page()
    at.toggle(key="gan2d_slow").set_value(True).run()
    at.button(key="gan2d_play").click().run()
    assert steps(at) == 1 and at.session_state["gan2d_last_phase"] == "D"
    assert any("D** just took a step" in c.value for c in at.caption)
    at.run()
    assert steps(at) == 2 and at.session_state["gan2d_last_phase"] == "G"


@pytest.mark.parametrize("preset", ["line", "moons", "spiral", "grid"])
def test_every_preset_and_noise(preset):
    at = gan_page()
    at.selectbox(key="gan2d_preset").set_value(preset).run()
    at.selectbox(key="gan2d_noise").set_value("1-D uniform").run()
    at.slider(key="gan2d_g_layers").set_value(4).run()
    at.button(key="gan2d_step").click().run()
    ok(at)
    lab = at.session_state["gan2d_lab"]
    assert lab.cfg.preset == preset and lab.cfg.noise_dim == 1 and lab.cfg.g_layers == 4 and steps(at) == 1


def test_drawn_preset_without_points_explains_itself():
    at = gan_page()
    at.selectbox(key="gan2d_preset").set_value("drawn").run()
    ok(at)
    assert any("at least 3 points" in i.value for i in at.info)


def test_canvas_points_map_onto_the_plane():
    r = gan_lab.CANVAS_PX / 2
    data = {"objects": [{"type": "circle", "left": r, "top": 0.0, "originX": "center", "originY": "center"},
                        {"type": "circle", "left": 0.0, "top": r - 4, "width": 8, "height": 8,
                         "originX": "left", "originY": "top"},
                        {"type": "path", "left": 3, "top": 3}]}
    pts = gan_lab.canvas_points(data)
    assert pts.shape == (2, 2)
    assert pts[0].tolist() == pytest.approx([0.0, 1.5]) and pts[1].tolist() == pytest.approx([-1.5 + 4 * 3 / 300, 0.0], abs=1e-5)


def test_digit_tab_snapshot_slider_seed_and_walk():
    at = tab(gan_page(), "Digit GAN")
    with np.load(ROOT / "assets" / "gan_snapshots.npz") as f:
        first, last = int(f["steps"][0]), int(f["steps"][-1])
    at.select_slider(key="gan_snap").set_value(first).run()
    ok(at)
    noise_score = float(metric(at, "Inception Score"))
    at.select_slider(key="gan_snap").set_value(last).run()
    assert float(metric(at, "Inception Score")) > noise_score + 3, (first, last)
    at.number_input(key="gan_seed").set_value(123456).run()
    at.number_input(key="gan_interp_a").set_value(0).run()
    at.number_input(key="gan_interp_b").set_value(2**31 - 1).run()
    ok(at)
    assert any("The judge reads" in str(i.proto) for i in at.get("image"))


def wait_ended(job, seconds: float = 60) -> None:
    """A worker-process job has ended (its process too)."""
    import time

    deadline = time.monotonic() + seconds
    while job.active and time.monotonic() < deadline:
        time.sleep(0.1)
    job.process.join(15)


def test_live_digit_training_starts_and_stops(mnist_dir, monkeypatch):
    monkeypatch.setenv("MNIST_DIR", str(mnist_dir))
    at = tab(gan_page(), "Digit GAN")
    at.select_slider(key="gan_train_steps").set_value(100).run()
    at.button(key="gan_train_start").click().run()
    ok(at)
    job = at.session_state["gan_job"]
    assert job.kind == "gan" and job.target == "dl_core.jobs:gan_training" and job.active  # a worker process
    import time

    deadline = time.monotonic() + 90  # the worker loads MNIST and sends its step-0 samples
    while not job.events and job.active and time.monotonic() < deadline:
        time.sleep(0.2)
    assert job.events, job.error
    at.button(key="gan_train_stop").click().run()
    wait_ended(job)
    assert job.state in ("stopped", "done") and not job.process.is_alive()
    at.run()
    ok(at)
    assert any(re.search(r"Training (stopped|finished)", s.value) for s in at.success)


# --- a real browser -------------------------------------------------------------------------------
def test_browser_play_advances_the_step_counter_and_the_chart(browser, app_server):
    pg = browser.new_page(viewport={"width": 1400, "height": 1200})
    try:
        pg.goto(app_server + "/gan")
        pg.wait_for_selector(IDLE, timeout=60_000)
        step_metric = pg.locator("[data-testid=stMetric]").filter(has_text="Step").first
        step_metric.wait_for(timeout=60_000)
        assert "0" in step_metric.inner_text()
        chart = pg.locator("[data-testid=stVegaLiteChart]").first  # the plane: D's heatmap, points, arrows
        chart.wait_for(timeout=30_000)
        pg.wait_for_timeout(1000)  # let Vega draw
        before = chart.screenshot()
        pg.get_by_role("button", name="Play").click()
        pg.wait_for_function(
            """() => { const m = [...document.querySelectorAll('[data-testid=stMetric]')]
                         .find(e => e.innerText.startsWith('Step'));
                       return m && parseInt(m.innerText.split('\\n').pop().replace(/,/g, '')) >= 16; }""",
            timeout=90_000)
        pg.wait_for_timeout(500)
        assert chart.screenshot() != before, "the picture changed while playing"
        assert pg.locator("[data-testid=stVegaLiteChart]:visible").count() >= 4, "loss, D(x) and divergence charts"
        pg.get_by_role("button", name="Pause").click()
        pg.wait_for_timeout(1500)
        assert pg.locator("[data-testid=stException]").count() == 0
    finally:
        pg.close()
