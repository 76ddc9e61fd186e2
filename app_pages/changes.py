"""Changes: every flag event around a moment, across every project and environment ("what changed around
14:05?"). The link holds the moment and the window (``?at=2026-11-30T14:05:00Z&window=2h``), so the incident
channel's link shows the same list tomorrow."""

from dataclasses import replace

import streamlit as st

from dashboard import loaders, startup, text, view_state
from ldclient.changes import changes_around, changes_csv, changes_table
from ldclient.clock import now_ms
from ldclient.links import format_duration, parse_moment
from ldclient.timeutil import format_ms
from ldclient.vocabulary import HOUR_MS, MINUTE_MS

WINDOWS = (30 * MINUTE_MS, HOUR_MS, 2 * HOUR_MS, 4 * HOUR_MS, 12 * HOUR_MS, 24 * HOUR_MS)

view = view_state.current_view()
source = startup.get_source()
ss = st.session_state


def set_moment(at: int | None = None, half_window: int | None = None) -> None:
    """Put the moment (and window) in the view and the link: the link is what the incident channel gets."""
    global view
    view = replace(
        view,
        at=view.at if at is None else at,
        half_window_ms=view.half_window_ms if half_window is None else half_window,
    )
    ss["at"], ss["half_window"], ss["view"] = view.at, view.half_window_ms, view
    view_state.write_link(view)


if view.at is None:  # "now", pinned to the minute so that the link keeps showing this list
    set_moment(at=now_ms() // MINUTE_MS * MINUTE_MS)
assert view.at is not None
at, half = view.at, view.half_window_ms
shown = format_ms(at, view.tz, "%Y-%m-%d %H:%M:%S")
if ss.get("_at_for") != (at, view.tz) or "w_at" not in ss:
    ss["w_at"], ss["_at_for"] = shown, (at, view.tz)
windows = sorted({*WINDOWS, half})
if ss.get("_window_for") != half or ss.get("w_window") not in windows:
    ss["w_window"], ss["_window_for"] = half, half

moment_col, window_col, now_col = st.columns([3, 2, 1], vertical_alignment="bottom")
typed = moment_col.text_input(
    f"Moment ({view.tz})",
    key="w_at",
    max_chars=40,
    help="A time such as 2026-11-30 14:05 (in the sidebar's timezone), an ISO time with an offset "
    "(2026-11-30T14:05:00Z), or now.",
)
picked = window_col.selectbox(
    "Window either side", windows, key="w_window", format_func=lambda ms: f"± {format_duration(ms)}"
)
if now_col.button("Now", icon=":material/schedule:", width="stretch"):
    set_moment(at=now_ms() // MINUTE_MS * MINUTE_MS)
    st.rerun()
if picked != half:
    set_moment(half_window=int(picked))
    st.rerun()
if typed.strip() != shown:
    try:
        wanted = (
            now_ms() // MINUTE_MS * MINUTE_MS
            if typed.strip().lower() == "now"
            else parse_moment(typed.strip().replace(" ", "T", 1), view.tz)
        )
    except ValueError as exc:
        st.warning(
            f"{text.plain(exc)}; showing the changes around {shown} {view.tz}.", icon=":material/error:"
        )
    else:
        set_moment(at=wanted)
        st.rerun()

# the projects: the link's choice (`changes_projects=a,b`), an unknown one named; none chosen is every project
known = [p.key for p in source.projects()]
unknown = [p for p in view.changes_projects if p not in known]
chosen = [p for p in view.changes_projects if p in known]
if unknown:
    st.warning(
        f"Unknown project{'s' if len(unknown) > 1 else ''} "
        + ", ".join(f"`{text.plain(p)[:60]}`" for p in unknown)
        + f" in the link; showing {'the others' if chosen else 'every project'}.",
        icon=":material/link_off:",
    )
if ss.get("_projects_for") != chosen or "w_changes_projects" not in ss:
    ss["w_changes_projects"], ss["_projects_for"] = chosen, chosen
picked_projects = st.multiselect(
    "Projects",
    known,
    key="w_changes_projects",
    placeholder="Every project",
    help="Only the changes of these projects; none chosen shows every project the token can read.",
)
if list(picked_projects) != chosen:
    view = replace(view, changes_projects=tuple(picked_projects))
    ss["view"] = view
    view_state.write_link(view)
    st.rerun()

with st.spinner("Fetching the flag events around this moment…"):
    result = changes_around(
        source,
        at,
        half,
        projects=chosen or None,
        apps=view.apps,
        tz=view.tz,
        max_staleness_ms=loaders.STALE_AFTER_MS,
    )
for warning in result.warnings:
    st.warning(text.plain(warning), icon=":material/lock:")

start_text = format_ms(result.start, view.tz, "%Y-%m-%d %H:%M")
end_text = format_ms(result.end, view.tz, "%Y-%m-%d %H:%M")
scope = (
    f"{result.keys} project environment{'s' if result.keys != 1 else ''}"
    + (f" of {', '.join(chosen)}" if chosen else "")
    + (f", the flags of {', '.join(view.apps)}" if view.apps else "")
)
if not result.rows:
    st.info(
        f"No flag event from {start_text} to {end_text} ({view.tz}) in {scope}. Try a wider window.",
        icon=":material/info:",
    )
    st.stop()

table = changes_table(result, view.tz)
st.caption(
    f"{len(table):,} change{'s' if len(table) != 1 else ''} from {start_text} to {end_text} ({view.tz}) in "
    f"{scope}: production-like environments first, then by impact, then the closest to the moment. "
    "The sidebar's project, environment and dates do not narrow this page; its applications do."
)
st.dataframe(
    table,
    hide_index=True,
    width="stretch",
    height=560,
    key="changes_table",
    # who, what and how much first, so they are on screen at 1280 px; the flag stays pinned sideways
    column_order=[
        "flag_key",
        "event_time",
        "offset",
        "impact_size",
        "member",
        "where",
        "split",
        "description",
        "critical",
        "flag_detail",
        "launchdarkly",
    ],
    column_config={
        "flag_key": st.column_config.TextColumn("Flag", pinned=True, width=230),
        "event_time": st.column_config.TextColumn("Time", width=135),
        "offset": st.column_config.TextColumn("From moment", width=95),
        "impact_size": st.column_config.TextColumn("Impact", width=70),
        "member": st.column_config.TextColumn("Member", width=240),
        "where": st.column_config.TextColumn("Project / environment", width=230),
        "critical": st.column_config.CheckboxColumn("Production-like", width=110),
        "split": st.column_config.TextColumn("Variations before → after", width=280),
        "description": st.column_config.TextColumn("Description", width="large"),
        "flag_detail": st.column_config.LinkColumn("Flag detail", display_text="Open detail"),
        "launchdarkly": st.column_config.LinkColumn("In LaunchDarkly", display_text="Open flag"),
    },
)
st.download_button(
    "Download CSV",
    changes_csv(result),
    file_name=f"flag-changes-{format_ms(at, 'UTC', '%Y%m%dT%H%MZ')}.csv",
    mime="text/csv",
    icon=":material/download:",
)
