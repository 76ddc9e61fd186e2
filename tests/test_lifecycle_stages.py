"""LaunchDarkly's lifecycle stages, the value to keep and owner status, on hand-built flags: every rule and
its boundaries (docs/LIFECYCLE.md, "LaunchDarkly's lifecycle stages")."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from ldclient.frame import events_to_frame
from ldclient.lifecycle import (
    CODE_REF_COLUMNS,
    DAY_MS,
    OWNER_COLUMNS,
    STAGE_COLUMNS,
    VALUE_COLUMNS,
    code_refs_to_frame,
    critical_environments,
    forward_value,
    lifecycle_stages,
    merge_flag_configs,
    owner_status,
    owners,
    prerequisites_to_frame,
    stale_rollup,
    statuses_to_frame,
    values_to_keep,
)

NOW = 1_750_000_000_000
CRITICAL = {"production", "prod-eu"}
BOOL = [{"value": True, "name": "On"}, {"value": False, "name": "Off"}]


def config(
    *,
    on: bool = True,
    fallthrough: Any = 0,
    off: int | None = 1,
    rules: list[dict[str, Any]] | None = None,
    targets: list[dict[str, Any]] | None = None,
    prerequisites: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "on": on,
        "fallthrough": {"variation": fallthrough}
        if isinstance(fallthrough, int)
        else {"rollout": fallthrough},
        "rules": rules or [],
        "targets": targets or [],
        "contextTargets": [],
        "prerequisites": prerequisites or [],
    }
    if off is not None:
        out["offVariation"] = off
    return out


def flag(
    key: str,
    *,
    age_days: float = 60,
    temporary: bool = True,
    envs: dict[str, dict[str, Any]] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    return {
        "key": key,
        "name": key.title(),
        "kind": "boolean",
        "temporary": temporary,
        "archived": False,
        "deprecated": False,
        "creationDate": int(NOW - age_days * DAY_MS),
        "tags": ["t"],
        "variations": BOOL,
        "environments": envs if envs is not None else {e: config() for e in CRITICAL},
        **extra,
    }


def statuses(per_env: dict[str, dict[str, str]]) -> pd.DataFrame:
    frames = [
        statuses_to_frame(
            [
                {"name": name, "_links": {"parent": {"href": f"/api/v2/flags/p/{key}"}}}
                for key, name in by_key.items()
            ],
            env,
        )
        for env, by_key in per_env.items()
    ]
    return pd.concat(frames, ignore_index=True)


def everywhere(key: str, name: str, envs: set[str] = CRITICAL) -> dict[str, dict[str, str]]:
    return {e: {key: name} for e in envs}


def refs(**hunks_by_flag: int) -> pd.DataFrame:
    body = {
        "_links": {},
        "flags": {
            key: [
                {
                    "_links": {},
                    "name": "web",
                    "sourceLink": "https://github.com/acme/web",
                    "defaultBranch": "main",
                    "enabled": True,
                    "fileCount": 1 if n else 0,
                    "hunkCount": n,
                    "type": "github",
                    "version": 1,
                }
            ]
            for key, n in hunks_by_flag.items()
        },
    }
    return code_refs_to_frame(body)


def stage_of(
    items: list[dict[str, Any]], st: pd.DataFrame, critical: set[str] = CRITICAL, **kw: Any
) -> dict[str, str]:
    table = lifecycle_stages(items, st, critical, NOW, **kw)
    return dict(zip(table["flag_key"].astype(str), table["lifecycle_stage"].astype(str), strict=True))


# --- stages ---------------------------------------------------------------------------------------


def test_columns_are_fixed_and_empty_inputs_work() -> None:
    table = lifecycle_stages([], statuses_to_frame([], "production"), CRITICAL, NOW)
    assert tuple(table.columns) == STAGE_COLUMNS and table.empty


def test_29_days_is_live_and_30_days_is_ready() -> None:
    young, old = flag("young", age_days=30 - 1 / 86_400_000), flag("old", age_days=30)
    st = statuses({**{e: {"young": "inactive", "old": "inactive"} for e in CRITICAL}})
    assert stage_of([young, old], st) == {"old": "ready_to_archive", "young": "live"}
    assert stage_of([flag("d29", age_days=29)], statuses(everywhere("d29", "inactive"))) == {"d29": "live"}


def test_zero_vs_one_code_reference_decides_between_the_two_cleanup_stages() -> None:
    items = [flag("a"), flag("b")]
    launched = statuses({e: {"a": "launched", "b": "launched"} for e in CRITICAL})
    inactive = statuses({e: {"a": "inactive", "b": "inactive"} for e in CRITICAL})
    assert stage_of(items, launched, code_refs=refs(a=1)) == {"a": "ready_for_code_removal", "b": "live"}
    assert stage_of(items, inactive, code_refs=refs(a=1)) == {"a": "live", "b": "ready_to_archive"}
    # a repository entry with no hunks is no reference
    assert stage_of(items, inactive, code_refs=refs(a=0)) == {
        "a": "ready_to_archive",
        "b": "ready_to_archive",
    }
    table = lifecycle_stages(items, launched, CRITICAL, NOW, code_refs=refs(a=1))
    a = table.set_index("flag_key").loc["a"]
    assert a["code_reference_repositories"] == ["web"] and a["code_reference_hunks"] == 1
    assert a["code_reference_links"] == ["https://github.com/acme/web"]
    b = table.set_index("flag_key").loc["b"]
    assert "no code references" in b["stage_reason"]


def test_one_critical_environment_launched_and_another_inactive_is_in_no_cleanup_stage() -> None:
    st = statuses({"production": {"f": "launched"}, "prod-eu": {"f": "inactive"}})
    for code in (refs(f=3), refs()):
        table = lifecycle_stages([flag("f")], st, CRITICAL, NOW, code_refs=code)
        assert table.loc[0, "lifecycle_stage"] == "live"
        assert "same status in every critical environment" in table.loc[0, "stage_reason"]


def test_non_critical_environments_are_not_judged() -> None:
    st = statuses({**everywhere("f", "launched"), "staging": {"f": "active"}})
    assert stage_of([flag("f")], st, code_refs=refs(f=2)) == {"f": "ready_for_code_removal"}


def test_new_or_active_in_a_critical_environment_is_live() -> None:
    for name in ("new", "active"):
        st = statuses({"production": {"f": name}, "prod-eu": {"f": "inactive"}})
        table = lifecycle_stages([flag("f")], st, CRITICAL, NOW)
        assert (
            table.loc[0, "lifecycle_stage"] == "live"
            and f"{name} in production" in table.loc[0, "stage_reason"]
        )


def test_missing_status_in_a_critical_environment_is_not_ready() -> None:
    st = statuses({"production": {"f": "inactive"}})
    table = lifecycle_stages([flag("f")], st, CRITICAL, NOW)
    assert table.loc[0, "lifecycle_stage"] == "live" and "prod-eu (no status)" in table.loc[0, "stage_reason"]


def test_a_prerequisite_of_another_flag_in_a_critical_environment_is_not_ready() -> None:
    parent = flag("parent")
    child_envs = {e: config() for e in CRITICAL}
    child_envs["production"] = config(prerequisites=[{"key": "parent", "variation": 0}])
    child = flag("child", envs=child_envs)
    st = statuses({e: {"parent": "inactive", "child": "active"} for e in CRITICAL})
    table = lifecycle_stages([parent, child], st, CRITICAL, NOW).set_index("flag_key")
    assert table.loc["parent", "lifecycle_stage"] == "live"
    assert table.loc["parent", "prerequisite_of"] == ["child"]
    assert "prerequisite of child in production" in table.loc["parent", "stage_reason"]
    # a prerequisite only in a non-critical environment does not block
    staging_only = flag(
        "child", envs={**{e: config() for e in CRITICAL}, "staging": child_envs["production"]}
    )
    assert stage_of([parent, staging_only], st)["parent"] == "ready_to_archive"
    # nor does an archived dependent
    assert stage_of([parent, {**child, "archived": True}], st)["parent"] == "ready_to_archive"


def test_no_critical_environment_means_no_cleanup_stage() -> None:
    st = statuses(everywhere("f", "inactive", {"production"}))
    table = lifecycle_stages([flag("f", envs={"production": config()})], st, set(), NOW)
    assert table.loc[0, "lifecycle_stage"] == "live"
    assert "no critical environment" in table.loc[0, "stage_reason"]
    assert "no critical environment" in table.loc[0, "value_to_keep_reason"]
    assert critical_environments([{"key": "production"}, {"key": "x", "critical": False}]) == set()
    assert critical_environments([{"key": "p", "critical": True}, {"key": "s", "critical": "true"}]) == {"p"}


def test_permanent_deprecated_archived_and_unknown_age() -> None:
    st = statuses({e: {k: "inactive" for k in ("perm", "dep", "arch", "undated")} for e in CRITICAL})
    items = [
        flag("perm", temporary=False),
        flag("dep", deprecated=True),
        flag("arch", archived=True, deprecated=True),
        {**flag("undated"), "creationDate": None},
    ]
    assert stage_of(items, st) == {"arch": "archived", "dep": "deprecated", "perm": "live", "undated": "live"}


# --- value to keep ---------------------------------------------------------------------------------


def test_value_to_keep_single_value() -> None:
    fv = forward_value(flag("f"), CRITICAL)
    assert (fv.variation, fv.value, fv.name, fv.reason) == (0, True, "On", None)
    # rules and targets that serve the same variation as the default rule do not split traffic
    same = config(rules=[{"variation": 0, "clauses": []}], targets=[{"values": ["u1"], "variation": 0}])
    assert forward_value(flag("f", envs={e: same for e in CRITICAL}), CRITICAL).value is True


def test_value_to_keep_flag_off_serves_the_off_variation() -> None:
    off = config(on=False, fallthrough=0, off=1, rules=[{"variation": 0, "clauses": []}])
    fv = forward_value(flag("f", envs={e: off for e in CRITICAL}), CRITICAL)
    assert (fv.variation, fv.value) == (1, False)
    no_off = config(on=False, off=None)
    fv = forward_value(flag("f", envs={e: no_off for e in CRITICAL}), CRITICAL)
    assert fv.variation is None and "fallback" in (fv.reason or "")


def test_value_to_keep_split_by_rules() -> None:
    ruled = config(
        rules=[{"variation": 1, "clauses": [{"attribute": "country", "op": "in", "values": ["de"]}]}]
    )
    fv = forward_value(flag("f", envs={"production": ruled, "prod-eu": config()}), CRITICAL)
    assert fv.variation is None
    assert fv.reason == "production: rule 1 split traffic between true (On), false (Off)"
    disabled = config(rules=[{"variation": 1, "clauses": [], "disabled": True}])
    assert forward_value(flag("f", envs={e: disabled for e in CRITICAL}), CRITICAL).value is True
    rollout = config(
        rules=[
            {
                "rollout": {
                    "variations": [{"variation": 0, "weight": 50_000}, {"variation": 1, "weight": 50_000}]
                },
                "clauses": [],
            }
        ]
    )
    assert forward_value(flag("f", envs={e: rollout for e in CRITICAL}), CRITICAL).variation is None


def test_value_to_keep_split_by_targets() -> None:
    targeted = config(targets=[{"values": ["user-1"], "variation": 1}])
    fv = forward_value(flag("f", envs={e: targeted for e in CRITICAL}), CRITICAL)
    assert fv.variation is None and "individual targets" in (fv.reason or "")
    empty_target = config(targets=[{"values": [], "variation": 1}])
    assert forward_value(flag("f", envs={e: empty_target for e in CRITICAL}), CRITICAL).value is True


def test_value_to_keep_percentage_rollout_and_its_zero_weights() -> None:
    split = config(
        fallthrough={"variations": [{"variation": 0, "weight": 60_000}, {"variation": 1, "weight": 40_000}]}
    )
    assert "percentage rollout" in (
        forward_value(flag("f", envs={e: split for e in CRITICAL}), CRITICAL).reason or ""
    )
    whole = config(
        fallthrough={"variations": [{"variation": 0, "weight": 0}, {"variation": 1, "weight": 100_000}]}
    )
    assert forward_value(flag("f", envs={e: whole for e in CRITICAL}), CRITICAL).value is False


def test_value_to_keep_environments_disagree() -> None:
    fv = forward_value(
        flag("f", envs={"production": config(fallthrough=0), "prod-eu": config(fallthrough=1)}), CRITICAL
    )
    assert fv.variation is None
    assert (
        fv.reason == "critical environments disagree: prod-eu serves false (Off), production serves true (On)"
    )
    # a non-critical environment that disagrees does not matter
    fine = {"production": config(), "prod-eu": config(), "staging": config(fallthrough=1)}
    assert forward_value(flag("f", envs=fine), CRITICAL).value is True


def test_value_to_keep_prerequisites_and_missing_configuration() -> None:
    prereq = config(prerequisites=[{"key": "other", "variation": 0}])
    fv = forward_value(flag("f", envs={e: prereq for e in CRITICAL}), CRITICAL)
    assert fv.variation is None and "prerequisites (other)" in (fv.reason or "")
    summary_only = {"on": True, "fallthrough": {"variation": 0}, "offVariation": 1}
    fv = forward_value(flag("f", envs={e: summary_only for e in CRITICAL}), CRITICAL)
    assert fv.variation is None and "summary=0" in (fv.reason or "")
    fv = forward_value(flag("f", envs={"production": config()}), CRITICAL)
    assert fv.reason == "prod-eu: no configuration was fetched"


def test_values_to_keep_frame() -> None:
    df = values_to_keep([flag("a"), flag("b", envs={e: config(on=False) for e in CRITICAL})], CRITICAL)
    assert tuple(df.columns) == VALUE_COLUMNS
    assert df["value_to_keep"].tolist() == [True, False]
    assert df["value_to_keep_variation"].tolist() == [0, 1]


# --- owners ---------------------------------------------------------------------------------------

MEMBERS = [{"_id": "m1", "email": "Ana@Example.com", "firstName": "Ana", "lastName": "B"}]
TEAMS = [{"key": "checkout", "name": "Checkout"}]


def test_owner_status_ok_none_and_not_a_member() -> None:
    ana = {"_id": "m1", "email": "ana@example.com", "firstName": "Ana", "lastName": "B"}
    gone = {"_id": "m9", "email": "left@example.com", "firstName": "Left", "lastName": "Us"}
    items = [
        flag("member", _maintainer=ana),
        flag("by-email", _maintainer={**ana, "_id": "other-id"}),
        flag("left", _maintainer=gone, _maintainerTeam={"key": "checkout", "name": "Checkout"}),
        flag("team", _maintainerTeam={"key": "checkout", "name": "Checkout"}),
        flag("old-team", maintainerTeamKey="gone-team"),
        flag("nobody"),
        flag("id-only", maintainerId="m9"),
    ]
    df = owners(items, MEMBERS, TEAMS).set_index("flag_key")
    assert tuple(df.reset_index().columns) == OWNER_COLUMNS
    assert df["owner_status"].to_dict() == {
        "member": "ok",
        "by-email": "ok",
        "left": "not_a_member",
        "team": "ok",
        "old-team": "not_a_member",
        "nobody": "none",
        "id-only": "not_a_member",
    }
    assert (
        df.loc["left", "maintainer"] == "left@example.com" and df.loc["left", "maintainer_team"] == "checkout"
    )
    assert df.loc["member", "maintainer_name"] == "Ana B"
    assert df.loc["old-team", "maintainer_team"] == "gone-team"
    # members or teams not read: nothing can be said where they matter
    assert owner_status(items[0], None) is None and owner_status(items[3], {"m1"}, None, None) is None
    assert owner_status(items[5], None) == "none"


# --- code refs, prerequisites, history, stale rollup ---------------------------------------------------


def test_code_refs_to_frame_reads_launchdarklys_statistics() -> None:
    body = {
        "_links": {"self": {"href": "/api/v2/code-refs/statistics/p"}},
        "flags": {
            "f": [
                {
                    "name": "web",
                    "sourceLink": "https://github.com/a/web",
                    "defaultBranch": "main",
                    "enabled": True,
                    "fileCount": 2,
                    "hunkCount": 3,
                    "latestCommitTime": 5,
                    "type": "github",
                    "version": 1,
                    "_links": {},
                },
                {
                    "name": "api",
                    "sourceLink": "https://gitlab.com/a/api",
                    "defaultBranch": "main",
                    "enabled": True,
                    "fileCount": 1,
                    "hunkCount": 1,
                    "type": "gitlab",
                    "version": 1,
                    "_links": {},
                },
                {"sourceLink": "nameless"},
            ],
            "": [],
        },
    }
    df = code_refs_to_frame(body)
    assert tuple(df.columns) == CODE_REF_COLUMNS
    assert df["repository"].tolist() == ["api", "web"] and df["hunk_count"].tolist() == [1, 3]
    assert pd.isna(df.loc[0, "latest_commit_time"]) and df.loc[1, "latest_commit_time"] == 5
    assert code_refs_to_frame(None).empty and code_refs_to_frame({"flags": []}).empty


def test_prerequisites_and_merge() -> None:
    a = flag("a", envs={"production": config(prerequisites=[{"key": "p", "variation": 0}])})
    b = {"key": "a", "environments": {"prod-eu": config(prerequisites=[{"key": "q", "variation": 1}])}}
    merged = merge_flag_configs([a], [b])
    assert len(merged) == 1 and set(merged[0]["environments"]) == {"production", "prod-eu"}
    df = prerequisites_to_frame(merged, CRITICAL)
    assert df[["environment_key", "prerequisite_key"]].values.tolist() == [
        ["prod-eu", "q"],
        ["production", "p"],
    ]


def event(key: str, at: int, env: str | None = "production") -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": f"{key}-{at}-{env}",
        "projectKey": "p",
        "flagKey": key,
        "eventType": "flag-updated",
        "eventTime": at,
        "actions": ["updateOn"],
        "impact": {"size": "none"},
    }
    if env:
        item["environmentKey"] = env
    return item


def test_last_change_comes_from_every_event_and_history_is_flagged_when_shorter_than_life() -> None:
    items = [flag("old", age_days=400), flag("quiet", age_days=400), flag("recent", age_days=40)]
    st = statuses({e: {k: "inactive" for k in ("old", "quiet", "recent")} for e in CRITICAL})
    events = events_to_frame(
        [
            event("old", NOW - 200 * DAY_MS, "staging"),
            event("old", NOW - 300 * DAY_MS),
            event("recent", NOW + 1),
        ]
    )
    table = lifecycle_stages(
        items, st, CRITICAL, NOW, events=events, stale_env="production", history_from_ms=NOW - 365 * DAY_MS
    ).set_index("flag_key")
    assert table.loc["old", "last_change"] == NOW - 200 * DAY_MS
    assert table.loc["old", "days_since_change"] == pytest.approx(200)
    assert pd.isna(table.loc["quiet", "last_change"]) and not table.loc["quiet", "history_covers_life"]
    assert pd.isna(table.loc["recent", "last_change"])  # after now: ignored
    assert table.loc["recent", "history_covers_life"]
    assert table["stale"].all()


def test_stale_rollup_by_maintainer_and_team() -> None:
    ana = {"_id": "m1", "email": "ana@example.com"}
    items = [
        flag("a", age_days=90, _maintainer=ana, _maintainerTeam={"key": "checkout", "name": "Checkout"}),
        flag("b", age_days=120, _maintainer=ana),
        flag("c", age_days=50),
        flag("fresh", age_days=10, _maintainer=ana),
    ]
    st = statuses({"production": {k: "inactive" for k in ("a", "b", "c", "fresh")}})
    table = lifecycle_stages(
        items, st, {"production"}, NOW, events=events_to_frame([]), stale_env="production"
    )
    by_maintainer = stale_rollup(table, "maintainer")
    assert by_maintainer["owner"].fillna("-").tolist() == ["ana@example.com", "-"]
    assert by_maintainer["stale_flags"].tolist() == [2, 1]
    assert by_maintainer.loc[0, "flag_keys"] == ["b", "a"] and by_maintainer.loc[0, "oldest_days"] == 120
    by_team = stale_rollup(table, "maintainer_team")
    assert by_team["owner"].fillna("-").tolist() == ["-", "checkout"]
    assert by_team["stale_flags"].tolist() == [2, 1]
    with pytest.raises(ValueError):
        stale_rollup(table, "tags")
