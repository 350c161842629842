"""The diffusion page: AppTest with its widgets driven, and a real browser that samples and sees frames."""
from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parent.parent
PAGE = "pages/diffusion.py"
IDLE = "[data-testid=stApp][data-test-script-state=notRunning]"
TABS = ["1. Forward: noise your digit", "2. Reverse: noise to digit", "3. Compare settings", "4. Latent diffusion"]


pytestmark = pytest.mark.usefixtures("one_thread")  # tiny models: see conftest.one_thread


def ok(at: AppTest) -> AppTest:
    assert not at.exception, [e.value for e in at.exception]
    return at


def tab(at: AppTest, name: str) -> AppTest:
    """Open one of the page's tabs (only the open tab runs)."""
    at.session_state["diff_tab"] = next(t for t in TABS if t.startswith(name))
    return ok(at.run())


def latex(at: AppTest) -> str:
    return " ".join(m.value for m in at.latex)


def test_forward_tab_sliders_drive_the_equation():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.switch_page(PAGE)
    ok(at.run())
    assert "x_{250}" in latex(at)
    at.slider(key="diff_t").set_value(0)
    ok(at.run())
    assert r"\sqrt{1.0000}\,x_0 + \sqrt{0.0000}" in latex(at)  # t = 0: the image itself
    at.slider(key="diff_t").set_value(1000)
    at.radio(key="diff_schedule").set_value("cosine")
    ok(at.run())
    text = latex(at)
    assert "x_{1000}" in text and r"\bar\alpha_{1000} = 0.0000" in text
    at.selectbox(key="diff_font_digit").set_value(8)
    at.number_input(key="diff_noise_seed").set_value(10_000)
    ok(at.run())
    # the drawing canvas with nothing drawn: a clear message, no traceback
    at.segmented_control(key="diff_source").set_value("Draw")
    ok(at.run())
    assert any("Draw a digit" in i.value for i in at.info)


def test_compare_and_latent_tabs_render_with_extreme_sliders():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    at.switch_page(PAGE)
    ok(at.run())
    tab(at, "3.")
    at.slider(key="diff_cmp_ga").set_value(0.0)
    at.slider(key="diff_cmp_gb_pixel").set_value(8.0)
    ok(at.run())
    captions = " ".join(c.value for c in at.caption)
    assert "Settings changed" in captions and "w = 8.0" not in captions, "a change alone does not sample"
    at.button(key="diff_cmp_go").click()
    ok(at.run())
    captions = " ".join(c.value for c in at.caption)
    assert "w = 0.0" in captions and "w = 8.0" in captions and "Settings changed" not in captions
    at.radio(key="diff_cmp_what").set_value("steps")
    at.button(key="diff_cmp_go").click()
    ok(at.run())
    assert "10 DDIM steps" in " ".join(c.value for c in at.caption)
    tab(at, "4.")
    assert at.slider(key="diff_lat_step").max == 25
    at.slider(key="diff_lat_steps").set_value(10)
    ok(at.run())
    assert at.slider(key="diff_lat_step").max == 25, "still the shown trajectory until Sample is pressed"
    at.button(key="diff_lat_go").click()
    ok(at.run())
    assert at.slider(key="diff_lat_step").max == 10
    at.slider(key="diff_lat_step").set_value(0)
    ok(at.run())
    assert any("z_T" in c.value or "t = 1000" in c.value for c in at.caption)
    at.toggle(key="diff_lat_enc").set_value(True)
    ok(at.run())
    at.button(key="diff_lat_measure").click()
    ok(at.run())
    latent_w = json.loads((ROOT / "assets" / "diffusion_latent.json").read_text())["default_guidance"]
    assert at.session_state["diff_lat_measured"] == (5, 0, latent_w)  # the shown digit, seed and guidance
    assert any("Sampling time, 16 digits" in str(c.proto) for c in at.get("vega_lite_chart"))


def test_sampling_job_produces_frames_in_apptest():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.switch_page(PAGE)
    ok(at.run())
    tab(at, "2.")
    metrics = {m.label: m.value for m in at.metric}  # "How good is this generator?" for the model on screen
    ev = json.loads((ROOT / "assets" / "diffusion_unet.json").read_text())["evaluation"]
    assert metrics["Accuracy, second judge"] == f"{100 * ev['accuracy_judge2']:.1f}%"
    assert metrics["Diversity"] == f"{ev['diversity']:.2f}"
    at.slider(key="diff_n").set_value(2)
    at.slider(key="diff_steps").set_value(10)
    at.button(key="diff_start").click()
    ok(at.run())
    job = at.session_state["diff_job"]
    assert job.target == "dl_core.jobs:diffusion_sampling"  # sampled in a worker process
    deadline = time.time() + 90
    while job.active and time.time() < deadline:
        time.sleep(0.5)
    assert job.state == "done", job.error
    frames = [e for e in job.events if type(e).__name__ == "DiffusionFrame"]
    assert [f.t for f in frames][0] == 1000 and frames[-1].t == 0 and len(frames) == 11
    assert frames[-1].grids.shape == (3, 28, 57) and frames[-1].grids.dtype.name == "uint8"  # 2 samples side by side
    ok(at.run())
    import io

    from PIL import Image

    from ui.diffusion_sampling import trajectory_gif

    assert [b for b in at.get("download_button") if "GIF" in str(b.proto)], "the GIF is offered"
    gif = trajectory_gif(job.id, frames)
    assert gif[:6] in (b"GIF87a", b"GIF89a") and Image.open(io.BytesIO(gif)).n_frames == 11
    assert at.slider(key="diff_frame").max == 10 and at.slider(key="diff_frame").value == 10
    at.slider(key="diff_frame").set_value(3)
    ok(at.run())
    assert "frame 4/11" in " ".join(c.value for c in at.caption)
    at.button(key="diff_play").click()  # play from the start: every poll advances one frame
    ok(at.run())
    first = at.session_state["diff_frame"]
    ok(at.run())
    assert at.session_state["diff_playing"] and at.session_state["diff_frame"] == first + 1


def test_browser_sampling_shows_frames(browser, app_server):
    pg = browser.new_page(viewport={"width": 1400, "height": 1100})
    try:
        pg.goto(app_server + "/diffusion")
        pg.wait_for_selector(IDLE, timeout=90_000)
        pg.get_by_role("tab", name="2. Reverse: noise to digit").click()
        pg.get_by_role("button", name="Sample").click()
        # frames appear while sampling runs: the caption names the frame and timestep
        pg.get_by_text("predicted clean image x0-hat").first.wait_for(timeout=60_000)
        pg.get_by_text("Download the trajectory").wait_for(timeout=120_000)
        assert pg.locator("[data-testid=stException]").count() == 0
    finally:
        pg.close()


def test_training_steps_and_time_add_up_over_continued_runs():
    from ui.diffusion_models import run_total

    card = {"steps": 5, "train_time_s": 50.0, "continued_from": {"previous_run": {
        "steps": 3, "train_time_s": 30.0, "continued_from": {"previous_run": {"steps": 2, "train_time_s": 20.0}}}}}
    assert run_total(card, "steps") == 10 and run_total(card, "train_time_s") == 100.0
    assert run_total({"steps": 7}, "steps") == 7 and run_total({}, "steps") == 0
