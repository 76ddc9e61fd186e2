"""Flag health: every changed flag's score and what lowers it; flapping flags and rollbacks."""

import pandas as pd
import streamlit as st

from ldclient import metrics
from pages import charts, common

view = common.current_view()
from_ms, to_ms = common.window(view)
table = common.flag_table(view)

if table.empty:
    st.info("No flag changed in this view, so there is nothing to score. Try a longer range.", icon=":material/info:")
    st.stop()

left, right = st.columns([2, 3])
with left:
    st.subheader("Score distribution")
    st.altair_chart(charts.histogram(table, "health_score", "Health score"), width="stretch")
    st.caption("100 is a calm flag. Points are lost for churn, rollbacks, flapping, large unguarded changes and "
               "off-hours changes; docs/METRICS.md has the weights.")
with right:
    st.subheader("Flags, worst first")
    shown = table[["flag_key", "health_score", "events", "toggles", "rollbacks", "large_unguarded", "off_hours",
                   "flapping", "members", "last_change", *metrics.PENALTY_COLUMNS]]
    picked = st.dataframe(shown, hide_index=True, width="stretch", height=420, on_select="rerun",
                          selection_mode="single-row", key="health_table", column_config={
                              "flag_key": st.column_config.TextColumn("Flag"),
                              "health_score": st.column_config.ProgressColumn("Health", min_value=0, max_value=100,
                                                                              format="%.0f"),
                              "events": st.column_config.NumberColumn("Changes"),
                              "toggles": st.column_config.NumberColumn("Toggles"),
                              "rollbacks": st.column_config.NumberColumn("Rollbacks"),
                              "large_unguarded": st.column_config.NumberColumn(
                                  "Large unguarded", help="Large-impact changes with no experiment running"),
                              "off_hours": st.column_config.NumberColumn("Off-hours"),
                              "flapping": st.column_config.CheckboxColumn("Flapping"),
                              "members": st.column_config.NumberColumn("Members"),
                              "last_change": st.column_config.TextColumn("Last change"),
                              **{c: st.column_config.NumberColumn(c.replace("_penalty", " (pts lost)").capitalize(),
                                                                  format="%.1f") for c in metrics.PENALTY_COLUMNS},
                          })
    if picked and picked.selection.rows:
        common.select_flag(str(shown.iloc[picked.selection.rows[0]]["flag_key"]))

frame = common.events_frame(view)
left, right = st.columns(2)
with left:
    st.subheader("Flapping flags")
    flapping = metrics.flapping_flags(frame, from_ms, to_ms)
    if flapping:
        flap = pd.DataFrame({"flag": flapping})
        pick = st.dataframe(flap, hide_index=True, width="stretch", on_select="rerun",
                            selection_mode="single-row", key="flap_table")
        if pick and pick.selection.rows:
            common.select_flag(flapping[pick.selection.rows[0]])
    else:
        st.caption("No flag was toggled three times within a week in this view.")
with right:
    st.subheader("Rollbacks")
    pairs = metrics.rollback_pairs(frame, from_ms, to_ms)
    if len(pairs):
        shown_pairs = pd.DataFrame({
            "flag": pairs["flag_key"], "environment": pairs["environment_key"],
            "changed": [common.format_time(int(t), view.tz) for t in pairs["from_time"]],
            "rolled back": [common.format_time(int(t), view.tz) for t in pairs["to_time"]],
            "hours": ((pairs["to_time"] - pairs["from_time"]) / 3_600_000).round(1),
        })
        pick = st.dataframe(shown_pairs, hide_index=True, width="stretch", on_select="rerun",
                            selection_mode="single-row", key="rollback_table")
        if pick and pick.selection.rows:
            common.select_flag(str(shown_pairs.iloc[pick.selection.rows[0]]["flag"]))
    else:
        st.caption("No change in this view was undone within 24 hours.")
