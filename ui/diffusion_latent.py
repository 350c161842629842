"""Latent diffusion tab: the course's figure as a live diagram, latent grids per step, pixel vs latent."""
from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from ui import charts, gen_quality
from ui import diffusion_charts as dc
from ui.diffusion_models import LATENT, PIXEL, card, final_samples, latent_trajectory, run_total, sampled_settings
from ui import present

STAGES = ("encoder", "diffusion", "denoiser", "decoder")
_ON, _OFF = "#ffd166", "#eeeeee"


@st.cache_data(max_entries=16, show_spinner=False)
def diagram(active: str) -> str:
    """Graphviz source of Rombach et al.'s Figure 3, scaled to digits; ``active`` boxes are filled."""
    def fill(stage):
        return _ON if stage == active else _OFF
    return f"""digraph G {{
  rankdir=LR; node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=11];
  subgraph cluster_pixel {{ label="pixel space"; color="#bbbbbb";
    x [label="x\\n1x28x28", fillcolor="{fill('encoder')}"]; xt [label="x~\\n1x28x28", fillcolor="{fill('decoder')}"]; }}
  E [label="Encoder E\\nconv 28->14->7", fillcolor="{fill('encoder')}"];
  D [label="Decoder D\\nconv^T 7->14->28", fillcolor="{fill('decoder')}"];
  subgraph cluster_latent {{ label="latent space"; color="#bbbbbb";
    z [label="z\\n4x7x7", fillcolor="{fill('encoder')}"];
    zT [label="z_T ~ N(0, I)", fillcolor="{fill('diffusion')}"];
    U [label="denoiser eps_theta(z_t, t)\\nself-attention over 49 tokens\\ncross-attention: Q = latent, K/V = class",
       fillcolor="{fill('denoiser')}"];
    z0 [label="z_0", fillcolor="{fill('decoder')}"]; }}
  C [label="conditioning encoder tau(y)\\nclass -> 4 tokens\\n(null class for CFG)", shape=note,
     fillcolor="{fill('denoiser')}"];
  x -> E -> z; z -> zT [label="diffusion process\\n(training only)", style=dashed];
  zT -> U [label="x T steps"]; U -> z0; C -> U [label="K, V"]; z0 -> D -> xt;
}}"""


@st.cache_data(max_entries=64, show_spinner=False)
def _step_pngs(digit: int, n: int, seed: int, guidance: float, steps: int, idx: int) -> tuple[bytes, bytes]:
    tr = latent_trajectory(digit, n, seed, guidance, steps)
    return (dc.to_png_gray(dc.tile(tr["decoded"][idx], min(n, 4)), 4),
            dc.to_png_gray(dc.tile(tr["x0_decoded"][idx], min(n, 4)), 4))


def tab(default_g: float) -> None:
    st.markdown(
        "**Latent diffusion** (Rombach et al. 2022, the course's figure): an autoencoder squeezes each 28x28 "
        "digit (784 numbers) into a 4x7x7 latent $z$ (196 numbers), the diffusion runs "
        "in that small space, and the decoder $D$ turns the final $z_0$ into pixels. The denoiser receives "
        "the class through **cross-attention**: its queries come from the 49 latent positions, its keys and "
        "values from the tokens of a conditioning encoder."
    )
    c1, c2, c3, c4 = st.columns(4)
    digit = c1.selectbox("Digit class", list(range(10)), index=5, key="diff_lat_class")
    seed = c2.number_input("Seed", 0, 1_000_000, 0, key="diff_lat_seed")
    guidance = c3.slider("Guidance w", 0.0, 8.0, default_g, 0.5, key="diff_lat_guidance")
    steps = c4.slider("DDIM steps", 10, 100, 25, 5, key="diff_lat_steps")
    n = 4
    current = (int(digit), n, int(seed), float(guidance), int(steps))
    shown = sampled_settings("diff_lat_shown", current, "Sample in latent space", "diff_lat_go", type="primary",
                             icon=":material/auto_awesome:")
    if shown != current:
        st.caption(f"Settings changed: press **Sample in latent space** to run them. Showing digit {shown[0]}, "
                   f"seed {shown[2]}, w = {shown[3]:g}, {shown[4]} DDIM steps.")
    digit = shown[0]
    with st.spinner("Sampling in latent space ..."):
        tr = latent_trajectory(*shown)
    last = len(tr["t"]) - 1
    idx = st.slider("Sampler step (0 = pure noise z_T; the last = z_0, decoded)", 0, last, last, key="diff_lat_step")
    stage = "diffusion" if idx == 0 else "decoder" if idx == last else "denoiser"
    if st.toggle("Show the encoder instead: encode a font digit and decode it back", key="diff_lat_enc"):
        stage = "encoder"
    present.graphviz(diagram(stage), width="stretch")
    if stage == "encoder":
        _encoder_view(int(digit))
    else:
        _step_view(tr, idx, stage, shown)
    st.markdown("**Pixel space vs latent space** (16 samples, DDIM 50 steps, measured on this server; "
                "quality: the share of the card's samples the shipped CNN reads as the requested digit).")
    if st.button("Measure both now (a few seconds)", key="diff_lat_measure", icon=":material/timer:"):
        st.session_state["diff_lat_measured"] = (digit, shown[2], shown[3])
    if "diff_lat_measured" in st.session_state:
        m_digit, m_seed, m_g = st.session_state["diff_lat_measured"]
        with st.spinner("Sampling 16 digits with each model ..."):
            px, t_px = final_samples("pixel", m_digit, 16, m_seed, m_g, 50)
            lt, t_lt = final_samples("latent", m_digit, 16, m_seed, m_g, 50)
        a, b = st.columns(2)
        a.image(dc.to_png_gray(dc.tile(px, 8), 3), caption=f"pixel U-Net: {t_px:.2f} s")
        b.image(dc.to_png_gray(dc.tile(lt, 8), 3), caption=f"latent: {t_lt:.2f} s")
        df = pd.DataFrame({"model": ["pixel", "latent"], "seconds": [t_px, t_lt]})
        charts.show(dc.bars_vl(df, "model", "seconds", f"Sampling time, 16 digits ({m_digit}s, w = {m_g:g})"))
    gen_quality.panel(LATENT, "the latent model")
    rows = []
    for name, label in ((PIXEL, "pixel U-Net"), (LATENT, "latent + cross-attention")):
        c = card(name)
        rows.append({"model": label, "parameters": c.get("parameters"), "judge accuracy":
                     f"{100 * c['judge_accuracy']:.1f}%" if "judge_accuracy" in c else "not judged",
                     "judged on": f"{c.get('judge_samples', 0)} samples, {c.get('judge_sampler', '')}",
                     "training": f"{run_total(c, 'steps'):,.0f} steps, {run_total(c, 'train_time_s') / 60:.0f} min on a 2-core CPU"})
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")


def _step_view(tr: dict, idx: int, stage: str, key: tuple) -> None:
    st.caption(f"Step {idx}/{len(tr['t']) - 1}, t = {tr['t'][idx]}. Highlighted: **{stage}**.")
    z = tr["z"][idx, 0]  # (4, 7, 7) of the first sample
    h, a, b = st.columns([1, 1, 1])
    charts.show(charts.heatmap_grid_vl(charts.grid_frame(z, cols=2), cell=16, scheme="redblue",
                                       domain=(-3, 3), title="z_t of sample 1 (4 channels, 7x7)"), h)
    dec, x0 = _step_pngs(*key, idx)
    a.image(dec, caption="D(z_t): the latent decoded", width="stretch")
    b.image(x0, caption="D(z0-hat): predicted clean latent, decoded", width="stretch")


@st.cache_data(max_entries=16, show_spinner=False)
def _encode(digit: int) -> tuple[np.ndarray, bytes, bytes]:
    import torch

    from ui.diffusion_forward import font_digit
    from ui.diffusion_models import latent_models
    from dl_core import latent
    ae, model = latent_models()
    x = torch.from_numpy(font_digit(digit)).view(1, 1, 28, 28) * 2 - 1
    with torch.no_grad():
        z = model.normalize(ae.encode(x.to(ae.latent_std.device)))  # what the denoiser sees
        rec = latent.decode(ae, model, z)
    return (z[0].cpu().numpy(), dc.to_png_gray(font_digit(digit), 4),
            dc.to_png_gray(dc.signed_to_unit(rec[0, 0].cpu().numpy()), 4))


def _encoder_view(digit: int) -> None:
    z, x_png, rec_png = _encode(digit)
    st.caption("E maps the 28x28 image to z (4x7x7); D maps it back. Diffusion is trained on such z's.")
    h, a, b = st.columns([1, 1, 1])
    charts.show(charts.heatmap_grid_vl(charts.grid_frame(z, cols=2), cell=16, scheme="redblue",
                                       domain=(-3, 3), title="z = E(x) (4 channels, 7x7)"), h)
    a.image(x_png, caption="x (a font digit)", width="stretch")
    b.image(rec_png, caption="D(E(x))", width="stretch")
