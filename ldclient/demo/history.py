"""The demo account's recorded past: the daily snapshots a dashboard running for months would hold.

A real deployment starts with one snapshot, today's; the demo starts with ``SEEDED_DAYS`` of them so a new
user sees what the History charts are for (the cleanup sprint of ``generator.cleanup_sprint`` as a drop in
stale share, the quarter of growing debt before it). They are derived from the account itself: each flag's
life from its creation and archive dates, its events, and today's status, stage and owner carried back where
the events allow (a flag quiet for 7 days keeps today's launched or inactive status; one changed in the last
7 days was active; one younger than 7 days was new). The stale verdict then follows docs/LIFECYCLE.md exactly.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd

from .. import lifecycle
from ..lifecycle.core import RECENT_WINDOW_MS, STALE_MIN_AGE_MS, STALE_STATUSES
from ..snapshot import SnapshotInputs, stages_of, utc_day
from ..store.snapshots import FlagState, Snapshot
from ..vocabulary import DAY_MS, STATUS_NAMES

SEEDED_DAYS = 180  # the demo's events reach this far back
TAKEN_AT_MS = 7 * 3_600_000  # each seeded snapshot as a nightly sync at 07:00 UTC would take it


def _times(events: pd.DataFrame) -> dict[str, np.ndarray]:
    times = pd.to_numeric(events["event_time"]).to_numpy(dtype="int64")
    keys = events["flag_key"].astype(str).to_numpy()
    order = np.lexsort((times, keys))
    out: dict[str, np.ndarray] = {}
    if len(order):
        keys, times = keys[order], times[order]
        cuts = np.flatnonzero(keys[1:] != keys[:-1]) + 1
        for part_keys, part_times in zip(np.split(keys, cuts), np.split(times, cuts), strict=True):
            out[str(part_keys[0])] = part_times
    return out


def seeded_snapshots(
    inputs: SnapshotInputs,
    env: str,
    today: Snapshot,
    days: int = SEEDED_DAYS,
    stages: pd.DataFrame | None = None,
) -> list[Snapshot]:
    """One snapshot per UTC day of the ``days`` before ``today``'s (oldest first), from the account's own data
    and today's snapshot (``snapshot.take_snapshot`` of the same inputs), whose states are carried back."""
    now = today.taken_ms
    assert today.flags is not None
    fl = lifecycle.core._flags_view(lifecycle.flags_to_frame([*inputs.flags, *inputs.archived]))
    ev = inputs.events
    env_keys = ev["environment_key"].astype("string")
    here = ev[(env_keys == env).fillna(False) | env_keys.isna()]
    touched = _times(here)
    production = ev[env_keys.isin(sorted(inputs.production)).fillna(False)]
    first_production = {k: int(v[0]) for k, v in _times(production).items()}
    stages = (stages_of(inputs, env, now) if stages is None else stages).set_index("flag_key")
    never = np.iinfo(np.int64).max
    rows = []
    for f in fl.itertuples(index=False):
        key = str(f.flag_key)
        state = today.flags.get(key)
        created = int(f.creation_date) if not pd.isna(f.creation_date) else 0
        gone = (
            int(f.archived_date)
            if f.archived and not pd.isna(f.archived_date)
            else (0 if f.archived else never)
        )
        owner_ok = key in stages.index and str(stages.at[key, "owner_status"]) == "ok"
        refs = key in stages.index and int(stages.at[key, "code_reference_hunks"]) > 0 and not f.archived
        rows.append((key, created, gone, bool(f.temporary), state, owner_ok, refs))

    out: list[Snapshot] = []
    start_day = date.fromisoformat(today.day) - timedelta(days=days)
    for n in range(days):
        day = start_day + timedelta(days=n)
        at = int(pd.Timestamp(day, tz="UTC").value // 1_000_000) + TAKEN_AT_MS
        flags: dict[str, FlagState] = {}
        ages, cleanup_days = [], []
        without_owner = with_refs = temporary = 0
        for key, created, gone, is_temporary, state, owner_ok, refs in rows:
            if not (created <= at < gone):
                continue
            times = touched.get(key, np.empty(0, dtype="int64"))
            before = times[: np.searchsorted(times, at, side="right")]
            last = int(before[-1]) if len(before) else None
            quiet = last is None or last < at - RECENT_WINDOW_MS
            now_status = state[0] if state is not None else ("inactive" if gone != never else None)
            if at - created < RECENT_WINDOW_MS:
                status: str | None = "new"
            elif now_status in STALE_STATUSES and quiet:
                status = now_status
            else:
                status = "active"
            stale = is_temporary and at - created >= STALE_MIN_AGE_MS and status in STALE_STATUSES and quiet
            if stale:
                ld_stage = state[1] if state is not None and state[1] != "live" else "ready_to_archive"
            else:
                ld_stage = "live"
            known = first_production.get(key)  # else before the stored events: today's stage tells
            if (known is not None and known > at) or (
                known is None and (state is None or state[2] == "develop")
            ):
                stage = "develop"
            else:
                stage = (
                    "cleanup"
                    if stale or (state is not None and state[2] == "cleanup" and quiet)
                    else "production"
                )
            flags[key] = (status, ld_stage, stage, stale)
            temporary += is_temporary
            ages.append((at - created) / DAY_MS)
            without_owner += not owner_ok
            with_refs += refs
            if stale:
                cleanup_days.append((at - max(created + STALE_MIN_AGE_MS, last or 0)) / DAY_MS)
        stale_count = sum(1 for s in flags.values() if s[3])
        statuses = {name: sum(1 for s in flags.values() if s[0] == name) for name in STATUS_NAMES}
        figures = {
            "temporary_flags": temporary,
            "stale_flags": stale_count,
            "stale_share": stale_count / temporary if temporary else 0.0,
            "statuses": statuses,
            "lifecycle_stages": {
                name: sum(1 for s in flags.values() if s[1] == name)
                for name in lifecycle.LD_STAGES
                if name != "archived"
            },
            "timeline_stages": {
                name: sum(1 for s in flags.values() if s[2] == name)
                if name != "archived"
                else sum(1 for r in rows if r[2] <= at)
                for name in lifecycle.STAGES
            },
            "flags_without_owner": without_owner,
            "flags_with_code_references": with_refs if inputs.code_refs is not None else None,
            "median_flag_age_days": round(float(np.median(ages)), 2) if ages else None,
            "median_days_to_production": today.figures.get("median_days_to_production"),
            "median_days_in_cleanup": round(float(np.median(cleanup_days)), 2) if cleanup_days else None,
            "flags": len(flags),
        }
        out.append(Snapshot(utc_day(at), at, figures, flags))
    return out


__all__ = ["SEEDED_DAYS", "seeded_snapshots"]
