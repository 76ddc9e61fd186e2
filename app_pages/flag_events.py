"""Flag events: every change in the view, searchable and sortable, with a CSV of exactly what is shown."""

import streamlit as st

from dashboard import loaders, startup, view_state, widgets
from ldclient.export import events_csv
from ldclient.report import events_table

view = view_state.current_view()
source = startup.get_source()
from_ms, to_ms = loaders.window(view)
frame = loaders.events_frame(view)
frame = frame[(frame["event_time"] >= from_ms) & (frame["event_time"] < to_ms)]

if frame.empty:
    st.info(
        "No flag events match this view. Try a longer range, another environment or fewer filters.",
        icon=":material/info:",
    )
    st.stop()

table = events_table(frame, view.tz, lambda flag, env: source.flag_url(view.project, env or view.env, flag))
st.caption(
    f"{len(table):,} events, newest first, times in {view.tz}. Select a row to open the flag's detail; "
    "use the table's search icon to search within it."
)
picked = st.dataframe(
    table,
    hide_index=True,
    width="stretch",
    height=560,
    on_select="rerun",
    selection_mode="single-row",
    key="events_table",
    # most important first, so they are on screen at 1280 px; the flag stays pinned when scrolling sideways
    column_order=[
        "flag",
        "time",
        "impact",
        "member",
        "description",
        "environment",
        "event_type",
        "impact_pct",
        "actions",
        "experiments",
        "launchdarkly",
    ],
    column_config={
        "time": st.column_config.TextColumn("Time", width=140),
        "flag": st.column_config.TextColumn("Flag", pinned=True, width=200),
        "environment": st.column_config.TextColumn("Environment"),
        "event_type": st.column_config.TextColumn("Event type"),
        "description": st.column_config.TextColumn("Description", width="large"),
        "member": st.column_config.TextColumn("Member", width=190),
        "actions": st.column_config.TextColumn("Actions"),
        "impact": st.column_config.TextColumn("Impact", width=70),
        "impact_pct": st.column_config.NumberColumn("Impact %", format="%.1f%%"),
        "experiments": st.column_config.NumberColumn("Experiments"),
        "launchdarkly": st.column_config.LinkColumn("In LaunchDarkly", display_text="Open flag"),
    },
)
st.download_button(
    "Download CSV",
    events_csv(table),
    file_name=(f"flag-events-{view.project}-{view.env}.csv"),
    mime="text/csv",
    icon=":material/download:",
)
widgets.open_selected_flag(picked, table["flag"].tolist())
