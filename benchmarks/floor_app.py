"""The floor for the browser benchmark: the least a Streamlit app can do for a drawn digit.

The same canvas component as the CNN page (ui.canvas), the same MNIST-style preprocessing
(dl_core.digits.prepare), the CNN page's default model (the shipped course CNN), and one st.metric.
No tabs, no charts. ``python -m benchmarks.browser`` times a stroke here next to the real pages:
whatever the CNN page needs beyond this floor is the cost of showing more.

    streamlit run benchmarks/floor_app.py      (from the repository root)
"""
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `streamlit run benchmarks/floor_app.py` puts only benchmarks/ on the path
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402
import torch  # noqa: E402

from dl_core import cnn, digits  # noqa: E402
from ui.canvas import digit_canvas  # noqa: E402


@st.cache_resource
def model() -> torch.nn.Module:
    torch.set_num_threads(1)
    return cnn.load(ROOT / "assets" / "cnn_course.pt", torch.device("cpu")).eval()


st.set_page_config(page_title="Floor: canvas -> metric")
rgba = digit_canvas("floor_canvas")
prep = digits.prepare(digits.to_ink(rgba)) if rgba is not None else None
if prep is None:
    st.metric("Prediction", "-")
else:
    with torch.no_grad():
        probs = torch.softmax(model()(prep.x), 1)[0]
    pred = int(probs.argmax())
    st.metric("Prediction", str(pred), f"{100 * float(probs[pred]):.1f}% confident", delta_color="off",
              delta_arrow="off")
