"""Lifecycle: the project's flags by LaunchDarkly's lifecycle stage and by our own timeline stage, how long
flags take to reach production and how long they sit in clean-up, and the flags of a chosen stage.

LaunchDarkly's stages (Live, Ready for code removal, Ready to archive, Deprecated, Archived) are judged on the
critical environments; our timeline (develop → production → cleanup → archived) on the production-like ones,
from the stored events. The chosen stages live in the link (``stage``, shared with Cleanup).
"""

import pandas as pd
import streamlit as st

from dashboard import charts, loaders, view_state, widgets
from ldclient.lifecycle import LD_STAGE_LABELS, LD_STAGES, STAGE_LABELS, STAGES, timeline_summary

TIMELINE_LABELS = STAGE_LABELS
PICKER = "w_lifecycle_stages"

view = view_state.current_view()
stages = loaders.cleanup_table(view)
timeline = loaders.timeline_table(view)
keys = loaders.app_keys(view.project, view.apps)
if keys is not None:
    stages = stages[stages["flag_key"].isin(keys)]
    timeline = timeline[timeline["flag_key"].isin(keys)]
critical = sorted(loaders.critical_envs(view.project))
production = sorted(loaders.production_envs(view.project))
summary = timeline_summary(timeline)
counts = {s: int((stages["lifecycle_stage"] == s).sum()) for s in LD_STAGES}


def _days(value: float | None) -> str:
    return "—" if value is None else f"{value:,.1f} days"


# --- LaunchDarkly's stages -----------------------------------------------------------------------------------

st.subheader("LaunchDarkly's lifecycle stages")
# widths by label length, so "Ready for code removal" is readable at 1280 px
for column, stage in zip(st.columns([1, 1.7, 1.4, 1.1, 1]), LD_STAGES, strict=True):
    column.metric(LD_STAGE_LABELS[stage], f"{counts[stage]:,}", border=True)
chart, notes = st.columns([3, 2])
chart.altair_chart(charts.stage_bars(counts, LD_STAGE_LABELS), width="stretch")
notes.caption(
    f"Judged on the critical environments ({', '.join(critical) or 'none'}), as LaunchDarkly does: Ready for "
    "code removal = temporary, 30+ days old, launched in every critical environment, still referenced in "
    "code, not a prerequisite; Ready to archive = the same but inactive and in no code. Archived flags are "
    "read with the flags list's filter=state:archived. docs/LIFECYCLE.md has the exact rules."
)

# --- our timeline --------------------------------------------------------------------------------------------

st.subheader("Our timeline stages")
for column, stage in zip(st.columns(len(STAGES)), STAGES, strict=True):
    column.metric(TIMELINE_LABELS[stage], f"{summary['stages'][stage]:,}", border=True)
to_production, in_cleanup, explained = st.columns([1, 1, 1.2])
to_production.metric(
    "Median time to production",
    _days(summary["median_days_to_production"]),
    border=True,
    help="Median over flags with a production change of (first production change − creation) in days.",
)
in_cleanup.metric(
    "Median time in cleanup",
    _days(summary["median_days_in_cleanup"]),
    border=True,
    help="Median days in stage of the flags now in our cleanup stage (since max(last change, created + 30 days)).",
)
explained.caption(
    f"develop → production (first change in a production-like environment: {', '.join(production)}) → "
    "cleanup (stale in every production-like environment with statuses) → archived, from the last "
    f"{loaders.history_days()} days of stored events."
)

# --- the flags of a stage (in the link: `stage`) -------------------------------------------------------------

st.subheader("Flags by stage")
ss = st.session_state


def _picked() -> None:
    ss["f_stages"] = tuple(s for s in LD_STAGES if s in (ss.get(PICKER) or ()))


ss[PICKER] = list(view.stages)  # the link's stages; a click updates f_stages (the view) before the next run
st.pills(
    "LaunchDarkly stage (none chosen: every flag)",
    LD_STAGES,
    selection_mode="multi",
    key=PICKER,
    format_func=lambda s: f"{LD_STAGE_LABELS[s]} ({counts[s]})",
    on_change=_picked,
)
shown = stages[stages["lifecycle_stage"].isin(view.stages)] if view.stages else stages
rows = shown.merge(timeline[["flag_key", "stage", "days_in_stage"]], on="flag_key", how="left")
rows = rows.assign(
    ld_stage=[LD_STAGE_LABELS.get(str(s), str(s)) for s in rows["lifecycle_stage"]],
    timeline_stage=[TIMELINE_LABELS.get(str(s), "—") if pd.notna(s) else "—" for s in rows["stage"]],
    owner=[
        m if pd.notna(m) else (f"team {t}" if pd.notna(t) else "—")
        for m, t in zip(rows["maintainer"], rows["maintainer_team"], strict=True)
    ],
).sort_values(["days_in_stage", "flag_key"], ascending=[False, True], na_position="last")
rows = rows.reset_index(drop=True)[
    ["flag_key", "ld_stage", "timeline_stage", "days_in_stage", "owner", "stage_reason", "name"]
]

if rows.empty:
    st.info("No flag is in the chosen stage.", icon=":material/info:")
    st.stop()
picked_row = st.dataframe(
    rows,
    hide_index=True,
    width="stretch",
    height=min(460, 38 + 35 * len(rows)),
    on_select="rerun",
    selection_mode="single-row",
    key="lifecycle_table",
    column_config={
        "flag_key": st.column_config.TextColumn("Flag", pinned=True, width=190),
        "ld_stage": st.column_config.TextColumn("Stage", width=155),
        "timeline_stage": st.column_config.TextColumn("Timeline stage", width=110),
        "days_in_stage": st.column_config.NumberColumn("Days in stage", format="%.0f", width=100),
        "owner": st.column_config.TextColumn("Owner", width=235),
        "stage_reason": st.column_config.TextColumn("Why this stage", width=300),
        "name": st.column_config.TextColumn("Name"),
    },
)
st.caption(
    "Stage is LaunchDarkly's; days in stage count the flag's time in our timeline stage (LaunchDarkly does not "
    "date its stage changes). Select a row to open the flag's detail."
)
widgets.open_selected_flag(picked_row, rows["flag_key"].tolist())
