"""benchmarks.browser works end to end: the floor app and the CNN page in a real Chromium, every main
interaction timed once. No timing assertions here: speed targets are checked by the benchmark itself."""
from __future__ import annotations

import math

import numpy as np


def test_browser_benchmark_times_every_cnn_interaction_and_the_floor(browser, app_server):
    from benchmarks import browser as bench

    floor = bench.Server("benchmarks/floor_app.py")
    try:
        rows = bench.measure(browser, app_server, floor.url, ["floor", "cnn"], reps=1, timeout_ms=90_000,
                             log=lambda *a, **k: None)
    finally:
        floor.stop()
    got = {(r["page"], r["interaction"]): r for r in rows}
    assert set(got) == {("floor", "stroke"), ("cnn", "stroke"), ("cnn", "tab"), ("cnn", "slider"), ("cnn", "button")}
    for key, r in got.items():
        assert r["error"] is None and r["n"] == 1, (key, r)
        assert 0 < r["p50"] == r["p95"] < 90_000 and not math.isnan(r["p50"]), (key, r)
    text = bench.table(rows)
    assert "| floor | stroke | 1 |" in text and "1.00x" in text


def test_percentile_interpolates_like_numpy():
    from benchmarks.browser import percentile

    values = list(np.random.default_rng(0).random(23) * 1000)
    for q in (0, 50, 95, 100):
        assert abs(percentile(values, q) - float(np.percentile(values, q))) < 1e-9


def test_feature_maps_picture_colours_and_layout():
    """The raster feature maps: one tile per channel in the page's grid, white 1 px gaps, signed maps in
    blue / white / red by the largest magnitude, unsigned in viridis from 0."""
    from ui.cnn_views import VIRIDIS, maps_grid

    maps = np.zeros((7, 4, 4), np.float32)
    maps[0, 0, 0], maps[1, 1, 1], maps[6, 3, 3] = 2.0, -2.0, 1.0
    grid, cols, m = maps_grid(maps, signed=True)
    assert cols == 5 and m == 2.0 and grid.shape == (2 * 5 - 1, 5 * 5 - 1, 3)
    assert tuple(grid[0, 0]) == (204, 25, 25)  # +m: full red (charts.diverging_rgb)
    assert tuple(grid[1, 5 + 1]) == (25, 63, 204)  # -m in channel 1 (column 1): full blue
    assert tuple(grid[0, 1]) == (255, 255, 255)  # zero: white
    assert tuple(grid[4, 0]) == (255, 255, 255) and tuple(grid[0, 4]) == (255, 255, 255)  # the gaps
    assert tuple(grid[5 + 3, 5 + 3]) == (229, 140, 140)  # channel 6 = row 1, column 1; +m/2: half red
    grid, _, m = maps_grid(np.abs(maps), signed=False)
    assert tuple(grid[0, 0]) == tuple(VIRIDIS[255]) and tuple(grid[0, 1]) == tuple(VIRIDIS[0])
