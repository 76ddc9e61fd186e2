"""Flag-health metrics over the events frame (``ldclient.frame``): pure, vectorised, no I/O.

Every function takes the frame as built by ``events_to_frame``/``frame_from_columns`` and a window
``[from_ms, to_ms)`` in Unix milliseconds. Events are deduplicated by ``id`` before anything else,
then filtered to the window; calendar buckets (days, hours, weekdays) use an IANA timezone, the
viewer's (``tz``). Off-hours are judged in the team's working hours (``work``, a ``WorkingHours`` with
its own timezone), never in ``tz``: only days and display follow the viewer.
``docs/METRICS.md`` is the reference for every definition; the constants below are its numbers.

Speed matters (a million events in well under a second per call), so nothing here loops over
events in Python: columns become numpy arrays of category codes once, and rollback detection reads
just the variation summaries of candidate pairs, each once, as numbers (``ldclient.summaries``).
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..vocabulary import DAY_MS, IMPACT_SIZES
from ..working_hours import WorkingHours
from .definitions import (
    _IMPACTFUL,
    _LARGE,
    _UNKNOWN,
    CHURN_FULL_PER_WEEK,
    FLAG_TABLE_COLUMNS,
    HEADLINE_KEYS,
    HEALTH_WEIGHTS,
    HOUR_MS,
    IMPACT_KEYS,
    METRIC_COLUMNS,
    OFF_HOURS_POINTS,
    PENALTY_COLUMNS,
    ROLLBACK_POINTS,
    SCORE_COLUMNS,
    STALE_POINTS,
    TOP_N,
    UNGUARDED_POINTS,
    WEEK_MS,
    BoolArray,
    IntArray,
)
from .engine import (
    _check_window,
    _day_range,
    _day_strings,
    _Events,
    _flapping_codes,
    _local_day,
    _local_ms,
    _local_stamps,
    _off_hours,
    _rollbacks,
    _sorted_labels,
    _weekday,
)
from .records import EventCounts, Headline, HeadlineWithTrend

__all__ = [
    "Headline",
    "HeadlineWithTrend",
    "HEADLINE_KEYS",
    "IMPACT_KEYS",
    "IMPACT_SIZES",
    "FLAG_TABLE_COLUMNS",
    "HEALTH_WEIGHTS",
    "PENALTY_COLUMNS",
    "SCORE_COLUMNS",
    "STALE_POINTS",
    "METRIC_COLUMNS",
    "compute_metrics",
    "event_counts",
    "EventCounts",
    "compute_with_trend",
    "compute_with_trend_per_key",
    "per_flag_table",
    "with_stale_flags",
    "flag_table_records",
    "health_penalties",
    "rollback_pairs",
    "flapping_flags",
    "daily_impact_counts",
    "weekday_hour_counts",
    "daily_series",
]

# --------------------------------------------------------------------------------------------------
# Headline metrics.
# --------------------------------------------------------------------------------------------------


def _top(codes: IntArray, labels: np.ndarray, name: str) -> list[dict[str, str | int]]:
    """The TOP_N most frequent labels (NA left out), ties by label ascending."""
    counts = np.bincount(codes[codes >= 0], minlength=len(labels))
    present = np.flatnonzero(counts)
    if not len(present):
        return []
    names = labels[present].astype(str)
    order = np.lexsort((names, -counts[present]))[:TOP_N]
    return [{name: str(names[i]), "events": int(counts[present][i])} for i in order]


def _counts(ev: _Events, from_ms: int, to_ms: int, tz: str, local: IntArray) -> tuple[IntArray, EventCounts]:
    """Events by impact (as an array too: the headline derives shares from it), by local day, top flags."""
    first_day, n_days = _day_range(from_ms, to_ms, tz, local // DAY_MS)
    by_impact = np.bincount(ev.impact, minlength=len(IMPACT_KEYS))
    per_day = (
        np.bincount(local // DAY_MS - first_day, minlength=n_days) if n_days else np.array([], dtype=int)
    )
    return by_impact, {
        "events_by_impact": {key: int(count) for key, count in zip(IMPACT_KEYS, by_impact, strict=True)},
        "events_by_day": dict(
            zip(
                _day_strings(np.arange(first_day, first_day + n_days)), (int(c) for c in per_day), strict=True
            )
        ),
        "top_flags": _top(ev.flag, ev.flags, "flagKey"),
    }


def _headline(ev: _Events, from_ms: int, to_ms: int, tz: str, work: WorkingHours | None) -> Headline:
    n = len(ev)
    local = _local_ms(ev.time, tz)
    by_impact, counts = _counts(ev, from_ms, to_ms, tz, local)
    known = n - int(by_impact[_UNKNOWN])
    impactful = int(by_impact[_IMPACTFUL].sum())
    rollbacks = len(_rollbacks(ev)[0])
    exp_known = ~np.isnan(ev.exp)
    return {
        "events_total": n,
        "flags_changed": int(np.count_nonzero(np.bincount(ev.flag[ev.flag >= 0], minlength=len(ev.flags)))),
        "events_by_impact": counts["events_by_impact"],
        "large_impact_share": float(by_impact[_LARGE] / known) if known else 0.0,
        "global_events": int(np.count_nonzero(ev.env < 0)),
        "experiment_events": int(np.count_nonzero(ev.exp[exp_known] > 0)) if exp_known.any() else None,
        "off_hours_events": int(np.count_nonzero(_off_hours(ev.time, work, tz, local))),
        "events_by_day": counts["events_by_day"],
        "toggles": int(np.count_nonzero(ev.toggle)),
        "rollbacks": rollbacks,
        "rollback_rate": float(rollbacks / impactful) if impactful else 0.0,
        "flapping_flags": _sorted_labels(ev.flags, _flapping_codes(ev)),
        "top_flags": counts["top_flags"],
        "top_members": _top(ev.member, ev.members, "email"),
    }


def event_counts(
    events: pd.DataFrame, from_ms: int, to_ms: int, tz: str = "UTC", include_global: bool = True
) -> EventCounts:
    """``events_by_impact``, ``events_by_day`` and ``top_flags`` of ``compute_metrics`` alone: what a caller
    that needs only counts asks for, without the rollback search (the headline's costliest part)."""
    _check_window(from_ms, to_ms)
    ev = _Events.of(events).window(from_ms, to_ms, include_global)
    return _counts(ev, from_ms, to_ms, tz, _local_ms(ev.time, tz))[1]


def compute_metrics(
    events: pd.DataFrame,
    from_ms: int,
    to_ms: int,
    tz: str = "UTC",
    include_global: bool = True,
    *,
    work: WorkingHours | None = None,
) -> Headline:
    """Headline numbers for ``[from_ms, to_ms)``: exactly ``HEADLINE_KEYS``, JSON-serialisable values.

    The frame may hold more than the window (it is filtered here) but should be one project and
    environment (plus its global events); see docs/METRICS.md for every definition. ``tz`` (the
    viewer's) only buckets ``events_by_day``; off-hours follow ``work`` (default: 09-18 Mon-Fri UTC).
    """
    _check_window(from_ms, to_ms)
    return _headline(_Events.of(events).window(from_ms, to_ms, include_global), from_ms, to_ms, tz, work)


def compute_with_trend(
    events: pd.DataFrame,
    from_ms: int,
    to_ms: int,
    tz: str = "UTC",
    include_global: bool = True,
    *,
    work: WorkingHours | None = None,
) -> HeadlineWithTrend:
    """``compute_metrics`` plus ``"previous"``: the same keys for ``[from - (to - from), from)``, for deltas."""
    _check_window(from_ms, to_ms)
    return _with_trend(_Events.of(events), from_ms, to_ms, tz, include_global, work)


def _with_trend(
    ev: _Events, from_ms: int, to_ms: int, tz: str, include_global: bool, work: WorkingHours | None
) -> HeadlineWithTrend:
    current = _headline(ev.window(from_ms, to_ms, include_global), from_ms, to_ms, tz, work)
    prev_from = from_ms - (to_ms - from_ms)
    previous = _headline(ev.window(prev_from, from_ms, include_global), prev_from, from_ms, tz, work)
    return HeadlineWithTrend(**current, previous=previous)


def compute_with_trend_per_key(
    events: pd.DataFrame,
    counts: Sequence[int],
    windows: Sequence[tuple[int, int]],
    tz: str = "UTC",
    include_global: bool = True,
    *,
    works: Sequence[WorkingHours | None] | None = None,
) -> list[HeadlineWithTrend]:
    """``compute_with_trend`` for each key of an ``EventStore.load_frames`` frame: ``counts[i]`` rows of key
    ``i`` follow key ``i - 1``'s, ``windows[i]`` is its ``(from_ms, to_ms)`` and ``works[i]`` its working hours.

    The same numbers as one call per key's own frame, but the frame becomes numpy arrays once: on an account
    of hundreds of small keys the per-call conversion, not the arithmetic, is what costs."""
    if len(counts) != len(windows) or (works is not None and len(works) != len(counts)):
        raise ValueError("counts, windows and works must have one entry per key")
    if sum(counts) != len(events):
        raise ValueError(f"counts add up to {sum(counts)} rows, the frame has {len(events)}")
    ev = _Events.of(events, deduplicated=True)
    out: list[HeadlineWithTrend] = []
    start = 0
    for i, (n, (from_ms, to_ms)) in enumerate(zip(counts, windows, strict=True)):
        _check_window(from_ms, to_ms)
        part = ev.rows(start, start + n)
        start += n
        out.append(
            _with_trend(part, from_ms, to_ms, tz, include_global, works[i] if works is not None else None)
        )
    return out


# --------------------------------------------------------------------------------------------------
# Per-flag table and health score.
# --------------------------------------------------------------------------------------------------


def health_penalties(
    churn_per_week: Any, rollbacks: Any, flapping: Any, large_unguarded: Any, off_hours: Any
) -> pd.DataFrame:
    """Each component's penalty and ``health_score`` = 100 - their sum, for scalars or arrays.

    Every penalty is a capped, non-decreasing function of one count and the caps add up to 100, so
    the score stays in [0, 100] and more of any bad thing never raises it.
    """
    w = HEALTH_WEIGHTS
    churn, rollback, flap, unguarded, off = np.broadcast_arrays(
        *(
            np.atleast_1d(np.asarray(x, dtype=np.float64))
            for x in (churn_per_week, rollbacks, flapping, large_unguarded, off_hours)
        )
    )
    out = pd.DataFrame(
        {
            "churn_penalty": w["churn"] * np.minimum(1.0, np.clip(churn, 0.0, None) / CHURN_FULL_PER_WEEK),
            "rollback_penalty": np.minimum(w["rollbacks"], ROLLBACK_POINTS * rollback),
            "flapping_penalty": np.where(flap > 0, w["flapping"], 0.0),
            "unguarded_penalty": np.minimum(w["unguarded"], UNGUARDED_POINTS * unguarded),
            "off_hours_penalty": np.minimum(w["off_hours"], OFF_HOURS_POINTS * off),
        }
    )
    out = out.round(2)
    out["health_score"] = np.clip(100.0 - out[list(PENALTY_COLUMNS)].sum(axis=1), 0.0, 100.0).round(1)
    return out


def _distinct_per_code(codes: IntArray, others: IntArray, n_codes: int, n_others: int) -> IntArray:
    """Number of distinct ``others`` (>= 0) per code, e.g. members per flag."""
    keep = others >= 0
    pairs = codes[keep].astype(np.int64) * n_others + others[keep]
    if n_codes * n_others <= 1 << 25:  # a dense "seen" table beats hashing
        seen = np.zeros(n_codes * n_others, dtype=bool)
        seen[pairs] = True
        pairs = np.flatnonzero(seen)
    else:
        pairs = pd.unique(pairs)
    return np.bincount(pairs // max(n_others, 1), minlength=n_codes)


def per_flag_table(
    events: pd.DataFrame,
    from_ms: int,
    to_ms: int,
    tz: str = "UTC",
    include_global: bool = True,
    *,
    work: WorkingHours | None = None,
) -> pd.DataFrame:
    """One row per flag changed in the window, worst health first (then key); ``FLAG_TABLE_COLUMNS``.

    Rows hold the raw counts *and* each component's penalty so a reader can see why a score is low.
    """
    _check_window(from_ms, to_ms)
    ev = _Events.of(events).window(from_ms, to_ms, include_global)
    keep = ev.flag >= 0
    ev = ev.select(keep)
    n_flags = len(ev.flags)
    local = _local_ms(ev.time, tz)

    def count(mask: BoolArray | None = None) -> IntArray:
        codes = ev.flag if mask is None else ev.flag[mask]
        return np.bincount(codes, minlength=n_flags)

    events_n = count()
    present = np.flatnonzero(events_n)
    large = ev.impact == _LARGE
    unguarded = large & ~(ev.exp > 0)
    rb_a, rb_b, _ = _rollbacks(ev)
    rollbacks = np.bincount(ev.flag[rb_b], minlength=n_flags)
    flapping = np.zeros(n_flags, dtype=bool)
    flapping[_flapping_codes(ev)] = True
    members = _distinct_per_code(ev.flag, ev.member, n_flags, len(ev.members))
    experiments = np.full(n_flags, -1.0)  # max experiments.totalCount; -1 = never fetched
    np.maximum.at(experiments, ev.flag, np.where(np.isnan(ev.exp), -1.0, ev.exp))
    last = np.full(n_flags, np.iinfo(np.int64).min, dtype=np.int64)
    np.maximum.at(last, ev.flag, ev.time)
    window_weeks = (to_ms - from_ms) / WEEK_MS
    churn = events_n / window_weeks if window_weeks > 0 else np.zeros(n_flags)
    last_ms = last[present]
    table = pd.DataFrame(
        {
            "flag_key": pd.array(ev.flags[present].astype(str), dtype="string"),
            "events": events_n[present].astype(np.int64),
            "toggles": count(ev.toggle)[present].astype(np.int64),
            "rollbacks": rollbacks[present].astype(np.int64),
            "large_impact": count(large)[present].astype(np.int64),
            "large_unguarded": count(unguarded)[present].astype(np.int64),
            "off_hours": count(_off_hours(ev.time, work, tz, local))[present].astype(np.int64),
            "flapping": flapping[present],
            "members": members[present].astype(np.int64),
            "experiments": pd.array(
                np.where(experiments[present] < 0, np.nan, experiments[present]), dtype="Int64"
            ),
            "last_change_ms": last_ms,
            "last_change": pd.array(
                [t.isoformat(timespec="seconds") for t in _local_stamps(last_ms, tz)], dtype="string"
            ),
            "days_since_change": (to_ms - last_ms) / DAY_MS,
            "churn_per_week": churn[present].astype(np.float64),
        }
    )
    penalties = health_penalties(
        table["churn_per_week"],
        table["rollbacks"],
        table["flapping"],
        table["large_unguarded"],
        table["off_hours"],
    )
    table = pd.concat([table, penalties], axis=1)
    table["last_change_ms"] = table["last_change_ms"].astype("Int64")  # NA for a stale flag's own row
    table["stale"] = np.zeros(len(table), dtype=bool)
    table["stale_penalty"] = np.zeros(len(table), dtype=np.float64)
    table = table[list(FLAG_TABLE_COLUMNS)]
    return table.sort_values(["health_score", "flag_key"], kind="stable").reset_index(drop=True)


def with_stale_flags(table: pd.DataFrame, stale: Collection[str]) -> pd.DataFrame:
    """``per_flag_table`` with flag debt scored (docs/METRICS.md, "Staleness"): every flag in ``stale`` (the
    lifecycle's stale verdict in the same environment) loses ``STALE_POINTS`` on top of its change penalties,
    the score clipped at 0, and a stale flag that did not change in the window gets a row of its own. So
    the Flag health table and the Cleanup list agree, and an unused two-year-old flag is not "healthy"."""
    stale_set = {str(k) for k in stale}
    missing = sorted(stale_set - set(table["flag_key"].astype(str)))
    if missing:
        n = len(missing)
        zeros = np.zeros(n, dtype=np.int64)
        extra = pd.DataFrame(
            {
                "flag_key": pd.array(missing, dtype="string"),
                **{c: zeros for c in ("events", "toggles", "rollbacks", "large_impact", "large_unguarded")},
                "off_hours": zeros,
                "flapping": np.zeros(n, dtype=bool),
                "members": zeros,
                "experiments": pd.array([pd.NA] * n, dtype="Int64"),
                "last_change_ms": pd.array([pd.NA] * n, dtype="Int64"),
                "last_change": pd.array([pd.NA] * n, dtype="string"),
                "days_since_change": np.full(n, np.nan),
                "churn_per_week": np.zeros(n),
                **{c: np.zeros(n) for c in PENALTY_COLUMNS},
                "health_score": np.full(n, 100.0),
                "stale": np.zeros(n, dtype=bool),
                "stale_penalty": np.zeros(n),
            }
        )[list(FLAG_TABLE_COLUMNS)]
        table = pd.concat([table, extra], ignore_index=True) if len(table) else extra
    out = table.copy()
    is_stale = out["flag_key"].astype(str).isin(stale_set).to_numpy(dtype=bool)
    out["stale"] = is_stale
    out["stale_penalty"] = np.where(is_stale, STALE_POINTS, 0.0)
    lost = out[list(SCORE_COLUMNS)].sum(axis=1).to_numpy(dtype=np.float64)
    out["health_score"] = np.clip(100.0 - lost, 0.0, 100.0).round(1)
    return out.sort_values(["health_score", "flag_key"], kind="stable").reset_index(drop=True)


def _plain(value: Any) -> Any:
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if isinstance(value, np.bool_ | bool):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return None if math.isnan(value) else float(value)
    return value


def flag_table_records(df: pd.DataFrame) -> list[dict[str, Any]]:
    """The per-flag table as JSON-ready dicts: NA -> None, timestamps -> ISO 8601 with offset."""
    columns = list(df.columns)
    return [
        {c: _plain(v) for c, v in zip(columns, row, strict=True)}
        for row in df.itertuples(index=False, name=None)
    ]


# --------------------------------------------------------------------------------------------------
# Building blocks the pages use directly.
# --------------------------------------------------------------------------------------------------


def rollback_pairs(
    events: pd.DataFrame, from_ms: int | None = None, to_ms: int | None = None
) -> pd.DataFrame:
    """Every rollback (A -> B) in the frame, or in ``[from_ms, to_ms)``, so pages can mark them.

    Columns: flag_key, environment_key, from_id, to_id, from_time, to_time (Unix ms), tvd.
    """
    ev = _Events.of(events)
    if from_ms is not None or to_ms is not None:
        lo = from_ms if from_ms is not None else np.iinfo(np.int64).min
        hi = to_ms if to_ms is not None else np.iinfo(np.int64).max
        ev = ev.window(lo, hi, include_global=False)
    a, b, tvd = _rollbacks(ev)
    out = pd.DataFrame(
        {
            "flag_key": pd.array(ev.flags[ev.flag[b]].astype(str), dtype="string"),
            "environment_key": pd.array(ev.envs[ev.env[b]].astype(str), dtype="string"),
            "from_id": pd.array(ev.ids(a).astype(str), dtype="string"),
            "to_id": pd.array(ev.ids(b).astype(str), dtype="string"),
            "from_time": ev.time[a].astype(np.int64),
            "to_time": ev.time[b].astype(np.int64),
            "tvd": tvd.astype(np.float64),
        }
    )
    return out.sort_values(["flag_key", "environment_key", "to_time", "to_id"], kind="stable").reset_index(
        drop=True
    )


def flapping_flags(events: pd.DataFrame, from_ms: int | None = None, to_ms: int | None = None) -> list[str]:
    """Sorted keys of flags toggled (``updateOn``) >= 3 times within 7 days in one environment."""
    ev = _Events.of(events)
    if from_ms is not None or to_ms is not None:
        lo = from_ms if from_ms is not None else np.iinfo(np.int64).min
        hi = to_ms if to_ms is not None else np.iinfo(np.int64).max
        ev = ev.window(lo, hi, include_global=True)
    return _sorted_labels(ev.flags, _flapping_codes(ev))


def daily_impact_counts(
    events: pd.DataFrame, from_ms: int, to_ms: int, tz: str = "UTC", include_global: bool = True
) -> pd.DataFrame:
    """Long frame ``date, impact_size, events``: every local day x every IMPACT_KEYS value, zero-filled."""
    _check_window(from_ms, to_ms)
    ev = _Events.of(events).window(from_ms, to_ms, include_global)
    local_day = _local_day(ev.time, tz)
    first_day, n_days = _day_range(from_ms, to_ms, tz, local_day)
    k = len(IMPACT_KEYS)
    cells = (local_day - first_day) * k + ev.impact
    counts = np.bincount(cells, minlength=n_days * k) if n_days else np.array([], dtype=np.int64)
    days = _day_strings(np.arange(first_day, first_day + n_days))
    return pd.DataFrame(
        {
            "date": pd.array(np.repeat(np.asarray(days, dtype=object), k), dtype="string"),
            "impact_size": pd.array(np.tile(np.asarray(IMPACT_KEYS, dtype=object), n_days), dtype="string"),
            "events": counts.astype(np.int64),
        }
    )


def weekday_hour_counts(
    events: pd.DataFrame,
    tz: str = "UTC",
    from_ms: int | None = None,
    to_ms: int | None = None,
    include_global: bool = True,
) -> pd.DataFrame:
    """Full 7 x 24 grid ``weekday`` (0 = Monday), ``hour`` (local), ``events``, for a when-do-we-ship heatmap."""
    ev = _Events.of(events)
    lo = from_ms if from_ms is not None else np.iinfo(np.int64).min
    hi = to_ms if to_ms is not None else np.iinfo(np.int64).max
    ev = ev.window(lo, hi, include_global)
    local = _local_ms(ev.time, tz)
    cells = _weekday(local // DAY_MS) * 24 + (local // HOUR_MS) % 24
    return pd.DataFrame(
        {
            "weekday": np.repeat(np.arange(7, dtype=np.int64), 24),
            "hour": np.tile(np.arange(24, dtype=np.int64), 7),
            "events": np.bincount(cells, minlength=7 * 24).astype(np.int64),
        }
    )


_SERIES_COLUMNS = (
    "period",
    "events",
    "flags_changed",
    "large",
    "large_share",
    "toggles",
    "off_hours",
    "global_events",
    "rollbacks",
    "rollback_rate",
)


def daily_series(
    events: pd.DataFrame,
    from_ms: int,
    to_ms: int,
    tz: str = "UTC",
    freq: str = "D",
    include_global: bool = True,
    *,
    work: WorkingHours | None = None,
) -> pd.DataFrame:
    """Per local day (``freq="D"``) or ISO week (``"W"``, labelled by its Monday) KPI series for sparklines.

    Columns: period (``YYYY-MM-DD``), events, flags_changed, large, large_share, toggles, off_hours,
    global_events, rollbacks (attributed to the rolling-back event's period), rollback_rate. Shares
    use the headline formulas per bucket; every bucket touching the window is present.
    """
    _check_window(from_ms, to_ms)
    if freq not in ("D", "W"):
        raise ValueError(f"freq must be 'D' or 'W', not {freq!r}")
    ev = _Events.of(events).window(from_ms, to_ms, include_global)
    local = _local_ms(ev.time, tz)
    day = local // DAY_MS
    first_day, n_days = _day_range(from_ms, to_ms, tz, day)
    if freq == "D":
        start, size, n = first_day, 1, n_days
    else:
        start = first_day - int(_weekday(np.array([first_day], dtype=np.int64))[0])
        size = 7
        n = (first_day + n_days - 1 - start) // 7 + 1 if n_days else 0
    bucket = (day - start) // size

    def count(mask: BoolArray | None = None) -> IntArray:
        return np.bincount(bucket if mask is None else bucket[mask], minlength=n).astype(np.int64)

    events_n = count()
    by_impact = np.bincount(bucket * len(IMPACT_KEYS) + ev.impact, minlength=n * len(IMPACT_KEYS)).reshape(
        n, len(IMPACT_KEYS)
    )
    known = events_n - by_impact[:, _UNKNOWN]
    impactful = by_impact[:, _IMPACTFUL].sum(axis=1)
    _, rb_b, _ = _rollbacks(ev)
    rollbacks = np.bincount(bucket[rb_b], minlength=n).astype(np.int64)
    with np.errstate(divide="ignore", invalid="ignore"):
        large_share = np.where(known > 0, by_impact[:, _LARGE] / np.maximum(known, 1), 0.0)
        rollback_rate = np.where(impactful > 0, rollbacks / np.maximum(impactful, 1), 0.0)
    return pd.DataFrame(
        {
            "period": pd.array(_day_strings(start + np.arange(n, dtype=np.int64) * size), dtype="string"),
            "events": events_n,
            "flags_changed": _distinct_per_code(bucket, ev.flag, n, len(ev.flags)).astype(np.int64),
            "large": by_impact[:, _LARGE],
            "large_share": large_share.astype(np.float64),
            "toggles": count(ev.toggle),
            "off_hours": count(_off_hours(ev.time, work, tz, local)),
            "global_events": count(ev.env < 0),
            "rollbacks": rollbacks,
            "rollback_rate": rollback_rate.astype(np.float64),
        },
        columns=list(_SERIES_COLUMNS),
    )
