"""Real browser against a real `streamlit run app.py`: the PyTorch basics page."""
from __future__ import annotations

import re

from playwright.sync_api import expect
from test_browser import IDLE, settle


def open_tab(browser, app_server, tab: str):
    pg = browser.new_page(viewport={"width": 1400, "height": 1100})
    pg.goto(f"{app_server}/basics?basics_tab={tab}")
    pg.wait_for_selector(IDLE, timeout=60_000)
    return pg


def test_type_an_expression_step_backward_and_see_the_gradient(browser, app_server):
    pg = open_tab(browser, app_server, "Autograd")
    try:
        box = pg.locator(".st-key-basics_expr input")
        box.wait_for(timeout=30_000)
        box.fill("y = x*x + 3*x")
        box.press("Enter")
        pg.get_by_text("dy/dx = ?").wait_for(timeout=30_000)
        pg.wait_for_selector(IDLE, timeout=60_000)
        for _ in range(5):  # the nodes: the sum, 3*x, 3, x*x, x
            settle(pg, pg.locator(".st-key-basics_btn_back_next button").click)
        pg.get_by_text("dy/dx = 5.0000").wait_for(timeout=30_000)  # 2x + 3 at x = 1
        graph = pg.locator("[data-testid=stGraphVizChart] svg")
        graph.wait_for(timeout=30_000)
        assert "grad 5" in graph.text_content()  # the output and x boxes in the drawn graph
        assert pg.locator("[data-testid=stException]").count() == 0
    finally:
        pg.close()


def test_playground_plays_live_and_pauses(browser, app_server):
    pg = open_tab(browser, app_server, "Playground")
    try:
        metric = pg.locator("[data-testid=stMetric]").filter(has_text="Steps")
        metric.wait_for(timeout=30_000)
        assert re.search(r"\b0 \(0\.0\)", metric.inner_text())
        assert "pg_dataset=circles" in pg.url  # the setup is in the address bar, ready to share
        pg.locator(".st-key-basics_btn_pg_play button").click()
        pg.wait_for_function(
            """() => [...document.querySelectorAll('[data-testid=stMetric]')]
                   .some(m => m.innerText.includes('Steps') && /\\b([1-9][0-9,]*) \\(/.test(m.innerText))""",
            timeout=90_000)
        button = pg.locator(".st-key-basics_btn_pg_play button")
        button.click()  # pause: takes effect after the tick in flight and one full rerun
        pg.wait_for_function("""() => {
            const b = document.querySelector('.st-key-basics_btn_pg_play button');
            return b && b.innerText.includes('Play') && !b.innerText.includes('Pause'); }""", timeout=60_000)
        # Full reruns of the script (the "r" shortcut, on the page body) after the pause: the first one shows
        # where training stopped (a tick in flight at the click may still land); a playing trainer would
        # advance in the second, a paused one shows the very same step count.
        value = metric.locator("[data-testid=stMetricValue]")
        pg.locator("h1").first.click()
        settle(pg, lambda: pg.keyboard.press("r"))
        first = value.inner_text()
        settle(pg, lambda: pg.keyboard.press("r"))
        expect(value).to_have_text(first, timeout=10_000)
        assert pg.locator("[data-testid=stException]").count() == 0
    finally:
        pg.close()
