"""User text inside Streamlit's markdown boxes (st.error, st.warning, st.markdown, ...), as text.

Those boxes render markdown: a shared link's ``pg_dataset=[Session expired - sign in](https://evil)``
would become a clickable link inside the app's own warning, and ``![](http://host/pixel.png)`` would
make the visitor's browser fetch an outside URL. Backslash escapes are not enough: GFM still turns
``https\\://evil.example`` into a link (a browser test saw it). ``md`` therefore wraps the text in an
inline code span, whose content markdown shows literally (no links, autolinks, images, emphasis,
math or icons), with a fence longer than any run of backticks inside. Newlines become spaces, and
the text is cut to ``limit`` characters (a 1 MB message helps nobody).
"""
from __future__ import annotations

import re


def md(text: object, limit: int = 300) -> str:
    """``text`` as an inline code span for any markdown-rendering Streamlit element (shown literally)."""
    s = str(text)
    if len(s) > limit:
        s = s[:limit] + "..."
    s = " ".join(s.split())  # newlines, tabs, runs of spaces: one space (a code span is one line)
    fence = "`" * (1 + max((len(run) for run in re.findall(r"`+", s)), default=0))
    pad = " " if s[:1] == "`" or s[-1:] == "`" else ""  # a space only where a backtick touches the fence
    return f"{fence}{pad}{s}{pad}{fence}" if s else ""
