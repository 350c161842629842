"""Deep Learning, Visually: the router. Each topic is one script in pages/, in the course's order (ui/nav.py)."""
import streamlit as st

from ui import present
from ui.nav import navigation, next_link

st.set_page_config(page_title="Deep Learning, Visually", page_icon=":material/neurology:", layout="wide",
                   initial_sidebar_state="collapsed" if present.on() else "auto")

pg = navigation()
present.apply()  # presenter mode (?present=1 or the sidebar toggle) and arrow-key stepping
pg.run()
next_link(pg)
