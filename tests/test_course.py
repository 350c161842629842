"""The Course page: agenda order, computed answers, checks, "next" links, and a browser walk through the day."""
from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
from streamlit.testing.v1 import AppTest

from dl_core import course, glossary
from ui import nav

ROOT = Path(__file__).resolve().parent.parent
COURSE_ORDER = ["tensors", "autograd", "module", "notebook", "cnn", "rnn", "gan", "seq2seq", "diffusion",
                "transformer", "real", "rl"]
IDLE = "[data-testid=stApp][data-test-script-state=notRunning]"


def test_agenda_follows_the_course_and_the_sidebar_follows_the_agenda():
    assert [s.key for s in course.AGENDA] == COURSE_ORDER
    nav_pages = [p for _, p, _, _ in nav.NAV]
    agenda_pages = list(dict.fromkeys(s.page for s in course.AGENDA if s.page in nav_pages))
    # the sidebar lists the agenda's pages in the agenda's order
    assert [p for p in nav_pages if p in agenda_pages] == agenda_pages
    assert nav.NAV[0][1] == "pages/course.py"
    assert all(2 <= len(s.tasks) + 1 <= 4 for s in course.AGENDA)  # 1-3 tasks per section
    times = course.start_times()
    assert times[0] == "09:00" and times == sorted(times)


def test_answers_are_computed_by_pytorch():
    by_key = {t.key: t for s in course.AGENDA for t in s.tasks}
    assert by_key["permute"].answer() == (4, 2, 3)
    assert by_key["broadcast"].answer() == (3, 4)
    assert by_key["grad"].answer() == pytest.approx(12.0)
    assert by_key["accumulate"].answer() == pytest.approx(10.0)
    assert by_key["linear"].answer() == 320 * 50 + 50
    assert by_key["cnn_params"].answer() == 21_840
    assert by_key["batches"].answer() == math.ceil(60_000 / 64)
    assert by_key["conv1"].answer() == (10, 24, 24)
    from dl_core import diffusion
    t = by_key["alpha"].answer()
    ab = diffusion.make_schedule("linear", 1000).alpha_bar
    assert ab[t] < 0.5 <= ab[t - 1]
    assert by_key["discount"].answer() == pytest.approx(0.729)
    assert by_key["causal"].answer() == 15
    assert 1 <= by_key["cross"].answer() <= 8


@pytest.mark.parametrize("task", [t for s in course.AGENDA for t in s.tasks if t.key != "wrong"], ids=lambda t: t.key)
def test_every_task_accepts_its_answer_and_rejects_others(task):
    right = task.answer()
    if task.kind == "shape":
        text, wrong = ", ".join(map(str, right)), ", ".join(str(v + 1) for v in right)
    elif task.kind == "choice":
        text, wrong = str(right), next(o for o in task.options if o != right)
    else:
        text, wrong = f"{right:g}" if isinstance(right, float) else str(right), str(float(right) + 7)
    assert course.check(task, text).ok, text
    assert not course.check(task, wrong).ok, wrong
    assert not course.check(task, "").ok
    assert not course.check(task, "9" * 10_000).ok  # refused unread, no error


def test_find_a_mistake_uses_what_the_cnn_page_recorded():
    task = next(t for s in course.AGENDA for t in s.tasks if t.key == "wrong")
    assert not course.check(task, "7", {}).ok  # nothing drawn yet
    assert not course.check(task, "7", {"cnn_last_pred": 7}).ok  # the CNN was right
    assert course.check(task, "7", {"cnn_last_pred": 1}).ok
    assert not course.check(task, "12", {"cnn_last_pred": 1}).ok


def test_next_links_walk_the_whole_navigation():
    seen, page = [], nav.NAV[0][1]
    while page:
        seen.append(page)
        nxt = nav.following(page)
        page = nxt[0] if nxt else None
    assert seen == [p for _, p, _, _ in nav.NAV]


def test_glossary_search():
    assert any(t == "softmax" for t, _, _ in glossary.search("certainty"))
    assert len(glossary.search("")) == len(glossary.TERMS)
    assert glossary.search("no such term anywhere") == []
    assert all(p.startswith("pages/") for _, p in glossary.TERMS.values())


def test_course_page_checks_answers_in_apptest():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    assert not at.exception
    at.text_input(key="course_ans_permute").set_value("4, 2, 3")
    at.text_input(key="course_ans_broadcast").set_value("3, 5")
    at.button(key="FormSubmitter:course_form_tensors-Check my answers").click().run()
    assert not at.exception
    assert len(at.success) == 1 and len(at.warning) == 1
    assert "1 of" in at.get("progress")[0].proto.text


def test_walk_the_agenda_by_next_links(browser, app_server):
    """From the Course page, follow "Next: ..." to the end: every page in the navigation is visited."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        page.goto(app_server)
        page.wait_for_selector(IDLE, timeout=60_000)
        titles = [page.locator("h1").first.inner_text(timeout=60_000)]
        for _, _, title, _ in nav.NAV[1:]:
            link = page.locator("[data-testid=stPageLink] a").filter(has_text=f"Next: {title}")
            link.wait_for(timeout=60_000)
            link.click()
            page.wait_for_url(f"**/{Path(_script(title)).stem}", timeout=60_000)
            page.wait_for_selector(IDLE, timeout=120_000)
            titles.append(page.locator("h1").first.inner_text(timeout=60_000))
        assert len(titles) == len(nav.NAV)
        assert page.locator("[data-testid=stPageLink] a").filter(has_text="Next:").count() == 0
    finally:
        page.close()


def _script(title: str) -> str:
    return next(p for _, p, t, _ in nav.NAV if t == title)


def test_presenter_mode_from_the_url_and_the_toggle():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.query_params["present"] = "1"
    at.run()
    assert not at.exception
    assert at.toggle(key="present_mode").value is True
    assert any("--dlv-present" in str(h.proto) for h in at.get("html"))
    at.toggle(key="present_mode").set_value(False).run()
    assert not any("--dlv-present" in str(h.proto) for h in at.get("html"))
    assert "present" not in at.query_params


def test_presenter_dot_fonts_are_at_least_16():
    import re

    import streamlit as st

    from ui import present
    src = 'digraph { node [fontsize=10]; a [label="x", fontsize=8]; a -> b [label="y", fontsize=9]; }'
    st.session_state[present.KEY] = True
    try:
        sizes = [float(v) for v in re.findall(r"fontsize=([\d.]+)", present.dot(src))]
    finally:
        del st.session_state[present.KEY]
    assert sizes and min(sizes) >= 16
    assert present.dot(src) == src  # unchanged outside presenter mode


def test_arrow_keys_step_the_kernel_window(browser, app_server):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        page.goto(app_server + "/cnn")
        page.wait_for_selector(IDLE, timeout=60_000)
        page.get_by_text("Font digit").first.click()
        page.locator(".st-key-cnn_kernel_pos").wait_for(timeout=60_000)
        page.wait_for_function("() => document.querySelector('.st-key-cnn_kernel_pos input[type=range]')"
                               "?.value === '0'", timeout=60_000)
        page.locator("h1").first.click()  # focus on the page, not on an input
        page.keyboard.press("ArrowRight")
        page.wait_for_function("() => document.querySelector('.st-key-cnn_kernel_pos input[type=range]')"
                               "?.value === '1'", timeout=60_000)
        page.keyboard.press("ArrowRight")
        page.wait_for_function("() => document.querySelector('.st-key-cnn_kernel_pos input[type=range]')"
                               "?.value === '2'", timeout=60_000)
        page.keyboard.press("ArrowLeft")
        page.wait_for_function("() => document.querySelector('.st-key-cnn_kernel_pos input[type=range]')"
                               "?.value === '1'", timeout=60_000)
    finally:
        page.close()


def test_phone_sidebar_closes_after_picking_a_page(browser, app_server):
    ctx = browser.new_context(viewport={"width": 390, "height": 844}, has_touch=True, is_mobile=True)
    page = ctx.new_page()
    try:
        page.goto(app_server)
        page.wait_for_selector(IDLE, timeout=60_000)
        is_open = ("() => { const r = document.querySelector('[data-testid=stSidebar]')?.getBoundingClientRect();"
                   " return !!r && r.right > 0 && r.width > 0; }")
        assert not page.evaluate(is_open), "a phone starts with the sidebar closed"
        page.wait_for_function("() => window.__dlvKeys === true", timeout=60_000)  # ui.present's script is loaded
        page.locator("[data-testid=stExpandSidebarButton]").first.click()
        page.wait_for_function("() => { const r = document.querySelector('[data-testid=stSidebar]')"
                               "?.getBoundingClientRect(); return !!r && r.x === 0 && r.width > 200; }",
                               timeout=30_000)  # fully open, as a finger would wait for
        page.locator("[data-testid=stSidebarNav] a").filter(has_text="Glossary").click()
        page.wait_for_url("**/glossary", timeout=60_000)
        page.wait_for_function(f"() => !({is_open})()", timeout=30_000)
        page.locator("h1").filter(has_text="Glossary").wait_for(timeout=60_000)
    finally:
        ctx.close()


def test_arrow_keys_step_the_transformer_decoding(browser, app_server):
    """A step slider (not a button): Right moves the transformer's decoding step by one."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    value = "() => document.querySelector('[class*=st-key-tf_dec_step_] input[type=range]')?.value"
    try:
        page.goto(app_server + "/transformer")
        page.wait_for_selector(IDLE, timeout=60_000)
        page.get_by_role("tab", name="Decoding").first.click()
        page.wait_for_function(f"() => ({value})() === '1'", timeout=120_000)
        page.wait_for_function("() => window.__dlvKeys === true", timeout=60_000)
        page.locator("h1").first.click()
        page.keyboard.press("ArrowRight")
        page.wait_for_function(f"() => ({value})() === '2'", timeout=60_000)
    finally:
        page.close()


def test_my_digit_travels_from_the_cnn_page():
    """A digit drawn (here: picked) on the CNN page is offered to diffusion and the autoencoder."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.switch_page("pages/cnn.py").run()
    at.button_group(key="cnn_source").set_value("Font digit").run()
    at.selectbox(key="cnn_font_digit").set_value(2).run()
    mine = at.session_state["my_digit"]
    assert mine.shape == (28, 28) and mine.max() > 0.5
    at.switch_page("pages/diffusion.py").run()
    assert not at.exception
    assert at.button_group(key="diff_source").value == "My digit (CNN page)"
    at.switch_page("pages/seq2seq.py").run()
    assert not at.exception
