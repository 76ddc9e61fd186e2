"""Altair charts of flag health over months (ldclient.history): observed days solid, rebuilt days dashed.

Dates reach the charts as ``YYYY-MM-DD`` text parsed as local calendar days (``yearmonthdate``), so a
tooltip says "Tue Nov 03, 2026", never milliseconds, and no browser timezone shifts a day.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from .charts import DAY_FORMAT

STATUS_ORDER = ["new", "active", "launched", "inactive"]
# Okabe-Ito: launched and inactive (the statuses stale flags have) in the warm colours
STATUS_SCALE = alt.Scale(domain=STATUS_ORDER, range=["#56B4E9", "#0072B2", "#E69F00", "#D55E00"])
LD_STAGE_ORDER = ["live", "ready_for_code_removal", "ready_to_archive", "deprecated"]
LD_STAGE_LABELS = {
    "live": "Live",
    "ready_for_code_removal": "Ready for code removal",
    "ready_to_archive": "Ready to archive",
    "deprecated": "Deprecated",
}
LD_STAGE_SCALE = alt.Scale(
    domain=[LD_STAGE_LABELS[s] for s in LD_STAGE_ORDER], range=["#0072B2", "#E69F00", "#D55E00", "#999999"]
)
SOURCE_SCALE = alt.Scale(domain=["observed", "reconstructed"], range=[[1, 0], [5, 4]])
HEIGHT = 240


def _day_x(title: str | None = "Day") -> alt.X:
    return alt.X("yearmonthdate(date):T", title=title, axis=alt.Axis(format="%b %d", labelAngle=0))


def _day_tip() -> alt.Tooltip:
    return alt.Tooltip("yearmonthdate(date):T", title="Day", format=DAY_FORMAT)


def stale_over_time(frame: pd.DataFrame) -> alt.LayerChart:
    """Stale share (line, left axis) and stale flags (bars, right axis) of the observed days."""
    seen = frame[frame["observed"]].copy()
    seen["stale_share"] = seen["stale_share"].astype("float64")
    seen["stale_flags"] = seen["stale_flags"].astype("float64")
    seen["temporary_flags"] = seen["temporary_flags"].astype("float64")
    base = alt.Chart(seen).encode(x=_day_x())
    tips = [
        _day_tip(),
        alt.Tooltip("stale_share:Q", title="Stale share", format=".1%"),
        alt.Tooltip("stale_flags:Q", title="Stale flags", format=","),
        alt.Tooltip("temporary_flags:Q", title="Temporary flags", format=","),
    ]
    bars = base.mark_bar(color="#E69F00", opacity=0.55).encode(
        y=alt.Y("stale_flags:Q", title="Stale flags", axis=alt.Axis(orient="right", tickMinStep=1)),
        tooltip=tips,
    )
    line = base.mark_line(color="#D55E00", strokeWidth=2.5).encode(
        y=alt.Y("stale_share:Q", title="Stale share", axis=alt.Axis(format="%")),
        tooltip=tips,
    )
    return alt.layer(bars, line).resolve_scale(y="independent").properties(height=HEIGHT)


def _stacked(data: pd.DataFrame, field: str, title: str, scale: alt.Scale, order: list[str]) -> alt.Chart:
    """Flags per day stacked by ``field`` in ``order`` (the first at the bottom)."""
    return (
        alt.Chart(data)
        .mark_area(opacity=0.85)
        .encode(
            x=_day_x(),
            y=alt.Y("flags:Q", title="Flags", stack=True),
            color=alt.Color(
                f"{field}:N", scale=scale, sort=order, title=title, legend=alt.Legend(orient="top")
            ),
            order=alt.Order("position:Q"),
            tooltip=[
                _day_tip(),
                alt.Tooltip(f"{field}:N", title=title),
                alt.Tooltip("flags:Q", title="Flags"),
            ],
        )
        .transform_calculate(position=f"indexof({order!r}, datum.{field})")
        .properties(height=HEIGHT)
    )


def status_mix(frame: pd.DataFrame) -> alt.Chart:
    """Flag statuses per observed day, stacked (new, active, launched, inactive)."""
    seen = frame[frame["observed"]]
    rows = [
        {"date": d, "status": name, "flags": int((s or {}).get(name, 0))}
        for d, s in zip(seen["date"], seen["statuses"], strict=True)
        for name in STATUS_ORDER
    ]
    data = pd.DataFrame(rows, columns=["date", "status", "flags"])
    return _stacked(data, "status", "Status", STATUS_SCALE, STATUS_ORDER)


def stages_over_time(frame: pd.DataFrame) -> alt.Chart:
    """LaunchDarkly's lifecycle stages per observed day, stacked: the burn-down of flag debt."""
    seen = frame[frame["observed"]]
    rows = [
        {"date": d, "stage": LD_STAGE_LABELS[name], "flags": int((s or {}).get(name, 0))}
        for d, s in zip(seen["date"], seen["lifecycle_stages"], strict=True)
        for name in LD_STAGE_ORDER
    ]
    data = pd.DataFrame(rows, columns=["date", "stage", "flags"])
    return _stacked(data, "stage", "Stage", LD_STAGE_SCALE, [LD_STAGE_LABELS[s] for s in LD_STAGE_ORDER])


def temporary_over_time(frame: pd.DataFrame) -> alt.Chart:
    """Temporary flags alive each day: recorded (solid) where a snapshot exists, rebuilt (dashed) before."""
    data = frame[["date", "observed", "temporary_flags", "flags"]].copy()
    data["source"] = data["observed"].map({True: "observed", False: "reconstructed"})
    data["temporary_flags"] = data["temporary_flags"].astype("float64")
    data["flags"] = data["flags"].astype("float64")
    # a dashed run and a solid run meet: the day a recording starts belongs to both lines
    return (
        alt.Chart(data)
        .mark_line(color="#0072B2", point=False)
        .encode(
            x=_day_x(),
            y=alt.Y("temporary_flags:Q", title="Temporary flags"),
            strokeDash=alt.StrokeDash(
                "source:N", scale=SOURCE_SCALE, title="Days", legend=alt.Legend(orient="top")
            ),
            detail="source:N",
            tooltip=[
                _day_tip(),
                alt.Tooltip("temporary_flags:Q", title="Temporary flags", format=","),
                alt.Tooltip("flags:Q", title="All flags (rebuilt)", format=","),
                alt.Tooltip("source:N", title="Source"),
            ],
        )
        .properties(height=HEIGHT)
    )


def weekly_changes(transitions: pd.DataFrame) -> alt.Chart:
    """Flags that became stale and flags archived, per week (grouped bars, one band per week)."""
    rows = []
    for r in transitions.itertuples(index=False):
        label = pd.Timestamp(r.week).strftime("%b %d")
        rows.append({"week": r.week, "label": label, "what": "Became stale", "flags": int(r.became_stale)})
        rows.append({"week": r.week, "label": label, "what": "Archived", "flags": int(r.archived)})
    data = pd.DataFrame(rows, columns=["week", "label", "what", "flags"])
    order = list(dict.fromkeys(data.sort_values("week")["label"]))
    return (
        alt.Chart(data)
        .mark_bar()
        .encode(
            x=alt.X("label:O", title="Week (from Monday)", sort=order, axis=alt.Axis(labelAngle=-45)),
            xOffset=alt.XOffset("what:N", sort=["Became stale", "Archived"]),
            y=alt.Y("flags:Q", title="Flags", axis=alt.Axis(tickMinStep=1)),
            color=alt.Color(
                "what:N",
                scale=alt.Scale(domain=["Became stale", "Archived"], range=["#D55E00", "#009E73"]),
                title=None,
                legend=alt.Legend(orient="top"),
            ),
            tooltip=[
                alt.Tooltip("yearmonthdate(week):T", title="Week of", format=DAY_FORMAT),
                alt.Tooltip("what:N", title="What"),
                alt.Tooltip("flags:Q", title="Flags"),
            ],
        )
        .properties(height=HEIGHT)
    )


def monthly_durations(monthly: pd.DataFrame) -> alt.Chart:
    """Median days to production and in cleanup, per month (grouped bars)."""
    rows = []
    for r in monthly.itertuples(index=False):
        if not pd.isna(r.days_to_production):
            rows.append(
                {
                    "month": r.month,
                    "what": "Time to production",
                    "days": float(r.days_to_production),
                    "flags": int(r.flags_to_production),
                }
            )
        if not pd.isna(r.days_in_cleanup):
            rows.append(
                {
                    "month": r.month,
                    "what": "Time in cleanup",
                    "days": float(r.days_in_cleanup),
                    "flags": int(r.flags_archived),
                }
            )
    data = pd.DataFrame(rows, columns=["month", "what", "days", "flags"])
    return (
        alt.Chart(data)
        .mark_bar()
        .encode(
            x=alt.X("month:O", title="Month", axis=alt.Axis(labelAngle=0)),
            xOffset=alt.XOffset("what:N", sort=["Time to production", "Time in cleanup"]),
            y=alt.Y("days:Q", title="Median days"),
            color=alt.Color(
                "what:N",
                scale=alt.Scale(
                    domain=["Time to production", "Time in cleanup"], range=["#0072B2", "#E69F00"]
                ),
                title=None,
                legend=alt.Legend(orient="top"),
            ),
            tooltip=[
                alt.Tooltip("month:O", title="Month"),
                alt.Tooltip("what:N", title="Median of"),
                alt.Tooltip("days:Q", title="Days", format=".1f"),
                alt.Tooltip("flags:Q", title="Flags"),
            ],
        )
        .properties(height=HEIGHT)
    )


def stale_sparkline(frame: pd.DataFrame) -> alt.Chart:
    """A compact stale-share line for the Overview (observed days only)."""
    seen = frame[frame["observed"]].copy()
    seen["stale_share"] = seen["stale_share"].astype("float64")
    return (
        alt.Chart(seen)
        .mark_line(color="#D55E00")
        .encode(
            x=_day_x(None),
            y=alt.Y("stale_share:Q", title="Stale share", axis=alt.Axis(format="%", tickCount=3)),
            tooltip=[
                _day_tip(),
                alt.Tooltip("stale_share:Q", title="Stale share", format=".1%"),
                alt.Tooltip("stale_flags:Q", title="Stale flags"),
            ],
        )
        .properties(height=120)
    )
