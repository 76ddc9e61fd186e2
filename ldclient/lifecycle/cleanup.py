"""LaunchDarkly's lifecycle stages, code references, owners and the value to keep, per flag.

LaunchDarkly's Flags list puts every flag in one of five lifecycle stages (Live, Ready for code removal,
Ready to archive, Deprecated, Archived), judged on the project's critical environments with the flag's
code references and prerequisites. This module computes the same stages from the REST API's data, plus
what the person removing a flag needs: who owns it (and whether they still work here), which
repositories still reference it, and which variation the code must keep (LaunchDarkly's cleanup tooling
calls it the forward value). The exact rules and the readings chosen where LaunchDarkly's text is
ambiguous are in ``docs/LIFECYCLE.md`` ("LaunchDarkly's lifecycle stages").

Inputs are the API's own items (``FeatureFlag`` with its ``environments`` configurations,
``StatisticCollectionRep``, ``Member``, ``Team``) and the statuses frame of :mod:`.core`; outputs are
DataFrames with fixed columns, one row per flag key.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..vocabulary import DAY_MS
from .core import (
    STALE_MIN_AGE_MS,
    _events_view,
    _flags_view,
    _millis,
    _stale_pairs,
    _statuses_view,
    _text,
    flags_to_frame,
)

LD_STAGES = ("live", "ready_for_code_removal", "ready_to_archive", "deprecated", "archived")
LD_STAGE_LABELS = {
    "live": "Live",
    "ready_for_code_removal": "Ready for code removal",
    "ready_to_archive": "Ready to archive",
    "deprecated": "Deprecated",
    "archived": "Archived",
}
OWNER_STATUSES = ("ok", "none", "not_a_member")
LD_MIN_AGE_MS = STALE_MIN_AGE_MS  # "30 days old or older"

CODE_REF_COLUMNS = (
    "flag_key",
    "repository",
    "source_link",
    "default_branch",
    "repository_type",
    "enabled",
    "hunk_count",
    "file_count",
    "latest_commit_time",
)
PREREQUISITE_COLUMNS = ("flag_key", "environment_key", "prerequisite_key", "variation")
VALUE_COLUMNS = (
    "flag_key",
    "value_to_keep",
    "value_to_keep_variation",
    "value_to_keep_name",
    "value_to_keep_reason",
)
OWNER_COLUMNS = (
    "flag_key",
    "maintainer",
    "maintainer_name",
    "maintainer_team",
    "maintainer_team_name",
    "owner_status",
)
STAGE_COLUMNS = (
    "flag_key",
    "name",
    "lifecycle_stage",
    "stage_reason",
    "temporary",
    "age_days",
    "created",
    "critical_statuses",
    "stale",
    "last_change",
    "days_since_change",
    "history_covers_life",
    "code_reference_repositories",
    "code_reference_links",
    "code_reference_hunks",
    "code_reference_files",
    "prerequisite_of",
    "value_to_keep",
    "value_to_keep_variation",
    "value_to_keep_name",
    "value_to_keep_reason",
    "maintainer",
    "maintainer_name",
    "maintainer_team",
    "maintainer_team_name",
    "owner_status",
    "tags",
)
ROLLUP_COLUMNS = ("owner", "stale_flags", "oldest_days", "flag_keys")


def critical_environments(environments: Iterable[Mapping[str, Any]]) -> set[str]:
    """Keys of the environments whose ``critical`` is exactly ``true``; empty when none is.

    Unlike :func:`.core.production_like` there is no fallback: LaunchDarkly judges its lifecycle stages
    only on critical environments, and with none there is nothing to judge them on.
    """
    return {
        str(env["key"])
        for env in environments
        if isinstance(env, Mapping) and _text(env.get("key")) is not None and env.get("critical") is True
    }


def merge_flag_configs(*listings: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Flag items from several listings (one ``summary=0&env=E`` listing per critical environment) as one
    item per key whose ``environments`` holds every environment any listing carried (later listings win
    per environment). The first listing fixes the order and the flag-level fields."""
    merged: dict[str, dict[str, Any]] = {}
    for listing in listings:
        for item in listing:
            key = _text(item.get("key")) if isinstance(item, Mapping) else None
            if key is None:
                continue
            envs = item.get("environments")
            if key not in merged:
                merged[key] = {**item, "environments": dict(envs) if isinstance(envs, Mapping) else {}}
            elif isinstance(envs, Mapping):
                merged[key]["environments"].update(envs)
    return list(merged.values())


# --- code references ------------------------------------------------------------------------------


def code_refs_to_frame(body: Mapping[str, Any] | None) -> pd.DataFrame:
    """``GET /api/v2/code-refs/statistics/{project}`` (``StatisticCollectionRep``) as one row per
    (flag, repository). ``flags`` maps each flag key to a ``StatisticRep`` per repository that references
    it on its default branch; a flag absent from the map has no code references."""
    rows: list[dict[str, Any]] = []
    flags = body.get("flags") if isinstance(body, Mapping) else None
    for key, repos in (flags or {}).items() if isinstance(flags, Mapping) else ():
        if not isinstance(key, str) or not key or not isinstance(repos, list):
            continue
        for repo in repos:
            if not isinstance(repo, Mapping) or _text(repo.get("name")) is None:
                continue
            rows.append(
                {
                    "flag_key": key,
                    "repository": repo["name"],
                    "source_link": _text(repo.get("sourceLink")),
                    "default_branch": _text(repo.get("defaultBranch")),
                    "repository_type": _text(repo.get("type")),
                    "enabled": repo.get("enabled") is True,
                    "hunk_count": _count(repo.get("hunkCount")),
                    "file_count": _count(repo.get("fileCount")),
                    "latest_commit_time": _millis(repo.get("latestCommitTime")),
                }
            )
    df = pd.DataFrame(rows, columns=list(CODE_REF_COLUMNS))
    for name in ("flag_key", "repository", "source_link", "default_branch", "repository_type"):
        df[name] = df[name].astype("string")
    df["enabled"] = df["enabled"].astype(bool)
    for name in ("hunk_count", "file_count"):
        df[name] = df[name].astype("int64")
    df["latest_commit_time"] = df["latest_commit_time"].astype("Int64")
    df = df.drop_duplicates(["flag_key", "repository"], keep="last")
    return df.sort_values(["flag_key", "repository"], kind="stable").reset_index(drop=True)


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


# --- prerequisites ---------------------------------------------------------------------------------


def prerequisites_to_frame(
    items: Iterable[Mapping[str, Any]], environments: Collection[str] | None = None
) -> pd.DataFrame:
    """Every prerequisite in the flags' environment configurations: ``flag_key`` depends on
    ``prerequisite_key`` in ``environment_key``. Only listings fetched with ``summary=0`` carry them.
    Archived dependents are skipped: LaunchDarkly's flags list leaves them out, and an archived flag
    serves its fallback value without evaluating prerequisites."""
    rows: list[tuple[str, str, str, int | None]] = []
    for item in items:
        if not isinstance(item, Mapping) or _text(item.get("key")) is None or item.get("archived") is True:
            continue
        configs = item.get("environments")
        for env, config in sorted(configs.items()) if isinstance(configs, Mapping) else ():
            if environments is not None and env not in environments or not isinstance(config, Mapping):
                continue
            for prereq in config.get("prerequisites") or ():
                if isinstance(prereq, Mapping) and _text(prereq.get("key")) is not None:
                    variation = prereq.get("variation")
                    rows.append(
                        (item["key"], env, prereq["key"], variation if _is_index(variation) else None)
                    )
    df = pd.DataFrame(rows, columns=list(PREREQUISITE_COLUMNS))
    for name in ("flag_key", "environment_key", "prerequisite_key"):
        df[name] = df[name].astype("string")
    df["variation"] = df["variation"].astype("Int64")
    return df.drop_duplicates().reset_index(drop=True)


def _is_index(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


# --- the value to keep (forward value) ---------------------------------------------------------------


@dataclass(frozen=True)
class ForwardValue:
    """The variation every critical environment serves to everyone, or why none can be named.

    ``served`` is what each critical environment can serve (variation indexes), for the detail page.
    """

    variation: int | None
    value: Any = None
    name: str | None = None
    reason: str | None = None
    served: dict[str, tuple[int, ...]] = field(default_factory=dict)

    @property
    def known(self) -> bool:
        return self.variation is not None


def _variation_text(variations: list[Any], index: int) -> str:
    if 0 <= index < len(variations) and isinstance(variations[index], Mapping):
        var = variations[index]
        label = json.dumps(var.get("value"), ensure_ascii=False)
        name = _text(var.get("name"))
        return f"{label} ({name})" if name and name != label.strip('"') else label
    return f"variation {index}"


def _rollout_variations(rollout: Any) -> set[int]:
    if not isinstance(rollout, Mapping):
        return set()
    weighted = rollout.get("variations") or ()
    return {
        w["variation"]
        for w in weighted
        if isinstance(w, Mapping) and _is_index(w.get("variation")) and _count(w.get("weight")) > 0
    }


def _served_in(config: Mapping[str, Any]) -> tuple[set[int], list[str], str | None]:
    """What one environment configuration can serve: (variations, what splits it, or why unknown)."""
    off = config.get("offVariation")
    off_var = off if _is_index(off) else None
    if config.get("on") is not True:
        if config.get("on") is not False:
            return set(), [], "its on/off state is unknown"
        if off_var is None:
            return set(), [], "it is off with no off variation, so SDKs serve the code's fallback value"
        return {off_var}, [], None
    if "rules" not in config or "targets" not in config:
        return set(), [], "its rules and targets were not fetched (the flags list needs summary=0)"
    served: set[int] = set()
    parts: list[str] = []
    prereqs = [p for p in config.get("prerequisites") or () if isinstance(p, Mapping)]
    if prereqs:
        if off_var is None:
            return set(), [], "a context that fails a prerequisite gets the code's fallback value"
        served.add(off_var)
        parts.append("prerequisites (" + ", ".join(str(p.get("key")) for p in prereqs) + ")")
    targets = [
        t
        for t in [*(config.get("targets") or ()), *(config.get("contextTargets") or ())]
        if isinstance(t, Mapping) and t.get("values") and _is_index(t.get("variation"))
    ]
    if targets:
        served |= {t["variation"] for t in targets}
        contexts = sum(len(t["values"]) for t in targets)
        parts.append(f"individual targets ({contexts} context{'s' * (contexts != 1)})")
    rules = [r for r in config.get("rules") or () if isinstance(r, Mapping) and r.get("disabled") is not True]
    for n, rule in enumerate(rules, start=1):
        if _is_index(rule.get("variation")):
            served.add(rule["variation"])
        else:
            served |= _rollout_variations(rule.get("rollout"))
        parts.append(f"rule {n}")
    fall = config.get("fallthrough")
    if isinstance(fall, Mapping) and _is_index(fall.get("variation")):
        served.add(fall["variation"])
    elif isinstance(fall, Mapping) and _rollout_variations(fall.get("rollout")):
        rolled = _rollout_variations(fall.get("rollout"))
        served |= rolled
        if len(rolled) > 1:
            parts.append("a percentage rollout on the default rule")
    else:
        return set(), [], "its default rule (fallthrough) serves nothing readable"
    return served, parts, None


def forward_value(item: Mapping[str, Any], critical_envs: Collection[str]) -> ForwardValue:
    """The value to keep when removing ``item`` from code: the one variation every critical environment
    serves to every context, from its environment configurations (on/off, off variation, prerequisites,
    individual targets, rules, default rule). Otherwise ``variation`` is ``None`` and ``reason`` says why:
    rules, targets or a rollout split traffic, the environments disagree, a configuration is missing."""
    if item.get("archived") is True:
        return ForwardValue(None, reason="archived: SDKs already serve the code's fallback value")
    envs = sorted(critical_envs)
    if not envs:
        return ForwardValue(None, reason="no critical environment to read it from")
    variations = item.get("variations")
    variations = variations if isinstance(variations, list) else []
    configs = item.get("environments")
    configs = configs if isinstance(configs, Mapping) else {}
    served: dict[str, tuple[int, ...]] = {}
    problems: list[str] = []
    for env in envs:
        config = configs.get(env)
        if not isinstance(config, Mapping):
            problems.append(f"{env}: no configuration was fetched")
            continue
        values, parts, unknown = _served_in(config)
        served[env] = tuple(sorted(values))
        if unknown is not None:
            problems.append(f"{env}: {unknown}")
        elif len(values) != 1:
            shown = ", ".join(_variation_text(variations, v) for v in sorted(values))
            problems.append(f"{env}: {' and '.join(parts) or 'targeting'} split traffic between {shown}")
    if problems:
        return ForwardValue(None, reason="; ".join(problems), served=served)
    chosen = {values[0] for values in served.values()}
    if len(chosen) > 1:
        shown = ", ".join(f"{env} serves {_variation_text(variations, served[env][0])}" for env in envs)
        return ForwardValue(None, reason=f"critical environments disagree: {shown}", served=served)
    index = chosen.pop()
    if not 0 <= index < len(variations) or not isinstance(variations[index], Mapping):
        return ForwardValue(
            None, reason=f"variation {index} is not among the flag's variations", served=served
        )
    var = variations[index]
    return ForwardValue(index, var.get("value"), _text(var.get("name")), None, served)


def values_to_keep(items: Iterable[Mapping[str, Any]], critical_envs: Collection[str]) -> pd.DataFrame:
    """:func:`forward_value` for every flag item, one row per key (``value_to_keep`` is the JSON value)."""
    rows: dict[str, tuple[Any, int | None, str | None, str | None]] = {}
    for item in items:
        if isinstance(item, Mapping) and _text(item.get("key")) is not None:
            fv = forward_value(item, critical_envs)
            rows[item["key"]] = (fv.value, fv.variation, fv.name, fv.reason)
    df = pd.DataFrame(
        {
            "flag_key": pd.array(list(rows), dtype="string"),
            "value_to_keep": pd.Series([r[0] for r in rows.values()], dtype="object"),
            "value_to_keep_variation": pd.array([r[1] for r in rows.values()], dtype="Int64"),
            "value_to_keep_name": pd.array([r[2] for r in rows.values()], dtype="string"),
            "value_to_keep_reason": pd.array([r[3] for r in rows.values()], dtype="string"),
        },
        columns=list(VALUE_COLUMNS),
    )
    return df


# --- owners --------------------------------------------------------------------------------------


def owner_status(
    item: Mapping[str, Any],
    member_ids: Collection[str] | None,
    member_emails: Collection[str] | None = None,
    team_keys: Collection[str] | None = None,
) -> str | None:
    """``ok``, ``none`` (no maintainer and no maintainer team) or ``not_a_member`` (the maintaining member is
    not among the account's members, or the maintaining team no longer exists). ``None`` when the members
    (or, for a team-maintained flag, the teams) were not read, so nothing can be said."""
    maintainer = item.get("_maintainer")
    maintainer = maintainer if isinstance(maintainer, Mapping) else {}
    member_id = _text(maintainer.get("_id")) or _text(item.get("maintainerId"))
    email = _text(maintainer.get("email"))
    team = item.get("_maintainerTeam")
    team_key = _text(team.get("key")) if isinstance(team, Mapping) else None
    team_key = team_key or _text(item.get("maintainerTeamKey"))
    if member_id is None and email is None:
        if team_key is None:
            return "none"
        if team_keys is None:
            return None
        return "ok" if team_key in team_keys else "not_a_member"
    if member_ids is None:
        return None
    if member_id is not None and member_id in member_ids:
        return "ok"
    if email is not None and member_emails is not None and email.lower() in member_emails:
        return "ok"
    return "not_a_member"


def owners(
    items: Iterable[Mapping[str, Any]],
    members: Iterable[Mapping[str, Any]] | None,
    teams: Iterable[Mapping[str, Any]] | None = None,
) -> pd.DataFrame:
    """Each flag's maintainer (email), maintainer team (key) with their names, and its owner status.

    ``members`` are ``GET /api/v2/members`` items, ``teams`` ``GET /api/v2/teams`` items; ``None`` means not
    read (the owner status is then ``<NA>`` where it depends on them)."""
    member_list = [m for m in members or () if isinstance(m, Mapping)] if members is not None else None
    ids = {str(m["_id"]) for m in member_list if _text(m.get("_id"))} if member_list is not None else None
    emails = (
        {str(m["email"]).lower() for m in member_list if _text(m.get("email"))}
        if member_list is not None
        else None
    )
    team_list = [t for t in teams or () if isinstance(t, Mapping)] if teams is not None else None
    team_keys = {str(t["key"]) for t in team_list if _text(t.get("key"))} if team_list is not None else None
    team_names = {str(t["key"]): _text(t.get("name")) for t in team_list or () if _text(t.get("key"))}
    rows: dict[str, tuple[str | None, ...]] = {}
    for item in items:
        if not isinstance(item, Mapping) or _text(item.get("key")) is None:
            continue
        maintainer = item.get("_maintainer")
        maintainer = maintainer if isinstance(maintainer, Mapping) else {}
        full = " ".join(
            n for n in (_text(maintainer.get("firstName")), _text(maintainer.get("lastName"))) if n
        )
        team = item.get("_maintainerTeam")
        team = team if isinstance(team, Mapping) else {}
        team_key = _text(team.get("key")) or _text(item.get("maintainerTeamKey"))
        rows[item["key"]] = (
            _text(maintainer.get("email")),
            full or None,
            team_key,
            _text(team.get("name")) or (team_names.get(team_key) if team_key else None),
            owner_status(item, ids, emails, team_keys),
        )
    data = {"flag_key": pd.array(list(rows), dtype="string")}
    for i, name in enumerate(OWNER_COLUMNS[1:]):
        data[name] = pd.array([r[i] for r in rows.values()], dtype="string")
    return pd.DataFrame(data, columns=list(OWNER_COLUMNS))


# --- LaunchDarkly's lifecycle stages ---------------------------------------------------------------


def _stage(
    *,
    archived: bool,
    deprecated: bool,
    temporary: bool,
    age_ms: int | None,
    statuses: dict[str, str | None],
    hunks: int,
    repositories: int,
    dependents: list[tuple[str, str]],
) -> tuple[str, str]:
    """One flag's stage and the reason, in LaunchDarkly's order (docs/LIFECYCLE.md)."""
    if archived:
        return "archived", "archived in LaunchDarkly"
    if deprecated:
        return "deprecated", "deprecated in LaunchDarkly"
    if not temporary:
        return "live", "permanent flag"
    if age_ms is None:
        return "live", "creation date unknown"
    if age_ms < LD_MIN_AGE_MS:
        return "live", f"created {age_ms // DAY_MS} days ago (under 30)"
    if not statuses:
        return "live", "no critical environment: LaunchDarkly's cleanup stages are judged there only"
    busy = [f"{s} in {e}" for e, s in statuses.items() if s in ("new", "active")]
    if busy:
        return "live", ", ".join(busy)
    missing = [e for e, s in statuses.items() if s not in ("launched", "inactive")]
    if missing:
        shown = ", ".join(f"{e} ({statuses[e] or 'no status'})" for e in missing)
        return "live", f"no launched or inactive status in {shown}"
    if dependents:
        shown = ", ".join(f"{k} in {e}" for k, e in dependents)
        return "live", f"a prerequisite of {shown}: LaunchDarkly will not archive it"
    names = set(statuses.values())
    if names == {"launched"}:
        if hunks > 0:
            return (
                "ready_for_code_removal",
                f"launched in every critical environment; referenced in {_repos(repositories)}",
            )
        return (
            "live",
            "launched in every critical environment but no code references (Ready to archive needs inactive)",
        )
    if names == {"inactive"}:
        if hunks == 0:
            return "ready_to_archive", "inactive in every critical environment; no code references"
        return (
            "live",
            f"inactive but still referenced in {_repos(repositories)}: remove it from code first",
        )
    shown = ", ".join(f"{s} in {e}" for e, s in statuses.items())
    return (
        "live",
        f"{shown}: LaunchDarkly's cleanup stages need the same status in every critical environment",
    )


def _repos(count: int) -> str:
    return f"{count} repositor{'y' if count == 1 else 'ies'}"


def lifecycle_stages(
    items: Iterable[Mapping[str, Any]],
    statuses: pd.DataFrame,
    critical_envs: Collection[str],
    now_ms: int,
    *,
    code_refs: pd.DataFrame | None = None,
    members: Iterable[Mapping[str, Any]] | None = None,
    teams: Iterable[Mapping[str, Any]] | None = None,
    events: pd.DataFrame | None = None,
    stale_env: str | None = None,
    history_from_ms: int | None = None,
) -> pd.DataFrame:
    """LaunchDarkly's lifecycle stage of every flag, with what a cleanup needs: code references, the
    prerequisite dependents that block it, the value to keep and the owner. Columns ``STAGE_COLUMNS``,
    ordered by flag key.

    ``items`` are flag items whose ``environments`` carry the critical environments' full configurations
    (``summary=0``; see :func:`merge_flag_configs`); ``statuses`` the statuses frame of every critical
    environment. With ``events`` (the project's stored events, every environment) ``last_change`` is the
    latest event of the flag anywhere (at or before ``now_ms``) and, given ``stale_env``, ``stale`` is the
    stale verdict there (docs/LIFECYCLE.md, "Stale flag"). ``history_from_ms`` is where the stored history
    starts: ``history_covers_life`` is false for a flag created before it (its last change may be older).
    """
    flag_items = [i for i in items if isinstance(i, Mapping) and _text(i.get("key")) is not None]
    envs = sorted(critical_envs)
    fl = _flags_view(flags_to_frame(flag_items))
    st = _statuses_view(statuses)
    refs = code_refs if code_refs is not None else code_refs_to_frame(None)
    refs = refs[refs["hunk_count"] > 0]
    prereqs = prerequisites_to_frame(flag_items, envs)
    dependents: dict[str, list[tuple[str, str]]] = {}
    for row in prereqs.itertuples(index=False):
        dependents.setdefault(str(row.prerequisite_key), []).append(
            (str(row.flag_key), str(row.environment_key))
        )
    status_of = {
        (str(r.flag_key), str(r.environment_key)): (None if pd.isna(r.status) else str(r.status))
        for r in st[st["environment_key"].isin(envs)].itertuples(index=False)
    }
    by_flag = {str(k): g for k, g in refs.groupby("flag_key")}
    values = values_to_keep(flag_items, envs).set_index("flag_key")
    owner = owners(flag_items, members, teams).set_index("flag_key")

    stale: set[str] = set()
    last_change: dict[str, int] = {}
    if events is not None:
        ev = _events_view(events, now_ms)
        last_change = {str(k): int(v) for k, v in ev.groupby("flag_key")["event_time"].max().items()}
        if stale_env is not None:
            pairs = _stale_pairs(fl, st, ev, [stale_env], now_ms)
            stale = set(pairs.loc[pairs["stale"], "flag_key"].astype(str))

    records: list[dict[str, Any]] = []
    for row in fl.itertuples(index=False):
        key = str(row.flag_key)
        created = None if pd.isna(row.creation_date) else int(row.creation_date)
        flag_statuses = {e: status_of.get((key, e)) for e in envs}
        mine = by_flag.get(key)
        repos = [] if mine is None else mine["repository"].astype(str).tolist()
        links = [] if mine is None else [None if pd.isna(x) else str(x) for x in mine["source_link"]]
        hunks = 0 if mine is None else int(mine["hunk_count"].sum())
        stage, reason = _stage(
            archived=bool(row.archived),
            deprecated=bool(row.deprecated),
            temporary=bool(row.temporary),
            age_ms=None if created is None else now_ms - created,
            statuses=flag_statuses,
            hunks=hunks,
            repositories=len(repos),
            dependents=dependents.get(key, []),
        )
        changed = last_change.get(key)
        value = values.loc[key] if key in values.index else None
        who = owner.loc[key]
        records.append(
            {
                "flag_key": key,
                "name": None if pd.isna(row.name) else str(row.name),
                "lifecycle_stage": stage,
                "stage_reason": reason,
                "temporary": bool(row.temporary),
                "age_days": np.nan if created is None else (now_ms - created) / DAY_MS,
                "created": created,
                "critical_statuses": ", ".join(f"{e}: {s or '—'}" for e, s in flag_statuses.items()),
                "stale": key in stale,
                "last_change": changed,
                "days_since_change": np.nan if changed is None else (now_ms - changed) / DAY_MS,
                "history_covers_life": (
                    True if history_from_ms is None or created is None else created >= history_from_ms
                ),
                "code_reference_repositories": repos,
                "code_reference_links": links,
                "code_reference_hunks": hunks,
                "code_reference_files": 0 if mine is None else int(mine["file_count"].sum()),
                "prerequisite_of": sorted({k for k, _ in dependents.get(key, [])}),
                "value_to_keep": None if value is None else value["value_to_keep"],
                "value_to_keep_variation": None if value is None else value["value_to_keep_variation"],
                "value_to_keep_name": None if value is None else value["value_to_keep_name"],
                "value_to_keep_reason": None if value is None else value["value_to_keep_reason"],
                **{name: who[name] for name in OWNER_COLUMNS[1:]},
                "tags": str(row.tags),
            }
        )
    return _typed_stages(pd.DataFrame(records, columns=list(STAGE_COLUMNS)))


def _typed_stages(df: pd.DataFrame) -> pd.DataFrame:
    for name in ("flag_key", "name", "lifecycle_stage", "stage_reason", "critical_statuses", "tags"):
        df[name] = df[name].astype("string")
    for name in OWNER_COLUMNS[1:]:
        df[name] = df[name].astype("string")
    df["value_to_keep_name"] = df["value_to_keep_name"].astype("string")
    df["value_to_keep_reason"] = df["value_to_keep_reason"].astype("string")
    df["value_to_keep"] = df["value_to_keep"].astype("object")
    for name in ("temporary", "stale", "history_covers_life"):
        df[name] = df[name].astype(bool)
    for name in ("created", "last_change", "value_to_keep_variation"):
        df[name] = pd.array(
            [
                None if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA else int(v)
                for v in df[name]
            ],
            dtype="Int64",
        )
    for name in ("age_days", "days_since_change"):
        df[name] = df[name].astype("float64")
    for name in ("code_reference_hunks", "code_reference_files"):
        df[name] = df[name].astype("int64")
    return df.sort_values("flag_key", kind="stable").reset_index(drop=True)


def stale_rollup(stages: pd.DataFrame, by: str) -> pd.DataFrame:
    """Stale flags (``stale`` true, not archived) counted per ``by`` (``maintainer`` or ``maintainer_team``),
    most first: ``owner`` (``<NA>`` for the flags without one), ``stale_flags``, ``oldest_days`` and the
    flag keys, oldest first. LaunchDarkly's stale-flags chart groups by maintainer the same way."""
    if by not in ("maintainer", "maintainer_team"):
        raise ValueError("by must be 'maintainer' or 'maintainer_team'")
    stale = stages[stages["stale"].astype(bool) & (stages["lifecycle_stage"] != "archived")]
    rows = []
    for owner_key, group in stale.groupby(
        stale[by].astype("object").where(stale[by].notna(), None), dropna=False
    ):
        ordered = group.sort_values(["age_days", "flag_key"], ascending=[False, True])
        rows.append(
            {
                "owner": None if owner_key is None or pd.isna(owner_key) else str(owner_key),
                "stale_flags": len(group),
                "oldest_days": float(ordered["age_days"].max()),
                "flag_keys": ordered["flag_key"].astype(str).tolist(),
            }
        )
    df = pd.DataFrame(rows, columns=list(ROLLUP_COLUMNS))
    df["owner"] = df["owner"].astype("string")
    df["stale_flags"] = df["stale_flags"].astype("int64")
    df["oldest_days"] = df["oldest_days"].astype("float64")
    order = df.assign(_none=df["owner"].isna()).sort_values(
        ["stale_flags", "_none", "owner"], ascending=[False, True, True], kind="stable"
    )
    return order.drop(columns="_none").reset_index(drop=True)
