""""How good is this generator?": a model card's evaluation (``python -m dl_core.train judge-generators``)
as five numbers with one sentence each, and the precomputed guidance trade-off chart."""
from __future__ import annotations

import functools

import pandas as pd
import streamlit as st

from ui import charts
from ui.models import model_card

SENTENCES = {
    "accuracy": "**Accuracy**: the share of samples a classifier reads as the digit that was asked for. Two "
                "classifiers judge, the shipped CNN and a residual net trained apart with another seed, so a "
                "generator cannot score by pleasing one of them.",
    "confident": "**Confident**: a GAN is not asked for a digit, so this is the share of samples a classifier "
                 "reads as *some* digit with at least 90% certainty; two classifiers judge, as above.",
    "fd": "**Fréchet distance (FD)**: how far the cloud of samples lies from the cloud of the 10,000 real test "
          "digits in the second judge's 256-d features (lower is better). {n:,} real digits score "
          "**{floor:.1f}** too: that is the floor, not 0.",
    "diversity": "**Diversity**: the mean pixel distance between two samples of the same digit, over the same "
                 "for real digits. 1 is as varied as real handwriting; near 0, the model draws one digit over and over.",
    "ink": "**Ink**: the samples' mean brightness over that of real digits: below 100% the strokes are faint, above bold.",
}


def _pct(v: float) -> str:
    return f"{100 * v:.1f}%"


def panel(name: str, label: str) -> None:
    """The evaluation block for the shipped model ``name`` (a card in assets/)."""
    try:
        ev = model_card(name).get("evaluation")
    except FileNotFoundError:
        ev = None
    with st.container(border=True):
        st.markdown(f"**How good is this generator?** ({label})")
        if not ev:
            st.info("Not judged yet: run `python -m dl_core.train judge-generators`.")
            return
        key = "accuracy" if "accuracy_cnn" in ev else "confident"
        m = st.columns(5)
        m[0].metric(f"{key.capitalize()}, shipped CNN", _pct(ev[f"{key}_cnn"]))
        m[1].metric(f"{key.capitalize()}, second judge", _pct(ev[f"{key}_judge2"]))
        m[2].metric(f"FD (floor {ev['fd_floor']:.1f})", f"{ev['fd']:.1f}")
        m[3].metric("Diversity", f"{ev['diversity']:.2f}")
        m[4].metric("Ink vs real", f"{100 * ev['ink_ratio']:.0f}%")
        st.markdown("\n".join(f"- {SENTENCES[k].format(n=ev['samples'], floor=ev['fd_floor'])}"
                              for k in (key, "fd", "diversity", "ink")))
        how = ev.get("sampler", "the card's fixed noise")
        st.caption(f"{ev['samples']:,} samples ({how}), judged once when the model was shipped.")


def tradeoff(name: str, label: str, where=None) -> None:
    """The guidance sweep stored on the card: accuracy and diversity against the guidance scale w."""
    try:
        sweep = model_card(name).get("evaluation", {}).get("guidance_sweep")
    except FileNotFoundError:
        sweep = None
    if sweep:
        charts.show(_tradeoff_vl(name, label, tuple((p["guidance"], p["accuracy_cnn"], p["diversity"]) for p in sweep)),
                    where)


@functools.lru_cache(maxsize=8)
def _tradeoff_vl(name: str, label: str, points: tuple) -> charts.VL:
    rows = [{"guidance w": w, "measure": m, "value": v} for w, acc, div in points
            for m, v in (("accuracy (shipped CNN)", acc), ("diversity (1 = real digits)", div))]
    spec = {"title": f"{label}: guidance trades diversity for accuracy", "height": 260,
            "mark": {"type": "line", "point": True},
            "encoding": {"x": {"field": "guidance w", "type": "quantitative"},
                         "y": {"field": "value", "type": "quantitative", "title": "share / ratio"},
                         "color": {"field": "measure", "type": "nominal", "title": None},
                         "tooltip": [{"field": "guidance w"}, {"field": "measure"},
                                     {"field": "value", "format": ".3f"}]}}
    return charts.VL(pd.DataFrame(rows), spec)
