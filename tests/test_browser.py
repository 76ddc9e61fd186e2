"""The dashboard in a real browser (Debian's Chromium via Playwright): renders, links, hostile text."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from tests.conftest import copy_to_docs, screenshot
from tests.support import wait_ready as wait_rendered

pytestmark = pytest.mark.browser

PAGES = {
    "overview": "",
    "flag_events": "flag_events",
    "flag_health": "flag_health",
    "flag_detail": "flag_detail",
    "cleanup": "cleanup",
    "environments": "environments",
    "all_projects": "all_projects",
    "data": "data",
}


def demo_account_projects() -> list[dict]:
    from ldclient.demo import default_now_ms
    from ldclient.source import demo_account

    return demo_account(7, default_now_ms()).projects


def demo_ids() -> tuple[str, str]:
    from ldclient.demo import default_now_ms
    from ldclient.source import demo_account

    account = demo_account(7, default_now_ms())
    project = account.projects[0]["key"]
    flag = next(
        e["flagKey"]
        for e in reversed(account.events)
        if e["projectKey"] == project and e.get("environmentKey") == "staging"
    )
    return project, flag


def test_overview_renders_its_charts(app_server, page):
    page.goto(app_server.url)
    wait_rendered(page, charts=4)
    assert page.locator('[data-testid="stMetric"]').count() >= 6
    assert "Traceback" not in page.content()
    shot = screenshot(page, "overview")
    copy_to_docs(shot, "overview.png")


def test_every_page_renders_and_is_screenshotted(app_server, page):
    for name, path in PAGES.items():
        page.goto(f"{app_server.url}/{path}")
        wait_rendered(page)
        body = page.inner_text("body")
        assert "Traceback" not in body and "Error" not in page.title(), name
        screenshot(page, f"page-{name}")


def test_shared_link_restores_the_view_and_navigation_keeps_it(app_server, page):
    project, flag = demo_ids()
    link = (
        f"{app_server.url}/flag_detail?project={project}&env=staging&from=2026-09-01&to=2026-11-20"
        f"&impact=large,medium&flag={flag}"
    )
    page.goto(link)
    wait_rendered(page)
    sidebar = page.locator('[data-testid="stSidebar"]')
    assert sidebar.get_by_role("combobox", name="Environment").input_value() == "staging"
    names = {p["key"]: p["name"] for p in demo_account_projects()}
    assert sidebar.get_by_role("combobox", name="Project").input_value() == names[project]  # the name, whole
    assert f"Key: {project}" in sidebar.inner_text()
    main = page.locator('[data-testid="stMain"]')
    assert main.get_by_role("combobox", name="Flag").input_value() == flag
    screenshot(page, "shared-link-flag-detail")
    page.get_by_role("link", name="Overview").click()
    wait_rendered(page)
    query = parse_qs(urlsplit(page.url).query)
    assert query["project"] == [project] and query["env"] == ["staging"]
    assert query["from"] == ["2026-09-01"] and query["to"] == ["2026-11-20"]
    assert query["impact"] == ["medium,large"] and query["flag"] == [flag]
