"""The Changes page in a real browser (Debian's Chromium): a shared ``?at=`` link opened in a new browser
context shows the same rows, and the page reads well at 1280x800."""

from __future__ import annotations

import csv
import io
import re
from urllib.parse import parse_qs, urlsplit

import pytest

from ldclient.links import format_moment
from ldclient.vocabulary import DAY_MS, HOUR_MS, MINUTE_MS
from tests.conftest import screenshot
from tests.support import wait_ready

pytestmark = pytest.mark.browser

EPOCH_MS = re.compile(r"(?<!\d)1[5-9]\d{11}(?!\d)")


def moment() -> str:
    from ldclient.demo import default_now_ms

    return format_moment(default_now_ms() - 2 * DAY_MS + 14 * HOUR_MS + 5 * MINUTE_MS)  # 14:05, two days ago


def downloaded_rows(page) -> list[dict[str, str]]:
    with page.expect_download(timeout=60_000) as info:
        page.get_by_role("button", name="Download CSV").click()
    text = open(info.value.path(), encoding="utf-8-sig").read()
    return list(csv.DictReader(io.StringIO(text)))


def test_a_shared_changes_link_shows_the_same_rows_in_a_new_context(app_server, browser):
    at = moment()
    first = browser.new_context(viewport={"width": 1280, "height": 800}, accept_downloads=True)
    page = first.new_page()
    page.goto(f"{app_server.url}/changes?at={at}&window=2h")
    wait_ready(page)
    main = page.locator('[data-testid="stMain"]')
    assert "Traceback" not in page.inner_text("body")
    assert main.get_by_role("textbox", name=re.compile("Moment")).input_value().endswith("14:05:00")
    assert not EPOCH_MS.search(main.inner_text())
    grid = main.locator('[data-testid="stDataFrame"]')
    grid.locator("th").first.wait_for(state="attached", timeout=60_000)
    headers = {t.strip() for t in grid.locator("th").all_text_contents()}
    assert {"Flag", "Time", "From moment", "Impact", "Member"} <= headers
    screenshot(page, "page-changes")
    rows = downloaded_rows(page)
    shared = page.url
    query = parse_qs(urlsplit(shared).query)
    assert query["at"] == [at] and query["window"] == ["2h"]
    first.close()
    assert rows, "the demo account has changes on that afternoon"
    start, end = at.replace("14:05", "12:05"), at.replace("14:05", "16:05")
    assert all(start <= r["event_time"][:19] + "Z" <= end for r in rows)

    second = browser.new_context(viewport={"width": 1280, "height": 800}, accept_downloads=True)
    again = second.new_page()
    again.goto(shared)
    wait_ready(again)
    assert downloaded_rows(again) == rows
    second.close()
