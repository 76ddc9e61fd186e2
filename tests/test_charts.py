"""The charts' Vega-Lite specs (chart.to_dict(), no browser): dates in tooltips, every label drawn, bars over
their own day, weeks for long ranges, partial periods marked, neutral zero deltas, a visible palette."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import pytest

from dashboard import charts
from ldclient import metrics
from ldclient.report import WEEK_MS, weekly_trend

TODAY = date(2026, 12, 1)


def daily(first: date, last: date, per_day: int = 3) -> pd.DataFrame:
    days = [(first + timedelta(days=i)).isoformat() for i in range((last - first).days + 1)]
    rows = [
        {"date": d, "impact_size": size, "events": per_day if size == "none" else 0}
        for d in days
        for size in charts.IMPACT_ORDER
    ]
    return pd.DataFrame(rows)


def tooltip_fields(spec: dict) -> list[dict]:
    return spec["encoding"]["tooltip"]


def assert_dates_not_ms(spec: dict) -> None:
    """The period's tooltip is a temporal field shown as a date (UTC so no browser offset moves it), and no
    tooltip shows a date field as a bare number or category (that is how "Day 1795996800000" appeared)."""
    day = next(t for t in tooltip_fields(spec) if t["field"] == "start")
    assert day["type"] == "temporal" and day["format"] == charts.DAY_FORMAT
    assert day["timeUnit"] == "utcyearmonthdate"
    for t in tooltip_fields(spec):
        if t["field"] in ("date", "day", "start", "period"):
            assert t["type"] == "temporal" or t["field"] == "period", t


def test_daily_chart_tooltip_shows_a_date_not_epoch_ms():
    first = TODAY - timedelta(days=29)
    spec = charts.events_per_day(daily(first, TODAY), first, TODAY, TODAY).to_dict()
    assert_dates_not_ms(spec)
    titles = [t["title"] for t in tooltip_fields(spec)]
    assert titles == ["Day", "Covers", "Impact", "Events"]  # Sentence case, no field names


def test_environment_chart_tooltip_shows_a_date_and_a_visible_palette():
    first = TODAY - timedelta(days=29)
    data = pd.DataFrame(
        {
            "day": [first.isoformat(), first.isoformat()],
            "kind": ["rehearsed", "unrehearsed"],
            "changes": [40, 1],
        }
    )
    spec = charts.counts_over_time(
        data, "day", "changes", "kind", "Changes", first, TODAY, TODAY, color_scale=charts.REHEARSAL_SCALE
    ).to_dict()
    assert_dates_not_ms(spec)
    scale = spec["encoding"]["color"]["scale"]
    colours = dict(zip(scale["domain"], scale["range"], strict=True))
    assert colours == {"unrehearsed": "#D55E00", "rehearsed": "#0072B2"}  # not pale blue on dark blue
    assert [t["title"] for t in tooltip_fields(spec)][-1] == "Kind"


def test_bars_stand_over_their_own_day_and_an_empty_today_is_on_the_axis():
    first = TODAY - timedelta(days=29)
    data = daily(first, TODAY - timedelta(days=1))  # nothing today
    spec = charts.events_per_day(data, first, TODAY, TODAY).to_dict()
    x = spec["encoding"]["x"]
    assert x["type"] == "ordinal" and x["field"] == "period"  # a band per day: the bar is over its label
    assert x["scale"]["domain"][0] == "Nov 02" and x["scale"]["domain"][-1] == "Dec 01"
    assert len(x["scale"]["domain"]) == 30
    values = pd.DataFrame(next(iter(spec["datasets"].values())))
    assert "Dec 01" not in set(values["period"])  # no bar for an empty today, and none drawn under its label
    assert values.groupby("period")["events"].sum().loc["Nov 30"] == 3


def test_today_is_partial_and_drawn_lighter():
    first = TODAY - timedelta(days=6)
    spec = charts.events_per_day(daily(first, TODAY), first, TODAY, TODAY).to_dict()
    values = pd.DataFrame(next(iter(spec["datasets"].values())))
    assert values.loc[values["period"] == "Dec 01", "partial"].all()
    assert not values.loc[values["period"] != "Dec 01", "partial"].any()
    assert set(values.loc[values["period"] == "Dec 01", "note"]) == {"today so far"}
    opacity = spec["encoding"]["opacity"]
    assert opacity["condition"] == [{"test": "datum.partial", "value": charts.PARTIAL_OPACITY}]
    assert opacity["value"] == 1.0


@pytest.mark.parametrize(
    ("days", "bucket", "bars"),
    [(30, "day", 30), (60, "day", 60), (61, "week", 10), (90, "week", 14), (180, "week", 27)],
)
def test_long_ranges_are_bucketed_by_week(days, bucket, bars):
    first = TODAY - timedelta(days=days - 1)
    assert charts.bucket_for(first, TODAY) == bucket
    spec = charts.events_per_day(daily(first, TODAY), first, TODAY, TODAY).to_dict()
    x = spec["encoding"]["x"]
    assert len(x["scale"]["domain"]) == bars
    values = pd.DataFrame(next(iter(spec["datasets"].values())))
    assert values["events"].sum() == 3 * days  # every event in exactly one bar
    if bucket == "week":
        assert x["title"] == "Week starting Monday"
        assert next(t for t in tooltip_fields(spec) if t["field"] == "start")["title"] == "Week of"
        starts = pd.to_datetime(values["start"])
        assert (starts.dt.day_of_week == 0).all()  # weeks start on Monday
        grid = charts.periods(first, TODAY, TODAY)
        assert grid["partial"].iloc[-1]  # this week so far
        assert grid["note"].iloc[-1] == "1 of 7 days, this week so far"


def test_weekly_labels_stay_unique_over_years():
    assert charts.periods(date(2025, 1, 1), TODAY, TODAY)["period"].iloc[0] == "Dec 30"
    grid = charts.periods(date(2019, 1, 1), TODAY, TODAY)  # Mondays fall on the same dates again
    assert grid["period"].is_unique and grid["period"].iloc[0] == "Dec 31 2018"


@pytest.mark.parametrize("n", [1, 5, 10])
def test_rankings_draw_every_label_and_cut_long_ones(n):
    data = pd.DataFrame(
        {
            "flagKey": [f"flag-{i}-" + "x" * (60 if i == 0 else 5) for i in range(n)],
            "events": list(range(n, 0, -1)),
        }
    )
    spec = charts.bar_ranking(data, "flagKey", "events", "Events", "Flag").to_dict()
    assert spec["height"] == charts.BAR_STEP * n  # the plot's own height: 26 px a bar
    assert spec["autosize"]["type"] == "fit-x"  # Streamlit's default "fit" would squeeze it with the axis
    axis = spec["encoding"]["y"]["axis"]
    assert axis["labelOverlap"] is False and axis["labelLimit"] == charts.LABEL_LIMIT
    label = next(t for t in tooltip_fields(spec) if t["field"] == "flagKey")
    assert label["title"] == "Flag"  # the whole key in the tooltip, not "flagKey"


def test_points_lost_labels_are_sentence_case():
    assert list(charts.PENALTY_LABELS.values()) == [
        "Churn",
        "Rollbacks",
        "Flapping",
        "Large unguarded",
        "Off-hours",
        "Stale (flag debt)",
    ]
    assert tuple(charts.PENALTY_LABELS) == metrics.SCORE_COLUMNS  # every component the score loses, in order


@pytest.mark.parametrize(
    ("value", "before", "percent", "expected"),
    [
        (1, 1, False, ("±0", "off", "off")),
        (0.0051, 0.005, True, ("±0.0 pts", "off", "off")),  # rounds to zero on screen: neutral too
        (3, 1, False, ("+2", "inverse", "auto")),
        (0.01, 0.02, True, ("-1.0 pts", "inverse", "auto")),
    ],
)
def test_a_zero_delta_is_neutral(value, before, percent, expected):
    assert charts.kpi_delta(value, before, percent, "inverse") == expected


def test_weekly_trend_counts_whole_weeks_back_from_the_end():
    end = 100 * WEEK_MS
    times = [end - 1, end - WEEK_MS, end - WEEK_MS - 1, end - 3 * WEEK_MS + 5, end + 10]
    frame = pd.DataFrame({"event_time": times})
    assert weekly_trend(frame, end - 3 * WEEK_MS - 86_400_000, end) == [
        1,
        1,
        2,
    ]  # oldest first; 1 spare day out
    assert weekly_trend(frame, end - 6 * 86_400_000, end) == []
