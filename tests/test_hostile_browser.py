"""Hostile API text in the real browser: HTML, Markdown, 10,000-character strings and unusual Unicode in
flag keys, names, descriptions, member names and emails and variation values are shown as text in
tables, charts, tooltips, selects and headers alike, and nothing in them ever runs."""

from __future__ import annotations

import contextlib
import re
from urllib.parse import urlencode

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from ldclient.demo import default_now_ms, start_server_in_thread
from tests.conftest import screenshot, start_app
from tests.hostile import (
    FLAG_IMG,
    FLAG_LONG,
    FLAG_MARKDOWN,
    FLAG_SCRIPT,
    FLAG_STALE,
    FLAG_UNICODE,
    IMG,
    MARKDOWN,
    PROJECT,
    SCRIPT,
    UNICODE,
    hostile_account,
)
from tests.support import wait_ready

pytestmark = pytest.mark.browser

# Everything that would betray API text treated as markup, checked in the live DOM.
DOM_PROBE = """() => {
  const all = [...document.querySelectorAll('*')];
  return {
    xss: typeof window.__xss === 'undefined' ? null : String(window.__xss),
    imgX: [...document.querySelectorAll('img')].filter(i => i.getAttribute('src') === 'x').length,
    scripts: [...document.querySelectorAll('script')].filter(s => s.textContent.includes('__xss')).length,
    handlers: all.filter(el => [...el.attributes].some(a => a.name.startsWith('on') && a.value.includes('__xss'))).length,
    jsLinks: [...document.querySelectorAll('a[href]')].filter(a => /^\\s*javascript:/i.test(a.getAttribute('href'))).length,
    boldFromApi: [...document.querySelectorAll('strong, b')].filter(b => b.textContent === 'bold').length,
    emFromApi: [...document.querySelectorAll('em, i')].filter(b => b.textContent === 'em').length,
  };
}"""
WIDE = {"width": 3200, "height": 1000}
CLEAN = {"xss": None, "imgX": 0, "scripts": 0, "handlers": 0, "jsLinks": 0, "boldFromApi": 0, "emFromApi": 0}


@pytest.fixture(scope="module")
def hostile_app(tmp_path_factory):
    account = hostile_account(7, default_now_ms())
    with start_server_in_thread(account) as server:
        app = start_app(
            tmp_path_factory.mktemp("hostile") / "cache",
            {"LD_API_TOKEN": "api-hostile-test", "LD_BASE_URL": server.base_url},
        )
        try:
            yield app
        finally:
            app.proc.terminate()
            app.proc.wait(10)


@pytest.fixture
def guarded(page):
    """The page, with every dialog (alert, confirm, prompt) recorded and dismissed."""
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    yield page, dialogs


def assert_inert(page, dialogs: list[str], where: str) -> None:
    assert page.evaluate(DOM_PROBE) == CLEAN, where
    assert dialogs == [], where
    html = page.content()
    outside_attributes = re.sub(
        r'="[^"]*"', '=""', html
    )  # attribute values may hold the text, escaped or not
    assert not re.search(r"<img\b[^>]*\bonerror=|<script>window\.__xss", outside_attributes), where
    assert "Traceback" not in page.inner_text("body"), where


def open_page(page, url: str, *, scroll: bool = False) -> None:
    page.goto(url)
    wait_ready(page)
    if scroll:  # charts below the fold are drawn once scrolled to
        page.mouse.move(700, 500)
        for _ in range(4):
            page.mouse.wheel(0, 1200)
            page.wait_for_timeout(250)
        wait_ready(page)


def svg_texts(page, *needles: str, timeout: int = 60_000) -> list[str]:
    """The text of every chart's SVG labels, once each of ``needles`` is in one of them (charts below the
    fold are drawn a moment after the scroll, later on a busy machine: wait for them, never a fixed time)."""
    if needles:
        with contextlib.suppress(PlaywrightTimeout):  # then the caller's assertion says what is missing
            page.wait_for_function(
                """(needles) => { const texts = [...document.querySelectorAll('svg text')].map(t => t.textContent);
                    return needles.every(n => texts.some(t => t.includes(n))); }""",
                arg=list(needles),
                timeout=timeout,
            )
    return page.evaluate("() => [...document.querySelectorAll('svg text')].map(t => t.textContent)")


def mark_labels(page) -> list[str]:
    return page.evaluate(
        "() => [...document.querySelectorAll('svg [aria-label]')].map(t => t.getAttribute('aria-label'))"
    )


def grid_cells(page) -> list[str]:
    """The text of the table cells the grids have drawn (their accessible mirror of the canvas)."""
    grids = page.locator('[data-testid="stDataFrame"]').count()
    page.wait_for_function(
        f'() => document.querySelectorAll(\'[data-testid="stDataFrame"] '
        f'[data-testid="glide-cell-1-0"]\').length >= {grids}'
    )
    return page.locator('[data-testid^="glide-cell"]').all_inner_texts()


def hover_tooltip(page, mark_label_part: str) -> str:
    """Point at the first data mark (not an axis) whose label mentions the text; return the tooltip's text.

    The pointer event is dispatched on the mark itself, so it reaches Vega's handler whatever the real
    mouse, the layout or the machine's speed: no hover that may or may not fire."""
    mark = page.locator(f'svg .role-mark [role="graphics-symbol"][aria-label*="{mark_label_part}"]').first
    mark.scroll_into_view_if_needed()
    box = mark.bounding_box()
    assert box is not None, f"no chart mark mentions {mark_label_part!r}"
    at = {"bubbles": True, "clientX": box["x"] + box["width"] / 2, "clientY": box["y"] + box["height"] / 2}
    mark.dispatch_event("pointermove", at)
    tooltip = page.locator("#vg-tooltip-element.visible")
    tooltip.wait_for(state="visible", timeout=10_000)
    assert "&lt;" in tooltip.inner_html() or "<" not in tooltip.inner_text()  # text, escaped in the markup
    return tooltip.inner_text()


def test_overview_shows_hostile_keys_and_members_as_text(hostile_app, guarded):
    page, dialogs = guarded
    open_page(page, hostile_app.url, scroll=True)
    assert_inert(page, dialogs, "overview")
    texts = svg_texts(page, "xss-<", "script-<script>", "md-**bold**")
    assert any(
        t.startswith("xss-<img src=x") or (t.endswith("…") and FLAG_IMG.startswith(t[:-1]) and len(t) > 8)
        for t in texts
    ), "the most changed flag's key is not shown as text"
    assert any(t.startswith("script-<script>") for t in texts) and any(
        t.startswith("md-**bold**") for t in texts
    )
    # long labels are cut with an ellipsis (the full value is in the tooltip): a cut label is a prefix
    assert any(
        t.startswith(IMG) or (t.endswith("…") and IMG.startswith(t[:-1]) and len(t) > 20) for t in texts
    ), "the member's email is not shown as text"
    tip = hover_tooltip(page, "xss-")
    assert FLAG_IMG in tip
    assert_inert(page, dialogs, "overview tooltip")
    screenshot(page, "hostile-overview")


def test_flag_events_table_shows_hostile_text_as_text(hostile_app, guarded):
    page, dialogs = guarded
    page.set_viewport_size(WIDE)  # every column drawn
    open_page(page, f"{hostile_app.url}/flag_events")
    assert_inert(page, dialogs, "flag events")
    cells = grid_cells(page)
    for expected in (FLAG_IMG, FLAG_SCRIPT, FLAG_MARKDOWN):
        assert expected in cells, expected
    assert any(c.startswith(IMG) and c.endswith("changed the rollout") for c in cells)
    assert any(c.startswith(f"{IMG}{UNICODE}@") for c in cells), "the member email is not shown as text"
    screenshot(page, "hostile-flag-events")


@pytest.mark.parametrize("flag", [FLAG_IMG, FLAG_SCRIPT, FLAG_MARKDOWN, FLAG_UNICODE])
def test_flag_detail_of_a_hostile_key_shows_it_as_text(hostile_app, guarded, flag):
    page, dialogs = guarded
    query = urlencode({"project": PROJECT, "env": "production", "flag": flag})
    open_page(page, f"{hostile_app.url}/flag_detail?{query}", scroll=True)  # the charts sit below the fold
    assert_inert(page, dialogs, f"flag detail {flag[:12]}")
    picked = page.locator('[data-testid="stMain"]').get_by_role("combobox", name="Flag")
    assert picked.input_value() == flag, "the hostile key did not reach the flag picker as plain text"
    texts = svg_texts(page, IMG, SCRIPT)
    assert any(IMG in t for t in texts) and any(SCRIPT in t for t in texts), (
        "variation values not shown as text"
    )
    assert any(t.startswith(UNICODE[:6]) or UNICODE[:6] in t for t in texts)
    labels = mark_labels(page)
    assert any(f"By: {IMG}{UNICODE}@example.com" in label for label in labels)
    tip = hover_tooltip(page, "By: ")
    assert "changed the rollout" in tip and f"{IMG}{UNICODE}@example.com" in tip
    assert_inert(page, dialogs, f"flag detail tooltip {flag[:12]}")
    if flag == FLAG_IMG:
        screenshot(page, "hostile-flag-detail")


def test_a_hostile_unknown_flag_in_the_link_is_quoted_as_code(hostile_app, guarded):
    page, dialogs = guarded
    unknown = f"{MARKDOWN} {IMG}"
    query = urlencode({"project": PROJECT, "env": "production", "flag": unknown})
    open_page(page, f"{hostile_app.url}/flag_detail?{query}")
    assert_inert(page, dialogs, "unknown flag")
    warning = page.locator('[data-testid="stAlertContentWarning"]').filter(has_text="Unknown flag")
    assert warning.count() == 1
    code = warning.locator("code").first.inner_text()
    assert code.startswith("**bold** [link](javascript:alert(1))"), code


def test_a_ten_thousand_character_key_is_cut_in_the_link_and_warned_about(hostile_app, guarded):
    page, dialogs = guarded
    query = urlencode({"project": PROJECT, "env": "production", "flag": FLAG_LONG})
    open_page(page, f"{hostile_app.url}/flag_detail?{query}")
    assert_inert(page, dialogs, "long flag")
    assert "Unknown flag" in page.inner_text("body")
    assert len(page.url) < 2000, "the link written back for a 10,000-character flag was not cut"


def test_flag_health_and_cleanup_show_hostile_text_as_text(hostile_app, guarded):
    page, dialogs = guarded
    page.set_viewport_size(WIDE)
    open_page(page, f"{hostile_app.url}/flag_health")
    assert_inert(page, dialogs, "flag health")
    cells = grid_cells(page)
    assert FLAG_IMG in cells and FLAG_SCRIPT in cells, "the worst flags are not listed as text"
    screenshot(page, "hostile-flag-health")
    open_page(page, f"{hostile_app.url}/cleanup")
    assert_inert(page, dialogs, "cleanup")
    cells = grid_cells(page)
    assert FLAG_STALE in cells, "the stale flag's key is not listed as text"
    assert f"{SCRIPT} {MARKDOWN} {UNICODE}" in cells and f"{IMG},{MARKDOWN}" in cells, "name or tags not text"
    screenshot(page, "hostile-cleanup")
