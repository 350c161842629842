"""Presenter mode and arrow-key stepping.

Presenter mode (``?present=1`` in the URL, or the sidebar toggle) is for a projector at the front of a
room: larger text, bigger metrics, thicker lines, bolder diagram text, a wide layout. The arrow keys step
through the page's step-by-step views, in either mode: Right / Left click the visible button whose key
ends in ``step_next`` / ``step_back``, or move the visible slider whose key ends in ``step_slider``.
On a phone, picking a page in the sidebar closes the sidebar.
"""
from __future__ import annotations

import re

import streamlit as st

QUERY = "present"
KEY = "present_mode"
SCALE = 1.6  # graphviz font sizes are multiplied by this in presenter mode
MIN_DOT_FONT = 16  # and never below this (points; rendered 1:1 as px)

_CSS = """<style>
.stApp { --dlv-present: 1; }
.stMainBlockContainer { max-width: 100% !important; padding-left: 2rem; padding-right: 2rem; }
.stMarkdown p, .stMarkdown li, .stCaption p, .stText, label p, .stAlert p { font-size: 1.45rem !important; line-height: 1.45; }
.stMarkdown code, .stCode code { font-size: 1.25rem !important; }
h1 { font-size: 3.4rem !important; } h2 { font-size: 2.6rem !important; } h3 { font-size: 2.1rem !important; }
[data-testid=stMetricValue] { font-size: 4rem !important; }
[data-testid=stMetricLabel] p, [data-testid=stMetricDelta] { font-size: 1.6rem !important; }
button p, [data-baseweb=tab] p { font-size: 1.3rem !important; }
[data-testid=stGraphVizChart] svg text { font-weight: 600; }
[data-testid=stGraphVizChart] svg path, [data-testid=stGraphVizChart] svg polygon { stroke-width: 2.5px; }
</style>"""

# On a phone, a chart drawn at a fixed width wider than the screen is scaled down to fit (vega-embed draws
# a canvas or an svg of fixed size): the page itself never scrolls sideways.
_PHONE_CSS = """<style>
@media (max-width: 640px) {
  [data-testid=stFullScreenFrame], [data-testid=stVegaLiteChart], .vega-embed { max-width: 100% !important; }
  .vega-embed canvas, .vega-embed svg, [data-testid=stGraphVizChart] svg, [data-testid=stImage] img
    { max-width: 100% !important; height: auto !important; }
  .vega-embed { overflow: hidden; }
}
</style>"""

# The step-by-step views' controls, by widget key: buttons the Right / Left arrows click (first visible
# one wins), else the step slider they move. A new step view adds its key here (or ends it in step_next,
# step_back, step_slider).
NEXT_BUTTONS = ("step_next", "basics_btn_back_next", "basics_btn_pg_step", "gan2d_step", "rl_step", "ra_next")
BACK_BUTTONS = ("step_back",)
STEP_SLIDERS = ("step_slider", "basics_back_k", "rnn_step_", "s2s_step", "tf_dec_step_", "diff_frame",
                "diff_lat_step", "dqn_phase", "td3_phase")


def _selector(keys: tuple[str, ...], tail: str) -> str:
    """CSS: ``tail`` inside any element whose st-key class is one of ``keys`` (a key ending in _ is a prefix;
    one starting with step_ may appear anywhere in the key)."""
    def one(k: str) -> str:
        if k.startswith("step_"):  # the naming convention: any key that contains it
            return f'[class*="{k}"] {tail}'
        return f'[class*="st-key-{k}"] {tail}' if k.endswith("_") else f".st-key-{k} {tail}"
    return ", ".join(one(k) for k in keys)


_KEYS_JS = """
const NEXT_BUTTONS = %r, BACK_BUTTONS = %r, SLIDERS = %r;
export default function (component) {
  if (window.__dlvKeys) return;
  window.__dlvKeys = true;
  const visible = (el) => el && el.offsetParent !== null && el.getClientRects().length > 0;
  document.addEventListener('keydown', (e) => {
    if (e.defaultPrevented || e.altKey || e.ctrlKey || e.metaKey || e.shiftKey) return;
    const t = e.target;
    if (t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName))) return;  // typing, or a focused slider
    const dir = e.key === 'ArrowRight' ? 'next' : e.key === 'ArrowLeft' ? 'back' : null;
    if (!dir) return;
    const sel = dir === 'next' ? NEXT_BUTTONS : BACK_BUTTONS;
    const button = [...document.querySelectorAll(sel)].find((b) => visible(b) && !b.disabled);
    if (button) { e.preventDefault(); button.click(); return; }
    const thumb = [...document.querySelectorAll(SLIDERS)].find(visible);
    if (thumb) {
      e.preventDefault();
      thumb.focus();
      thumb.dispatchEvent(new KeyboardEvent('keydown', { key: e.key, code: e.key, bubbles: true }));
    }
  });
  // On a phone the sidebar covers the page: once a page has been picked in it, close it if it is still
  // (stably) open. Streamlit closes it itself only sometimes.
  document.addEventListener('click', (e) => {
    if (window.innerWidth > 640 || !e.target.closest('[data-testid="stSidebarNav"] a')) return;
    const openNow = () => {
      const r = document.querySelector('[data-testid="stSidebar"]')?.getBoundingClientRect();
      return !!r && r.x === 0 && r.width > 0;
    };
    let seen = 0, tries = 0;
    const timer = setInterval(() => {
      seen = openNow() ? seen + 1 : 0;
      const close = document.querySelector('[data-testid="stSidebarCollapseButton"] button');
      if (seen >= 2 && close) { close.click(); clearInterval(timer); }
      if (++tries > 15 || (tries > 3 && seen === 0)) clearInterval(timer);
    }, 200);
  }, true);
}
""" % (_selector(NEXT_BUTTONS, "button"), _selector(BACK_BUTTONS, "button"), _selector(STEP_SLIDERS, 'input[type="range"]'))

_keys = st.components.v2.component("dlv_arrow_keys", js=_KEYS_JS, isolate_styles=False)


def on() -> bool:
    """Is presenter mode on for this session? (the URL flag, or the sidebar toggle)"""
    if KEY not in st.session_state:
        st.session_state[KEY] = st.query_params.get(QUERY) == "1"
    return bool(st.session_state[KEY])


def _sync() -> None:
    """Toggle callback: keep the URL flag in step, so a reload or a shared link stays in the same mode."""
    if st.session_state[KEY]:
        st.query_params[QUERY] = "1"
    elif QUERY in st.query_params:
        del st.query_params[QUERY]


def apply() -> None:
    """Called once per run by app.py: the sidebar toggle, the presenter CSS, and the arrow keys."""
    on()
    st.sidebar.toggle("Presenter mode", key=KEY, on_change=_sync,
                      help="Large text and bold diagrams for a projector. Also: add ?present=1 to the URL. "
                           "The arrow keys step through step-by-step views.")
    st.html(_PHONE_CSS + (_CSS if st.session_state[KEY] else ""))
    _keys(key="dlv_arrow_keys")


def dot(source: str) -> str:
    """A graphviz source made readable from the back of a room in presenter mode: every ``fontsize``
    scaled by SCALE (at least MIN_DOT_FONT) and thicker default lines. Unchanged otherwise."""
    if not st.session_state.get(KEY):
        return source
    scaled = re.sub(r'fontsize\s*=\s*"?([\d.]+)"?', lambda m: f"fontsize={max(MIN_DOT_FONT, float(m.group(1)) * SCALE):g}",
                    source)
    scaled = re.sub(r"point-size=(['\"])([\d.]+)['\"]",  # HTML-like labels
                    lambda m: f"point-size={m.group(1)}{max(MIN_DOT_FONT, float(m.group(2)) * SCALE):g}{m.group(1)}", scaled)
    scaled = re.sub(r"rankdir\s*=\s*\"?LR\"?", "rankdir=TB", scaled)  # narrow and tall: no shrinking to fit
    head, brace, rest = scaled.partition("{")
    return f'{head}{brace} node [fontsize={MIN_DOT_FONT}, penwidth=2]; edge [penwidth=2, fontsize={MIN_DOT_FONT}]; {rest}'


def graphviz(source: str, where=None, **kwargs) -> None:
    """Every diagram of the app goes through here: ``st.graphviz_chart`` of ``dot(source)``."""
    if st.session_state.get(KEY):
        kwargs["width"] = "content"  # natural size: stretched to the column, a wide diagram's text would shrink
    (where or st).graphviz_chart(dot(source), **kwargs)


_VEGA = {"axis": {"labelFontSize": 16, "titleFontSize": 18, "strokeWidth": 2},
         "legend": {"labelFontSize": 16, "titleFontSize": 16}, "header": {"labelFontSize": 16, "titleFontSize": 18},
         "title": {"fontSize": 20}, "line": {"strokeWidth": 3}}


def vega(spec: dict) -> dict:
    """A Vega-Lite spec with larger axis, legend and title text in presenter mode (``spec`` is not changed)."""
    if not st.session_state.get(KEY):
        return spec
    config = {k: dict(v) for k, v in spec.get("config", {}).items() if isinstance(v, dict)}
    for part, values in _VEGA.items():
        config[part] = {**values, **config.get(part, {})}
    return {**spec, "config": {**spec.get("config", {}), **config}}
