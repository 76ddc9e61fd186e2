"""Flag health over months: a daily snapshot of what events cannot tell later, and the days before it rebuilt.

A flag's status (new, active, launched, inactive) and so its stale verdict exist only now: LaunchDarkly keeps no
history of them. ``take_snapshot`` records them, with the day's figures, once per key and day
(``record_snapshot``; a later one the same day replaces it). What the events and the flags' metadata do
determine (temporary flags alive on a day, from creation and archive dates; events, rollbacks and flapping
flags; time to production; time in cleanup) is rebuilt for every day, recorded or not. ``history_frame``
joins both, one row per day, ``observed`` telling which days have a snapshot. Definitions: docs/HISTORY.md.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd

from . import lifecycle, metrics
from .errors import LDError
from .lifecycle.core import STALE_MIN_AGE_MS
from .snapshot import SnapshotInputs, stages_of, take_snapshot, utc_day
from .source import DataSource
from .store import EventStore, StoreKey
from .store.snapshots import Snapshot
from .timeutil import day_start_ms
from .vocabulary import DAY_MS, STATUS_NAMES

SNAPSHOT_FRESH_MS = 5 * 60_000  # the dashboard records again after a refresh, at most this often
FLAPPING_WINDOW_MS = 7 * DAY_MS

# one row per day: the recorded figures (None on a reconstructed day) and the rebuilt ones (every day)
OBSERVED_ONLY = (  # what only a snapshot knows: statuses, and so stale verdicts, have no history
    "stale_flags",
    "stale_share",
    "statuses",
    "lifecycle_stages",
    "timeline_stages",
    "flags_without_owner",
    "flags_with_code_references",
    "median_flag_age_days",
    "median_days_to_production",
    "median_days_in_cleanup",
)
REBUILT = ("flags", "events", "rollbacks", "flapping_flags")
RECORD_FIELDS = ("date", "observed", "temporary_flags", *OBSERVED_ONLY, *REBUILT)


# --- taking a snapshot ------------------------------------------------------------------------------------


def _optional(fetch: Any) -> Any:
    try:
        return fetch()
    except LDError:
        return None  # not readable with this token (or switched off): unknown, not a failure


def snapshot_inputs(
    source: DataSource, project: str, env: str, now: int, *, with_archived: bool = True
) -> SnapshotInputs:
    """Read (fetching where a TTL ran out) what a snapshot of (project, env) needs, which is also what the
    Cleanup report's lifecycle stages read. Events are read from the store only: the caller refreshed them
    (``sync``, the dashboard's loaders, ``metrics``, ``cleanup``). ``with_archived=False`` leaves the archived
    flags out (not fetched, not staged)."""
    environments = source.environments(project)
    if env not in [e.key for e in environments]:
        raise ValueError(f"unknown environment {env!r} in project {project!r}")
    envs = [{"key": e.key, "critical": e.critical} for e in environments]
    critical = lifecycle.critical_environments(envs)
    flags = source.flags(project)
    archived = (_optional(lambda: source.archived_flags(project)) or []) if with_archived else []
    items = (
        lifecycle.merge_flag_configs(*[source.flag_configs(project, e) for e in sorted(critical)])
        if critical
        else flags
    )
    statuses = pd.concat(
        [lifecycle.statuses_to_frame(source.statuses(project, e), e) for e in sorted(critical | {env})],
        ignore_index=True,
    )
    history_from = now - source.settings.history_days * DAY_MS
    frames = [
        source.store.load_frame(source.key(project, e.key), history_from, now + 1) for e in environments
    ]
    events = pd.concat([f for f in frames if len(f)] or frames[:1], ignore_index=True)
    code = _optional(lambda: source.code_refs(project))
    return SnapshotInputs(
        flags=flags,
        archived=archived,
        items=[*items, *archived],
        statuses=statuses,
        critical=critical,
        production=lifecycle.production_like(envs),
        events=events.drop_duplicates("id") if "id" in events else events,
        code_refs=lifecycle.code_refs_to_frame(code) if isinstance(code, dict) else None,
        members=_optional(source.members),
        teams=_optional(source.teams),
        history_from_ms=history_from,
    )


def record_snapshot(source: DataSource, project: str, env: str, now: int) -> Snapshot:
    """Take today's snapshot of (project, env) and store it (replacing one taken earlier today).

    On the demo account, a key without earlier snapshots first gets the demo's recorded past
    (``demo.history``), so its History charts have months to show."""
    key = source.key(project, env)
    inputs = snapshot_inputs(source, project, env, now)
    stages = stages_of(inputs, env, now)  # once for both: it is the costliest part of a snapshot
    snap = take_snapshot(inputs, env, now, stages)
    if source.demo and not source.store.snapshots(key, "0001-01-01", utc_day(now - DAY_MS)):
        from .demo.history import seeded_snapshots

        source.store.put_snapshots(key, seeded_snapshots(inputs, env, snap, stages=stages))
    source.store.put_snapshot(key, snap)
    return snap


def snapshot_is_recent(store: EventStore, key: StoreKey, now: int) -> bool:
    """Today's snapshot exists and no refresh came after it (within ``SNAPSHOT_FRESH_MS``): nothing to record."""
    latest = store.latest_snapshot(key)
    if latest is None or latest.day != utc_day(now):
        return False
    refreshed = store.last_refresh(key)
    after = refreshed is not None and refreshed.at_ms > latest.taken_ms
    return not (after and now - latest.taken_ms >= SNAPSHOT_FRESH_MS)


# --- the days: observed and rebuilt -----------------------------------------------------------------------


def local_days(from_day: date, to_day: date) -> list[date]:
    return [from_day + timedelta(days=n) for n in range((to_day - from_day).days + 1)]


def _alive_counts(flags: pd.DataFrame, ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Flags and temporary flags alive at each of ``ends`` (ms): created by then, not yet archived."""
    created = pd.to_numeric(flags["creation_date"], errors="coerce").to_numpy(
        dtype="float64", na_value=np.nan
    )
    archived_at = pd.to_numeric(flags["archived_date"], errors="coerce").to_numpy(
        dtype="float64", na_value=np.nan
    )
    archived = flags["archived"].to_numpy(dtype=bool)
    gone = np.where(archived & np.isnan(archived_at), -np.inf, np.where(archived, archived_at, np.inf))
    born = np.where(np.isnan(created), -np.inf, created)
    temporary = flags["temporary"].to_numpy(dtype=bool)
    at = ends[:, None].astype("float64")
    alive = (born[None, :] <= at) & (gone[None, :] > at)
    return alive.sum(axis=1), (alive & temporary[None, :]).sum(axis=1)


def _covered_days(covered: Sequence[tuple[int, int]], starts: np.ndarray) -> np.ndarray:
    """Whether the stored history reaches into each day (from its start: today counts so far)."""
    out = np.zeros(len(starts), dtype=bool)
    for lo, hi in covered:
        out |= (starts >= lo) & (starts < hi)
    return out


def history_frame(
    snapshots: Sequence[Snapshot],
    flags: pd.DataFrame,
    events: pd.DataFrame,
    covered: Sequence[tuple[int, int]],
    from_day: date,
    to_day: date,
    tz: str,
    now: int,
) -> pd.DataFrame:
    """One row per local day of ``from_day``..``to_day`` (columns ``RECORD_FIELDS``).

    A day with a snapshot (the latest taken that local day) is ``observed`` and carries its figures; every day
    carries the rebuilt ones: ``flags`` and ``temporary_flags`` alive at the day's end (creation and archive
    dates of ``flags``, archived flags included), and, where the stored history covers the day, ``events``,
    ``rollbacks`` and ``flapping_flags`` (flapping in the 7 days up to its end). ``temporary_flags`` of an
    observed day is the snapshot's (the flags list of that day). Days after ``now`` are left out."""
    days = [d for d in local_days(from_day, to_day) if day_start_ms(d, tz) <= now]
    starts = np.array([day_start_ms(d, tz) for d in days], dtype="int64")
    ends = np.array([day_start_ms(d + timedelta(days=1), tz) for d in days], dtype="int64")
    at = np.minimum(ends, now + 1)
    fl = lifecycle.core._flags_view(flags)
    total, temporary = _alive_counts(fl, at - 1)
    out = pd.DataFrame({"date": [d.isoformat() for d in days]})
    out["observed"] = False
    out["flags"] = pd.array(total, dtype="Int64")
    out["temporary_flags"] = pd.array(temporary, dtype="Int64")
    known = _covered_days(covered, starts)
    if len(days):
        series = metrics.daily_series(events, int(starts[0]), int(at[-1]), tz)
        by_day = series.set_index("period")
        for name in ("events", "rollbacks"):  # counted where the stored history reaches, else unknown
            out[name] = pd.array(
                [int(by_day[name].get(d, 0)) if k else None for d, k in zip(out["date"], known, strict=True)],
                dtype="Int64",
            )
        times = pd.to_numeric(events["event_time"]).to_numpy(dtype="int64") if len(events) else np.empty(0)
        order = np.argsort(times, kind="stable")
        sorted_times = times[order]
        flapping: list[int | None] = []
        for end, k in zip(at, known, strict=True):
            if not k:
                flapping.append(None)
                continue
            lo, hi = np.searchsorted(sorted_times, [end - FLAPPING_WINDOW_MS, end])
            part = events.iloc[order[lo:hi]]
            flapping.append(len(metrics.flapping_flags(part)) if len(part) else 0)
        out["flapping_flags"] = pd.array(flapping, dtype="Int64")
    else:
        for name in ("events", "rollbacks", "flapping_flags"):
            out[name] = pd.array([], dtype="Int64")
    for name in OBSERVED_ONLY:
        out[name] = pd.Series([None] * len(out), dtype="object")
    position = {d: n for n, d in enumerate(out["date"])}
    latest: dict[str, Snapshot] = {}
    for snap in snapshots:
        local = pd.Timestamp(snap.taken_ms, unit="ms", tz="UTC").tz_convert(tz).strftime("%Y-%m-%d")
        if local in position and (local not in latest or snap.taken_ms >= latest[local].taken_ms):
            latest[local] = snap
    for local, snap in latest.items():
        n = position[local]
        out.at[n, "observed"] = True
        out.at[n, "temporary_flags"] = snap.figures.get("temporary_flags")
        for name in OBSERVED_ONLY:
            out.at[n, name] = snap.figures.get(name)
    for name in ("stale_flags", "flags_without_owner", "flags_with_code_references"):
        out[name] = pd.array([None if v is None else int(v) for v in out[name]], dtype="Int64")
    for name in (
        "stale_share",
        "median_flag_age_days",
        "median_days_to_production",
        "median_days_in_cleanup",
    ):
        out[name] = pd.array([None if v is None else float(v) for v in out[name]], dtype="Float64")
    out["observed"] = out["observed"].astype(bool)
    return out[list(RECORD_FIELDS)]


def _plain(value: Any) -> Any:
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return value


def history_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """``history_frame`` rows as plain JSON values (what ``python -m ldclient history`` prints)."""
    return [{name: _plain(row[name]) for name in RECORD_FIELDS} for _, row in frame.iterrows()]


def key_history(
    source: DataSource,
    project: str,
    env: str,
    from_day: date,
    to_day: date,
    tz: str,
    now: int,
    snapshots: Sequence[Snapshot] | None = None,
) -> pd.DataFrame:
    """``history_frame`` of one key from what the store holds (snapshots, flags, archived flags, events).
    ``snapshots`` are the key's, already read (``snapshot_days`` of the range at least), else read here."""
    key = source.key(project, env)
    lo = day_start_ms(from_day, tz)
    hi = day_start_ms(to_day + timedelta(days=1), tz)
    snaps = source.store.snapshots(key, *snapshot_days(lo, hi)) if snapshots is None else snapshots
    flags = lifecycle.flags_to_frame(
        [
            *source.stored_resource("flags", project),
            *source.stored_resource("archived-flags", project),
        ]
    )
    events = source.store.load_frame(key, lo - FLAPPING_WINDOW_MS, hi, metrics.METRIC_COLUMNS)
    return history_frame(snaps, flags, events, source.store.covered(key), from_day, to_day, tz, now)


def snapshot_days(lo_ms: int, hi_ms: int) -> tuple[str, str]:
    """The UTC days whose snapshots can fall on a local day within ``[lo_ms, hi_ms)``, whatever the timezone."""
    return utc_day(lo_ms - DAY_MS), utc_day(hi_ms + DAY_MS)


def render_history(records: list[dict[str, Any]], fmt: str) -> str:
    """``json`` (a list of objects), ``csv`` (nested counts as ``statuses.new`` … columns) or ``table``."""
    if fmt == "json":
        return json.dumps(records, indent=2, ensure_ascii=False) + "\n"
    if fmt == "csv":
        from .export import neutralise_cell

        nested = {
            "statuses": list(STATUS_NAMES),
            "lifecycle_stages": [s for s in lifecycle.LD_STAGES if s != "archived"],
            "timeline_stages": list(lifecycle.STAGES),
        }
        header = [
            f"{name}.{part}" if name in nested else name
            for name in RECORD_FIELDS
            for part in (nested.get(name) or [""])
        ]
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow(header)
        for r in records:
            cells: list[Any] = []
            for name in RECORD_FIELDS:
                if name in nested:
                    cells += [(r[name] or {}).get(part) if r[name] else None for part in nested[name]]
                else:
                    cells.append(r[name])
            writer.writerow(
                [
                    neutralise_cell("" if c is None else str(c).lower() if isinstance(c, bool) else str(c))
                    for c in cells
                ]
            )
        return buffer.getvalue()
    lines = [
        f"{'DATE':<10} {'SOURCE':<13} {'TEMPORARY':>9} {'STALE':>5} {'SHARE':>6}  "
        f"{'NEW':>4} {'ACTIVE':>6} {'LAUNCHED':>8} {'INACTIVE':>8} {'EVENTS':>6} {'ROLLBACKS':>9}"
    ]

    def cell(value: Any, width: int, fmt: str = "{}") -> str:
        return f"{'—' if value is None else fmt.format(value):>{width}}"

    for r in records:
        statuses = r["statuses"] or {}
        lines.append(
            f"{r['date']:<10} {'observed' if r['observed'] else 'reconstructed':<13} "
            f"{cell(r['temporary_flags'], 9)} {cell(r['stale_flags'], 5)} "
            f"{cell(None if r['stale_share'] is None else r['stale_share'] * 100, 5, '{:.0f}')}%  "
            f"{cell(statuses.get('new'), 4)} {cell(statuses.get('active'), 6)} "
            f"{cell(statuses.get('launched'), 8)} {cell(statuses.get('inactive'), 8)} "
            f"{cell(r['events'], 6)} {cell(r['rollbacks'], 9)}"
        )
    return "\n".join(lines) + "\n"


# --- what changed: weekly transitions, monthly medians --------------------------------------------------


def _with_flags_in_order(snapshots: Sequence[Snapshot]) -> list[Snapshot]:
    return sorted((s for s in snapshots if s.flags is not None), key=lambda s: s.taken_ms)


def _newly_stale(before: Snapshot, after: Snapshot) -> set[str]:
    """Flags stale in ``after`` that were not stale (or not there) in ``before``."""
    was, now = before.flags or {}, after.flags or {}
    return {k for k, v in now.items() if v[3] and not (k in was and was[k][3])}


def weekly_transitions(snapshots: Sequence[Snapshot], flags: pd.DataFrame, tz: str) -> pd.DataFrame:
    """Per ISO week (labelled by its Monday): flags that ``became_stale`` (stale in a snapshot, not stale or
    absent in the snapshot before it) and flags ``archived`` (by their archive date). Columns week,
    became_stale, archived, became_stale_keys."""
    rows: dict[str, dict[str, Any]] = {}

    def week_of(ms: int) -> str:
        local = pd.Timestamp(int(ms), unit="ms", tz="UTC").tz_convert(tz)
        return (local.normalize() - pd.Timedelta(days=local.weekday())).strftime("%Y-%m-%d")

    def row(week: str) -> dict[str, Any]:
        return rows.setdefault(
            week, {"week": week, "became_stale": 0, "archived": 0, "became_stale_keys": []}
        )

    ordered = _with_flags_in_order(snapshots)
    for before, after in zip(ordered, ordered[1:], strict=False):
        new = sorted(_newly_stale(before, after))
        r = row(week_of(after.taken_ms))
        r["became_stale"] += len(new)
        r["became_stale_keys"] += new
    if ordered:
        row(week_of(ordered[0].taken_ms))
    fl = lifecycle.core._flags_view(flags)
    for ms in pd.to_numeric(fl.loc[fl["archived"], "archived_date"], errors="coerce").dropna():
        row(week_of(int(ms)))["archived"] += 1
    frame = pd.DataFrame(
        list(rows.values()), columns=["week", "became_stale", "archived", "became_stale_keys"]
    )
    return frame.sort_values("week").reset_index(drop=True)


def became_stale(snapshots: Sequence[Snapshot], from_ms: int, to_ms: int) -> list[str]:
    """Flags stale in a snapshot taken in ``[from_ms, to_ms)`` that were not stale in the one before it."""
    ordered = _with_flags_in_order(snapshots)
    out: set[str] = set()
    for before, after in zip(ordered, ordered[1:], strict=False):
        if from_ms <= after.taken_ms < to_ms:
            out |= _newly_stale(before, after)
    return sorted(out)


def monthly_medians(flags: pd.DataFrame, events: pd.DataFrame, production: set[str], tz: str) -> pd.DataFrame:
    """Per local month: the median ``days_to_production`` of the flags whose first production change fell in
    it (from creation; only flags created within ``events``, whose first change those events hold), and the median ``days_in_cleanup`` of the flags archived in it (from the start of
    their cleanup: 30 days after creation or their last change before the archive, whichever is later;
    docs/HISTORY.md). Columns month (``YYYY-MM``), days_to_production, flags_to_production, days_in_cleanup,
    flags_archived."""
    fl = lifecycle.core._flags_view(flags)
    ev = lifecycle.core._events_view(events)
    created = fl.set_index("flag_key")["creation_date"]
    prod = ev[ev["environment_key"].isin(sorted(production))].merge(
        fl[["flag_key", "creation_date"]], on="flag_key"
    )
    prod = prod[prod["creation_date"].isna() | (prod["event_time"] >= prod["creation_date"])]
    first = prod.groupby("flag_key")["event_time"].min()
    born = created.reindex(first.index)
    # only flags created within the events given: for an older one the first production change may be earlier
    since = int(ev["event_time"].min()) if len(ev) else 0
    first = first[(born >= since).fillna(False).to_numpy(dtype=bool)]
    lead = pd.DataFrame({"at": first, "days": (first - born.reindex(first.index)) / DAY_MS}).dropna()

    archived = fl[fl["archived"] & fl["archived_date"].notna()][
        ["flag_key", "creation_date", "archived_date"]
    ]
    before = ev.merge(archived, on="flag_key")
    before = before[before["event_time"] < before["archived_date"]]
    last = before.groupby("flag_key")["event_time"].max()
    archived = archived.set_index("flag_key")
    start = pd.concat(
        [
            last.reindex(archived.index).astype("Float64"),
            (archived["creation_date"] + STALE_MIN_AGE_MS).astype("Float64"),
        ],
        axis=1,
    ).max(axis=1)
    cleanup = pd.DataFrame(
        {
            "at": archived["archived_date"],
            "days": ((archived["archived_date"] - start) / DAY_MS).clip(lower=0),
        }
    ).dropna()

    def month(ms: pd.Series) -> pd.Series:
        local = pd.to_datetime(pd.to_numeric(ms).astype("int64"), unit="ms", utc=True).dt.tz_convert(tz)
        return local.dt.strftime("%Y-%m")

    a = lead.assign(month=month(lead["at"]).to_numpy()).groupby("month")["days"].agg(["median", "size"])
    b = cleanup.assign(month=month(cleanup["at"]).to_numpy()).groupby("month")["days"].agg(["median", "size"])
    out = a.rename(columns={"median": "days_to_production", "size": "flags_to_production"}).join(
        b.rename(columns={"median": "days_in_cleanup", "size": "flags_archived"}), how="outer"
    )
    out = out.reset_index().rename(columns={"index": "month"})
    for name in ("days_to_production", "days_in_cleanup"):
        out[name] = out[name].astype("float64").round(1)
    for name in ("flags_to_production", "flags_archived"):
        out[name] = out[name].fillna(0).astype("int64")
    return out.sort_values("month").reset_index(drop=True)


__all__ = [
    "OBSERVED_ONLY",
    "RECORD_FIELDS",
    "SnapshotInputs",
    "became_stale",
    "history_frame",
    "history_records",
    "key_history",
    "monthly_medians",
    "record_snapshot",
    "render_history",
    "snapshot_inputs",
    "snapshot_is_recent",
    "take_snapshot",
    "utc_day",
    "weekly_transitions",
]
