"""``python -m ldclient``'s output for people: the dashboard's window, a readable metrics table, sync progress
on a terminal (quiet when piped), a human cache label, and range errors in the words that were typed."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest

from ldclient import clock
from ldclient.cli import CLIError, Progress, main, window
from ldclient.links import View
from ldclient.metrics_text import render
from ldclient.source import source_label
from ldclient.timeutil import DAY_MS, day_start_ms, local_date
from tests.support import run_ldclient

ROOT = Path(__file__).resolve().parent.parent
HOUR = 3_600_000
TZS = ("UTC", "Asia/Tokyo", "Pacific/Kiritimati", "America/Los_Angeles", "Europe/Berlin", "Pacific/Pago_Pago")


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return run_ldclient(*args, env=env, timeout=180)


@pytest.fixture(scope="module")
def demo_project() -> str:
    from ldclient.demo import default_now_ms
    from ldclient.source import demo_account

    return demo_account(7, default_now_ms()).projects[0]["key"]


# -- the window: the dashboard's, for the same dates ---------------------------------------------------------

# instants around midnight UTC and around local midnights, a DST change (2026-10-25 in Europe, 11-01 in the US)
NOWS = [
    day_start_ms(date(2026, 11, 26), "UTC") + d for d in (-1, 0, 1, 9 * HOUR, 15 * HOUR - 1, 15 * HOUR)
] + [
    day_start_ms(date(2026, 10, 25), "Europe/Berlin") + HOUR,
    day_start_ms(date(2026, 11, 1), "America/Los_Angeles"),
]


@pytest.mark.parametrize("tz", TZS)
@pytest.mark.parametrize("now", NOWS)
def test_default_window_is_the_dashboards_default_view(tz, now):
    assert window(None, None, tz, now=now) == View("p", "production", tz=tz).window_ms(local_date(now, tz))


@pytest.mark.parametrize("tz", TZS)
@pytest.mark.parametrize(
    "first,last",
    [
        ("2026-10-01", "2026-11-26"),
        ("2026-11-26", "2026-11-26"),
        ("2026-10-20", "2026-11-05"),
        ("2024-02-28", "2024-03-01"),
    ],
)
def test_dates_give_the_dashboards_window_and_to_includes_that_whole_day(tz, first, last):
    start, end = date.fromisoformat(first), date.fromisoformat(last)
    expected = View("p", "production", range_days=None, start=start, end=end, tz=tz).window_ms(
        date(2026, 11, 26)
    )
    now = day_start_ms(date(2026, 11, 26), "UTC") + 12 * HOUR  # the 26th or 27th in every zone here
    assert window(first, last, tz, now=now) == expected
    assert expected[1] == day_start_ms(end + timedelta(days=1), tz)  # the last day's last millisecond is in
    # only --to: the dashboard's 30 days ending on that day; only --from: from that day to the end of today
    assert window(None, last, tz, now=now) == View(
        "p", "e", range_days=None, start=end - timedelta(days=29), end=end, tz=tz
    ).window_ms(date(2026, 11, 26))
    assert window(first, None, tz, now=now) == (
        expected[0],
        day_start_ms(local_date(now, tz) + timedelta(days=1), tz),
    )


def test_times_and_unix_ms_are_taken_as_they_are():
    now = day_start_ms(date(2026, 11, 26), "UTC")
    assert window("2026-11-20T10:00:00Z", "2026-11-21T10:00:00+01:00", "UTC", now=now) == (
        day_start_ms(date(2026, 11, 20), "UTC") + 10 * HOUR,
        day_start_ms(date(2026, 11, 21), "UTC") + 9 * HOUR,
    )
    assert window(None, "1795168800000", "UTC", now=now) == (1795168800000 - 30 * DAY_MS, 1795168800000)


@pytest.mark.parametrize(
    "frm,to,message",
    [
        ("2026-11-20", "2026-11-01", "--to 2026-11-01 is before --from 2026-11-20"),
        (
            "2026-11-02",
            "2026-11-01",
            "--to 2026-11-01 is before --from 2026-11-02",
        ),  # the same instant, in ms
        (
            "2026-11-20T10:00:00Z",
            "2026-11-20T09:00:00Z",
            "--to 2026-11-20T09:00:00Z is before --from 2026-11-20T10:00:00Z",
        ),
        (
            "2026-11-20T10:00:00Z",
            "2026-11-20T10:00:00Z",
            "--to 2026-11-20T10:00:00Z is the same time as --from 2026-11-20T10:00:00Z: the range is empty",
        ),
        ("2026-12-03", None, "--from 2026-12-03 is after today (2026-11-26 in UTC), the default --to"),
    ],
)
def test_a_to_before_from_names_what_was_typed(frm, to, message):
    with pytest.raises(CLIError) as err:
        window(frm, to, "UTC", now=day_start_ms(date(2026, 11, 26), "UTC") + 12 * HOUR)
    assert str(err.value) == message


def test_a_one_day_range_is_fine():
    now = day_start_ms(date(2026, 11, 26), "UTC")
    assert window("2026-11-20", "2026-11-20", "Asia/Tokyo", now=now) == (
        day_start_ms(date(2026, 11, 20), "Asia/Tokyo"),
        day_start_ms(date(2026, 11, 21), "Asia/Tokyo"),
    )


def test_cli_metrics_counts_what_the_dashboard_counts_for_the_same_dates(demo_project):
    from ldclient import metrics
    from ldclient.frame import filter_frame
    from ldclient.settings import Settings
    from ldclient.source import open_source

    tz = "Asia/Tokyo"
    # the CLI's clock reads 03:00 UTC (12:00 in Tokyo) of the run's day: no local midnight is near
    instant = clock.now_ms() // DAY_MS * DAY_MS + 3 * HOUR
    offset = {"LD_CLOCK_OFFSET_MS": str(instant - clock.now_ms() + clock.offset_ms())}
    today = local_date(instant, tz)
    default = run(
        "metrics",
        "--project",
        demo_project,
        "--env",
        "production",
        "--tz",
        tz,
        "--format",
        "json",
        env=offset,
    )
    assert default.returncode == 0, default.stderr
    report = json.loads(default.stdout)
    view = View(demo_project, "production", tz=tz)  # the dashboard's default view: the last 30 days
    assert (report["from"], report["to"]) == view.window_ms(today)

    first, last = today - timedelta(days=20), today - timedelta(days=3)
    dated = run(
        "metrics",
        "--project",
        demo_project,
        "--env",
        "production",
        "--tz",
        tz,
        "--format",
        "json",
        "--from",
        first.isoformat(),
        "--to",
        last.isoformat(),
        env=offset,
    )
    assert dated.returncode == 0, dated.stderr
    dated_report = json.loads(dated.stdout)
    custom = View(demo_project, "production", range_days=None, start=first, end=last, tz=tz)
    assert (dated_report["from"], dated_report["to"]) == custom.window_ms(today)

    # the numbers: what the dashboard computes over View.window_ms from the same store
    source = open_source(Settings.load(force_demo=True), demo_now_ms=instant // DAY_MS * DAY_MS)
    for got, v in ((report, view), (dated_report, custom)):
        from_ms, to_ms = v.window_ms(today)
        frame = source.store.load_frame(
            source.key(demo_project, "production"), from_ms - (to_ms - from_ms), to_ms
        )
        expected = metrics.compute_with_trend(filter_frame(frame, include_global=True), from_ms, to_ms, tz)
        assert got["events_total"] == expected["events_total"] > 0
        assert (got["events_by_impact"], got["flags_changed"], got["previous"]["events_total"]) == (
            expected["events_by_impact"],
            expected["flags_changed"],
            expected["previous"]["events_total"],
        )


def test_bad_range_is_one_line_naming_the_dates(demo_project):
    out = run(
        "metrics",
        "--project",
        demo_project,
        "--env",
        "production",
        "--from",
        "2026-11-20",
        "--to",
        "2026-11-01",
    )
    assert out.returncode == 2
    assert out.stderr == "error: --to 2026-11-01 is before --from 2026-11-20\n"


# -- metrics --format table -----------------------------------------------------------------------------------

LONG_KEY = "a-flag-key-that-is-much-longer-than-any-column-" + "x" * 120


def sample_report() -> dict:
    t0 = day_start_ms(date(2026, 11, 2), "Europe/Berlin")
    day = {
        "events_total": 1618,
        "flags_changed": 119,
        "large_impact_share": 0.008034610630407911,
        "rollback_rate": 0.050359712230215826,
        "experiment_events": None,
        "off_hours_events": 387,
        "events_by_impact": {"none": 1479, "small": 82, "medium": 44, "large": 13, "unknown": 0},
        "events_by_day": {"2026-11-02": 78, "2026-11-03": 0},
        "flapping_flags": ["use-dark-mode", LONG_KEY],
        "top_members": [{"email": "zoë@example.com", "events": 314}],
    }
    previous = {
        **day,
        "events_total": 1629,
        "large_impact_share": 0.009208103130755065,
        "events_by_impact": {"none": 1495, "small": 86, "medium": 33, "large": 15, "unknown": 0},
        "events_by_day": {"2026-10-03": 2},
    }
    return {
        "project": "web-storefront",
        "environment": "production",
        "from": t0,
        "to": day_start_ms(date(2026, 12, 2), "Europe/Berlin"),
        "timezone": "Europe/Berlin",
        **day,
        "previous": previous,
        "stale_share": 0.6347826086956522,
        "promotion_lag_hours_median": 0.18412777777777778,
        "statuses": {"new": 6, "active": 102},
        "stale_flag_keys": [],
        "working_hours": {"timezone": "Europe/Berlin", "hours": "09:00-18:00"},
        "flags": [
            {
                "flag_key": LONG_KEY,
                "health_score": 32.7,
                "events": 5,
                "flapping": True,
                "last_change_ms": day_start_ms(date(2026, 11, 19), "Europe/Berlin") + 23 * HOUR + 3 * 60_000,
                "days_since_change": 11.958669907407407,
            }
        ],
    }


def test_metrics_table_formats_like_the_dashboard_and_cuts_nothing():
    text = render(sample_report())
    lines = text.splitlines()
    assert "Window: 2026-11-02 to 2026-12-01 (30 days, Europe/Berlin)" in lines
    assert (
        "Previous period: 2026-10-03 01:00 to 2026-11-02 00:00 (30.0 days, Europe/Berlin; the end is not "
        "included)" in lines
    )  # 30 × 24 hours before, across the change from summer time
    assert re.search(r"^Events\s+1,618\s+1,629\s+−11$", text, re.M)
    assert re.search(r"^Large-impact share\s+0\.8%\s+0\.9%\s+−0\.1 pts$", text, re.M)
    assert re.search(r"^Rollback rate\s+5\.0%\s+5\.0%\s+0\.0 pts$", text, re.M)
    assert re.search(r"^Experiment events\s+—\s+—$", text, re.M)
    assert re.search(r"^  Stale share\s+63\.5%$", text, re.M) and re.search(
        r"^  Promotion lag.*\s0\.2$", text, re.M
    )
    # nested values are rows of their own section, compared with the previous period where the keys match
    assert re.search(
        r"^Events by impact\n.*This period\s+Previous\s+Change\n  none\s+1,479\s+1,495\s+−16$", text, re.M
    )
    assert re.search(r"^Events by day\n  2026-11-02\s+78\n  2026-11-03\s+0$", text, re.M)
    assert re.search(r"^Flapping flags \(2\)\n  use-dark-mode\n  " + LONG_KEY + "$", text, re.M)
    assert "Stale flag keys: none" in lines and re.search(r"^  active\s+102$", text, re.M)
    assert re.search(r"^  zoë@example\.com\s+314$", text, re.M)
    # the per-flag table: the long key whole, the time in the report's timezone, shares never raw
    row = next(line for line in lines if line.startswith("  " + LONG_KEY + " "))
    assert re.search(r"\s32\.7\s+5\s+yes\s+2026-11-19 23:03$", row), row
    assert not re.search(r"\d{13}|\d\.\d{3,}|[{}\[\]]", text)  # no raw ms, no long decimals, no JSON


def test_metrics_table_from_the_cli_shows_the_json_reports_numbers(demo_project):
    dates = ("--from", (clock.today() - timedelta(days=13)).isoformat(), "--to", clock.today().isoformat())
    table = run("metrics", "--project", demo_project, "--env", "production", "--format", "table", *dates)
    data = run("metrics", "--project", demo_project, "--env", "production", "--format", "json", *dates)
    assert table.returncode == data.returncode == 0, table.stderr + data.stderr
    report = json.loads(data.stdout)
    assert re.search(
        rf"^Events\s+{report['events_total']:,}\s+{report['previous']['events_total']:,}\s",
        table.stdout,
        re.M,
    )
    assert f"Flags ({len(report['flags']):,}; --format json has every column)" in table.stdout
    assert all(f"  {r['flag_key']} " in table.stdout for r in report["flags"])  # every row, none cut
    assert not re.search(r"\d{13}|\d\.\d{3,}|[{}\[\]]", table.stdout)


# -- sync progress, cache info ----------------------------------------------------------------------------------


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_on_a_terminal_rewrites_one_line_and_clears_it():
    tty = FakeTerminal()
    progress = Progress(stream=tty)
    progress.start("[1/2] web-storefront/production")
    progress(1, 100, None, (0, 4))
    progress(12, 1234, 2000, (3, 4))
    progress(13, 1300, 2000, (4, 4))
    progress.done()
    frames = tty.getvalue().split("\r")
    assert frames[1:5] == [
        "[1/2] web-storefront/production: checking the store",
        "[1/2] web-storefront/production: 1 page, 100 events, 0/4 windows".ljust(
            51
        ),  # covers the longer text
        "[1/2] web-storefront/production: 12 pages, 1,234 of 2,000 events, 3/4 windows",
        "[1/2] web-storefront/production: 13 pages, 1,300 of 2,000 events, 4/4 windows",
    ]
    assert (
        frames[5:] == [" " * len(frames[4]), ""] and "\n" not in tty.getvalue()
    )  # erased, cursor at column 0


def test_progress_writes_nothing_when_not_a_terminal():
    piped = io.StringIO()
    progress = Progress(stream=piped)
    progress.start("[1/1] p/production")
    progress(3, 300, 300, (1, 1))
    progress.done()
    assert piped.getvalue() == ""


def test_sync_on_a_terminal_shows_keys_done_and_what_was_received_so_far(demo_project, monkeypatch):
    tty, out = FakeTerminal(), io.StringIO()
    monkeypatch.setattr(sys, "stderr", tty)
    assert main(["sync", "--project", demo_project, "--days", "10"], out=out) == 0
    *lines, snapshots = out.getvalue().splitlines()
    assert re.fullmatch(
        rf"snapshots: {len(lines)} of {len(lines)} keys recorded for \d{{4}}-\d\d-\d\d", snapshots
    )
    assert len(lines) >= 3 and all(
        re.fullmatch(
            rf"{demo_project}/[\w-]+: \d+ requests, \d+ events added, "
            r"\d+ received \(ok\)",
            line,
        )
        for line in lines
    )
    envs = [e.key for p in main_projects(demo_project) for e in p.environments]
    assert [line.split(":")[0] for line in lines] == [f"{demo_project}/{e}" for e in envs]  # in key order
    frames = [f.strip() for f in tty.getvalue().split("\r") if f.strip()]
    shown = [
        re.fullmatch(rf"\[(\d+)/{len(lines)} keys\] ([\d,]+) pages?, ([\d,]+) events", f) for f in frames
    ]
    assert frames and all(shown), frames[:5]
    done = [int(m.group(1)) for m in shown if m]
    events = [int(m.group(3).replace(",", "")) for m in shown if m]
    assert done == sorted(done) and done[-1] < len(
        lines
    )  # keys finished only grows; the line goes at the end
    received = sum(int(line.split(", ")[2].split()[0]) for line in lines)
    assert events == sorted(events) and 0 < events[-1] <= received  # events so far, across the keys
    assert tty.getvalue().endswith("\r")  # cleared: what stays on the screen is the command's own output


def main_projects(project: str):
    from ldclient.settings import Settings
    from ldclient.source import open_source

    return [p for p in open_source(Settings.load()).projects() if p.key == project]


def test_sync_piped_is_one_line_per_key_and_nothing_on_stderr(demo_project):
    out = run("sync", "--project", demo_project, "--days", "10")
    assert out.returncode == 0, out.stderr
    assert out.stderr == ""
    *lines, snapshots = out.stdout.splitlines()
    assert re.fullmatch(
        rf"snapshots: {len(lines)} of {len(lines)} keys recorded for \d{{4}}-\d\d-\d\d", snapshots
    )
    assert len(lines) >= 3 and all(
        re.fullmatch(
            rf"{demo_project}/[\w-]+: \d+ requests, \d+ events added, "
            r"\d+ received \(ok\)",
            line,
        )
        for line in lines
    )
    assert (
        sum(int(line.split(", ")[2].split()[0]) for line in lines) > 0
    )  # it did fetch (and so had progress)

    info = run("cache", "info")
    assert info.returncode == 0, info.stderr
    anchor = clock.now_ms() // DAY_MS * DAY_MS
    label = f"Demo account (seed 7, {local_date(anchor, 'UTC')})"
    assert label + "\n" in info.stdout and "demo:" not in info.stdout
    assert re.search(
        rf"^  {demo_project}/production: [\d,]+ events, 1 covered range, last refresh "
        r"\d{4}-\d\d-\d\d \d\d:\d\d UTC \(ok\)$",
        info.stdout,
        re.M,
    )


def test_source_labels():
    assert source_label("demo:seed=7:now=1796083200000") == "Demo account (seed 7, 2026-12-01)"
    assert source_label("demo:seed=11") == "Demo account (seed 11)"
    assert source_label("https://app.eu.launchdarkly.com") == "https://app.eu.launchdarkly.com"
