"""The cleanup workflow in a real browser: Cleanup filtered by a team, open a stale flag, its detail shows
the lifecycle stage, code references and the value to keep, and the shared link reproduces the list."""

from __future__ import annotations

from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from tests.conftest import copy_to_docs, screenshot
from tests.support import wait_ready

pytestmark = pytest.mark.browser


def _open_flag_options(page) -> list[str]:
    box = page.locator('[data-testid="stSelectbox"]').filter(has_text="Open a flag's detail")
    box.get_by_role("combobox").click()
    box.locator("input").press("ArrowDown")  # opens the list
    options = page.get_by_role("option")
    options.first.wait_for()
    return [t.strip() for t in options.all_inner_texts()]


def test_cleanup_by_team_to_flag_detail_and_back_by_link(app_server, page):
    page.goto(f"{app_server.url}/cleanup?project=web-storefront&env=production&team=growth")
    page.get_by_text("Stale flags in production by owner").wait_for(timeout=240_000)  # a year of history
    wait_ready(page)
    body = page.inner_text('[data-testid="stMain"]')
    assert "Traceback" not in page.content()
    assert "Ready for code removal" in body and "Stale flags in production by owner" in body
    team_filter = page.locator('[data-testid="stMultiSelect"]').filter(has_text="Team")
    assert "growth" in team_filter.inner_text()
    page.locator('[data-testid="stDataFrame"] canvas').first.wait_for()
    shot = screenshot(page, "cleanup-team")
    copy_to_docs(shot, "cleanup.png")

    listed = _open_flag_options(page)
    assert listed
    first = listed[0]  # the list is ordered stale first, oldest first
    page.get_by_role("option").filter(has_text=first).first.click()
    page.wait_for_url("**/flag_detail?**", timeout=60_000)
    page.get_by_text("Lifecycle and cleanup").wait_for(timeout=240_000)
    wait_ready(page)
    detail = page.inner_text('[data-testid="stMain"]')
    assert (
        "LaunchDarkly lifecycle stage" in detail and "Timeline stage:" in detail and "days in stage" in detail
    )
    assert "Code references" in detail and "Value to keep" in detail
    assert "Stale in production" in detail
    assert "nothing lowers its score" not in detail  # a stale flag is not shown as healthy
    query = parse_qs(urlsplit(page.url).query)
    assert query["flag"] == [first] and query["team"] == ["growth"]
    shot = screenshot(page, "flag-detail-stale")
    copy_to_docs(shot, "flag-detail-cleanup.png")

    # the shared link (without the flag) reproduces the filtered list in a fresh browser context
    shared = {k: v[-1] for k, v in query.items() if k != "flag"}
    other = page.context.browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
    try:
        other.goto(f"{app_server.url}/cleanup?{urlencode(shared)}")
        other.get_by_text("Stale flags in production by owner").wait_for(timeout=240_000)
        wait_ready(other)
        assert "growth" in other.locator('[data-testid="stMultiSelect"]').filter(has_text="Team").inner_text()
        assert _open_flag_options(other) == listed
    finally:
        other.context.close()
