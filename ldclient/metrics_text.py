"""``python -m ldclient metrics --format table``: the metrics report laid out for a person at a terminal.

The JSON report (``report.metrics_report``) is the contract; this is a view of it. Formats follow the
dashboard: counts with thousands separators, shares and rates as percent with one decimal, times in the
report's timezone (``--tz``), other numbers with one decimal, "—" where a value is unknown. Scalars form
one "name  this period  previous  change" table; every nested value gets a section of its own (a mapping
one row per key, a list one row per item, a list of records a table). Nothing is cut: long keys widen
their column. Keys this module does not know are shown too, labelled from their names.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Mapping, Sequence
from datetime import timedelta
from typing import Any

from .timeutil import DAY_MS, format_ms, local_date

LABELS = {
    "events_total": "Events",
    "flags_changed": "Flags changed",
    "events_by_impact": "Events by impact",
    "large_impact_share": "Large-impact share",
    "global_events": "Global events",
    "experiment_events": "Experiment events",
    "off_hours_events": "Off-hours events",
    "events_by_day": "Events by day",
    "toggles": "Toggles",
    "rollbacks": "Rollbacks",
    "rollback_rate": "Rollback rate",
    "flapping_flags": "Flapping flags",
    "top_flags": "Most changed flags",
    "top_members": "Most active members",
    "temporary_flags": "Temporary flags",
    "stale_flags": "Stale flags",
    "stale_share": "Stale share",
    "stale_flag_keys": "Stale flag keys",
    "statuses": "Flag statuses",
    "unrehearsed_changes": "Unrehearsed production changes",
    "promotion_lag_hours_median": "Promotion lag, median (hours)",
    "median_days_to_production": "Days to production, median",
    "working_hours": "Working hours (off-hours are judged here)",
    "flags": "Flags",
    "flagKey": "Flag",
    "email": "Member",
    "events": "Events",
}
# The per-flag table's columns, in this order; --format json has every column
FLAG_COLUMNS = (
    "flag_key",
    "health_score",
    "events",
    "toggles",
    "rollbacks",
    "large_impact",
    "off_hours",
    "flapping",
    "stale",
    "members",
    "last_change_ms",
)
FLAG_LABELS = {
    "flag_key": "Flag",
    "health_score": "Health",
    "large_impact": "Large impact",
    "off_hours": "Off-hours",
    "last_change_ms": "Last change",
}
SKIP = {"project", "environment", "from", "to", "timezone", "previous"}  # in the heading


def label(key: str) -> str:
    return LABELS.get(key) or key.replace("_", " ").capitalize()


def is_percent(key: str) -> bool:
    return key.endswith(("_share", "_rate"))


def is_time(key: str) -> bool:
    return key.endswith("_ms")


def cell(value: Any, key: str = "", tz: str = "UTC") -> str:
    """One value as the dashboard would show it."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, numbers.Integral) and is_time(key):
        return format_ms(int(value), tz)
    if isinstance(value, numbers.Real) and is_percent(key):
        return f"{float(value):.1%}"
    if isinstance(value, numbers.Integral):
        return f"{int(value):,}"
    if isinstance(value, numbers.Real):
        return f"{float(value):,.1f}"
    if isinstance(value, Mapping | list | tuple):
        return (
            ", ".join(f"{k} {cell(v, str(k), tz)}" for k, v in value.items())
            if isinstance(value, Mapping)
            else ", ".join(cell(v, key, tz) for v in value)
        )
    return str(value)


def change(now: Any, before: Any, key: str) -> str:
    """This period against the previous one: "+5", "−11", "+0.3 pts" (percent points), "0" when equal."""
    if (
        isinstance(now, bool)
        or isinstance(before, bool)
        or not isinstance(now, numbers.Real)
        or not isinstance(before, numbers.Real)
    ):
        return ""
    diff = float(now) - float(before)
    if is_percent(key):
        text = f"{abs(diff) * 100:.1f}"
        return "0.0 pts" if text == "0.0" else f"{'+' if diff > 0 else '−'}{text} pts"
    if isinstance(now, numbers.Integral) and isinstance(before, numbers.Integral):
        return "0" if diff == 0 else f"{'+' if diff > 0 else '−'}{abs(int(diff)):,}"
    text = f"{abs(diff):,.1f}"
    return "0.0" if text == "0.0" else f"{'+' if diff > 0 else '−'}{text}"


def table(header: Sequence[str], rows: Iterable[Sequence[str]], *, indent: str = "  ") -> list[str]:
    """Columns padded to their widest cell; the first column left-aligned, the others right-aligned."""
    rows = [list(r) for r in rows]
    widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(header)]

    def line(cells: Sequence[str]) -> str:
        parts = [
            c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ]
        return (indent + "  ".join(parts)).rstrip()

    return [line(header), *(line(r) for r in rows)] if any(header) else [line(r) for r in rows]


def window_text(from_ms: int, to_ms: int, tz: str) -> str:
    """The window as dates when it runs from local midnight to local midnight (as the dashboard's do)."""
    first, after = local_date(from_ms, tz), local_date(to_ms, tz)
    if format_ms(from_ms, tz, "%H:%M:%S.%f") == format_ms(to_ms, tz, "%H:%M:%S.%f") == "00:00:00.000000":
        last = after - timedelta(days=1)
        days = (after - first).days
        return f"{first} to {last} ({days} day{'s' if days != 1 else ''}, {tz})"
    hours = (to_ms - from_ms) / 3_600_000
    span = f"{(to_ms - from_ms) / DAY_MS:.1f} days" if hours >= 48 else f"{hours:.1f} hours"
    fmt = "%Y-%m-%d %H:%M" if from_ms % 60_000 == to_ms % 60_000 == 0 else "%Y-%m-%d %H:%M:%S"
    return f"{format_ms(from_ms, tz, fmt)} to {format_ms(to_ms, tz, fmt)} ({span}, {tz}; the end is not included)"


def section(key: str, value: Any, previous: Any, tz: str) -> list[str]:
    """A nested value as a section: its title, then one row per key, item or record."""
    title = label(key)
    if isinstance(value, Mapping):
        if not value:
            return [f"{title}: none"]
        compare = isinstance(previous, Mapping) and set(previous) == set(value)
        header = ["", "This period", "Previous", "Change"] if compare else [""] * 2
        rows = [
            [
                str(k),
                cell(v, str(k), tz),
                *([cell(previous[k], str(k), tz), change(v, previous[k], str(k))] if compare else []),
            ]
            for k, v in value.items()
        ]
        return [title, *table(header, rows)]
    if isinstance(value, list | tuple):
        if not value:
            return [f"{title}: none"]
        if all(isinstance(v, Mapping) for v in value):
            return [f"{title} ({len(value):,})", *records(value, tz)]
        return [f"{title} ({len(value):,})", *(f"  {cell(v, key, tz)}" for v in value)]
    return [f"{title}: {cell(value, key, tz)}"]


def records(
    rows: Sequence[Mapping[str, Any]],
    tz: str,
    columns: Sequence[str] | None = None,
    labels: Mapping[str, str] | None = None,
) -> list[str]:
    columns = list(columns or dict.fromkeys(k for r in rows for k in r))
    labels = labels or {}
    header = [labels.get(c) or label(c) for c in columns]
    return table(header, ([cell(r.get(c), c, tz) for c in columns] for r in rows))


def render(report: Mapping[str, Any]) -> str:
    """The whole report as text, ending in a newline."""
    tz = str(report.get("timezone") or "UTC")
    previous = _v if isinstance(_v := report.get("previous"), Mapping) else {}
    out = [f"Flag health: {report.get('project')} / {report.get('environment')}"]
    if isinstance(report.get("from"), int) and isinstance(report.get("to"), int):
        out.append(f"Window: {window_text(report['from'], report['to'], tz)}")
        span = report["to"] - report["from"]
        out.append(f"Previous period: {window_text(report['from'] - span, report['from'], tz)}")
    out.append(f"Times in {tz}")
    scalars = [
        (k, v) for k, v in report.items() if k not in SKIP and not isinstance(v, Mapping | list | tuple)
    ]
    nested = [
        (k, v)
        for k, v in report.items()
        if k not in SKIP and k != "flags" and isinstance(v, Mapping | list | tuple)
    ]
    compared = [(k, v) for k, v in scalars if k in previous]  # the window's metrics, against the previous one
    current = [(k, v) for k, v in scalars if k not in previous]  # lifecycle: as things are now
    out += [
        "",
        *table(
            ["", "This period", "Previous", "Change"],
            [
                [label(k), cell(v, k, tz), cell(previous[k], k, tz), change(v, previous[k], k)]
                for k, v in compared
            ],
            indent="",
        ),
    ]
    if current:
        out += [
            "",
            "Lifecycle, as of now (docs/LIFECYCLE.md)",
            *table(["", ""], [[label(k), cell(v, k, tz)] for k, v in current]),
        ]
    for key, value in nested:
        out += ["", *section(key, value, previous.get(key), tz)]
    flags = report.get("flags")
    if isinstance(flags, list):
        out += ["", f"Flags ({len(flags):,}; --format json has every column)" if flags else "Flags: none"]
        if flags:
            present = [c for c in FLAG_COLUMNS if any(c in r for r in flags)]
            out += records(flags, tz, present, FLAG_LABELS)
    return "\n".join(out) + "\n"
