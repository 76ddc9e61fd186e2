"""Cached readers of the store. Fetching from LaunchDarkly happens before them (``ensure_fresh``); the
cached functions are keyed by the store's version of what they read, so a refresh shows at once
without clearing any other session's cache."""

from __future__ import annotations

import logging
import threading
from dataclasses import replace
from datetime import date, timedelta
from typing import Any

import pandas as pd
import streamlit as st

from ldclient import applications as app_filter
from ldclient import clock, lifecycle, metrics
from ldclient.api.models import Project
from ldclient.errors import LDError
from ldclient.frame import filter_frame
from ldclient.links import (
    View,
)
from ldclient.source import DataSource
from ldclient.store import StoreKey
from ldclient.sync import now_ms, plan_refresh
from ldclient.timeutil import day_start_ms
from ldclient.vocabulary import DAY_MS
from ldclient.working_hours import WorkingHours

from .startup import get_source
from .text import plain

_LOG = logging.getLogger(__name__)
# background snapshot recordings (start_snapshot): per key, the running thread and the last failure
_SNAPSHOTS_GUARD = threading.Lock()
_SNAPSHOT_LOCKS: dict[StoreKey, threading.Lock] = {}
_RECORDING: dict[StoreKey, threading.Thread] = {}
_SNAPSHOT_FAILURES: dict[StoreKey, tuple[int, str]] = {}

STALE_AFTER_MS = 5 * 60_000  # the UI refreshes a key at most this often unless asked


def _projects(fetch: bool) -> list[Project]:
    """The projects, fetched if their TTL ran out; with ``fetch=False`` (inside a cached reader, which must
    never fetch) the copy the store holds."""
    source = get_source()
    return (
        source.projects() if fetch else [Project.from_api(p) for p in source.stored_resource("projects", "*")]
    )


def project_map(*, fetch: bool = True) -> dict[str, list[str]]:
    """Project key -> environment keys, production-like first (they are what people look at).

    Not in ``st.cache_data``: the projects are a store-cached resource (fetched when their TTL runs out,
    single flight), and a cached function must never fetch."""
    out = {}
    for p in _projects(fetch):
        envs = sorted(p.environments, key=lambda e: (not e.critical, e.key != "production", e.key))
        out[p.key] = [e.key for e in envs]
    return out


def project_names() -> dict[str, str]:
    return {p.key: p.name for p in get_source().projects()}


def environments_info(project: str, *, fetch: bool = True) -> list[dict[str, Any]]:
    envs = next((p.environments for p in _projects(fetch) if p.key == project), ())
    return [{"key": e.key, "name": e.name, "critical": e.critical} for e in envs]


def production_envs(project: str) -> set[str]:
    return lifecycle.production_like(environments_info(project))


def today(view_tz: str) -> date:
    """Today in the view's timezone: the one "today" every picker, default and window uses (tests patch it)."""
    return clock.today(view_tz)


def _key(view: View) -> StoreKey:
    return get_source().key(view.project, view.env)


def _version(key: StoreKey) -> int:
    record = get_source().store.last_refresh(key)
    return record.at_ms if record else 0


def ensure_fresh(view: View, from_ms: int, to_ms: int, *, force: bool = False) -> None:
    """Fetch what the store lacks before the cached readers run, with a progress bar on first fetch."""
    source = get_source()
    key = _key(view)
    plan = plan_refresh(
        source.store.covered(key), from_ms, to_ms, now=now_ms(), max_staleness_ms=STALE_AFTER_MS, force=force
    )
    if not plan:
        return
    bar = None
    if sum(e - s for s, e in plan) > 2 * DAY_MS:
        bar = st.progress(0.0, text="Fetching flag events from LaunchDarkly…")

    def progress(
        pages: int, events: int, total: int | None = None, windows: tuple[int, int] = (0, 0)
    ) -> None:
        if bar is not None:
            bar.progress(
                min(0.95, pages / (pages + 10)),
                text=f"Fetching flag events: {pages} pages, {events:,} events so far",
            )

    report = source.refresh(
        view.project,
        view.env,
        from_ms,
        to_ms,
        force=force,
        max_staleness_ms=STALE_AFTER_MS,
        progress=progress,
    )
    if bar is not None:
        bar.empty()
    st.session_state["last_report"] = report


@st.cache_data(ttl=3600, show_spinner=False, max_entries=16)
def _frame(source_id: str, project: str, env: str, from_ms: int, to_ms: int, version: int) -> pd.DataFrame:
    return get_source().store.load_frame(StoreKey(source_id, project, env), from_ms, to_ms)


def window(view: View) -> tuple[int, int]:
    return view.window_ms(today(view.tz))


def compared_end(from_ms: int, to_ms: int, as_of_ms: int | None) -> int:
    """The end of the part of ``[from, to)`` the data covers: ``as_of`` when it falls inside the range."""
    return as_of_ms if as_of_ms is not None and from_ms < as_of_ms < to_ms else to_ms


def events_frame(view: View, *, with_previous: bool = False, filtered: bool = True) -> pd.DataFrame:
    """The view's events (and the previous window's, for trends): fetched if missing, then from the store."""
    from_ms, to_ms = window(view)
    ensure_fresh(view, from_ms - (to_ms - from_ms) if with_previous else from_ms, to_ms)
    return _stored_events(view, with_previous=with_previous, filtered=filtered)


def _stored_events(view: View, *, with_previous: bool = False, filtered: bool = True) -> pd.DataFrame:
    """The view's events as the store holds them now: what the cached readers use (they never fetch)."""
    from_ms, to_ms = window(view)
    start = from_ms - (to_ms - from_ms) if with_previous else from_ms
    key = _key(view)
    frame = _frame(key.source, key.project, key.environment, start, to_ms, _version(key))
    frame = app_filter.filter_events(frame, app_keys(view.project, view.apps))
    if not filtered:
        return frame
    return filter_frame(
        frame,
        impact=view.impact,
        experiments_only=view.experiments_only,
        include_global=view.include_global,
        query=view.query,
    )


def app_keys(project: str, apps: tuple[str, ...]) -> frozenset[str] | None:
    """The flags of ``project`` the chosen applications evaluate (None: no application chosen), from the stored
    applications (the sidebar fetched them): the events and flags already stored are filtered, never refetched
    per application."""
    if not apps:
        return None
    return app_filter.flag_keys(get_source().stored_applications(), apps, project)


def working_hours(view: View) -> WorkingHours:
    """The team's working hours for the view's project: off-hours are judged there, never in ``view.tz``."""
    return get_source().settings.working_hours_for(view.project)


@st.cache_data(ttl=3600, show_spinner=False, max_entries=32)
def _overview(source_id: str, view: View, version: int) -> dict[str, Any]:
    frame = _stored_events(view, with_previous=True)
    from_ms, to_ms = window(view)
    work = working_hours(view)
    # Like with like: the range counts up to the time the data is as of, and the previous period is that much
    # time just before it, so today so far is not compared with a whole day (docs/METRICS.md, Trend).
    end = compared_end(from_ms, to_ms, get_source().store.last_good_refresh_ms(_key(view)))
    return {
        "metrics": metrics.compute_with_trend(frame, from_ms, end, view.tz, view.include_global, work=work),
        "daily": metrics.daily_impact_counts(frame, from_ms, to_ms, view.tz, view.include_global),
        # the risk calendar is drawn in the team's working timezone, where off-hours are judged
        "heat": metrics.weekday_hour_counts(frame, work.timezone, from_ms, to_ms, view.include_global),
        "series": metrics.daily_series(
            frame, from_ms, to_ms, view.tz, include_global=view.include_global, work=work
        ),
        "work": work,
    }


def overview_data(view: View) -> dict[str, Any]:
    from_ms, to_ms = window(view)
    ensure_fresh(view, from_ms - (to_ms - from_ms), to_ms)
    return _overview(get_source().source_id, replace(view, flag=None), _version(_key(view)))


@st.cache_data(ttl=3600, show_spinner=False, max_entries=32)
def _flag_table(source_id: str, view: View, version: int, stale: frozenset[str]) -> pd.DataFrame:
    frame = _stored_events(view)
    from_ms, to_ms = window(view)
    table = metrics.per_flag_table(
        frame, from_ms, to_ms, view.tz, view.include_global, work=working_hours(view)
    )
    return metrics.with_stale_flags(table, stale)


def flag_table(view: View) -> pd.DataFrame:
    """Every flag changed in the range, and every flag stale in the environment now (the Cleanup list's
    verdict), scored (docs/METRICS.md)."""
    from_ms, to_ms = window(view)
    ensure_fresh(view, from_ms, to_ms)
    stale = frozenset(stale_table(view)["flag_key"].astype(str))
    return _flag_table(get_source().source_id, replace(view, flag=None), _version(_key(view)), stale)


def _resource_envs(project: str, env: str | None, *, fetch: bool = True) -> list[str]:
    return [env] if env else [e["key"] for e in environments_info(project, fetch=fetch)]


def ensure_resources(project: str, env: str | None) -> int:
    """Fetch the project's flags and the statuses of ``env`` (or of every environment) where their TTL ran
    out, before any cached reader runs; returns the version those readers are keyed by (the TTL period)."""
    source = get_source()
    source.flags(project)
    for e in _resource_envs(project, env):
        source.statuses(project, e)
    return int(now_ms() // 1000 // max(1, source.settings.flags_ttl_s))


def flags_and_statuses(
    project: str, env: str | None, apps: tuple[str, ...] = (), *, with_archived: bool = False
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The stored flags and statuses (``ensure_resources`` fetched them): a read, never a fetch. With ``apps``,
    only the flags those applications evaluate; ``with_archived`` adds the stored archived flags (the flags
    list leaves them out)."""
    source = get_source()
    keys = app_keys(project, apps)
    items = source.stored_resource("flags", project)
    if with_archived:
        items = [*items, *source.stored_resource("archived-flags", project)]
    flags = lifecycle.flags_to_frame(app_filter.filter_flags(items, keys))
    envs = _resource_envs(project, env, fetch=False)
    statuses = (
        pd.concat(
            [
                lifecycle.statuses_to_frame(source.stored_resource("flag-statuses", f"{project}/{e}"), e)
                for e in envs
            ],
            ignore_index=True,
        )
        if envs
        else lifecycle.statuses_to_frame([], "")
    )
    return flags, app_filter.filter_statuses(statuses, keys)


def ensure_project_events(view: View, from_ms: int, to_ms: int) -> int:
    """Fetch what the store lacks of every environment of the project; the version of all of them."""
    versions = []
    for env in project_map().get(view.project, []):
        v = replace(view, env=env)
        ensure_fresh(v, from_ms, to_ms)
        versions.append(_version(_key(v)))
    return max(versions, default=0)


def project_events(view: View, from_ms: int, to_ms: int) -> pd.DataFrame:
    """Every environment's stored events of the project (lifecycle and promotion need them all)."""
    frames = []
    for env in project_map(fetch=False).get(view.project, []):
        key = _key(replace(view, env=env))
        frames.append(_frame(key.source, key.project, key.environment, from_ms, to_ms, _version(key)))
    frames = [f for f in frames if len(f)]
    if not frames:
        return get_source().store.load_frame(_key(view), 0, 0)
    out = pd.concat(frames, ignore_index=True)
    out = out.drop_duplicates("id") if "id" in out else out
    return app_filter.filter_events(out, app_keys(view.project, view.apps))


@st.cache_data(ttl=600, show_spinner=False, max_entries=32)
def _lifecycle(source_id: str, view: View, version: tuple[int, int]) -> dict[str, Any]:
    flags, statuses = flags_and_statuses(view.project, view.env, view.apps)
    now = now_ms()
    events = project_events(view, now - 30 * DAY_MS, now + 1)
    return lifecycle.lifecycle_metrics(flags, statuses, events, view.env, production_envs(view.project), now)


def lifecycle_summary(view: View) -> dict[str, Any]:
    """LaunchDarkly's own flag-health view (stale share, statuses) plus promotion hygiene."""
    now = now_ms()
    version = (
        ensure_project_events(view, now - 30 * DAY_MS, now + 1),
        ensure_resources(view.project, view.env),
    )
    return _lifecycle(
        get_source().source_id, replace(view, flag=None, impact=(), query="", experiments_only=False), version
    )


@st.cache_data(ttl=600, show_spinner=False)
def _flag_keys(source_id: str, project: str, version: int) -> frozenset[str]:
    flags = get_source().stored_resource("flags", project)
    return frozenset(str(f.get("key")) for f in flags if f.get("key"))


def flag_keys(project: str) -> set[str]:
    source = get_source()
    source.flags(project)  # fetched here if its TTL ran out, not inside the cached reader
    return set(_flag_keys(source.source_id, project, ensure_resources(project, None)))


@st.cache_data(ttl=600, show_spinner=False, max_entries=16)
def _stale(
    source_id: str, project: str, env: str, version: tuple[int, int], apps: tuple[str, ...] = ()
) -> pd.DataFrame:
    flags, statuses = flags_and_statuses(project, env, apps)
    now = now_ms()
    events = project_events(View(project, env, apps=apps), now - 30 * DAY_MS, now + 1)
    return lifecycle.stale_flags_table(flags, statuses, events, env, now)


def stale_table(view: View) -> pd.DataFrame:
    now = now_ms()
    version = (
        ensure_project_events(view, now - 30 * DAY_MS, now + 1),
        ensure_resources(view.project, view.env),
    )
    return _stale(get_source().source_id, view.project, view.env, version, view.apps)


@st.cache_data(ttl=600, show_spinner=False, max_entries=16)
def _matrix(
    source_id: str, project: str, version: tuple[int, int], apps: tuple[str, ...] = ()
) -> pd.DataFrame:
    flags, statuses = flags_and_statuses(project, None, apps)
    now = now_ms()
    events = project_events(
        View(project, project_map(fetch=False)[project][0], apps=apps), now - 90 * DAY_MS, now + 1
    )
    return lifecycle.status_matrix(flags, statuses, events)


def status_matrix(view: View) -> pd.DataFrame:
    now = now_ms()
    first = View(view.project, project_map()[view.project][0])
    version = (ensure_project_events(first, now - 90 * DAY_MS, now + 1), ensure_resources(view.project, None))
    return _matrix(get_source().source_id, view.project, version, view.apps)


def production_changes(view: View, from_ms: int, to_ms: int) -> pd.DataFrame:
    ensure_project_events(view, from_ms - 14 * DAY_MS, to_ms)
    events = project_events(view, from_ms - 14 * DAY_MS, to_ms)
    changes = lifecycle.production_changes(events, production_envs(view.project), view.env)
    return changes[(changes["event_time"] >= from_ms) & (changes["event_time"] < to_ms)]


@st.cache_data(ttl=600, show_spinner=False, max_entries=8)
def _project_rows(
    source_id: str, from_ms: int, to_ms: int, tz: str, version: tuple[int, int], apps: tuple[str, ...] = ()
) -> pd.DataFrame:
    from ldclient.report import project_rows as build

    return build(get_source(), from_ms, to_ms, tz, apps=apps)  # projects() reads the copy fetched just before


def project_rows(view: View, from_ms: int, to_ms: int) -> pd.DataFrame:
    source = get_source()
    source.projects()  # fetched here if their TTL ran out, not inside the cached reader
    refreshed = max((s.last_refresh.at_ms for s in source.store.summaries() if s.last_refresh), default=0)
    recorded = max(
        (_snapshot_version(source.key(p, e)) for p, envs in project_map(fetch=False).items() for e in envs),
        default=0,
    )  # a snapshot recorded since ("Record them now") shows at once
    return _project_rows(source.source_id, from_ms, to_ms, view.tz, (refreshed, recorded), view.apps)


# --- cleanup: LaunchDarkly's lifecycle stages, code references, owners, values to keep -------------------


def critical_envs(project: str) -> set[str]:
    """The project's critical environments: LaunchDarkly judges its lifecycle stages there only."""
    return lifecycle.critical_environments(environments_info(project))


def history_days() -> int:
    return get_source().settings.history_days


def ensure_cleanup_resources(project: str, env: str) -> int:
    """Fetch (where their TTL ran out) what the lifecycle stages read: statuses of the critical environments
    and of ``env``, their full targeting, code references, members and teams. A resource the token may not
    read (code references switched off, no member access) stays unknown instead of failing the page."""
    from ldclient.errors import LDError

    source = get_source()
    critical = critical_envs(project)
    version = ensure_resources(project, env)
    source.archived_flags(project)
    for e in sorted(critical - {env}):
        source.statuses(project, e)
    for e in sorted(critical):
        source.flag_configs(project, e)
    for name, fetch in (
        ("code references", lambda: source.code_refs(project)),
        ("members", source.members),
        ("teams", source.teams),
    ):
        try:
            fetch()
        except LDError as exc:
            st.session_state.setdefault("cleanup_unreadable", {})[name] = str(exc)
    return version


def _stored(kind: str, scope: str) -> Any:
    source = get_source()
    return source.store.get_resource(source.source_id, kind, scope, float("inf"))


@st.cache_data(ttl=600, show_spinner=False, max_entries=16)
def _cleanup(source_id: str, project: str, env: str, version: tuple[int, int], days: int) -> pd.DataFrame:
    critical = critical_envs(project)
    listings = [_stored("flag-configs", f"{project}/{e}") or [] for e in sorted(critical)]
    items = lifecycle.merge_flag_configs(*listings) if critical else _stored("flags", project) or []
    items = [*items, *(_stored("archived-flags", project) or [])]  # the flags lists leave them out
    _, statuses = flags_and_statuses(project, None)
    code = _stored("code-refs", project)
    members, teams = _stored("members", "*"), _stored("teams", "*")
    now = now_ms()
    history_from = now - days * DAY_MS
    events = project_events(View(project, env), history_from, now + 1)
    return lifecycle.lifecycle_stages(
        items,
        statuses,
        critical,
        now,
        code_refs=lifecycle.code_refs_to_frame(code) if isinstance(code, dict) else None,
        members=members if isinstance(members, list) else None,
        teams=teams if isinstance(teams, list) else None,
        events=events,
        stale_env=env,
        history_from_ms=history_from,
    )


def cleanup_table(view: View) -> pd.DataFrame:
    """Every flag's LaunchDarkly lifecycle stage, stale verdict in ``view.env``, code references, value to
    keep and owner, with "last change" from every stored event of the last ``LD_HISTORY_DAYS`` days."""
    now = now_ms()
    days = history_days()
    version = (
        ensure_project_events(view, now - days * DAY_MS, now + 1),
        ensure_cleanup_resources(view.project, view.env),
    )
    return _cleanup(get_source().source_id, view.project, view.env, version, days)


@st.cache_data(ttl=600, show_spinner=False, max_entries=16)
def _timeline(
    source_id: str, project: str, version: tuple[int, int], days: int, apps: tuple[str, ...] = ()
) -> pd.DataFrame:
    flags, statuses = flags_and_statuses(project, None, apps, with_archived=True)
    now = now_ms()
    events = project_events(
        View(project, project_map(fetch=False)[project][0], apps=apps), now - days * DAY_MS, now + 1
    )
    return lifecycle.lifecycle_table(flags, statuses, events, production_envs(project), now)


def timeline_table(view: View) -> pd.DataFrame:
    """Our timeline stage of every flag (develop → production → cleanup → archived) and its days in stage,
    judged on the production-like environments over the last ``LD_HISTORY_DAYS`` days of stored events."""
    now = now_ms()
    days = history_days()
    version = (
        ensure_project_events(view, now - days * DAY_MS, now + 1),
        ensure_resources(view.project, None),
    )
    get_source().archived_flags(view.project)
    return _timeline(get_source().source_id, view.project, version, days, view.apps)


def code_references_known(project: str) -> bool:
    return isinstance(_stored("code-refs", project), dict)


def flag_item(project: str, flag: str) -> dict[str, Any] | None:
    """The stored flag item (full targeting of the critical environments when fetched), without fetching."""
    critical = critical_envs(project)
    listings = [_stored("flag-configs", f"{project}/{e}") or [] for e in sorted(critical)]
    everything = (_stored("flags", project) or [], _stored("archived-flags", project) or [])
    for item in lifecycle.merge_flag_configs(*listings, *everything):
        if item.get("key") == flag:
            return item
    return None


# --- history: daily snapshots and the days rebuilt before them (ldclient/history.py) --------------------


def _snapshot_lock(key: StoreKey) -> threading.Lock:
    """One lock per key, so a session's snapshot and a background one are never computed side by side."""
    with _SNAPSHOTS_GUARD:
        return _SNAPSHOT_LOCKS.setdefault(key, threading.Lock())


def _record_unless_recent(source: DataSource, key: StoreKey, project: str, env: str) -> None:
    from ldclient import history

    with _snapshot_lock(key):
        now = now_ms()
        if not history.snapshot_is_recent(source.store, key, now):
            history.record_snapshot(source, project, env, now)


def _fetch_snapshot_inputs(view: View) -> None:
    """What a snapshot reads, fetched where a TTL ran out, in the script's thread (its caches, its spinners)."""
    now = now_ms()
    ensure_project_events(view, now - 30 * DAY_MS, now + 1)
    ensure_cleanup_resources(view.project, view.env)


def ensure_snapshot(view: View) -> None:
    """Record today's snapshot of the view's key unless one was taken since its last refresh: what the
    snapshot reads is fetched first (where a TTL ran out), outside any cached reader."""
    from ldclient import history

    if history.snapshot_is_recent(get_source().store, _key(view), now_ms()):
        return
    _fetch_snapshot_inputs(view)
    with st.spinner("Recording today's flag-health snapshot…"):
        _record_unless_recent(get_source(), _key(view), view.project, view.env)


def start_snapshot(view: View) -> None:
    """``ensure_snapshot`` with the recording (a second or more for a key's first snapshot on the demo) in a
    background thread, so the page's run ends as soon as it is drawn and the session can be used; the
    Overview polls ``snapshot_progress`` and runs again once it is recorded. Once a recording failed, no
    new one starts for ``STALE_AFTER_MS`` (the page says why instead of polling)."""
    if snapshot_progress(view)[0] != "missing":  # recorded, being recorded, or failed a moment ago
        return
    source, key = get_source(), _key(view)  # the thread gets this process's source, not a cached lookup
    _fetch_snapshot_inputs(view)

    def record() -> None:
        try:
            _record_unless_recent(source, key, view.project, view.env)
        except LDError as exc:
            failure = plain(exc)
        except Exception:  # a defect: logged with its traceback, the page says only that it failed
            _LOG.exception("recording the snapshot of %s/%s failed", view.project, view.env)
            failure = "an unexpected error (the server's log has the details)"
        else:
            return
        with _SNAPSHOTS_GUARD:
            _SNAPSHOT_FAILURES[key] = (now_ms(), failure)

    thread = threading.Thread(target=record, name=f"snapshot {view.project}/{view.env}", daemon=True)
    with _SNAPSHOTS_GUARD:
        _RECORDING[key] = thread
        _SNAPSHOT_FAILURES.pop(key, None)
    thread.start()


def snapshot_progress(view: View) -> tuple[str, str | None]:
    """("recorded" | "recording" | "failed" | "missing", the failure's message) for the view's key today."""
    from ldclient import history

    key = _key(view)
    if history.snapshot_is_recent(get_source().store, key, now_ms()):
        return "recorded", None
    with _SNAPSHOTS_GUARD:
        running = _RECORDING.get(key)
        failed = _SNAPSHOT_FAILURES.get(key)
    if running is not None and running.is_alive():
        return "recording", None
    if failed is not None and now_ms() - failed[0] < STALE_AFTER_MS:
        return "failed", failed[1]
    return "missing", None


def wait_for_snapshots(timeout: float | None = None) -> None:
    """Wait for the background recordings of this process (tests; a clean shutdown)."""
    with _SNAPSHOTS_GUARD:
        threads = list(_RECORDING.values())
    for thread in threads:
        thread.join(timeout)


def _snapshot_version(key: StoreKey) -> int:
    latest = get_source().store.latest_snapshot(key)
    return latest.taken_ms if latest else 0


@st.cache_data(ttl=600, show_spinner=False, max_entries=16)
def _history(
    source_id: str, project: str, env: str, first: date, last: date, tz: str, version: tuple[int, int]
) -> dict[str, Any]:
    from ldclient import history

    source = get_source()
    now = now_ms()
    lo, hi = day_start_ms(first, tz), day_start_ms(last + timedelta(days=1), tz)
    days = history.snapshot_days(lo, max(hi, now))
    snaps = source.store.snapshots(source.key(project, env), *days, with_flags=True)  # one read for both
    frame = history.key_history(source, project, env, first, last, tz, now, snapshots=snaps)
    flags = lifecycle.flags_to_frame(
        [*source.stored_resource("flags", project), *source.stored_resource("archived-flags", project)]
    )
    events = project_events(View(project, env), lo, hi)
    weekly = history.weekly_transitions(snaps, flags, tz)
    weekly = weekly[
        (weekly["week"] >= (first - timedelta(days=first.weekday())).isoformat())
        & (weekly["week"] <= last.isoformat())
    ]
    monthly = history.monthly_medians(flags, events, production_envs(project), tz)
    monthly = monthly[
        (monthly["month"] >= first.strftime("%Y-%m")) & (monthly["month"] <= last.strftime("%Y-%m"))
    ]
    return {
        "frame": frame,
        "weekly": weekly.reset_index(drop=True),
        "monthly": monthly.reset_index(drop=True),
    }


def history_data(view: View) -> dict[str, Any]:
    """The view's days (``history_frame``), weekly transitions and monthly medians; today's snapshot first."""
    ensure_snapshot(view)
    first, last = view.dates(today(view.tz))
    key = _key(view)
    from_ms, to_ms = window(view)
    ensure_project_events(view, from_ms - 7 * DAY_MS, to_ms)
    return _history(
        get_source().source_id,
        view.project,
        view.env,
        first,
        last,
        view.tz,
        (_snapshot_version(key), _version(key)),
    )


def stale_trend(view: View) -> dict[str, Any]:
    """The Overview's compact stale history, from one read of the key's snapshots: ``report.stale_trend``'s
    figures and ``frame`` (date, observed, stale_share, stale_flags), one row per local day of the range."""
    from ldclient.report import range_snapshots
    from ldclient.report import stale_trend as figures

    ensure_snapshot(view)
    from_ms, to_ms = window(view)
    snaps = range_snapshots(get_source(), _key(view), from_ms, to_ms)
    inside = [s for s in snaps if s.taken_ms >= from_ms]
    frame = pd.DataFrame(
        {
            "date": [
                pd.Timestamp(s.taken_ms, unit="ms", tz="UTC").tz_convert(view.tz).strftime("%Y-%m-%d")
                for s in inside
            ],
            "observed": True,
            "stale_share": [s.figures.get("stale_share") for s in inside],
            "stale_flags": [s.figures.get("stale_flags") for s in inside],
        }
    ).drop_duplicates("date", keep="last")
    return {**figures(snaps, from_ms, to_ms), "frame": frame}
