"""Altair chart builders shared by the pages: one colour scale for impact sizes, tooltips everywhere.

Every text from the API reaches the charts as data (never as markup), and Vega renders it as text.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import altair as alt
import pandas as pd

IMPACT_ORDER = ["large", "medium", "small", "none", "unknown"]
# Okabe-Ito: distinguishable with the common colour-vision deficiencies.
IMPACT_COLORS = ["#D55E00", "#E69F00", "#56B4E9", "#BBBBBB", "#7F7F7F"]
IMPACT_SCALE = alt.Scale(domain=IMPACT_ORDER, range=IMPACT_COLORS)
WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
# More days than this and a day's bar is a hairline at 1280 px: time charts then draw one bar per week.
WEEKLY_AFTER_DAYS = 60
PARTIAL_OPACITY = 0.4  # a partial period (today so far, a week the range or today cuts) is drawn lighter
BAR_STEP = 26  # pixels per bar of a ranking: every label gets room (an axis drops labels that overlap)
LABEL_LIMIT = 200  # pixels; a longer label is cut with an ellipsis, the tooltip has it whole
DAY_FORMAT = "%a %b %d, %Y"
# What each health-score penalty is called on screen (Sentence case, as every header).
PENALTY_LABELS = {
    "churn_penalty": "Churn",
    "rollback_penalty": "Rollbacks",
    "flapping_penalty": "Flapping",
    "unguarded_penalty": "Large unguarded",
    "off_hours_penalty": "Off-hours",
    "stale_penalty": "Stale (flag debt)",
}
# Okabe-Ito vermillion for what needs attention, blue for the rest: distinct for colour-vision deficiencies
# and on either Streamlit theme.
REHEARSAL_SCALE = alt.Scale(domain=["unrehearsed", "rehearsed"], range=["#D55E00", "#0072B2"])


def impact_color(title: str = "Impact") -> alt.Color:
    return alt.Color(
        "impact_size:N", scale=IMPACT_SCALE, sort=IMPACT_ORDER, title=title, legend=alt.Legend(orient="top")
    )


def bucket_for(first: date, last: date) -> str:
    """ "day", or "week" when the range has more days than WEEKLY_AFTER_DAYS."""
    return "week" if (last - first).days + 1 > WEEKLY_AFTER_DAYS else "day"


def periods(first: date, last: date, today: date | None = None) -> pd.DataFrame:
    """The bars of a time chart over the local days ``first``..``last``: one per day, or per week (starting
    Monday) when there are too many days. Columns: ``start`` (ISO date of the period's first day),
    ``period`` (its axis label), ``bucket`` ("day" or "week"), ``partial`` (today so far, or a week the range or today cuts short) and
    ``note`` (what the bar covers, for the tooltip)."""
    kind = bucket_for(first, last)
    rows: dict[date, list[date]] = {}
    day = first
    while day <= last:
        key = day if kind == "day" else day - timedelta(days=day.weekday())
        rows.setdefault(key, []).append(day)
        day += timedelta(days=1)
    out = []
    for key, days in rows.items():
        done = [d for d in days if today is None or d < today]
        if kind == "day":
            partial = not done
            note = ("today so far" if key == today else "not yet") if partial else "whole day"
        else:
            partial = len(done) < 7
            so_far = today is not None and any(d >= today for d in days)
            note = (
                (
                    f"{len(done)} of 7 days, this week so far"
                    if so_far
                    else f"{len(days)} of 7 days in the range"
                )
                if partial
                else "whole week"
            )
        out.append({"start": key.isoformat(), "bucket": kind, "partial": partial, "note": note, "_key": key})
    frame = pd.DataFrame(out, columns=["start", "bucket", "partial", "note", "_key"])
    labels = [k.strftime("%b %d") for k in frame["_key"]]
    if len(set(labels)) < len(labels):  # more than a year of weeks: the year tells them apart
        labels = [k.strftime("%b %d %Y") for k in frame["_key"]]
    return frame.assign(period=labels).drop(columns="_key")


def _bucket(grid: pd.DataFrame) -> str:
    return str(grid["bucket"].iat[0]) if len(grid) else "day"


def bucketed(
    data: pd.DataFrame, date_col: str, value: str, by: list[str], grid: pd.DataFrame
) -> pd.DataFrame:
    """``data`` (local dates as YYYY-MM-DD in ``date_col``) summed into the periods of ``grid``."""
    kind = _bucket(grid)
    days = pd.to_datetime(data[date_col].astype(str))
    starts = days if kind == "day" else days - pd.to_timedelta(days.dt.day_of_week, unit="D")
    summed = (
        data.assign(start=starts.dt.strftime("%Y-%m-%d"))
        .groupby(["start", *by], observed=True)[value]
        .sum()
        .reset_index()
    )
    return summed.merge(grid, on="start", how="inner")


def period_x(grid: pd.DataFrame) -> alt.X:
    """One band per period, so a bar stands over its own label (a temporal axis puts a day's tick at its
    midnight, left of the bar); every period of the range is on the axis, an empty one too."""
    weekly = _bucket(grid) == "week"
    domain = grid["period"].tolist()
    return alt.X(
        "period:O",
        sort=domain,
        scale=alt.Scale(domain=domain, paddingInner=0.15),
        title="Week starting Monday" if weekly else None,
        axis=alt.Axis(labelAngle=0, labelOverlap="parity", labelPadding=4),
    )


def period_tooltips(grid: pd.DataFrame) -> list[alt.Tooltip]:
    weekly = _bucket(grid) == "week"
    # a temporal field read and formatted as UTC: "2026-11-30" is that local day in every browser
    return [
        alt.Tooltip(
            "start:T", timeUnit="utcyearmonthdate", format=DAY_FORMAT, title="Week of" if weekly else "Day"
        ),
        alt.Tooltip("note:N", title="Covers"),
    ]


def partial_opacity() -> Any:  # an Altair condition, usable as an opacity encoding
    return alt.when("datum.partial").then(alt.value(PARTIAL_OPACITY)).otherwise(alt.value(1.0))


def events_per_day(daily: pd.DataFrame, first: date, last: date, today: date | None = None) -> alt.Chart:
    """Stacked bars of events per local day (per week for long ranges) by impact size; a partial period
    (today so far) is drawn lighter and says so in its tooltip."""
    grid = periods(first, last, today)
    data = (
        bucketed(daily, "date", "events", ["impact_size"], grid)
        if len(daily)
        else grid.assign(impact_size="", events=0).iloc[:0]
    )
    data = data[data["events"] > 0]
    return (
        alt.Chart(data)
        .mark_bar()
        .encode(
            x=period_x(grid),
            y=alt.Y("events:Q", stack="zero", title="Events"),
            color=impact_color(),
            order=alt.Order("impact_order:Q"),
            opacity=partial_opacity(),
            tooltip=[
                *period_tooltips(grid),
                alt.Tooltip("impact_size:N", title="Impact"),
                alt.Tooltip("events:Q", title="Events", format=","),
            ],
        )
        .transform_calculate(impact_order=f"indexof({IMPACT_ORDER!r}, datum.impact_size)")
        .properties(height=280)
    )


def risk_calendar(heat: pd.DataFrame, timezone: str = "UTC") -> alt.Chart:
    """Day-of-week x hour heatmap: when changes happen (the risk calendar), in the team's working timezone."""
    data = heat.assign(day=[WEEKDAYS[d] for d in heat["weekday"]])
    return (
        alt.Chart(data)
        .mark_rect()
        .encode(
            x=alt.X("hour:O", title=f"Hour ({timezone}, the team's working timezone)"),
            y=alt.Y("day:N", sort=WEEKDAYS, title=None),
            color=alt.Color("events:Q", scale=alt.Scale(scheme="blues"), title="Events"),
            tooltip=[
                alt.Tooltip("day:N", title="Day"),
                alt.Tooltip("hour:O", title="Hour"),
                alt.Tooltip("events:Q", title="Events"),
            ],
        )
        .properties(height=220)
    )


def bar_ranking(
    data: pd.DataFrame,
    label: str,
    value: str,
    title: str,
    label_title: str | None = None,
    value_format: str = ",",
) -> alt.Chart:
    """Horizontal bars, largest first, with BAR_STEP pixels per bar so the axis draws every label; a label
    longer than LABEL_LIMIT pixels is cut with an ellipsis and the tooltip shows it whole."""
    return (
        alt.Chart(data)
        .mark_bar(color="#405BFF")
        .encode(
            x=alt.X(f"{value}:Q", title=title),
            y=alt.Y(
                f"{label}:N", sort="-x", title=None, axis=alt.Axis(labelLimit=LABEL_LIMIT, labelOverlap=False)
            ),
            tooltip=[
                alt.Tooltip(f"{label}:N", title=label_title or label.capitalize()),
                alt.Tooltip(f"{value}:Q", title=title, format=value_format),
            ],
        )
        .properties(
            # "fit-x": the height is the plot's own, not shared with the axis below it
            height=BAR_STEP * max(len(data), 1),
            autosize=alt.AutoSizeParams(type="fit-x", contains="padding"),
        )
    )


def histogram(data: pd.DataFrame, column: str, title: str) -> alt.Chart:
    return (
        alt.Chart(data)
        .mark_bar(color="#405BFF")
        .encode(
            x=alt.X(f"{column}:Q", bin=alt.Bin(step=10, extent=[0, 100]), title=title),
            y=alt.Y("count():Q", title="Flags"),
            tooltip=[
                alt.Tooltip(f"{column}:Q", bin=alt.Bin(step=10, extent=[0, 100]), title=title),
                alt.Tooltip("count():Q", title="Flags"),
            ],
        )
        .properties(height=220)
    )


def status_bars(statuses: dict[str, int]) -> alt.Chart:
    order = ["new", "active", "launched", "inactive"]
    data = pd.DataFrame({"status": order, "flags": [statuses.get(s, 0) for s in order]})
    return (
        alt.Chart(data)
        .mark_bar()
        .encode(
            x=alt.X("flags:Q", title="Flags"),
            y=alt.Y("status:N", sort=order, title=None),
            color=alt.Color(
                "status:N",
                scale=alt.Scale(domain=order, range=["#56B4E9", "#009E73", "#CC79A7", "#BBBBBB"]),
                legend=None,
            ),
            tooltip=[alt.Tooltip("status:N", title="Status"), alt.Tooltip("flags:Q", title="Flags")],
        )
        .properties(height=160)
    )


def stage_bars(counts: dict[str, int], labels: dict[str, str]) -> alt.Chart:
    """Flags per lifecycle stage, one bar per stage in ``counts``' order (stages with no flag included)."""
    order = [labels.get(s, s) for s in counts]
    data = pd.DataFrame({"stage": order, "flags": list(counts.values())})
    return (
        alt.Chart(data)
        .mark_bar(color="#405BFF")
        .encode(
            x=alt.X("flags:Q", title="Flags", axis=alt.Axis(tickMinStep=1)),
            y=alt.Y(
                "stage:N", sort=order, title=None, axis=alt.Axis(labelLimit=LABEL_LIMIT, labelOverlap=False)
            ),
            tooltip=[alt.Tooltip("stage:N", title="Stage"), alt.Tooltip("flags:Q", title="Flags")],
        )
        .properties(
            height=BAR_STEP * max(len(data), 1),
            autosize=alt.AutoSizeParams(type="fit-x", contains="padding"),
        )
    )


def variation_split(data: pd.DataFrame) -> alt.Chart:
    """Before/after evaluation share per variation for each event of one flag."""
    return (
        alt.Chart(data)
        .mark_bar()
        .encode(
            x=alt.X("share:Q", stack="normalize", title="Share of evaluations", axis=alt.Axis(format="%")),
            y=alt.Y("phase:N", sort=["before", "after"], title=None),
            row=alt.Row(
                "event:N",
                title=None,
                sort=alt.SortField("event_time", order="descending"),
                header=alt.Header(labelAngle=0, labelAlign="left", labelLimit=360),
            ),
            # short unique labels (ldclient.report.short_labels) in the legend, the value itself in the tooltip;
            # two legend columns and the sizes below keep the chart within the page's width
            color=alt.Color(
                "variation:N", title="Variation", legend=alt.Legend(orient="top", columns=2, labelLimit=260)
            ),
            tooltip=[
                alt.Tooltip("event:N", title="Event"),
                alt.Tooltip("phase:N", title="When"),
                alt.Tooltip("variation_full:N", title="Variation"),
                alt.Tooltip("count:Q", title="Evaluations"),
                alt.Tooltip("share:Q", format=".1%", title="Share"),
            ],
        )
        .properties(height=40, width=380)
    )


def timeline(data: pd.DataFrame) -> alt.Chart:
    """A flag's events across environments; rollbacks and toggles marked by shape."""
    return (
        alt.Chart(data)
        .mark_point(filled=True, size=90, opacity=0.85)
        .encode(
            x=alt.X("time:T", title=None),
            y=alt.Y("environment:N", title=None),
            color=impact_color(),
            shape=alt.Shape(
                "mark:N",
                title="Marked",
                scale=alt.Scale(
                    domain=["change", "toggle", "rollback"], range=["circle", "square", "triangle-down"]
                ),
            ),
            tooltip=[
                alt.Tooltip("time:T", format="%Y-%m-%d %H:%M", title="Time"),
                alt.Tooltip("environment:N", title="Environment"),
                alt.Tooltip("description:N", title="Change"),
                alt.Tooltip("member:N", title="By"),
                alt.Tooltip("impact_size:N", title="Impact"),
                alt.Tooltip("mark:N", title="Marked"),
            ],
        )
        .properties(height=200)
    )


def counts_over_time(
    data: pd.DataFrame,
    x: str,
    y: str,
    color: str | None,
    title: str,
    first: date,
    last: date,
    today: date | None = None,
    color_scale: alt.Scale | None = None,
) -> alt.Chart:
    """Bars of ``y`` per local day (``x``: YYYY-MM-DD; per week for long ranges), stacked by ``color``."""
    grid = periods(first, last, today)
    data = (
        bucketed(data, x, y, [color] if color else [], grid)
        if len(data)
        else grid.assign(**{y: 0, **({color: ""} if color else {})}).iloc[:0]
    )
    enc: dict[str, Any] = {
        "x": period_x(grid),
        "y": alt.Y(f"{y}:Q", stack="zero", title=title),
        "opacity": partial_opacity(),
        "tooltip": [*period_tooltips(grid), alt.Tooltip(f"{y}:Q", title=title, format=",")],
    }
    if color:
        domain = color_scale.domain if color_scale is not None else alt.Undefined
        enc["color"] = alt.Color(
            f"{color}:N",
            title=None,
            scale=color_scale or alt.Undefined,
            legend=alt.Legend(orient="top"),
            sort=domain,
        )
        enc["order"] = alt.Order("color_order:Q")
        enc["tooltip"].append(alt.Tooltip(f"{color}:N", title=color.replace("_", " ").capitalize()))
    chart = alt.Chart(data).mark_bar().encode(**enc)
    if color:
        order = list(color_scale.domain) if color_scale is not None else []
        chart = chart.transform_calculate(color_order=f"indexof({order!r}, datum[{color!r}])")
    return chart.properties(height=220)


def kpi_delta(value: float, before: float, percent: bool, color: str) -> tuple[str, str, str]:
    """st.metric's (delta text, delta_color, delta_arrow) for a change from ``before`` to ``value``. A change
    that shows as zero once rounded (shares: one decimal of a percentage point) is neutral: grey, no arrow,
    never a red up arrow."""
    shown = round((value - before) * 100, 1) if percent else value - before
    if shown == 0:
        return ("±0.0 pts" if percent else "±0"), "off", "off"
    return (f"{shown:+.1f} pts" if percent else f"{shown:+,}"), color, "auto"
