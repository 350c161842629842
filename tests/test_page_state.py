"""What a participant sees stays right: times, per-model defaults, one colour per model, every row labelled,
and widget values that survive leaving a tab and coming back."""
from __future__ import annotations

import time
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parent.parent
DIFF_TABS = ["1. Forward: noise your digit", "2. Reverse: noise to digit", "3. Compare settings", "4. Latent diffusion"]

pytestmark = pytest.mark.usefixtures("one_thread")


def ok(at: AppTest) -> AppTest:
    assert not at.exception, [e.value for e in at.exception]
    return at


def open_page(page: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.switch_page(page)
    return ok(at.run())


def test_sampling_time_is_the_measured_time():
    at = open_page("pages/diffusion.py")
    at.session_state["diff_tab"] = DIFF_TABS[1]
    ok(at.run())
    at.slider(key="diff_n").set_value(2)
    at.slider(key="diff_steps").set_value(20)
    at.button(key="diff_start").click()
    ok(at.run())
    job = at.session_state["diff_job"]
    deadline = time.time() + 90
    while job.active and time.time() < deadline:  # a worker-process job: queued, then running
        time.sleep(0.2)
    assert job.state == "done", job.error
    secs = [e.seconds for e in job.events if type(e).__name__ == "SamplingDone"]
    assert len(secs) == 1 and secs[0] > 0
    ok(at.run())
    took = [c.value for c in at.caption if c.value.startswith("Sampling took")]
    assert took == [f"Sampling took {secs[0]:.1f} s on this server (done)."], took


def test_guidance_b_follows_the_chosen_model():
    from ui.diffusion_models import default_guidance

    assert default_guidance("pixel") != default_guidance("latent")
    at = open_page("pages/diffusion.py")
    at.session_state["diff_tab"] = DIFF_TABS[2]
    ok(at.run())
    assert at.slider(key="diff_cmp_gb_pixel").value == default_guidance("pixel")
    at.radio(key="diff_cmp_model").set_value("latent")
    ok(at.run())
    assert at.slider(key="diff_cmp_gb_latent").value == default_guidance("latent")


def _colour_map(spec: dict) -> dict:
    scale = spec["encoding"]["color"]["scale"]
    return dict(zip(scale["domain"], scale["range"]))


def test_one_colour_per_model_family_on_every_chart():
    from ui import rnn_charts as rc

    grad = _colour_map(rc._gradient_spec(("plain RNN", "GRU", "LSTM"), False))
    grad_other_order = _colour_map(rc._gradient_spec(("LSTM", "GRU", "plain RNN"), False))
    df = pd.DataFrame({"step": [1, 1, 1], "model": ["GRU", "LSTM", "plain RNN"], "accuracy at D": [0.2, 0.3, 0.4]})
    race = _colour_map(rc.race_chart(df, "accuracy at D", "t", [0, 1]).to_dict())
    assert grad == grad_other_order == {m: race[m] for m in grad}
    assert len(set(grad.values())) == 3


def test_remember_heatmap_labels_every_class_row():
    from ui import rnn_charts as rc

    spec = rc._probs_spec(("A", "B", "C", "D"), 1, "p")
    axis = spec["encoding"]["y"]["axis"]
    assert axis["values"] == ["A", "B", "C", "D"] and axis["labelOverlap"] is False


# (page, tab key, tab with the widget, another tab, widget kind, widget key, a non-default value)
TAB_CASES = [
    ("pages/diffusion.py", "diff_tab", DIFF_TABS[1], DIFF_TABS[0], "slider", "diff_steps", 30),
    ("pages/diffusion.py", "diff_tab", DIFF_TABS[2], DIFF_TABS[3], "slider", "diff_cmp_ga", 3.5),
    ("pages/gan.py", "gan_tab", "2-D GAN Lab", "Digit GAN", "slider", "gan2d_dsteps", 3),
    ("pages/rnn.py", "rnn_tab", "Why gates?", "LSTM gates", "slider", "rnn_grad_len", 20),
    ("pages/transformer.py", "tf_tab", "Positional encoding", "Masks side by side", "slider", "tf_pe_len", 20),
]


@pytest.mark.parametrize("case", TAB_CASES, ids=lambda c: f"{c[0].split('/')[1][:-3]}:{c[5]}")
def test_widget_value_survives_leaving_its_tab(case):
    page, tab_key, home, other, kind, key, value = case
    at = open_page(page)
    at.session_state[tab_key] = home
    ok(at.run())
    widget = getattr(at, kind)(key=key)
    assert widget.value != value
    widget.set_value(value)
    ok(at.run())
    at.session_state[tab_key] = other
    ok(at.run())
    assert not [w for w in getattr(at, kind) if w.key == key], "the widget's tab is closed: it is not drawn"
    at.session_state[tab_key] = home
    ok(at.run())
    assert getattr(at, kind)(key=key).value == value
