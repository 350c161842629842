"""Glue every page uses: the cached device, the page header, the sidebar status, "Show the code"."""
from __future__ import annotations

import functools
import inspect
import os
import threading
import time

import streamlit as st
import torch
from streamlit.runtime import Runtime
from streamlit.runtime.pages_manager import PagesManager

from dl_core.device import describe, pick_device


@st.cache_resource
def device() -> torch.device:
    """Chosen once per server process (dl_core.device decides; DLV_DEVICE overrides).

    One server process serves every participant, each interaction on one of its threads: torch's
    intra-op threads would only fight over the same cores. DLV_TORCH_THREADS (default 1) sets them.
    """
    torch.set_num_threads(int(os.environ.get("DLV_TORCH_THREADS", "1")))
    return pick_device()


def page_start(title: str, intro: str) -> None:
    """Title, a few sentences on what the page shows, and the start of the compute timer."""
    if PagesManager.uses_pages_directory:
        # Streamlit sees our pages/ folder and, when a fresh server's first visitor opens a page URL
        # directly (e.g. /cnn), runs that page in its legacy multipage mode without app.py. Switch
        # the legacy mode off and rerun, so app.py's st.navigation routes this and every later run.
        # (AppTest starts every run in that mode on purpose; a rerun there would drop button clicks.)
        PagesManager.uses_pages_directory = False
        if type(Runtime._instance) is Runtime:  # a real server, not AppTest's mock
            st.rerun()
    st.session_state["_page_t0"] = time.perf_counter()
    st.title(title)
    st.markdown(intro)


def sidebar_status() -> None:
    """Device, torch version and how long this interaction's script run took on the server."""
    t0 = st.session_state.get("_page_t0")
    with st.sidebar:
        st.caption(f"**Device:** {describe(device())}  \n**PyTorch:** {torch.__version__}")
        if t0 is not None:
            ms = (time.perf_counter() - t0) * 1000
            st.caption(f"**Last interaction:** {ms:.0f} ms of compute on the server")


_source_lock = threading.Lock()


def set_state(key: str, value=True) -> None:
    """Button callback: set a session-state flag. A click seen by a callback survives any rerun of the
    script, and the callback runs before the script, so the page is drawn knowing about the click.
    Never memoize it: one server serves everyone, so a cached click would work once per server."""
    st.session_state[key] = value


@functools.lru_cache(maxsize=256)
def _source(obj) -> tuple[str, str]:
    # inspect parses files with ast, which is not thread-safe in Python 3.11: one lock, once per object
    with _source_lock:
        return f"{inspect.getmodule(obj).__name__}.{obj.__qualname__}", inspect.getsource(obj)


def show_code(*objects, title: str = "Show the code") -> None:
    """An expander with the real source of dl_core functions/classes (read with inspect, never copied)."""
    with st.expander(title):
        for obj in objects:
            name, source = _source(obj)
            st.caption(f"`{name}`")
            st.code(source, language="python")


def placeholder(title: str, what: str, issue: str) -> None:
    """A page whose topic has not been built yet says so plainly."""
    page_start(title, what)
    st.info(f"**Coming soon.** This page is a placeholder: {issue} It is not built yet.", icon=":material/construction:")
    sidebar_status()
