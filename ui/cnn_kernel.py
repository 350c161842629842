"""The kernel playground, CNN Explainer style: input, kernel and output side by side, the window slides
(step or play), and the nine products and their sum are shown for the current position."""
from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st
import torch
import torch.nn.functional as F
from PIL import Image, ImageDraw

from dl_core import cnn
from ui import charts

POS = "cnn_kernel_pos"  # session key of the window's position (row-major index into the output)
PLAY = "cnn_kernel_play"
PX = 252  # drawn width of the input and of the output


@st.cache_data(max_entries=128, show_spinner=False)
def _convolve(img_bytes: bytes, kernel: tuple, stride: int, padding: int):
    img = torch.from_numpy(np.frombuffer(img_bytes, dtype=np.float32).copy()).view(28, 28)
    k = torch.tensor(kernel, dtype=torch.float32)
    mine = cnn.conv2d_by_hand(img, k, stride, padding)
    ref = F.conv2d(img[None, None], k[None, None], stride=stride, padding=padding)[0, 0]
    return mine.numpy(), float((mine - ref).abs().max())


def _frame(rgb: np.ndarray, box: tuple[int, int, int, int], cell: float) -> bytes:
    """``rgb`` (h, w, 3) enlarged to PX wide, with a frame around cells ``box`` = (top, left, rows, cols)."""
    h, w = rgb.shape[:2]
    im = Image.fromarray(rgb).resize((round(w * cell), round(h * cell)), Image.Resampling.NEAREST)
    top, left, rows, cols = box
    ImageDraw.Draw(im).rectangle([left * cell, top * cell, (left + cols) * cell - 1, (top + rows) * cell - 1],
                                 outline=(255, 196, 0), width=3)
    return charts.png(np.asarray(im))


@st.cache_data(max_entries=512, show_spinner=False)
def _pictures(img_bytes: bytes, out: np.ndarray, padding: int, win: tuple) -> tuple[bytes, bytes]:
    """The padded input with the window framed, and the output so far (later cells grey) with the
    current cell framed. Cached per (input, setting, position): stepping costs a dictionary lookup."""
    img = np.frombuffer(img_bytes, dtype=np.float32).reshape(28, 28)
    padded = np.pad(img, padding)
    gray = (np.stack([padded] * 3, -1) * 255).astype(np.uint8)
    if padding:
        gray[:padding], gray[-padding:], gray[:, :padding], gray[:, -padding:] = 60, 60, 60, 60  # the zeros added
    row, col, top, left, f = win
    size = out.shape[0]
    rgb = charts.diverging_rgb(out)
    done = np.arange(size * size).reshape(size, size) <= row * size + col
    rgb[~done] = (0.25 * rgb[~done] + 0.75 * 235).astype(np.uint8)  # still to come: faded
    return (_frame(gray, (top, left, f, f), PX / padded.shape[1]),
            _frame(rgb, (row, col, 1, 1), PX / size))


def _step(delta: int, n: int) -> None:
    st.session_state[POS] = (st.session_state.get(POS, 0) + delta) % n


def _toggle() -> None:
    st.session_state[PLAY] = not st.session_state.get(PLAY, False)


def kernel_playground(centred: np.ndarray) -> None:
    playing = st.session_state.get(PLAY, False)

    @st.fragment(run_every=0.5 if playing else None)
    def view() -> None:
        st.markdown("A 3x3 kernel slides over the 28x28 input. At every position, each of its nine weights "
                    "multiplies the pixel under it, and the nine products are summed: that sum is one output "
                    "pixel. Step through it, or press Play.")
        c1, c2, c3 = st.columns([2, 1, 1])
        preset = c1.selectbox("Kernel", list(cnn.KERNELS), index=1, key="cnn_kernel_preset")
        stride = c2.slider("Stride S", 1, 3, 1, key="cnn_kernel_stride")
        padding = c3.slider("Padding P", 0, 3, 0, key="cnn_kernel_padding")
        size = cnn.output_size(28, 3, padding, stride)
        n = size * size
        if playing:
            _step(1, n)  # one cell further on every run of this fragment while playing (every 0.5 s)
        st.session_state[POS] = min(st.session_state.get(POS, 0), n - 1)
        b = st.columns([1, 1, 1, 4])
        b[0].button("Step back", key="cnn_kernel_step_back", on_click=_step, args=(-1, n), icon=":material/skip_previous:")
        b[1].button("Step", key="cnn_kernel_step_next", on_click=_step, args=(1, n), icon=":material/skip_next:")
        b[2].button("Pause" if playing else "Play", key="cnn_kernel_playbtn", on_click=_toggle,
                    icon=":material/pause:" if playing else ":material/play_arrow:")
        pos = b[3].slider("Window position", 0, n - 1, key=POS, label_visibility="collapsed")
        left, mid, right = st.columns(3)
        with mid:
            st.caption("Kernel (edit its nine weights)")
            edited = st.data_editor(pd.DataFrame(cnn.KERNELS[preset], columns=["a", "b", "c"]).round(3),
                                    key=f"cnn_kernel_edit_{preset}", hide_index=True, width="stretch")
            kernel = np.nan_to_num(edited.to_numpy(dtype=np.float64), nan=0.0).clip(-100, 100)
        img_bytes = centred.astype(np.float32).tobytes()
        out, diff = _convolve(img_bytes, tuple(map(tuple, kernel.tolist())), stride, padding)
        win = cnn.conv_window(torch.from_numpy(centred.astype(np.float32)), torch.tensor(kernel, dtype=torch.float32),
                              stride, padding, int(pos))
        pic_in, pic_out = _pictures(img_bytes, out, padding, (win.row, win.col, win.top, win.left, 3))
        left.image(pic_in, caption=f"input, padded to {28 + 2 * padding}x{28 + 2 * padding}: the window", width=PX)
        right.image(pic_out, caption=f"output {size}x{size}: pixel ({win.row}, {win.col}) = {win.total:.3f}", width=PX)
        with mid:
            st.caption("The nine products under the window")
            st.table(pd.DataFrame(win.products.numpy(), columns=["a", "b", "c"]).round(3))
        rows = [" + ".join(f"{p:.2f}\\cdot({k:g})" for p, k in zip(pr, kr))
                for pr, kr in zip(win.patch.tolist(), kernel.tolist())]  # one line per kernel row: it fits a phone
        st.latex(rf"\begin{{aligned}}\text{{out}}[{win.row},{win.col}] = \;& " + r" \\ +\;& ".join(rows)
                 + rf" \\ =\;& {win.total:.3f}\end{{aligned}}")
        st.latex(rf"\text{{output size}} = \left\lfloor\frac{{W - F + 2P}}{{S}}\right\rfloor + 1 = "
                 rf"\left\lfloor\frac{{28 - 3 + 2\cdot{padding}}}{{{stride}}}\right\rfloor + 1 = {size}")
        st.caption(f"Computed by hand (`dl_core.cnn.conv2d_by_hand`); largest difference from `F.conv2d`: {diff:.1e}")

    view()
