"""Flag health: the score of every flag changed in the range or stale now, and what lowers it; flapping flags
and rollbacks."""

import pandas as pd
import streamlit as st

from dashboard import charts, loaders, view_state, widgets
from ldclient import metrics

view = view_state.current_view()
from_ms, to_ms = loaders.window(view)
table = loaders.flag_table(view)

if table.empty:
    st.info(
        "No flag changed in this view, so there is nothing to score. Try a longer range.",
        icon=":material/info:",
    )
    st.stop()

st.subheader("Flags, worst first")
st.caption(
    "The flag and its score stay in view when the table scrolls sideways; the points each component "
    "costs are further right. Select a row to open the flag's detail."
)
order = [
    "flag_key",
    "health_score",
    "events",
    "rollbacks",
    "stale",
    "flapping",
    "large_unguarded",
    "off_hours",
    "last_change",
    *metrics.SCORE_COLUMNS,
    "toggles",
    "members",
]
shown = table[order]
picked = st.dataframe(
    shown,
    hide_index=True,
    width="stretch",
    height=420,
    on_select="rerun",
    selection_mode="single-row",
    key="health_table",
    column_config={
        "flag_key": st.column_config.TextColumn("Flag", pinned=True, width=210),
        "health_score": st.column_config.ProgressColumn(
            "Health", min_value=0, max_value=100, format="%.0f", width=110
        ),
        "events": st.column_config.NumberColumn("Changes", width=80),
        "rollbacks": st.column_config.NumberColumn("Rollbacks", width=80),
        "stale": st.column_config.CheckboxColumn(
            "Stale", help="Stale in this environment now (the Cleanup list's verdict): flag debt", width=60
        ),
        "flapping": st.column_config.CheckboxColumn("Flapping", width=75),
        "large_unguarded": st.column_config.NumberColumn(
            "Large unguarded", help="Large-impact changes with no experiment running", width=120
        ),
        "off_hours": st.column_config.NumberColumn("Off-hours", width=80),
        "last_change": st.column_config.TextColumn("Last change"),
        "toggles": st.column_config.NumberColumn("Toggles"),
        "members": st.column_config.NumberColumn("Members"),
        **{
            c: st.column_config.NumberColumn(
                f"{charts.PENALTY_LABELS[c]} (pts lost)",
                format="%.1f",
                help="Points of the health score this component costs",
            )
            for c in metrics.SCORE_COLUMNS
        },
    },
)
widgets.open_selected_flag(picked, shown["flag_key"].tolist())

frame = loaders.events_frame(view)
left, right = st.columns(2)
with left:
    st.subheader("Score distribution")
    st.altair_chart(charts.histogram(table, "health_score", "Health score"), width="stretch")
    st.caption(
        "100 is a calm flag. Points are lost for churn, rollbacks, flapping, large unguarded changes and "
        f"off-hours changes, and {metrics.STALE_POINTS:.0f} for being stale (flag debt, whether or not it changed); docs/METRICS.md "
        "has the weights."
    )
with right:
    st.subheader("Flapping flags")
    flapping = metrics.flapping_flags(frame, from_ms, to_ms)
    if flapping:
        flap = pd.DataFrame({"flag": flapping})
        pick = st.dataframe(
            flap,
            hide_index=True,
            width="stretch",
            on_select="rerun",
            selection_mode="single-row",
            key="flap_table",
            column_config={"flag": st.column_config.TextColumn("Flag")},
        )
        widgets.open_selected_flag(pick, flapping)
    else:
        st.caption("No flag was toggled three times within a week in this view.")
# Rollbacks below, full width: five columns
st.subheader("Rollbacks")
pairs = metrics.rollback_pairs(frame, from_ms, to_ms)
if len(pairs):
    shown_pairs = pd.DataFrame(
        {
            "flag": pairs["flag_key"],
            "environment": pairs["environment_key"],
            "changed": [widgets.format_time(int(t), view.tz) for t in pairs["from_time"]],
            "rolled back": [widgets.format_time(int(t), view.tz) for t in pairs["to_time"]],
            "hours": ((pairs["to_time"] - pairs["from_time"]) / 3_600_000).round(1),
        }
    )
    pick = st.dataframe(
        shown_pairs,
        hide_index=True,
        width="stretch",
        on_select="rerun",
        selection_mode="single-row",
        key="rollback_table",
        column_config={
            "flag": st.column_config.TextColumn("Flag", pinned=True),
            "environment": st.column_config.TextColumn("Environment"),
            "changed": st.column_config.TextColumn("Changed"),
            "rolled back": st.column_config.TextColumn("Rolled back"),
            "hours": st.column_config.NumberColumn("Hours later", format="%.1f"),
        },
    )
    widgets.open_selected_flag(pick, shown_pairs["flag"].tolist())
else:
    st.caption("No change in this view was undone within 24 hours.")
