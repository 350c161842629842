"""The encoder-decoder page: AppTest with its widgets driven, and a real browser."""
from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

APP = "/work/main/app.py"
IDLE = "[data-testid=stApp][data-test-script-state=notRunning]"


@pytest.fixture(scope="module")
def at():
    app = AppTest.from_file(APP, default_timeout=120)
    app.switch_page("pages/seq2seq.py")
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def markdown_text(app) -> str:
    return "\n".join(m.value for m in app.markdown)


def test_page_renders_the_shipped_models(at):
    assert "Encoder-decoder" in at.title[0].value
    assert "**Output:** `51413`" in markdown_text(at)  # the default input 31415, reversed
    assert at.metric  # the chosen token, the code and the error of the autoencoder
    assert any(m.label == "Step 6: chosen token" and m.value == "<eos>" for m in at.metric)


def test_typing_an_input_and_replaying_the_steps(at):
    at.text_input(key="s2s_text").set_value("9081726354").run()
    assert not at.exception
    assert "`4536271809`" in markdown_text(at)
    at.slider(key="s2s_step").set_value(3).run()
    assert not at.exception
    assert "So far: `453`" in "\n".join(c.value for c in at.caption)


def test_beam_width_and_what_if(at):
    at.slider(key="s2s_beam").set_value(4).run()
    assert not at.exception
    assert at.get("graphviz_chart")
    at.number_input(key="s2s_force_step").set_value(1).run()
    at.selectbox(key="s2s_force_token").set_value("7").run()
    assert not at.exception
    text = markdown_text(at)
    assert "With '7' forced at step 1: `7" in text


def test_plain_model_and_bad_inputs(at):
    at.radio(key="s2s_variant").set_value("plain").run()
    assert not at.exception
    for bad, words in [("12a", "vocabulary"), ("1" * 30, "at most 16"), ("", "empty"), ("٣٤٥", "vocabulary")]:
        at.text_input(key="s2s_text").set_value(bad).run()
        assert not at.exception
        assert any(words in w.value for w in at.warning), (bad, [w.value for w in at.warning])
    at.text_input(key="s2s_text").set_value("12").run()  # shorter than training: a note, still decoded
    assert not at.exception and at.info


def test_autoencoder_tab_inputs(at):
    at.selectbox(key="ae_digit").set_value(7).run()
    assert not at.exception
    assert any(m.label == "Reconstruction error" for m in at.metric)
    at.selectbox(key="ae_from").set_value(1).run()
    at.selectbox(key="ae_to").set_value(0).run()
    assert not at.exception
    at.radio(key="ae_source").set_value("Draw").run()
    assert not at.exception


def test_browser_page(browser, app_server):
    page = browser.new_page(viewport={"width": 1400, "height": 1100})
    try:
        page.goto(app_server + "/seq2seq")
        page.wait_for_selector(IDLE, timeout=90_000)
        page.get_by_text("Output:").first.wait_for(timeout=60_000)
        box = page.get_by_label("Digits to reverse (3-16 digits)")
        box.fill("12a")
        box.press("Enter")
        page.wait_for_timeout(600)
        page.wait_for_selector(IDLE, timeout=60_000)
        page.get_by_text("Only the digits 0-9").wait_for(timeout=30_000)
        box.fill("2718281")
        box.press("Enter")
        page.wait_for_timeout(600)
        page.wait_for_selector(IDLE, timeout=60_000)
        page.get_by_text("1828172").first.wait_for(timeout=30_000)
        assert page.locator("[data-testid=stException]").count() == 0
    finally:
        page.close()
