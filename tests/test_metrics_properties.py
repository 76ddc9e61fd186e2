"""Property-based tests of ldclient.metrics: invariants, and agreement with a plain-Python reference.

The reference below restates docs/METRICS.md as directly as possible (loops, json, zoneinfo), so the
vectorised code is checked against the definitions rather than against itself.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ldclient import metrics as m
from ldclient import summaries
from ldclient.frame import COLUMNS, flatten_event, frame_from_columns
from ldclient.summaries import canonical_json
from ldclient.working_hours import WorkingHours

HOUR = 3_600_000
DAY = 24 * HOUR
T0 = int(datetime(2026, 3, 20, tzinfo=UTC).timestamp() * 1000)  # spans Berlin's and New York's DST change
SPAN = 20 * DAY
ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe"]

# working hours: the default, other zones, minutes, a Sunday-Thursday week, a day that ends at midnight
WORKS = [
    WorkingHours(),
    WorkingHours("Europe/Berlin"),
    WorkingHours("Asia/Kolkata", 8 * 60 + 30, 17 * 60 + 30),
    WorkingHours("America/New_York", 0, 24 * 60, frozenset({6, 0, 1, 2, 3})),
    WorkingHours("Australia/Lord_Howe", 22 * 60, 24 * 60, frozenset({5})),
]

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# --------------------------------------------------------------------------------------------------
# strategies
# --------------------------------------------------------------------------------------------------

# summaries are built from a few distributions over a few values (objects included), so that a later
# event's "after" often equals an earlier "before" within or just around the 0.10 TVD threshold
VALUES = [True, False, "x", {"k": 1, "j": [2]}, 1, None]
FLAGS = ["a", "b", "c"]
STATES = [(9, 1), (1, 9), (8, 2), (7, 3), (10, 0), (0, 0), (5, 5), (90, 10), (2, 8)]


@st.composite
def summary_items(draw: st.DrawFn, flag: int) -> dict[str, Any] | None:
    if draw(st.integers(0, 5)) == 0:
        return None
    first = (
        flag if draw(st.integers(0, 5)) else draw(st.integers(0, len(VALUES) - 2))
    )  # mostly the flag's own
    pair = VALUES[first : first + 2]
    before, after = draw(st.sampled_from(STATES)), draw(st.sampled_from(STATES))
    variations = [{"value": v, "before": b, "after": a} for v, b, a in zip(pair, before, after, strict=True)]
    if draw(st.integers(0, 4)) == 0:  # an extra or missing variation now and then
        variations = (
            variations[:1] if draw(st.booleans()) else [*variations, {"value": "z", "before": 1, "after": 0}]
        )
    return {"variations": draw(st.permutations(variations))}


# times cluster so that 24 h / 7 day boundaries and equal timestamps are hit often
times = st.one_of(
    st.integers(T0 - 2 * DAY, T0 + SPAN + 2 * DAY),
    st.integers(0, 40).map(lambda k: T0 + k * 6 * HOUR),
    st.integers(0, 10).map(lambda k: T0 + k * DAY + (k % 2)),
)


@st.composite
def event_items(draw: st.DrawFn, max_size: int = 40) -> list[dict[str, Any]]:
    n = draw(st.integers(0, max_size))
    fetched = draw(st.booleans())
    items = []
    for i in range(n):
        item: dict[str, Any] = {
            "id": f"e{i:03d}",
            "projectKey": "p",
            "flagKey": draw(st.sampled_from(FLAGS)),
            "eventType": "flag-updated",
            "eventTime": draw(times),
            "description": "",
        }
        env = draw(st.sampled_from(["production", "production", "production", "staging", None]))
        if env:
            item["environmentKey"] = env
        member = draw(st.sampled_from([None, "x@x.io", "y@x.io", "z@x.io"]))
        if member:
            item["member"] = {"email": member}
        item["actions"] = draw(
            st.lists(st.sampled_from(["updateOn", "updateOn", "updateRules", "updateOnX"]), max_size=2)
        )
        impact: dict[str, Any] = {}
        size = draw(st.sampled_from(["none", "small", "medium", "large", "large", None, "odd"]))
        if size:
            impact["size"] = size
        summary = draw(summary_items(FLAGS.index(item["flagKey"]) * 2))
        if summary is not None:
            impact["evaluationsSummary"] = summary
        item["impact"] = impact
        if fetched and draw(st.booleans()):
            item["experiments"] = {"totalCount": draw(st.integers(0, 2)), "items": []}
        items.append(item)
    # exact copies: the store may hand us an event twice
    copies = draw(st.lists(st.integers(0, max(n - 1, 0)), max_size=3)) if n else []
    return items + [dict(items[i]) for i in copies]


def to_frame(items: list[dict[str, Any]]) -> pd.DataFrame:
    rows = [flatten_event(i) for i in items]
    return frame_from_columns({c: [r[c] for r in rows] for c in COLUMNS})


windows = st.one_of(
    st.just((T0 - DAY, T0 + SPAN + DAY)),
    st.tuples(st.integers(-1, SPAN // DAY), st.integers(1, SPAN // DAY)).map(
        lambda p: (T0 + p[0] * DAY, T0 + (p[0] + p[1]) * DAY)
    ),
    st.tuples(st.integers(T0 - DAY, T0 + SPAN), st.integers(0, SPAN)).map(lambda p: (p[0], p[0] + p[1])),
)

# --------------------------------------------------------------------------------------------------
# the reference: docs/METRICS.md in plain Python
# --------------------------------------------------------------------------------------------------

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def local(t: int, tz: str) -> datetime:
    return (EPOCH + timedelta(milliseconds=t)).astimezone(ZoneInfo(tz))


def distribution(variations: list[dict[str, Any]] | None, side: str) -> dict[str, float] | None:
    """A ``flatten_event`` row's summary (values as their canonical JSON text) as shares per value."""
    if variations is None:
        return None
    totals: Counter[str] = Counter()
    for v in variations:
        totals[canonical_json(json.loads(v["value"]))] += v[side]
    total = sum(totals.values())
    return {k: c / total for k, c in totals.items()} if total > 0 else None


def reference_rollbacks(rows: list[dict[str, Any]]) -> list[tuple[str, str, float]]:
    seq = sorted(
        (r for r in rows if r["environment_key"] is not None),
        key=lambda r: (r["flag_key"], r["environment_key"], r["event_time"], r["id"]),
    )
    out = []
    for a, b in zip(seq, seq[1:], strict=False):
        if (a["flag_key"], a["environment_key"]) != (b["flag_key"], b["environment_key"]):
            continue
        if b["event_time"] - a["event_time"] > DAY or a["impact_size"] not in ("small", "medium", "large"):
            continue
        p, q = distribution(a["variations"], "before"), distribution(b["variations"], "after")
        if p is None or q is None:
            continue
        tvd = 0.5 * sum(abs(p.get(k, 0.0) - q.get(k, 0.0)) for k in p.keys() | q.keys())
        if tvd <= 0.1 + 1e-9:
            out.append((a["id"], b["id"], tvd))
    return out


def reference_flapping(rows: list[dict[str, Any]]) -> list[str]:
    toggles: dict[tuple[str, str], list[int]] = {}
    for r in rows:
        if r["environment_key"] is not None and "updateOn" in (r["actions"] or "").split(","):
            toggles.setdefault((r["flag_key"], r["environment_key"]), []).append(r["event_time"])
    flags = set()
    for (flag, _), ts in toggles.items():
        ts.sort()
        if any(ts[i + 2] - ts[i] <= 7 * DAY for i in range(len(ts) - 2)):
            flags.add(flag)
    return sorted(flags)


def top(keys: list[str | None], name: str) -> list[dict[str, Any]]:
    counts = Counter(k for k in keys if k is not None)
    return [{name: k, "events": c} for k, c in sorted(counts.items(), key=lambda kc: (-kc[1], kc[0]))[:10]]


def is_off_hours(time_ms: int, work: WorkingHours) -> bool:
    """docs/METRICS.md: not on a working day, or outside [start, end), in the working timezone."""
    d = local(time_ms, work.timezone)
    minute = d.hour * 60 + d.minute
    return d.weekday() not in work.days or not work.start_minute <= minute < work.end_minute


def reference(
    items: list[dict[str, Any]],
    lo: int,
    hi: int,
    tz: str,
    include_global: bool,
    work: WorkingHours = WORKS[0],
) -> dict[str, Any]:
    by_id: dict[str, dict[str, Any]] = {}
    for r in map(flatten_event, items):
        if r["id"] not in by_id or r["event_time"] >= by_id[r["id"]]["event_time"]:
            by_id[r["id"]] = r
    rows = [
        r
        for r in by_id.values()
        if lo <= r["event_time"] < hi and (include_global or r["environment_key"] is not None)
    ]
    impact = Counter(
        r["impact_size"] if r["impact_size"] in ("none", "small", "medium", "large") else "unknown"
        for r in rows
    )
    by_impact = {k: impact.get(k, 0) for k in ("none", "small", "medium", "large", "unknown")}
    known = len(rows) - by_impact["unknown"]
    impactful = by_impact["small"] + by_impact["medium"] + by_impact["large"]
    days: dict[str, int] = {}
    if hi > lo:
        day, last = local(lo, tz).date(), local(hi - 1, tz).date()
        while day <= last:
            days[day.isoformat()] = 0
            day += timedelta(days=1)
    for r in rows:
        days[local(r["event_time"], tz).date().isoformat()] += 1
    off = sum(1 for r in rows if is_off_hours(r["event_time"], work))  # never the display timezone
    fetched = [r["experiments_count"] for r in rows if r["experiments_count"] is not None]
    rollbacks = len(reference_rollbacks(rows))
    return {
        "events_total": len(rows),
        "flags_changed": len({r["flag_key"] for r in rows}),
        "events_by_impact": by_impact,
        "large_impact_share": by_impact["large"] / known if known else 0.0,
        "global_events": sum(1 for r in rows if r["environment_key"] is None),
        "experiment_events": sum(1 for c in fetched if c > 0) if fetched else None,
        "off_hours_events": off,
        "events_by_day": days,
        "toggles": sum(1 for r in rows if "updateOn" in (r["actions"] or "").split(",")),
        "rollbacks": rollbacks,
        "rollback_rate": rollbacks / impactful if impactful else 0.0,
        "flapping_flags": reference_flapping(rows),
        "top_flags": top([r["flag_key"] for r in rows], "flagKey"),
        "top_members": top([r["member_email"] for r in rows], "email"),
    }


# --------------------------------------------------------------------------------------------------
# properties
# --------------------------------------------------------------------------------------------------


@SETTINGS
@given(event_items(), windows, st.sampled_from(ZONES), st.booleans(), st.sampled_from(WORKS))
def test_matches_the_reference(
    items: list[dict[str, Any]], window: tuple[int, int], tz: str, include_global: bool, work: WorkingHours
) -> None:
    got = m.compute_metrics(to_frame(items), *window, tz=tz, include_global=include_global, work=work)
    want = reference(items, *window, tz, include_global, work)
    for key in ("large_impact_share", "rollback_rate"):
        assert got.pop(key) == pytest.approx(want.pop(key))
    assert got == want


@SETTINGS
@given(event_items(), windows, st.sampled_from(ZONES))
def test_counts_are_consistent(items: list[dict[str, Any]], window: tuple[int, int], tz: str) -> None:
    df = to_frame(items)
    got = m.compute_metrics(df, *window, tz=tz)
    assert sum(got["events_by_impact"].values()) == got["events_total"]
    assert sum(got["events_by_day"].values()) == got["events_total"]
    impactful = sum(got["events_by_impact"][k] for k in ("small", "medium", "large"))
    assert got["rollbacks"] <= impactful and 0.0 <= got["rollback_rate"] <= 1.0
    assert 0.0 <= got["large_impact_share"] <= 1.0
    table = m.per_flag_table(df, *window, tz=tz)
    assert table["events"].sum() == got["events_total"]
    assert table["rollbacks"].sum() == got["rollbacks"]
    assert table["toggles"].sum() == got["toggles"]
    assert table["off_hours"].sum() == got["off_hours_events"]
    assert table["large_impact"].sum() == got["events_by_impact"]["large"]
    assert sorted(table.loc[table["flapping"], "flag_key"]) == got["flapping_flags"]
    assert table["health_score"].between(0, 100).all()
    assert table["health_score"].is_monotonic_increasing
    daily = m.daily_series(df, *window, tz=tz)
    assert daily["events"].sum() == got["events_total"] and daily["rollbacks"].sum() == got["rollbacks"]
    assert m.daily_impact_counts(df, *window, tz=tz)["events"].sum() == got["events_total"]
    assert len(m.rollback_pairs(df, *window)) == got["rollbacks"]


@SETTINGS
@given(event_items(), windows, st.sampled_from(ZONES), st.randoms(use_true_random=False))
def test_shuffling_changes_nothing(
    items: list[dict[str, Any]], window: tuple[int, int], tz: str, rnd: Any
) -> None:
    df = to_frame(items)
    shuffled = df.iloc[rnd.sample(range(len(df)), len(df))].reset_index(drop=True)
    assert m.compute_with_trend(shuffled, *window, tz=tz) == m.compute_with_trend(df, *window, tz=tz)
    pd.testing.assert_frame_equal(
        m.per_flag_table(shuffled, *window, tz=tz), m.per_flag_table(df, *window, tz=tz)
    )
    pd.testing.assert_frame_equal(m.rollback_pairs(shuffled), m.rollback_pairs(df))


@SETTINGS
@given(event_items(), windows, st.sampled_from(ZONES), st.sampled_from(ZONES), st.sampled_from(WORKS))
def test_the_display_timezone_changes_only_the_day_buckets(
    items: list[dict[str, Any]], window: tuple[int, int], tz: str, other: str, work: WorkingHours
) -> None:
    """For the same millisecond window every number is the same in every display timezone; only the
    local days of ``events_by_day`` (and of the daily series) follow it."""
    df = to_frame(items)
    a, b = (m.compute_with_trend(df, *window, tz=z, work=work) for z in (tz, other))
    for result in (a, b, a["previous"], b["previous"]):
        result.pop("events_by_day")
    assert a == b
    ta, tb = (m.per_flag_table(df, *window, tz=z, work=work).drop(columns="last_change") for z in (tz, other))
    pd.testing.assert_frame_equal(ta, tb)
    sa, sb = (m.daily_series(df, *window, tz=z, work=work) for z in (tz, other))
    for column in ("events", "off_hours", "toggles", "rollbacks", "large", "global_events"):
        assert sa[column].sum() == sb[column].sum(), column


ADDITIVE = ("events_total", "global_events", "off_hours_events", "toggles")


@SETTINGS
@given(event_items(), windows, st.floats(0, 1), st.sampled_from(ZONES), st.booleans())
def test_splitting_a_window_adds_up(
    items: list[dict[str, Any]], window: tuple[int, int], cut: float, tz: str, include_global: bool
) -> None:
    lo, hi = window
    mid = lo + int((hi - lo) * cut)
    df = to_frame(items)
    whole, left, right = (
        m.compute_metrics(df, a, b, tz=tz, include_global=include_global)
        for a, b in ((lo, hi), (lo, mid), (mid, hi))
    )
    for key in ADDITIVE:
        assert whole[key] == left[key] + right[key], key
    for key in m.IMPACT_KEYS:
        assert (
            whole["events_by_impact"][key] == left["events_by_impact"][key] + right["events_by_impact"][key]
        )
    days = Counter(left["events_by_day"])
    days.update(right["events_by_day"])
    assert dict(days) == whole["events_by_day"]
    assert list(whole["events_by_day"]) == sorted(days)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.floats(0, 100), st.integers(0, 10), st.booleans(), st.integers(0, 10), st.integers(0, 20)
        ),
        min_size=2,
        max_size=2,
    )
)
def test_health_score_is_monotone_and_bounded(pair: list[tuple[float, int, bool, int, int]]) -> None:
    low = tuple(min(a, b) for a, b in zip(*pair, strict=True))
    high = tuple(max(a, b) for a, b in zip(*pair, strict=True))
    scores = m.health_penalties(*zip(low, high, strict=True))["health_score"].tolist()
    assert 0.0 <= scores[1] <= scores[0] <= 100.0


# --------------------------------------------------------------------------------------------------
# the variations parser: fast path and json path agree with json.loads on canonical text
# --------------------------------------------------------------------------------------------------

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
    st.sampled_from(['},{"after":1,"before":2,"value":3', "}]", '"', "\\", "\u2028"]),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.sampled_from(["after", "before", "value", "a", "z"]), inner, max_size=3),
    ),
    max_leaves=6,
)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.lists(st.tuples(json_values, st.integers(0, 10**12), st.integers(0, 10**12)), max_size=4),
        max_size=6,
    )
)
def test_variation_parser_agrees_with_json(cases: list[list[tuple[Any, int, int]]]) -> None:
    texts = [canonical_json([{"value": v, "before": b, "after": a} for v, b, a in s]) for s in cases]
    arrow = pa.array(texts, type=pa.large_string())
    fast_ok = summaries._fast_elements(arrow)[4]
    assert fast_ok.tolist() == [bool(s) for s in cases]  # canonical text never needs json.loads
    elements = summaries.elements(summaries.from_text(arrow))
    order = np.lexsort((np.arange(len(elements.owner)), elements.owner))
    got = [
        (int(elements.owner[i]), int(elements.value[i]), int(elements.before[i]), int(elements.after[i]))
        for i in order
    ]
    codes: dict[str, int] = {}
    value_of: dict[int, str] = {}
    want = []
    for owner, s in enumerate(cases):
        for v, b, a in s:
            want.append((owner, canonical_json(v), b, a))
    assert [(o, b, a) for o, _, b, a in got] == [(o, b, a) for o, _, b, a in want]
    for (_, code, _, _), (_, text, _, _) in zip(got, want, strict=True):  # codes identify values exactly
        assert codes.setdefault(text, code) == code
        assert value_of.setdefault(code, text) == text
