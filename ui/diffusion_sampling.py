"""The reverse-process tab: a sampling job in a worker process (ui.workers, dl_core.jobs.diffusion_sampling),
frames that appear while it runs, play/pause, GIF."""
from __future__ import annotations

import numpy as np
import streamlit as st

from dl_core.jobs import DiffusionFrame, SamplingDone
from ui import gen_quality, workers
from ui import diffusion_charts as dc
from ui.common import device, set_state
from ui.diffusion_models import LATENT, MAX_SAMPLES, PIXEL

JOB_KEY = "diff_job"
MAX_SECONDS = 240  # a sampling job stops itself after 4 minutes
DDPM_EVERY = 10  # DDPM has 1000 steps: keep every 10th frame (and the last)


Frame = DiffusionFrame  # job.events: DiffusionFrame per kept step (uint8 grids), then one SamplingDone


@st.cache_data(max_entries=512, show_spinner=False)
def frame_pngs(job_id: int, index: int, _grids: np.ndarray) -> tuple[bytes, bytes, bytes]:
    """PNG bytes (4x, nearest-neighbour) of a frame's x_t, noise and x0-hat grids; keyed by job and step."""
    return tuple(dc.png(dc.upscale(g, 4)) for g in _grids)


@st.cache_data(max_entries=32, show_spinner=False)
def trajectory_gif(job_id: int, _frames: list) -> bytes:
    """The whole trajectory as a GIF: x_t | x0-hat side by side, one picture per kept step."""
    pics = [np.concatenate([f.grids[0], np.full((f.grids.shape[1], 2), 255, np.uint8), f.grids[2]], axis=1)
            for f in _frames]
    return dc.gif(pics)


def controls(default_g: dict[str, float]) -> dict:
    c1, c2, c3, c4 = st.columns(4)
    if "diff_guidance" not in st.session_state:
        st.session_state["diff_guidance"] = default_g[st.session_state.get("diff_model", "pixel")]
    model = c1.radio("Model", ["pixel", "latent"], key="diff_model", horizontal=True,
                     format_func={"pixel": "Pixel U-Net", "latent": "Latent"}.get,
                     on_change=lambda: set_state("diff_guidance", default_g[st.session_state["diff_model"]]))
    digit = c2.selectbox("Digit class", list(range(10)), index=3, key="diff_class")
    seed = c3.number_input("Seed", 0, 1_000_000, 0, key="diff_seed")
    n = c4.slider("Samples", 1, MAX_SAMPLES, 8, key="diff_n")
    c5, c6, c7 = st.columns([1, 1, 2])
    guidance = c5.slider("Guidance scale w", 0.0, 8.0, step=0.5, key="diff_guidance",
                         help=f"Each model's default is the scale its card was judged with: pixel "
                              f"{default_g['pixel']:g}, latent {default_g['latent']:g}.")
    method = c6.radio("Sampler", ["ddim", "ddpm"], key="diff_method", horizontal=True,
                      format_func={"ddim": "DDIM", "ddpm": "DDPM (1000)"}.get)
    steps = c7.slider("DDIM steps", 10, 100, 50, 5, key="diff_steps", disabled=method == "ddpm")
    return {"model": model, "digit": int(digit), "seed": int(seed), "n": int(n), "guidance": float(guidance),
            "method": method, "steps": int(steps) if method == "ddim" else 1000}


def _toggle_play() -> None:
    playing = not st.session_state.get("diff_playing", False)
    st.session_state["diff_playing"] = playing
    if playing:
        st.session_state["diff_frame"] = 0


@st.fragment
def tab(default_g: dict[str, float]) -> None:
    st.markdown(
        "The **reverse process** starts from pure noise $x_T$ and repeatedly asks the U-Net *which noise is in "
        "this image?* From the predicted noise $\\hat\\epsilon$ we get a guess of the clean image "
        "$\\hat x_0 = (x_t - \\sqrt{1-\\bar\\alpha_t}\\,\\hat\\epsilon)/\\sqrt{\\bar\\alpha_t}$ and take one step "
        "towards it. **Classifier-free guidance** runs the model with and without the class and extrapolates: "
        "$\\hat\\epsilon = \\epsilon_\\varnothing + w(\\epsilon_y - \\epsilon_\\varnothing)$ ($w = 1$: no "
        "extra push, larger $w$: more typical digits, less variety). DDPM takes all 1000 small random steps; "
        "DDIM jumps deterministically in 10-100 big ones."
    )
    cfg = controls(default_g)
    if st.session_state.pop("diff_start_requested", False):
        current = workers.session_job(JOB_KEY)
        if current is None or not current.active:
            reason = workers.start(JOB_KEY, "diffusion", "dl_core.jobs:diffusion_sampling",
                                   dict(model_kind=cfg["model"], digit=cfg["digit"], n=cfg["n"], seed=cfg["seed"],
                                        guidance=cfg["guidance"], method=cfg["method"], steps=cfg["steps"],
                                        device=str(device()), ddpm_every=DDPM_EVERY), MAX_SECONDS)
            if reason:
                st.warning(reason, icon=":material/hourglass_top:")
            else:
                st.session_state["diff_job_cfg"] = cfg
                st.session_state["diff_playing"] = False
    # The buttons are drawn after the click was handled (callbacks run before the script), so
    # "Sample" is greyed out and "Stop" live in the very run that started the job.
    job = workers.session_job(JOB_KEY)
    running = job is not None and job.active  # queued or running
    playing = st.session_state.get("diff_playing", False)
    b1, b2, b3, _ = st.columns([1, 1, 1, 3])
    b1.button("Sample", key="diff_start", type="primary", disabled=running, icon=":material/auto_awesome:",
              on_click=set_state, args=("diff_start_requested", True))
    b2.button("Stop", key="diff_stop", disabled=not running, on_click=workers.stop, args=(JOB_KEY,))
    b3.button("Pause" if playing else "Play", key="diff_play", disabled=running or job is None,
              icon=":material/pause:" if playing else ":material/play_arrow:", on_click=_toggle_play)
    _view(running, playing)
    gen_quality.panel(PIXEL if cfg["model"] == "pixel" else LATENT,
                      "the pixel U-Net" if cfg["model"] == "pixel" else "the latent model")


def _view(running: bool, playing: bool) -> None:
    @st.fragment(run_every=0.5 if running or playing else None)
    def view():
        job = workers.session_job(JOB_KEY)
        if job is None:
            st.info("Pick a class and press **Sample**: the frames appear while the model denoises.",
                    icon=":material/auto_awesome:")
            return
        frames = [e for e in list(job.events) if isinstance(e, Frame)]
        cfg = st.session_state.get("diff_job_cfg", {})
        if not frames:
            if job.state == "queued":
                st.info(workers.status_line(job), icon=":material/hourglass_top:")
            elif job.state == "error":
                st.error(f"Sampling failed: {job.error}")
            else:
                st.progress(0.0, text="Starting ..." if job.active else f"No frames ({job.state}).")
            if st.session_state.get("diff_was_running") and not job.active:
                st.session_state["diff_was_running"] = False
                st.rerun()
            st.session_state["diff_was_running"] = job.active
            return
        last = len(frames) - 1
        if job.running:
            idx = last
            total = cfg.get("steps", 50) // (DDPM_EVERY if cfg.get("method") == "ddpm" else 1) + 1
            st.progress(min(1.0, len(frames) / total), text=f"Sampling: step {frames[-1].index}, t = {frames[-1].t}")
        else:
            if st.session_state.get("diff_playing"):
                st.session_state["diff_frame"] = st.session_state.get("diff_frame", 0) + 1
                if st.session_state["diff_frame"] >= last:
                    st.session_state["diff_playing"] = False
                    st.session_state["diff_frame"] = last
                    st.rerun()
            st.session_state["diff_frame"] = min(st.session_state.get("diff_frame", last), last)
            idx = st.slider("Step", 0, max(last, 1), key="diff_frame", disabled=last == 0)
            idx = min(idx, last)
        f = frames[idx]
        pngs = frame_pngs(job.id, f.index, f.grids)
        st.caption(f"{'Pixel' if cfg.get('model') == 'pixel' else 'Latent'} model, digit {cfg.get('digit')}, "
                   f"guidance {cfg.get('guidance')}, {cfg.get('method', '').upper()}: frame {idx + 1}/{len(frames)}, "
                   f"t = {f.t}")
        c1, c2, c3 = st.columns(3)
        c1.image(pngs[0], caption=f"x_t (t = {f.t})", width="stretch")
        c2.image(pngs[1], caption="predicted noise eps-hat" + (" (latent ch. 0)" if cfg.get("model") == "latent" else ""),
                 width="stretch")
        c3.image(pngs[2], caption="predicted clean image x0-hat", width="stretch")
        if job.state == "error":
            st.error(f"Sampling failed: {job.error}")
        elif not job.active:
            secs = next((e.seconds for e in job.events if isinstance(e, SamplingDone)), None)
            st.download_button("Download the trajectory (GIF: x_t | x0-hat)", trajectory_gif(job.id, frames),
                               "diffusion_trajectory.gif",
                               "image/gif", key="diff_gif", icon=":material/download:")
            if secs is not None:
                st.caption(f"Sampling took {secs:.1f} s on this server ({job.state}).")
        if st.session_state.get("diff_was_running") and not job.active:
            st.session_state["diff_was_running"] = False
            st.rerun()
        st.session_state["diff_was_running"] = job.active
    view()
