"""The application filter in the dashboard (AppTest on the demo account): the sidebar and the link, a warning
for an unknown application, every page narrowed, and the same numbers as the CLI's ``--application``."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from ldclient import applications as apps_mod
from ldclient import cli

ROOT = Path(__file__).resolve().parent.parent
PROJECT = "web-storefront"


@pytest.fixture(autouse=True)
def fresh_streamlit_caches():
    st.cache_data.clear()
    st.cache_resource.clear()
    yield


def app(params: dict[str, str], page: str | None = None) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    for k, v in params.items():
        at.query_params[k] = v
    at.run()
    if page:
        at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def events_metric(at: AppTest) -> int:
    return int(str(next(m.value for m in at.metric if m.label == "Events")).replace(",", ""))


def caption_count(at: AppTest) -> int:
    text = next(c.value for c in at.caption if "events, newest first" in c.value)
    return int(text.split(" events")[0].replace(",", ""))


def cli_json(args: list[str]) -> dict:
    out = io.StringIO()
    assert cli.main([*args, "--demo"], out=out) == 0
    return json.loads(out.getvalue())


def cli_events(args: list[str]) -> list[dict]:
    out = io.StringIO()
    assert cli.main(["events", *args, "--demo"], out=out) == 0
    return [json.loads(line) for line in out.getvalue().splitlines()]


def app_keys(*apps: str) -> frozenset[str]:
    from ldclient.settings import Settings
    from ldclient.source import open_source

    return apps_mod.flag_keys(open_source(Settings.load(force_demo=True)).applications(), apps, PROJECT)


def test_the_app_link_narrows_overview_and_flag_events_to_the_cli_numbers():
    base = ["--project", PROJECT, "--env", "production"]
    overview = app({"project": PROJECT, "app": "web"})
    assert overview.sidebar.multiselect(key="w_apps").value == ["web"]
    assert overview.query_params["app"] in (["web"], "web")
    web_events = events_metric(overview)
    everything = events_metric(app({"project": PROJECT}))
    assert 0 < web_events < everything
    assert web_events == cli_json(["metrics", *base, "--application", "web"])["events_total"]

    listed = app({"project": PROJECT, "app": "web"}, page="app_pages/flag_events.py")
    items = cli_events([*base, "--application", "web"])
    assert caption_count(listed) == len(items) == web_events
    assert {i["flagKey"] for i in items} <= app_keys("web")

    union = app({"project": PROJECT, "app": "web,backend"}, page="app_pages/flag_events.py")
    both = cli_events([*base, "--application", "web,backend"])
    assert caption_count(union) == len(both) > len(items)


def test_an_unknown_application_is_named_in_a_warning_and_the_others_kept():
    at = app({"project": PROJECT, "app": "web,no-such-app"})
    warnings = [w.value for w in at.warning]
    assert any("no-such-app" in w and "Unknown application" in w for w in warnings), warnings
    assert at.sidebar.multiselect(key="w_apps").value == ["web"]
    assert at.query_params["app"] in (["web"], "web")


def test_choosing_an_application_in_the_sidebar_writes_the_link_and_narrows_cleanup():
    at = app({"project": PROJECT}, page="app_pages/cleanup.py")
    at.sidebar.multiselect(key="w_apps").set_value(["backend"]).run()
    assert not at.exception
    assert at.query_params["app"] in (["backend"], "backend")
    keys = app_keys("backend")
    tables = [t.value for t in at.dataframe]
    flag_columns = [t[c] for t in tables for c in t.columns if c in ("flag_key", "flag", "key")]
    assert flag_columns and all(set(col.astype(str)) <= keys for col in flag_columns)


def test_an_application_with_no_flag_in_the_project_leaves_pages_empty_not_broken():
    for page in ("app_pages/overview.py", "app_pages/flag_events.py", "app_pages/flag_health.py"):
        at = app({"project": PROJECT, "app": "mobile"}, page=page)  # mobile evaluates no storefront flag
        assert not at.error, [e.value for e in at.error]
