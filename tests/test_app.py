"""Every page under Streamlit's AppTest on the demo account: renders, filters, bad links, empty ranges."""

from __future__ import annotations

from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parent.parent
PAGES = [
    "app_pages/overview.py",
    "app_pages/flag_events.py",
    "app_pages/flag_health.py",
    "app_pages/flag_detail.py",
    "app_pages/changes.py",
    "app_pages/lifecycle.py",
    "app_pages/cleanup.py",
    "app_pages/environments.py",
    "app_pages/all_projects.py",
    "app_pages/data.py",
    "app_pages/history.py",
]


@pytest.fixture(autouse=True)
def fresh_streamlit_caches():
    st.cache_data.clear()
    st.cache_resource.clear()
    yield


def app(params: dict[str, str] | None = None, page: str | None = None) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    for k, v in (params or {}).items():
        at.query_params[k] = v
    at.run()
    if page:
        at.switch_page(page)
        at.run()
    return at


def texts(at: AppTest) -> str:
    parts = [
        e.value
        for kind in ("markdown", "caption", "info", "warning", "error", "success", "subheader", "title")
        for e in getattr(at, kind)
    ]
    return "\n".join(str(p) for p in parts)


def charts(at: AppTest) -> list:
    return at.get("vega_lite_chart")


def demo_project() -> str:
    from ldclient.demo import default_now_ms
    from ldclient.source import demo_account

    return demo_account(7, default_now_ms()).projects[0]["key"]


def test_overview_renders_kpis_and_charts():
    at = app()
    assert not at.exception, at.exception
    labels = [m.label for m in at.metric]
    for label in (
        "Events",
        "Flags changed",
        "Large impact",
        "Rollbacks",
        "Off-hours",
        "Flapping",
        "Stale share",
    ):
        assert label in labels
    assert len(charts(at)) >= 4
    assert any("Demo data" in m.value for m in at.sidebar.markdown)  # the demo badge
    assert at.query_params["project"] and at.query_params["env"]


@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders_on_the_demo_account(page):
    at = app({"flag": ""}, page=page)
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]


def test_filter_change_updates_the_link_and_the_numbers():
    at = app()
    before = next(m.value for m in at.metric if m.label == "Events")
    at.sidebar.selectbox(key="w_env").set_value("staging").run()
    assert not at.exception
    assert at.query_params["env"] == ["staging"] or at.query_params["env"] == "staging"
    at.sidebar.multiselect(key="w_impact").set_value(["large"]).run()
    after = next(m.value for m in at.metric if m.label == "Events")
    assert "large" in str(at.query_params["impact"])
    assert after != before


@pytest.mark.parametrize(
    "params,needle",
    [
        ({"project": "no-such-project"}, "Unknown project"),
        ({"env": "no-such-env"}, "Unknown environment"),
        ({"from": "2026-02-30"}, "Bad `from` date"),
        ({"from": "2026-11-20", "to": "2026-11-01"}, "is after"),
        ({"tz": "Mars/Olympus_Mons"}, "Unknown timezone"),
        ({"utm_campaign": "<b>junk</b>"}, "Ignored unknown link parameter"),
    ],
)
def test_bad_link_parameters_warn_and_fall_back(params, needle):
    at = app(params)
    assert not at.exception
    assert needle in texts(at)
    assert len(charts(at)) >= 1  # the page still renders with the fallback


def test_unknown_flag_on_detail_page_warns():
    at = app({"project": demo_project(), "flag": "definitely-not-a-flag"}, page="app_pages/flag_detail.py")
    assert not at.exception
    assert "Unknown flag" in texts(at)


def test_empty_range_says_why():
    at = app({"from": "2021-01-01", "to": "2021-01-31"})
    assert not at.exception
    assert "No flag events to show" in texts(at)
    at = app({"from": "2021-01-01", "to": "2021-01-31"}, page="app_pages/flag_events.py")
    assert "No flag events match" in texts(at)


def test_error_text_from_the_api_is_shown_literally():
    from dashboard.text import plain

    hostile = "[click](javascript:alert(1)) **bold** <img src=x> `code` :material/warning: # head"
    escaped = plain(hostile)
    for ch in "[]()*<>`:#":
        assert all(escaped[i - 1] == "\\" for i, c in enumerate(escaped) if c == ch), ch
    assert escaped.replace("\\", "") == hostile


def test_lifecycle_page_counts_both_stage_sets_and_lists_the_linked_stage():
    at = app({"stage": "ready_to_archive"}, page="app_pages/lifecycle.py")
    assert not at.exception, at.exception
    labels = [m.label for m in at.metric]
    for label in (
        "Live",
        "Ready for code removal",
        "Ready to archive",
        "Develop",
        "Production",
        "Cleanup",
        "Median time to production",
        "Median time in cleanup",
    ):
        assert label in labels
    assert charts(at)
    listed = at.dataframe[0].value
    ready = int(next(m.value for m in at.metric if m.label == "Ready to archive"))
    assert len(listed) == ready > 0
    assert set(listed["ld_stage"]) == {"Ready to archive"}
    assert "ready_to_archive" in str(at.query_params["stage"])


def test_lifecycle_page_counts_the_archived_flags_the_flags_list_leaves_out():
    """Archived flags come from filter=state:archived: both stage sets count exactly the demo's archived
    flags of the project, and choosing the Archived stage lists them."""
    from ldclient.demo import default_now_ms
    from ldclient.source import demo_account

    account = demo_account(7, default_now_ms())
    project = account.projects[0]["key"]
    archived = {f["key"] for f in account.cleanup().flags[project] if f["archived"]}
    assert archived, "the demo project has archived flags"
    at = app({"project": project, "stage": "archived"}, page="app_pages/lifecycle.py")
    assert not at.exception, at.exception
    counts = [int(m.value) for m in at.metric if m.label == "Archived"]
    assert counts == [len(archived), len(archived)]  # LaunchDarkly's stage and our timeline stage
    listed = at.dataframe[0].value
    assert set(listed["flag_key"]) == archived
    assert set(listed["ld_stage"]) == {"Archived"} and set(listed["timeline_stage"]) == {"Archived"}


def test_flag_detail_shows_our_timeline_stage_beside_launchdarklys():
    """The timeline stage and its days on Flag detail are the Lifecycle page's row for the flag."""
    from dashboard import loaders
    from ldclient.lifecycle import STAGE_LABELS
    from ldclient.links import View

    project = demo_project()
    at = app({"project": project}, page="app_pages/lifecycle.py")
    assert not at.exception, at.exception
    timeline = loaders.timeline_table(View(project, "production"))
    for stage in ("production", "cleanup"):
        row = timeline[timeline["stage"] == stage].iloc[0]
        at = app({"project": project, "flag": str(row["flag_key"])}, page="app_pages/flag_detail.py")
        assert not at.exception, at.exception
        shown = texts(at)
        assert (
            f"**Timeline stage:** :gray-badge[{STAGE_LABELS[stage]}], {float(row['days_in_stage']):.0f} days in stage"
            in shown
        )


def test_flag_health_and_cleanup_agree_on_stale_flags_and_none_of_them_scores_100():
    from dashboard import loaders
    from ldclient.links import View

    project = demo_project()
    at = app({"project": project, "env": "production"}, page="app_pages/flag_health.py")
    assert not at.exception, at.exception
    shown = at.dataframe[0].value
    stale_shown = set(shown.loc[shown["stale"], "flag_key"].astype(str))
    cleanup = loaders.cleanup_table(View(project, "production"))
    stale_listed = set(cleanup.loc[cleanup["stale"].astype(bool), "flag_key"].astype(str))
    assert stale_listed and stale_shown == stale_listed
    assert (shown.loc[shown["stale"], "health_score"] <= 50).all()
    never = shown[shown["stale"] & (shown["events"] == 0)]
    assert len(never) and (never["health_score"] == 50).all()  # never changed in the range: only the debt


def test_all_projects_records_the_missing_snapshots_and_shows_their_stale_share():
    at = app(page="app_pages/all_projects.py")
    assert not at.exception, at.exception
    rows = at.dataframe[0].value
    assert rows["stale_share"].isna().any()  # a fresh store: no snapshot of most environments yet
    next(b for b in at.button if b.label == "Record them now").click().run()
    assert not at.exception, at.exception
    rows = at.dataframe[0].value
    assert rows["stale_share"].notna().all() and rows["stale_flags"].notna().all()
    assert all(len(trend) >= 1 for trend in rows["stale_trend"])  # the demo's recorded past: weekly points
    assert "no flag-health snapshot" not in texts(at)


def at_view(project: str, env: str):
    from ldclient.links import View

    return View(project, env)


def test_overview_records_a_new_keys_snapshot_beside_the_run_then_shows_its_trend():
    from dashboard import loaders

    project = demo_project()
    key = loaders.get_source().key(project, "staging")
    with loaders._snapshot_lock(key):  # the recording waits for this test: still running when the run ends
        at = app({"project": project, "env": "staging", "range": "90d"})
        assert not at.exception, at.exception
        # the run ended without waiting for the snapshot: the block says it follows, with no change yet
        assert "Recording today's flag-health snapshot" in texts(at)
        assert not next(m for m in at.metric if m.label == "Stale share").delta
        assert loaders.snapshot_progress(at_view(project, "staging"))[0] == "recording"
    loaders.wait_for_snapshots()
    assert loaders.snapshot_progress(at_view(project, "staging"))[0] == "recorded"
    at.run()  # what the page's poller does once the recording is there
    assert not at.exception, at.exception
    assert "Recording today's flag-health snapshot" not in texts(at)
    assert next(m for m in at.metric if m.label == "Stale share").delta.endswith("pts")  # the demo's past
    assert "Stale share per day in the range" in texts(at)


def test_a_failed_background_snapshot_is_said_once_and_not_retried_at_once(monkeypatch):
    from dashboard import loaders
    from ldclient import history
    from ldclient.errors import LDError

    calls = []

    def failing(*args, **kwargs):
        calls.append(args)
        raise LDError("LaunchDarkly answered 503 while the snapshot was read")

    monkeypatch.setattr(history, "record_snapshot", failing)
    at = app({"project": demo_project(), "env": "test", "range": "30d"})
    assert not at.exception, at.exception
    loaders.wait_for_snapshots()
    at.run()
    assert not at.exception, at.exception
    shown = texts(at)
    assert "Today's flag-health snapshot could not be recorded: LaunchDarkly answered 503" in shown
    assert "Recording today's flag-health snapshot:" not in shown  # no promise of a trend that will not come
    at.run()
    loaders.wait_for_snapshots()
    assert len(calls) == 1  # within STALE_AFTER_MS the page says why instead of trying again
