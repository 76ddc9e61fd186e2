"""Today's flag-health snapshot of one key: the figures and every flag's state, from inputs already read.

Plain functions over what ``ldclient.history.snapshot_inputs`` reads (or a test builds), so the demo's
recorded past (``demo/history.py``) and the real snapshot are computed by the same code.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from . import lifecycle
from .store.snapshots import FlagState, Snapshot
from .vocabulary import DAY_MS

STALE_EVENTS_DAYS = 30  # events read for the stale verdicts: what ``metrics`` reads (7 days decide)


def utc_day(ms: int) -> str:
    """The UTC day of ``ms`` (``YYYY-MM-DD``): snapshots are filed by it, whoever looks and from where."""
    return pd.Timestamp(int(ms), unit="ms", tz="UTC").strftime("%Y-%m-%d")


@dataclass(frozen=True)
class SnapshotInputs:
    """What one key's snapshot reads, all from the store or the source's TTL cache."""

    flags: list[dict[str, Any]]  # the flags list (archived flags left out, as LaunchDarkly lists them)
    archived: list[dict[str, Any]]
    items: list[dict[str, Any]]  # flags with the critical environments' targeting, for lifecycle stages
    statuses: pd.DataFrame  # of ``env`` and every critical environment
    critical: set[str]
    production: set[str]
    events: pd.DataFrame  # every environment of the project, the last ``history_days``
    code_refs: pd.DataFrame | None
    members: list[dict[str, Any]] | None
    teams: list[dict[str, Any]] | None
    history_from_ms: int


def _median(values: pd.Series) -> float | None:
    values = pd.to_numeric(values, errors="coerce").dropna()
    return round(float(values.median()), 2) if len(values) else None


def _round(value: float | None) -> float | None:
    return None if value is None else round(float(value), 2)


def stages_of(inputs: SnapshotInputs, env: str, now: int) -> pd.DataFrame:
    """LaunchDarkly's lifecycle stage, owner and code references of every flag (the Cleanup page's table)."""
    return lifecycle.lifecycle_stages(
        inputs.items,
        inputs.statuses,
        inputs.critical,
        now,
        code_refs=inputs.code_refs,
        members=inputs.members,
        teams=inputs.teams,
        events=inputs.events,
        stale_env=env,
        history_from_ms=inputs.history_from_ms,
    )


def take_snapshot(inputs: SnapshotInputs, env: str, now: int, stages: pd.DataFrame | None = None) -> Snapshot:
    """Today's figures and every flag's state for ``env``, with the same functions ``metrics``, Lifecycle and
    Cleanup use, so a snapshot says what those pages said that day. ``stages``: ``stages_of`` the same
    inputs, when the caller has it already."""
    recent = inputs.events[pd.to_numeric(inputs.events["event_time"]) >= now - STALE_EVENTS_DAYS * DAY_MS]
    live = lifecycle.flags_to_frame(inputs.flags)
    here = inputs.statuses[inputs.statuses["environment_key"] == env]
    health = lifecycle.lifecycle_metrics(live, here, recent, env, inputs.production, now)
    stages = stages_of(inputs, env, now) if stages is None else stages
    everything = lifecycle.flags_to_frame([*inputs.flags, *inputs.archived])
    timeline = lifecycle.lifecycle_table(everything, inputs.statuses, inputs.events, inputs.production, now)
    summary = lifecycle.timeline_summary(timeline)

    alive = stages[stages["lifecycle_stage"] != "archived"]
    stale = set(health["stale_flag_keys"])
    status_of = dict(zip(here["flag_key"].astype(str), here["status"].astype("object"), strict=True))
    stage_of = dict(zip(stages["flag_key"].astype(str), stages["lifecycle_stage"].astype(str), strict=True))
    ours = dict(zip(timeline["flag_key"].astype(str), timeline["stage"].astype(str), strict=True))
    flags: dict[str, FlagState] = {}
    for key in sorted(set(stage_of) | set(ours)):
        status = status_of.get(key)
        flags[key] = (
            None if status is None or pd.isna(status) else str(status),
            stage_of.get(key),
            ours.get(key),
            key in stale,
        )
    ld_counts = alive["lifecycle_stage"].value_counts()
    figures = {
        "temporary_flags": health["temporary_flags"],
        "stale_flags": health["stale_flags"],
        "stale_share": health["stale_share"],
        "statuses": health["statuses"],
        "lifecycle_stages": {
            name: int(ld_counts.get(name, 0)) for name in lifecycle.LD_STAGES if name != "archived"
        },
        "timeline_stages": summary["stages"],
        "flags_without_owner": int((alive["owner_status"].astype("string") != "ok").fillna(True).sum()),
        "flags_with_code_references": (
            None if inputs.code_refs is None else int((alive["code_reference_hunks"] > 0).sum())
        ),
        "median_flag_age_days": _median(alive["age_days"]),
        "median_days_to_production": _round(summary["median_days_to_production"]),
        "median_days_in_cleanup": _round(summary["median_days_in_cleanup"]),
        "flags": len(alive),
    }
    return Snapshot(utc_day(now), now, figures, flags)
