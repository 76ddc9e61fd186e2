"""timeline_summary: counts per timeline stage, median time to production and median time in clean-up, on
hand-built flags (docs/LIFECYCLE.md, "Timeline summary")."""

from __future__ import annotations

from typing import Any

import pandas as pd

from ldclient.frame import empty_frame, events_to_frame
from ldclient.lifecycle import (
    DAY_MS,
    STAGES,
    flags_to_frame,
    lifecycle_table,
    statuses_to_frame,
    timeline_summary,
)

NOW = 1_750_000_000_000
PROD = {"production"}


def flag(key: str, age_days: float, **extra: Any) -> dict[str, Any]:
    return {"key": key, "temporary": True, "creationDate": int(NOW - age_days * DAY_MS), **extra}


def status(key: str, name: str) -> dict[str, Any]:
    return {"name": name, "_links": {"parent": {"href": f"/api/v2/flags/proj/{key}"}}}


def event(key: str, days_ago: float, env: str | None = "production") -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": f"{key}-{days_ago}-{env}",
        "projectKey": "proj",
        "flagKey": key,
        "eventTime": int(NOW - days_ago * DAY_MS),
        "actions": ["updateOn"],
    }
    if env is not None:
        item["environmentKey"] = env
    return item


def summary(flags: list[dict], statuses: list[dict], events: list[dict]) -> dict[str, Any]:
    table = lifecycle_table(
        flags_to_frame(flags), statuses_to_frame(statuses, "production"), events_to_frame(events), PROD, NOW
    )
    return timeline_summary(table)


def test_counts_every_stage_and_both_medians() -> None:
    flags = [
        flag("young", 10),  # develop: no production change
        flag("fast", 40),  # production 4 days after creation
        flag("slow", 40),  # production 10 days after creation
        flag("quiet", 60),  # cleanup since its last change 20 days ago (after created + 30 days)
        flag("forgotten", 100),  # cleanup since created + 30 days: 70 days
        flag("gone", 90, archived=True, archivedDate=int(NOW - 5 * DAY_MS)),
    ]
    statuses = [
        status("young", "new"),
        status("fast", "active"),
        status("slow", "active"),
        status("quiet", "inactive"),
        status("forgotten", "launched"),
    ]
    events = [
        event("fast", 36),
        event("fast", 1),
        event("slow", 30),
        event("quiet", 20),
        event("young", 1, env="staging"),  # not production: still develop
        event("young", 2, env=None),  # global: not a production change
    ]
    out = summary(flags, statuses, events)
    assert out["stages"] == {"develop": 1, "production": 2, "cleanup": 2, "archived": 1}
    # time to production: fast 4, slow 10, quiet 40 (it reached production before clean-up)
    assert out["median_days_to_production"] == 10.0
    # time in clean-up: quiet 20, forgotten 70; the archived flag is not counted
    assert out["median_days_in_cleanup"] == 45.0


def test_an_event_before_creation_is_not_a_production_change() -> None:
    out = summary([flag("reused", 10)], [status("reused", "active")], [event("reused", 20)])
    assert out["stages"]["develop"] == 1
    assert out["median_days_to_production"] is None


def test_no_flag_in_cleanup_or_production_gives_nulls_and_all_keys() -> None:
    out = summary([flag("young", 3)], [status("young", "new")], [])
    assert out == {
        "stages": {"develop": 1, "production": 0, "cleanup": 0, "archived": 0},
        "median_days_to_production": None,
        "median_days_in_cleanup": None,
    }


def test_empty_inputs() -> None:
    empty = {
        "stages": dict.fromkeys(STAGES, 0),
        "median_days_to_production": None,
        "median_days_in_cleanup": None,
    }
    assert timeline_summary(pd.DataFrame()) == empty
    table = lifecycle_table(flags_to_frame([]), statuses_to_frame([], "production"), empty_frame(), PROD, NOW)
    assert timeline_summary(table) == empty
