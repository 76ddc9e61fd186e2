"""History: flag health over months for one project and environment: is the flag debt going down?"""

import streamlit as st

from dashboard import history_charts, loaders, text, view_state
from ldclient.errors import LDError

view = view_state.current_view()
st.caption(
    f"One point per day in {text.plain(view.tz)}. Observed days come from the daily snapshots (every refresh and `sync` records one); LaunchDarkly keeps no "
    "history of flag statuses, so stale figures start with the first snapshot. Dashed lines are days rebuilt "
    "from the flags' creation and archive dates and the stored events. Definitions: docs/HISTORY.md."
)
try:
    data = loaders.history_data(view)
except LDError as exc:
    st.warning(f"The history could not be loaded: {text.plain(exc)}", icon=":material/cloud_off:")
    st.stop()
frame = data["frame"]
seen = frame[frame["observed"]]
if not len(frame):
    st.info("The range has no days up to today.", icon=":material/info:")
    st.stop()

if len(seen):
    last = seen.iloc[-1]
    first_seen = seen.iloc[0]
    a, b, c, d = st.columns(4)
    share_change = (
        None if len(seen) < 2 else f"{(last['stale_share'] - first_seen['stale_share']) * 100:+.1f} pts"
    )
    a.metric(
        "Stale share",
        f"{last['stale_share']:.1%}",
        share_change,
        delta_color="inverse",
        border=True,
        help=f"Stale temporary flags / temporary flags on {last['date']}; the change is since "
        f"{first_seen['date']}, the range's first observed day.",
    )
    b.metric(
        "Stale flags",
        f"{int(last['stale_flags']):,}",
        None if len(seen) < 2 else f"{int(last['stale_flags'] - first_seen['stale_flags']):+,}",
        delta_color="inverse",
        border=True,
    )
    c.metric("Temporary flags", f"{int(last['temporary_flags']):,}", border=True)
    d.metric(
        "Observed days",
        f"{len(seen):,} of {len(frame):,}",
        border=True,
        help="Days of the range with a recorded snapshot; the others are rebuilt where the data allows.",
    )
else:
    st.info(
        "No snapshot was recorded in this range (they start on the first day Flag Health looked at this "
        "environment): only the rebuilt figures (temporary flags, events) are shown.",
        icon=":material/info:",
    )

left, right = st.columns(2)
with left:
    st.subheader("Stale share and stale flags")
    if len(seen):
        st.altair_chart(history_charts.stale_over_time(frame), width="stretch")
    else:
        st.caption("No observed day in the range.")
with right:
    st.subheader("Status mix")
    if len(seen):
        st.altair_chart(history_charts.status_mix(frame), width="stretch")
    else:
        st.caption("No observed day in the range.")

left, right = st.columns(2)
with left:
    st.subheader("Lifecycle stages (burn-down)")
    st.caption(
        "LaunchDarkly's lifecycle stages of the non-archived flags, judged in the critical environments."
    )
    if len(seen):
        st.altair_chart(history_charts.stages_over_time(frame), width="stretch")
with right:
    st.subheader("Temporary flags alive")
    st.caption("Solid: recorded that day. Dashed: rebuilt from creation and archive dates.")
    st.altair_chart(history_charts.temporary_over_time(frame), width="stretch")

left, right = st.columns(2)
with left:
    st.subheader("Became stale and archived, per week")
    weekly = data["weekly"]
    if len(weekly):
        st.altair_chart(history_charts.weekly_changes(weekly), width="stretch")
        recent = weekly[weekly["became_stale"] > 0].tail(1)
        if len(recent):
            keys = recent.iloc[0]["became_stale_keys"]
            st.caption(
                f"Became stale in the week of {recent.iloc[0]['week']}: "
                + text.plain(", ".join(keys[:12]))
                + (f" and {len(keys) - 12} more" if len(keys) > 12 else "")
            )
    else:
        st.caption("No week of the range has two snapshots or an archived flag yet.")
with right:
    st.subheader("Time to production and in cleanup, by month")
    monthly = data["monthly"]
    if len(monthly):
        st.altair_chart(history_charts.monthly_durations(monthly), width="stretch")
        st.caption(
            "Medians: from creation to the first production change, of the flags that reached production "
            "that month; from the start of cleanup to the archive, of the flags archived that month."
        )
    else:
        st.caption("No flag reached production or was archived in the range.")

st.subheader("Every day")
table = frame.drop(columns=["statuses", "lifecycle_stages", "timeline_stages"]).iloc[::-1]  # newest first
st.dataframe(
    table.assign(stale_share=table["stale_share"] * 100),
    hide_index=True,
    width="stretch",
    height=320,
    column_config={
        "date": st.column_config.TextColumn("Day", pinned=True),
        "observed": st.column_config.CheckboxColumn("Observed"),
        "temporary_flags": st.column_config.NumberColumn("Temporary flags"),
        "stale_flags": st.column_config.NumberColumn("Stale flags"),
        "stale_share": st.column_config.NumberColumn("Stale share", format="%.1f%%"),
        "flags_without_owner": st.column_config.NumberColumn("Without owner"),
        "flags_with_code_references": st.column_config.NumberColumn("With code refs"),
        "median_flag_age_days": st.column_config.NumberColumn("Median age (days)", format="%.0f"),
        "median_days_to_production": st.column_config.NumberColumn("Days to production", format="%.0f"),
        "median_days_in_cleanup": st.column_config.NumberColumn("Days in cleanup", format="%.0f"),
        "flags": st.column_config.NumberColumn("Flags"),
        "events": st.column_config.NumberColumn("Events"),
        "rollbacks": st.column_config.NumberColumn("Rollbacks"),
        "flapping_flags": st.column_config.NumberColumn("Flapping"),
    },
)
