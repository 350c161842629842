"""The CNN page's "Train it yourself" tab: controls, a job in a worker process, live charts, a stop button.

Training runs in the server's worker-process pool (ui.workers, ``dl_core.jobs.cnn_training``), not in a
thread of the server, so it never competes with participants' reruns for the server's GIL.
"""
from __future__ import annotations

from dataclasses import asdict

import pandas as pd
import streamlit as st
import torch

from dl_core import cnn, data
from dl_core.cnn_train import BatchEvent, EpochEvent, TrainConfig
from dl_core.jobs import Weights
from ui import charts, workers
from ui.common import device, set_state
from ui.models import mnist

MAX_EPOCHS = 5
MAX_SECONDS = 300  # a job stops itself after 5 minutes, even if its participant has left
JOB_KEY = "cnn_job"


# The two presets the page offers, named for what they are (lr, batch and momentum exactly as shown)
PRESETS = {
    "notebook": dict(optimizer="sgd", lr=0.01, momentum=0.5, batch=64, epochs=3),  # the course notebook's
    "faster": dict(optimizer="adam", lr=0.002, momentum=0.0, batch=64, epochs=3),
}
PRESET_NAMES = {"notebook": "Notebook recipe: SGD 0.01, momentum 0.5, batch 64",
                "faster": "Faster: Adam 0.002, batch 64", "custom": "Custom"}
LRS = [0.0003, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1]


def controls() -> tuple[cnn.CNNConfig, TrainConfig]:
    preset = st.radio("Recipe", list(PRESET_NAMES), format_func=PRESET_NAMES.get, key="cnn_train_preset",
                      horizontal=True)
    p = PRESETS.get(preset, PRESETS["faster"])
    c1, c2, c3, c4, c5, c6 = st.columns(6)
    arch = c1.selectbox("Model", ["course", "default"], key="cnn_train_arch",
                        format_func=lambda a: {"course": "Course CNN (Net)", "default": "Stronger CNN"}[a])
    epochs = c2.number_input("Epochs", 1, MAX_EPOCHS, p["epochs"], key="cnn_train_epochs")
    custom = preset == "custom"
    if custom:
        batch = c3.select_slider("Batch size", [16, 32, 64, 128, 256], 64, key="cnn_train_batch")
        opt = c4.selectbox("Optimizer", ["adam", "sgd"], key="cnn_train_opt", format_func=str.upper)
        lr = c5.select_slider("Learning rate", LRS, 0.002, key="cnn_train_lr")
        momentum = c6.select_slider("SGD momentum", [0.0, 0.5, 0.9], 0.5, key="cnn_train_momentum",
                                    disabled=opt != "sgd")
    else:
        batch, opt, lr, momentum = p["batch"], p["optimizer"], p["lr"], p["momentum"]
        c3.metric("Batch size", batch)
        c4.metric("Optimizer", opt.upper())
        c5.metric("Learning rate", lr)
        c6.metric("Momentum", momentum if opt == "sgd" else "-")
    cfg = TrainConfig(epochs=int(epochs), batch_size=int(batch), lr=float(lr), optimizer=opt,
                      momentum=float(momentum) if opt == "sgd" else 0.0, seed=1)
    return cnn.CNNConfig(arch=arch), cfg


@st.fragment
def tab() -> None:
    """A fragment: changing a setting here reruns only this tab, not the whole page."""
    st.markdown(
        "Train a CNN from scratch on the 60,000 MNIST training images and watch it learn. **Notebook recipe** "
        "is exactly the course notebook's (SGD, learning rate 0.01, momentum 0.5, batch 64) and prints its "
        "lines; **Faster** uses Adam and reaches about 98% in under two minutes. When it finishes (or you "
        "stop it), **your** model replaces the shipped one on this page, for your session only."
    )
    model_cfg, cfg = controls()
    job = workers.session_job(JOB_KEY)
    running = job is not None and job.active  # queued or running
    # Callbacks (not ``if st.button(...)``): they run before this script, so the buttons below are drawn
    # knowing about the click (Start greyed out while the job runs, Stop live), in this very run.
    if st.session_state.pop("cnn_train_requested", False) and not running:
        if mnist(True) is not None and mnist(False) is not None:  # downloaded here, read by the worker
            reason = workers.start(JOB_KEY, "cnn", "dl_core.jobs:cnn_training",
                                   dict(arch=model_cfg.arch, train_cfg=asdict(cfg), mnist_dir=str(data.default_dir()),
                                        device=str(device()), report_every=10), MAX_SECONDS)
            if reason:
                st.warning(reason, icon=":material/hourglass_top:")
            else:
                st.session_state["cnn_train_label"] = f"{model_cfg.arch} CNN, {cfg.epochs} epoch(s), {cfg.optimizer} lr {cfg.lr}"
                running = True
    b1, b2, _ = st.columns([1, 1, 4])
    b1.button("Start training", key="cnn_train_start", type="primary", disabled=running, on_click=set_state,
              args=("cnn_train_requested",))
    b2.button("Stop", key="cnn_train_stop", disabled=not running, on_click=workers.stop, args=(JOB_KEY,))
    _progress_view(running)


def _draw(job: workers.WorkerJob) -> None:
    events = list(job.events)
    batches = [e for e in events if isinstance(e, BatchEvent)]
    epochs = [e for e in events if isinstance(e, EpochEvent)]
    if batches:
        last = batches[-1]
        done = ((last.epoch - 1) * last.batches + last.batch) / (last.batches * st.session_state["cnn_train_epochs"])
        st.progress(min(done, 1.0), text=f"Epoch {last.epoch}, batch {last.batch}/{last.batches}, "
                                         f"{last.samples_per_s:.0f} samples/s")
    elif job.running:
        st.progress(0.0, text="Starting (loading MNIST in a worker process) ...")
    log = [e.line() for e in events if isinstance(e, (BatchEvent, EpochEvent))]  # every 10 batches, as the notebook
    if log:
        st.code("\n".join(log[-12:]), language=None)  # the notebook's printed lines, the latest 12
    if batches:
        per_epoch = batches[-1].batches
        df = pd.DataFrame({"step": [(e.epoch - 1) * per_epoch + e.batch for e in batches],
                           "loss": [e.loss for e in batches], "accuracy": [e.acc for e in batches]})
        c1, c2 = st.columns(2)
        charts.show(charts.line_vl(df, "step", "loss", title="Training loss (per batch)"), c1)
        charts.show(charts.line_vl(df, "step", "accuracy", title="Training accuracy (per batch)"), c2)
    if job.state in ("done", "stopped"):
        verb = "stopped" if job.state == "stopped" else "finished"
        if epochs:
            st.success(f"Training {verb}. Test accuracy {100 * epochs[-1].accuracy:.2f}%. Pick "
                       "**Your trained model** at the top of the page to look inside it.",
                       icon=":material/check_circle:")
        else:
            st.info(f"Training {verb} before the first epoch ended: nothing to keep.")


def trained_model(weights: Weights) -> torch.nn.Module:
    """The model a worker sent back as a state dict, rebuilt here, in eval mode, frozen."""
    model = cnn.build(cnn.CNNConfig(**weights.config))
    model.load_state_dict({k: torch.from_numpy(v) for k, v in weights.state.items()})
    for p in model.parameters():
        p.requires_grad_(False)
    return model.to(device()).eval()


def _keep_model(job: workers.WorkerJob) -> None:
    """When the run ends, its model (the last epoch's weights) replaces the shipped one on this page
    (this session only)."""
    events = list(job.events)
    epochs = [e for e in events if isinstance(e, EpochEvent)]
    weights = [e for e in events if isinstance(e, Weights)]
    if weights and epochs:
        st.session_state["cnn_user_model"] = trained_model(weights[-1])
        st.session_state["cnn_user_label"] = st.session_state.get("cnn_train_label", "your model")
        st.session_state["cnn_user_acc"] = epochs[-1].accuracy


def _progress_view(running: bool) -> None:
    workers.live_view(JOB_KEY, running, _draw, "No training run yet in this session.", on_end=_keep_model)
