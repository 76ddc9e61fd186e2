"""Altair chart builders shared by the pages: one colour scale for impact sizes, tooltips everywhere.

Every text from the API reaches the charts as data (never as markup), and Vega renders it as text.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

IMPACT_ORDER = ["large", "medium", "small", "none", "unknown"]
# Okabe-Ito: distinguishable with the common colour-vision deficiencies.
IMPACT_COLORS = ["#D55E00", "#E69F00", "#56B4E9", "#BBBBBB", "#7F7F7F"]
IMPACT_SCALE = alt.Scale(domain=IMPACT_ORDER, range=IMPACT_COLORS)
WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


def impact_color(title: str = "Impact") -> alt.Color:
    return alt.Color("impact_size:N", scale=IMPACT_SCALE, sort=IMPACT_ORDER, title=title,
                     legend=alt.Legend(orient="top"))


def events_per_day(daily: pd.DataFrame) -> alt.Chart:
    """Stacked bars of events per local day by impact size."""
    data = daily[daily["events"] > 0] if len(daily) else daily
    return alt.Chart(data).mark_bar().encode(
        # local dates arrive as YYYY-MM-DD; read and shown as UTC so no browser offset moves them
        x=alt.X("date:T", timeUnit="utcyearmonthdate", title=None, axis=alt.Axis(format="%b %d")),
        y=alt.Y("sum(events):Q", title="Events"),
        color=impact_color(),
        order=alt.Order("impact_order:Q"),
        tooltip=[alt.Tooltip("date:N", title="Day"),
                 alt.Tooltip("impact_size:N", title="Impact"), alt.Tooltip("events:Q", title="Events")],
    ).transform_calculate(
        impact_order=f"indexof({IMPACT_ORDER!r}, datum.impact_size)"
    ).properties(height=280)


def risk_calendar(heat: pd.DataFrame) -> alt.Chart:
    """Day-of-week x hour heatmap: when changes happen (the risk calendar)."""
    data = heat.assign(day=[WEEKDAYS[d] for d in heat["weekday"]])
    return alt.Chart(data).mark_rect().encode(
        x=alt.X("hour:O", title="Hour (local)"),
        y=alt.Y("day:N", sort=WEEKDAYS, title=None),
        color=alt.Color("events:Q", scale=alt.Scale(scheme="blues"), title="Events"),
        tooltip=[alt.Tooltip("day:N", title="Day"), alt.Tooltip("hour:O", title="Hour"),
                 alt.Tooltip("events:Q", title="Events")],
    ).properties(height=220)


def bar_ranking(data: pd.DataFrame, label: str, value: str, title: str) -> alt.Chart:
    return alt.Chart(data).mark_bar(color="#405BFF").encode(
        x=alt.X(f"{value}:Q", title=title),
        y=alt.Y(f"{label}:N", sort="-x", title=None, axis=alt.Axis(labelLimit=220)),
        tooltip=[alt.Tooltip(f"{label}:N"), alt.Tooltip(f"{value}:Q", title=title)],
    ).properties(height=max(120, 24 * len(data)))


def histogram(data: pd.DataFrame, column: str, title: str) -> alt.Chart:
    return alt.Chart(data).mark_bar(color="#405BFF").encode(
        x=alt.X(f"{column}:Q", bin=alt.Bin(step=10, extent=[0, 100]), title=title),
        y=alt.Y("count():Q", title="Flags"),
        tooltip=[alt.Tooltip(f"{column}:Q", bin=alt.Bin(step=10, extent=[0, 100]), title=title),
                 alt.Tooltip("count():Q", title="Flags")],
    ).properties(height=220)


def status_bars(statuses: dict[str, int]) -> alt.Chart:
    order = ["new", "active", "launched", "inactive"]
    data = pd.DataFrame({"status": order, "flags": [statuses.get(s, 0) for s in order]})
    return alt.Chart(data).mark_bar().encode(
        x=alt.X("flags:Q", title="Flags"),
        y=alt.Y("status:N", sort=order, title=None),
        color=alt.Color("status:N", scale=alt.Scale(domain=order, range=["#56B4E9", "#009E73", "#CC79A7", "#BBBBBB"]),
                        legend=None),
        tooltip=["status:N", "flags:Q"],
    ).properties(height=160)


def variation_split(data: pd.DataFrame) -> alt.Chart:
    """Before/after evaluation share per variation for each event of one flag."""
    return alt.Chart(data).mark_bar().encode(
        x=alt.X("share:Q", stack="normalize", title="Share of evaluations", axis=alt.Axis(format="%")),
        y=alt.Y("phase:N", sort=["before", "after"], title=None),
        row=alt.Row("event:N", title=None, sort=alt.SortField("event_time", order="descending"),
                    header=alt.Header(labelAngle=0, labelAlign="left", labelLimit=360)),
        # short unique labels (ldclient.report.short_labels) in the legend, the value itself in the tooltip;
        # two legend columns and the sizes below keep the chart within the page's width
        color=alt.Color("variation:N", title="Variation",
                        legend=alt.Legend(orient="top", columns=2, labelLimit=260)),
        tooltip=[alt.Tooltip("event:N", title="Event"), alt.Tooltip("phase:N", title="When"),
                 alt.Tooltip("variation_full:N", title="Variation"), alt.Tooltip("count:Q", title="Evaluations"),
                 alt.Tooltip("share:Q", format=".1%", title="Share")],
    ).properties(height=40, width=380)


def timeline(data: pd.DataFrame) -> alt.Chart:
    """A flag's events across environments; rollbacks and toggles marked by shape."""
    return alt.Chart(data).mark_point(filled=True, size=90, opacity=0.85).encode(
        x=alt.X("time:T", title=None),
        y=alt.Y("environment:N", title=None),
        color=impact_color(),
        shape=alt.Shape("mark:N", title="Marked", scale=alt.Scale(domain=["change", "toggle", "rollback"],
                                                                  range=["circle", "square", "triangle-down"])),
        tooltip=[alt.Tooltip("time:T", format="%Y-%m-%d %H:%M", title="Time"),
                 alt.Tooltip("environment:N", title="Environment"), alt.Tooltip("description:N", title="Change"),
                 alt.Tooltip("member:N", title="By"), alt.Tooltip("impact_size:N", title="Impact"),
                 alt.Tooltip("mark:N", title="Marked")],
    ).properties(height=200)


def counts_over_time(data: pd.DataFrame, x: str, y: str, color: str | None, title: str) -> alt.Chart:
    enc = {"x": alt.X(f"{x}:T", timeUnit="utcyearmonthdate", title=None), "y": alt.Y(f"{y}:Q", title=title),
           "tooltip": [alt.Tooltip(f"{x}:N", title="Day"), alt.Tooltip(f"{y}:Q", title=title)]}
    if color:
        enc["color"] = alt.Color(f"{color}:N", title=None, legend=alt.Legend(orient="top"))
        enc["tooltip"].append(alt.Tooltip(f"{color}:N"))
    return alt.Chart(data).mark_bar().encode(**enc).properties(height=220)
