"""Unit tests of ldclient.metrics: each definition of docs/METRICS.md on small hand-built event sets."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from ldclient import metrics as m
from ldclient import summaries
from ldclient.frame import COLUMNS, empty_frame, events_to_frame, flatten_event, frame_from_columns
from ldclient.working_hours import WorkingHours

HOUR = 3_600_000
DAY = 24 * HOUR
MONDAY = int(datetime(2026, 1, 5, tzinfo=UTC).timestamp() * 1000)  # 2026-01-05 00:00 UTC, a Monday
WEEK_FROM, WEEK_TO = MONDAY, MONDAY + 7 * DAY


def ms(*args: int) -> int:
    """Unix ms of a UTC wall-clock time."""
    return int(datetime(*args, tzinfo=UTC).timestamp() * 1000)


def summary(before: dict[Any, int] | None = None, after: dict[Any, int] | None = None) -> dict[str, Any]:
    """An evaluationsSummary from {value: count} maps (values may be any JSON; dict keys are str/bool)."""
    before, after = before or {}, after or {}
    values = list(dict.fromkeys([*before, *after]))
    return {
        "variations": [{"value": v, "before": before.get(v, 0), "after": after.get(v, 0)} for v in values]
    }


def ev(
    id: str,
    flag: str = "f",
    t: int = MONDAY + 10 * HOUR,
    env: str | None = "production",
    size: str | None = None,
    actions: list[str] | None = None,
    summary: dict[str, Any] | None = None,
    email: str | None = "a@x.io",
    experiments: int | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """One FlagEventRep dict (camelCase, as the API returns it)."""
    item: dict[str, Any] = {
        "id": id,
        "projectKey": "p",
        "flagKey": flag,
        "eventType": "flag-updated",
        "eventTime": t,
        "description": f"change {id}",
    }
    if env is not None:
        item["environmentKey"] = env
    if email is not None:
        item["member"] = {"email": email, "firstName": "A", "lastName": "B"}
    if actions is not None:
        item["actions"] = actions
    impact: dict[str, Any] = {}
    if size is not None:
        impact["size"] = size
        impact["percentage"] = 10.0
    if summary is not None:
        impact["evaluationsSummary"] = summary
    if impact:
        item["impact"] = impact
    if experiments is not None:
        item["experiments"] = {
            "totalCount": experiments,
            "items": [{"key": f"x{i}"} for i in range(experiments)],
        }
    item.update(extra)
    return item


def frame(*items: dict[str, Any]) -> pd.DataFrame:
    return events_to_frame(items)


def raw_frame(*items: dict[str, Any]) -> pd.DataFrame:
    """Like the store's fast path: no dedup, input order kept."""
    rows = [flatten_event(i) for i in items]
    return frame_from_columns({c: [r[c] for r in rows] for c in COLUMNS})


def metrics(*items: dict[str, Any], lo: int = WEEK_FROM, hi: int = WEEK_TO, **kw: Any) -> dict[str, Any]:
    return m.compute_metrics(frame(*items), lo, hi, **kw)


# --------------------------------------------------------------------------------------------------
# shape, empty input, window
# --------------------------------------------------------------------------------------------------


def test_empty_frame_gives_zeroes_and_zero_filled_days() -> None:
    result = m.compute_metrics(empty_frame(), MONDAY, MONDAY + 3 * DAY)
    assert tuple(result) == m.HEADLINE_KEYS
    assert result == {
        "events_total": 0,
        "flags_changed": 0,
        "events_by_impact": {"none": 0, "small": 0, "medium": 0, "large": 0, "unknown": 0},
        "large_impact_share": 0.0,
        "global_events": 0,
        "experiment_events": None,
        "off_hours_events": 0,
        "events_by_day": {"2026-01-05": 0, "2026-01-06": 0, "2026-01-07": 0},
        "toggles": 0,
        "rollbacks": 0,
        "rollback_rate": 0.0,
        "flapping_flags": [],
        "top_flags": [],
        "top_members": [],
    }
    json.dumps(result)


def test_empty_window_and_reversed_window() -> None:
    result = m.compute_metrics(frame(ev("1")), MONDAY, MONDAY)
    assert result["events_total"] == 0 and result["events_by_day"] == {}
    with pytest.raises(ValueError):
        m.compute_metrics(frame(ev("1")), MONDAY, MONDAY - 1)


def test_window_is_half_open() -> None:
    lo, hi = MONDAY, MONDAY + DAY
    result = metrics(
        ev("before", t=lo - 1), ev("first", t=lo), ev("last", t=hi - 1), ev("end", t=hi), lo=lo, hi=hi
    )
    assert result["events_total"] == 2
    assert result["events_by_day"] == {"2026-01-05": 2}


def test_events_by_day_runs_to_the_day_of_to_minus_one_ms() -> None:
    result = metrics(ev("1", t=MONDAY + 30 * HOUR), lo=MONDAY + 12 * HOUR, hi=MONDAY + 2 * DAY)
    assert result["events_by_day"] == {"2026-01-05": 0, "2026-01-06": 1}
    result = metrics(lo=MONDAY + 12 * HOUR, hi=MONDAY + 2 * DAY + 1)
    assert list(result["events_by_day"]) == ["2026-01-05", "2026-01-06", "2026-01-07"]


def test_result_is_plain_json() -> None:
    result = m.compute_with_trend(
        frame(ev("1", size="large", experiments=1), ev("2", flag="g", env=None)),
        WEEK_FROM,
        WEEK_TO,
        "Europe/Berlin",
    )
    assert json.loads(json.dumps(result)) == result
    assert set(result) == {*m.HEADLINE_KEYS, "previous"}
    assert tuple(result["previous"]) == m.HEADLINE_KEYS


def test_dedup_by_id() -> None:
    df = raw_frame(ev("1"), ev("1"), ev("2", flag="g"))
    assert len(df) == 3
    result = m.compute_metrics(df, WEEK_FROM, WEEK_TO)
    assert result["events_total"] == 2 and result["flags_changed"] == 2
    assert m.per_flag_table(df, WEEK_FROM, WEEK_TO)["events"].sum() == 2


def test_dedup_keeps_the_latest_copy_whatever_the_order() -> None:
    old, new = ev("1", t=MONDAY + HOUR, size="small"), ev("1", t=MONDAY + 2 * HOUR, size="large")
    for df in (raw_frame(old, new), raw_frame(new, old)):
        result = m.compute_metrics(df, WEEK_FROM, WEEK_TO)
        assert result["events_total"] == 1 and result["events_by_impact"]["large"] == 1


def test_frame_may_hold_more_than_the_window() -> None:
    df = frame(*(ev(str(i), t=MONDAY + i * DAY) for i in range(10)))
    assert m.compute_metrics(df, MONDAY + 2 * DAY, MONDAY + 5 * DAY)["events_total"] == 3


# --------------------------------------------------------------------------------------------------
# counts
# --------------------------------------------------------------------------------------------------


def test_impact_counts_and_large_share() -> None:
    result = metrics(
        ev("1", size="none"),
        ev("2", size="small"),
        ev("3", size="medium"),
        ev("4", size="large"),
        ev("5", size="large"),
        ev("6"),
        ev("7", size="huge"),
    )
    assert result["events_by_impact"] == {"none": 1, "small": 1, "medium": 1, "large": 2, "unknown": 2}
    assert result["large_impact_share"] == pytest.approx(2 / 5)


def test_large_share_is_zero_when_every_impact_is_unknown() -> None:
    assert metrics(ev("1"), ev("2", size="bogus"))["large_impact_share"] == 0.0


def test_flags_changed_and_global_events() -> None:
    items = [ev("1", flag="a"), ev("2", flag="a"), ev("3", flag="b", env=None), ev("4", flag="c", env=None)]
    result = metrics(*items)
    assert result["flags_changed"] == 3 and result["global_events"] == 2
    local = metrics(*items, include_global=False)
    assert local["events_total"] == 2 and local["global_events"] == 0 and local["flags_changed"] == 1


def test_all_global_events() -> None:
    items = [
        ev(
            str(i),
            flag="a",
            env=None,
            size="large",
            actions=["updateOn"],
            t=MONDAY + i * HOUR,
            summary=summary({True: 10}, {True: 10}),
        )
        for i in range(4)
    ]
    result = metrics(*items)
    assert result["events_total"] == result["global_events"] == 4
    assert result["rollbacks"] == 0 and result["flapping_flags"] == []  # both are per environment
    assert result["toggles"] == 4
    assert metrics(*items, include_global=False)["events_total"] == 0
    table = m.per_flag_table(frame(*items), WEEK_FROM, WEEK_TO)
    assert table["events"].tolist() == [4] and table["rollbacks"].tolist() == [0]


def test_experiment_events_null_only_when_never_fetched() -> None:
    assert metrics(ev("1"), ev("2"))["experiment_events"] is None
    assert metrics(ev("1", experiments=0), ev("2"))["experiment_events"] == 0
    assert metrics(ev("1", experiments=2), ev("2", experiments=0), ev("3"))["experiment_events"] == 1


def test_toggles_match_the_whole_action_token() -> None:
    result = metrics(
        ev("1", actions=["updateOn"]),
        ev("2", actions=["updateRules", "updateOn"]),
        ev("3", actions=["updateOnOff"]),
        ev("4", actions=["xupdateOn"]),
        ev("5", actions=[]),
        ev("6"),
    )
    assert result["toggles"] == 2


def test_off_hours_in_utc() -> None:
    sat = MONDAY + 5 * DAY
    items = [
        ev("sat", t=sat + 12 * HOUR),
        ev("sun", t=sat + DAY + 12 * HOUR),
        ev("early", t=MONDAY + 9 * HOUR - 1),
        ev("nine", t=MONDAY + 9 * HOUR),
        ev("late-ok", t=MONDAY + 18 * HOUR - 1),
        ev("six", t=MONDAY + 18 * HOUR),
        ev("night", t=MONDAY),
    ]
    assert metrics(*items)["off_hours_events"] == 5


def test_top_lists_break_ties_by_key_and_skip_missing_members() -> None:
    items = [
        ev("1", flag="b", email="z@x.io"),
        ev("2", flag="a", email="y@x.io"),
        ev("3", flag="c", email=None),
        ev("4", flag="c", email=None),
        ev("5", flag="b", email="y@x.io"),
    ]
    result = metrics(*items)
    assert result["top_flags"] == [
        {"flagKey": "b", "events": 2},
        {"flagKey": "c", "events": 2},
        {"flagKey": "a", "events": 1},
    ]
    assert result["top_members"] == [{"email": "y@x.io", "events": 2}, {"email": "z@x.io", "events": 1}]


def test_top_flags_keeps_ten() -> None:
    items = [ev(f"{k}-{i}", flag=f"flag-{k:02d}") for k in range(12) for i in range(k + 1)]
    top = metrics(*items)["top_flags"]
    assert [t["flagKey"] for t in top] == [f"flag-{k:02d}" for k in range(11, 1, -1)]


# --------------------------------------------------------------------------------------------------
# time zones and DST
# --------------------------------------------------------------------------------------------------


def test_events_by_day_in_berlin_across_spring_forward() -> None:
    lo, hi = ms(2026, 3, 27, 23), ms(2026, 3, 30, 22)  # 2026-03-28 00:00 CET .. 2026-03-31 00:00 CEST
    items = [
        ev("a", t=ms(2026, 3, 27, 23)),  # 03-28 00:00 CET
        ev("b", t=ms(2026, 3, 28, 23, 30)),  # 03-29 00:30 CET
        ev("c", t=ms(2026, 3, 29, 1)),  # 03-29 03:00 CEST (02:00 CET never happened)
        ev("d", t=ms(2026, 3, 29, 21, 59)),  # 03-29 23:59 CEST
        ev("e", t=ms(2026, 3, 29, 22)),  # 03-30 00:00 CEST
        ev("f", t=ms(2026, 3, 30, 21, 59)),
    ]  # 03-30 23:59 CEST
    result = metrics(*items, lo=lo, hi=hi, tz="Europe/Berlin")
    assert result["events_by_day"] == {"2026-03-28": 1, "2026-03-29": 3, "2026-03-30": 2}
    assert metrics(*items, lo=lo, hi=hi)["events_by_day"] == {
        "2026-03-27": 1,
        "2026-03-28": 1,
        "2026-03-29": 3,
        "2026-03-30": 1,
    }


def test_events_by_day_in_berlin_across_fall_back() -> None:
    lo, hi = ms(2026, 10, 24, 22), ms(2026, 10, 26, 23)  # 2026-10-25 00:00 CEST .. 2026-10-27 00:00 CET
    items = [
        ev("a", t=ms(2026, 10, 24, 22, 30)),  # 10-25 00:30 CEST
        ev("b", t=ms(2026, 10, 25, 0, 30)),  # 10-25 02:30 CEST (first 02:30)
        ev("c", t=ms(2026, 10, 25, 1, 30)),  # 10-25 02:30 CET (second 02:30)
        ev("d", t=ms(2026, 10, 25, 22, 59)),  # 10-25 23:59 CET (a 25-hour day)
        ev("e", t=ms(2026, 10, 25, 23)),
    ]  # 10-26 00:00 CET
    result = metrics(*items, lo=lo, hi=hi, tz="Europe/Berlin")
    assert result["events_by_day"] == {"2026-10-25": 4, "2026-10-26": 1}


def test_a_clock_going_back_across_midnight_widens_the_day_range() -> None:
    # St. John's fell back from 00:01 NDT to 23:01 NST (2000-10-29 02:31 UTC): after `from` (00:00:30
    # on the 29th) comes 23:15 on the 28th; the day is listed rather than the event lost.
    lo, hi = ms(2000, 10, 29, 2, 30, 30), ms(2000, 10, 29, 12)
    result = metrics(ev("1", t=ms(2000, 10, 29, 2, 45)), lo=lo, hi=hi, tz="America/St_Johns")
    assert result["events_by_day"] == {"2000-10-28": 1, "2000-10-29": 0}
    series = m.daily_series(frame(ev("1", t=ms(2000, 10, 29, 2, 45))), lo, hi, tz="America/St_Johns")
    assert series["events"].tolist() == [1, 0]


def test_off_hours_in_berlin_follow_the_offset_in_force() -> None:
    items = [
        ev("fri-winter", t=ms(2026, 3, 27, 7, 30)),  # Fri 08:30 CET   -> off
        ev("mon-summer", t=ms(2026, 3, 30, 7, 30)),  # Mon 09:30 CEST  -> on
        ev("fri-summer", t=ms(2026, 10, 23, 16, 30)),  # Fri 18:30 CEST  -> off
        ev("mon-winter", t=ms(2026, 10, 26, 16, 30)),  # Mon 17:30 CET   -> on
        ev("sun-dst", t=ms(2026, 3, 29, 10)),
    ]  # Sunday          -> off
    lo, hi = ms(2026, 3, 1), ms(2026, 11, 1)
    berlin = WorkingHours("Europe/Berlin")
    assert metrics(*items, lo=lo, hi=hi, work=berlin)["off_hours_events"] == 3
    mondays = items[1], items[3]  # UTC sees 07:30 (off) and 16:30 (on)
    assert metrics(*mondays, lo=lo, hi=hi, work=berlin)["off_hours_events"] == 0
    assert metrics(*mondays, lo=lo, hi=hi, work=WorkingHours("UTC"))["off_hours_events"] == 1
    # the display timezone never changes the verdict: off-hours are judged in the working timezone
    for tz in ("UTC", "Europe/Berlin", "Asia/Tokyo", "America/Los_Angeles"):
        assert metrics(*mondays, lo=lo, hi=hi, tz=tz, work=berlin)["off_hours_events"] == 0
        assert metrics(*mondays, lo=lo, hi=hi, tz=tz)["off_hours_events"] == 1  # default: 09-18 Mon-Fri UTC


def test_weekday_hour_counts_grid_is_local() -> None:
    grid = m.weekday_hour_counts(frame(ev("1", t=ms(2026, 3, 30, 7, 30))), tz="Europe/Berlin")
    assert len(grid) == 168 and grid["events"].sum() == 1
    assert grid.set_index(["weekday", "hour"]).loc[(0, 9), "events"] == 1


def test_bad_timezone_is_rejected() -> None:
    with pytest.raises(Exception):  # noqa: B017 - pandas/zoneinfo raise different types
        m.compute_metrics(frame(ev("1")), WEEK_FROM, WEEK_TO, tz="Mars/Olympus")


# --------------------------------------------------------------------------------------------------
# rollbacks
# --------------------------------------------------------------------------------------------------

ON = summary({True: 90, False: 10}, {True: 10, False: 90})  # a big change: 90% -> 10% true
BACK = summary({True: 10, False: 90}, {True: 90, False: 10})  # and back


def rollback_count(*items: dict[str, Any]) -> int:
    return metrics(*items)["rollbacks"]


def test_simple_rollback() -> None:
    a = ev("a", t=MONDAY + 10 * HOUR, size="large", summary=ON)
    b = ev("b", t=MONDAY + 11 * HOUR, size="large", summary=BACK)
    result = metrics(a, b)
    assert result["rollbacks"] == 1 and result["rollback_rate"] == 0.5
    pairs = m.rollback_pairs(frame(a, b))
    assert pairs.to_dict("records") == [
        {
            "flag_key": "f",
            "environment_key": "production",
            "from_id": "a",
            "to_id": "b",
            "from_time": a["eventTime"],
            "to_time": b["eventTime"],
            "tvd": 0.0,
        }
    ]


def test_rollback_at_exactly_24_hours_counts_and_just_over_does_not() -> None:
    a = ev("a", t=MONDAY, size="small", summary=ON)
    assert rollback_count(a, ev("b", t=MONDAY + DAY, summary=BACK)) == 1
    assert rollback_count(a, ev("b", t=MONDAY + DAY + 1, summary=BACK)) == 0


def test_tvd_exactly_at_the_threshold_counts() -> None:
    # (2, 8) vs (3, 7): TVD is 0.1, which floating point computes as 0.10000000000000003
    a = ev("a", size="medium", summary=summary({"x": 2, "y": 8}, {"x": 9, "y": 1}))
    b = ev("b", t=MONDAY + 11 * HOUR, summary=summary({"x": 9, "y": 1}, {"x": 3, "y": 7}))
    assert 0.5 * (abs(2 / 10 - 3 / 10) + abs(8 / 10 - 7 / 10)) > 0.1
    assert rollback_count(a, b) == 1
    assert m.rollback_pairs(frame(a, b))["tvd"].iloc[0] == pytest.approx(0.1)


def test_tvd_just_above_the_threshold_does_not_count() -> None:
    a = ev("a", size="medium", summary=summary({"x": 200, "y": 800}))
    b = ev("b", t=MONDAY + 11 * HOUR, summary=summary({}, {"x": 301, "y": 699}))
    assert rollback_count(a, b) == 0


def test_missing_variation_counts_zero() -> None:
    a = ev("a", size="small", summary=summary({"x": 95, "y": 5}))
    assert rollback_count(a, ev("b", t=MONDAY + 11 * HOUR, summary=summary({}, {"x": 100}))) == 1
    assert rollback_count(a, ev("b", t=MONDAY + 11 * HOUR, summary=summary({}, {"x": 100, "z": 20}))) == 0


def test_object_values_are_matched_by_canonical_json() -> None:
    blue, red = {"color": "blue", "size": 2}, {"color": "red", "size": [1, {"b": 1, "a": 2}]}
    a = ev(
        "a",
        size="large",
        summary={
            "variations": [
                {"value": blue, "before": 50, "after": 0},
                {"value": red, "before": 50, "after": 100},
            ]
        },
    )
    b = ev(
        "b",
        t=MONDAY + 11 * HOUR,
        summary={
            "variations": [
                {"value": {"size": [1, {"a": 2, "b": 1}], "color": "red"}, "before": 100, "after": 48},
                {"value": {"size": 2, "color": "blue"}, "before": 0, "after": 52},
            ]
        },
    )
    assert rollback_count(a, b) == 1


def test_object_values_holding_element_like_text_are_read_exactly() -> None:
    sneaky = [{"x": "}"}, {"after": 1, "before": 2, "value": 3}]

    def split(first: int, second: int, key: str = "before") -> dict[str, Any]:
        other = "after" if key == "before" else "before"
        return {
            "variations": [{"value": sneaky, key: first, other: 0}, {"value": "x", key: second, other: 0}]
        }

    a = ev("a", size="large", summary=split(60, 40))
    assert rollback_count(a, ev("b", t=MONDAY + 11 * HOUR, summary=split(60, 40, "after"))) == 1
    assert rollback_count(a, ev("b", t=MONDAY + 11 * HOUR, summary=split(40, 60, "after"))) == 0
    text = summaries.to_text(frame(a)["variations"].iloc[0])  # as PostgreSQL keeps it
    assert summaries._fast_elements(pa.array([text], pa.large_string()))[4].tolist() == [True]


def test_non_canonical_stored_text_is_canonicalised() -> None:
    df = raw_frame(ev("a", size="large"), ev("b", t=MONDAY + 11 * HOUR))
    df["variations"] = pd.array(
        [
            '[{"before": 70, "after": 0, "value": {"b": 1, "a": 2}}, {"value": "x", "before": 30, "after": 0}]',
            '[{"value":"x","after":31,"before":0},{"after":69,"before":0,"value":{"a":2,"b":1}}]',
        ],
        dtype="string",
    )
    assert m.compute_metrics(df, WEEK_FROM, WEEK_TO)["rollbacks"] == 1


def test_string_values_that_look_like_json_do_not_confuse_the_parser() -> None:
    tricky = ['},{"after":1,"before":2,"value":', 'a"b\\', "}]", "ünï\u2028", "", '{"a":1}']
    a = ev("a", size="large", summary=summary({v: 10 for v in tricky}))
    b = ev("b", t=MONDAY + 11 * HOUR, summary=summary({}, {v: 10 for v in tricky}))
    assert rollback_count(a, b) == 1
    uneven = summary({}, {v: (10 if i else 40) for i, v in enumerate(tricky)})
    assert rollback_count(a, ev("b", t=MONDAY + 11 * HOUR, summary=uneven)) == 0


def test_values_of_different_json_types_differ() -> None:
    a = ev("a", size="large", summary=summary({1: 50, "b": 50}))
    assert rollback_count(a, ev("b", t=MONDAY + 11 * HOUR, summary=summary({}, {"1": 50, "b": 50}))) == 0
    assert rollback_count(a, ev("b", t=MONDAY + 11 * HOUR, summary=summary({}, {1: 50, "b": 50}))) == 1


@pytest.mark.parametrize("size", ["none", None, "bogus"])
def test_no_rollback_of_an_event_without_impact(size: str | None) -> None:
    assert rollback_count(ev("a", size=size, summary=ON), ev("b", t=MONDAY + 11 * HOUR, summary=BACK)) == 0


def test_no_rollback_without_summaries_or_counts() -> None:
    later = MONDAY + 11 * HOUR
    assert rollback_count(ev("a", size="large"), ev("b", t=later, summary=BACK)) == 0
    assert rollback_count(ev("a", size="large", summary=ON), ev("b", t=later)) == 0
    zero_before = summary({True: 0, False: 0}, {True: 5})
    assert rollback_count(ev("a", size="large", summary=zero_before), ev("b", t=later, summary=BACK)) == 0
    zero_after = summary({True: 5}, {True: 0})
    assert rollback_count(ev("a", size="large", summary=ON), ev("b", t=later, summary=zero_after)) == 0
    assert (
        rollback_count(ev("a", size="large", summary={"variations": []}), ev("b", t=later, summary=BACK)) == 0
    )


def test_rollbacks_pair_consecutive_events_of_one_flag_and_environment() -> None:
    a = ev("a", size="large", summary=ON)
    later = MONDAY + 11 * HOUR
    assert rollback_count(a, ev("b", t=later, env="staging", summary=BACK)) == 0
    assert rollback_count(a, ev("b", t=later, flag="g", summary=BACK)) == 0
    between = ev("c", t=MONDAY + 10 * HOUR + 1, size="none", summary=summary({True: 50, False: 50}))
    assert rollback_count(a, between, ev("b", t=later, summary=BACK)) == 0
    glob = ev("g", t=MONDAY + 10 * HOUR + 1, env=None, size="none")  # global events are not in the sequence
    assert rollback_count(a, glob, ev("b", t=later, summary=BACK)) == 1


def test_equal_times_are_ordered_by_id() -> None:
    change = summary({True: 90, False: 10}, {True: 50, False: 50})
    undo = summary({True: 0, False: 100}, {True: 90, False: 10})  # undoes change, not the other way round
    pairs = m.rollback_pairs(
        frame(ev("b", size="large", summary=undo), ev("a", size="large", summary=change))
    )
    assert pairs[["from_id", "to_id"]].values.tolist() == [["a", "b"]]
    assert m.rollback_pairs(
        frame(ev("b", size="large", summary=undo), ev("z", size="large", summary=change))
    ).empty  # now b -> z


def test_chain_of_rollbacks_and_rate() -> None:
    items = [
        ev(str(i), t=MONDAY + i * HOUR, size="medium", summary=ON if i % 2 == 0 else BACK) for i in range(4)
    ]
    items.append(ev("x", flag="other", size="small"))
    result = metrics(*items)
    assert result["rollbacks"] == 3 and result["rollback_rate"] == pytest.approx(3 / 5)


def test_rollbacks_need_both_events_in_the_window() -> None:
    a = ev("a", t=MONDAY - HOUR, size="large", summary=ON)
    b = ev("b", t=MONDAY + HOUR, summary=BACK)
    assert rollback_count(a, b) == 0
    assert len(m.rollback_pairs(frame(a, b))) == 1
    assert m.rollback_pairs(frame(a, b), from_ms=MONDAY).empty


# --------------------------------------------------------------------------------------------------
# flapping
# --------------------------------------------------------------------------------------------------


def toggle(id: str, t: int, flag: str = "f", env: str | None = "production") -> dict[str, Any]:
    return ev(id, flag=flag, t=t, env=env, actions=["updateOn"])


def test_flapping_needs_three_toggles_within_seven_days() -> None:
    lo, hi = MONDAY, MONDAY + 30 * DAY
    exactly = [toggle("1", MONDAY), toggle("2", MONDAY + DAY), toggle("3", MONDAY + 7 * DAY)]
    assert metrics(*exactly, lo=lo, hi=hi)["flapping_flags"] == ["f"]
    over = [toggle("1", MONDAY), toggle("2", MONDAY + DAY), toggle("3", MONDAY + 7 * DAY + 1)]
    assert metrics(*over, lo=lo, hi=hi)["flapping_flags"] == []
    assert m.flapping_flags(frame(*exactly)) == ["f"]


def test_flapping_is_per_environment_and_sorted() -> None:
    split = [toggle("1", MONDAY), toggle("2", MONDAY + HOUR, env="staging"), toggle("3", MONDAY + 2 * HOUR)]
    assert metrics(*split)["flapping_flags"] == []
    many = [toggle(f"{f}{i}", MONDAY + i * HOUR, flag=f) for f in ("zeta", "alpha") for i in range(3)]
    other = [ev(f"n{i}", t=MONDAY + i * HOUR, flag="calm", actions=["updateRules"]) for i in range(5)]
    assert metrics(*many, *other)["flapping_flags"] == ["alpha", "zeta"]


# --------------------------------------------------------------------------------------------------
# trend
# --------------------------------------------------------------------------------------------------


def test_previous_window_has_equal_length() -> None:
    items = [ev("old", t=MONDAY - 3 * DAY), ev("older", t=MONDAY - 8 * DAY), ev("new", t=MONDAY + DAY)]
    result = m.compute_with_trend(frame(*items), WEEK_FROM, WEEK_TO)
    assert result["events_total"] == 1 and result["previous"]["events_total"] == 1
    assert list(result["previous"]["events_by_day"])[0] == "2025-12-29"
    assert len(result["previous"]["events_by_day"]) == 7


# --------------------------------------------------------------------------------------------------
# per-flag table and health score
# --------------------------------------------------------------------------------------------------


def test_per_flag_table_columns_and_values() -> None:
    items = [
        ev("a1", flag="a", t=MONDAY + 10 * HOUR, size="large", summary=ON, email="x@x.io", experiments=0),
        ev("a2", flag="a", t=MONDAY + 11 * HOUR, size="large", summary=BACK, email="y@x.io", experiments=2),
        ev("a3", flag="a", t=MONDAY + 20 * HOUR, actions=["updateOn"], email="x@x.io"),  # off hours
        ev("b1", flag="b", t=MONDAY + DAY + 10 * HOUR, size="small", email=None),
    ]
    table = m.per_flag_table(frame(*items), WEEK_FROM, WEEK_TO, tz="UTC")
    assert tuple(table.columns) == m.FLAG_TABLE_COLUMNS
    assert table["flag_key"].tolist() == ["a", "b"]  # a is less healthy
    a = table.iloc[0]
    assert (
        a["events"],
        a["toggles"],
        a["rollbacks"],
        a["large_impact"],
        a["large_unguarded"],
        a["off_hours"],
        a["members"],
        a["experiments"],
    ) == (3, 1, 1, 2, 1, 1, 2, 2)
    assert not a["flapping"]
    assert a["last_change_ms"] == MONDAY + 20 * HOUR
    assert a["last_change"] == "2026-01-05T20:00:00+00:00"
    assert a["days_since_change"] == pytest.approx((WEEK_TO - (MONDAY + 20 * HOUR)) / DAY)
    assert a["churn_per_week"] == pytest.approx(3.0)
    assert (
        a["churn_penalty"],
        a["rollback_penalty"],
        a["flapping_penalty"],
        a["unguarded_penalty"],
        a["off_hours_penalty"],
    ) == (6.0, 15.0, 0.0, 10.0, 2.5)
    assert a["health_score"] == pytest.approx(100 - 6 - 15 - 10 - 2.5)
    b = table.iloc[1]
    assert b["members"] == 0 and pd.isna(b["experiments"]) and b["health_score"] == 98.0
    records = m.flag_table_records(table)
    assert json.loads(json.dumps(records)) == records
    assert records[1]["experiments"] is None and records[0]["last_change"].startswith("2026-01-05T20:00:00")


def test_per_flag_table_last_change_uses_the_timezone() -> None:
    table = m.per_flag_table(frame(ev("1", t=MONDAY)), WEEK_FROM, WEEK_TO, tz="Europe/Berlin")
    assert m.flag_table_records(table)[0]["last_change"] == "2026-01-05T01:00:00+01:00"


def test_per_flag_table_flapping_and_score_floor() -> None:
    items = [ev(f"t{i}", t=MONDAY + i * HOUR, size="large", actions=["updateOn"]) for i in range(30)]
    items += [
        ev(f"r{i}", t=MONDAY + 2 * DAY + i * HOUR, size="large", summary=ON if i % 2 == 0 else BACK)
        for i in range(6)
    ]
    row = m.per_flag_table(frame(*items), WEEK_FROM, WEEK_TO).iloc[0]
    assert row["flapping"] and row["rollbacks"] == 5
    assert row["health_score"] == 0.0
    assert sum(row[c] for c in m.PENALTY_COLUMNS) == sum(m.HEALTH_WEIGHTS.values()) == 100


def test_empty_per_flag_table_keeps_its_columns() -> None:
    table = m.per_flag_table(empty_frame(), WEEK_FROM, WEEK_TO)
    assert table.empty and tuple(table.columns) == m.FLAG_TABLE_COLUMNS
    assert m.flag_table_records(table) == []


def test_health_penalties_are_monotone_and_bounded() -> None:
    grid = np.arange(0, 40)
    for column, args in [
        ("churn_penalty", (grid, 0, 0, 0, 0)),
        ("rollback_penalty", (0, grid, 0, 0, 0)),
        ("unguarded_penalty", (0, 0, 0, grid, 0)),
        ("off_hours_penalty", (0, 0, 0, 0, grid)),
    ]:
        out = m.health_penalties(*args)
        assert (np.diff(out[column]) >= 0).all() and (np.diff(out["health_score"]) <= 0).all()
    assert m.health_penalties(0, 0, False, 0, 0)["health_score"].tolist() == [100.0]
    assert m.health_penalties(1e9, 1e9, True, 1e9, 1e9)["health_score"].tolist() == [0.0]


# --------------------------------------------------------------------------------------------------
# chart helpers
# --------------------------------------------------------------------------------------------------


def test_daily_impact_counts_is_a_full_grid() -> None:
    df = frame(ev("1", size="large", t=MONDAY + HOUR), ev("2", t=MONDAY + DAY + HOUR))
    out = m.daily_impact_counts(df, MONDAY, MONDAY + 3 * DAY)
    assert list(out.columns) == ["date", "impact_size", "events"] and len(out) == 15
    cells = {(r.date, r.impact_size): r.events for r in out.itertuples()}
    assert cells[("2026-01-05", "large")] == 1 and cells[("2026-01-06", "unknown")] == 1
    assert out["events"].sum() == 2


def test_daily_series_by_day_and_week() -> None:
    items = [
        ev("a", t=MONDAY + 10 * HOUR, size="large", summary=ON),
        ev("b", t=MONDAY + 11 * HOUR, size="none", summary=BACK),
        ev("c", flag="g", t=MONDAY + 8 * DAY, env=None, actions=["updateOn"]),
    ]
    daily = m.daily_series(frame(*items), MONDAY, MONDAY + 14 * DAY)
    assert len(daily) == 14 and daily["period"].iloc[0] == "2026-01-05"
    first = daily.iloc[0]
    assert (first["events"], first["flags_changed"], first["large"], first["rollbacks"]) == (2, 1, 1, 1)
    assert first["large_share"] == 0.5 and first["rollback_rate"] == 1.0
    weekly = m.daily_series(frame(*items), MONDAY + 2 * DAY, MONDAY + 14 * DAY, freq="W")
    assert weekly["period"].tolist() == ["2026-01-05", "2026-01-12"]
    assert weekly["events"].tolist() == [0, 1] and weekly["global_events"].tolist() == [0, 1]
    assert weekly["toggles"].tolist() == [0, 1]
    with pytest.raises(ValueError):
        m.daily_series(frame(*items), MONDAY, MONDAY + DAY, freq="M")


def test_chart_helpers_on_empty_input() -> None:
    assert m.daily_impact_counts(empty_frame(), MONDAY, MONDAY + DAY)["events"].tolist() == [0] * 5
    assert m.weekday_hour_counts(empty_frame())["events"].sum() == 0
    assert m.daily_series(empty_frame(), MONDAY, MONDAY + 2 * DAY)["events"].tolist() == [0, 0]
    assert m.rollback_pairs(empty_frame()).empty and m.flapping_flags(empty_frame()) == []


def test_plain_object_columns_are_accepted() -> None:
    df = frame(ev("1", size="large", actions=["updateOn"]), ev("2", env=None))
    plain = df.astype(
        {c: object for c in ("flag_key", "environment_key", "impact_size", "actions", "member_email")}
    )
    assert m.compute_metrics(plain, WEEK_FROM, WEEK_TO) == m.compute_metrics(df, WEEK_FROM, WEEK_TO)


def test_the_metric_columns_are_all_the_metrics_read(tmp_path):
    """``python -m ldclient metrics`` and the all-projects table load only METRIC_COLUMNS: the numbers
    must be the ones the full frame gives, and each listed column must be needed."""
    from ldclient.demo import default_now_ms, generate_account
    from ldclient.store import SQLiteStore, StoreKey

    now = default_now_ms()
    events = [
        e
        for e in generate_account(seed=7, now_ms=now).events
        if e["projectKey"] == "web-storefront" and e.get("environmentKey") in ("production", None)
    ]
    store = SQLiteStore(tmp_path / "events.sqlite")
    key = StoreKey("demo", "web-storefront", "production")
    store.write_page(key, events)
    lo, mid, hi = now - 90 * DAY, now - 45 * DAY, now

    def everything(frame: pd.DataFrame) -> str:
        return json.dumps(
            [
                m.compute_with_trend(frame, mid, hi, "Europe/Berlin"),
                m.compute_with_trend(frame, mid, hi, "UTC", False),
                m.flag_table_records(m.per_flag_table(frame, lo, hi)),
                m.daily_impact_counts(frame, mid, hi).to_dict("records"),
                m.weekday_hour_counts(frame, "UTC", mid, hi).to_dict("records"),
                m.daily_series(frame, mid, hi, freq="W").to_dict("records"),
            ],
            default=str,
            sort_keys=True,
        )

    full = store.load_frame(key, lo, hi)
    narrow = store.load_frame(key, lo, hi, m.METRIC_COLUMNS)
    store.close()
    assert set(narrow.columns) == set(m.METRIC_COLUMNS) < set(full.columns)
    assert m.compute_metrics(full, mid, hi)["rollbacks"] > 0  # the comparison covers the variation logic
    assert everything(narrow) == everything(full)
    for name in m.METRIC_COLUMNS:
        with pytest.raises(KeyError):
            everything(narrow.drop(columns=[name]))


def test_a_stale_flag_loses_the_stale_points_and_a_never_changed_one_gets_a_row() -> None:
    """with_stale_flags: the debt of a stale flag is scored whether it changed or not (docs "Staleness")."""
    calm = ev("c1", t=MONDAY + 12 * HOUR, flag="calm")  # one on-hours small change: nearly 100
    churny = [ev(f"x{i}", t=MONDAY + i * HOUR, flag="churny", size="large") for i in range(12)]
    table = m.per_flag_table(frame(calm, *churny), WEEK_FROM, WEEK_TO)
    before = dict(zip(table["flag_key"], table["health_score"], strict=True))
    scored = m.with_stale_flags(table, ["calm", "churny", "never-changed"])
    rows = {r["flag_key"]: r for r in m.flag_table_records(scored)}
    assert set(rows) == {"calm", "churny", "never-changed"} and tuple(scored.columns) == m.FLAG_TABLE_COLUMNS
    assert rows["calm"]["stale"] and rows["calm"]["stale_penalty"] == m.STALE_POINTS == 50
    assert rows["calm"]["health_score"] == round(before["calm"] - 50, 1)
    assert rows["churny"]["health_score"] == max(0.0, round(before["churny"] - 50, 1))
    never = rows["never-changed"]
    assert never["events"] == 0 and never["last_change"] is None and never["last_change_ms"] is None
    assert never["health_score"] == 50.0 and never["stale"]
    assert list(scored["health_score"]) == sorted(scored["health_score"])  # still worst first
    # a flag that is not stale keeps its score, and no stale list changes nothing
    assert m.with_stale_flags(table, [])["health_score"].tolist() == table["health_score"].tolist()
    kept = m.with_stale_flags(table, ["calm"])
    assert kept.loc[kept["flag_key"] == "churny", "health_score"].item() == before["churny"]


def test_compute_with_trend_per_key_equals_one_call_per_key(tmp_path):
    """All projects computes every key from one ``load_frames`` frame: each key's numbers, with its own
    window and working hours, are exactly those of ``compute_with_trend`` on that key's own frame."""
    from ldclient.demo import default_now_ms, generate_account
    from ldclient.store import SQLiteStore, StoreKey
    from ldclient.working_hours import WorkingHours

    now = default_now_ms()
    account = generate_account(seed=7, now_ms=now)
    store = SQLiteStore(tmp_path / "events.sqlite")
    keys = []
    for project in account.projects[:2]:
        for env in project["environments"]:
            key = StoreKey("demo", project["key"], env["key"])
            events = [
                e
                for e in account.events
                if e["projectKey"] == project["key"] and e.get("environmentKey") in (env["key"], None)
            ]
            if events:
                store.write_page(key, events)
            keys.append(key)
    keys.append(StoreKey("demo", "nowhere", "production"))  # a key without events
    lo, hi = now - 60 * DAY, now
    windows = [(now - 30 * DAY, hi - (i % 3) * DAY) for i in range(len(keys))]
    works = [None if i % 2 else WorkingHours(timezone="Asia/Tokyo") for i in range(len(keys))]
    frame, counts = store.load_frames(keys, lo, hi, m.METRIC_COLUMNS)
    for tz in ("UTC", "America/New_York"):
        together = m.compute_with_trend_per_key(frame, counts, windows, tz, works=works)
        alone = [
            m.compute_with_trend(store.load_frame(k, lo, hi, m.METRIC_COLUMNS), f, t, tz, work=w)
            for k, (f, t), w in zip(keys, windows, works, strict=True)
        ]
        assert together == alone
    assert sum(r["rollbacks"] for r in alone) > 0 and sum(r["global_events"] for r in alone) > 0
    assert sum(len(r["flapping_flags"]) for r in alone) > 0 and alone[-1]["events_total"] == 0
    with pytest.raises(ValueError, match="counts add up"):
        m.compute_with_trend_per_key(frame, counts[:-1] + [5], windows)
    store.close()


def test_event_counts_are_the_headlines_counts():
    """Unsorted rows, a duplicate id, a global event, a size outside the four and an event outside the window."""
    df = raw_frame(
        ev("b", "f2", MONDAY + 30 * HOUR, size="large"),
        ev("a", "f1", MONDAY + 2 * HOUR, size="small"),
        ev("a", "f1", MONDAY + 3 * HOUR, size="medium"),
        ev("c", "f1", MONDAY + 100 * HOUR, env=None, size="huge"),
        ev("d", "f3", MONDAY + 9 * DAY),
        ev("e", "f2", MONDAY + 160 * HOUR, size="none"),
    )
    for tz in ("UTC", "Asia/Kolkata"):
        head = m.compute_metrics(df, WEEK_FROM, WEEK_TO, tz)
        counts = m.event_counts(df, WEEK_FROM, WEEK_TO, tz)
        assert counts == {k: head[k] for k in ("events_by_impact", "events_by_day", "top_flags")}
        assert sum(counts["events_by_impact"].values()) == head["events_total"] > 0


def test_a_store_frame_without_ids_gives_the_numbers_of_the_full_frame(tmp_path):
    """``METRIC_COLUMNS`` leaves ``id`` out: the store's (time, id) order must then decide what ids decide
    otherwise (which of two changes at the same millisecond came first). Many ties, random order of writing."""
    import random

    from ldclient.store import SQLiteStore, StoreKey

    rng = random.Random(5)
    splits = [{True: 100, False: 0}, {True: 0, False: 100}, {True: 50, False: 50}, {True: 90, False: 10}]
    items = []
    for i in range(600):
        before, after = rng.choice(splits), rng.choice(splits)
        items.append(
            ev(
                f"id-{rng.randrange(10**6):06d}-{i}",
                flag=f"f{rng.randrange(3)}",
                t=MONDAY + rng.randrange(12) * HOUR,  # 600 events on 12 instants: ties everywhere
                env=rng.choice(["production", "staging", None]),
                size=rng.choice(["large", "medium", "small", None]),
                actions=rng.choice([["updateOn"], ["updateRules"], None]),
                summary=summary(before, after),
            )
        )
    rng.shuffle(items)
    store = SQLiteStore(tmp_path / "ties.sqlite")
    key, other = StoreKey("demo", "p", "production"), StoreKey("demo", "p", "staging")
    for k in range(0, len(items), 70):
        store.write_page(key, items[k : k + 70])
        store.write_page(other, items[k + 35 : k + 70])
    full = store.load_frame(key, WEEK_FROM, WEEK_TO)
    narrow = store.load_frame(key, WEEK_FROM, WEEK_TO, m.METRIC_COLUMNS)
    # two keys in one frame (All projects): its times are not in order, the ties within each key still are
    frame, counts = store.load_frames([other, key], WEEK_FROM, WEEK_TO, m.METRIC_COLUMNS)
    windows = [(WEEK_FROM + DAY, WEEK_TO)] * 2
    assert m.compute_with_trend_per_key(frame, counts, windows) == [
        m.compute_with_trend(store.load_frame(k, WEEK_FROM, WEEK_TO), *windows[0]) for k in (other, key)
    ]
    store.close()
    assert "id" not in narrow.columns
    for tz in ("UTC", "Asia/Tokyo"):
        assert m.compute_with_trend(narrow, WEEK_FROM + DAY, WEEK_TO, tz) == m.compute_with_trend(
            full, WEEK_FROM + DAY, WEEK_TO, tz
        )
        assert m.per_flag_table(narrow, WEEK_FROM, WEEK_TO, tz).equals(
            m.per_flag_table(full, WEEK_FROM, WEEK_TO, tz)
        )
    # the order of ties matters here: the same rows with their ties shuffled find other rollbacks
    shuffled = narrow.sample(frac=1, random_state=1).sort_values("event_time", kind="stable")
    assert (
        m.compute_metrics(shuffled, WEEK_FROM, WEEK_TO)["rollbacks"]
        != (m.compute_metrics(full, WEEK_FROM, WEEK_TO)["rollbacks"])
    )
