"""The dashboard's view as a link: every filter in the query string, parsed without ever failing.

A shared link must reopen exactly the same view, and a damaged one must degrade one parameter at
a time: each bad parameter yields a warning that names it and a fallback for that parameter only.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from .timeutil import MAX_RANGE_DAYS, MIN_MS, day_start_ms, zone_or_error
from .vocabulary import DAY_MS, HOUR_MS, MINUTE_MS
from .vocabulary import IMPACT_SIZES as IMPACT_CHOICES

RANGE_CHOICES = (7, 30, 90, 180)  # the sidebar's presets; a link may say any N days from 1 to MAX_RANGE_DAYS
DEFAULT_RANGE_DAYS = 30
KNOWN_PARAMS = (
    "project",
    "env",
    "from",
    "to",
    "range",
    "tz",
    "impact",
    "experiments",
    "global",
    "q",
    "flag",
    "app",
    "at",
    "window",
    "maintainer",
    "team",
    "tag",
    "stage",
    "owner",
    "changes_projects",
)
CLEANUP_STAGES = ("live", "ready_for_code_removal", "ready_to_archive", "deprecated", "archived")
OWNER_CHOICES = ("ok", "none", "not_a_member")
DEFAULT_HALF_WINDOW_MS = 2 * HOUR_MS  # Changes: the events within 2 hours either side of `at`
MAX_HALF_WINDOW_MS = DAY_MS
MAX_TEXT = 200  # the sidebar's text box takes no more; a longer `q` or `flag` is cut, with a warning
MIN_DATE = date(2000, 1, 1)  # timeutil.MIN_MS: LaunchDarkly has no events before that
MAX_NAMED = 5  # unknown parameters named in the warning; the rest are counted


@dataclass(frozen=True)
class View:
    """What a page shows. ``range_days`` set means a relative range; otherwise ``start``..``end`` (inclusive days)."""

    project: str
    env: str
    range_days: int | None = DEFAULT_RANGE_DAYS
    start: date | None = None
    end: date | None = None
    tz: str = "UTC"
    impact: tuple[str, ...] = ()
    experiments_only: bool = False
    include_global: bool = True
    query: str = ""
    flag: str | None = None
    apps: tuple[str, ...] = ()  # application keys: only the flags they evaluate (the union); () is all
    at: int | None = None  # Changes: the moment (Unix ms); None means now
    half_window_ms: int = DEFAULT_HALF_WINDOW_MS  # Changes: [at - w, at + w]
    # Cleanup: flags whose maintainer (email), maintainer team (key), tag, LaunchDarkly lifecycle stage or
    # owner status is any of these; () is all
    maintainers: tuple[str, ...] = ()
    teams: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    stages: tuple[str, ...] = ()
    owner_statuses: tuple[str, ...] = ()
    # Changes: only the events of these projects (the page names unknown ones in a warning); () is all
    changes_projects: tuple[str, ...] = ()

    def dates(self, today: date) -> tuple[date, date]:
        """First and last local day shown (inclusive)."""
        if self.range_days is not None or self.start is None or self.end is None:
            days = self.range_days or DEFAULT_RANGE_DAYS
            return today - timedelta(days=days - 1), today
        return self.start, self.end

    def window_ms(self, today: date) -> tuple[int, int]:
        """``[from, to)`` in Unix ms: local midnight of the first day to local midnight after the last."""
        first, last = self.dates(today)
        return day_start_ms(first, self.tz), day_start_ms(last + timedelta(days=1), self.tz)


@dataclass
class Parsed:
    view: View
    warnings: list[str] = field(default_factory=list)


def _one(params: Mapping[str, str | Sequence[str]], name: str) -> str | None:
    value = params.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        value = value[-1] if len(value) else ""
    return value.strip()


def _clean(text: str, limit: int = 40) -> str:
    """Shown back to the person in a warning: short, printable, no markup surprises."""
    text = "".join(ch if ch.isprintable() else "?" for ch in text)[:limit]
    return text.replace("`", "'")


def parse_moment(text: str, tz: str = "UTC") -> int:
    """An ISO datetime (in ``tz`` when it has no offset; ``Z`` is UTC), a bare date (its local midnight) or
    Unix ms, to Unix ms, exactly. Raises ValueError with the words to show; "now" is the caller's to handle."""
    value = text.strip()
    if re.fullmatch(r"[0-9]{11,14}", value):
        ms = int(value)
    else:
        try:
            if re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
                day = date.fromisoformat(value)
                return max(MIN_MS, day_start_ms(day, tz)) if day.year >= 2000 else _too_old(value)
            moment = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=zone_or_error(tz))
            delta = moment - datetime(1970, 1, 1, tzinfo=UTC)
        except (ValueError, OverflowError):
            raise ValueError(
                f"`{_clean(value)}` is not a time (use an ISO time such as 2026-11-30T14:05:00Z, or now)"
            ) from None
        ms = (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000
    return ms if ms >= MIN_MS else _too_old(value)


def _too_old(value: str) -> int:
    raise ValueError(f"`{_clean(value)}` is before 2000-01-01, when LaunchDarkly has no events")


def format_moment(ms: int) -> str:
    """Unix ms as the link writes it: ``2026-11-30T14:05:00Z`` (milliseconds only when there are some)."""
    moment = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=ms)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    return text + (f".{ms % 1000:03d}" if ms % 1000 else "") + "Z"


def parse_duration(text: str) -> int:
    """``2h``, ``90m``, ``1h30m``, ``1d`` to ms. Raises ValueError for anything else or zero."""
    value = text.strip().lower()
    match = re.fullmatch(r"(?:([0-9]{1,4})d)?\s*(?:([0-9]{1,5})h)?\s*(?:([0-9]{1,6})m(?:in)?)?", value)
    if not value or match is None:
        raise ValueError(f"`{_clean(text)}` is not a duration (use minutes or hours, for example 30m or 2h)")
    days, hours, minutes = (int(g) if g else 0 for g in match.groups())
    ms = days * DAY_MS + hours * HOUR_MS + minutes * MINUTE_MS
    if ms <= 0:
        raise ValueError(f"`{_clean(text)}` is not a duration above zero (for example 30m or 2h)")
    return ms


def format_duration(ms: int) -> str:
    """The link's ``window``: ``2h``, ``90m``, ``1h30m`` (whole minutes)."""
    hours, minutes = divmod(ms // MINUTE_MS, 60)
    return (f"{hours}h" if hours else "") + (f"{minutes}m" if minutes or not hours else "")


def clamp_dates(first: date, last: date, today: date) -> tuple[date, date]:
    """``first``..``last`` moved inside ``MIN_DATE``..``today`` (``first <= last`` stays true)."""
    low, high = min(MIN_DATE, today), today
    return min(max(first, low), high), min(max(last, low), high)


def parse_view(
    params: Mapping[str, str | Sequence[str]],
    projects: Mapping[str, Sequence[str]],
    *,
    today: date | Callable[[str], date],
    default_tz: str = "UTC",
    fallback: View | None = None,
    applications: Sequence[str] | None = None,
) -> Parsed:
    """Turn query parameters into a View. ``projects`` maps each project key to its environment keys
    (first is preferred: pass production first). ``today`` is a date, or a function of the view's timezone
    giving today there (a link's dates are judged in its own timezone). Never raises; every problem becomes
    a warning. ``applications`` are the account's application keys (None: ``app`` is taken unchecked)."""
    warnings: list[str] = []
    base = fallback

    project = _one(params, "project")
    keys = list(projects)
    default_project = base.project if base and base.project in projects else (keys[0] if keys else "")
    if project is None or project == "":
        project = default_project
    elif project not in projects:
        warnings.append(
            f"Unknown project `{_clean(project)}` in the link; showing `{_clean(default_project)}`."
        )
        project = default_project

    envs = list(projects.get(project, ()))
    default_env = (
        base.env
        if base and base.project == project and base.env in envs
        else ("production" if "production" in envs else (envs[0] if envs else ""))
    )
    env = _one(params, "env")
    if env is None or env == "":
        env = default_env
    elif env not in envs:
        warnings.append(
            f"Unknown environment `{_clean(env)}` in project `{_clean(project)}`; showing "
            f"`{_clean(default_env)}`."
        )
        env = default_env

    tz = _one(params, "tz") or (base.tz if base else default_tz)
    try:
        zone_or_error(tz)
    except ValueError:
        warnings.append(f"Unknown timezone `{_clean(tz)}`; using {default_tz}.")
        tz = default_tz
    day = today(tz) if callable(today) else today

    range_days: int | None = base.range_days if base else DEFAULT_RANGE_DAYS
    start = base.start if base else None
    end = base.end if base else None
    raw_range, raw_from, raw_to = _one(params, "range"), _one(params, "from"), _one(params, "to")
    if raw_range:
        match = re.fullmatch(r"([0-9]+)\s*[dD]", raw_range)
        days = (
            int(match.group(1))
            if match and len(match.group(1)) <= 9
            else (MAX_RANGE_DAYS + 1 if match else 0)
        )
        if days > MAX_RANGE_DAYS:
            warnings.append(
                f"The range `{_clean(raw_range)}` is longer than {MAX_RANGE_DAYS} days (5 years); "
                f"showing the last {MAX_RANGE_DAYS} days."
            )
            range_days, start, end = MAX_RANGE_DAYS, None, None
        elif days >= 1:
            range_days, start, end = days, None, None
        else:
            warnings.append(
                f"Bad range `{_clean(raw_range)}` (use N days, for example 14d, from 1d to "
                f"{MAX_RANGE_DAYS}d); showing the last {DEFAULT_RANGE_DAYS} days."
            )
            range_days, start, end = DEFAULT_RANGE_DAYS, None, None
    elif raw_from or raw_to:
        parsed: dict[str, date | None] = {}
        for name, raw in (("from", raw_from), ("to", raw_to)):
            try:
                parsed[name] = date.fromisoformat(raw) if raw else None
            except ValueError:
                warnings.append(f"Bad `{name}` date `{_clean(raw or '')}` (use YYYY-MM-DD); ignoring it.")
                parsed[name] = None
        first, last = parsed["from"], parsed["to"]
        if first and last and first > last:
            warnings.append(
                f"`from` ({first}) is after `to` ({last}); showing the last {DEFAULT_RANGE_DAYS} days."
            )
            first = last = None
        too_old = []
        for name, value in (("from", first), ("to", last)):
            if value is not None and value > day:
                warnings.append(
                    f"`{name}` ({value}) is in the future (today is {day} in `{tz}`); showing up to today."
                )
            elif value is not None and value < MIN_DATE:
                too_old.append(
                    f"`{name}` ({value}) is before {MIN_DATE}, when LaunchDarkly has no events; "
                    f"showing from {MIN_DATE}."
                )
        if first is None and last is None:
            range_days, start, end = DEFAULT_RANGE_DAYS, None, None
        else:
            last = last or day
            if first is None:
                first = max(MIN_DATE, min(last, day)) - timedelta(days=DEFAULT_RANGE_DAYS - 1)
            first, last = clamp_dates(first, last, day)
            if (last - first).days >= MAX_RANGE_DAYS:  # says enough about a `from` before 2000 too
                too_old = [w for w in too_old if w.startswith("`to`")]
                too_old.append("The range is longer than 5 years; showing its last 5 years.")
                first = last - timedelta(days=MAX_RANGE_DAYS - 1)
            warnings.extend(too_old)
            range_days, start, end = None, first, last

    impact: tuple[str, ...] = base.impact if base else ()
    raw_impact = _one(params, "impact")
    if raw_impact is not None:
        wanted = [s.strip().lower() for s in raw_impact.split(",") if s.strip()]
        bad = [s for s in wanted if s not in IMPACT_CHOICES]
        if bad:
            warnings.append(f"Unknown impact size `{_clean(bad[0])}`; use none, small, medium or large.")
        impact = tuple(s for s in IMPACT_CHOICES if s in wanted)

    def flag_param(name: str, default: bool, true: str, false: str) -> bool:
        raw = _one(params, name)
        if raw is None or raw == "":
            return default
        if raw.lower() in (true, "1", "true", "yes"):
            return True
        if raw.lower() in (false, "0", "false", "no"):
            return False
        warnings.append(f"Bad `{name}` value `{_clean(raw)}`; use {true} or {false}.")
        return default

    experiments_only = flag_param("experiments", base.experiments_only if base else False, "only", "all")
    include_global = flag_param("global", base.include_global if base else True, "include", "exclude")

    def text(name: str) -> str:  # cut, then strip: what the link writes must read back the same
        raw = params.get(name)
        raw = raw if isinstance(raw, str) else (raw[-1] if raw else "")
        if len(raw) > MAX_TEXT:
            warnings.append(
                f"`{name}` in the link is {len(raw):,} characters long; only its first {MAX_TEXT} "
                f"are used (`{_clean(raw)}…`)."
            )
        return raw[:MAX_TEXT].strip()

    query = text("q") if "q" in params else (base.query if base else "")
    flag = (text("flag") or None) if "flag" in params else (base.flag if base else None)

    apps: tuple[str, ...] = base.apps if base else ()
    raw_apps = _one(params, "app")
    if raw_apps is not None:
        wanted_apps = list(dict.fromkeys(a.strip() for a in raw_apps.split(",") if a.strip()))
        known_apps = None if applications is None else set(applications)
        bad_apps = [a for a in wanted_apps if known_apps is not None and a not in known_apps]
        if bad_apps:
            named = ", ".join(f"`{_clean(a)}`" for a in bad_apps[:MAX_NAMED])
            more = len(bad_apps) - MAX_NAMED
            warnings.append(
                f"Unknown application{'s' if len(bad_apps) > 1 else ''} {named}"
                + (f" and {more} more" if more > 0 else "")
                + " in the link; "
                + (
                    "showing the others."
                    if len(bad_apps) < len(wanted_apps)
                    else "showing every application."
                )
            )
        apps = tuple(a[:MAX_TEXT] for a in wanted_apps if a not in bad_apps)

    at: int | None = base.at if base else None
    raw_at = _one(params, "at")
    if raw_at is not None:
        if raw_at == "" or raw_at.lower() == "now":
            at = None
        else:
            try:
                at = parse_moment(raw_at, tz)
            except ValueError as exc:
                warnings.append(f"Bad `at` in the link: {exc}; showing the changes around now.")
                at = None
            if at is not None and at >= day_start_ms(day + timedelta(days=1), tz):
                warnings.append(
                    f"`at` ({_clean(raw_at)}) is in the future (today is {day} in `{tz}`); "
                    "showing the changes around now."
                )
                at = None
    half_window = base.half_window_ms if base else DEFAULT_HALF_WINDOW_MS
    raw_window = _one(params, "window")
    if raw_window:
        try:
            half_window = parse_duration(raw_window)
        except ValueError as exc:
            warnings.append(f"Bad `window` in the link: {exc}; showing ±2h.")
            half_window = DEFAULT_HALF_WINDOW_MS
        if half_window > MAX_HALF_WINDOW_MS:
            warnings.append(
                f"The window `{_clean(raw_window)}` is longer than 24 hours either side; showing ±24h."
            )
            half_window = MAX_HALF_WINDOW_MS

    def listed(
        name: str, current: tuple[str, ...], choices: tuple[str, ...] | None = None
    ) -> tuple[str, ...]:
        raw = _one(params, name)
        if raw is None:
            return current
        wanted = list(dict.fromkeys(v.strip()[:MAX_TEXT] for v in raw.split(",") if v.strip()))
        if choices is None:
            return tuple(wanted)
        bad = [v for v in wanted if v not in choices]
        if bad:
            warnings.append(
                f"Unknown `{name}` value `{_clean(bad[0])}`; use {', '.join(f'`{c}`' for c in choices)}."
            )
        return tuple(v for v in choices if v in wanted)

    maintainers = listed("maintainer", base.maintainers if base else ())
    teams = listed("team", base.teams if base else ())
    tags = listed("tag", base.tags if base else ())
    stages = listed("stage", base.stages if base else (), CLEANUP_STAGES)
    owner_statuses = listed("owner", base.owner_statuses if base else (), OWNER_CHOICES)
    changes_projects = listed("changes_projects", base.changes_projects if base else ())

    unknown = [k for k in params if k not in KNOWN_PARAMS]  # in the link's order
    if unknown:
        named = ", ".join(f"`{_clean(k, 24)}`" for k in unknown[:MAX_NAMED])
        more = len(unknown) - MAX_NAMED
        warnings.append(
            f"Ignored unknown link parameter{'s' if len(unknown) > 1 else ''} {named}"
            + (f" and {more} more." if more > 0 else ".")
        )
    view = View(
        project=project,
        env=env,
        range_days=range_days,
        start=start,
        end=end,
        tz=tz,
        impact=impact,
        experiments_only=experiments_only,
        include_global=include_global,
        query=query,
        flag=flag,
        apps=apps,
        at=at,
        half_window_ms=half_window,
        maintainers=maintainers,
        teams=teams,
        tags=tags,
        stages=stages,
        owner_statuses=owner_statuses,
        changes_projects=changes_projects,
    )
    return Parsed(view, warnings)


def encode_view(view: View, *, today: date, absolute: bool = False, with_flag: bool = True) -> dict[str, str]:
    """The query parameters of a view: relative (``range=30d``) or absolute dates, defaults left out."""
    out: dict[str, str] = {"project": view.project, "env": view.env}
    if absolute or view.range_days is None:
        first, last = view.dates(today)
        out["from"], out["to"] = first.isoformat(), last.isoformat()
    else:
        out["range"] = f"{view.range_days}d"
    if view.tz != "UTC":
        out["tz"] = view.tz
    if view.impact:
        out["impact"] = ",".join(view.impact)
    if view.experiments_only:
        out["experiments"] = "only"
    if not view.include_global:
        out["global"] = "exclude"
    if view.query:
        out["q"] = view.query
    if with_flag and view.flag:
        out["flag"] = view.flag
    if view.apps:
        out["app"] = ",".join(view.apps)
    if view.at is not None:
        out["at"] = format_moment(view.at)
    if view.at is not None or view.half_window_ms != DEFAULT_HALF_WINDOW_MS:
        out["window"] = format_duration(view.half_window_ms)
    for name, values in (
        ("maintainer", view.maintainers),
        ("team", view.teams),
        ("tag", view.tags),
        ("stage", view.stages),
        ("owner", view.owner_statuses),
        ("changes_projects", view.changes_projects),
    ):
        if values:
            out[name] = ",".join(values)
    return out
