"""Flag events: every change in the view, searchable and sortable, with a CSV of exactly what is shown."""

import streamlit as st

from ldclient.export import csv_bytes
from ldclient.report import events_table
from pages import common

view = common.current_view()
source = common.get_source()
from_ms, to_ms = common.window(view)
frame = common.events_frame(view)
frame = frame[(frame["event_time"] >= from_ms) & (frame["event_time"] < to_ms)]

if frame.empty:
    st.info("No flag events match this view. Try a longer range, another environment or fewer filters.",
            icon=":material/info:")
    st.stop()

table = events_table(frame, view.tz, lambda flag, env: source.flag_url(view.project, env or view.env, flag))
st.caption(f"{len(table):,} events, newest first, times in {view.tz}. Select a row to open the flag's detail; "
           "use the table's search icon to search within it.")
picked = st.dataframe(
    table, hide_index=True, width="stretch", height=560, on_select="rerun", selection_mode="single-row",
    key="events_table",
    column_config={
        "time": st.column_config.TextColumn("Time", width="medium"),
        "flag": st.column_config.TextColumn("Flag"),
        "environment": st.column_config.TextColumn("Environment"),
        "event_type": st.column_config.TextColumn("Event type"),
        "description": st.column_config.TextColumn("Description", width="large"),
        "member": st.column_config.TextColumn("Member"),
        "actions": st.column_config.TextColumn("Actions"),
        "impact": st.column_config.TextColumn("Impact"),
        "impact_pct": st.column_config.NumberColumn("Impact %", format="%.1f %%"),
        "experiments": st.column_config.NumberColumn("Experiments"),
        "launchdarkly": st.column_config.LinkColumn("In LaunchDarkly", display_text="Open flag"),
    },
)
st.download_button("Download CSV", csv_bytes(table), file_name=(
    f"flag-events-{view.project}-{view.env}.csv"), mime="text/csv", icon=":material/download:")
rows = picked.selection.rows if picked else []
if rows:
    common.select_flag(str(table.iloc[rows[0]]["flag"]))
