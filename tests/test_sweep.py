"""Browser sweep: every page of the sidebar navigation, every tab on it (nested tabs too), at a desktop
size and a phone size, in real Chromium against a real `streamlit run app.py`.

At every page and tab it fails on:
* an exception box, a page error, a console warning or error (Vega's included);
* a Vega chart that draws nothing: no mark item from data, a plot area squeezed to (almost) nothing, or a
  scale with a non-finite domain;
* a chart text cut short ("..." at the end of a title, axis title or label) or drawn outside its SVG;
* two visible charts, metrics or images whose boxes overlap (a chart spilling out of its column onto
  its neighbour, a legend under a metric).

Overlap: the boxes compared are what is drawn (a chart's SVG or canvas, which keeps its own size when it
is wider than its column; a metric's box; an image's <img>), for every pair in the main area. Columns
side by side and elements stacked in a block never intersect, and react-aria renders only the selected
panel of a tab group, so any pair that does intersect (by more than 2 px both ways) is a real defect:
no "same block" restriction is needed, and none would catch a chart spilling into the next column.

How the charts are read: Streamlit draws ``st.vega_lite_chart`` with vega-embed and keeps the Vega
``View`` in a React ref of the chart component. The test walks the React fiber of each ``.vega-embed``
element up to that component and takes the ``View`` from its hooks (an object with ``scenegraph`` and
``signal``). From the View it reads the plot size (``width()``, ``height()`` signals), every scale's
domain and the scenegraph's mark items, whatever the renderer (SVG or canvas). If a Streamlit upgrade
hides the View, the test fails (it does not skip the check).

Streamlit embeds every chart once with empty datasets and inserts the data right after; that first pass
makes Vega log ``Infinite extent for field "x": [Infinity, -Infinity]`` (and, for a log scale,
``Log scale domain includes zero: [,]``) for EVERY chart with a data-driven quantitative scale, even a
perfect one. Those two empty-data messages are therefore not failures by themselves; the final state
of every chart is checked instead (a scale that is still empty or infinite, no marks, a flat plot).

Pages with inputs that change the layout get extra states (SETUPS): the encoder-decoder page is also
swept with the 16-digit example, with each model; the CNN page with a font digit (its analysis tabs need
an input).
"""
from __future__ import annotations

import re
import time

import pytest

IDLE = "[data-testid=stApp][data-test-script-state=notRunning]"
SIZES = {
    "desktop": {"viewport": {"width": 1400, "height": 1000}},
    "phone": {"viewport": {"width": 390, "height": 844}, "has_touch": True, "is_mobile": True},
}
# noise that says nothing about the app: a worker warning, Streamlit probing its base path and host
# config from a deep link, resources from outside (no network in tests), and Vega's messages for the
# empty first pass described above (the final chart is checked instead)
BENIGN = re.compile(
    r"useWorker|Failed to load resource|ERR_NAME_NOT_RESOLVED|_stcore/(host-config|health)"
    r"|Infinite extent for field \"[^\"]*\": \[Infinity, -Infinity\]|Log scale domain includes zero: \[,\]")
MAX_TABS = 60  # per page and state: a guard against a loop, far above what any page has

# ---------------------------------------------------------------------------------------------- JS

TABS_JS = r"""() => {
  const label = el => (el.innerText || '').trim();
  const out = [];
  for (const t of document.querySelectorAll('[data-testid=stMain] [role=tab]')) {
    if (!t.checkVisibility()) continue;
    const path = [];
    for (let p = t.parentElement.closest('[role=tabpanel]'); p; p = p.parentElement.closest('[role=tabpanel]')) {
      const by = p.getAttribute('aria-labelledby');
      const owner = by && document.getElementById(by);
      path.unshift(owner ? label(owner) : '?');
    }
    out.push({key: [...path, label(t)].join(' > '), depth: path.length, selected: t.getAttribute('aria-selected') === 'true',
              controls: t.getAttribute('aria-controls') || ''});
  }
  return out;
}"""

# the Vega View of a .vega-embed element: Streamlit's chart component keeps it in a ref (see module docstring)
VIEW_JS = r"""
window.__sweepView = (el) => {
  const key = Object.keys(el).find(k => k.startsWith('__reactFiber$'));
  const isView = c => c && typeof c === 'object' && typeof c.scenegraph === 'function' && typeof c.signal === 'function';
  for (let f = key ? el[key] : null, depth = 0; f && depth < 40; f = f.return, depth++) {
    for (let s = f.memoizedState, n = 0; s && n < 80; s = s.next, n++) {
      const v = s.memoizedState;
      if (isView(v)) return v;
      if (v && typeof v === 'object' && isView(v.current)) return v.current;
    }
  }
  return null;
};
window.__sweepMarks = (view) => {  // items of data marks (not axes, legends, titles), counted through the scenegraph
  let n = 0;
  const guide = m => ['axis', 'legend', 'title'].some(r => (m.role || '').startsWith(r));
  const walk = (mark) => {
    if (guide(mark)) return;
    if (mark.marktype === 'group') { for (const g of mark.items || []) for (const m of g.items || []) walk(m); }
    else if (mark.role === 'mark') n += (mark.items || []).length;
  };
  walk(view.scenegraph().root);
  return n;
};
"""

CHARTS_READY_JS = r"""() => {
  if (!document.querySelector('[data-testid=stApp][data-test-script-state=notRunning]')) return false;
  for (const img of document.querySelectorAll('[data-testid=stMain] img')) if (!img.complete) return false;
  for (const e of document.querySelectorAll('[data-testid=stMain] .vega-embed')) {
    if (!e.checkVisibility()) continue;
    const v = window.__sweepView(e);
    if (!v || window.__sweepMarks(v) === 0) return false;
  }
  return true;
}"""

CHECK_JS = r"""() => {
  const problems = [];
  const main = document.querySelector('[data-testid=stMain]');
  const rect = el => { const r = el.getBoundingClientRect(); return {x: r.left, y: r.top, r: r.right, b: r.bottom}; };
  const name = (el, kind) => {
    const t = el.querySelector('.role-title-text, [data-testid=stMetricLabel], [data-testid=stImageCaption]');
    return kind + (t && t.textContent.trim() ? ' "' + t.textContent.trim().slice(0, 50) + '"' : '');
  };
  const boxes = [];
  for (const e of main.querySelectorAll('.vega-embed')) {
    if (!e.checkVisibility()) continue;
    const drawn = e.querySelector('svg, canvas');
    const label = name(e, 'chart');
    if (!drawn) { problems.push(label + ': nothing drawn'); continue; }
    boxes.push({label, ...rect(drawn)});
    const v = window.__sweepView(e);
    if (!v) { problems.push(label + ': no Vega View found (Streamlit changed?)'); continue; }
    if (window.__sweepMarks(v) === 0) problems.push(label + ': no mark drawn from data (empty axes)');
    const scales = (v._runtime && v._runtime.scales) || {};
    for (const s of Object.keys(scales)) {
      const sc = scales[s].value;
      const d = sc && sc.domain && sc.domain();
      if (!d || d.length === 0 || d.some(x => typeof x === 'number' && !Number.isFinite(x)))
        problems.push(`${label}: scale "${s}" has domain [${d}]`);
      const r = /(^|_)[xy]$/.test(s) && sc && sc.range ? sc.range() : [];  // position scales: the plot's extent
      if (r.length === 2 && r.every(Number.isFinite) && Math.abs(r[1] - r[0]) < 10)
        problems.push(`${label}: scale "${s}" spans ${Math.round(Math.abs(r[1] - r[0]))} px (plot squeezed flat)`);
    }
    const frame = drawn.getBoundingClientRect();
    for (const t of e.querySelectorAll('svg text')) {
      if (!t.textContent || t.closest('[opacity="0"]') || !t.checkVisibility({opacityProperty: true})) continue;
      if (t.textContent.endsWith('\u2026')) problems.push(`${label}: text cut: "${t.textContent}"`);
      const b = t.getBoundingClientRect();  // drawn outside the svg = clipped away
      const out = 5;  // px: a text box is taller and wider than its glyphs
      if (b.width > 0 && (b.top < frame.top - out || b.bottom > frame.bottom + out || b.left < frame.left - out || b.right > frame.right + out))
        problems.push(`${label}: text "${t.textContent.slice(0, 40)}" sticks out of the chart (cut): ` +
                      `text ${[b.left, b.top, b.right, b.bottom].map(Math.round)}, chart ${[frame.left, frame.top, frame.right, frame.bottom].map(Math.round)}`);
    }
  }
  for (const m of main.querySelectorAll('[data-testid=stMetric]')) if (m.checkVisibility()) boxes.push({label: name(m, 'metric'), ...rect(m)});
  for (const i of main.querySelectorAll('[data-testid=stImage] img')) if (i.checkVisibility()) {
    const c = i.closest('[data-testid=stImage]');
    boxes.push({label: name(c, 'image'), ...rect(i)});
  }
  const tol = 2;
  for (let a = 0; a < boxes.length; a++) for (let b = a + 1; b < boxes.length; b++) {
    const p = boxes[a], q = boxes[b];
    const w = Math.min(p.r, q.r) - Math.max(p.x, q.x), h = Math.min(p.b, q.b) - Math.max(p.y, q.y);
    if (w > tol && h > tol) problems.push(`${p.label} and ${q.label} overlap by ${Math.round(w)}x${Math.round(h)} px`);
  }
  return problems;
}"""


def _open(page, url: str, timeout_ms: int) -> None:
    page.goto(url)
    page.wait_for_selector(IDLE, timeout=timeout_ms)
    page.wait_for_selector("[data-testid=stMain] h1", timeout=timeout_ms)  # every page has a title


def _settle(page, timeout_ms: int, panel: str = "") -> None:
    """Wait until the script is idle, the clicked tab's panel has content, images are loaded and every
    visible chart has drawn marks; a chart that never draws is reported by the check, not here."""
    if panel:  # a lazy tab (on_change="rerun") has an empty panel until its rerun arrives
        page.wait_for_function(
            "(id) => { const p = document.getElementById(id); return p && p.querySelector('[data-testid=stElementContainer]')"
            " && document.querySelector('[data-testid=stApp][data-test-script-state=notRunning]'); }",
            arg=panel, timeout=timeout_ms)
    page.wait_for_selector(IDLE, timeout=timeout_ms)
    t0 = time.perf_counter()
    try:
        page.wait_for_function(CHARTS_READY_JS, timeout=30_000)
    except Exception:  # noqa: BLE001 - an empty chart stays empty; the check names it
        print(f"  (charts not all drawn after {time.perf_counter() - t0:.0f} s)")


def _explore(page, where: str, problems: dict, log: list, timeout_ms: int, min_depth: int = 0) -> None:
    """Check the current state, then click every visible tab not seen yet, deepest first (so nested tabs
    of the tab just opened come before its siblings), checking after each."""
    seen: set[str] = set()
    page_where = re.sub(r" \(.*\)$", "", where)  # "[size] page title"

    def check(label: str) -> None:
        print(f"  {time.strftime('%H:%M:%S')} {label}", flush=True)
        found = [f"exception box: {e.inner_text()[:200]}" for e in page.locator("[data-testid=stException]").all()]
        found += page.evaluate(CHECK_JS) + [c for c in log if not BENIGN.search(c)]
        log.clear()
        for p in found:  # a problem seen on a page is reported once, where it was first seen
            problems.setdefault((page_where, p), label)

    check(where)
    for _ in range(MAX_TABS):
        tabs = [t for t in page.evaluate(TABS_JS) if t["depth"] >= min_depth]
        seen.update(t["key"] for t in tabs if t["selected"])
        todo = [t for t in tabs if t["key"] not in seen]
        if not todo:
            return
        nxt = max(todo, key=lambda t: t["depth"])  # max keeps document order among equals
        seen.add(nxt["key"])
        tab = page.locator("[data-testid=stMain]").get_by_role("tab", name=nxt["key"].split(" > ")[-1], exact=True) \
            .locator("visible=true").first
        tab.click(timeout=timeout_ms)
        page.wait_for_function("(el) => el.getAttribute('aria-selected') === 'true'", arg=tab.element_handle(),
                               timeout=timeout_ms)
        panel = tab.get_attribute("aria-controls") or ""
        _settle(page, timeout_ms, panel)
        check(f"{where} / {nxt['key']}")
    problems[(where, f"more than {MAX_TABS} tabs visited, stopped")] = where


def _seq2seq_long(page, timeout_ms: int) -> None:
    page.locator("[data-testid=stMain] [data-testid=stButtonGroup] button").filter(
        has_text="1234567890123456").first.click()
    page.wait_for_function(  # the decoder's metric reads "Step n: chosen token" with n >= 16: the long input ran
        "() => [...document.querySelectorAll('[data-testid=stMain] [data-testid=stMetricLabel]')]"
        ".some(m => /Step (1[6-9]|[2-9][0-9])/.test(m.innerText))", timeout=timeout_ms)
    _settle(page, timeout_ms)


def _seq2seq_other_model(page, timeout_ms: int) -> None:
    caption = page.locator("[data-testid=stMain] [data-testid=stCaptionContainer]").first
    before = caption.inner_text()
    radios = page.locator("[data-testid=stMain]").get_by_role("radio")
    other = next(radios.nth(i) for i in range(radios.count()) if not radios.nth(i).is_checked())
    other.locator("xpath=ancestor::label[1]").click()
    page.wait_for_function("([el, before]) => el.innerText !== before", arg=[caption.element_handle(), before],
                           timeout=timeout_ms)  # the model card's caption names the other model
    _settle(page, timeout_ms)


def _cnn_font_digit(page, timeout_ms: int) -> None:
    page.locator("[data-testid=stMain] [data-testid=stButtonGroup] button").filter(has_text="Font digit").first.click()
    page.locator("[data-testid=stMain] [data-testid=stMetric]").filter(has_text="Prediction").wait_for(timeout=timeout_ms)
    _settle(page, timeout_ms)


# extra states of a page (by URL path), applied one after the other; each is swept with the tabs below the top level
SETUPS = {
    "cnn": [("a font digit", _cnn_font_digit)],
    "seq2seq": [("16 digits", _seq2seq_long), ("16 digits, the other model", _seq2seq_other_model)],
}


@pytest.fixture(scope="module")
def page_urls(browser, app_server) -> list[tuple[str, str]]:
    """(url, title) of every page in the sidebar navigation, read at desktop size."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    _open(page, app_server, 120_000)
    links = page.locator("[data-testid=stSidebarNav] a")
    links.first.wait_for(timeout=60_000)
    out = []
    for i in range(links.count()):
        href = links.nth(i).get_attribute("href") or ""
        title = links.nth(i).inner_text().strip().splitlines()[-1]
        out.append((href if href.startswith("http") else app_server.rstrip("/") + "/" + href.lstrip("/"), title))
    page.close()
    assert len(out) >= 8, out  # home + seven topics today; new pages are picked up automatically
    return out


@pytest.mark.parametrize("size", list(SIZES))
def test_every_page_and_tab(browser, app_server, page_urls, size):
    context = browser.new_context(**SIZES[size])
    page = context.new_page()
    page.add_init_script(VIEW_JS)
    log: list[str] = []
    page.on("console", lambda m: log.append(f"console {m.type}: {m.text}") if m.type in ("warning", "error") else None)
    page.on("pageerror", lambda e: log.append(f"page error: {e}"))
    problems: dict[tuple, str] = {}  # (page, problem) -> where it was first seen
    timings = []
    timeout_ms = 120_000
    try:
        for url, title in page_urls:
            t0 = time.perf_counter()
            log.clear()
            _open(page, url, timeout_ms)
            _settle(page, timeout_ms)
            _explore(page, f"[{size}] {title}", problems, log, timeout_ms)
            setups = SETUPS.get(url.rstrip("/").rsplit("/", 1)[-1], [])
            if setups:
                _open(page, url, timeout_ms)
                _settle(page, timeout_ms)
            for what, setup in setups:  # cumulative: each on top of the previous one
                setup(page, timeout_ms)
                _explore(page, f"[{size}] {title} ({what})", problems, log, timeout_ms, min_depth=1)
            timings.append(f"{title}: {time.perf_counter() - t0:.1f} s")
    finally:
        context.close()
    print(f"[{size}] " + "; ".join(timings))
    assert not problems, f"{len(problems)} problem(s):\n" + "\n".join(
        f"{w}: {p}" for (_, p), w in problems.items())
