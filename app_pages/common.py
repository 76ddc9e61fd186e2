"""What every page shares: the data source, the sidebar filters kept in the link, cached data.

Pages call ``current_view()`` and the ``*_data`` loaders and only describe what they show.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date
from typing import Any
from urllib.parse import urlencode

import pandas as pd
import streamlit as st

from ldclient import clock, lifecycle, metrics
from ldclient.errors import LDError
from ldclient.frame import filter_frame
from ldclient.links import (
    IMPACT_CHOICES,
    MAX_TEXT,
    MIN_DATE,
    RANGE_CHOICES,
    View,
    clamp_dates,
    encode_view,
    parse_view,
)
from ldclient.settings import Settings
from ldclient.source import DataSource, open_source
from ldclient.store import StoreKey
from ldclient.sync import now_ms, plan_refresh
from ldclient.timeutil import format_ms, timezone_names, zone_or_error
from ldclient.working_hours import WORK_SETTINGS, WorkingHours

STALE_AFTER_MS = 5 * 60_000  # the UI refreshes a key at most this often unless asked
COMMON_ZONES = ("UTC", "Europe/London", "Europe/Berlin", "America/New_York", "America/Los_Angeles",
                "Asia/Tokyo", "Asia/Kolkata", "Australia/Sydney")


# -- the data source -------------------------------------------------------------------------------------

def _secrets() -> dict[str, Any]:
    try:
        return {k: st.secrets[k] for k in ("LD_API_TOKEN", "LD_BASE_URL", "LD_STORE_URL", *WORK_SETTINGS)
                if k in st.secrets}
    except Exception:  # no secrets.toml: that is the normal case
        return {}


@st.cache_resource(show_spinner=False)
def get_source() -> DataSource:
    return open_source(Settings.load(secrets=_secrets()))


_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~:$])")


def plain(value: object) -> str:
    """Error text (which may quote the API's own message) shown literally inside st.error/st.warning."""
    return _MARKDOWN.sub(r"\\\1", str(value))


def source_or_stop() -> DataSource:
    try:
        return get_source()
    except LDError as exc:
        st.error(f"The dashboard cannot start: {plain(exc)}", icon=":material/error:")
        st.stop()
        raise


@st.cache_data(ttl=600, show_spinner=False)
def project_map() -> dict[str, list[str]]:
    """Project key -> environment keys, production-like first (they are what people look at)."""
    out = {}
    for p in get_source().projects():
        envs = sorted(p.environments, key=lambda e: (not e.critical, e.key != "production", e.key))
        out[p.key] = [e.key for e in envs]
    return out


@st.cache_data(ttl=600, show_spinner=False)
def project_names() -> dict[str, str]:
    return {p.key: p.name for p in get_source().projects()}


@st.cache_data(ttl=600, show_spinner=False)
def environments_info(project: str) -> list[dict[str, Any]]:
    return [{"key": e.key, "name": e.name, "critical": e.critical} for e in get_source().environments(project)]


def production_envs(project: str) -> set[str]:
    return lifecycle.production_like(environments_info(project))


# -- the view: sidebar widgets <-> query string -----------------------------------------------------------

def today(view_tz: str) -> date:
    """Today in the view's timezone: the one "today" every picker, default and window uses (tests patch it)."""
    return clock.today(view_tz)


def _apply_to_widgets(view: View) -> None:
    ss = st.session_state
    ss["w_project"], ss["w_env"], ss["w_tz"] = view.project, view.env, view.tz
    ss["w_range"] = "Custom" if view.range_days is None else f"{view.range_days}d"
    if view.range_days is not None and view.range_days not in RANGE_CHOICES:
        ss["_extra_range"] = view.range_days  # a link's N days gets its own option ("14 days")
    if view.range_days is None and view.start and view.end:
        ss["w_dates"] = (view.start, view.end)
    ss["w_impact"] = list(view.impact)
    ss["w_exp"] = view.experiments_only
    ss["w_global"] = view.include_global
    ss["w_q"] = view.query
    ss["flag"] = view.flag


def _query_dict() -> dict[str, str]:
    return {k: st.query_params.get(k, "") for k in st.query_params.keys()}


def sidebar_view() -> View:
    """Render the sidebar filters and keep the link in step with them. Call once per run, from app.py."""
    ss = st.session_state
    projects = project_map()
    if not projects:
        st.warning("This LaunchDarkly account has no projects the token can read.")
        st.stop()
    default_tz = get_source().settings.timezone
    params = _query_dict()
    url_key = urlencode(sorted(params.items()))
    link_opened = bool(params and ss.get("_written_url") != url_key or "w_project" not in ss)
    if link_opened:
        # A link was opened (or edited by hand): it decides the view, one warning per bad parameter.
        fallback = ss.get("view")
        parsed = parse_view(params, projects, today=today, default_tz=default_tz,
                            fallback=fallback if not params else None)
        ss["link_warnings"] = parsed.warnings
        _apply_to_widgets(parsed.view)

    names = project_names()
    previous = ss.get("view")
    with st.sidebar:
        labels = _project_labels(list(projects), names)
        project = st.selectbox("Project", list(projects), key="w_project", format_func=labels.get,
                               help="Projects by name; the caption below gives the key that links use.")
        st.caption(f"Key: `{safe_code(project)}`")
        envs = projects[project]
        if ss.get("w_env") not in envs:
            ss["w_env"] = envs[0] if envs else ""
        env = st.selectbox("Environment", envs, key="w_env")
        view_tz = _valid_zone(ss.get("w_tz"), default_tz)
        extra = ss.get("_extra_range")
        presets = sorted({*RANGE_CHOICES, *([extra] if extra else [])})
        range_options = [f"{d}d" for d in presets] + ["Custom"]
        if ss.get("w_range") not in range_options:
            ss["w_range"] = "Custom"
            ss.setdefault("w_dates", _fallback_dates(previous, view_tz))
        choice = st.segmented_control("Date range", range_options, key="w_range",
                                      format_func=_range_label)
        choice = choice or "30d"
        start = end = None
        clamped = None
        range_days: int | None = int(choice[:-1]) if choice != "Custom" else None
        if range_days is None:
            day = today(view_tz)
            if not link_opened and previous is not None and previous.range_days is not None:
                # Relative -> Custom: the same days, in the view's timezone.
                ss["w_dates"] = previous.dates(day)
            ss.setdefault("w_dates", _fallback_dates(previous, view_tz))
            clamped = _clamp_picker_dates(day, view_tz)
            picked = st.date_input("Custom range", key="w_dates", min_value=MIN_DATE, max_value=day)
            if isinstance(picked, tuple) and len(picked) == 2:
                start, end = picked
            else:
                start, end = previous.dates(day) if previous else (None, None)
                st.caption("Pick the last day of the range.")
        zones = list(dict.fromkeys([*COMMON_ZONES, ss.get("w_tz", "UTC")]))
        tz = st.selectbox("Timezone", zones + [z for z in timezone_names() if z not in zones], key="w_tz")
        # Open while a filter is set, and once open it stays open for the session: clearing the last filter
        # must not snap it shut (a changed `expanded` would).
        ss["_more_open"] = bool(ss.get("_more_open") or ss.get("w_impact") or ss.get("w_exp") or ss.get("w_q")
                                or not ss.get("w_global", True))
        with st.expander("More filters", expanded=ss["_more_open"]):
            impact = st.multiselect("Impact size", IMPACT_CHOICES, key="w_impact",
                                    help="Share of evaluations whose variation changed: none 0 %, small < 20 %, "
                                         "medium 20–80 %, large > 80 %.")
            experiments_only = st.toggle("Only events on flags with experiments", key="w_exp")
            include_global = st.toggle("Include global (flag-level) events", key="w_global",
                                       help="Renames, tag and description changes apply to every environment.")
            query = st.text_input("Flag key contains", key="w_q", max_chars=MAX_TEXT)
    view = View(project=project, env=env, range_days=range_days, start=start, end=end, tz=tz,
                impact=tuple(s for s in IMPACT_CHOICES if s in impact), experiments_only=experiments_only,
                include_global=include_global, query=query.strip(), flag=ss.get("flag"))
    if previous is not None and previous.project != view.project:
        view = replace(view, flag=None)  # a flag belongs to one project
        ss["flag"] = None
    if previous is not None and previous != view:
        ss["link_warnings"] = []
    if clamped:
        ss["link_warnings"] = [*ss.get("link_warnings", []), clamped]
    ss["view"] = view
    write_link(view)
    return view


def _fallback_dates(view: View | None, tz: str) -> tuple[date, date]:
    return (view or View("", "")).dates(today(tz))


def _range_label(option: str) -> str:
    return option if option == "Custom" else f"{option[:-1]} day{'' if option == '1d' else 's'}"


def _valid_zone(name: object, default: str) -> str:
    try:
        zone_or_error(str(name))
        return str(name)
    except ValueError:
        return default


def _project_labels(keys: list[str], names: dict[str, str]) -> dict[str, str]:
    """The project picker shows names (keys are long and cut the name off); a name two projects share gets
    its key added so they stay apart."""
    shown = {k: (names.get(k) or k) for k in keys}
    counts: dict[str, int] = {}
    for label in shown.values():
        counts[label] = counts.get(label, 0) + 1
    return {k: label if counts[label] == 1 else f"{label} ({k})" for k, label in shown.items()}


def _clamp_picker_dates(day: date, tz: str) -> str | None:
    """Keep the picker's dates inside MIN_DATE..today: the date input raises on a value outside its bounds,
    and dates chosen in another timezone (or in a session left open overnight) can be after today here.
    Returns the warning to show when it moved them."""
    ss = st.session_state
    picked = ss.get("w_dates")
    if not isinstance(picked, (tuple, list)) or not picked or not all(isinstance(d, date) for d in picked):
        ss["w_dates"] = _fallback_dates(ss.get("view"), tz)
        return None
    first, last = picked[0], picked[-1]
    fixed = clamp_dates(first, last, day)
    if fixed == (first, last):
        return None
    ss["w_dates"] = fixed if len(picked) == 2 else (fixed[0],)
    return (f"The custom range {first} – {last} reaches outside {MIN_DATE} – {day} (today in `{tz}`); "
            f"showing {fixed[0]} – {fixed[1]}.")


def write_link(view: View) -> None:
    encoded = encode_view(view, today=today(view.tz))
    if encoded != _query_dict():
        st.query_params.from_dict(encoded)
    st.session_state["_written_url"] = urlencode(sorted(encoded.items()))


def current_view() -> View:
    """The view app.py set up for this run.

    Page scripts live in ``app_pages/``, not ``pages/``: Streamlit discovers a folder named ``pages`` next to
    the main script on its own (legacy multipage mode, which listed every module in the sidebar until
    ``st.navigation`` ran), so ``app.py`` and its ``st.navigation`` are the only way in.
    """
    if not st.session_state.get("_in_app") or "view" not in st.session_state:
        st.error("This page is part of the Flag Health dashboard: open it with `streamlit run app.py`.")
        st.stop()
    return st.session_state["view"]


def select_flag(flag: str | None, page: str | None = "app_pages/flag_detail.py") -> None:
    """Open a flag's detail page keeping every filter (tables call this on row selection)."""
    st.session_state["flag"] = flag
    view = replace(current_view(), flag=flag)
    st.session_state["view"] = view
    if page:
        st.switch_page(page, query_params=encode_view(view, today=today(view.tz)))


def show_link_warnings() -> None:
    for text in st.session_state.get("link_warnings", []):
        st.warning(text, icon=":material/link_off:")


def share_links(view: View) -> tuple[str, str]:
    """The view's link with absolute dates (reproducible) and with a relative range (stays current)."""
    base = ""
    try:
        base = (st.context.url or "").split("?")[0]
    except Exception:
        base = ""
    d = today(view.tz)
    absolute = urlencode(encode_view(view, today=d, absolute=True))
    relative = urlencode(encode_view(replace(view, range_days=view.range_days or 30, start=None, end=None)
                                     if view.range_days else view, today=d))
    return f"{base}?{absolute}", f"{base}?{relative}"


# -- data ------------------------------------------------------------------------------------------------

def _key(view: View) -> StoreKey:
    return get_source().key(view.project, view.env)


def _version(key: StoreKey) -> int:
    record = get_source().store.last_refresh(key)
    return record.at_ms if record else 0


def ensure_fresh(view: View, from_ms: int, to_ms: int, *, force: bool = False) -> None:
    """Fetch what the store lacks before the cached readers run, with a progress bar on first fetch."""
    source = get_source()
    key = _key(view)
    plan = plan_refresh(source.store.covered(key), from_ms, to_ms, now=now_ms(), max_staleness_ms=STALE_AFTER_MS,
                        force=force)
    if not plan:
        return
    bar = None
    if sum(e - s for s, e in plan) > 2 * 86_400_000:
        bar = st.progress(0.0, text="Fetching flag events from LaunchDarkly…")

    def progress(pages: int, events: int, total: int | None = None, windows: tuple[int, int] = (0, 0)) -> None:
        if bar is not None:
            bar.progress(min(0.95, pages / (pages + 10)), text=f"Fetching flag events: {pages} pages, "
                                                               f"{events:,} events so far")

    report = source.refresh(view.project, view.env, from_ms, to_ms, force=force,
                            max_staleness_ms=STALE_AFTER_MS, progress=progress)
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
    """The view's events (and the previous window's, for trends), served from the store."""
    from_ms, to_ms = window(view)
    start = from_ms - (to_ms - from_ms) if with_previous else from_ms
    ensure_fresh(view, start, to_ms)
    key = _key(view)
    frame = _frame(key.source, key.project, key.environment, start, to_ms, _version(key))
    if not filtered:
        return frame
    return filter_frame(frame, impact=view.impact, experiments_only=view.experiments_only,
                        include_global=view.include_global, query=view.query)


def working_hours(view: View) -> WorkingHours:
    """The team's working hours for the view's project: off-hours are judged there, never in ``view.tz``."""
    return get_source().settings.working_hours_for(view.project)


@st.cache_data(ttl=3600, show_spinner=False, max_entries=32)
def _overview(source_id: str, view: View, version: int) -> dict[str, Any]:
    frame = events_frame(view, with_previous=True)
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
        "series": metrics.daily_series(frame, from_ms, to_ms, view.tz, include_global=view.include_global,
                                       work=work),
        "work": work,
    }


def overview_data(view: View) -> dict[str, Any]:
    from_ms, to_ms = window(view)
    ensure_fresh(view, from_ms - (to_ms - from_ms), to_ms)
    return _overview(get_source().source_id, replace(view, flag=None), _version(_key(view)))


@st.cache_data(ttl=3600, show_spinner=False, max_entries=32)
def _flag_table(source_id: str, view: View, version: int) -> pd.DataFrame:
    frame = events_frame(view)
    from_ms, to_ms = window(view)
    return metrics.per_flag_table(frame, from_ms, to_ms, view.tz, view.include_global, work=working_hours(view))


def flag_table(view: View) -> pd.DataFrame:
    from_ms, to_ms = window(view)
    ensure_fresh(view, from_ms, to_ms)
    return _flag_table(get_source().source_id, replace(view, flag=None), _version(_key(view)))


def flags_and_statuses(project: str, env: str | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    source = get_source()
    flags = lifecycle.flags_to_frame(source.flags(project))
    envs = [env] if env else [e["key"] for e in environments_info(project)]
    statuses = pd.concat([lifecycle.statuses_to_frame(source.statuses(project, e), e) for e in envs],
                         ignore_index=True) if envs else lifecycle.statuses_to_frame([], "")
    return flags, statuses


def project_events(view: View, from_ms: int, to_ms: int) -> pd.DataFrame:
    """Every environment's events of the project (lifecycle and promotion need them all)."""
    frames = []
    for env in project_map().get(view.project, []):
        v = replace(view, env=env)
        ensure_fresh(v, from_ms, to_ms)
        key = _key(v)
        frames.append(_frame(key.source, key.project, key.environment, from_ms, to_ms, _version(key)))
    frames = [f for f in frames if len(f)]
    if not frames:
        return get_source().store.load_frame(_key(view), 0, 0)
    out = pd.concat(frames, ignore_index=True)
    return out.drop_duplicates("id") if "id" in out else out


# -- small presentational helpers ----------------------------------------------------------------------

def data_status(view: View) -> None:
    """"Data as of …", the stale-data warning, and the demo badge, under every page title."""
    source = get_source()
    key = _key(view)
    as_of = source.store.last_good_refresh_ms(key)
    last = source.store.last_refresh(key)
    if source.store.notice:
        st.warning(plain(source.store.notice), icon=":material/build:")
    st.caption(f"{'Demo account' if source.demo else plain(source.client.base_url)} · {plain(view.project)} / "
               f"{plain(view.env)} · "
               + (f"data as of {format_ms(as_of, view.tz)} {view.tz}" if as_of else "data not fetched yet"))
    if last is not None and last.outcome != "ok":
        st.warning(f"Could not refresh from LaunchDarkly: {plain(last.message)} Showing stored data; last good refresh: "
                   f"{format_ms(as_of, view.tz) + ' ' + view.tz if as_of else 'never'}.", icon=":material/cloud_off:")


def refresh_control(view: View) -> None:
    """Sidebar button: fetch what is new now instead of waiting for the cache to expire."""
    if st.button("Refresh data", icon=":material/refresh:", width="stretch",
                 help="Fetch new flag events from LaunchDarkly now (only what the store lacks)."):
        from_ms, to_ms = window(view)
        ensure_fresh(view, from_ms - (to_ms - from_ms), to_ms, force=True)
        st.cache_data.clear()
        report = st.session_state.get("last_report")
        if report is not None and not report.ok:
            st.toast(f"Refresh failed: {plain(report.error)}", icon=":material/cloud_off:")
        elif report is not None:
            st.toast(f"Refreshed: {report.events_added} new events", icon=":material/check:")


def format_time(ms: int | None, tz: str) -> str:
    return format_ms(ms, tz) if ms is not None else "—"


def auth_config() -> Any:
    import os

    from ldclient.access import auth_config as build

    try:
        secrets = st.secrets.to_dict()
    except Exception:  # no secrets.toml
        secrets = {}
    return build(secrets, os.environ)


@st.cache_data(ttl=600, show_spinner=False, max_entries=32)
def _lifecycle(source_id: str, view: View, version: int) -> dict[str, Any]:
    flags, statuses = flags_and_statuses(view.project, view.env)
    now = now_ms()
    events = project_events(view, now - 30 * 86_400_000, now + 1)
    return lifecycle.lifecycle_metrics(flags, statuses, events, view.env, production_envs(view.project), now)


def lifecycle_summary(view: View) -> dict[str, Any]:
    """LaunchDarkly's own flag-health view (stale share, statuses) plus promotion hygiene."""
    return _lifecycle(get_source().source_id, replace(view, flag=None, impact=(), query="",
                                                      experiments_only=False), _version(_key(view)))


@st.cache_data(ttl=600, show_spinner=False)
def _flag_keys(source_id: str, project: str) -> frozenset[str]:
    return frozenset(str(f.get("key")) for f in get_source().flags(project) if f.get("key"))


def flag_keys(project: str) -> set[str]:
    return set(_flag_keys(get_source().source_id, project))


def safe_code(text: str) -> str:
    """For text shown inside Markdown backticks: no backticks, bounded length, printable."""
    return "".join(ch if ch.isprintable() and ch != "`" else "?" for ch in text)[:80]


@st.cache_data(ttl=600, show_spinner=False, max_entries=16)
def _stale(source_id: str, project: str, env: str, version: int) -> pd.DataFrame:
    flags, statuses = flags_and_statuses(project, env)
    now = now_ms()
    events = project_events(View(project, env), now - 30 * 86_400_000, now + 1)
    return lifecycle.stale_flags_table(flags, statuses, events, env, now)


def stale_table(view: View) -> pd.DataFrame:
    return _stale(get_source().source_id, view.project, view.env, _version(_key(view)))


@st.cache_data(ttl=600, show_spinner=False, max_entries=16)
def _matrix(source_id: str, project: str, version: int) -> pd.DataFrame:
    flags, statuses = flags_and_statuses(project, None)
    now = now_ms()
    events = project_events(View(project, project_map()[project][0]), now - 90 * 86_400_000, now + 1)
    return lifecycle.status_matrix(flags, statuses, events)


def status_matrix(view: View) -> pd.DataFrame:
    return _matrix(get_source().source_id, view.project, _version(_key(view)))


def production_changes(view: View, from_ms: int, to_ms: int) -> pd.DataFrame:
    events = project_events(view, from_ms - 14 * 86_400_000, to_ms)
    changes = lifecycle.production_changes(events, production_envs(view.project), view.env)
    return changes[(changes["event_time"] >= from_ms) & (changes["event_time"] < to_ms)]


@st.cache_data(ttl=600, show_spinner=False, max_entries=8)
def _project_rows(source_id: str, from_ms: int, to_ms: int, tz: str, version: int) -> pd.DataFrame:
    from ldclient.report import project_rows as build

    return build(get_source(), from_ms, to_ms, tz)


def project_rows(view: View, from_ms: int, to_ms: int) -> pd.DataFrame:
    source = get_source()
    version = max((s.last_refresh.at_ms for s in source.store.summaries() if s.last_refresh), default=0)
    return _project_rows(source.source_id, from_ms, to_ms, view.tz, version)


def access_mode() -> Any:
    from ldclient.access import access_decision

    return access_decision(auth_config(), getattr(st, "user", None))


def format_times(values: Any, tz: str) -> list[str]:
    """Unix-ms column (nullable) as local "YYYY-MM-DD HH:MM" text, "—" where unknown."""
    ms = pd.to_numeric(pd.Series(values).astype("Float64"), errors="coerce")
    local = pd.to_datetime(ms, unit="ms", utc=True).dt.tz_convert(tz).dt.strftime("%Y-%m-%d %H:%M")
    return local.astype(object).where(local.notna(), "—").tolist()
