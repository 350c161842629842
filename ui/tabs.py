"""Lazy tabs that remember their widgets.

A page's tabs are created with ``on_change="rerun"`` and each tab's body runs only ``if tab.open:``, so a
rerun does one tab's work, not all of them. But Streamlit drops the value of every widget that was not
drawn in a run: leave a tab and come back, and its sliders are back at their defaults. ``lazy_tabs``
keeps them: before the tabs are drawn it copies each widget value into a shadow dict in the session, and
when Streamlit has dropped one (its tab was closed) it writes the copy back through the Session State
API, which the widget picks up again when its tab reopens.

Only widgets whose values may be written that way are kept (sliders, inputs, selects, radios, toggles,
...): buttons, uploads and custom components are left alone, as a write to them would be refused.
"""
from __future__ import annotations

from collections.abc import Sequence

import streamlit as st

# Widget value types Streamlit lets the Session State API write (buttons are "trigger" values, uploads
# "file_uploader_state_value", custom components JSON: none of those may be written).
KEEPABLE = frozenset({"bool_value", "int_value", "double_value", "string_value", "int_array_value",
                      "double_array_value", "string_array_value"})


def _widget_types() -> dict[str, str]:
    """user key -> value type of every keyed widget this session drew on an earlier run (not yet this run)."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx
    from streamlit.runtime.state import get_session_state

    ctx = get_script_run_ctx()
    drawn = ctx.shared.widget_ids_this_run.snapshot() if ctx is not None else frozenset()  # drawn above the tabs: no writes
    safe = get_session_state()
    try:
        state, lock = object.__getattribute__(safe, "_state"), object.__getattribute__(safe, "_lock")
    except AttributeError:  # bare mode (no server, no AppTest): nothing to keep
        return {}
    types = {}
    keys = [k for k in st.session_state if isinstance(k, str)]  # user keys (the proxy hides widget ids)
    with lock:
        for key in keys:
            wid = state.get_widget_id_from_key(key)
            meta = state.get_widget_metadata(wid) if wid else None
            if meta is not None and wid not in drawn:
                types[key] = meta.value_type
    return types


SHADOW = "_lazy_tabs_kept"  # session key: {widget key: its last value while drawn}


def keep_widget_values(prefixes: tuple[str, ...], skip: Sequence[str] = ()) -> list[str]:
    """Remember every keepable widget value whose key starts with one of ``prefixes``, and give back the
    remembered value of each one Streamlit has dropped (its tab was closed); returns the restored keys.

    Only a dropped value is written back, in the one run in which its tab reopens: writing every value on
    every run would also resend it to the browser each time, over text someone is still typing."""
    shadow = st.session_state.setdefault(SHADOW, {})
    for key, value_type in _widget_types().items():
        if key.startswith(prefixes) and key not in skip and value_type in KEEPABLE:
            shadow[key] = st.session_state[key]
    restored = []
    for key, value in list(shadow.items()):
        if key.startswith(prefixes) and key not in st.session_state:
            st.session_state[key] = value
            restored.append(key)
    return restored


def lazy_tabs(labels: Sequence[str], key: str, keep: tuple[str, ...] | str, **tabs_kwargs) -> list:
    """``st.tabs(labels, key=key, on_change="rerun")`` whose hidden tabs keep their widget values.

    keep: the key prefix(es) of this page's widgets (e.g. ``"diff_"``). Run each tab's body under
    ``if tab.open:``. Other ``st.tabs`` arguments (e.g. ``bind="query-params"`` instead of the rerun)
    pass through.
    """
    keep_widget_values((keep,) if isinstance(keep, str) else tuple(keep), skip=(key,))
    if "bind" not in tabs_kwargs:
        tabs_kwargs.setdefault("on_change", "rerun")
    return st.tabs(list(labels), key=key, **tabs_kwargs)
