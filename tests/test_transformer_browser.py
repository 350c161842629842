"""Real browser on the transformer page: type a sentence, switch to the causal mask, see the upper triangle empty."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from test_browser import IDLE, settle

SENTENCE = "the quick brown fox jumps over the lazy dog"


@pytest.fixture()
def page(browser, app_server):
    pg = browser.new_page(viewport={"width": 1400, "height": 1100})
    pg.goto(app_server + "/transformer")
    pg.wait_for_selector(IDLE, timeout=60_000)
    yield pg
    pg.close()


def above_diagonal(pg) -> tuple[float, str]:
    """The largest weight above the diagonal, read from the caption under the softmax heatmap."""
    caption = pg.get_by_text("Largest weight above the diagonal")
    caption.wait_for(timeout=30_000)
    text = caption.inner_text()
    return float(re.search(r"diagonal \(a query looking at a later key\): ([\d.e-]+)", text).group(1)), text


def weights_table(pg) -> list[list[str]]:
    """The weights of the selected head as numbers, from the table in the expander."""
    pg.get_by_text("as numbers").first.click()
    rows = pg.locator("[data-testid=stTable] tbody tr")
    rows.first.wait_for(timeout=30_000)
    return [[c.strip() for c in rows.nth(i).locator("td").all_inner_texts()] for i in range(rows.count())]


def test_type_a_sentence_then_the_causal_mask_empties_the_upper_triangle(page):
    box = page.get_by_role("textbox", name="Sentence", exact=True)
    box.fill(SENTENCE)
    box.press("Enter")
    # the typed sentence is on the page once its tokens label the heatmaps (a condition, not a sleep)
    expect(page.locator("[data-testid=stVegaLiteChart]").filter(has_text="fox").first).to_be_visible(timeout=60_000)
    page.wait_for_selector(IDLE, timeout=60_000)
    before, _ = above_diagonal(page)
    assert before > 0, "with no mask, tokens attend to later tokens"
    settle(page, page.get_by_role("radio", name="causal", exact=True).click)  # the segmented control's option
    after, text = above_diagonal(page)
    assert after == 0, text
    assert "upper triangle is empty" in text
    assert "36 of 81 scores masked" in text.replace("*", ""), text  # 9 tokens: 9 * 8 / 2 cells above the diagonal
    table = weights_table(page)
    assert len(table) == 9 and all(len(r) == 9 for r in table)
    for i, row in enumerate(table):
        assert all(v == "0.000" for v in row[i + 1:]), (i, row)
        assert float(row[0]) > 0
    assert page.locator("[data-testid=stException]").count() == 0


def test_trained_model_tab_reverses_typed_digits_and_a_click_enlarges_a_head(page):
    settle(page, page.get_by_role("tab", name="Trained model: all heads").click)
    box = page.get_by_role("textbox", name="Digits to reverse")
    box.fill("1234567")
    box.press("Enter")
    page.get_by_text("7654321").first.wait_for(timeout=60_000)
    page.wait_for_selector(IDLE, timeout=60_000)
    # click head 3 of layer 1 in the cross-attention grid (4 heads across, 2 layers down): it gets enlarged
    assert page.get_by_role("combobox", name="Layer").input_value() == "2", "the default is layer 2"
    grid = page.locator("[data-testid=stVegaLiteChart]").nth(2)
    grid.scroll_into_view_if_needed()
    # the grid is drawn (its last head's cells exist) and stands still before we aim at it
    expect(grid.locator("svg.marks")).to_have_count(1, timeout=30_000)
    page.wait_for_function("""e => new Promise(r => { const a = e.getBoundingClientRect();
        requestAnimationFrame(() => requestAnimationFrame(() => { const b = e.getBoundingClientRect();
        r(a.top === b.top && a.height === b.height && a.height > 0); })); })""", arg=grid.element_handle(), timeout=30_000)
    box = grid.bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.62, box["y"] + box["height"] * 0.35)
    expect(page.get_by_role("combobox", name="Layer")).to_have_value("1", timeout=30_000)
    expect(page.get_by_role("combobox", name="Head")).to_have_value("3", timeout=30_000)
    page.wait_for_selector(IDLE, timeout=60_000)
    assert page.locator("[data-testid=stException]").count() == 0
