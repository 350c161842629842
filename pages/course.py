"""Course: the day's agenda in order, with time boxes, links to each page and "try this" tasks."""
import streamlit as st

from dl_core import course
from ui import course as course_ui
from ui.common import page_start, show_code, sidebar_status

page_start(
    "Day 2: Introduction to PyTorch, RL & Transformers",
    "The whole day, in the order the course teaches it: tensors, autograd and `nn.Module`; the MNIST "
    "notebook and a CNN; RNNs and LSTMs; GANs; encoder-decoders; diffusion and latent diffusion; "
    "transformers; reinforcement learning. Every page runs real PyTorch models on this server and shows "
    "their code. Each section below has a few **try this** tasks: the app computes the right answer "
    "itself (from PyTorch or the shipped model) when you press *Check*.",
)

course_ui.agenda()
st.page_link("pages/glossary.py", label="Glossary: the day's terms in plain sentences", icon=":material/menu_book:")
for sec in course.AGENDA:
    course_ui.section(sec)
course_ui.progress()
show_code(course.check, course.Task, title="Show the code (how answers are checked)")

sidebar_status()
