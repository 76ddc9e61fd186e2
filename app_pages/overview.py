"""Overview: the headline numbers with their trend, when changes happen, and who and what changes most."""

import pandas as pd
import streamlit as st

from dashboard import charts, history_charts, loaders, text, view_state
from ldclient.errors import LDError

view = view_state.current_view()
data = loaders.overview_data(view)
m, prev = data["metrics"], data["metrics"]["previous"]
series = data["series"]


def share(n: float, d: float) -> float:
    return n / d if d else 0.0


def stale_block(record_now: bool) -> tuple[str, str | None] | None:
    """Stale flags and statuses: the flags as they are now, whatever the range and filters (always shown).

    Today's snapshot (the stale share's change and trend) is recorded here only with ``record_now``;
    otherwise, when it is missing, the block is drawn without it and its ``loaders.snapshot_progress``
    returned: once everything else is on screen the page starts its recording in the background and runs
    again when it is there (a new environment is shown at once, not after the second or more a first
    snapshot costs). None: nothing left to record."""
    st.subheader("Stale flags and statuses")
    st.caption(
        f"As of now, all flags of {text.plain(view.env)}: not limited to the date range, and not filtered by impact, "
        "experiments or search."
    )
    try:
        life = loaders.lifecycle_summary(view)
    except LDError as exc:
        st.warning(f"Flag statuses could not be loaded: {text.plain(exc)}", icon=":material/cloud_off:")
        return None
    progress = None if record_now else loaders.snapshot_progress(view)
    pending = progress is not None and progress[0] != "recorded"
    trend: dict = {"stale_share_change": None, "frame": None}
    if not pending:
        try:
            trend = loaders.stale_trend(view)
        except LDError as exc:
            st.caption(f"Today's flag-health snapshot could not be recorded: {text.plain(exc)}")
    change = trend["stale_share_change"]
    if pending and progress is not None and progress[0] != "failed":
        st.caption(
            "Recording today's flag-health snapshot: the stale share's change and trend follow shortly."
        )
    a, b, c, d = st.columns([1, 1, 1, 2])
    a.metric(
        "Stale share",
        f"{life['stale_share']:.1%}",
        None if change is None else f"{change * 100:+.1f} pts",
        delta_color="inverse",
        border=True,
        help="Stale temporary flags / temporary flags (LaunchDarkly's flag-health measure). The change is "
        "against the newest daily snapshot before the range (the previous period's end); none until a "
        "snapshot that old exists (History, docs/HISTORY.md).",
    )
    b.metric("Stale flags", f"{life['stale_flags']:,}", border=True)
    c.metric("Temporary flags", f"{life['temporary_flags']:,}", border=True)
    with d:
        st.altair_chart(charts.status_bars(life["statuses"]), width="stretch")
    frame = trend["frame"]
    if frame is not None and len(frame) > 1:
        st.caption("Stale share per day in the range, from the daily snapshots (History shows more).")
        st.altair_chart(history_charts.stale_sparkline(frame), width="stretch")
    elif frame is not None:
        st.caption("The stale share's trend starts with today's snapshot: one is recorded per day (History).")
    return progress if pending else None


kpis = [  # label, value, previous value, sparkline column, format, delta colour, what it means
    (
        "Events",
        m["events_total"],
        prev["events_total"],
        "events",
        "{:,}",
        "off",
        "Flag changes in the range.",
    ),
    (
        "Flags changed",
        m["flags_changed"],
        prev["flags_changed"],
        "flags_changed",
        "{:,}",
        "off",
        "Distinct flags with at least one change.",
    ),
    (
        "Large impact",
        m["large_impact_share"],
        prev["large_impact_share"],
        "large_share",
        "{:.1%}",
        "inverse",
        "Large-impact share: changes that moved more than 80 % of evaluations, of changes with a known impact.",
    ),
    (
        "Rollbacks",
        m["rollback_rate"],
        prev["rollback_rate"],
        "rollback_rate",
        "{:.1%}",
        "inverse",
        "Rollback rate: impactful changes undone within 24 hours (variation split restored within 0.10).",
    ),
    (
        "Off-hours",
        share(m["off_hours_events"], m["events_total"]),
        share(prev["off_hours_events"], prev["events_total"]),
        "off_hours_share",
        "{:.1%}",
        "inverse",
        f"Off-hours share: changes outside the team's working hours ({data['work'].describe()}), "
        "whatever timezone the page is shown in.",
    ),
    (
        "Flapping",
        len(m["flapping_flags"]),
        len(prev["flapping_flags"]),
        None,
        "{:,}",
        "inverse",
        "Flapping flags: toggled on/off three times within seven days in one environment.",
    ),
]
series = series.assign(
    off_hours_share=(series["off_hours"] / series["events"].where(series["events"] > 0)).fillna(0)
)
day = loaders.today(view.tz)
first, last = view.dates(day)
series = series[series["period"].astype(str) < day.isoformat()]  # whole days only: today so far would dive
for col, (label, value, before, spark, fmt, color, meaning) in zip(st.columns(len(kpis)), kpis, strict=True):
    delta_text, delta_color, arrow = charts.kpi_delta(value, before, "%" in fmt, color)
    col.metric(
        label,
        fmt.format(value),
        delta_text,
        delta_color=delta_color,
        delta_arrow=arrow,
        chart_data=series[spark].tolist() if spark and len(series) > 1 else None,
        chart_type="area",
        help=f"{meaning} The delta compares with as much time just before the range (up to the time the "
        "data is as of, so today so far is not compared with a whole day). The sparkline has one "
        "point per whole day; today so far is left out.",
    )

if m["events_total"] == 0:
    reason = (
        "the filters are too narrow"
        if (view.impact or view.experiments_only or view.query)
        else "nobody changed a flag in this environment in the selected range"
    )
    st.info(f"No flag events to show: {reason}. Try a longer range or fewer filters.", icon=":material/info:")
    stale_block(record_now=True)
    st.stop()

left, right = st.columns([3, 2])
with left:
    weekly = charts.bucket_for(first, last) == "week"
    st.subheader("Changes per week, by impact" if weekly else "Changes per day, by impact")
    st.altair_chart(charts.events_per_day(data["daily"], first, last, day), width="stretch")
    if weekly:
        st.caption(
            "One bar per week. Lighter bars: weeks the range or today cuts short (the tooltip says how "
            "many days they cover)."
        )
    elif last >= day:
        st.caption("Lighter bar: today so far, not a whole day.")
with right:
    st.subheader("Risk calendar")
    st.caption(
        f"When changes happen, in the team's working timezone: {data['work'].timezone}. Working hours "
        f"{data['work'].days_text} {data['work'].hours_text}; everything else is off-hours."
    )
    st.altair_chart(charts.risk_calendar(data["heat"], data["work"].timezone), width="stretch")

snapshot_pending = stale_block(record_now=False)  # its progress while today's snapshot is missing

left, right = st.columns(2)
with left:
    st.subheader("Most changed flags")
    top = pd.DataFrame(m["top_flags"], columns=["flagKey", "events"])
    st.altair_chart(charts.bar_ranking(top, "flagKey", "events", "Events", "Flag"), width="stretch")
with right:
    st.subheader("Most active members")
    members = pd.DataFrame(m["top_members"], columns=["email", "events"])
    if len(members):
        st.altair_chart(charts.bar_ranking(members, "email", "events", "Events", "Member"), width="stretch")
    else:
        st.caption("No changes by members in this range (API tokens and workflows have no member).")


@st.fragment(run_every=0.5)
def await_snapshot() -> None:
    """Polls the background recording; once it has ended (recorded or failed) the whole page runs again."""
    if loaders.snapshot_progress(view)[0] != "recording":
        st.rerun(scope="app")


if snapshot_pending is not None:  # everything else is drawn: record today's snapshot beside the session
    progress, failure = snapshot_pending
    if progress == "failed":
        st.caption(f"Today's flag-health snapshot could not be recorded: {failure}")
    else:
        try:
            loaders.start_snapshot(view)
        except LDError as exc:
            st.caption(f"Today's flag-health snapshot could not be recorded: {text.plain(exc)}")
        else:
            await_snapshot()
