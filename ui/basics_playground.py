"""The Playground tab: TensorFlow Playground in real PyTorch, live, shareable through the URL.

Training is tiny (a few hundred points, a few dozen weights), so it runs inside this session: an
``st.fragment(run_every=...)`` advances the training generator a bounded number of steps per tick
and redraws only itself. Everything lives in ``st.session_state``; nothing is shared between users.
"""
from __future__ import annotations

import time
from dataclasses import asdict, fields
from urllib.parse import urlencode

import numpy as np
import pandas as pd
import streamlit as st

from dl_core import playground as P
from ui import basics_charts as bc
from ui import charts

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
    cfg, problems = P.from_params(params)
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
    c = st.columns(4)
    dataset = c[0].selectbox("Data", list(P.DATASETS), key="basics_pg_dataset")
    noise = c[1].select_slider("Noise", NOISES, d.noise, key="basics_pg_noise")
    train = c[2].slider("Training data (%)", 10, 90, 50, 10, key="basics_pg_train_frac")
    n_points = c[3].select_slider("Points", NPOINTS, d.n_points, key="basics_pg_n_points")
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
    seed = int(st.number_input("Seed (data, split, weights, batch order)", 0, 10_000, d.seed, key="basics_pg_seed"))
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
    return {"cfg": cfg, "data": data, "model": model, "gen": gen, "history": [next(gen)], "playing": False}


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


def _neuron_image(m: np.ndarray, lo: float, hi: float) -> np.ndarray:
    t = np.clip((m - lo) / max(hi - lo, 1e-8), 0, 1)[..., None]  # (n, n, 1) in [0, 1]
    orange, white, blue = np.array([245, 147, 34]), np.array([247, 247, 247]), np.array([8, 119, 189])
    rgb = np.where(t < 0.5, orange + (white - orange) * t * 2, white + (blue - white) * (t - 0.5) * 2)
    return charts.upscale(rgb.astype(np.uint8), 3)


def _draw(s: dict) -> None:
    cfg, model, data, hist = s["cfg"], s["model"], s["data"], s["history"]
    last = hist[-1]
    m = st.columns(4)
    m[0].metric("Steps", f"{last.step:,}", f"epoch {last.epoch:.1f}", delta_color="off")
    m[1].metric("Test loss", f"{last.test_loss:.4f}")
    m[2].metric("Test accuracy", f"{100 * last.test_acc:.1f}%")
    m[3].metric("Train accuracy", f"{100 * last.train_acc:.1f}%")
    left, right = st.columns([1.1, 1])
    pts = pd.concat([
        pd.DataFrame({"x1": data.x_train[:, 0].numpy(), "x2": data.x_train[:, 1].numpy(),
                      "label": data.y_train.numpy().astype(str), "split": "train"}),
        pd.DataFrame({"x1": data.x_test[:, 0].numpy(), "x2": data.x_test[:, 1].numpy(),
                      "label": data.y_test.numpy().astype(str), "split": "test"})]).round(3)
    left.altair_chart(bc.decision(P.boundary(cfg, model, 40), P.LIM, pts))
    left.caption("Background: the net's P(blue). Circles: training points, squares: test points.")
    every = max(1, len(hist) // 200)
    curve = pd.DataFrame([{"step": h.step, "loss": v, "set": k} for h in hist[::every] + [last]
                          for k, v in (("train", h.train_loss), ("test", h.test_loss))])
    right.altair_chart(charts.line_chart(curve, "step", "loss", color="set", title="Loss", height=220), width="stretch")
    maps = P.neuron_maps(cfg, model, 24)
    with right:
        st.markdown("**Every neuron's output** over the same square (inputs first, then each hidden layer):")
        cols = st.columns(len(maps))
        for j, (col, layer) in enumerate(zip(cols, maps)):
            lo, hi = (float(layer.min()), float(layer.max())) if j == 0 else (-1.0, 1.0)
            if j > 0 and cfg.activation != "tanh":
                lo, hi = float(layer.min()), float(layer.max())
            name = "inputs" if j == 0 else f"layer {j}"
            col.image([_neuron_image(x, lo, hi) for x in layer], width=56,
                      caption=list(cfg.features) if j == 0 else [f"{name} #{i + 1}" for i in range(len(layer))])


def _buttons(s: dict) -> None:
    b = st.columns([1, 1, 1, 3])
    label = "Pause" if s["playing"] else "Play"
    if b[0].button(label, key="basics_btn_pg_play", type="primary", icon=":material/play_pause:"):
        s["playing"] = not s["playing"] and s["history"][-1].step < MAX_STEPS
    if b[1].button("Step", key="basics_btn_pg_step", icon=":material/skip_next:"):
        s["playing"] = False
        advance(s, 1)
    if b[2].button("Reset", key="basics_btn_pg_reset", icon=":material/restart_alt:"):
        s.update(_fresh(s["cfg"]))
    b[3].caption(f"Play runs {STEPS_PER_TICK} steps every {TICK_S:g} s, up to {MAX_STEPS:,} steps in total; "
                 "Step runs one minibatch step.")


def _share(cfg: P.PlaygroundConfig) -> None:
    params = {f"pg_{k}": v for k, v in P.to_params(cfg).items()}
    if any(st.query_params.get(k) != v for k, v in params.items()):
        st.query_params.update(params)
    with st.expander("Share this setup / export as code"):
        base = (st.context.url or "").split("?")[0]
        st.markdown("The address bar now holds the whole setup; this link opens the playground with it:")
        st.code(f"{base}?{urlencode({'basics_tab': 'Playground', **params})}", language=None, wrap_lines=True)
        script = P.export_script(cfg)
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
        st.warning("Some settings in the link could not be used and were reset: " + ", ".join(problems))
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
