"""Composite reports built from the metrics: the CLI's ``metrics`` JSON, the all-projects table,
and the per-flag views the detail page charts. Plain functions over frames; no Streamlit."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from . import clock, lifecycle, metrics, summaries
from .applications import filter_events, filter_flags, filter_statuses, flag_mask
from .applications import flag_keys as app_flag_keys
from .frame import filter_frame
from .source import DataSource
from .store.snapshots import Snapshot
from .sync import now_ms
from .timeutil import day_start_ms, format_ms
from .vocabulary import DAY_MS, WEEK_MS


def metrics_report(
    source: DataSource,
    project: str,
    env: str,
    from_ms: int,
    to_ms: int,
    *,
    tz: str = "UTC",
    include_global: bool = True,
    expand_experiments: bool = False,
    apps: tuple[str, ...] = (),
) -> dict[str, Any]:
    """Everything ``python -m ldclient metrics`` prints: the definitions of METRICS.md and LIFECYCLE.md.
    With ``apps``, only the flags those applications evaluate, as the dashboard's application filter."""
    keys = app_flag_keys(source.applications(), apps, project) if apps else None
    prev_from = from_ms - (to_ms - from_ms)
    for e in [env, *[x.key for x in source.environments(project) if x.key != env]]:
        report = source.refresh(project, e, prev_from, to_ms)
        if report.error is not None and e == env:
            raise report.error
    frame = source.store.load_frame(source.key(project, env), prev_from, to_ms, metrics.METRIC_COLUMNS)
    if not expand_experiments:
        frame = frame.assign(experiments_count=pd.array([pd.NA] * len(frame), dtype="Int64"))
    frame = filter_events(filter_frame(frame, include_global=include_global), keys)
    work = source.settings.working_hours_for(project)  # off-hours are judged here; ``tz`` is for display
    out: dict[str, Any] = {
        "project": project,
        "environment": env,
        "from": from_ms,
        "to": to_ms,
        "timezone": tz,
        "working_hours": work.as_dict(),
    }
    if apps:
        out["applications"] = list(apps)
    out.update(metrics.compute_with_trend(frame, from_ms, to_ms, tz, include_global, work=work))
    now = now_ms()
    environments = source.environments(project)
    envs = [{"key": e.key, "critical": e.critical} for e in environments]
    everything = pd.concat(
        [
            source.store.load_frame(source.key(project, e.key), now - 30 * DAY_MS, now + 1)
            for e in environments
        ],
        ignore_index=True,
    ).drop_duplicates("id")
    everything = filter_events(everything, keys)
    flags = lifecycle.flags_to_frame(filter_flags(source.flags(project), keys))
    statuses = filter_statuses(lifecycle.statuses_to_frame(source.statuses(project, env), env), keys)
    out.update(
        lifecycle.lifecycle_metrics(flags, statuses, everything, env, lifecycle.production_like(envs), now)
    )
    stale = lifecycle.stale_flags_table(flags, statuses, everything, env, now)["flag_key"].astype(str)
    out["flags"] = metrics.flag_table_records(
        metrics.with_stale_flags(
            metrics.per_flag_table(frame, from_ms, to_ms, tz, include_global, work=work), stale
        )
    )
    return out


LABEL_LIMIT = 40
FULL_VALUE_LIMIT = 1_000  # the tooltip's "full" value: every realistic one, bounded for a pathological one


def short_labels(values: Iterable[str], limit: int = LABEL_LIMIT) -> dict[str, str]:
    """A distinct label of at most ``limit`` characters for each distinct value, in first-seen order.

    Variation values can be long JSON that crowds the chart's legend. Runs of whitespace become one space;
    longer text is cut and ends in "…". Labels stay unique, since the chart's colours are keyed by them: a
    value that fits keeps its text, and a label taken by another value gets " (2)", " (3)", … (still within
    ``limit``; ``limit`` is at least 10 so there is room for a cut text and its suffix).
    """
    if limit < 10:
        raise ValueError(f"label limit {limit} is below 10 characters")
    distinct = list(dict.fromkeys(values))
    clean = {v: " ".join(v.split()) for v in distinct}

    def label(text: str, n: int) -> str:
        suffix = f" ({n})" if n > 1 else ""
        if len(text) + len(suffix) <= limit:
            return text + suffix
        return text[: max(1, limit - 1 - len(suffix))].rstrip() + "…" + suffix

    out: dict[str, str] = {}
    used: set[str] = set()

    # values shown as they are claim their text first (so a value "a…" or "a (2)" is never renamed), then
    # values whose whitespace changed, then the values that are cut
    def claim(value: str) -> int:
        return 2 if len(clean[value]) > limit else 1 if clean[value] != value else 0

    for value in sorted(distinct, key=claim):  # stable: first-seen order within each group
        n = 1
        while (candidate := label(clean[value], n)) in used:
            n += 1
        out[value] = candidate
        used.add(candidate)
    return {v: out[v] for v in distinct}


def variation_rows(events: pd.DataFrame, tz: str, limit: int = 12) -> pd.DataFrame:
    """Before/after evaluation counts per variation for a flag's most recent impactful events.

    ``variation`` is a short unique label for the chart's colours and legend (``short_labels``);
    ``variation_full`` is the value itself (up to FULL_VALUE_LIMIT characters) for the tooltip.
    """
    rows = []
    recent = events[events["variations"].notna()].sort_values("event_time", ascending=False).head(limit)
    several_envs = recent["environment_key"].nunique(dropna=False) > 1  # else the page's title names it
    for _, ev in recent.iterrows():  # a dozen events at most: the chart's rows
        where = f"{ev['environment_key'] or 'global'} · " if several_envs else ""
        label = f"{format_ms(int(ev['event_time']), tz)} · {where}{ev['description']}"
        for value, before, after in summaries.decoded(ev["variations"]):
            counts = {"before": before, "after": after}
            name = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
            for phase in ("before", "after"):
                rows.append(
                    {
                        "event": label[:120],
                        "event_time": int(ev["event_time"]),
                        "phase": phase,
                        "value": name,
                        "count": counts[phase],
                    }
                )
    frame = pd.DataFrame(rows, columns=["event", "event_time", "phase", "value", "count"])
    values = frame.pop("value").astype(str)
    labels = short_labels(values)  # from the whole values: two that differ only past any cut stay apart
    frame.insert(3, "variation", values.map(labels))
    frame.insert(
        4,
        "variation_full",
        values.map(lambda t: t if len(t) <= FULL_VALUE_LIMIT else t[: FULL_VALUE_LIMIT - 1] + "…"),
    )
    totals = frame.groupby(["event", "phase"])["count"].transform("sum")
    return frame.assign(share=(frame["count"] / totals.where(totals > 0)).fillna(0.0))


def timeline_rows(events: pd.DataFrame, tz: str) -> pd.DataFrame:
    """A flag's events for the timeline chart, local wall-clock time, toggles and rollbacks marked."""
    pairs = metrics.rollback_pairs(events)
    rolled = set(pairs["to_id"].astype(str)) if len(pairs) else set()
    actions = events["actions"].astype("string").fillna("")
    toggles = actions.str.split(",").map(lambda a: "updateOn" in a)
    local = pd.to_datetime(events["event_time"], unit="ms", utc=True).dt.tz_convert(tz).dt.tz_localize(None)
    return pd.DataFrame(
        {
            "time": local.dt.strftime("%Y-%m-%dT%H:%M:%S"),
            "environment": events["environment_key"].astype("string").fillna("(global)"),
            "description": events["description"].astype("string").fillna(""),
            "member": events["member_email"].astype("string").fillna("—"),
            "impact_size": events["impact_size"].astype("string").fillna("unknown"),
            "mark": [
                "rollback" if i in rolled else "toggle" if t else "change"
                for i, t in zip(events["id"].astype(str), toggles, strict=True)
            ],
        }
    )


def project_rows(
    source: DataSource, from_ms: int, to_ms: int, tz: str, *, apps: tuple[str, ...] = ()
) -> pd.DataFrame:
    """One row per project and environment: headline numbers, their change, and a weekly trend. With
    ``apps``, only the events of the flags those applications evaluate."""
    known = source.stored_applications() if apps else []
    pairs = [(project, env) for project in source.projects() for env in project.environments]
    keys = [source.key(project.key, env.key) for project, env in pairs]
    frame, counts = source.store.load_frames(keys, from_ms - (to_ms - from_ms), to_ms, metrics.METRIC_COLUMNS)
    if apps:
        frame, counts = _keep_flags(
            frame, counts, [app_flag_keys(known, apps, project.key) for project, _ in pairs]
        )
    whole_days_end = min(to_ms, day_start_ms(clock.today(tz), tz))  # today so far is no whole day
    ends = []  # like with like: the range up to the time the data is as of, against as much time before it
    for key in keys:
        as_of = source.store.last_good_refresh_ms(key)
        ends.append(as_of if as_of is not None and from_ms < as_of < to_ms else to_ms)
    headlines = metrics.compute_with_trend_per_key(
        frame,
        counts,
        [(from_ms, end) for end in ends],
        tz,
        works=[source.settings.working_hours_for(project.key) for project, _ in pairs],
    )
    times = frame["event_time"].to_numpy(dtype="int64")
    starts = np.concatenate([[0], np.cumsum(counts, dtype="int64")])
    rows = []
    for i, ((project, env), key, end, m) in enumerate(zip(pairs, keys, ends, headlines, strict=True)):
        stale = stale_trend(range_snapshots(source, key, from_ms, to_ms), from_ms, to_ms)
        rows.append(
            {
                "project": project.key,
                "project_name": project.name,
                "environment": env.key,
                "critical": env.critical,
                "events": m["events_total"],
                "events_change": m["events_total"] - m["previous"]["events_total"],
                "flags_changed": m["flags_changed"],
                "large_impact_share": m["large_impact_share"],
                "rollback_rate": m["rollback_rate"],
                "flapping_flags": len(m["flapping_flags"]),
                "off_hours_share": m["off_hours_events"] / m["events_total"] if m["events_total"] else 0.0,
                "trend": weekly_counts(times[starts[i] : starts[i + 1]], from_ms, min(end, whole_days_end)),
                **stale,
            }
        )
    return pd.DataFrame(rows)


TREND_LOOKBACK_MS = 8 * DAY_MS  # how far before a range ``stale_trend`` looks for the previous period's end


def range_snapshots(source: DataSource, key: Any, from_ms: int, to_ms: int) -> list[Snapshot]:
    """The key's snapshots (figures only) of the UTC days from ``TREND_LOOKBACK_MS`` before the range to its
    end, taken before ``to_ms``, oldest first."""
    from .history import utc_day

    day = utc_day(from_ms - TREND_LOOKBACK_MS)
    return [s for s in source.store.snapshots(key, day, utc_day(to_ms)) if s.taken_ms < to_ms]


def stale_trend(snaps: list[Snapshot], from_ms: int, to_ms: int) -> dict[str, Any]:
    """Stale figures of ``range_snapshots`` (docs/HISTORY.md): ``stale_share`` and ``stale_flags`` of the newest
    snapshot taken in the range (None without one), ``stale_share_change`` against the newest taken before it
    (the previous period's end; None without one), and ``stale_trend``: the stale share of the last snapshot of
    each 7 days counted back from ``to_ms``, oldest first (weeks without one left out)."""
    inside = [s for s in snaps if from_ms <= s.taken_ms < to_ms]
    before = [s for s in snaps if s.taken_ms < from_ms]
    out: dict[str, Any] = {
        "stale_share": None,
        "stale_flags": None,
        "stale_share_change": None,
        "stale_trend": [],
    }
    if not inside:
        return out
    last = inside[-1].figures
    out["stale_share"], out["stale_flags"] = last.get("stale_share"), last.get("stale_flags")
    if before and last.get("stale_share") is not None and before[-1].figures.get("stale_share") is not None:
        out["stale_share_change"] = last["stale_share"] - before[-1].figures["stale_share"]
    points = []
    for n in range((to_ms - from_ms) // WEEK_MS, 0, -1):
        end = to_ms - (n - 1) * WEEK_MS
        week = [s for s in inside if end - WEEK_MS <= s.taken_ms < end]
        if week and week[-1].figures.get("stale_share") is not None:
            points.append(float(week[-1].figures["stale_share"]))
    out["stale_trend"] = points
    return out


def _keep_flags(
    frame: pd.DataFrame, counts: list[int], keys: list[frozenset[str] | None]
) -> tuple[pd.DataFrame, list[int]]:
    """A ``load_frames`` frame narrowed, key by key, to the events of the flags in ``keys[i]`` (None: all)."""
    bounds = np.concatenate([[0], np.cumsum(counts, dtype="int64")])
    keep = np.ones(len(frame), dtype=bool)
    for start, stop, allowed in zip(bounds[:-1], bounds[1:], keys, strict=True):
        if allowed is not None:
            keep[start:stop] = flag_mask(frame.iloc[start:stop], allowed)
    kept = np.concatenate([[0], np.cumsum(keep, dtype="int64")])
    return frame[keep], [int(kept[b] - kept[a]) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]


def weekly_trend(events: pd.DataFrame, from_ms: int, end_ms: int) -> list[int]:
    """Events per whole 7 days in ``[from, end)``, oldest first, counted back from ``end_ms`` (the start of
    today, or the range's end): every point is a full week, none cut short by today or by the range's start
    (the days before the first whole week are left out)."""
    return weekly_counts(pd.to_numeric(events["event_time"]).to_numpy(dtype="int64"), from_ms, end_ms)


def weekly_counts(event_times: np.ndarray, from_ms: int, end_ms: int) -> list[int]:
    """``weekly_trend`` of bare event times (Unix ms, any order)."""
    weeks = (end_ms - from_ms) // WEEK_MS
    if weeks <= 0:
        return []
    times = np.sort(event_times) if len(event_times) else np.empty(0, dtype="int64")
    edges = np.array([end_ms - (weeks - i) * WEEK_MS for i in range(weeks + 1)], dtype="int64")
    return np.diff(np.searchsorted(times, edges, side="left")).astype(int).tolist()


def events_table(events: pd.DataFrame, tz: str, flag_url: Any) -> pd.DataFrame:
    """The flag-events list as shown (and downloaded): local time, newest first, plain text cells."""
    ev = events.sort_values(["event_time", "id"], ascending=False)
    local = pd.to_datetime(ev["event_time"], unit="ms", utc=True).dt.tz_convert(tz)
    envs = ev["environment_key"].astype("string")
    return pd.DataFrame(
        {
            "time": local.dt.strftime("%Y-%m-%d %H:%M:%S"),
            "flag": ev["flag_key"].astype("string"),
            "environment": envs.fillna("(global)"),
            "event_type": ev["event_type"].astype("string"),
            "description": ev["description"].astype("string"),
            "member": ev["member_email"].astype("string"),
            "actions": ev["actions"].astype("string").str.replace(",", ", ", regex=False),
            "impact": ev["impact_size"].astype("string"),
            "impact_pct": ev["impact_percentage"].round(1),
            "experiments": ev["experiments_count"],
            "launchdarkly": [
                flag_url(f, e if isinstance(e, str) else None)
                for f, e in zip(ev["flag_key"].astype(str), envs.astype(object), strict=True)
            ],
        }
    ).reset_index(drop=True)
