"""User text inside Streamlit's markdown boxes (st.error, st.warning, st.markdown, ...), as text.

Those boxes render markdown: a shared link's ``pg_dataset=[Session expired - sign in](https://evil)``
would become a clickable link inside the app's own warning, and ``![](http://host/pixel.png)`` would
make the visitor's browser fetch an outside URL. ``md`` backslash-escapes the ASCII punctuation that
markdown (CommonMark, GFM autolinks, Streamlit's ``:icon:``/``:color[..]`` and ``$math$``) turns into
links, images, code or markup, so whatever the visitor typed is shown literally. Newlines become spaces, and the
text is cut to ``limit`` characters (a 1 MB message helps nobody).
"""
from __future__ import annotations

import re

# What turns text into something else: links and images ([ ]), autolinks (https: , <...>, www., a@b),
# code and emphasis (` * _ ~), headings (#), tables (|), math ($), Streamlit's :icon: and :red[..].
_PUNCT = re.compile(r"([\\`*_{}\[\]<>#|~$:&@])")
_WWW = re.compile(r"(?i)\b(www)\.")


def md(text: object, limit: int = 300) -> str:
    """``text`` escaped for any markdown-rendering Streamlit element (shown literally, one line)."""
    s = str(text)
    if len(s) > limit:
        s = s[:limit] + "..."
    s = " ".join(s.split())  # newlines, tabs and runs of spaces: one space (no headings, lists, code blocks)
    return _WWW.sub(r"\1\\.", _PUNCT.sub(r"\\\1", s))
