"""Off-hours are judged in the team's working hours, never in the viewer's timezone (issue 14).

Settings and their errors, the metrics for the same millisecond window in several display timezones,
the command line (``metrics --tz`` is the display timezone), and the dashboard: the same shared view
opened in two viewer timezones shows the same KPI values.
"""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from ldclient import clock
from ldclient import metrics as m
from ldclient.errors import ConfigError
from ldclient.frame import events_to_frame
from ldclient.settings import Settings
from ldclient.working_hours import WorkingHours, parse_days, parse_hours, parse_project_overrides
from tests.support import run_ldclient

ROOT = Path(__file__).resolve().parent.parent
HOUR = 3_600_000
DAY = 24 * HOUR
MONDAY = int(datetime(2026, 1, 5, tzinfo=UTC).timestamp() * 1000)  # 2026-01-05 00:00 UTC, a Monday


def event(i: int, t: int) -> dict:
    return {
        "id": f"e{i}",
        "projectKey": "p",
        "environmentKey": "production",
        "flagKey": f"f{i % 3}",
        "eventTime": t,
        "eventType": "flag-updated",
        "description": "",
        "actions": ["updateRules"],
        "impact": {"size": "small", "percentage": 5.0},
    }


# one event every 3 hours for two weeks: every hour of the day and every weekday is covered
EVENTS = events_to_frame([event(i, MONDAY + i * 3 * HOUR) for i in range(14 * 8)])
LO, HI = MONDAY + 2 * DAY + 5 * HOUR, MONDAY + 12 * DAY + 7 * HOUR  # not midnight anywhere in particular


# --------------------------------------------------------------------------------------------------
# metrics
# --------------------------------------------------------------------------------------------------


def test_off_hours_are_identical_in_every_display_timezone_for_the_same_ms_bounds() -> None:
    for work in (None, WorkingHours("Europe/Berlin"), WorkingHours("Asia/Tokyo", 8 * 60, 17 * 60)):
        results = {
            tz: m.compute_with_trend(EVENTS, LO, HI, tz, work=work)
            for tz in ("UTC", "Asia/Tokyo", "America/Los_Angeles", "Asia/Kolkata")
        }
        assert len({r["off_hours_events"] for r in results.values()}) == 1
        assert len({r["previous"]["off_hours_events"] for r in results.values()}) == 1
        tables = [
            m.per_flag_table(EVENTS, LO, HI, tz, work=work)[
                ["flag_key", "off_hours", "off_hours_penalty", "health_score"]
            ]
            for tz in results
        ]
        for table in tables[1:]:
            pd.testing.assert_frame_equal(table, tables[0])
        series = [m.daily_series(EVENTS, LO, HI, tz, work=work)["off_hours"].sum() for tz in results]
        assert set(series) == {results["UTC"]["off_hours_events"]}


def test_the_working_timezone_changes_off_hours() -> None:
    utc = m.compute_metrics(EVENTS, LO, HI, "Asia/Tokyo")["off_hours_events"]
    tokyo = m.compute_metrics(EVENTS, LO, HI, "Asia/Tokyo", work=WorkingHours("Asia/Tokyo"))[
        "off_hours_events"
    ]
    assert utc != tokyo
    # by hand: each working day 09:00-18:00 holds 3 of the 8 three-hourly events (09, 12, 15)
    days = m.compute_metrics(EVENTS, MONDAY, MONDAY + 7 * DAY)
    assert days["events_total"] == 56 and days["off_hours_events"] == 56 - 5 * 3
    # Tokyo is UTC+9: the events at 00, 03, 06 UTC are 09, 12, 15 in Tokyo; Monday 00 UTC is Monday 09 JST,
    # Saturday 00 UTC is Saturday in Tokyo too
    tokyo_week = m.compute_metrics(EVENTS, MONDAY, MONDAY + 7 * DAY, work=WorkingHours("Asia/Tokyo"))
    assert tokyo_week["off_hours_events"] == 56 - 5 * 3


def test_working_hours_minutes_days_and_a_whole_day() -> None:
    at_0830 = events_to_frame(
        [event(1, MONDAY + 8 * HOUR + 30 * 60_000), event(2, MONDAY + 8 * HOUR + 29 * 60_000)]
    )
    early = WorkingHours("UTC", 8 * 60 + 30, 17 * 60)
    assert m.compute_metrics(at_0830, MONDAY, MONDAY + DAY, work=early)["off_hours_events"] == 1
    sunday = MONDAY - DAY + 12 * HOUR
    sun_thu = WorkingHours.parse("UTC", "00-24", "sun-thu")
    frame = events_to_frame([event(1, sunday), event(2, MONDAY + 4 * DAY + 12 * HOUR)])  # Sunday, Friday noon
    assert m.compute_metrics(frame, sunday - DAY, sunday + 6 * DAY, work=sun_thu)["off_hours_events"] == 1


def test_risk_calendar_grid_follows_the_timezone_it_is_given() -> None:
    grid = m.weekday_hour_counts(events_to_frame([event(1, MONDAY + 7 * HOUR)]), "Asia/Tokyo")
    assert grid.set_index(["weekday", "hour"]).loc[(0, 16), "events"] == 1


# --------------------------------------------------------------------------------------------------
# settings
# --------------------------------------------------------------------------------------------------


def test_defaults_and_account_settings() -> None:
    s = Settings.load({})
    assert s.working_hours == WorkingHours("UTC", 9 * 60, 18 * 60, frozenset(range(5)))
    assert s.working_hours.describe() == "Mon–Fri 09:00–18:00 UTC"
    assert Settings.load({"LD_TIMEZONE": "Europe/Berlin"}).working_hours.timezone == "Europe/Berlin"
    s = Settings.load(
        {
            "LD_TIMEZONE": "Europe/Berlin",
            "LD_WORK_TIMEZONE": "Asia/Tokyo",
            "LD_WORK_HOURS": "08:30-17:30",
            "LD_WORK_DAYS": "sun-thu",
        }
    )
    assert s.working_hours == WorkingHours(
        "Asia/Tokyo", 8 * 60 + 30, 17 * 60 + 30, frozenset({6, 0, 1, 2, 3})
    )
    assert s.working_hours.describe() == "Sun–Thu 08:30–17:30 Asia/Tokyo"
    assert s.working_hours_for("anything") == s.working_hours


def test_per_project_override_from_the_environment_and_from_secrets() -> None:
    value = "payments=Europe/Berlin; mobile-app=America/New_York 08-17 ;ops=UTC 00-24 mon-sun"
    s = Settings.load({"LD_WORK_HOURS": "10-19", "LD_PROJECT_WORK_HOURS": value})
    assert s.working_hours_for("payments") == WorkingHours(
        "Europe/Berlin", 10 * 60, 19 * 60
    )  # hours inherited
    assert s.working_hours_for("mobile-app") == WorkingHours("America/New_York", 8 * 60, 17 * 60)
    assert s.working_hours_for("ops").days == frozenset(range(7))
    assert s.working_hours_for("web") == WorkingHours("UTC", 10 * 60, 19 * 60)
    table = {
        "LD_PROJECT_WORK_HOURS": {"payments": "Asia/Tokyo 07-16 mon-fri"},
        "LD_WORK_TIMEZONE": "Europe/Paris",
    }
    s = Settings.load({}, secrets=table)
    assert s.working_hours.timezone == "Europe/Paris"
    assert s.working_hours_for("payments") == WorkingHours("Asia/Tokyo", 7 * 60, 16 * 60)
    assert (
        Settings.load({}, secrets={"LD_PROJECT_WORK_HOURS": "payments=Asia/Tokyo"})
        .working_hours_for("payments")
        .timezone
        == "Asia/Tokyo"
    )


def test_the_override_changes_that_projects_metrics_only() -> None:
    s = Settings.load({"LD_PROJECT_WORK_HOURS": "p=Asia/Tokyo"})
    tokyo = m.compute_metrics(EVENTS, LO, HI, work=s.working_hours_for("p"))["off_hours_events"]
    other = m.compute_metrics(EVENTS, LO, HI, work=s.working_hours_for("q"))["off_hours_events"]
    assert tokyo == m.compute_metrics(EVENTS, LO, HI, work=WorkingHours("Asia/Tokyo"))["off_hours_events"]
    assert other == m.compute_metrics(EVENTS, LO, HI)["off_hours_events"] != tokyo


@pytest.mark.parametrize(
    "environ,needle",
    [
        ({"LD_WORK_TIMEZONE": "Mars/Olympus_Mons"}, "LD_WORK_TIMEZONE: unknown timezone 'Mars/Olympus_Mons'"),
        ({"LD_TIMEZONE": "Nowhere/Town"}, "LD_TIMEZONE: unknown timezone"),
        ({"LD_WORK_HOURS": "nine to five"}, "LD_WORK_HOURS must look like 09-18"),
        ({"LD_WORK_HOURS": "18-09"}, "must start before they end"),
        ({"LD_WORK_HOURS": "09-25"}, "not a time of day"),
        ({"LD_WORK_HOURS": "09:75-18"}, "not a time of day"),
        ({"LD_WORK_DAYS": "mon-funday"}, "LD_WORK_DAYS: 'mon-funday' is not a day"),
        ({"LD_WORK_DAYS": ","}, "LD_WORK_DAYS must name working days"),
        ({"LD_PROJECT_WORK_HOURS": "payments"}, "LD_PROJECT_WORK_HOURS: 'payments' must be project=Timezone"),
        ({"LD_PROJECT_WORK_HOURS": "payments="}, "project 'payments' needs a timezone"),
        (
            {"LD_PROJECT_WORK_HOURS": "payments=Berlin"},
            "LD_PROJECT_WORK_HOURS (payments): unknown timezone 'Berlin'",
        ),
        (
            {"LD_PROJECT_WORK_HOURS": "payments=UTC 9-5"},
            "LD_PROJECT_WORK_HOURS (payments): working hours '9-5'",
        ),
        ({"LD_PROJECT_WORK_HOURS": "payments=UTC caturday"}, "LD_PROJECT_WORK_HOURS (payments): 'caturday'"),
        ({"LD_PROJECT_WORK_HOURS": "payments=UTC 09-17 mon-fri extra"}, "too many parts"),
        ({"LD_PROJECT_WORK_HOURS": "p=UTC; p=Asia/Tokyo"}, "listed twice"),
    ],
)
def test_bad_settings_say_what_is_wrong(environ, needle) -> None:
    with pytest.raises(ConfigError) as info:
        Settings.load(environ)
    assert needle in str(info.value)


def test_parsers() -> None:
    assert parse_hours("9-18") == parse_hours("09:00-18:00") == parse_hours(" 09 – 18 ") == (540, 1080)
    assert parse_hours("00-24") == (0, 1440)
    assert parse_days("Mon-Fri") == parse_days("monday-friday") == frozenset(range(5))
    assert parse_days("fri-mon") == frozenset({4, 5, 6, 0})
    assert parse_days("mon,wed,fri") == frozenset({0, 2, 4})
    assert parse_project_overrides(None, WorkingHours()) == {}
    assert WorkingHours(days=frozenset({0, 2, 4})).days_text == "Mon, Wed, Fri"
    assert WorkingHours(days=frozenset({4, 5, 6, 0})).days_text == "Fri–Mon"
    with pytest.raises(ConfigError):
        WorkingHours("UTC", 600, 600)
    with pytest.raises(ConfigError):
        WorkingHours(days=frozenset())


# --------------------------------------------------------------------------------------------------
# the command line: --tz is the display timezone
# --------------------------------------------------------------------------------------------------


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return run_ldclient(*args, env=env, timeout=300)


def demo_project() -> str:
    from ldclient.demo import default_now_ms
    from ldclient.source import demo_account

    return demo_account(7, default_now_ms()).projects[0]["key"]


def test_cli_metrics_off_hours_do_not_depend_on_tz():
    from ldclient.demo import default_now_ms

    project, now = demo_project(), default_now_ms()
    bounds = ("--from", str(now - 30 * DAY + 5 * HOUR), "--to", str(now - 3 * HOUR))  # Unix ms
    reports = {}
    for tz, env in (
        ("UTC", None),
        ("Asia/Tokyo", None),
        ("America/Los_Angeles", None),
        ("UTC", {"LD_WORK_TIMEZONE": "Asia/Tokyo"}),
        ("UTC", {"LD_PROJECT_WORK_HOURS": f"{project}=Asia/Tokyo"}),
    ):
        out = cli(
            "metrics",
            "--project",
            project,
            "--env",
            "production",
            "--tz",
            tz,
            *bounds,
            "--format",
            "json",
            env=env,
        )
        assert out.returncode == 0, out.stderr
        reports[tz, json.dumps(env)] = json.loads(out.stdout)
    utc, tokyo, la, work_tokyo, project_tokyo = reports.values()
    assert utc["events_total"] > 100
    assert utc["off_hours_events"] == tokyo["off_hours_events"] == la["off_hours_events"]
    assert utc["previous"]["off_hours_events"] == tokyo["previous"]["off_hours_events"]
    assert [f["off_hours"] for f in utc["flags"]] == [f["off_hours"] for f in tokyo["flags"]]
    assert utc["timezone"] == "UTC" and tokyo["timezone"] == "Asia/Tokyo"
    assert (
        utc["working_hours"]
        == tokyo["working_hours"]
        == {"timezone": "UTC", "hours": "09:00-18:00", "days": ["mon", "tue", "wed", "thu", "fri"]}
    )
    for key in (
        "events_total",
        "flags_changed",
        "events_by_impact",
        "toggles",
        "rollbacks",
        "flapping_flags",
    ):
        assert utc[key] == tokyo[key] == la[key], key  # every total for the same ms bounds
    # the working timezone, for the account or for this project, is what changes it
    assert (
        work_tokyo["working_hours"]["timezone"] == project_tokyo["working_hours"]["timezone"] == "Asia/Tokyo"
    )
    assert work_tokyo["off_hours_events"] == project_tokyo["off_hours_events"] != utc["off_hours_events"]
    assert work_tokyo["events_total"] == utc["events_total"]


def test_cli_reports_a_bad_working_hours_setting_in_one_line():
    out = cli("metrics", "--project", demo_project(), "--env", "production", env={"LD_WORK_HOURS": "18-09"})
    assert out.returncode != 0
    assert "LD_WORK_HOURS" in out.stderr and "Traceback" not in out.stderr


# --------------------------------------------------------------------------------------------------
# the dashboard: the same shared view in two viewer timezones
# --------------------------------------------------------------------------------------------------


@pytest.fixture
def fresh_streamlit_caches():
    st.cache_data.clear()
    st.cache_resource.clear()
    yield
    st.cache_data.clear()
    st.cache_resource.clear()


def overview(params: dict[str, str]) -> AppTest:
    st.cache_data.clear()
    st.cache_resource.clear()  # the data source holds the settings
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    for k, v in params.items():
        at.query_params[k] = v
    at.run()
    assert not at.exception, at.exception
    return at


def kpis(at: AppTest) -> dict[str, tuple[str, str]]:
    return {mt.label: (mt.value, mt.delta) for mt in at.metric}


def test_the_same_shared_view_in_two_viewer_timezones_shows_the_same_kpis(
    fresh_streamlit_caches, monkeypatch
):
    """A link's dates are local days of its timezone, so to compare like with like the link spans the
    whole demo account (its events run from 180 days before its "now", the start of today UTC): every
    viewer timezone's window then holds the same events, and every KPI must be the same."""
    today = clock.today("UTC")  # Tokyo is on this day or the next: `to` is never in the future
    link = {
        "project": demo_project(),
        "env": "production",
        "from": (today - timedelta(days=200)).isoformat(),
        "to": today.isoformat(),
    }
    utc, tokyo = (overview({**link, "tz": tz}) for tz in ("UTC", "Asia/Tokyo"))
    shown = kpis(utc)
    assert {"Events", "Flags changed", "Large impact", "Rollbacks", "Off-hours", "Flapping"} <= set(shown)
    assert int(shown["Events"][0].replace(",", "")) > 100
    assert kpis(tokyo) == shown
    # the risk calendar says where it is drawn, whatever the page's timezone
    for at in (utc, tokyo):
        assert any("working timezone: UTC" in c.value for c in at.caption)
    # and it is the working timezone that moves the off-hours share, not the viewer's
    monkeypatch.setenv("LD_WORK_TIMEZONE", "Asia/Tokyo")
    worked = overview({**link, "tz": "UTC"})
    assert kpis(worked)["Off-hours"] != shown["Off-hours"]
    assert kpis(worked)["Events"] == shown["Events"]
    assert any("working timezone: Asia/Tokyo" in c.value for c in worked.caption)
