"""Cleanup: the stale temporary flags, the list a team takes into its cleanup sprint."""

import streamlit as st

from dashboard import loaders, startup, view_state, widgets
from ldclient.export import stale_flags_csv

view = view_state.current_view()
source = startup.get_source()
life = loaders.lifecycle_summary(view)
a, b, c = st.columns(3)
a.metric("Stale flags", f"{life['stale_flags']:,}", border=True)
b.metric("Temporary flags", f"{life['temporary_flags']:,}", border=True)
c.metric("Stale share", f"{life['stale_share']:.1%}", border=True)
st.caption(
    "Stale: temporary, not archived, created 30+ days ago, status inactive or launched here, and no change "
    "here (or global) in the last 7 days. docs/LIFECYCLE.md has the exact rules."
)

stale = loaders.stale_table(view)
if stale.empty:
    st.success(f"No stale flags in {view.env}. Nothing to clean up.", icon=":material/check_circle:")
    st.stop()

shown = stale.assign(
    last_requested=widgets.format_times(stale["last_requested"], view.tz),
    last_change=widgets.format_times(stale["last_change"], view.tz),
    launchdarkly=[source.flag_url(view.project, view.env, k) for k in stale["flag_key"].astype(str)],
)
picked = st.dataframe(
    shown,
    hide_index=True,
    width="stretch",
    height=520,
    on_select="rerun",
    selection_mode="single-row",
    key="cleanup_table",
    # what a cleanup needs first (on screen at 1280 px); the flag stays pinned
    column_order=[
        "flag_key",
        "status",
        "age_days",
        "last_requested",
        "maintainer",
        "launchdarkly",
        "days_since_change",
        "last_change",
        "tags",
        "name",
    ],
    column_config={
        "flag_key": st.column_config.TextColumn("Flag", pinned=True, width=210),
        "name": st.column_config.TextColumn("Name"),
        "age_days": st.column_config.NumberColumn("Age (days)", format="%.0f", width=85),
        "status": st.column_config.TextColumn("Status", width=80),
        "last_requested": st.column_config.TextColumn("Last requested", width=140),
        "last_change": st.column_config.TextColumn("Last change"),
        "days_since_change": st.column_config.NumberColumn("Days since change", format="%.0f"),
        "maintainer": st.column_config.TextColumn("Maintainer", width=170),
        "tags": st.column_config.TextColumn("Tags"),
        "launchdarkly": st.column_config.LinkColumn("In LaunchDarkly", display_text="Open flag", width=110),
    },
)
st.download_button(
    "Download CSV",
    stale_flags_csv(shown),
    file_name=f"stale-flags-{view.project}-{view.env}.csv",
    mime="text/csv",
    icon=":material/download:",
)
widgets.open_selected_flag(picked, shown["flag_key"].tolist())
