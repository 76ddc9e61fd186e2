"""Every page at 1280x800 in a real browser (Debian's Chromium): a screenshot of each into test-artifacts/,
no raw epoch milliseconds in the visible text, and each table's key columns on screen without scrolling."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from ldclient import clock
from tests.conftest import screenshot
from tests.support import wait_ready

pytestmark = pytest.mark.browser

# page path -> the columns that must be in view (the grid renders only the columns on screen)
KEY_COLUMNS: dict[str, set[str]] = {
    "": set(),
    "flag_events": {"Flag", "Time", "Impact", "Member"},
    "flag_health": {"Flag", "Health", "Changes", "Rollbacks"},
    "flag_detail": set(),
    "lifecycle": {"Flag", "Stage", "Days in stage", "Owner"},
    "cleanup": {"Flag", "Lifecycle stage", "Value to keep", "Code references", "Next step"},
    "changes": {"Flag", "Time", "Impact", "Member"},
    "digests": set(),
    "environments": {"Flag", "When", "Who"},
    "all_projects": {"Project", "Environment", "Events", "Change", "Stale share", "Stale flags"},
    "history": {"Day", "Observed", "Temporary flags", "Stale flags", "Stale share"},
    "data": {"Project", "Environment", "Events", "Last refresh", "Outcome"},
}
# Changes lists a moment's changes: yesterday afternoon (the demo account's events end at midnight)
_YESTERDAY = (clock.today("UTC") - timedelta(days=1)).isoformat()
QUERIES = {"changes": f"?at={_YESTERDAY}T14:05:00Z&window=2h"}
EPOCH_MS = re.compile(r"(?<!\d)1[5-9]\d{11}(?!\d)")  # 13 digits: a Unix-ms time from 2017 to 2033


def visible_headers(page) -> set[str]:
    """The header cells each grid renders: only the columns on screen (the grid draws what is in view); a
    grid below the fold is scrolled into view first (vertically: its sideways scroll stays at the start)."""
    headers: set[str] = set()
    grids = page.locator('[data-testid="stDataFrame"]')
    for i in range(grids.count()):
        grid = grids.nth(i)
        grid.scroll_into_view_if_needed()
        grid.locator("th").first.wait_for(state="attached", timeout=60_000)
        headers |= {t.strip() for t in grid.locator("th").all_text_contents()}
    return headers


@pytest.mark.parametrize("path", list(KEY_COLUMNS))
def test_page_at_1280_shows_dates_and_key_columns(app_server, page, path):
    page.goto(f"{app_server.url}/{path}{QUERIES.get(path, '')}")
    wait_ready(page)
    want = KEY_COLUMNS[path]
    if want:
        page.wait_for_selector('[data-testid="stDataFrame"] th', state="attached", timeout=60_000)
    assert page.viewport_size == {"width": 1280, "height": 800}
    screenshot(page, f"layout-{path or 'overview'}")
    text = page.inner_text('[data-testid="stMain"]')
    assert "Traceback" not in text
    assert not EPOCH_MS.findall(text), EPOCH_MS.findall(text)[:5]
    headers = visible_headers(page)
    for _ in range(60):  # a grid further down may still be drawing on a busy machine: look again, up to 30 s
        if want <= headers:
            break
        page.wait_for_timeout(500)
        headers = visible_headers(page)
    assert want <= headers, f"off-screen at 1280 px: {sorted(want - headers)} (on screen: {sorted(headers)})"
    grids = page.evaluate("""() => [...document.querySelectorAll('[data-testid="stDataFrame"]')]
        .map(g => g.getBoundingClientRect().right)""")
    assert all(right <= 1280 for right in grids)  # the grids fit the window; their columns scroll inside


def test_every_page_app_py_navigates_to_is_looked_at():
    from pathlib import Path

    app = (Path(__file__).resolve().parent.parent / "app.py").read_text()
    pages = set(re.findall(r'st\.Page\(\s*"app_pages/([a-z_]+)\.py"', app))
    assert {p or "overview" for p in KEY_COLUMNS} == pages
