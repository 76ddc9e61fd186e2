"""Flag Health: a dashboard of how healthy a LaunchDarkly account's feature flags are.

Run with ``make run`` (or ``streamlit run app.py``). With no ``LD_API_TOKEN`` it shows the
embedded demo account. Every filter lives in the link, so a view can be shared as a URL.
"""

import streamlit as st

from ldclient.access import access_decision
from ldclient.errors import LDError

st.set_page_config(page_title="Flag Health", page_icon=":material/flag:", layout="wide")

from dashboard import server_sockets, startup, text, view_state, widgets  # noqa: E402  (set_page_config first)

server_sockets.mend_server_once()  # responses without Nagle's 40 ms wait (dashboard/server_sockets.py)

decision = access_decision(startup.auth_config(), getattr(st, "user", None))
if decision.require_login:
    st.title("Flag Health")
    st.info(decision.message, icon=":material/lock:")
    st.button("Log in", on_click=st.login, type="primary")
    st.stop()
if not decision.allowed:
    st.title("Flag Health")
    st.error(decision.message, icon=":material/block:")
    st.button("Log out", on_click=st.logout)
    st.stop()

source = startup.source_or_stop()

pages = {
    "Flag health": [
        st.Page("app_pages/overview.py", title="Overview", icon=":material/monitoring:", default=True),
        st.Page("app_pages/flag_events.py", title="Flag events", icon=":material/list_alt:"),
        st.Page("app_pages/flag_health.py", title="Flag health", icon=":material/health_and_safety:"),
        st.Page("app_pages/flag_detail.py", title="Flag detail", icon=":material/flag:"),
        st.Page("app_pages/changes.py", title="Changes", icon=":material/history:"),
    ],
    "Lifecycle": [
        st.Page("app_pages/lifecycle.py", title="Lifecycle", icon=":material/timeline:"),
        st.Page("app_pages/history.py", title="History", icon=":material/trending_down:"),
        st.Page("app_pages/cleanup.py", title="Cleanup", icon=":material/cleaning_services:"),
        st.Page("app_pages/environments.py", title="Environments", icon=":material/layers:"),
    ],
    "Account": [
        st.Page("app_pages/all_projects.py", title="All projects", icon=":material/dashboard:"),
        st.Page("app_pages/digests.py", title="Digests", icon=":material/outgoing_mail:"),
        st.Page("app_pages/data.py", title="Data", icon=":material/database:"),
    ],
}
page = st.navigation(pages)

with st.sidebar:
    if source.demo:
        st.badge("Demo data", icon=":material/science:", color="orange")
        st.caption(
            "No LD_API_TOKEN is set, so this is the embedded demo account. "
            "Set LD_API_TOKEN to see your own flags."
        )
try:
    view = view_state.sidebar_view()
except LDError as exc:
    st.error(
        f"Could not read the account's projects from LaunchDarkly: {text.plain(exc)}",
        icon=":material/cloud_off:",
    )
    st.stop()

with st.sidebar:
    widgets.refresh_control(view)
    with st.popover("Share this view", icon=":material/link:", width="stretch"):
        fixed, rolling = view_state.share_links(view)
        st.caption("With absolute dates, so what was discussed stays reproducible:")
        st.code(fixed, language=None, wrap_lines=True)
        st.caption("With a relative range, a bookmark that stays current:")
        st.code(rolling, language=None, wrap_lines=True)

st.title(page.title)
view_state.show_link_warnings()
status = st.container()  # under the title, filled once the page has fetched: it says what is shown now
st.session_state["_in_app"] = True  # pages check it: see view_state.current_view
try:
    page.run()
except LDError as exc:
    st.error(f"LaunchDarkly data could not be loaded: {text.plain(exc)}", icon=":material/cloud_off:")
finally:
    st.session_state["_in_app"] = False
    with status:
        widgets.data_status(view, across_projects=page.url_path == "changes")
