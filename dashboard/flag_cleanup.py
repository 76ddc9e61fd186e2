"""Flag detail's lifecycle section: what the flag is, who owns it, LaunchDarkly's lifecycle stage, the stale
verdict, code references with their repositories, the value to keep and prerequisites, for any flag (not only
flags that changed in the range)."""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
import streamlit as st

from ldclient.lifecycle import LD_STAGE_LABELS, STAGE_LABELS, prerequisites_to_frame
from ldclient.links import View
from ldclient.sync import now_ms
from ldclient.vocabulary import DAY_MS

from . import loaders
from .text import plain, safe_code

OWNER_TEXT = {
    "ok": "still in the account",
    "none": "no maintainer",
    "not_a_member": "not a member of the account any more (left): find a new owner",
}


def _value_text(row: pd.Series) -> str:
    if pd.notna(row["value_to_keep_variation"]):
        value = json.dumps(row["value_to_keep"], ensure_ascii=False)
        name = row["value_to_keep_name"]
        label = f" ({plain(str(name))})" if pd.notna(name) and str(name) != value.strip('"') else ""
        return f"`{safe_code(value)}`{label}: keep the code path for this value, remove the others"
    return f"none can be named: {plain(str(row['value_to_keep_reason']))}"


def _timeline_text(view: View, flag: str) -> str:
    """Our timeline stage beside LaunchDarkly's (docs/LIFECYCLE.md): which one, and for how long."""
    timeline = loaders.timeline_table(view)
    mine = timeline[timeline["flag_key"].astype(str) == flag]
    if mine.empty:
        return ""
    r = mine.iloc[0]
    days = r["days_in_stage"]
    held = f", {float(days):.0f} days in stage" if pd.notna(days) else ""
    return f" · **Timeline stage:** :gray-badge[{STAGE_LABELS[str(r['stage'])]}]{held}"


def flag_lifecycle(view: View, flag: str, item: dict[str, Any] | None) -> pd.Series | None:
    """Render the section; the flag's row of ``loaders.cleanup_table`` (None when the flag is not listed)."""
    table = loaders.cleanup_table(view)
    found = table[table["flag_key"].astype(str) == flag]
    if found.empty:
        st.info("LaunchDarkly lists no such live flag now (archived, or deleted).", icon=":material/info:")
        return None
    row = found.iloc[0]
    st.subheader("Lifecycle and cleanup")
    if item and item.get("description"):
        st.caption(plain(str(item["description"])))
    stage = LD_STAGE_LABELS[str(row["lifecycle_stage"])]
    st.markdown(f"**LaunchDarkly lifecycle stage:** :blue-badge[{stage}]" + _timeline_text(view, flag))
    repos_n = len(row["code_reference_repositories"])
    b, c, d = st.columns(3)
    b.metric(f"Stale in {view.env}", "yes" if row["stale"] else "no", border=True)
    c.metric("Age", f"{row['age_days']:.0f} days" if pd.notna(row["age_days"]) else "—", border=True)
    d.metric(
        "Code references",
        f"{repos_n} repositor{'y' if repos_n == 1 else 'ies'}",
        help=f"{int(row['code_reference_hunks'])} hunks in {int(row['code_reference_files'])} files",
        border=True,
    )
    kind = item.get("kind") if item else None
    lines = [
        f"**Stage:** {stage} — {plain(str(row['stage_reason']))}. Critical environments: "
        f"{plain(str(row['critical_statuses'])) or 'none'}.",
        f"**Flag:** {'temporary' if row['temporary'] else 'permanent'}"
        + (f", {plain(str(kind))}" if kind else "")
        + (f", tags {plain(str(row['tags']))}" if row["tags"] else ", no tags")
        + (
            f", created {pd.Timestamp(int(row['created']), unit='ms', tz='UTC').tz_convert(view.tz):%Y-%m-%d}"
            if pd.notna(row["created"])
            else ""
        )
        + ".",
        "**Owner:** "
        + ", ".join(
            [plain(str(row["maintainer"]))] * pd.notna(row["maintainer"])
            + [f"team {plain(str(row['maintainer_team']))}"] * pd.notna(row["maintainer_team"])
            or ["no maintainer"]
        )
        + (f" — {OWNER_TEXT.get(str(row['owner_status']), '')}" if pd.notna(row["owner_status"]) else "")
        + ".",
        f"**Value to keep:** {_value_text(row)}.",
    ]
    if pd.notna(row["last_change"]):
        days = (now_ms() - int(row["last_change"])) / DAY_MS
        lines.append(f"**Last change:** {days:.0f} days ago (any environment).")
    elif not row["history_covers_life"]:
        lines.append(
            f"**Last change:** none in the {loaders.history_days()} days of history the store holds; "
            "the flag is older than that."
        )
    else:
        lines.append("**Last change:** never changed since it was created.")
    st.markdown("\n\n".join(lines))
    repos = row["code_reference_repositories"]
    if repos:
        step = "Remove it from code first, then archive it." if stage != "Archived" else ""
        st.markdown(
            "**Code references** (default branches) — "
            + step
            + "\n"
            + "\n".join(
                f"- [{plain(name)}]({link})" if link else f"- {plain(name)}"
                for name, link in zip(repos, row["code_reference_links"], strict=True)
            )
        )
    elif loaders.code_references_known(view.project):
        st.markdown("**Code references:** none on any repository's default branch.")
    else:
        st.markdown("**Code references:** unknown (the code-references statistics could not be read).")
    prereqs = prerequisites_to_frame([item] if item else [], sorted(loaders.critical_envs(view.project)))
    needs = sorted(set(prereqs["prerequisite_key"].astype(str)))
    if needs or row["prerequisite_of"]:
        st.markdown(
            "**Prerequisites:** "
            + (f"depends on {', '.join(f'`{safe_code(k)}`' for k in needs)}" if needs else "depends on none")
            + "; "
            + (
                f"a prerequisite of {', '.join(f'`{safe_code(k)}`' for k in row['prerequisite_of'])} "
                "(LaunchDarkly will not archive it while they depend on it)"
                if row["prerequisite_of"]
                else "no flag depends on it"
            )
            + "."
        )
    return row
