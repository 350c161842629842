"""The drawing canvas (streamlit-drawable-canvas 0.13) with its hover-toolbar problem fixed.

In 0.13.0 the toolbar (undo / redo / clear) hovers over the canvas's top-right corner, invisible
until hovered, and swallows the mouse-down of any stroke that starts beneath it: the top of a tall
5 or 7 silently draws nothing. The canvas lives in an open shadow root, so page CSS cannot reach
it; a tiny script injects a style into that shadow root that parks the toolbar *below* the
canvas, always visible. Every pixel of the canvas then takes strokes.
"""
from __future__ import annotations

import numpy as np
import streamlit as st
from streamlit_drawable_canvas import st_canvas

CANVAS_PX = 280  # 10x MNIST's 28 px
STROKE_PX = 20  # ~2 MNIST pixels, like a pen stroke in the original data

_TOOLBAR_CSS = (
    ".dc-root{margin-bottom:2.9rem}"
    ".dc-toolbar,.dc-root:hover>.dc-toolbar,.dc-toolbar:hover,.dc-toolbar:focus-within,"
    ".dc-toolbar[data-pinned]{top:auto!important;bottom:-2.9rem!important;opacity:1!important;"
    "transition:none!important}"
)

_FIX_JS = """
export default function (component) {
  if (window.__dlvCanvasFix) { window.__dlvCanvasFix(); return; }  // installed once per page
  const css = %r;
  const watched = new WeakSet();
  const watch = (node) => {
    if (watched.has(node)) return;
    watched.add(node);
    new MutationObserver(schedule).observe(node, { childList: true, subtree: true });
  };
  const patch = () => {
    for (const el of document.querySelectorAll('*')) {
      const root = el.shadowRoot;
      if (!root) continue;
      if (!root.querySelector('.dc-root')) { watch(root); continue; }  // not rendered yet: watch inside
      if (!root.querySelector('style[data-dlv-fix]')) {
        const style = document.createElement('style');
        style.dataset.dlvFix = '1';
        style.textContent = css;
        root.appendChild(style);
      }
    }
  };
  let pending = false;
  function schedule() {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => { pending = false; patch(); });
  }
  window.__dlvCanvasFix = schedule;
  patch();
  watch(document.body);
}
""" % _TOOLBAR_CSS

_toolbar_fix = st.components.v2.component("dlv_canvas_toolbar_fix", js=_FIX_JS, isolate_styles=False)


def digit_canvas(key: str) -> np.ndarray | None:
    """A black 280x280 canvas with a white pen; returns the RGBA drawing or None before any stroke.

    A "Clear" button next to it (and the toolbar's bin icon) empties it.
    """
    version_key = f"{key}_version"
    st.session_state.setdefault(version_key, 0)
    _toolbar_fix(key=f"{key}_fix")
    result = st_canvas(
        stroke_width=STROKE_PX,
        stroke_color="#FFFFFF",
        background_color="#000000",
        height=CANVAS_PX,
        width=CANVAS_PX,
        drawing_mode="freedraw",
        return_image_data=True,
        key=f"{key}_{st.session_state[version_key]}",
    )
    if st.button("Clear", key=f"{key}_clear", icon=":material/delete:"):
        st.session_state[version_key] += 1
        st.rerun()
    return result.image_data
