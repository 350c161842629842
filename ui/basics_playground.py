"""The Playground tab: TensorFlow Playground in real PyTorch, live, shareable through the URL.

Training is tiny (a few hundred points, a few dozen weights), so it runs inside this session: an
``st.fragment(run_every=...)`` advances the training generator a bounded number of steps per tick
and redraws only itself. Everything lives in ``st.session_state``; nothing is shared between users.
"""
from __future__ import annotations

import io
import time
from dataclasses import asdict
from urllib.parse import urlencode

import numpy as np
import pandas as pd
import streamlit as st
from PIL import Image

from dl_core import playground as P
from dl_core import playground_share as PS
from ui import basics_charts as bc
from ui import charts
from ui.plain import md

MAX_STEPS = 5000  # a run stops here
STEPS_PER_TICK = 25  # steps per redraw while playing
TICK_S = 0.5  # seconds between redraws
TICK_BUDGET_S = 0.25  # never compute longer than this per redraw
STATE = "basics_pg_state"
LRS = [0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0]
BATCHES = [1, 5, 10, 25, 50, 100]
L2S = [0.0, 0.0001, 0.001, 0.01, 0.1]
NPOINTS = [100, 200, 400, 800]
NOISES = [round(0.05 * i, 2) for i in range(11)]
SNAP = {"lr": LRS, "batch_size": BATCHES, "l2": L2S, "n_points": NPOINTS, "noise": NOISES}


def _nearest(value, options):
    return min(options, key=lambda o: abs(o - value))


def _init_from_url() -> None:
    """Once per session: the link's pg_* query parameters become the widgets' starting values."""
    if st.session_state.get("basics_pg_init"):
        return
    st.session_state["basics_pg_init"] = True
    params = {k[3:]: v for k, v in st.query_params.items() if k.startswith("pg_")}
    if not params:
        return
    cfg, problems = PS.from_params(params)
    values = asdict(cfg)
    for name, options in SNAP.items():
        values[name] = _nearest(values[name], options)
    ss = st.session_state
    ss.update({f"basics_pg_{k}": v for k, v in values.items() if k not in ("features", "hidden", "train_frac")})
    ss["basics_pg_features"] = list(cfg.features)
    ss["basics_pg_train_frac"] = int(round(cfg.train_frac * 100))
    ss["basics_pg_layers"] = len(cfg.hidden)
    ss.update({f"basics_pg_w{i}": w for i, w in enumerate(cfg.hidden)})
    if problems:
        ss["basics_pg_url_problems"] = problems


def controls() -> P.PlaygroundConfig | None:
    d = P.PlaygroundConfig()
    c = st.columns(5)
    dataset = c[0].selectbox("Data", list(P.DATASETS), key="basics_pg_dataset")
    noise = c[1].select_slider("Noise", NOISES, d.noise, key="basics_pg_noise")
    train = c[2].slider("Training data (%)", 10, 90, 50, 10, key="basics_pg_train_frac")
    n_points = c[3].select_slider("Points", NPOINTS, d.n_points, key="basics_pg_n_points")
    seed = int(c[4].number_input("Seed (data, weights, batches)", 0, 10_000, d.seed, key="basics_pg_seed"))
    features = st.pills("Input features", list(P.FEATURES), selection_mode="multi", default=list(d.features),
                        key="basics_pg_features")
    c = st.columns(4)
    layers = c[0].slider("Hidden layers", 0, P.MAX_HIDDEN_LAYERS, len(d.hidden), key="basics_pg_layers")
    hidden = tuple(int(c[1 + min(i, 2)].number_input(f"Neurons in layer {i + 1}", 1, P.MAX_WIDTH, 4, key=f"basics_pg_w{i}"))
                   for i in range(layers))
    c = st.columns(6)
    activation = c[0].selectbox("Activation", list(P.ACTIVATIONS), key="basics_pg_activation")
    lr = c[1].select_slider("Learning rate", LRS, d.lr, key="basics_pg_lr")
    batch = c[2].select_slider("Batch size", BATCHES, d.batch_size, key="basics_pg_batch_size")
    l2 = c[3].select_slider("L2", L2S, d.l2, key="basics_pg_l2", format_func=lambda v: f"{v:g}")
    loss = c[4].radio("Loss", ["ce", "mse"], key="basics_pg_loss",
                      format_func={"ce": "cross-entropy", "mse": "MSE"}.get)
    optimizer = c[5].radio("Optimizer", ["adam", "sgd"], key="basics_pg_optimizer", format_func=str.upper)
    if not features:
        st.warning("Pick at least one input feature.", icon=":material/warning:")
        return None
    feats = tuple(f for f in P.FEATURES if f in features)  # a fixed order, whatever order they were clicked in
    return P.PlaygroundConfig(dataset, float(noise), int(n_points), train / 100, seed, feats, hidden, activation,
                              float(lr), int(batch), float(l2), loss, optimizer)


def _fresh(cfg: P.PlaygroundConfig) -> dict:
    data = P.make_data(cfg)
    model = P.build_model(cfg)
    gen = P.train_steps(cfg, model, data, MAX_STEPS)
    return {"cfg": cfg, "data": data, "model": model, "gen": gen, "history": [next(gen)], "playing": False,
            "view": None, "points": None}


def state(cfg: P.PlaygroundConfig) -> dict:
    s = st.session_state.get(STATE)
    if s is None or s["cfg"] != cfg:
        s = st.session_state[STATE] = _fresh(cfg)
    return s


def advance(s: dict, n: int) -> None:
    """Up to ``n`` training steps, within the per-redraw time budget; stops at MAX_STEPS."""
    t0 = time.perf_counter()
    for _ in range(n):
        ev = next(s["gen"], None)
        if ev is None:
            s["playing"] = False
            return
        s["history"].append(ev)
        if time.perf_counter() - t0 > TICK_BUDGET_S:
            return


def _neuron_image(m: np.ndarray, lo: float, hi: float) -> bytes:
    """One neuron's (n, n) output as a PNG, orange (low) - white - blue (high), like the data colours."""
    t = np.clip((m - lo) / max(hi - lo, 1e-8), 0, 1)[..., None]  # (n, n, 1) in [0, 1]
    orange, white, blue = np.array([245, 147, 34]), np.array([247, 247, 247]), np.array([8, 119, 189])
    rgb = np.where(t < 0.5, orange + (white - orange) * t * 2, white + (blue - white) * (t - 0.5) * 2)
    buf = io.BytesIO()
    Image.fromarray(charts.upscale(rgb.astype(np.uint8), 2)).save(buf, format="PNG")
    return buf.getvalue()


def _view(s: dict) -> dict:
    """Chart specs and neuron images for the current step, computed once per step (a rerun that does not
    train, e.g. a click elsewhere, reuses them)."""
    cfg, model, data, hist = s["cfg"], s["model"], s["data"], s["history"]
    last = hist[-1]
    if s.get("view") is not None and s["view"]["step"] == last.step:
        return s["view"]
    if s.get("points") is None:
        s["points"] = pd.concat([
            pd.DataFrame({"x1": x[:, 0].numpy(), "x2": x[:, 1].numpy(), "label": y.numpy().astype(str), "split": name})
            for name, x, y in (("train", data.x_train, data.y_train), ("test", data.x_test, data.y_test))]).round(3)
    every = max(1, len(hist) // 200)  # at most ~200 points per curve
    curve = pd.DataFrame([{"step": h.step, "loss": v, "set": k} for h in hist[::every] + [last]
                          for k, v in (("train", h.train_loss), ("test", h.test_loss))])
    prob, maps = P.views(cfg, model, 40)  # one forward pass for the background and every neuron
    images = []
    for j, layer in enumerate(maps):
        bounded = j > 0 and cfg.activation == "tanh"
        lo, hi = (-1.0, 1.0) if bounded else (float(layer.min()), float(layer.max()))
        names = list(cfg.features) if j == 0 else [f"layer {j} #{i + 1}" for i in range(len(layer))]
        images.append(([_neuron_image(x, lo, hi) for x in layer], names))
    s["view"] = {
        "step": last.step,
        "decision": bc.with_data(bc.template("decision", P.LIM), points=s["points"],
                                 heat=bc.decision_frames(prob, P.LIM)),
        "curve": bc.with_data(bc.template("loss_curves"), curve=curve),
        "images": images,
    }
    return s["view"]


def _draw(s: dict) -> None:
    last = s["history"][-1]
    m = st.columns(4)
    m[0].metric("Steps (epochs)", f"{last.step:,} ({last.epoch:.1f})")
    m[1].metric("Test loss", f"{last.test_loss:.4f}")
    m[2].metric("Test accuracy", f"{100 * last.test_acc:.1f}%")
    m[3].metric("Train accuracy", f"{100 * last.train_acc:.1f}%")
    view = _view(s)
    left, right = st.columns([1.1, 1])
    left.vega_lite_chart(spec=dict(view["decision"]), width="content")  # a copy: Streamlit pops the datasets
    left.caption("Background: the net's P(blue). Circles: training points, squares: test points.")
    right.vega_lite_chart(spec=dict(view["curve"]), width="stretch")
    with right:
        st.markdown("**Every neuron's output** over the same square (inputs first, then each hidden layer):")
        for col, (imgs, names) in zip(st.columns(len(view["images"])), view["images"]):
            col.image(imgs, width=56, caption=names)


def _act(what: str) -> None:
    """Button callbacks: they run before the script, so the redraw below already shows their effect."""
    s = st.session_state.get(STATE)
    if s is None:
        return
    if what == "play":
        s["playing"] = not s["playing"] and s["history"][-1].step < MAX_STEPS
    elif what == "step":
        s["playing"] = False
        advance(s, 1)
    else:
        s.update(_fresh(s["cfg"]))


def _buttons(s: dict) -> None:
    b = st.columns([1, 1, 1, 3])
    label = "Pause" if s["playing"] else "Play"
    b[0].button(label, key="basics_btn_pg_play", type="primary", icon=":material/play_pause:", on_click=_act,
                args=("play",))
    b[1].button("Step", key="basics_btn_pg_step", icon=":material/skip_next:", on_click=_act, args=("step",))
    b[2].button("Reset", key="basics_btn_pg_reset", icon=":material/restart_alt:", on_click=_act, args=("reset",))
    b[3].caption(f"Play runs {STEPS_PER_TICK} steps every {TICK_S:g} s, up to {MAX_STEPS:,} steps in total; "
                 "Step runs one minibatch step.")


def _share(cfg: P.PlaygroundConfig) -> None:
    params = {f"pg_{k}": v for k, v in PS.to_params(cfg).items()}
    if any(st.query_params.get(k) != v for k, v in params.items()):
        st.query_params.update(params)
    with st.expander("Share this setup / export as code"):
        base = (st.context.url or "").split("?")[0]
        st.markdown("The address bar now holds the whole setup; this link opens the playground with it:")
        st.code(f"{base}?{urlencode({'basics_tab': 'Playground', **params})}", language=None, wrap_lines=True)
        script = PS.export_script(cfg)
        st.download_button("Download the PyTorch script", script, file_name=f"playground_{cfg.dataset}.py",
                           mime="text/x-python", key="basics_btn_pg_export", icon=":material/download:")
        st.code(script, language="python")


def tab() -> None:
    st.markdown("Train a small neural net on 2-D points and watch the decision boundary form, like "
                "[TensorFlow Playground](https://playground.tensorflow.org), but in real PyTorch with "
                "cross-entropy. Press **Play**. Try XOR with only x1 and x2, then add x1*x2.")
    _init_from_url()
    problems = st.session_state.pop("basics_pg_url_problems", None)
    if problems:
        st.warning("Some settings in the link could not be used and were reset: " + md(", ".join(problems)))
    cfg = controls()
    if cfg is None:
        return
    s = state(cfg)
    _buttons(s)
    playing = s["playing"]

    @st.fragment(run_every=TICK_S if playing else None)
    def live() -> None:
        cur = st.session_state.get(STATE)
        if cur is None:
            return
        if cur["playing"]:
            advance(cur, STEPS_PER_TICK)
        _draw(cur)
        if playing and not cur["playing"]:  # finished while playing: one full rerun turns the timer off
            st.rerun()

    live()
    _share(cfg)
