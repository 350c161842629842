"""Conv filters as one picture per layer, every filter a tile big enough to read from the back of a room."""
from __future__ import annotations

import numpy as np

from ui import charts

MIN_TILE_PX = 40  # every filter at least this many pixels wide on screen
MAX_CHANNELS = 16  # deeper layers: at most 16 x 16 (output x input) filters drawn (16 x 45 px = 720 px)
WRAP = 8  # one-input-channel layers: this many filters per row
PAD = 1  # gap between tiles, in filter pixels


def layer_grid(w: np.ndarray) -> tuple[np.ndarray, str]:
    """Weights (out, in, k, k) -> (RGB grid before enlarging, a note on what is left out)."""
    o, i, k = w.shape[0], w.shape[1], w.shape[2]
    if i == 1:
        cols = min(WRAP, o)
        rows = -(-o // cols)
        tiles = np.zeros((rows * cols, 1, k, k), dtype=w.dtype)
        tiles[:o] = w
        grid = charts.filter_grid(tiles.reshape(rows, cols, k, k), PAD)
        for j in range(o, rows * cols):  # no filter here: background, not a white "zero" filter
            r, c = divmod(j, cols)
            grid[r * (k + PAD):r * (k + PAD) + k, c * (k + PAD):c * (k + PAD) + k] = 235
        return grid, ""
    note = f" The first {min(o, MAX_CHANNELS)} x {min(i, MAX_CHANNELS)} are shown." if max(o, i) > MAX_CHANNELS else ""
    return charts.filter_grid(w[:MAX_CHANNELS, :MAX_CHANNELS], PAD), note


def layer_png(w: np.ndarray, name: str) -> tuple[str, bytes]:
    """(markdown description, PNG) of one conv layer's filters, each at least MIN_TILE_PX wide."""
    o, i, k = w.shape[0], w.shape[1], w.shape[2]
    grid, note = layer_grid(w)
    factor = -(-MIN_TILE_PX // k)
    desc = f"**{name}**: {o} filters of {i}x{k}x{k}" + ("" if i == 1 else " (row = output channel, column = input channel).")
    return desc + note, charts.png(charts.upscale(grid, factor))
