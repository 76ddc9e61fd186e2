"""The view as sidebar widgets and as the link: parsed once per run, written back when it changes."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from urllib.parse import urlencode

import streamlit as st

from ldclient.applications import Application
from ldclient.errors import LDError
from ldclient.links import (
    DEFAULT_HALF_WINDOW_MS,
    MAX_TEXT,
    MIN_DATE,
    RANGE_CHOICES,
    View,
    clamp_dates,
    encode_view,
    parse_view,
)
from ldclient.timeutil import timezone_names, zone_or_error
from ldclient.vocabulary import IMPACT_SIZES as IMPACT_CHOICES

from .loaders import project_map, project_names, today
from .startup import get_source
from .text import safe_code

COMMON_ZONES = (
    "UTC",
    "Europe/London",
    "Europe/Berlin",
    "America/New_York",
    "America/Los_Angeles",
    "Asia/Tokyo",
    "Asia/Kolkata",
    "Australia/Sydney",
)


CLEANUP_FILTERS = ("maintainers", "teams", "tags", "stages", "owner_statuses")


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
    ss["w_apps"] = list(view.apps)
    ss["at"], ss["half_window"] = view.at, view.half_window_ms
    for name in CLEANUP_FILTERS:  # the Cleanup page's filters: f_* holds them across pages, w_* is its widget
        ss[f"f_{name}"] = tuple(getattr(view, name))
        ss[f"w_{name}"] = list(getattr(view, name))


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
    applications = _applications()
    params = _query_dict()
    url_key = urlencode(sorted(params.items()))
    link_opened = bool(params and ss.get("_written_url") != url_key or "w_project" not in ss)
    if link_opened:
        # A link was opened (or edited by hand): it decides the view, one warning per bad parameter.
        fallback = ss.get("view")
        parsed = parse_view(
            params,
            projects,
            today=today,
            default_tz=default_tz,
            fallback=fallback if not params else None,
            applications=[a.key for a in applications],
        )
        ss["link_warnings"] = parsed.warnings
        _apply_to_widgets(parsed.view)

    names = project_names()
    previous = ss.get("view")
    with st.sidebar:
        labels = _project_labels(list(projects), names)
        project = st.selectbox(
            "Project",
            list(projects),
            key="w_project",
            format_func=lambda key: labels.get(key, key),
            help="Projects by name; the caption below gives the key that links use.",
        )
        assert project is not None  # the list is not empty (checked above) and the box has no empty choice
        st.caption(f"Key: `{safe_code(project)}`")
        envs = projects[project]
        if ss.get("w_env") not in envs:
            ss["w_env"] = envs[0] if envs else ""
        env = st.selectbox("Environment", envs, key="w_env")
        apps = _application_picker(applications)
        view_tz = _valid_zone(ss.get("w_tz"), default_tz)
        extra = ss.get("_extra_range")
        presets = sorted({*RANGE_CHOICES, *([extra] if extra else [])})
        range_options = [f"{d}d" for d in presets] + ["Custom"]
        if ss.get("w_range") not in range_options:
            ss["w_range"] = "Custom"
            ss.setdefault("w_dates", _fallback_dates(previous, view_tz))
        choice = st.segmented_control("Date range", range_options, key="w_range", format_func=_range_label)
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
        ss["_more_open"] = bool(
            ss.get("_more_open")
            or ss.get("w_impact")
            or ss.get("w_exp")
            or ss.get("w_q")
            or not ss.get("w_global", True)
        )
        with st.expander("More filters", expanded=ss["_more_open"]):
            impact = st.multiselect(
                "Impact size",
                IMPACT_CHOICES,
                key="w_impact",
                help="Share of evaluations whose variation changed: none 0 %, small < 20 %, "
                "medium 20–80 %, large > 80 %.",
            )
            experiments_only = st.toggle("Only events on flags with experiments", key="w_exp")
            include_global = st.toggle(
                "Include global (flag-level) events",
                key="w_global",
                help="Renames, tag and description changes apply to every environment.",
            )
            query = st.text_input("Flag key contains", key="w_q", max_chars=MAX_TEXT)
    view = View(
        project=project,
        env=env,
        range_days=range_days,
        start=start,
        end=end,
        tz=tz,
        impact=tuple(s for s in IMPACT_CHOICES if s in impact),
        experiments_only=experiments_only,
        include_global=include_global,
        query=query.strip(),
        flag=ss.get("flag"),
        apps=tuple(apps),
        at=ss.get("at"),
        half_window_ms=ss.get("half_window") or DEFAULT_HALF_WINDOW_MS,
        **{name: tuple(ss.get(f"f_{name}", ())) for name in CLEANUP_FILTERS},
    )
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


def _applications() -> list[Application]:
    """The account's applications (store-cached, fetched when their TTL ran out); none when the token may not
    read them, with the reason kept for the sidebar."""
    try:
        found = get_source().applications()
    except LDError as exc:
        st.session_state["_apps_error"] = str(exc)
        return []
    st.session_state["_apps_error"] = None
    return found


def _application_picker(applications: list[Application]) -> list[str]:
    """The ``app`` filter: several applications allowed, the union of the flags they evaluate."""
    ss = st.session_state
    known = [a.key for a in applications]
    ss["w_apps"] = [a for a in ss.get("w_apps") or [] if a in known]
    if not applications:
        if ss.get("_apps_error"):
            st.caption("Applications could not be read, so there is no application filter.")
        return []
    names = {a.key: a.name for a in applications}
    picked = st.multiselect(
        "Applications",
        known,
        key="w_apps",
        format_func=lambda k: names.get(k) or k,
        placeholder="All applications",
        help="Only the flags these applications evaluate (and their events), on every page.",
    )
    return [a for a in known if a in picked]


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
    return (
        f"The custom range {first} – {last} reaches outside {MIN_DATE} – {day} (today in `{tz}`); "
        f"showing {fixed[0]} – {fixed[1]}."
    )


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
    relative = urlencode(
        encode_view(
            replace(view, range_days=view.range_days or 30, start=None, end=None)
            if view.range_days
            else view,
            today=d,
        )
    )
    return f"{base}?{absolute}", f"{base}?{relative}"
