"""AppTest: every page in the navigation runs without an exception; the CNN page's inputs drive it."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")
PAGES = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "pages").glob("*.py"))


def app(page: str | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    if page:
        at.switch_page(page)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_every_page_file_is_in_the_navigation():
    router = (ROOT / "ui" / "nav.py").read_text()  # app.py builds st.navigation from ui.nav.NAV
    assert PAGES, "no pages found"
    for page in PAGES:
        assert f'"{page}"' in router, f"{page} is not routed by app.py"


@pytest.mark.parametrize("page", PAGES)
def test_page_runs_without_exception(page):
    at = app(page)
    assert at.title, "every page has a title"
    assert any("Device:" in c.value for c in at.sidebar.caption), "sidebar shows the device"


def test_course_page_links_every_page():
    at = app()  # the Course page is the default page
    links = [el.proto for el in at.get("page_link")]
    assert {link.page for link in links} >= {p.removesuffix(".py").removeprefix("pages/") for p in PAGES} - {"course"}
    text = " ".join(m.value for m in [*at.markdown, *at.subheader]) + " ".join(link.label for link in links)
    for word in ("CNN", "GAN", "Diffusion", "Transformer", "LSTM", "Encoder-decoder", "Tensors"):
        assert word in text


PLACEHOLDERS = [p for p in PAGES if "from ui.common import placeholder" in (ROOT / p).read_text().splitlines()]


@pytest.mark.parametrize("page", PLACEHOLDERS or [pytest.param(None, marks=pytest.mark.skip("no placeholders left"))])
def test_placeholders_say_so(page):
    at = app(page)
    assert any("placeholder" in i.value for i in at.info)


def prediction(at: AppTest) -> tuple[str, float]:
    (metric,) = [m for m in at.metric if m.label == "Prediction"]
    confidence = float(re.match(r"([\d.]+)%", metric.delta).group(1))
    return metric.value, confidence


def test_empty_canvas_shows_a_prompt_and_no_prediction():
    at = app("pages/cnn.py")
    assert not [m for m in at.metric if m.label == "Prediction"]
    assert any("Draw a digit" in i.value for i in at.info)


@pytest.mark.parametrize("arch", ["default", "course"])
def test_font_digit_gets_predicted(arch):
    at = app("pages/cnn.py")
    at.radio(key="cnn_model").set_value(arch).run()
    at.button_group(key="cnn_source").set_value("Font digit").run()
    for digit in (0, 2, 3, 7):
        at.selectbox(key="cnn_font_digit").set_value(digit).run()
        assert not at.exception, [e.value for e in at.exception]
        value, confidence = prediction(at)
        assert value == str(digit), f"{arch} read a font {digit} as {value}"
        assert 10.0 <= confidence <= 100.0


def test_stage_slider_kernel_playground_and_tabs():
    at = app("pages/cnn.py")
    at.button_group(key="cnn_source").set_value("Font digit").run()
    for stage in at.select_slider(key="cnn_stage").options:
        at.select_slider(key="cnn_stage").set_value(stage).run()
        assert not at.exception, (stage, [e.value for e in at.exception])
    at.selectbox(key="cnn_kernel_preset").set_value("sharpen").run()
    at.slider(key="cnn_kernel_stride").set_value(3).run()
    at.slider(key="cnn_kernel_padding").set_value(2).run()
    assert not at.exception
    caption = next(c.value for c in at.caption if "F.conv2d" in c.value)
    diff = float(re.search(r"F.conv2d`: ([\d.e+-]+)", caption).group(1))
    assert diff < 1e-4
    assert any("= 10" in str(x.value) for x in at.get("latex")), "(28 - 3 + 4) // 3 + 1 = 10 is shown"


def test_kernel_window_slides_and_shows_its_products():
    at = app("pages/cnn.py")
    at.button_group(key="cnn_source").set_value("Font digit").run()
    assert at.slider(key="cnn_kernel_pos").value == 0
    at.button(key="cnn_kernel_step_next").click().run()
    at.button(key="cnn_kernel_step_next").click().run()
    assert at.slider(key="cnn_kernel_pos").value == 2
    assert any(r"\text{out}[0,2]" in str(x.value) for x in at.get("latex"))
    at.slider(key="cnn_kernel_pos").set_value(26 * 13 + 12).run()  # the middle of the 26x26 output
    sums = [x.value for x in at.get("latex") if r"\text{out}[13,12]" in str(x.value)]
    assert sums and not at.exception
    at.button(key="cnn_kernel_step_back").click().run()
    assert at.slider(key="cnn_kernel_pos").value == 26 * 13 + 11


def test_training_tab_start_and_stop(mnist_dir, monkeypatch):
    """Training runs in a worker process (ui.workers); Stop ends it, and the page says so."""
    import time

    monkeypatch.setenv("MNIST_DIR", str(mnist_dir))
    at = app("pages/cnn.py")
    at.session_state["cnn_tab"] = "Train it yourself"  # lazy tabs: only the open tab runs
    at.run()
    at.button(key="cnn_train_start").click().run()
    job = at.session_state["cnn_job"]
    assert job.kind == "cnn" and job.target == "dl_core.jobs:cnn_training" and job.active
    deadline = time.monotonic() + 90  # the worker loads MNIST and reports its first batches
    while not job.events and time.monotonic() < deadline and job.active:
        time.sleep(0.2)
    assert job.events, job.error
    at.button(key="cnn_train_stop").click().run()
    while job.active and time.monotonic() < deadline:
        time.sleep(0.1)
    job.process.join(15)
    assert job.state == "stopped" and not job.process.is_alive()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("stopped" in x.value for x in list(at.info) + list(at.success))


def test_course_param_count_in_architecture_table():
    at = app("pages/cnn.py")
    at.radio(key="cnn_model").set_value("course").run()
    at.button_group(key="cnn_source").set_value("Font digit").run()
    at.session_state["cnn_view_tab"] = "Architecture"  # lazy tabs: only the open view runs
    at.run()
    assert any("Total parameters: **21,840**" in c.value for c in at.caption)


@pytest.mark.parametrize("arch", ["course", "default"])
def test_filters_are_tiles_of_at_least_40_px(arch):
    import io

    from PIL import Image

    from dl_core import cnn
    from ui import cnn_filters

    model = cnn.load(ROOT / "assets" / f"cnn_{arch}.pt", __import__("torch").device("cpu"))
    for name, conv in cnn.conv_layers(model):
        _, png = cnn_filters.layer_png(conv.weight.detach().numpy(), name)
        k = conv.weight.shape[-1]
        width, height = Image.open(io.BytesIO(png)).size
        factor = -(-cnn_filters.MIN_TILE_PX // k)
        assert k * factor >= 40, name
        o, i = conv.weight.shape[:2]
        cols, rows = (min(8, o), -(-o // min(8, o))) if i == 1 else (min(i, 16), min(o, 16))
        assert (width, height) == ((cols * (k + 1) - 1) * factor, (rows * (k + 1) - 1) * factor), name
