"""Glossary: the day's terms in a sentence or two, each with a link to the page that shows it."""
import streamlit as st

from dl_core import glossary
from ui.common import page_start, sidebar_status
from ui.nav import NAV

TITLES = {path: title for _, path, title, _ in NAV}

page_start("Glossary", "The words the day uses, in plain sentences. Type to filter; each term links to the "
           "page where you can see it at work.")
query = st.text_input("Filter", key="glossary_q", max_chars=50, placeholder="e.g. attention")
hits = glossary.search(query)
if not hits:
    st.info("No term matches that filter.")
for term, text, page in hits:
    with st.container(border=True):
        st.markdown(f"**{term}**")
        st.text(text)
        if page in TITLES:
            st.page_link(page, label=TITLES[page], icon=":material/arrow_forward:")

sidebar_status()
