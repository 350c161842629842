"""The RNN page in AppTest: its inputs driven (good and bad input, every tab); the browser test is in
test_rnn_browser.py."""
from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parent.parent
PAGE = "pages/rnn.py"
GATE_TITLES = ["input gate i", "forget gate f", "candidate g", "output gate o", "cell state c", "hidden state h"]


pytestmark = pytest.mark.usefixtures("one_thread")  # tiny models: see conftest.one_thread


def ok(at: AppTest) -> AppTest:
    assert not at.exception, [e.value for e in at.exception]
    return at


def page() -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.switch_page(PAGE)
    return ok(at.run())


def tab(at: AppTest, name: str) -> AppTest:
    """Open one of the page's tabs (only the open tab runs)."""
    at.session_state["rnn_tab"] = name
    return ok(at.run())


def metrics(at: AppTest) -> dict[str, list]:
    out: dict[str, list] = {}
    for m in at.metric:
        out.setdefault(m.label, []).append((m.value, m.delta))
    return out


def chart_titles(at: AppTest) -> list[str]:
    titles = []
    for el in at.get("vega_lite_chart"):
        spec = json.loads(el.proto.spec)
        title = spec.get("title") or next((layer.get("title") for layer in spec.get("layer", []) if layer.get("title")), "")
        titles.append(title if isinstance(title, str) else title.get("text", ""))
    return titles


def type_text(at: AppTest, task: str, text: str) -> AppTest:
    return ok(at.text_input(key=f"rnn_text_{task}").set_value(text).run())


def test_default_page_shows_every_gate_and_preselects_the_counting_cell():
    at = page()
    titles = chart_titles(at)
    for gate in GATE_TITLES:
        assert any(t.startswith(gate) for t in titles), (gate, titles)
    value, delta = metrics(at)["Depth after the last character"][0]
    assert value == "0 (true 0)" and "(100%)" in delta
    unit = at.selectbox(key="rnn_unit_brackets_lstm")
    scores = [float(re.search(r"corr with depth ([+-][\d.]+)", o).group(1)) for o in unit.options]
    best = int(np.argmax(np.abs(scores)))
    assert unit.value == best and "best" in unit.options[best]
    assert abs(scores[best]) >= 0.9, "the counting cell tracks the depth"
    assert any("c_t" in x.value for x in at.get("latex")), "the step-through equations are shown"


@pytest.mark.parametrize("text,depth", [("((a)(b(c)))", 0), ("(((", 3), ("f(x, g(y)", 1)])
def test_typed_sequence_gets_a_depth_per_character(text, depth):
    at = type_text(page(), "brackets", text)
    value, delta = metrics(at)["Depth after the last character"][0]
    assert value == f"{depth} (true {depth})"
    assert delta.startswith(f"{len(text)}/{len(text)} steps right")
    at.slider(key="rnn_step_brackets_lstm").set_value(1).run()
    ok(at)
    assert any("Step **1** reads" in m.value for m in at.markdown)


def test_bad_input_gets_clear_messages_never_a_traceback():
    at = type_text(page(), "brackets", "")
    assert any("Type a sequence" in i.value for i in at.info)
    assert "Depth after the last character" not in metrics(at)
    at = type_text(at, "brackets", "(ÄX€😀)")
    assert any("Removed" in w.value and "'€'" in w.value for w in at.warning)
    assert metrics(at)["Depth after the last character"][0][0] == "0 (true 0)"
    at = type_text(at, "brackets", "ÄÖÜ")
    assert any("Removed" in w.value for w in at.warning) and any("Type a sequence" in i.value for i in at.info)
    at = type_text(at, "brackets", "(a)" * 60)
    assert at.text_input(key="rnn_text_brackets").value == "(a)" * 40, "max_chars cuts a long paste"
    assert any("box is full" in w.value and "at most 120" in w.value for w in at.warning)
    assert metrics(at)["Depth after the last character"][0][1].startswith("120/120")
    at = type_text(at, "brackets", "a))(")
    assert any("closes nothing" in i.value for i in at.info)
    at = type_text(at, "brackets", "(" * 12)
    assert any("only saw depths up to 8" in i.value for i in at.info)


def test_examples_and_random_sequences_fill_the_text():
    at = page()
    at.selectbox(key="rnn_example_brackets").set_value("Eight deep").run()
    assert ok(at).text_input(key="rnn_text_brackets").value.startswith("((((((((")
    before = at.text_input(key="rnn_text_brackets").value
    at.button(key="rnn_random_brackets").click().run()
    after = ok(at).text_input(key="rnn_text_brackets").value
    assert after != before and set(after) <= set("()abcdefghijklmnopqrstuvwxyz0123456789 +-*/=,.;:")


def test_remember_task_recalls_the_key_and_flags_odd_input():
    at = page()
    at.radio(key="rnn_task").set_value("remember").run()
    at = type_text(ok(at), "remember", "C" + "q" * 44 + "?")
    [(lstm, _)] = metrics(at)["Answer at the end"]
    assert lstm == "C"
    [(plain, _)] = metrics(tab(at, "Plain RNN, unrolled"))["Answer at the end"]  # the plain RNN answers too
    assert plain in "ABCD"
    tab(at, "LSTM gates")
    at = type_text(at, "remember", "xyz")
    assert any("should start with the key" in i.value for i in at.info)
    at = type_text(at, "remember", "?")
    assert metrics(at)["Answer at the end"], "a one-symbol input still runs"


def test_sine_task_with_extreme_sliders():
    at = page()
    at.radio(key="rnn_task").set_value("sine").run()
    mse = float(metrics(ok(at))["MSE to the clean next value"][0][0])
    assert mse < 0.02
    for period, noise, length in ((4, 1.0, 2), (80, 0.0, 120)):
        at.slider(key="rnn_sine_period").set_value(period)
        at.slider(key="rnn_sine_noise").set_value(noise)
        at.slider(key="rnn_sine_length").set_value(length).run()
        ok(at)
        assert any("Training only saw periods" in i.value for i in at.info)


def test_why_gates_tab_gradients_and_distance_table():
    at = tab(page(), "Why gates?")
    for length, weights in ((5, "untrained"), (120, "trained")):
        at.slider(key="rnn_grad_len").set_value(length)
        at.radio(key="rnn_grad_weights").set_value(weights).run()
        ok(at)
        caption = next(c.value for c in at.caption if "Gradient reaching" in c.value)
        values = {k: float(v) for k, v in re.findall(r"(LSTM|GRU|plain RNN) ([\d.]+e[+-]\d+)", caption)}
        assert set(values) == {"LSTM", "GRU", "plain RNN"}
        if length == 120:
            assert values["LSTM"] > 1e6 * max(values["plain RNN"], 1e-30)
    table = next(d.value for d in at.dataframe if "D = 40" in d.value.columns)
    row = dict(zip(table["model"], table["D = 40"]))
    assert float(row["LSTM"].rstrip("%")) >= 99 and float(row["plain RNN"].rstrip("%")) < 70


def shape_table(at: AppTest) -> dict:
    df = next(d.value for d in at.dataframe if "tensor" in d.value.columns)
    return dict(zip(df["tensor"], df["shape (from the real run)"]))


def test_shape_explorer_presets_and_extremes():
    at = tab(page(), "Shape explorer")
    at.selectbox(key="rnn_shape_preset").set_value("6. LSTM(10, 5, 2, bidirectional=True)").run()
    shapes = shape_table(ok(at))
    assert shapes["output"] == "(12, 64, 10)" and shapes["h_n"] == "(4, 64, 5)" and shapes["c_n"] == "(4, 64, 5)"
    at.checkbox(key="rnn_shape_batch_first").check().run()
    shapes = shape_table(ok(at))
    assert shapes["input x"] == "(64, 12, 10)" and shapes["h0"] == "(4, 64, 5)"
    at.selectbox(key="rnn_shape_kind").set_value("gru")
    for key, value in (("input", 128), ("hidden", 1), ("layers", 4), ("seq", 1), ("batch", 1)):
        at.number_input(key=f"rnn_shape_{key}").set_value(value)
    at.run()
    shapes = shape_table(ok(at))
    assert shapes["output"] == "(1, 1, 2)" and "c_n" not in shapes


def wait_ended(job, seconds: float = 60) -> None:
    """A worker-process job has ended (its process too)."""
    import time

    deadline = time.monotonic() + seconds
    while job.active and time.monotonic() < deadline:
        time.sleep(0.1)
    job.process.join(15)


def test_race_runs_in_a_background_job_and_stops():
    at = tab(page(), "Why gates?")
    at.slider(key="rnn_race_distance").set_value(5)
    at.button(key="rnn_race_start").click().run()
    job = ok(at).session_state["rnn_race_job"]
    assert job.kind == "rnn-race" and job.target == "dl_core.jobs:rnn_race" and job.active  # a worker process
    at.button(key="rnn_race_stop").click().run()
    wait_ended(job)
    assert job.state == "stopped" and not job.process.is_alive()
    at.run()
    assert any("Race stopped" in i.value for i in ok(at).info)
