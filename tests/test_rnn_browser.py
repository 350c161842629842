"""The RNN page in a real browser (Playwright + Debian's chromium) against a real `streamlit run app.py`:
type a sequence, see the prediction and the gate heatmaps."""
from __future__ import annotations

import re

from playwright.sync_api import expect

IDLE = "[data-testid=stApp][data-test-script-state=notRunning]"


def test_browser_type_a_sequence_and_see_the_gate_heatmaps(browser, app_server):
    pg = browser.new_page(viewport={"width": 1400, "height": 1200})
    try:
        pg.goto(app_server + "/rnn")
        pg.wait_for_selector(IDLE, timeout=90_000)
        box = pg.get_by_label(re.compile("^Your sequence"))
        box.fill("(a(b(c)d)e)((")
        box.press("Enter")
        # conditions, never a fixed sleep: the new input's result is on the page once this holds
        metric = pg.locator("[data-testid=stMetric]").filter(has_text="Depth after the last character").first
        expect(metric).to_contain_text("2 (true 2)", timeout=60_000)
        pg.wait_for_selector(IDLE, timeout=60_000)
        charts = pg.locator("[data-testid=stVegaLiteChart]")
        for title in ("input gate i", "forget gate f", "candidate g", "output gate o", "cell state c", "hidden state h"):
            expect(charts.filter(has_text=title), title).to_have_count(1, timeout=30_000)
        heatmap = charts.filter(has_text="input gate i").first
        heatmap.scroll_into_view_if_needed()
        cells = heatmap.locator("g.mark-rect.layer_0_marks path, g.mark-rect path")
        # one rectangle per step and unit: wait until the last one of the new input is drawn
        expect(cells.nth(len("(a(b(c)d)e)((") * 32 - 1)).to_be_attached(timeout=30_000)
        svg = heatmap.locator("svg.marks").first
        box = svg.bounding_box()
        assert box["width"] > 300 and box["height"] > 200
        pg.mouse.move(box["x"] + box["width"] * 0.4, box["y"] + box["height"] * 0.4)
        tip = pg.locator("#vg-tooltip-element.visible")
        tip.wait_for(timeout=10_000)
        text = tip.inner_text()
        assert all(word in text for word in ("step", "symbol", "unit", "value")), text
        value = float(re.search(r"value\s+([\d.]+)", text).group(1))
        assert 0.0 <= value <= 1.0, "an input gate value"
        assert pg.locator("[data-testid=stException]").count() == 0
    finally:
        pg.close()
