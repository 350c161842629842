"""Real browser (Playwright + Debian's chromium, headless) against a real `streamlit run app.py`."""
from __future__ import annotations

import pytest

IDLE = "[data-testid=stApp][data-test-script-state=notRunning]"


@pytest.fixture()
def page(browser, app_server):
    pg = browser.new_page(viewport={"width": 1400, "height": 1100})
    pg.goto(app_server + "/cnn")
    pg.wait_for_selector(IDLE, timeout=60_000)
    yield pg
    pg.close()


def settle(pg, ms: int = 600) -> None:
    """Wait for the rerun that an interaction triggers to start and finish."""
    pg.wait_for_timeout(ms)
    pg.wait_for_selector(IDLE, timeout=60_000)


def stroke(pg, box, points) -> None:
    """Press at the first point (canvas-relative), drag through the rest, release."""
    x0, y0 = box["x"], box["y"]
    pg.mouse.move(x0 + points[0][0], y0 + points[0][1])
    pg.mouse.down()
    for (ax, ay), (bx, by) in zip(points, points[1:]):
        for i in range(1, 9):
            pg.mouse.move(x0 + ax + (bx - ax) * i / 8, y0 + ay + (by - ay) * i / 8)
    pg.mouse.up()


def canvas_box(pg) -> dict:
    """The drawing surface's box, once the page has moved the 0.13.0 toolbar out of the way."""
    canvas = pg.locator("canvas.upper-canvas").first
    canvas.wait_for(timeout=30_000)
    toolbar = pg.locator(".dc-toolbar").first
    pg.wait_for_function(
        "([c, t]) => t.getBoundingClientRect().top >= c.getBoundingClientRect().bottom - 1",
        arg=[canvas.element_handle(), toolbar.element_handle()], timeout=30_000)
    return canvas.bounding_box()


def prediction_text(pg) -> str:
    metric = pg.locator("[data-testid=stMetric]").filter(has_text="Prediction")
    metric.wait_for(timeout=30_000)
    return metric.inner_text()


def test_draw_a_seven_predict_clear(page):
    box = canvas_box(page)
    assert box["width"] == pytest.approx(280, abs=2)
    # The top bar of a 7 starts in the top-right corner, where 0.13.0's hover toolbar sits;
    # the stroke must register anyway.
    stroke(page, box, [(250, 12), (60, 12)])
    settle(page)  # let the first stroke's rerun finish, as a person lifting the pen would
    stroke(page, box, [(250, 12), (130, 268)])
    settle(page)
    text = prediction_text(page)
    assert "Prediction" in text and "7" in text.split("Prediction", 1)[1].split()[0], text
    assert page.locator("[data-testid=stException]").count() == 0

    page.get_by_role("button", name="Clear").click()
    settle(page)
    page.get_by_text("Draw a digit on the canvas").wait_for(timeout=30_000)
    assert page.locator("[data-testid=stMetric]").filter(has_text="Prediction").count() == 0


def test_stroke_starting_under_the_toolbar_registers(page):
    box = canvas_box(page)
    stroke(page, box, [(272, 4), (272, 140)])  # a vertical 1 hugging the top-right corner
    settle(page)
    assert "Prediction" in prediction_text(page)


def test_bad_upload_gets_a_clear_message(page, tmp_path):
    page.get_by_role("radio", name="Upload").click()
    settle(page)
    bogus = tmp_path / "not-an-image.png"
    bogus.write_bytes(b"this is not a picture at all" * 10)
    page.locator("input[type=file]").set_input_files(str(bogus))
    settle(page, 1500)
    page.get_by_text("That upload cannot be used").wait_for(timeout=30_000)
    assert page.locator("[data-testid=stException]").count() == 0


def test_training_runs_live_and_stops(page, mnist_dir):
    page.get_by_role("tab", name="Train it yourself").click()
    # the default CNN takes over a minute per epoch here: slow enough to watch, then stop
    page.locator("[data-testid=stSelectbox]").filter(has_text="Model").first.click()
    page.get_by_role("option", name="Stronger CNN").click()
    settle(page)
    page.get_by_role("button", name="Start training").click()
    # the progress line is refreshed by a fragment while the rest of the page stays idle
    progress = page.get_by_text("Epoch 1, batch")
    progress.wait_for(timeout=60_000)
    first = progress.inner_text()
    page.wait_for_function(
        "t => [...document.querySelectorAll('[data-testid=stProgress]')].some(e => e.innerText.includes('Epoch') && e.innerText.split(',')[1] !== t)",
        arg=first.split(",")[1], timeout=30_000)
    page.get_by_role("button", name="Stop").click()
    page.get_by_text("stopped").first.wait_for(timeout=60_000)
    assert page.locator("[data-testid=stException]").count() == 0
