"""Small pieces every page shows: escaped text, the data-status line, the refresh button, time columns."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd
import streamlit as st

from ldclient.links import (
    View,
)
from ldclient.timeutil import format_ms

from .loaders import _key, ensure_fresh, window
from .startup import get_source
from .text import plain
from .view_state import select_flag


def data_status(view: View, *, across_projects: bool = False) -> None:
    """ "Data as of …", the stale-data warning, and the demo badge, under every page title.
    ``across_projects``: a page (Changes) that is not about the sidebar's one project and environment; it
    says its own scope and refresh warnings, so only the source (and the store's notice) is named here."""
    source = get_source()
    if source.store.notice:
        st.warning(plain(source.store.notice), icon=":material/build:")
    if across_projects:
        st.caption(
            f"{'Demo account' if source.demo else plain(source.client.base_url)} · every project and "
            "environment (or the projects chosen below), fetched for this window when shown"
        )
        return
    key = _key(view)
    as_of = source.store.last_good_refresh_ms(key)
    last = source.store.last_refresh(key)
    st.caption(
        f"{'Demo account' if source.demo else plain(source.client.base_url)} · {plain(view.project)} / "
        f"{plain(view.env)} · "
        + (f"data as of {format_ms(as_of, view.tz)} {view.tz}" if as_of else "data not fetched yet")
    )
    if last is not None and last.outcome != "ok":
        st.warning(
            f"Could not refresh from LaunchDarkly: {plain(last.message)} Showing stored data; last good refresh: "
            f"{format_ms(as_of, view.tz) + ' ' + view.tz if as_of else 'never'}.",
            icon=":material/cloud_off:",
        )


def refresh_control(view: View) -> None:
    """Sidebar button: fetch what is new now instead of waiting for the cache to expire."""
    if st.button(
        "Refresh data",
        icon=":material/refresh:",
        width="stretch",
        help="Fetch new flag events from LaunchDarkly now (only what the store lacks).",
    ):
        from_ms, to_ms = window(view)
        # the refresh records a new version of the key: the cached readers miss, every other session's
        # cache stays (no st.cache_data.clear())
        ensure_fresh(view, from_ms - (to_ms - from_ms), to_ms, force=True)
        report = st.session_state.get("last_report")
        if report is not None and not report.ok:
            st.toast(f"Refresh failed: {plain(report.error)}", icon=":material/cloud_off:")
        elif report is not None:
            st.toast(f"Refreshed: {report.events_added} new events", icon=":material/check:")


def format_time(ms: int | None, tz: str) -> str:
    return format_ms(ms, tz) if ms is not None else "—"


def format_times(values: Any, tz: str) -> list[str]:
    """Unix-ms column (nullable) as local "YYYY-MM-DD HH:MM" text, "—" where unknown."""
    ms = pd.to_numeric(pd.Series(values).astype("Float64"), errors="coerce")
    local = pd.to_datetime(ms, unit="ms", utc=True).dt.tz_convert(tz).dt.strftime("%Y-%m-%d %H:%M")
    return local.astype(object).where(local.notna(), "—").tolist()


def open_selected_flag(picked: Any, flag_keys: Sequence[Any]) -> None:
    """A row picked in a table (``on_select="rerun"``, one row) opens that flag's detail page, every filter
    kept. ``flag_keys`` are the shown rows' flag keys, in the order shown."""
    rows = picked.selection.rows if picked else []
    if rows:
        select_flag(str(flag_keys[rows[0]]))
