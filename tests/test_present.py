"""Presenter mode in a real browser at 1280x720: every diagram's text is at least 16 px on screen."""
from __future__ import annotations

import pytest

IDLE = "[data-testid=stApp][data-test-script-state=notRunning]"
# (url path with query, tab to open or None): every page view that draws a graphviz diagram at once
DIAGRAMS = [
    ("basics?basics_tab=Autograd", None),
    ("rnn", "Plain RNN, unrolled"),
    ("seq2seq", None),
    ("transformer", "Architecture"),
    ("diffusion", "4. Latent diffusion"),
]
# rendered font size in CSS px of every visible, non-empty text of every diagram
FONT_PX = """() => [...document.querySelectorAll('[data-testid=stGraphVizChart] svg text')]
  .filter(t => t.getClientRects().length && t.textContent.trim())
  .map(t => parseFloat(t.getAttribute('font-size')) * t.getScreenCTM().a)"""


@pytest.mark.parametrize("path,tab", DIAGRAMS, ids=[p for p, _ in DIAGRAMS])
def test_diagram_text_is_at_least_16px_in_presenter_mode(browser, app_server, path, tab):
    page = browser.new_page(viewport={"width": 1280, "height": 720})
    try:
        sep = "&" if "?" in path else "?"
        page.goto(f"{app_server}/{path}{sep}present=1")
        page.wait_for_selector(IDLE, timeout=120_000)
        if tab:
            page.get_by_role("tab", name=tab).first.click()
            page.wait_for_selector(IDLE, timeout=120_000)
        page.wait_for_function(f"() => ({FONT_PX})().length > 0", timeout=120_000)
        sizes = page.evaluate(FONT_PX)
        assert min(sizes) >= 16, (path, sorted(sizes)[:5])
    finally:
        page.close()
