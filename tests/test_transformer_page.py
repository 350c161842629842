"""AppTest for the transformer page: every tab, the mask switch, and bad input of every kind."""
from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

pytestmark = pytest.mark.usefixtures("one_thread")  # tiny models: see conftest.one_thread

ROOT = Path(__file__).resolve().parent.parent
PAGE = "pages/transformer.py"
TABS = ["Attention step by step", "Masks side by side", "Trained model: all heads", "Decoding step by step",
        "Positional encoding", "The architecture"]



def ok(at: AppTest) -> AppTest:
    assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.fixture()
def at() -> AppTest:
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    app.switch_page(PAGE)
    return ok(app.run())


def tab(at: AppTest, name: str) -> AppTest:
    at.session_state["tf_tab"] = name
    return ok(at.run())


def texts(at: AppTest, kind: str) -> str:
    return " ".join(str(x.value) for x in getattr(at, kind))


def charts(at: AppTest) -> int:
    return len(at.get("vega_lite_chart"))


def weights_table(at: AppTest):
    (table,) = at.table
    return table.value.astype(float).to_numpy()


def test_calculator_default_and_mask_switch(at):
    assert at.title[0].value.startswith("Transformer attention")
    assert charts(at) >= 10 and at.get("graphviz_chart")
    w = weights_table(at)
    assert w.shape == (10, 10)
    assert abs(w.sum(1) - 1).max() < 0.01, "rows of the softmax sum to 1 (3 decimals shown)"
    assert w[0, 1:].max() > 0, "without a mask the first token looks ahead"
    assert "Largest weight above the diagonal" in texts(at, "caption")
    ok(at.button_group(key="tf_mask").set_value("causal").run())
    w = weights_table(at)
    assert all(w[i, j] == 0 for i in range(10) for j in range(i + 1, 10)), "the upper triangle is empty"
    assert "The upper triangle is empty" in texts(at, "caption")
    ok(at.button_group(key="tf_mask").set_value("padding").run())
    ok(at.slider(key="tf_pads").set_value(4).run())
    table = at.table[0].value
    assert list(table.columns[-4:]) == [f"{i} <pad>" for i in range(10, 14)]
    assert (table.iloc[:, -4:].astype(float) == 0).all().all(), "padded keys get no weight"


def test_calculator_controls(at):
    at.text_input(key="tf_text").input("attention is all you need").run()
    ok(at.select_slider(key="tf_d").set_value(32).run())
    ok(at.select_slider(key="tf_heads").set_value(4).run())
    ok(at.button_group(key="tf_head").set_value(3).run())
    ok(at.number_input(key="tf_seed").set_value(7).run())
    ok(at.checkbox(key="tf_pos").uncheck().run())
    assert weights_table(at).shape == (5, 5)
    assert any("Live numbers" in m.value for m in at.markdown)
    assert any("4.0000" in x.value or "1.0000" in x.value for x in at.get("latex")), "Σ_j w = 1.0000 is shown"


@pytest.mark.parametrize("text, kind, words", [
    ("", "info", "empty"),
    ("\u200b\u200d\x07", "info", "empty"),
    (" ".join(f"w{i}" for i in range(40)), "warning", "only the first 32"),
    ("héllo 🙂 wörld\u200b \u202eabc", "warning", "Invisible"),
])
def test_bad_sentences_get_a_message(at, text, kind, words):
    ok(at.text_input(key="tf_text").input(text).run())
    assert words in texts(at, kind)
    if kind == "warning":
        assert at.table, "the page still computes on what is left"


@pytest.mark.parametrize("text, kind, words", [
    ("12a4", "error", "'a'"), ("١٢٣", "error", "not:"), ("", "info", "empty"), ("9" * 30, "error", "30 digits"),
])
def test_trained_weights_in_the_calculator(at, text, kind, words):
    ok(at.radio(key="tf_source").set_value("trained").run())
    assert weights_table(at).shape == (8, 8), "7 digits + <eos>"
    ok(at.button_group(key="tf_layer").set_value(2).run())
    ok(at.text_input(key="tf_calc_digits").input(text).run())
    assert words in texts(at, kind)


def test_masks_tab_and_causal_invariance(at):
    tab(at, TABS[1])
    assert charts(at) == 2
    assert "identical, bit for bit" in texts(at, "success")
    assert "padded with 7 `<pad>` tokens" in texts(at, "caption")
    ok(at.slider(key="tf_change_pos_10").set_value(8).run())
    ok(at.text_input(key="tf_change_word").input("🙂").run())
    assert "identical, bit for bit" in texts(at, "success")
    ok(at.text_input(key="tf_text_b").input("").run())
    assert "at least one word" in texts(at, "info")


@pytest.mark.parametrize("key, name", [("tf_digits_view", TABS[2]), ("tf_digits_dec", TABS[3]),
                                       ("tf_digits_pos", TABS[4])])
def test_trained_tabs_and_their_bad_input(at, key, name):
    tab(at, name)
    ok(at.text_input(key=key).input("2026112").run())
    assert "2116202" in texts(at, "markdown")
    for bad, words in [("", "empty"), ("12x4", "'x'"), ("1 2", "' '"), ("٣٤٥", "not:")]:
        ok(at.text_input(key=key).input(bad).run())
        assert words in texts(at, "error"), bad
    ok(at.text_input(key=key).input("12345678901234567890").run())
    assert "only the first 16" in texts(at, "warning")
    assert not at.error


def test_model_view_enlarge_and_shared_digits(at):
    tab(at, TABS[2])
    ok(at.text_input(key="tf_digits_view").input("98765").run())
    assert "**`56789`** :green[:material/check_circle: correct]" in texts(at, "markdown")
    assert charts(at) == 4
    ok(at.selectbox(key="tf_view_kind").set_value("Encoder self-attention").run())
    ok(at.selectbox(key="tf_big_layer").set_value(2).run())
    ok(at.selectbox(key="tf_big_head").set_value(3).run())
    tab(at, TABS[3])
    assert at.text_input(key="tf_digits_dec").value == "98765", "the digits follow you across tabs"


def test_decoding_tab_steps_and_temperature(at):
    tab(at, TABS[3])
    ok(at.text_input(key="tf_digits_dec").input("4321").run())
    ok(at.slider(key="tf_dec_step_5").set_value(5).run())
    assert "finished: <eos>" in texts(at, "markdown") and "Output so far: `1234`" in texts(at, "markdown")
    ok(at.slider(key="tf_temp").set_value(3.0).run())
    ok(at.button_group(key="tf_dec_mode").set_value("sample").run())
    ok(at.number_input(key="tf_dec_seed").set_value(3).run())
    assert charts(at) == 3


def test_positions_and_architecture_tabs(at):
    tab(at, TABS[4])
    ok(at.slider(key="tf_pe_len").set_value(64).run())
    ok(at.select_slider(key="tf_pe_d").set_value(128).run())
    assert "positions removed" in texts(at, "markdown")
    tab(at, TABS[5])
    for block in ("Positional encoding", "Linear + softmax (next-token probabilities)"):
        ok(at.selectbox(key="tf_block").set_value(block).run())
    assert at.get("graphviz_chart") and at.dataframe
