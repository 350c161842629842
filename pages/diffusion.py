"""Diffusion page: noise your own digit, then watch a real model turn noise into a digit, step by step."""
import streamlit as st

from dl_core import diffusion as D
from dl_core import latent, unet
from ui import diffusion_charts as dc
from ui import diffusion_forward, diffusion_latent, diffusion_sampling, gen_quality
from ui.common import page_start, show_code, sidebar_status
from ui.diffusion_models import LATENT, PIXEL, card, default_guidance, final_samples, run_total, sampled_settings
from ui.tabs import lazy_tabs

page_start(
    "Diffusion: from your digit to noise, and from noise to a digit",
    "A diffusion model learns to undo noise. **Forward:** take a digit and mix in Gaussian noise until "
    "nothing is left; that needs no learning, just a schedule. **Reverse:** a small U-Net, trained here on "
    "MNIST, predicts the noise in a noisy image; subtracting it a little at a time turns pure noise into a "
    "digit of the class you ask for. Everything below runs live on this server's CPU.",
)

try:
    pixel_card, latent_card = card(PIXEL), card(LATENT)
except FileNotFoundError:
    st.error("The shipped diffusion weights are missing: run `python -m dl_core.train diffusion` first.")
    st.stop()


def _score(c: dict) -> str:
    if "judge_accuracy" not in c:
        return "not judged yet"
    return (f"**{100 * c['judge_accuracy']:.1f}%** of {c['judge_samples']:,} samples read as the requested "
            f"digit by the shipped CNN ({c['judge_sampler']})")


st.caption(f"Pixel U-Net: {pixel_card['parameters']:,} parameters, {int(run_total(pixel_card, 'steps')):,} training steps; "
           f"{_score(pixel_card)}. Latent model: {latent_card['parameters']:,} parameters, {int(run_total(latent_card, 'steps')):,} "
           f"steps; {_score(latent_card)}. Both were trained on a 2-core CPU in about an hour. How good "
           "each one really is (two judges, FD, diversity, ink) is shown under the samples.")

g0 = {"pixel": default_guidance("pixel"), "latent": default_guidance("latent")}
TABS = ["1. Forward: noise your digit", "2. Reverse: noise to digit", "3. Compare settings", "4. Latent diffusion"]
# Only the open tab runs (on_change="rerun"): a rerun does one tab's work, not four.
fwd, rev, cmp_tab, lat = lazy_tabs(TABS, "diff_tab", keep="diff_")  # hidden tabs keep their widget values
if fwd.open:
    with fwd:
        diffusion_forward.tab()
        show_code(D.make_schedule, D.cosine_betas, D.q_sample, title="Show the code (schedules, q_sample)")

if rev.open:
    with rev:
        diffusion_sampling.tab(g0)
        show_code(D.ddpm_step, D.ddpm_sample, D.ddim_sample, D.guided_eps, unet.UNet,
                  title="Show the code (samplers, guidance, U-Net)")


@st.fragment
def compare() -> None:
    st.markdown("Same class, same seed (so the same starting noise), one setting changed. Higher guidance "
                "makes digits bolder and more alike; fewer DDIM steps is faster and, down to a point, "
                "just as good.")
    c1, c2, c3 = st.columns(3)
    what = c1.radio("Compare", ["guidance", "steps"], key="diff_cmp_what", horizontal=True,
                    format_func={"guidance": "two guidance scales", "steps": "two DDIM step counts"}.get)
    digit = c2.selectbox("Digit class", list(range(10)), index=7, key="diff_cmp_class")
    model = c3.radio("Model", ["pixel", "latent"], key="diff_cmp_model", horizontal=True)
    gen_quality.tradeoff(PIXEL if model == "pixel" else LATENT, "Pixel U-Net" if model == "pixel" else "Latent model")
    a, b = st.columns(2)
    if what == "guidance":
        ga = a.slider("Guidance A", 0.0, 8.0, 1.0, 0.5, key="diff_cmp_ga")
        # one B slider per model, each starting at that model's own default scale
        gb = b.slider("Guidance B", 0.0, 8.0, g0[model], 0.5, key=f"diff_cmp_gb_{model}")
        settings = [(ga, 25), (gb, 25)]
    else:
        sa = a.slider("DDIM steps A", 10, 100, 10, 5, key="diff_cmp_sa")
        sb = b.slider("DDIM steps B", 10, 100, 50, 5, key="diff_cmp_sb")
        settings = [(g0[model], sa), (g0[model], sb)]
    current = (model, int(digit), tuple(settings))
    shown = sampled_settings("diff_cmp_shown", current, "Sample both", "diff_cmp_go", icon=":material/compare:")
    shown_model, shown_digit, shown_settings = shown
    if shown != current:
        st.caption("Settings changed: press **Sample both** to see them. Showing: "
                   f"{shown_model} model, digit {shown_digit}.")
    for col, (g, steps) in zip((a, b), shown_settings):
        with col, st.spinner("Sampling ..."):
            imgs, secs = final_samples(shown_model, shown_digit, 8, 0, float(g), int(steps))
            col.image(_grid_png(imgs), width="stretch")
            col.caption(f"w = {g}, {steps} DDIM steps: {secs:.2f} s")


@st.cache_data(max_entries=64, show_spinner=False)
def _grid_png(imgs) -> bytes:
    return dc.to_png_gray(dc.tile(imgs, 4), 4)


if cmp_tab.open:
    with cmp_tab:
        compare()

if lat.open:
    with lat:
        diffusion_latent.tab(g0["latent"])
        show_code(latent.AutoEncoder, latent.cross_attention, latent.LatentDenoiser,
                  title="Show the code (autoencoder, cross-attention, latent denoiser)")

sidebar_status()
