"""The "2-D GAN Lab" tab: controls, a per-session lab, live stepping in a fragment, the plane view.

Training runs inside the session's own ``st.fragment(run_every=...)``: every tick takes a few steps
(or, in slow motion, a single D or G update) and redraws. It is bounded by MAX_STEPS per lab.
"""
from __future__ import annotations

import hashlib

import numpy as np
import streamlit as st
import torch

from dl_core import gan2d, gan2d_view
from ui import charts, gan_charts

MAX_STEPS = 20_000  # per lab (a reset starts a new one)
STEPS_PER_TICK = 12  # at TICK_S: 48 steps per second
TICK_S = 0.25
SLOW_TICK_S = 1.2  # slow motion: one D or G update per tick
HIST_MAX = 4000  # history points kept per series (older ones are thinned)
CANVAS_PX = 300
NOISES = {"2-D gaussian": ("gaussian", 2), "2-D uniform": ("uniform", 2),
          "1-D gaussian": ("gaussian", 1), "1-D uniform": ("uniform", 1)}
PRESET_NAMES = {"ring": "Ring of 8 gaussians", "line": "Line", "moons": "Two moons", "spiral": "Spiral",
                "grid": "Grid of 3x3 gaussians", "drawn": "Draw your own"}
LOSS_NAMES = {"minimax": "Original minimax", "nonsaturating": "Non-saturating", "leastsquares": "Least squares"}
LRS = [0.0001, 0.0003, 0.001, 0.002, 0.005, 0.01, 0.03, 0.1]
WIDTHS = [4, 8, 16, 32, 64, 128]
S = st.session_state


def controls() -> tuple[gan2d.GAN2DConfig, gan2d.Hyper]:
    c = st.columns(4)
    preset = c[0].selectbox("Real data", list(PRESET_NAMES), format_func=PRESET_NAMES.get, key="gan2d_preset")
    noise = c[1].selectbox("Noise z", list(NOISES), key="gan2d_noise")
    loss = c[2].selectbox("Loss", list(LOSS_NAMES), index=1, format_func=LOSS_NAMES.get, key="gan2d_loss")
    opt = c[3].selectbox("Optimizer", ["adam", "sgd"], format_func=str.upper, key="gan2d_opt")
    c = st.columns(4)
    lr_d = c[0].select_slider("D learning rate", LRS, 0.002, key="gan2d_lr_d")
    lr_g = c[1].select_slider("G learning rate", LRS, 0.002, key="gan2d_lr_g")
    d_steps = c[2].slider("D steps per G step", 1, 5, 1, key="gan2d_dsteps")
    batch = c[3].select_slider("Batch size", [16, 32, 64, 128, 256, 512], 128, key="gan2d_batch")
    with st.expander("Generator and discriminator layers (changing them restarts training)"):
        c = st.columns(4)
        g_layers = c[0].slider("G hidden layers", 1, 4, 2, key="gan2d_g_layers")
        g_width = c[1].select_slider("G units per layer", WIDTHS, 64, key="gan2d_g_width")
        d_layers = c[2].slider("D hidden layers", 1, 4, 2, key="gan2d_d_layers")
        d_width = c[3].select_slider("D units per layer", WIDTHS, 64, key="gan2d_d_width")
    kind, dim = NOISES[noise]
    cfg = gan2d.GAN2DConfig(preset=preset, noise=kind, noise_dim=dim, g_layers=g_layers, g_width=g_width,
                            d_layers=d_layers, d_width=d_width)
    return cfg, gan2d.Hyper(loss=loss, optimizer=opt, lr_d=lr_d, lr_g=lr_g, d_steps=d_steps, batch_size=batch)


def canvas_points(json_data: dict | None) -> np.ndarray:
    """Fabric.js point objects (canvas pixels, y down) -> (P, 2) plane coordinates (y up)."""
    out = []
    for obj in (json_data or {}).get("objects", []):
        if obj.get("type", "").lower() != "circle":
            continue
        cx, cy = float(obj["left"]), float(obj["top"])
        if obj.get("originX", "left") == "left":
            cx += float(obj.get("width", 0)) * float(obj.get("scaleX", 1)) / 2
        if obj.get("originY", "top") == "top":
            cy += float(obj.get("height", 0)) * float(obj.get("scaleY", 1)) / 2
        out.append(((cx / CANVAS_PX * 2 - 1) * gan2d.LIM, -(cy / CANVAS_PX * 2 - 1) * gan2d.LIM))
    return np.array(out, dtype=np.float32).reshape(-1, 2)


def drawing() -> torch.Tensor | None:
    """The canvas for "Draw your own"; returns the applied points (P, 2) or None."""
    from streamlit_drawable_canvas import st_canvas  # registers its component: import only when drawn

    left, right = st.columns([1, 2])
    with left:
        version = S.setdefault("gan2d_canvas_version", 0)
    result = st_canvas(fill_color="#1b9e4b", stroke_width=1, stroke_color="#1b9e4b", background_color="#f4f4f4",
                           height=CANVAS_PX, width=CANVAS_PX, drawing_mode="point", point_display_radius=4,
                           key=f"gan2d_canvas_{version}")
    pts = canvas_points(result.json_data)
    with right:
        st.markdown("Click on the canvas to place points: each becomes a small blob of real data. "
                    "The canvas covers the same square as the picture below.")
        st.button("Use these points", key="gan2d_use_drawing", type="primary", disabled=len(pts) < 3,
                  on_click=_use_points, args=(pts,))
        st.button("Clear the drawing", key="gan2d_clear_drawing", icon=":material/delete:", on_click=_clear_drawing)
        if len(pts) < 3:
            st.info(f"{len(pts)} point(s) drawn: place at least 3.", icon=":material/touch_app:")
        elif len(pts) > 500:
            st.warning("More than 500 points: only the first 500 are used.")
    pts = S.get("gan2d_points")
    return None if pts is None else torch.from_numpy(pts[:500].copy())


def _clear_drawing() -> None:
    S["gan2d_canvas_version"] += 1


def _use_points(pts: np.ndarray) -> None:
    S["gan2d_points"], S["gan2d_playing"] = pts, False


def lab_for(cfg: gan2d.GAN2DConfig, points: torch.Tensor | None) -> gan2d.Lab:
    """This session's lab; a new one (and a fresh history) when data, noise or layers changed."""
    key = (cfg, None if points is None else hashlib.sha1(points.numpy().tobytes()).hexdigest())
    if S.get("gan2d_key") != key or "gan2d_lab" not in S:
        S["gan2d_lab"], S["gan2d_key"] = gan2d.Lab(cfg, points), key
        S["gan2d_hist"] = {k: [] for k in ("step", "d_loss", "g_loss", "d_real", "d_fake")}
        S["gan2d_div"] = {k: [] for k in ("step", "kl", "js")}
        S["gan2d_next_phase"] = "D"
    return S["gan2d_lab"]


def step(lab: gan2d.Lab, hyper: gan2d.Hyper, phase: str = "both", n: int = 1) -> None:
    hist = S["gan2d_hist"]
    for _ in range(n):
        if lab.steps >= MAX_STEPS:
            S["gan2d_playing"] = False
            break
        r = gan2d.train_step(lab, hyper, phase)
        for k in hist:
            hist[k].append(getattr(r, k))
    if len(hist["step"]) > HIST_MAX:
        for k in hist:
            hist[k] = hist[k][::2]
    S["gan2d_last_phase"] = phase


def _toggle_play() -> None:
    S["gan2d_playing"] = not S.get("gan2d_playing", False)


def _step(phase: str) -> None:
    """Button callback (runs before the script, so the click is never lost to a rerun)."""
    if "gan2d_lab" in S and "gan2d_hyper" in S:
        step(S["gan2d_lab"], S["gan2d_hyper"], phase)


def _reset() -> None:
    S.pop("gan2d_lab", None)
    S["gan2d_playing"] = False


def tab() -> None:
    st.markdown(
        "A generator **G** turns noise into 2-D points (purple); a discriminator **D** learns to tell them "
        "from the real points (green). The background is D's verdict at every place of the plane: green = "
        "\"real\", purple = \"fake\". The gray mesh is G's **manifold**: a grid in noise space pushed "
        "through G. The black lines show where G's gradient pushes each fake point. Press **Play**, change "
        "the learning rates or the loss while it runs, or step D and G alone to see who moves what.")
    cfg, hyper = controls()
    points = drawing() if cfg.preset == "drawn" else None
    if cfg.preset == "drawn" and points is None:
        st.info("Draw at least 3 points and press **Use these points** to train on your own distribution.")
        return
    lab = lab_for(cfg, points)
    S["gan2d_hyper"] = hyper
    playing = S.get("gan2d_playing", False)
    c = st.columns([1.1, 1, 1.2, 1.2, 1, 1.6, 1.6])
    c[0].button("Pause" if playing else "Play", key="gan2d_play", type="primary", on_click=_toggle_play,
                icon=":material/pause:" if playing else ":material/play_arrow:")
    c[1].button("Step", key="gan2d_step", on_click=_step, args=("both",),
                help="One round: D is updated (D steps per G step) times, then G once")
    c[2].button("Step D only", key="gan2d_step_d", on_click=_step, args=("D",))
    c[3].button("Step G only", key="gan2d_step_g", on_click=_step, args=("G",))
    c[4].button("Reset", key="gan2d_reset", on_click=_reset)
    slow = c[5].toggle("Slow motion", key="gan2d_slow", help="One D or G update per tick, alternating")
    show_arrows = c[6].toggle("Gradient arrows", True, key="gan2d_arrows")
    live(lab, hyper, playing, slow, show_arrows)


def live(lab: gan2d.Lab, hyper: gan2d.Hyper, playing: bool, slow: bool, show_arrows: bool) -> None:
    @st.fragment(run_every=(SLOW_TICK_S if slow else TICK_S) if playing else None)
    def view():
        if S.get("gan2d_playing") and slow:
            phase = S["gan2d_next_phase"]
            step(lab, hyper, phase)
            S["gan2d_next_phase"] = "G" if phase == "D" else "D"
        elif S.get("gan2d_playing"):
            step(lab, hyper, "both", STEPS_PER_TICK)
        if playing and not S.get("gan2d_playing"):
            st.rerun()  # the step budget ran out: redraw the whole tab once, paused
        v = gan2d_view.view(lab, hyper.loss)
        div = S["gan2d_div"]
        if not div["step"] or div["step"][-1] != lab.steps:
            for k, val in (("step", lab.steps), ("kl", v.divergence.kl), ("js", v.divergence.js)):
                div[k].append(val)
        draw(lab, v, show_arrows, slow)
    view()


def draw(lab: gan2d.Lab, v: gan2d_view.View, show_arrows: bool, slow: bool) -> None:
    hist, div = S["gan2d_hist"], S["gan2d_div"]
    left, right = st.columns([1.25, 1], gap="medium")
    with left:
        charts.show(gan_charts.plane(v, arrows=show_arrows))
        if lab.steps >= MAX_STEPS:
            st.info(f"This lab reached its budget of {MAX_STEPS:,} steps: press **Reset** to start again.")
        elif slow and lab.steps:
            moved = {"D": "**D** just took a step: the background changed, the points did not.",
                     "G": "**G** just took a step: the purple points moved along the arrows; D did not change.",
                     "both": "Both took a step."}[S.get("gan2d_last_phase", "both")]
            st.caption("Slow motion. " + moved)
    with right:
        m = st.columns(4)
        m[0].metric("Step", f"{lab.steps:,}")
        m[1].metric("D loss", f"{hist['d_loss'][-1]:.3f}" if hist["step"] else "-")
        m[2].metric("G loss", f"{hist['g_loss'][-1]:.3f}" if hist["step"] else "-")
        m[3].metric("JS", f"{v.divergence.js:.3f}", help="Jensen-Shannon divergence between smoothed 30x30 "
                    "histograms of 2,000 real and 2,000 fake points: 0 = same density, ln 2 = 0.693 = disjoint")
        if not hist["step"]:
            st.info("Press **Play** or **Step**: the losses, D's outputs and the divergence are charted here "
                    "as training runs.", icon=":material/play_circle:")
            return
        charts.show(gan_charts.series(hist["step"], {"D loss": hist["d_loss"], "G loss": hist["g_loss"]},
                                      "Losses", y_title="loss"))
        charts.show(gan_charts.series(hist["step"], {"D(G(z)) fake": hist["d_fake"], "D(x) real": hist["d_real"]},
                                      "What D says (mean over the batch)", domain=(0, 1), y_title="D"))
        charts.show(gan_charts.series(div["step"], {"JS": div["js"], "KL(real || fake)": div["kl"]},
                                      "Divergence between real and fake densities (log scale)", y_title="nats",
                                      colors=("#2c7fb8", "#e67e22"), log=True))
