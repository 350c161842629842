"""A phone (390x844, touch): no page of the navigation scrolls sideways; wide charts are scaled to fit."""
from __future__ import annotations

import pytest

from ui import nav

IDLE = "[data-testid=stApp][data-test-script-state=notRunning]"
PAGES = [p.removeprefix("pages/").removesuffix(".py") for _, p, _, _ in nav.NAV]
OVERFLOW = """() => { const m = document.querySelector('[data-testid=stMain]');
  return [document.documentElement.scrollWidth - document.documentElement.clientWidth,
          m ? m.scrollWidth - m.clientWidth : 0]; }"""
DRAWN = "() => [...document.querySelectorAll('.vega-embed')].every(e => e.querySelector('canvas, svg'))"


@pytest.fixture(scope="module")
def phone(browser):
    ctx = browser.new_context(viewport={"width": 390, "height": 844}, has_touch=True, is_mobile=True)
    yield ctx.new_page()
    ctx.close()


@pytest.mark.parametrize("name", PAGES)
def test_no_page_scrolls_sideways_on_a_phone(phone, app_server, name):
    phone.goto(f"{app_server}/{'' if name == 'course' else name}")
    phone.wait_for_selector(IDLE, timeout=120_000)
    phone.locator("h1").first.wait_for(timeout=60_000)
    phone.wait_for_function(DRAWN, timeout=60_000)  # every chart on the page has been drawn
    # charts keep arriving for a moment after the script has finished: the widest state must fit too
    phone.wait_for_function(f"() => ({OVERFLOW})().every(v => v <= 1)", timeout=30_000)
    doc, main = phone.evaluate(OVERFLOW)
    assert doc <= 1 and main <= 1, (name, doc, main)
