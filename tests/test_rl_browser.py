"""The RL page in a real browser: a click on a grid cell edits the world; two participants (two browser
contexts) train at once in worker processes and never see each other's job."""
from __future__ import annotations

from playwright.sync_api import expect

IDLE = "[data-testid=stApp][data-test-script-state=notRunning]"
CELL = "[data-testid=stVegaLiteChart] svg path[aria-roledescription='rect mark']"


def open_rl(browser, url: str, tab: str | None = None):
    ctx = browser.new_context(viewport={"width": 1400, "height": 1400})
    pg = ctx.new_page()
    pg.goto(url + "/rl", timeout=120_000)
    pg.wait_for_selector(IDLE, timeout=120_000)
    if tab:
        pg.get_by_role("tab", name=tab).click()
        expect(pg.get_by_text("Train your own", exact=True)).to_be_visible(timeout=120_000)
    return ctx, pg


def test_click_a_cell_turns_it_into_a_wall(browser, app_server):
    ctx, pg = open_rl(browser, app_server)
    try:
        first = pg.locator(CELL).first  # row 0, col 0: empty in the default grid
        expect(first).to_have_attribute("aria-label", "c: 0; r: 0; V(s): 0; kind: empty; row: 0; col: 0", timeout=60_000)
        pg.locator("[data-testid=stButtonGroup] button", has_text="wall").first.click()
        pg.wait_for_selector(IDLE)
        first.click()
        expect(pg.locator(CELL).first).to_have_attribute("aria-label", "c: 0; r: 0; V(s): 0; kind: wall; row: 0; col: 0",
                                                          timeout=60_000)
    finally:
        ctx.close()


def test_two_sessions_train_at_once_and_see_only_their_own_job(browser, app_server):
    ctx_a, a = open_rl(browser, app_server, "DQN on CartPole")
    ctx_b, b = open_rl(browser, app_server, "TD3 on Pendulum")
    try:
        a.get_by_role("button", name="Start training").click()
        expect(a.get_by_text("Running for").first).to_be_visible(timeout=120_000)
        expect(a.get_by_text("TD loss").last).to_be_visible(timeout=120_000)  # live curves arrive
        b.reload()
        b.wait_for_selector(IDLE, timeout=120_000)
        b.get_by_role("tab", name="TD3 on Pendulum").click()
        expect(b.get_by_text("No training run yet in this session.")).to_be_visible(timeout=120_000)
        expect(b.get_by_text("Running for")).to_have_count(0)
        b.get_by_role("button", name="Start training").click()
        expect(b.get_by_text("Running for").first).to_be_visible(timeout=120_000)
        expect(b.get_by_text("critic loss").last).to_be_visible(timeout=120_000)
        a.get_by_role("button", name="Stop").click()  # A clicks again: only A's job stops
        expect(a.get_by_text("Stopped.").first).to_be_visible(timeout=60_000)
        expect(b.get_by_text("Running for").first).to_be_visible()
        b.get_by_role("button", name="Stop").click()
        expect(b.get_by_text("Stopped.").first).to_be_visible(timeout=60_000)
    finally:
        ctx_a.close()
        ctx_b.close()
