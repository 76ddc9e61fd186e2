"""All projects: one row per project and environment, for leads who look across teams."""

from urllib.parse import urlencode

import streamlit as st

from ldclient.links import View, encode_view
from pages import common

view = common.current_view()
from_ms, to_ms = common.window(view)
source = common.get_source()
projects = common.project_map()
bar = st.progress(0.0, text="Bringing every project and environment up to date…")
pairs = [(p, e) for p, envs in projects.items() for e in envs]
for i, (project, env) in enumerate(pairs):
    common.ensure_fresh(View(project, env, tz=view.tz), from_ms - (to_ms - from_ms), to_ms)
    bar.progress((i + 1) / len(pairs), text=f"Up to date: {project}/{env}")
bar.empty()

rows = common.project_rows(view, from_ms, to_ms)
if rows.empty:
    st.info("No projects to show.", icon=":material/info:")
    st.stop()

d = common.today(view.tz)
rows["open"] = ["./?" + urlencode(encode_view(View(p, e, view.range_days, view.start, view.end, view.tz), today=d))
                for p, e in zip(rows["project"], rows["environment"], strict=True)]
st.caption(f"{len(rows)} environments in {rows['project'].nunique()} projects. Change is against the previous "
           "period of the same length; the trend is events per week.")
st.dataframe(rows.drop(columns=["project_name"]), hide_index=True, width="stretch", column_config={
    "project": st.column_config.TextColumn("Project"),
    "environment": st.column_config.TextColumn("Environment"),
    "critical": st.column_config.CheckboxColumn("Production-like"),
    "events": st.column_config.NumberColumn("Events", format="%d"),
    "events_change": st.column_config.NumberColumn("Change", format="%+d"),
    "flags_changed": st.column_config.NumberColumn("Flags changed"),
    "large_impact_share": st.column_config.NumberColumn("Large-impact share", format="percent"),
    "rollback_rate": st.column_config.NumberColumn("Rollback rate", format="percent"),
    "flapping_flags": st.column_config.NumberColumn("Flapping flags"),
    "off_hours_share": st.column_config.NumberColumn("Off-hours share", format="percent"),
    "trend": st.column_config.LineChartColumn("Trend (events/week)"),
    "open": st.column_config.LinkColumn("Overview", display_text="Open overview"),
})
