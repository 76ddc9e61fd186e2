"""What changed around a moment: every flag event of every project and environment within ``[at − w, at + w]``.

The first question in an incident is "did someone change a flag?". :func:`changes_around` answers it across
the account (or a chosen subset of projects): it brings the store up to date for that small window only,
through the ordinary incremental refresh (what the store already covers is not fetched again; no
flag-events request spans more than the window plus the client's 1 ms overlap), every key at once in a
bounded thread pool whose requests all share one rate gate, then reads the events back from the store.

Rows come production-like (critical) environments first, then by impact (large, medium, small, none,
unknown), then by closeness to ``at``. Global (flag-level) events, which LaunchDarkly lists in every
environment of their project, appear once per project with no environment, after the production-like rows.
Both edges of the window are included.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import pandas as pd

from . import applications as app_filter
from . import summaries
from .api.client import RateGate
from .errors import LDError, PermissionDeniedError
from .frame import events_to_frame
from .lifecycle import production_like
from .links import View, encode_view, format_moment
from .source import DataSource
from .sync import RefreshPlan, now_ms, refresh_keys
from .timeutil import local_date
from .vocabulary import IMPACT_SIZES

MAX_WORKERS = 16  # keys refreshed side by side in one event loop; their requests share one rate gate
IMPACT_RANK = {size: rank for rank, size in enumerate(reversed(IMPACT_SIZES))}  # large 0 … none 3
UNKNOWN_IMPACT_RANK = len(IMPACT_SIZES)
DETAIL_PAGE = "flag_detail"  # the dashboard's flag-detail page (its url path)


@dataclass(frozen=True)
class VariationSplit:
    """One variation's evaluations before and after the change, and its share of each."""

    value: str
    before: int
    after: int
    before_share: float | None
    after_share: float | None


@dataclass(frozen=True)
class Change:
    id: str
    project: str
    environment: str | None  # None: a global (flag-level) event
    critical: bool  # a production-like environment
    flag_key: str
    event_time: int  # Unix ms
    impact_size: str | None
    impact_percentage: float | None
    member: str | None
    description: str | None
    variations: tuple[VariationSplit, ...]
    flag_detail: str  # the dashboard's flag detail of this flag and day(s): a link relative to the dashboard
    launchdarkly: str  # the flag in LaunchDarkly

    def offset_ms(self, at: int) -> int:
        return self.event_time - at

    @property
    def split(self) -> str:
        """The variation split before and after, for people: ``true 12.0% → 95.0% · false 88.0% → 5.0%``."""
        return split_text(self.variations)

    def record(self, at: int) -> dict[str, Any]:
        """The row as JSON: ``event_time`` in ISO (UTC), the raw ms and the signed distance from ``at`` too."""
        return {
            "id": self.id,
            "project": self.project,
            "environment": self.environment,
            "critical": self.critical,
            "flag_key": self.flag_key,
            "event_time": format_moment(self.event_time),
            "event_time_ms": self.event_time,
            "offset_seconds": self.offset_ms(at) / 1000,
            "impact_size": self.impact_size,
            "impact_percentage": self.impact_percentage,
            "member": self.member,
            "description": self.description,
            "variations": [{"value": v.value, "before": v.before, "after": v.after} for v in self.variations],
            "split": self.split,
            "flag_detail": self.flag_detail,
            "launchdarkly": self.launchdarkly,
        }


@dataclass
class ChangesResult:
    at: int
    half_window_ms: int
    rows: list[Change] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    keys: int = 0  # (project, environment) keys looked at
    requests: int = 0  # flag-events requests made to bring them up to date

    @property
    def start(self) -> int:
        return self.at - self.half_window_ms

    @property
    def end(self) -> int:
        return self.at + self.half_window_ms

    def records(self) -> list[dict[str, Any]]:
        return [row.record(self.at) for row in self.rows]


def _value_label(value: Any, limit: int = 30) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, ensure_ascii=False)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def variation_splits(variations: Any) -> tuple[VariationSplit, ...]:
    """A frame's ``variations`` cell (``ldclient.summaries``) as splits with shares."""
    rows = summaries.decoded(variations)
    before_total = sum(before for _, before, _ in rows)
    after_total = sum(after for _, _, after in rows)
    return tuple(
        VariationSplit(
            value=_value_label(value),
            before=before,
            after=after,
            before_share=before / before_total if before_total else None,
            after_share=after / after_total if after_total else None,
        )
        for value, before, after in rows
    )


def split_text(splits: Sequence[VariationSplit]) -> str:
    def pct(share: float | None) -> str:
        return "—" if share is None else f"{100 * share:.1f}%"

    return " · ".join(f"{s.value} {pct(s.before_share)} → {pct(s.after_share)}" for s in splits)


def select_changes(
    frame: pd.DataFrame,
    at: int,
    half_window_ms: int,
    critical: Mapping[tuple[str, str], bool],
    *,
    detail: Callable[[str, str | None, str], str] | None = None,
    launchdarkly: Callable[[str, str | None, str], str] | None = None,
) -> list[Change]:
    """The events of ``frame`` (any projects and environments) within ``[at − w, at + w]``, both edges
    included, each once (a global event, stored under every environment of its project, once per project),
    ordered: production-like environments first, then by impact, then by closeness to ``at``, then by id.
    ``critical`` maps (project, environment) to whether it is production-like."""
    if frame.empty:
        return []
    times = pd.to_numeric(frame["event_time"]).to_numpy(dtype="int64")
    inside = frame[(times >= at - half_window_ms) & (times <= at + half_window_ms)]
    envs = inside["environment_key"].astype("string")
    inside = inside.assign(scope_=envs.fillna("\x00global"))
    inside = inside.drop_duplicates(["project_key", "id", "scope_"])
    is_global = inside["scope_"] == "\x00global"
    inside = pd.concat([inside[~is_global], inside[is_global].drop_duplicates(["project_key", "id"])])
    out = []
    for row in inside.itertuples(index=False):
        project = str(row.project_key)
        env = None if row.scope_ == "\x00global" else str(row.scope_)
        size = row.impact_size if isinstance(row.impact_size, str) else None
        pct = float(row.impact_percentage) if pd.notna(row.impact_percentage) else None
        email = row.member_email if isinstance(row.member_email, str) and row.member_email else None
        name = row.member_name if isinstance(row.member_name, str) and row.member_name else None
        flag = str(row.flag_key)
        out.append(
            Change(
                id=str(row.id),
                project=project,
                environment=env,
                critical=bool(env is not None and critical.get((project, env), False)),
                flag_key=flag,
                event_time=int(row.event_time),
                impact_size=size,
                impact_percentage=pct,
                member=email or name,
                description=row.description if isinstance(row.description, str) else None,
                variations=variation_splits(row.variations),
                flag_detail=detail(project, env, flag) if detail else "",
                launchdarkly=launchdarkly(project, env, flag) if launchdarkly else "",
            )
        )
    out.sort(
        key=lambda c: (
            not c.critical,
            IMPACT_RANK.get(c.impact_size or "", UNKNOWN_IMPACT_RANK),
            abs(c.event_time - at),
            c.event_time,
            c.id,
        )
    )
    return out


def detail_query(
    project: str, env: str, flag: str, at: int, half_window_ms: int, *, tz: str = "UTC", now: int
) -> dict[str, str]:
    """The dashboard link (query parameters) of the flag's detail on the day(s) of the window (up to today),
    keeping ``at`` and the window."""
    first = local_date(at - half_window_ms, tz)
    last = max(first, min(local_date(at + half_window_ms, tz), local_date(now, tz)))
    view = View(
        project,
        env,
        range_days=None,
        start=first,
        end=last,
        tz=tz,
        flag=flag,
        at=at,
        half_window_ms=half_window_ms,
    )
    return encode_view(view, today=last)


def changes_around(
    source: DataSource,
    at: int,
    half_window_ms: int,
    *,
    projects: Sequence[str] | None = None,
    apps: Sequence[str] = (),
    tz: str = "UTC",
    now: int | None = None,
    max_workers: int = MAX_WORKERS,
    max_staleness_ms: int = 0,
) -> ChangesResult:
    """Every flag event within ``[at − w, at + w]`` of every project and environment the token can read (or
    of ``projects``), narrowed to the flags of ``apps`` when given. Never raises for one key's trouble: a
    project the token may not read (403) is named in a warning and the rest is shown; another failure is a
    warning and what the store holds is shown. Raises LDError when the projects cannot be listed at all, and
    ValueError for an unknown project in ``projects``. ``max_staleness_ms``: a newest part of the window
    younger than that is not fetched again (the dashboard refreshes at most every few minutes)."""
    now = now if now is not None else now_ms()
    result = ChangesResult(at=at, half_window_ms=half_window_ms)
    listed = source.projects()
    if projects:
        known = {p.key for p in listed}
        unknown = [p for p in projects if p not in known]
        if unknown:
            raise ValueError(
                f"unknown project {unknown[0][:60]!r}; known: {', '.join(sorted(known)) or 'none'}"
            )
        listed = [p for p in listed if p.key in set(projects)]
    critical: dict[tuple[str, str], bool] = {}
    keys: list[tuple[str, str]] = []
    for project in listed:
        envs = [{"key": e.key, "critical": e.critical} for e in project.environments]
        production = production_like(envs)
        for env in project.environments:
            keys.append((project.key, env.key))
            critical[(project.key, env.key)] = env.key in production
    result.keys = len(keys)
    start, end = at - half_window_ms, at + half_window_ms + 1  # the store's ranges are [from, to)

    store_keys = [source.key(*key) for key in keys]
    # One event loop for every key: one connection pool and one rate gate (a 429 slows them all).
    client = source.client.with_shared_gate(RateGate(initial=8, maximum=max_workers))
    plan = RefreshPlan(start, end, now=now, max_staleness_ms=max_staleness_ms)
    reports = refresh_keys(client, source.store, store_keys, plan, max_keys_at_once=max_workers)
    denied: dict[str, None] = {}
    # The window is small: its raw events, read by the index on (key, time) and flattened once into one
    # frame, cost far less than a columnar load per key (400 of them) and a concat of their categories.
    items: list[Any] = []
    for key, report in zip(keys, reports, strict=True):
        result.requests += report.requests
        if isinstance(report.error, PermissionDeniedError):
            denied[key[0]] = None
            continue
        if report.error is not None:
            result.warnings.append(
                f"Could not refresh {key[0]} / {key[1]} from LaunchDarkly ({_short(report.error)}); "
                "showing what the store holds."
            )
        items.extend(source.store.iter_raw(source.key(*key), start, end))
    for name in denied:
        result.warnings.append(
            f"The token may not read the flag events of project `{name}` (LaunchDarkly answered 403); "
            "its changes are not shown."
        )
    if not items:
        return result
    frame = events_to_frame(items)
    if apps:
        stored = source.stored_applications()
        parts = [
            app_filter.filter_events(part, app_filter.flag_keys(stored, apps, str(project)))
            for project, part in frame.groupby("project_key", observed=True, sort=False)
        ]
        frame = pd.concat(parts, ignore_index=True) if parts else frame.iloc[0:0]
    first_env = {p.key: (p.environments[0].key if p.environments else "") for p in listed}
    production_first = {
        p: next((e for (q, e), c in critical.items() if q == p and c), first_env[p]) for p in first_env
    }

    def detail(project: str, env: str | None, flag: str) -> str:
        target = env or production_first.get(project, "")
        query = detail_query(project, target, flag, at, half_window_ms, tz=tz, now=now)
        return f"{DETAIL_PAGE}?{urlencode(query)}"

    result.rows = select_changes(
        frame, at, half_window_ms, critical, detail=detail, launchdarkly=source.flag_url
    )
    return result


def _short(error: LDError) -> str:
    text = str(error)
    return text if len(text) <= 160 else text[:159] + "…"


TABLE_COLUMNS = (
    "id",
    "where",
    "project",
    "environment",
    "critical",
    "flag_key",
    "event_time",
    "offset",
    "impact_size",
    "impact_percentage",
    "member",
    "description",
    "split",
    "flag_detail",
    "launchdarkly",
)
CSV_COLUMNS = (  # the records of ``python -m ldclient changes --format json``, less the nested variations
    "id",
    "project",
    "environment",
    "critical",
    "flag_key",
    "event_time",
    "event_time_ms",
    "offset_seconds",
    "impact_size",
    "impact_percentage",
    "member",
    "description",
    "split",
    "flag_detail",
    "launchdarkly",
)


def changes_csv(result: ChangesResult) -> bytes:
    """The rows as CSV (UTF-8 with a byte-order mark, text safe to open in a spreadsheet): ``event_time`` in
    ISO (UTC), the offset from ``at`` in seconds, the impact percentage with one decimal."""
    from .export import csv_bytes

    frame = pd.DataFrame(result.records(), columns=list(CSV_COLUMNS))
    return csv_bytes(frame, decimals={"impact_percentage": 1})


def format_offset(ms: int) -> str:
    """The signed distance from ``at`` for people: ``−1 h 05 min``, ``+12 min``, ``+40 s``, ``0 s``."""
    sign = "−" if ms < 0 else "+" if ms > 0 else ""
    seconds = abs(ms) // 1000
    if seconds < 60:
        return f"{sign}{seconds} s"
    hours, minutes = divmod(seconds // 60, 60)
    return f"{sign}{hours} h {minutes:02d} min" if hours else f"{sign}{minutes} min"


def changes_table(result: ChangesResult, tz: str = "UTC") -> pd.DataFrame:
    """The rows as the Changes page shows them (and its CSV holds): local time, offset text, the split."""
    from .timeutil import format_ms

    rows = [
        {
            "id": c.id,
            "where": f"{c.project} / {c.environment or '(global)'}",
            "project": c.project,
            "environment": c.environment or "(global)",
            "critical": c.critical,
            "flag_key": c.flag_key,
            "event_time": format_ms(c.event_time, tz, "%Y-%m-%d %H:%M:%S"),
            "offset": format_offset(c.offset_ms(result.at)),
            "impact_size": c.impact_size or "unknown",
            "impact_percentage": c.impact_percentage,
            "member": c.member or "",
            "description": c.description or "",
            "split": c.split,
            "flag_detail": c.flag_detail,
            "launchdarkly": c.launchdarkly,
        }
        for c in result.rows
    ]
    return pd.DataFrame(rows, columns=list(TABLE_COLUMNS))
