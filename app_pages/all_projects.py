"""All projects: one row per project and environment, for leads who look across teams."""

from urllib.parse import urlencode

import pandas as pd
import streamlit as st

from dashboard import loaders, startup, view_state
from ldclient.links import View, encode_view

view = view_state.current_view()
from_ms, to_ms = loaders.window(view)
source = startup.get_source()
projects = loaders.project_map()
bar = st.progress(0.0, text="Bringing every project and environment up to date…")
pairs = [(p, e) for p, envs in projects.items() for e in envs]
for i, (project, env) in enumerate(pairs):
    loaders.ensure_fresh(View(project, env, tz=view.tz), from_ms - (to_ms - from_ms), to_ms)
    bar.progress((i + 1) / len(pairs), text=f"Up to date: {project}/{env}")
bar.empty()

rows = loaders.project_rows(view, from_ms, to_ms)
if rows.empty:
    st.info("No projects to show.", icon=":material/info:")
    st.stop()
missing = rows[rows["stale_share"].isna()]
if len(missing):
    note, button = st.columns([4, 1], vertical_alignment="center")
    note.caption(
        f"{len(missing)} of {len(rows)} environments have no flag-health snapshot in the range, so their stale "
        "columns are empty: `python -m ldclient sync` (nightly, say) records one for every environment, and "
        "opening an environment's Overview or History records its own."
    )
    if button.button("Record them now", icon=":material/photo_camera:"):
        bar = st.progress(0.0, text="Recording flag-health snapshots…")
        for i, (p, e) in enumerate(zip(missing["project"], missing["environment"], strict=True)):
            loaders.ensure_snapshot(View(p, e, tz=view.tz))
            bar.progress((i + 1) / len(missing), text=f"Recorded: {p}/{e}")
        bar.empty()
        st.rerun()

d = loaders.today(view.tz)
rows["open"] = [
    "./?" + urlencode(encode_view(View(p, e, view.range_days, view.start, view.end, view.tz), today=d))
    for p, e in zip(rows["project"], rows["environment"], strict=True)
]
st.caption(
    f"{len(rows)} environments in {rows['project'].nunique()} projects. Change is against as much time "
    "just before the range (up to the time the data is as of); the trend is events per whole 7 days, "
    "counted back from the start of today, so no point is a partial week."
)
shares = ["large_impact_share", "rollback_rate", "off_hours_share", "stale_share", "stale_share_change"]
rows["stale_trend"] = [[p * 100 for p in points] for points in rows["stale_trend"]]
shown = rows.drop(columns=["project_name"]).assign(
    **{c: pd.to_numeric(rows[c], errors="coerce") * 100 for c in shares}  # shown as 0.8%
)
st.dataframe(
    shown,
    hide_index=True,
    width="stretch",
    column_order=[
        "project",
        "environment",
        "events",
        "events_change",
        "trend",
        "stale_share",
        "stale_share_change",
        "stale_flags",
        "stale_trend",
        "large_impact_share",
        "rollback_rate",
        "off_hours_share",
        "flapping_flags",
        "open",
        "flags_changed",
        "critical",
    ],
    column_config={
        "project": st.column_config.TextColumn("Project", pinned=True, width=130),
        "environment": st.column_config.TextColumn("Environment", pinned=True, width=100),
        "critical": st.column_config.CheckboxColumn("Production-like"),
        "events": st.column_config.NumberColumn("Events", format="%d", width=65),
        "events_change": st.column_config.NumberColumn("Change", format="%+d", width=65),
        "flags_changed": st.column_config.NumberColumn("Flags changed"),
        "large_impact_share": st.column_config.NumberColumn("Large impact", format="%.1f%%", width=95),
        "rollback_rate": st.column_config.NumberColumn("Rollback rate", format="%.1f%%", width=95),
        "flapping_flags": st.column_config.NumberColumn("Flapping flags", width=95),
        "off_hours_share": st.column_config.NumberColumn("Off-hours", format="%.1f%%", width=80),
        "trend": st.column_config.LineChartColumn(
            "Events/week", width=115, help="Events per whole 7 days, oldest first"
        ),
        "stale_share": st.column_config.NumberColumn(
            "Stale share",
            format="%.1f%%",
            width=85,
            help="Stale temporary flags / temporary flags, newest snapshot",
        ),
        "stale_share_change": st.column_config.NumberColumn(
            "Stale change", format="%+.1f pts", width=90, help="Against the newest snapshot before the range"
        ),
        "stale_flags": st.column_config.NumberColumn("Stale flags", width=75),
        "stale_trend": st.column_config.LineChartColumn(
            "Stale/week", width=95, help="Stale share of the last snapshot of each 7 days"
        ),
        "open": st.column_config.LinkColumn("Overview", display_text="Open overview"),
    },
)
