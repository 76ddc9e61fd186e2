"""Cleanup: which flags are debt, who removes them, from which repositories, keeping which value.

LaunchDarkly's lifecycle stages (judged on critical environments, with code references and prerequisites),
the stale verdict in the selected environment, the value to keep and the owner, one row per flag; filters
by maintainer, team, tag, lifecycle stage and owner status live in the link like every other filter.
"""

import json

import pandas as pd
import streamlit as st

from dashboard import loaders, startup, view_state, widgets
from dashboard.text import plain
from ldclient.export import stale_flags_csv
from ldclient.lifecycle import LD_STAGE_LABELS, LD_STAGES, OWNER_STATUSES, stale_rollup

OWNER_LABELS = {"ok": "ok", "none": "no maintainer", "not_a_member": "not a member (left)"}
CLEANUP_STAGES = ("ready_for_code_removal", "ready_to_archive")

view = view_state.current_view()
source = startup.get_source()
table = loaders.cleanup_table(view)
keys = loaders.app_keys(view.project, view.apps)
if keys is not None:
    table = table[table["flag_key"].isin(keys)]
table = table[table["lifecycle_stage"] != "archived"]
critical = sorted(loaders.critical_envs(view.project))

# --- filters (in the link: maintainer, team, tag, stage, owner) ---------------------------------------------


def _options(column: str, split: bool = False) -> list[str]:
    values = table[column].dropna().astype(str)
    if split:
        values = pd.Series([t for v in values for t in v.split(",") if t])
    return sorted(set(values))


ss = st.session_state
choices = {
    "maintainers": _options("maintainer"),
    "teams": _options("maintainer_team"),
    "tags": _options("tags", split=True),
    "stages": list(LD_STAGES[:-1]),
    "owner_statuses": list(OWNER_STATUSES),
}
for name, options in choices.items():  # a link's values the data lacks stay selectable (and visible)
    current = list(ss.get(f"f_{name}", ()))
    choices[name] = options + [v for v in current if v not in options]
    if f"w_{name}" not in ss:
        ss[f"w_{name}"] = current
# two rows, so a chosen value (a team key, an email) is readable at 1280 px
who, team, tag = st.columns([2, 1, 1])
stage, owner_status = st.columns(2)
picked = {
    "maintainers": who.multiselect("Maintainer", choices["maintainers"], key="w_maintainers"),
    "teams": team.multiselect("Team", choices["teams"], key="w_teams"),
    "tags": tag.multiselect("Tag", choices["tags"], key="w_tags"),
    "stages": stage.multiselect(
        "Lifecycle stage", choices["stages"], key="w_stages", format_func=lambda s: LD_STAGE_LABELS[s]
    ),
    "owner_statuses": owner_status.multiselect(
        "Owner status",
        choices["owner_statuses"],
        key="w_owner_statuses",
        format_func=lambda s: OWNER_LABELS.get(s, s),
    ),
}
changed = False
for name, values in picked.items():
    if tuple(values) != tuple(ss.get(f"f_{name}", ())):
        ss[f"f_{name}"] = tuple(values)
        changed = True
if changed:
    st.rerun()  # the sidebar builds the view (and the link) from these

shown = table
if view.maintainers:
    shown = shown[shown["maintainer"].isin(view.maintainers)]
if view.teams:
    shown = shown[shown["maintainer_team"].isin(view.teams)]
if view.tags:
    wanted = set(view.tags)
    shown = shown[[bool(wanted & set(str(t).split(","))) for t in shown["tags"]]]
if view.owner_statuses:
    shown = shown[shown["owner_status"].isin(view.owner_statuses)]
scope = shown  # the headline counts what the owner and tag filters keep
if view.stages:
    shown = shown[shown["lifecycle_stage"].isin(view.stages)]
else:  # the debt: stale here, or in one of LaunchDarkly's cleanup stages
    shown = shown[shown["stale"] | shown["lifecycle_stage"].isin(CLEANUP_STAGES)]

# --- headline --------------------------------------------------------------------------------------------

a, b, c, d = st.columns(4)
a.metric(f"Stale in {view.env}", f"{int(scope['stale'].sum()):,}", border=True)
b.metric(
    "Ready for code removal",
    f"{int((scope['lifecycle_stage'] == 'ready_for_code_removal').sum()):,}",
    border=True,
)
c.metric("Ready to archive", f"{int((scope['lifecycle_stage'] == 'ready_to_archive').sum()):,}", border=True)
d.metric("Maintainer left", f"{int((scope['owner_status'] == 'not_a_member').sum()):,}", border=True)
st.caption(
    f"LaunchDarkly's lifecycle stages, judged on the critical environments ({', '.join(critical) or 'none'}): "
    "Ready for code removal = temporary, 30+ days old, launched everywhere critical, still in code, not a "
    "prerequisite; Ready to archive = the same but inactive and in no code. Stale = temporary, 30+ days old, "
    f"inactive or launched in {view.env} and unchanged there for 7 days. Remove from code first, then archive. "
    "docs/LIFECYCLE.md has the exact rules."
)
for name, message in ss.get("cleanup_unreadable", {}).items():
    st.warning(f"Could not read the {name}: {plain(message)}", icon=":material/visibility_off:")

if shown.empty:
    st.success("No flag matches: nothing to clean up here.", icon=":material/check_circle:")
    st.stop()


def _next_step(row: pd.Series) -> str:
    repos = len(row["code_reference_repositories"])
    where = f"{repos} repositor{'y' if repos == 1 else 'ies'}"
    if row["lifecycle_stage"] == "ready_for_code_removal":
        return f"1. Remove from code ({where}) · 2. Archive"
    if row["lifecycle_stage"] == "ready_to_archive":
        return "Archive (no code references)"
    if repos:
        return f"Remove from code first ({where}), then archive — {row['stage_reason']}"
    return str(row["stage_reason"])


def _value(row: pd.Series) -> str:
    if pd.notna(row["value_to_keep_variation"]):
        text = json.dumps(row["value_to_keep"], ensure_ascii=False)
        name = row["value_to_keep_name"]
        return f"{text} ({name})" if pd.notna(name) and name != text.strip('"') else text
    return f"none: {row['value_to_keep_reason']}"


def _last_change(row: pd.Series, history_start: str) -> str:
    if pd.notna(row["last_change"]):
        return widgets.format_time(int(row["last_change"]), view.tz)
    return f"before {history_start}" if not row["history_covers_life"] else "none stored"


history_start = (pd.Timestamp.now(tz="UTC") - pd.Timedelta(days=loaders.history_days())).strftime("%Y-%m-%d")
rows = shown.assign(
    stage=[LD_STAGE_LABELS[s] for s in shown["lifecycle_stage"]],
    next_step=[_next_step(r) for _, r in shown.iterrows()],
    keep=[_value(r) for _, r in shown.iterrows()],
    owner=[
        m if pd.notna(m) else (f"team {t}" if pd.notna(t) else "—")
        for m, t in zip(shown["maintainer"], shown["maintainer_team"], strict=True)
    ],
    owner_state=[OWNER_LABELS.get(s, "—") if pd.notna(s) else "unknown" for s in shown["owner_status"]],
    repositories=shown["code_reference_repositories"],
    code=[links[0] if links else None for links in shown["code_reference_links"]],
    last_change=[_last_change(r, history_start) for _, r in shown.iterrows()],
    launchdarkly=[source.flag_url(view.project, view.env, k) for k in shown["flag_key"].astype(str)],
).sort_values(["stale", "age_days", "flag_key"], ascending=[False, False, True])
rows = rows.drop(columns=["value_to_keep"])  # JSON values of any type: shown as text in `keep`

picked_row = st.dataframe(
    rows,
    hide_index=True,
    width="stretch",
    height=460,
    on_select="rerun",
    selection_mode="single-row",
    key="cleanup_table",
    column_order=[
        "flag_key",
        "stage",
        "keep",
        "repositories",
        "next_step",
        "owner",
        "owner_state",
        "age_days",
        "last_change",
        "days_since_change",
        "stale",
        "code",
        "launchdarkly",
        "maintainer_team",
        "tags",
        "name",
    ],
    column_config={
        "flag_key": st.column_config.TextColumn("Flag", pinned=True, width=175),
        "stage": st.column_config.TextColumn("Lifecycle stage", width=140),
        "next_step": st.column_config.TextColumn("Next step", width=230),
        "repositories": st.column_config.ListColumn("Code references", width=125),
        "keep": st.column_config.TextColumn("Value to keep", width=115),
        "owner": st.column_config.TextColumn("Owner", width=190),
        "owner_state": st.column_config.TextColumn("Owner status", width=110),
        "age_days": st.column_config.NumberColumn("Age (days)", format="%.0f", width=80),
        "last_change": st.column_config.TextColumn("Last change"),
        "days_since_change": st.column_config.NumberColumn("Days since change", format="%.0f"),
        "stale": st.column_config.CheckboxColumn(f"Stale in {view.env}"),
        "code": st.column_config.LinkColumn("Repository", display_text="Open repository"),
        "launchdarkly": st.column_config.LinkColumn("In LaunchDarkly", display_text="Open flag", width=110),
        "maintainer_team": st.column_config.TextColumn("Team"),
        "tags": st.column_config.TextColumn("Tags"),
        "name": st.column_config.TextColumn("Name"),
    },
)
opened = st.selectbox(
    "Open a flag's detail",
    rows["flag_key"].astype(str).tolist(),
    index=None,
    placeholder="Choose a flag of this list (or select its row)…",
    key="cleanup_open",
)
if opened:
    view_state.select_flag(opened)
if (~shown["history_covers_life"] & shown["last_change"].isna()).any():
    st.caption(
        f"The store holds the last {loaders.history_days()} days of events (LD_HISTORY_DAYS): "
        f'"before {history_start}" means no change since then, and the flag is older.'
    )
export = rows[
    [
        "flag_key",
        "stage",
        "next_step",
        "keep",
        "owner",
        "owner_state",
        "age_days",
        "last_change",
        "days_since_change",
        "stale",
        "maintainer_team",
        "tags",
    ]
].assign(repositories=[", ".join(r) for r in rows["repositories"]])
st.download_button(
    "Download CSV",
    stale_flags_csv(
        export.assign(last_change=export["last_change"].where(export["last_change"] != "none stored", "—"))
    ),
    file_name=f"cleanup-{view.project}-{view.env}.csv",
    mime="text/csv",
    icon=":material/download:",
)

# --- who owns the stale flags ------------------------------------------------------------------------------

st.subheader(f"Stale flags in {view.env} by owner")
left, right = st.columns(2)
for column, by, title in ((left, "maintainer", "Maintainer"), (right, "maintainer_team", "Team")):
    roll = stale_rollup(shown, by)
    with column:
        if roll.empty:
            st.caption(f"No stale flag in this list has a {title.lower()}.")
            continue
        st.dataframe(
            roll.assign(owner=roll["owner"].fillna(f"(no {title.lower()})")),
            hide_index=True,
            width="stretch",
            column_config={
                "owner": st.column_config.TextColumn(title, width=200),
                "stale_flags": st.column_config.NumberColumn("Stale flags", width=90),
                "oldest_days": st.column_config.NumberColumn("Oldest (days)", format="%.0f", width=100),
                "flag_keys": st.column_config.ListColumn("Flags"),
            },
        )

if picked_row and picked_row.selection.rows:
    view_state.select_flag(str(rows.iloc[picked_row.selection.rows[0]]["flag_key"]))
