"""Data: where the numbers come from, what the store holds, and a way to refresh them."""

import pandas as pd
import streamlit as st

from dashboard import loaders, startup, text, view_state, widgets

view = view_state.current_view()
source = startup.get_source()
access = startup.access_mode()

a, b = st.columns(2)
with a:
    st.subheader("Source")
    if source.demo:
        st.markdown(
            "**Demo account** (embedded; no network). Set `LD_API_TOKEN` to a LaunchDarkly access token "
            "with reader access, and `LD_BASE_URL` for the EU or federal instance, then restart."
        )
    else:
        st.markdown(f"**LaunchDarkly** at `{source.client.base_url}`. The token is set and never shown.")
    st.markdown(f"Store: `{source.store.description}`  \nTimezone: `{view.tz}`")
    st.markdown(f"Access: {access.message}")
with b:
    st.subheader("Refresh")
    key = source.key(view.project, view.env)
    last = source.store.last_refresh(key)
    good = source.store.last_good_refresh_ms(key)
    st.markdown(
        f"`{view.project}` / `{view.env}`: last refresh "
        f"{widgets.format_time(last.at_ms, view.tz) + ' (' + last.outcome + ')' if last else 'never'}; "
        f"data as of {widgets.format_time(good, view.tz)}."
    )
    if st.button("Refresh now", icon=":material/refresh:", type="primary"):
        from_ms, to_ms = loaders.window(view)
        loaders.ensure_fresh(view, from_ms, to_ms, force=True)  # a new version: the cached readers miss
        report = st.session_state.get("last_report")
        if report is not None and report.ok:
            st.success(f"Refreshed: {report.requests} requests, {report.events_added} new events.")
        elif report is not None:
            st.error(f"Refresh failed: {text.plain(report.error)}")

st.subheader("What the store holds")
rows = [
    {  # Sentence-case headers, the most important first: on screen at 1280 px
        "Project": s.key.project,
        "Environment": s.key.environment,
        "Events": s.events,
        "Last refresh": widgets.format_time(s.last_refresh.at_ms, view.tz) if s.last_refresh else "never",
        "Outcome": (
            s.last_refresh.outcome + (f": {s.last_refresh.message}" if s.last_refresh.message else "")
        )
        if s.last_refresh
        else "",
        "First event": widgets.format_time(s.first_event_ms, view.tz),
        "Last event": widgets.format_time(s.last_event_ms, view.tz),
        "Covered ranges": len(s.covered),
        "Source": "demo" if s.key.source.startswith("demo:") else s.key.source,
    }
    for s in source.store.summaries()
]
if rows:
    st.dataframe(
        pd.DataFrame(rows),
        hide_index=True,
        width="stretch",
        column_config={
            "Project": st.column_config.TextColumn(pinned=True),
            "Events": st.column_config.NumberColumn(width=70),
            "Outcome": st.column_config.TextColumn(width=90),
            "Covered ranges": st.column_config.NumberColumn(width=70),
        },
    )
else:
    st.caption("Nothing stored yet.")
