"""Environments: each flag's status and last change per environment, and whether production changes
were rehearsed in a non-production environment first."""

import pandas as pd
import streamlit as st

from dashboard import charts, loaders, view_state, widgets

view = view_state.current_view()
from_ms, to_ms = loaders.window(view)
matrix = loaders.status_matrix(view)

st.subheader("Status by environment")
if matrix.empty:
    st.info("No flag statuses to show for this project.", icon=":material/info:")
else:
    status = matrix.pivot_table(
        index="flag_key", columns="environment_key", values="status", aggfunc="first", observed=True
    )
    last = matrix.assign(last=widgets.format_times(matrix["last_change"], view.tz))
    last = last.pivot_table(
        index="flag_key", columns="environment_key", values="last", aggfunc="first", observed=True
    )
    combined = status.astype("string").fillna("—") + "  ·  " + last.astype("string").fillna("—")
    st.caption("Each cell: status · last change in that environment.")
    st.dataframe(
        combined.reset_index().rename(columns={"flag_key": "Flag"}),
        hide_index=True,
        width="stretch",
        height=360,
    )

st.subheader("Promotion hygiene")
life = loaders.lifecycle_summary(view)
if life["unrehearsed_changes"] is None:
    st.info(
        f"`{view.env}` is not production-like (not marked critical), so promotion hygiene does not apply. "
        "Pick a production environment.",
        icon=":material/info:",
    )
    st.stop()
changes = loaders.production_changes(view, from_ms, to_ms)
a, b, c = st.columns(3)
a.metric("Serving changes in production", f"{len(changes):,}", border=True)
b.metric(
    "Unrehearsed",
    f"{int((~changes['rehearsed']).sum()) if len(changes) else 0:,}",
    border=True,
    help="No serving change of the same flag in a non-production environment in the 14 days before.",
)
lag = changes.loc[changes["rehearsed"], "lag_hours"].median() if len(changes) else None
c.metric("Median promotion lag", "—" if lag is None or pd.isna(lag) else f"{lag:.1f} h", border=True)
if len(changes):
    today = loaders.today(view.tz)
    first, last = view.dates(today)
    day = (
        pd.to_datetime(changes["event_time"], unit="ms", utc=True)
        .dt.tz_convert(view.tz)
        .dt.strftime("%Y-%m-%d")
    )
    per_day = (
        changes.assign(day=day, kind=changes["rehearsed"].map({True: "rehearsed", False: "unrehearsed"}))
        .groupby(["day", "kind"])
        .size()
        .rename("changes")
        .reset_index()
    )
    st.altair_chart(
        charts.counts_over_time(
            per_day,
            "day",
            "changes",
            "kind",
            "Production serving changes",
            first,
            last,
            today,
            color_scale=charts.REHEARSAL_SCALE,
        ),
        width="stretch",
    )
    if last >= today or charts.bucket_for(first, last) == "week":
        st.caption(
            "Lighter bars: periods cut short (today so far, or a week the range or today cuts); the tooltip "
            "says what each covers."
        )
    unrehearsed = changes[~changes["rehearsed"]].sort_values(["event_time", "id"], ascending=False)
    st.subheader(f"Unrehearsed production changes ({len(unrehearsed):,})")
    if unrehearsed.empty:
        st.caption("Every serving change in production was rehearsed in a non-production environment first.")
    else:
        events = loaders.project_events(view, from_ms, to_ms)
        detail = events[["id", "member_email", "description"]].astype({"id": "string"}).drop_duplicates("id")
        listed = unrehearsed.merge(detail, on="id", how="left")
        st.caption(
            "No serving change of the same flag in a non-production environment in the 14 days before. "
            f"Times in {view.tz}, newest first. Select a row to open the flag's detail."
        )
        shown = pd.DataFrame(
            {
                "flag": listed["flag_key"].astype("string"),
                "when": widgets.format_times(listed["event_time"], view.tz),
                "who": listed["member_email"].astype("string").fillna("—"),
                "what": listed["description"].astype("string").fillna(""),
            }
        )
        pick = st.dataframe(
            shown,
            hide_index=True,
            width="stretch",
            on_select="rerun",
            selection_mode="single-row",
            key="unrehearsed_table",
            height=min(36 * (len(shown) + 1) + 2, 430),
            column_config={
                "flag": st.column_config.TextColumn("Flag", pinned=True),
                "when": st.column_config.TextColumn("When", width=130),
                "who": st.column_config.TextColumn("Who"),
                "what": st.column_config.TextColumn("What", width="large"),
            },
        )
        widgets.open_selected_flag(pick, shown["flag"].tolist())
