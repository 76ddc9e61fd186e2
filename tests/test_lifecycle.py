"""Lifecycle metrics against hand-built flags, statuses and events, boundaries first."""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ldclient.frame import empty_frame, events_to_frame
from ldclient.lifecycle import (
    CHANGE_COLUMNS,
    DAY_MS,
    FLAG_COLUMNS,
    HOUR_MS,
    LIFECYCLE_COLUMNS,
    MATRIX_COLUMNS,
    STALE_TABLE_COLUMNS,
    STATUS_COLUMNS,
    flags_to_frame,
    lifecycle_metrics,
    lifecycle_table,
    production_changes,
    production_like,
    stale_flags_table,
    status_matrix,
    statuses_to_frame,
)

NOW = 1_750_000_000_000
PROD = {"production"}
MS = 1


def flag(
    key: str, *, age_days: float = 60, temporary: bool = True, archived: bool = False, **extra: Any
) -> dict[str, Any]:
    return {
        "key": key,
        "name": key.upper(),
        "kind": "boolean",
        "temporary": temporary,
        "archived": archived,
        "deprecated": False,
        "creationDate": int(NOW - age_days * DAY_MS),
        "tags": [],
        **extra,
    }


def status(key: str, name: str = "inactive", last_requested: str | None = None) -> dict[str, Any]:
    return {
        "name": name,
        "lastRequested": last_requested,
        "_links": {"parent": {"href": f"/api/v2/flags/proj/{key}", "type": "application/json"}},
    }


_ids = iter(range(10**9))


def event(
    key: str,
    at: int,
    env: str | None = "production",
    actions: tuple[str, ...] = ("updateOn",),
    project: str = "proj",
) -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": f"e{next(_ids)}",
        "projectKey": project,
        "flagKey": key,
        "eventType": "flag-updated",
        "eventTime": at,
        "actions": list(actions),
        "impact": {"size": "none"},
    }
    if env is not None:
        item["environmentKey"] = env
    return item


def frames(flags: list[dict], statuses: list[dict], events: list[dict], env: str = "production"):
    return flags_to_frame(flags), statuses_to_frame(statuses, env), events_to_frame(events)


def metrics(
    flags: list[dict],
    statuses: list[dict],
    events: list[dict],
    env: str = "production",
    production_envs: set[str] = PROD,
) -> dict[str, Any]:
    f, s, e = frames(flags, statuses, events, env)
    return lifecycle_metrics(f, s, e, env, production_envs, NOW)


def stale_keys(flags: list[dict], statuses: list[dict], events: list[dict]) -> list[str]:
    return metrics(flags, statuses, events)["stale_flag_keys"]


# --- parsing -------------------------------------------------------------------------------------


def test_flags_to_frame_columns_types_and_tolerance() -> None:
    df = flags_to_frame(
        [
            {
                **flag("full", tags=["ui", "checkout"]),
                "_maintainer": {"email": "ana@example.com", "firstName": "Ana", "lastName": "B"},
            },
            {"key": "bare"},
            {"name": "no key, skipped"},
            "not a dict",
            {"key": "archived", "archived": True, "archivedDate": NOW - DAY_MS, "creationDate": str(NOW)},
        ]
    )
    assert tuple(df.columns) == FLAG_COLUMNS
    assert df["flag_key"].tolist() == ["full", "bare", "archived"]
    assert df["temporary"].dtype == bool and df["archived"].dtype == bool and df["deprecated"].dtype == bool
    assert str(df["creation_date"].dtype) == "Int64"
    full, bare, archived = (df.iloc[i] for i in range(3))
    assert full["tags"] == "ui,checkout" and full["maintainer"] == "ana@example.com"
    assert full["creation_date"] == NOW - 60 * DAY_MS
    assert bare["tags"] == "" and pd.isna(bare["maintainer"]) and pd.isna(bare["name"])
    assert not bare["temporary"] and not bare["archived"] and pd.isna(bare["creation_date"])
    assert (
        archived["archived"]
        and archived["archived_date"] == NOW - DAY_MS
        and archived["creation_date"] == NOW
    )


def test_flags_to_frame_last_duplicate_wins_and_empty() -> None:
    df = flags_to_frame([flag("a", temporary=True), flag("a", temporary=False)])
    assert len(df) == 1 and not df.loc[0, "temporary"]
    empty = flags_to_frame([])
    assert tuple(empty.columns) == FLAG_COLUMNS and empty.empty


def test_statuses_to_frame_parses_flag_key_from_href() -> None:
    df = statuses_to_frame(
        [
            status("plain", "launched", "2025-06-15T12:00:00Z"),
            {
                "name": "active",
                "lastRequested": "2025-06-15T14:00:00.250+02:00",
                "_links": {
                    "parent": {"href": "https://app.launchdarkly.com/api/v2/flags/proj/with.dots-and_x/?x=1"}
                },
            },
            {"name": "inactive", "_links": {"parent": {"href": "/api/v2/flags/proj/enc%2Fkey"}}},
            {
                "name": "someday-new-status",
                "lastRequested": "not a date",
                "_links": {"parent": {"href": "/a/b/odd"}},
            },
            {"name": "new", "lastRequested": None},
            {"name": "new", "_links": {}},
            {"name": "new", "_links": {"parent": {}}},
            {"name": "new", "_links": {"parent": {"href": ""}}},
        ],
        "production",
    )
    assert tuple(df.columns) == STATUS_COLUMNS
    assert df["flag_key"].tolist() == ["plain", "with.dots-and_x", "enc/key", "odd"]
    assert df["status"].tolist() == ["launched", "active", "inactive", "someday-new-status"]
    assert set(df["environment_key"]) == {"production"}
    assert str(df["last_requested"].dtype) == "Int64"
    ms = int(pd.Timestamp("2025-06-15T12:00:00Z").value // 1_000_000)
    assert df["last_requested"].iloc[0] == ms
    assert df["last_requested"].iloc[1] == ms + 250
    assert df["last_requested"].iloc[2:].isna().all()


def test_statuses_to_frame_empty() -> None:
    df = statuses_to_frame([], "staging")
    assert tuple(df.columns) == STATUS_COLUMNS and df.empty


def test_production_like_uses_critical_flag() -> None:
    envs = [
        {"key": "production", "critical": False},
        {"key": "prod-eu", "critical": True},
        {"key": "prod-us", "critical": True},
        {"key": "staging"},
    ]
    assert production_like(envs) == {"prod-eu", "prod-us"}


@pytest.mark.parametrize(
    "envs",
    [
        [{"key": "production"}, {"key": "staging"}],
        [{"key": "production", "critical": False}, {"key": "test", "critical": False}],
        [{"key": "live", "critical": "yes"}],
        [],
    ],
)
def test_production_like_falls_back_to_production(envs: list[dict]) -> None:
    assert production_like(envs) == {"production"}


# --- stale flags ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("age_ms", "stale"),
    [
        (30 * DAY_MS, True),  # exactly 30 days: old enough
        (30 * DAY_MS + MS, True),
        (30 * DAY_MS - MS, False),  # 1 ms short of 30 days
    ],
)
def test_stale_age_boundary(age_ms: int, stale: bool) -> None:
    item = {**flag("f"), "creationDate": NOW - age_ms}
    assert stale_keys([item], [status("f")], []) == (["f"] if stale else [])


@pytest.mark.parametrize(
    ("since_event", "stale"),
    [
        (7 * DAY_MS, False),  # exactly 7 days ago still counts as recent
        (7 * DAY_MS - MS, False),
        (7 * DAY_MS + MS, True),  # 1 ms older: no longer recent
        (0, False),  # an event at now itself
        (-MS, True),  # an event after now is ignored
    ],
)
def test_stale_recent_event_boundary(since_event: int, stale: bool) -> None:
    events = [event("f", NOW - since_event)]
    assert stale_keys([flag("f")], [status("f", "launched")], events) == (["f"] if stale else [])


def test_global_event_in_last_7_days_keeps_flag_fresh() -> None:
    events = [event("f", NOW - 7 * DAY_MS, env=None)]
    assert stale_keys([flag("f")], [status("f")], events) == []
    old = [event("f", NOW - 7 * DAY_MS - MS, env=None)]
    assert stale_keys([flag("f")], [status("f")], old) == ["f"]


def test_recent_event_in_another_environment_does_not_keep_flag_fresh() -> None:
    events = [event("f", NOW - DAY_MS, env="staging")]
    assert stale_keys([flag("f")], [status("f")], events) == ["f"]


def test_recent_event_of_another_flag_does_not_count() -> None:
    assert stale_keys([flag("f")], [status("f")], [event("g", NOW - DAY_MS)]) == ["f"]


@pytest.mark.parametrize(
    ("name", "stale"),
    [
        ("inactive", True),
        ("launched", True),
        ("active", False),
        ("new", False),
        ("mystery", False),
    ],
)
def test_stale_needs_inactive_or_launched(name: str, stale: bool) -> None:
    assert stale_keys([flag("f")], [status("f", name)], []) == (["f"] if stale else [])


def test_flag_without_a_status_is_not_stale() -> None:
    assert stale_keys([flag("f")], [], []) == []


def test_status_of_another_environment_is_not_used() -> None:
    f, _, e = frames([flag("f")], [], [])
    staging = statuses_to_frame([status("f")], "staging")
    assert lifecycle_metrics(f, staging, e, "production", PROD, NOW)["stale_flags"] == 0
    assert lifecycle_metrics(f, staging, e, "staging", PROD, NOW)["stale_flag_keys"] == ["f"]


def test_archived_and_permanent_flags_are_never_stale_nor_temporary() -> None:
    flags = [
        flag("stale"),
        flag("perm", temporary=False),
        flag("gone", archived=True),
        flag("gone-perm", temporary=False, archived=True),
    ]
    m = metrics(flags, [status(k) for k in ("stale", "perm", "gone", "gone-perm")], [])
    assert m["temporary_flags"] == 1
    assert m["stale_flags"] == 1 and m["stale_flag_keys"] == ["stale"]
    assert m["stale_share"] == 1.0


def test_stale_share_and_sorted_keys() -> None:
    flags = [flag("zeta"), flag("alpha"), flag("fresh"), flag("young", age_days=3)]
    statuses = [status("zeta"), status("alpha", "launched"), status("fresh"), status("young")]
    m = metrics(flags, statuses, [event("fresh", NOW - DAY_MS)])
    assert m["stale_flag_keys"] == ["alpha", "zeta"]
    assert m["stale_flags"] == 2 and m["temporary_flags"] == 4 and m["stale_share"] == 0.5


def test_status_counts_cover_non_archived_flags_and_all_keys() -> None:
    flags = [flag("a"), flag("b"), flag("c"), flag("d", archived=True), flag("e", temporary=False)]
    statuses = [
        status("a", "active"),
        status("b", "active"),
        status("c", "weird"),
        status("d", "inactive"),
        status("e", "launched"),
        status("unknown-flag", "new"),
    ]
    assert metrics(flags, statuses, [])["statuses"] == {"new": 0, "active": 2, "launched": 1, "inactive": 0}


def test_stale_flags_table_rows_columns_and_order() -> None:
    flags = [
        {**flag("older", age_days=90), "tags": ["ui", "beta"], "_maintainer": {"email": "o@x.io"}},
        flag("newer", age_days=40),
        flag("fresh", age_days=90),
    ]
    statuses = [status("older", "launched", "2025-06-01T00:00:00Z"), status("newer"), status("fresh")]
    events = [
        event("older", NOW - 20 * DAY_MS),
        event("older", NOW - 10 * DAY_MS, env=None),
        event("older", NOW - 8 * DAY_MS, env="staging"),
        event("fresh", NOW - DAY_MS),
    ]
    table = stale_flags_table(*frames(flags, statuses, events), "production", NOW)
    assert tuple(table.columns) == STALE_TABLE_COLUMNS
    assert table["flag_key"].tolist() == ["older", "newer"]
    older, newer = table.iloc[0], table.iloc[1]
    assert older["age_days"] == 90 and newer["age_days"] == 40
    assert older["last_change"] == NOW - 10 * DAY_MS and older["days_since_change"] == 10
    assert pd.isna(newer["last_change"]) and pd.isna(newer["days_since_change"])
    assert older["last_requested"] == pd.Timestamp("2025-06-01T00:00:00Z").value // 1_000_000
    assert older["maintainer"] == "o@x.io" and older["tags"] == "ui,beta" and older["name"] == "OLDER"
    assert older["status"] == "launched"


def test_stale_table_agrees_with_metrics() -> None:
    flags = [flag(f"f{i}", age_days=25 + i) for i in range(10)]
    statuses = [status(f"f{i}", ["inactive", "launched", "active"][i % 3]) for i in range(10)]
    events = [event("f7", NOW - 2 * DAY_MS)]
    f, s, e = frames(flags, statuses, events)
    table = stale_flags_table(f, s, e, "production", NOW)
    assert sorted(table["flag_key"]) == lifecycle_metrics(f, s, e, "production", PROD, NOW)["stale_flag_keys"]


# --- promotion hygiene ---------------------------------------------------------------------------


def changes(events: list[dict], env: str = "production", production_envs: set[str] = PROD) -> pd.DataFrame:
    return production_changes(events_to_frame(events), production_envs, env)


@pytest.mark.parametrize(
    ("gap", "rehearsed"),
    [
        (14 * DAY_MS, True),  # exactly 14 days before: rehearsed
        (14 * DAY_MS - MS, True),
        (14 * DAY_MS + MS, False),  # 1 ms too early
        (MS, True),
        (0, False),  # same millisecond is not a rehearsal
        (-MS, False),  # after the production change
    ],
)
def test_rehearsal_window(gap: int, rehearsed: bool) -> None:
    prod_at = NOW - 30 * DAY_MS
    df = changes([event("f", prod_at - gap, env="staging"), event("f", prod_at)])
    assert tuple(df.columns) == CHANGE_COLUMNS
    assert df["rehearsed"].tolist() == [rehearsed]
    if rehearsed:
        assert df["lag_hours"].iloc[0] == gap / HOUR_MS
    else:
        assert pd.isna(df["lag_hours"].iloc[0])


def test_lag_is_measured_from_the_latest_rehearsal() -> None:
    df = changes(
        [
            event("f", NOW - 10 * DAY_MS, env="staging"),
            event("f", NOW - 2 * DAY_MS, env="test"),
            event("f", NOW - DAY_MS),
        ]
    )
    assert df["rehearsed"].tolist() == [True] and df["lag_hours"].tolist() == [24.0]


def test_same_ms_rehearsal_falls_back_to_an_earlier_one() -> None:
    df = changes(
        [
            event("f", NOW - 3 * DAY_MS, env="staging"),
            event("f", NOW - DAY_MS, env="staging"),
            event("f", NOW - DAY_MS),
        ]
    )
    assert df["rehearsed"].tolist() == [True] and df["lag_hours"].tolist() == [48.0]


@pytest.mark.parametrize(
    "rehearsal",
    [
        event("other-flag", NOW - 2 * DAY_MS, env="staging"),
        event("f", NOW - 2 * DAY_MS, env="staging", actions=("updateName", "updateDescription")),
        event("f", NOW - 2 * DAY_MS, env="staging", actions=("updateOnLater",)),
        event("f", NOW - 2 * DAY_MS, env=None),
        event("f", NOW - 2 * DAY_MS, env="prod-eu"),
        event("f", NOW - 2 * DAY_MS, env="staging", project="another-project"),
    ],
    ids=["other-flag", "non-serving", "lookalike-action", "global", "other-production", "other-project"],
)
def test_what_is_not_a_rehearsal(rehearsal: dict) -> None:
    df = changes([rehearsal, event("f", NOW - DAY_MS)], production_envs={"production", "prod-eu"})
    assert df["rehearsed"].tolist() == [False]


@pytest.mark.parametrize(
    "action", ["updateOn", "updateFallthrough", "updateRules", "updateTargets", "updateOffVariation"]
)
def test_each_serving_action_is_a_production_change(action: str) -> None:
    df = changes([event("f", NOW - DAY_MS, actions=("updateName", action))])
    assert len(df) == 1


def test_non_serving_production_events_are_not_changes() -> None:
    assert changes(
        [event("f", NOW - DAY_MS, actions=("updateName",)), event("f", NOW - DAY_MS, actions=())]
    ).empty


def test_plain_string_actions_column_works_too() -> None:
    frame = events_to_frame([event("f", NOW - 2 * DAY_MS, env="staging"), event("f", NOW - DAY_MS)])
    frame["actions"] = frame["actions"].astype("string")
    assert production_changes(frame, PROD, "production")["rehearsed"].tolist() == [True]


def test_unrehearsed_count_and_lag_median() -> None:
    events = [
        event("a", NOW - 5 * DAY_MS, env="staging"),
        event("a", NOW - 4 * DAY_MS),  # 24 h
        event("b", NOW - 3 * DAY_MS - 2 * HOUR_MS, env="dev"),
        event("b", NOW - 3 * DAY_MS),  # 2 h
        event("c", NOW - 2 * DAY_MS),  # unrehearsed
        event("d", NOW - 40 * DAY_MS, env="staging"),
        event("d", NOW - DAY_MS),  # too old
        event("e", NOW + DAY_MS),  # after now
    ]
    m = metrics([flag(k) for k in "abcde"], [], events)
    assert m["unrehearsed_changes"] == 2
    assert m["promotion_lag_hours_median"] == 13.0


def test_non_production_environment_gives_null_promotion_metrics() -> None:
    events = [event("f", NOW - 2 * DAY_MS, env="staging"), event("f", NOW - DAY_MS, env="staging")]
    m = metrics([flag("f")], [status("f")], events, env="staging")
    assert m["unrehearsed_changes"] is None and m["promotion_lag_hours_median"] is None
    assert changes(events, env="staging").empty


def test_production_env_without_changes_gives_zero_and_null_lag() -> None:
    m = metrics([flag("f")], [], [])
    assert m["unrehearsed_changes"] == 0 and m["promotion_lag_hours_median"] is None


def test_critical_environments_drive_promotion() -> None:
    events = [event("f", NOW - 2 * DAY_MS, env="production"), event("f", NOW - DAY_MS, env="live")]
    m = metrics([flag("f")], [], events, env="live", production_envs={"live"})
    assert m["unrehearsed_changes"] == 0 and m["promotion_lag_hours_median"] == 24.0


# --- lifecycle -----------------------------------------------------------------------------------


def lifecycle(
    flags: list[dict], statuses: list[dict], events: list[dict], production_envs: set[str] = PROD
) -> pd.DataFrame:
    f, s, e = frames(flags, statuses, events)
    return lifecycle_table(f, s, e, production_envs, NOW).set_index("flag_key")


def test_lifecycle_stages_and_days_in_stage() -> None:
    flags = [
        flag("dev", age_days=10),
        flag("live", age_days=50),
        flag("done", age_days=100),
        flag("old", archived=True, archivedDate=NOW - 3 * DAY_MS),
        flag("old2", archived=True),
        flag("perm", temporary=False, age_days=100),
    ]
    statuses = [status("dev"), status("live", "active"), status("done", "launched"), status("perm")]
    events = [
        event("dev", NOW - 5 * DAY_MS, env="staging"),
        event("live", NOW - 20 * DAY_MS),
        event("live", NOW - 10 * DAY_MS),
        event("done", NOW - 80 * DAY_MS),
        event("done", NOW - 9 * DAY_MS, env=None),
        event("perm", NOW - 60 * DAY_MS),
    ]
    table = lifecycle(flags, statuses, events)
    assert tuple(table.reset_index().columns) == LIFECYCLE_COLUMNS
    assert table["stage"].to_dict() == {
        "dev": "develop",
        "done": "cleanup",
        "live": "production",
        "old": "archived",
        "old2": "archived",
        "perm": "production",
    }
    days = table["days_in_stage"]
    assert days["dev"] == 10  # since creation
    assert days["live"] == 20  # since the first production change
    assert days["done"] == 9  # since the last event (later than creation + 30 d)
    assert days["old"] == 3  # since archivedDate
    assert pd.isna(days["old2"])  # archived, date unknown
    assert days["perm"] == 60
    assert table.loc["live", "first_production_change"] == NOW - 20 * DAY_MS
    assert table.loc["live", "created"] == NOW - 50 * DAY_MS
    assert pd.isna(table.loc["dev", "first_production_change"])


def test_cleanup_clock_starts_at_creation_plus_30_days_without_later_events() -> None:
    table = lifecycle([flag("f", age_days=45)], [status("f")], [event("f", NOW - 44 * DAY_MS)])
    assert table.loc["f", "stage"] == "cleanup" and table.loc["f", "days_in_stage"] == 15


def test_cleanup_needs_staleness_in_every_production_environment() -> None:
    f = flags_to_frame([flag("f")])
    s = pd.concat(
        [
            statuses_to_frame([status("f")], "prod-us"),
            statuses_to_frame([status("f", "active")], "prod-eu"),
            statuses_to_frame([status("f", "active")], "staging"),
        ],
        ignore_index=True,
    )
    e = events_to_frame([event("f", NOW - 50 * DAY_MS, env="prod-us")])
    both = lifecycle_table(f, s, e, {"prod-us", "prod-eu"}, NOW)
    assert both["stage"].tolist() == ["production"]
    # an environment without statuses is not judged; staging never is
    us_only = lifecycle_table(f, s[s["environment_key"] != "prod-eu"], e, {"prod-us", "prod-eu"}, NOW)
    assert us_only["stage"].tolist() == ["cleanup"]


def test_stale_flag_without_production_change_is_in_cleanup() -> None:
    assert lifecycle([flag("f")], [status("f")], [])["stage"].to_dict() == {"f": "cleanup"}


def test_events_before_creation_and_after_now_are_not_production_changes() -> None:
    events = [event("f", NOW - 30 * DAY_MS), event("f", NOW + DAY_MS)]  # a recycled key, a future event
    table = lifecycle([flag("f", age_days=20)], [], events)
    assert table.loc["f", "stage"] == "develop"


def test_median_days_to_production() -> None:
    flags = [
        flag("a", age_days=50),
        flag("b", age_days=50),
        flag("c", age_days=50),
        flag("d", age_days=50, archived=True),
        flag("never", age_days=50),
    ]
    events = [
        event("a", NOW - 48 * DAY_MS),
        event("a", NOW - 10 * DAY_MS),
        event("b", NOW - 40 * DAY_MS),
        event("c", NOW - 30 * DAY_MS, env=None),
        event("c", NOW - 45 * DAY_MS, env="staging"),
        event("d", NOW - 46 * DAY_MS, actions=("updateName",)),
    ]
    # a: 2 d, b: 10 d, d: 4 d (archived flags keep their history; any production event counts)
    assert metrics(flags, [], events)["median_days_to_production"] == 4.0
    assert metrics([flag("x")], [], [])["median_days_to_production"] is None


# --- status matrix -------------------------------------------------------------------------------


def test_status_matrix_long_format() -> None:
    f = flags_to_frame([flag("a"), flag("b"), flag("gone", archived=True)])
    s = pd.concat(
        [
            statuses_to_frame([status("a", "active"), status("gone")], "production"),
            statuses_to_frame([status("a", "new"), status("b", "launched")], "staging"),
        ],
        ignore_index=True,
    )
    e = events_to_frame(
        [
            event("a", NOW - 3 * DAY_MS),
            event("a", NOW - DAY_MS),
            event("b", NOW - 2 * DAY_MS, env=None),
            event("b", NOW - 5 * DAY_MS, env="dev"),
        ]
    )
    m = status_matrix(f, s, e)
    assert tuple(m.columns) == MATRIX_COLUMNS
    rows = {(r.flag_key, r.environment_key): (r.status, r.last_change) for r in m.itertuples()}
    assert list(rows) == [("a", "production"), ("a", "staging"), ("b", "production"), ("b", "staging")]
    assert rows["a", "production"] == ("active", NOW - DAY_MS)
    assert rows["a", "staging"][0] == "new" and pd.isna(rows["a", "staging"][1])
    assert pd.isna(rows["b", "production"][0]) and pd.isna(rows["b", "production"][1])
    assert rows["b", "staging"][0] == "launched"


# --- empty inputs and serialisation --------------------------------------------------------------

EMPTY_METRICS = {
    "temporary_flags": 0,
    "stale_flags": 0,
    "stale_share": 0.0,
    "stale_flag_keys": [],
    "statuses": {"new": 0, "active": 0, "launched": 0, "inactive": 0},
    "unrehearsed_changes": 0,
    "promotion_lag_hours_median": None,
    "median_days_to_production": None,
}


@pytest.mark.parametrize(
    "build",
    [
        lambda: (flags_to_frame([]), statuses_to_frame([], "production"), empty_frame()),
        lambda: (pd.DataFrame(), pd.DataFrame(), pd.DataFrame()),
    ],
    ids=["typed-empty", "bare-empty"],
)
def test_empty_inputs(build) -> None:
    f, s, e = build()
    assert lifecycle_metrics(f, s, e, "production", PROD, NOW) == EMPTY_METRICS
    assert tuple(stale_flags_table(f, s, e, "production", NOW).columns) == STALE_TABLE_COLUMNS
    assert tuple(lifecycle_table(f, s, e, PROD, NOW).columns) == LIFECYCLE_COLUMNS
    assert tuple(production_changes(e, PROD, "production").columns) == CHANGE_COLUMNS
    assert tuple(status_matrix(f, s, e).columns) == MATRIX_COLUMNS
    assert lifecycle_table(f, s, e, PROD, NOW).empty and status_matrix(f, s, e).empty


def test_metrics_are_plain_json() -> None:
    m = metrics(
        [flag("a"), flag("b")],
        [status("a"), status("b", "active")],
        [
            event("a", NOW - 60 * DAY_MS, env="staging"),
            event("a", NOW - 59 * DAY_MS),
            event("b", NOW - 40 * DAY_MS),
        ],
    )
    assert json.loads(json.dumps(m)) == m
    assert type(m["temporary_flags"]) is int and type(m["stale_share"]) is float
    assert type(m["promotion_lag_hours_median"]) is float and type(m["median_days_to_production"]) is float


# --- the vectorised code against a literal reading of the definitions ----------------------------

ENVS = ("production", "staging", None)


@st.composite
def scenarios(draw: st.DrawFn):
    keys = ["f0", "f1", "f2"]
    flags = [
        {
            "key": k,
            "temporary": draw(st.booleans()),
            "archived": draw(st.booleans()),
            "creationDate": NOW
            - draw(st.sampled_from([0, 29, 30, 31, 60])) * DAY_MS
            - draw(st.sampled_from([-1, 0, 1])),
        }
        for k in keys
    ]
    statuses = [status(k, draw(st.sampled_from(["new", "active", "inactive", "launched"]))) for k in keys]
    times = st.sampled_from([0, 1, 7 * DAY_MS - 1, 7 * DAY_MS, 7 * DAY_MS + 1, 14 * DAY_MS, 20 * DAY_MS])
    events = [
        event(
            draw(st.sampled_from(keys)),
            NOW - draw(times) - draw(st.sampled_from([0, DAY_MS])),
            env=draw(st.sampled_from(ENVS)),
            actions=draw(st.sampled_from([("updateOn",), ("updateName",), ("updateRules", "x")])),
        )
        for _ in range(draw(st.integers(0, 8)))
    ]
    return flags, statuses, events


def reference_stale(flags: list[dict], statuses: list[dict], events: list[dict]) -> list[str]:
    status_of = {s["_links"]["parent"]["href"].rsplit("/", 1)[1]: s["name"] for s in statuses}
    out = []
    for f in flags:
        recent = any(
            e["flagKey"] == f["key"]
            and e.get("environmentKey") in ("production", None)
            and NOW - 7 * DAY_MS <= e["eventTime"] <= NOW
            for e in events
        )
        if (
            f["temporary"]
            and not f["archived"]
            and f["creationDate"] <= NOW - 30 * DAY_MS
            and status_of.get(f["key"]) in ("inactive", "launched")
            and not recent
        ):
            out.append(f["key"])
    return sorted(out)


def reference_unrehearsed(events: list[dict]) -> int:
    serving = [e for e in events if {"updateOn", "updateRules"} & set(e["actions"])]
    return sum(
        not any(
            r["flagKey"] == p["flagKey"]
            and r.get("environmentKey") == "staging"
            and 0 < p["eventTime"] - r["eventTime"] <= 14 * DAY_MS
            for r in serving
        )
        for p in serving
        if p.get("environmentKey") == "production" and p["eventTime"] <= NOW
    )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_matches_reference(scenario) -> None:
    flags, statuses, events = scenario
    m = metrics(flags, statuses, events)
    assert m["stale_flag_keys"] == reference_stale(flags, statuses, events)
    assert m["unrehearsed_changes"] == reference_unrehearsed(events)
    assert 0.0 <= m["stale_share"] <= 1.0
