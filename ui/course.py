"""The Course page's pieces: the agenda table and each section's "try this" tasks, checked on submit."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from dl_core import course
from ui.nav import NAV

TITLES = {path: title for _, path, title, _ in NAV}


def agenda() -> None:
    """The day at a glance: start time, time box, section, what it teaches."""
    rows = [{"start": t, "minutes": s.minutes, "section": s.title, "page": TITLES.get(s.page, "coming later"),
             "what you learn": s.teaches} for t, s in zip(course.start_times(), course.AGENDA)]
    st.table(pd.DataFrame(rows).set_index("start"))  # a static table: long cells wrap instead of being cut
    st.caption("Lunch (60 min) follows the CNN section. Each section's page is one click away below, and every "
               "page ends with a link to the next one.")


def _answer_widget(task: course.Task, key: str):
    if task.kind == "choice":
        return st.radio(task.prompt, task.options, index=None, key=key)
    return st.text_input(task.prompt, key=key, max_chars=course.MAX_ANSWER_CHARS,
                         placeholder="e.g. 3, 4" if task.kind == "shape" else "a number")


def section(sec: course.Section) -> None:
    """One section: its page link, then its tasks in a form; answers are checked when submitted."""
    with st.container(border=True):
        st.subheader(sec.title)
        st.markdown(f"{sec.teaches} *({sec.minutes} min)*")
        if sec.page in TITLES:
            st.page_link(sec.page, label=f"Open: {TITLES[sec.page]}", icon=":material/open_in_new:")
        else:
            st.caption("This section's page is not in the app yet.")
        with st.form(f"course_form_{sec.key}", border=False):
            st.markdown("**Try this**")
            for task in sec.tasks:
                _answer_widget(task, f"course_ans_{task.key}")
            submitted = st.form_submit_button("Check my answers", icon=":material/task_alt:")
        if submitted:
            st.session_state[f"course_checked_{sec.key}"] = True
        if st.session_state.get(f"course_checked_{sec.key}"):
            context = {"cnn_last_pred": st.session_state.get("course_cnn_last_pred")}
            for task in sec.tasks:
                given = st.session_state.get(f"course_ans_{task.key}") or ""
                verdict = course.check(task, str(given), context)
                (st.success if verdict.ok else st.warning)(verdict.message, icon=":material/check:" if verdict.ok
                                                            else ":material/help:")


def progress() -> None:
    """How many tasks of the day this participant has answered right (this session only)."""
    context = {"cnn_last_pred": st.session_state.get("course_cnn_last_pred")}
    tasks = [t for s in course.AGENDA for t in s.tasks]
    done = sum(course.check(t, str(st.session_state.get(f"course_ans_{t.key}") or ""), context).ok
               for s in course.AGENDA if st.session_state.get(f"course_checked_{s.key}") for t in s.tasks)
    st.progress(done / len(tasks), text=f"{done} of {len(tasks)} tasks solved")
