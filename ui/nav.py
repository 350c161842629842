"""The app's navigation in the course's order, and the "next ->" link at the end of every page.

One list, NAV, decides the sidebar (app.py builds st.navigation from it), the Course page's agenda
links and each page's "next" link, so the three can never disagree again.
"""
from __future__ import annotations

import streamlit as st

# (sidebar section, script, title, icon), in the order of the day
NAV = (
    ("Start", "pages/course.py", "Course: the day", ":material/school:"),
    ("1 · Foundations", "pages/basics.py", "PyTorch basics", ":material/functions:"),
    ("1 · Foundations", "pages/cnn.py", "CNN: see your digit", ":material/draw:"),
    ("2 · Sequences and generation", "pages/rnn.py", "RNN and LSTM gates", ":material/repeat:"),
    ("2 · Sequences and generation", "pages/gan.py", "GAN: watch it learn", ":material/compare_arrows:"),
    ("2 · Sequences and generation", "pages/seq2seq.py", "Encoder-decoder", ":material/swap_horiz:"),
    ("2 · Sequences and generation", "pages/diffusion.py", "Diffusion: noise to digit", ":material/blur_on:"),
    ("3 · Attention and agents", "pages/transformer.py", "Transformer attention", ":material/hub:"),
    ("3 · Attention and agents", "pages/real_attention.py", "Real model attention", ":material/psychology:"),
    ("3 · Attention and agents", "pages/rl.py", "Reinforcement learning", ":material/sports_esports:"),
    ("Reference", "pages/glossary.py", "Glossary", ":material/menu_book:"),
)


def navigation():
    """st.navigation over NAV, grouped by section, the Course page as the default ("/")."""
    sections: dict[str, list] = {}
    for i, (section, path, title, icon) in enumerate(NAV):
        sections.setdefault(section, []).append(st.Page(path, title=title, icon=icon, default=i == 0))
    return st.navigation(sections)


def _script(page) -> str:
    """'pages/cnn.py' for a StreamlitPage (its script path relative to the app's folder)."""
    path = str(getattr(page, "_page", ""))
    return "pages/" + path.replace("\\", "/").rsplit("/", 1)[-1] if path else ""


def following(script: str) -> tuple[str, str] | None:
    """(script, title) of the page after ``script`` in the course, or None for the last one."""
    order = [(p, t) for _, p, t, _ in NAV]
    for (p, _), nxt in zip(order, order[1:]):
        if p == script:
            return nxt
    return None


def next_link(page) -> None:
    """A "Next: ..." link at the bottom of the page being shown (none after the last one)."""
    nxt = following(_script(page))
    if nxt is not None:
        st.divider()
        st.page_link(nxt[0], label=f"Next: {nxt[1]}", icon=":material/arrow_forward:")
