"""The drawing canvas (streamlit-drawable-canvas 0.13) with its hover-toolbar problem fixed.

In 0.13.0 the toolbar (undo / redo / clear) hovers over the canvas's top-right corner, invisible
until hovered, and swallows the mouse-down of any stroke that starts beneath it: the top of a tall
5 or 7 silently draws nothing. The canvas lives in an open shadow root, so page CSS cannot reach
it; a tiny script injects a style into that shadow root that parks the toolbar *below* the
canvas, always visible. Every pixel of the canvas then takes strokes.

The drawing comes back from the browser as a PNG data URL, i.e. from whoever controls the websocket:
a crafted 100 kB PNG can declare 8000x8000 pixels (Pillow would decode 256 MB of RGBA on every
rerun). ``canvas_pixels`` reads the PNG header first and decodes only the 280x280 canvas it expects.
"""
from __future__ import annotations

import base64
import binascii
import io
import struct

import numpy as np
import streamlit as st
from PIL import Image

CANVAS_PX = 280  # 10x MNIST's 28 px
STROKE_PX = 20  # ~2 MNIST pixels, like a pen stroke in the original data
MAX_DATA_URL = 1_000_000  # characters; an honest 280x280 RGBA PNG is well under 400 kB of base64
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


class CanvasError(ValueError):
    """The drawing that came back is not the 280x280 PNG this canvas makes."""


def canvas_pixels(data_url: str | None, size: int = CANVAS_PX) -> np.ndarray | None:
    """A canvas PNG data URL -> (size, size, 4) uint8 RGBA, checking the PNG header before decoding."""
    if data_url is None:
        return None
    if not isinstance(data_url, str) or len(data_url) > MAX_DATA_URL or ";base64," not in data_url[:64]:
        raise CanvasError("The drawing that came back is not a canvas image.")
    try:
        raw = base64.b64decode(data_url.split(";base64,", 1)[1], validate=True)
    except (binascii.Error, ValueError):
        raise CanvasError("The drawing that came back is not valid base64.") from None
    # The first chunk of every PNG is IHDR: length (4 bytes), b"IHDR", width, height (big-endian).
    if len(raw) < 24 or raw[:8] != _PNG_SIGNATURE or raw[12:16] != b"IHDR":
        raise CanvasError("The drawing that came back is not a PNG image.")
    width, height = struct.unpack(">II", raw[16:24])
    if (width, height) != (size, size):
        raise CanvasError(f"The drawing that came back is {width}x{height} pixels; this canvas makes "
                          f"{size}x{size}. Nothing was decoded.")
    try:
        with Image.open(io.BytesIO(raw)) as img:
            if img.size != (size, size):
                raise CanvasError("The drawing that came back has an inconsistent size.")
            arr = np.asarray(img.convert("RGBA"))
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as err:
        if isinstance(err, CanvasError):
            raise
        raise CanvasError("The drawing that came back could not be read as a PNG image.") from None
    return arr  # (size, size, 4)

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

    A "Clear" button next to it (and the toolbar's bin icon) empties it. A drawing that is not the
    canvas's own 280x280 PNG is refused with a message (and None), never decoded.
    """
    from streamlit_drawable_canvas import st_canvas  # registers its component: needs a running app

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
    # result.image_data would decode any PNG whatever its declared size; read the data URL ourselves
    # (streamlit-drawable-canvas 0.13 keeps it in CanvasResult._image_data_url, version pinned).
    try:
        return canvas_pixels(getattr(result, "_image_data_url", None))
    except CanvasError as err:
        st.error(str(err), icon=":material/error:")
        return None
