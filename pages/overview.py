"""Overview: the headline numbers with their trend, when changes happen, and who and what changes most."""

import pandas as pd
import streamlit as st

from pages import charts, common

view = common.current_view()
data = common.overview_data(view)
m, prev = data["metrics"], data["metrics"]["previous"]
series = data["series"]


def share(n: float, d: float) -> float:
    return n / d if d else 0.0


kpis = [  # label, value, previous value, sparkline column, format, delta colour, what it means
    ("Events", m["events_total"], prev["events_total"], "events", "{:,}", "off", "Flag changes in the range."),
    ("Flags changed", m["flags_changed"], prev["flags_changed"], "flags_changed", "{:,}", "off",
     "Distinct flags with at least one change."),
    ("Large impact", m["large_impact_share"], prev["large_impact_share"], "large_share", "{:.1%}", "inverse",
     "Large-impact share: changes that moved more than 80 % of evaluations, of changes with a known impact."),
    ("Rollbacks", m["rollback_rate"], prev["rollback_rate"], "rollback_rate", "{:.1%}", "inverse",
     "Rollback rate: impactful changes undone within 24 hours (variation split restored within 0.10)."),
    ("Off-hours", share(m["off_hours_events"], m["events_total"]),
     share(prev["off_hours_events"], prev["events_total"]), "off_hours_share", "{:.0%}", "inverse",
     "Off-hours share: changes on weekends or outside 09:00–18:00 local time."),
    ("Flapping", len(m["flapping_flags"]), len(prev["flapping_flags"]), None, "{:,}", "inverse",
     "Flapping flags: toggled on/off three times within seven days in one environment."),
]
series = series.assign(off_hours_share=(series["off_hours"] / series["events"].where(series["events"] > 0)).fillna(0))
for col, (label, value, before, spark, fmt, color, meaning) in zip(st.columns(len(kpis)), kpis, strict=True):
    delta = value - before
    delta_text = f"{delta * 100:+.1f} pts" if "%" in fmt else f"{delta:+,}"
    col.metric(label, fmt.format(value), delta_text, delta_color=color,
               chart_data=series[spark].tolist() if spark and len(series) > 1 else None, chart_type="area",
               help=f"{meaning} The delta compares with the previous period of the same length.")

if m["events_total"] == 0:
    reason = "the filters are too narrow" if (view.impact or view.experiments_only or view.query) else \
        "nobody changed a flag in this environment in the selected range"
    st.info(f"No flag events to show: {reason}. Try a longer range or fewer filters.", icon=":material/info:")
    st.stop()

left, right = st.columns([3, 2])
with left:
    st.subheader("Changes per day, by impact")
    st.altair_chart(charts.events_per_day(data["daily"]), width="stretch")
with right:
    st.subheader("Risk calendar")
    st.caption(f"When changes happen ({view.tz}). Off-hours: weekends and outside 09:00–18:00.")
    st.altair_chart(charts.risk_calendar(data["heat"]), width="stretch")

st.subheader("Stale flags and statuses")
try:
    life = common.lifecycle_summary(view)
except common.LDError as exc:
    st.warning(f"Flag statuses could not be loaded: {common.plain(exc)}", icon=":material/cloud_off:")
else:
    a, b, c, d = st.columns([1, 1, 1, 2])
    a.metric("Stale share", f"{life['stale_share']:.0%}", border=True,
             help="Stale temporary flags / temporary flags (LaunchDarkly's flag-health measure).")
    b.metric("Stale flags", f"{life['stale_flags']:,}", border=True)
    c.metric("Temporary flags", f"{life['temporary_flags']:,}", border=True)
    with d:
        st.altair_chart(charts.status_bars(life["statuses"]), width="stretch")

left, right = st.columns(2)
with left:
    st.subheader("Most changed flags")
    top = pd.DataFrame(m["top_flags"], columns=["flagKey", "events"])
    st.altair_chart(charts.bar_ranking(top, "flagKey", "events", "Events"), width="stretch")
with right:
    st.subheader("Most active members")
    members = pd.DataFrame(m["top_members"], columns=["email", "events"])
    if len(members):
        st.altair_chart(charts.bar_ranking(members, "email", "events", "Events"), width="stretch")
    else:
        st.caption("No changes by members in this range (API tokens and workflows have no member).")
