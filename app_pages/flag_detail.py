"""Flag detail: one flag's changes across environments, its variation splits and its health score."""

import pandas as pd
import streamlit as st

from dashboard import charts, flag_cleanup, loaders, startup, text, view_state
from dashboard.text import plain
from ldclient import metrics
from ldclient.report import timeline_rows, variation_rows

view = view_state.current_view()
source = startup.get_source()
from_ms, to_ms = loaders.window(view)
table = loaders.flag_table(view)
known = loaders.flag_keys(view.project) | set(table["flag_key"].astype(str))

flag = view.flag
if flag and flag not in known:
    st.warning(
        f"Unknown flag `{text.safe_code(flag)}` in project `{view.project}`; pick one below.",
        icon=":material/flag:",
    )
    flag = None
options = sorted(known)
choice = st.selectbox(
    "Flag",
    options,
    index=options.index(flag) if flag in options else None,
    placeholder="Choose a flag…",
    key=f"flag_pick_{flag}",
)
if choice != flag:
    view_state.select_flag(choice, page=None)
    st.rerun()
if not flag:
    st.info("Choose a flag, or select one in any table of the dashboard.", icon=":material/info:")
    st.stop()

st.link_button(
    "Open in LaunchDarkly", source.flag_url(view.project, view.env, flag), icon=":material/open_in_new:"
)
life = flag_cleanup.flag_lifecycle(view, flag, loaders.flag_item(view.project, flag))

everywhere = loaders.project_events(view, from_ms, to_ms)
mine = everywhere[everywhere["flag_key"].astype("string") == flag]
if not mine.empty:
    st.subheader("Timeline across environments")
    st.altair_chart(charts.timeline(timeline_rows(mine, view.tz)), width="stretch")
else:
    st.info("This flag has no events in the selected range in any environment.", icon=":material/info:")

here = mine[mine["environment_key"].astype("string") == view.env]
row = table[table["flag_key"].astype(str) == flag]
st.subheader("Health score")
if row.empty and life is not None and life["lifecycle_stage"] != "live":
    st.warning(
        "The flag did not change in this environment in the selected range, so no change lowers its score; "
        f"it is not healthy for that: it is not live ({plain(str(life['stage_reason']))}) and is debt until "
        "it is removed from code and archived.",
        icon=":material/cleaning_services:",
    )
elif row.empty:
    st.caption("The flag did not change in this environment in the selected range: nothing lowers its score.")
else:
    r = row.iloc[0]
    score, breakdown = st.columns([1, 2])
    with score:
        st.metric("Health score", f"{r['health_score']:.0f} / 100", border=True)
        flapping = flag in metrics.flapping_flags(here)
        rollbacks = int(r["rollbacks"])
        if int(r["events"]) == 0:
            st.caption(
                f"No change in {plain(view.env)} in the selected range; it is stale, so it loses "
                f"{r['stale_penalty']:.0f} points as flag debt until it is removed from code and archived."
            )
        else:
            st.caption(
                f"{int(r['events'])} changes, {rollbacks} rollback{'s' * (rollbacks != 1)}"
                f"{', flapping' if flapping else ''}{', stale' if r['stale'] else ''}; last change {r['last_change']}."
            )
    with breakdown:
        parts = pd.DataFrame(
            {
                "component": [charts.PENALTY_LABELS[c] for c in metrics.SCORE_COLUMNS],
                "points_lost": [float(r[c]) for c in metrics.SCORE_COLUMNS],
            }
        )
        st.altair_chart(
            charts.bar_ranking(
                parts, "component", "points_lost", "Points lost", "Component", value_format=".1f"
            ),
            width="stretch",
        )

st.subheader(f"Variation split before and after each change ({view.env})")
splits = variation_rows(here, view.tz)
if splits.empty:
    st.caption("No change in this environment reported evaluation counts.")
else:
    st.altair_chart(charts.variation_split(splits), width="content")
