"""Flag lifecycle and clean-up metrics: stale flags, lifecycle stages and promotion hygiene.

LaunchDarkly's flag-health page counts stale flags and Unleash shows lifecycle stages, but neither
ties them to a flag's change history nor checks that a production change was tried elsewhere first.
This module does both from three inputs: the flags list, the flag statuses and the events frame of
:mod:`ldclient.frame`. Every definition and boundary choice is spelt out in ``docs/LIFECYCLE.md``.

Times are Unix milliseconds throughout; nullable millisecond columns use pandas' ``Int64`` so a
missing time is ``<NA>`` rather than a fake 1970 date.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Mapping
from typing import Any
from urllib.parse import unquote, urlsplit

import numpy as np
import pandas as pd

from ..vocabulary import DAY_MS, STATUS_NAMES

HOUR_MS = 3_600_000
STALE_MIN_AGE_MS = 30 * DAY_MS
RECENT_WINDOW_MS = 7 * DAY_MS
REHEARSAL_WINDOW_MS = 14 * DAY_MS

STALE_STATUSES = ("inactive", "launched")
SERVING_ACTIONS = ("updateOn", "updateFallthrough", "updateRules", "updateTargets", "updateOffVariation")
STAGES = ("develop", "production", "cleanup", "archived")
STAGE_LABELS = {
    "develop": "Develop",
    "production": "Production",
    "cleanup": "Cleanup",
    "archived": "Archived",
}
FALLBACK_PRODUCTION_ENV = "production"

FLAG_COLUMNS = (
    "flag_key",
    "name",
    "kind",
    "temporary",
    "archived",
    "deprecated",
    "creation_date",
    "tags",
    "maintainer",
    "archived_date",
)
STATUS_COLUMNS = ("flag_key", "environment_key", "status", "last_requested")
STALE_TABLE_COLUMNS = (
    "flag_key",
    "name",
    "age_days",
    "status",
    "last_requested",
    "last_change",
    "days_since_change",
    "maintainer",
    "tags",
)
LIFECYCLE_COLUMNS = ("flag_key", "stage", "days_in_stage", "created", "first_production_change")
CHANGE_COLUMNS = ("id", "flag_key", "event_time", "rehearsed", "lag_hours")
MATRIX_COLUMNS = ("flag_key", "environment_key", "status", "last_change")

_SERVING_PATTERN = r"(?:^|,)(?:" + "|".join(SERVING_ACTIONS) + r")(?:,|$)"


# --- raw API items to frames -------------------------------------------------------------------


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value != "" else None


def _flag(value: Any) -> bool:
    """Only a real ``true`` counts: a missing ``temporary`` must not make a flag stale-eligible."""
    return value is True


def _millis(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and math.isfinite(value):
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    return None


def flags_to_frame(items: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """``GET /api/v2/flags/{project}`` items as one row per flag key (last wins).

    Missing booleans read as false and missing times as ``<NA>``, so a malformed item can never look
    stale; items without a ``key`` cannot be joined to anything and are skipped. ``archived_date``
    (the API's ``archivedDate``) is kept because it dates the archived lifecycle stage.
    """
    rows: dict[str, list[Any]] = {name: [] for name in FLAG_COLUMNS}
    for item in items:
        if not isinstance(item, Mapping) or _text(item.get("key")) is None:
            continue
        tags = item.get("tags")
        if isinstance(tags, list):
            tags = ",".join(t for t in tags if isinstance(t, str) and t)
        maintainer = item.get("_maintainer")
        rows["flag_key"].append(item["key"])
        rows["name"].append(_text(item.get("name")))
        rows["kind"].append(_text(item.get("kind")))
        rows["temporary"].append(_flag(item.get("temporary")))
        rows["archived"].append(_flag(item.get("archived")))
        rows["deprecated"].append(_flag(item.get("deprecated")))
        rows["creation_date"].append(_millis(item.get("creationDate")))
        rows["tags"].append(tags if isinstance(tags, str) else "")
        rows["maintainer"].append(_text(maintainer.get("email")) if isinstance(maintainer, Mapping) else None)
        rows["archived_date"].append(_millis(item.get("archivedDate")))
    df = _typed_flags(pd.DataFrame(rows))
    return df.drop_duplicates("flag_key", keep="last").reset_index(drop=True)


def _flag_key_from_href(href: Any) -> str | None:
    """``/api/v2/flags/<project>/<flagKey>`` -> ``flagKey`` (query, fragment and trailing slash ignored)."""
    if not isinstance(href, str):
        return None
    path = urlsplit(href).path.rstrip("/")
    if "/" not in path:
        return None
    return _text(unquote(path.rsplit("/", 1)[1]))


def statuses_to_frame(items: Iterable[Mapping[str, Any]], environment_key: str) -> pd.DataFrame:
    """``GET /api/v2/flag-statuses/{project}/{env}`` items as one row per flag key (last wins).

    The status item carries no key of its own: the flag is the last segment of ``_links.parent.href``,
    and items without that link are skipped. Unknown status names are kept verbatim so a new
    LaunchDarkly status shows up instead of vanishing; an unparseable ``lastRequested`` is ``<NA>``.
    """
    keys: list[str] = []
    names: list[str | None] = []
    requested: list[Any] = []
    for item in items:
        if not isinstance(item, Mapping):
            continue
        links = item.get("_links")
        parent = links.get("parent") if isinstance(links, Mapping) else None
        key = _flag_key_from_href(parent.get("href")) if isinstance(parent, Mapping) else None
        if key is None:
            continue
        keys.append(key)
        names.append(_text(item.get("name")))
        requested.append(item.get("lastRequested"))
    df = pd.DataFrame(
        {
            "flag_key": pd.array(keys, dtype="string"),
            "environment_key": pd.array([environment_key] * len(keys), dtype="string"),
            "status": pd.array(names, dtype="string"),
            "last_requested": _iso_to_millis(requested),
        }
    )
    return df.drop_duplicates("flag_key", keep="last").reset_index(drop=True)


def _iso_to_millis(values: list[Any]) -> pd.arrays.IntegerArray:
    """ISO-8601 strings (any offset) to UTC ms; numbers are taken as ms already; anything else is NA."""
    numbers = pd.array([_millis(v) if not isinstance(v, str) else None for v in values], dtype="Int64")
    texts = pd.Series([v if isinstance(v, str) else None for v in values], dtype="object")
    parsed = pd.to_datetime(texts, utc=True, errors="coerce", format="ISO8601")
    parsed_ms = ((parsed - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(1, "ms")).astype("Int64")
    return pd.array(parsed_ms.fillna(pd.Series(numbers)).to_numpy(), dtype="Int64")


def production_like(environments: list[dict[str, Any]]) -> set[str]:
    """Keys of environments marked ``critical``; ``{"production"}`` when none is marked.

    LaunchDarkly's own lifecycle settings only judge critical environments, so we do the same; older
    accounts that never set the flag still get the conventional ``production`` key.
    """
    critical = {
        env["key"]
        for env in environments
        if isinstance(env, Mapping) and _text(env.get("key")) is not None and env.get("critical") is True
    }
    return critical or {FALLBACK_PRODUCTION_ENV}


# --- normalised views (tolerate empty or partial frames) ----------------------------------------


def _typed_flags(df: pd.DataFrame) -> pd.DataFrame:
    df = df.reindex(columns=list(FLAG_COLUMNS))
    for name in ("flag_key", "name", "kind", "maintainer"):
        df[name] = df[name].astype("string")
    df["tags"] = df["tags"].astype("string").fillna("")
    for name in ("temporary", "archived", "deprecated"):
        df[name] = df[name].astype("boolean").fillna(False).astype(bool)
    for name in ("creation_date", "archived_date"):
        df[name] = pd.to_numeric(df[name], errors="coerce").astype("Int64")
    return df


def _flags_view(flags: pd.DataFrame) -> pd.DataFrame:
    df = _typed_flags(flags)
    return df[df["flag_key"].notna()].drop_duplicates("flag_key", keep="last").reset_index(drop=True)


def _statuses_view(statuses: pd.DataFrame) -> pd.DataFrame:
    df = statuses.reindex(columns=list(STATUS_COLUMNS))
    for name in ("flag_key", "environment_key", "status"):
        df[name] = df[name].astype("string")
    df["last_requested"] = pd.to_numeric(df["last_requested"], errors="coerce").astype("Int64")
    df = df[df["flag_key"].notna() & df["environment_key"].notna()]
    return df.drop_duplicates(["flag_key", "environment_key"], keep="last").reset_index(drop=True)


def _serving_mask(actions: pd.Series) -> np.ndarray:
    """Whether each event's comma-joined actions include a serving change.

    Evaluated once per category rather than per row: the actions column is categorical and has far
    fewer distinct values than events.
    """
    if isinstance(actions.dtype, pd.CategoricalDtype):
        hits = actions.cat.categories.astype("string").str.contains(_SERVING_PATTERN, regex=True)
        lookup = np.append(np.asarray(hits, dtype=bool), False)  # code -1 (missing) -> False
        return lookup[actions.cat.codes.to_numpy()]
    found = actions.astype("string").str.contains(_SERVING_PATTERN, regex=True)
    return found.fillna(False).to_numpy(dtype=bool)


def _events_view(events: pd.DataFrame, now_ms: int | None = None) -> pd.DataFrame:
    """The few event columns this module uses, as plain strings; events after ``now_ms`` dropped."""
    ev = events.reindex(columns=["id", "project_key", "environment_key", "flag_key", "event_time", "actions"])
    out = pd.DataFrame(
        {
            "id": ev["id"].astype("string"),
            "project_key": ev["project_key"].astype("string").fillna(""),
            "environment_key": ev["environment_key"].astype("string"),
            "flag_key": ev["flag_key"].astype("string"),
            "event_time": pd.to_numeric(ev["event_time"]).astype("int64"),
            "serving": _serving_mask(ev["actions"]),
        }
    )
    keep = out["flag_key"].notna()
    if now_ms is not None:
        keep &= out["event_time"] <= now_ms
    return out[keep].reset_index(drop=True)


def _last_event(events: pd.DataFrame, name: str) -> pd.Series:
    return events.groupby("flag_key")["event_time"].max().astype("Int64").rename(name)


def _days(now_ms: int, since: pd.Series) -> np.ndarray:
    return ((now_ms - since) / DAY_MS).to_numpy(dtype="float64", na_value=np.nan)


def _median_or_none(values: pd.Series) -> float | None:
    values = values.dropna()
    return float(values.median()) if len(values) else None


# --- stale flags --------------------------------------------------------------------------------


def _stale_pairs(
    flags: pd.DataFrame,
    statuses: pd.DataFrame,
    events: pd.DataFrame,
    environments: Collection[str],
    now_ms: int,
) -> pd.DataFrame:
    """Every (flag, environment) pair with its status and a ``stale`` verdict.

    One vectorised pass serves both the single-environment metrics and the all-production-environments
    lifecycle, so the two can never disagree about what stale means.
    """
    envs = pd.DataFrame({"environment_key": pd.array(sorted(environments), dtype="string")})
    pairs = flags.merge(envs, how="cross").merge(
        statuses[statuses["environment_key"].isin(envs["environment_key"])],
        on=["flag_key", "environment_key"],
        how="left",
    )
    recent = events[events["event_time"].between(now_ms - RECENT_WINDOW_MS, now_ms)]
    is_global = recent["environment_key"].isna()
    scoped = pd.MultiIndex.from_frame(recent.loc[~is_global, ["flag_key", "environment_key"]])
    touched = (
        pd.MultiIndex.from_frame(pairs[["flag_key", "environment_key"]]).isin(scoped)
        | pairs["flag_key"].isin(recent.loc[is_global, "flag_key"]).to_numpy()
    )
    old_enough = (pairs["creation_date"] <= now_ms - STALE_MIN_AGE_MS).fillna(False).to_numpy(dtype=bool)
    pairs["stale"] = (
        pairs["temporary"].to_numpy()
        & ~pairs["archived"].to_numpy()
        & old_enough
        & pairs["status"].isin(STALE_STATUSES).to_numpy(dtype=bool)
        & ~touched
    )
    return pairs


def stale_flags_table(
    flags: pd.DataFrame, statuses: pd.DataFrame, events: pd.DataFrame, environment_key: str, now_ms: int
) -> pd.DataFrame:
    """The flags stale in ``environment_key``, oldest first, with what a clean-up owner needs to act.

    ``last_change`` is the latest event for the flag in that environment or global (at or before
    ``now_ms``), the same events that decide freshness.
    """
    fl, ev = _flags_view(flags), _events_view(events, now_ms)
    pairs = _stale_pairs(fl, _statuses_view(statuses), ev, [environment_key], now_ms)
    stale = pairs[pairs["stale"]]
    relevant = ev[ev["environment_key"].isna() | (ev["environment_key"] == environment_key)]
    stale = stale.merge(
        _last_event(relevant, "last_change"), left_on="flag_key", right_index=True, how="left"
    )
    out = pd.DataFrame(
        {
            "flag_key": stale["flag_key"],
            "name": stale["name"],
            "age_days": _days(now_ms, stale["creation_date"]),
            "status": stale["status"],
            "last_requested": stale["last_requested"].astype("Int64"),
            "last_change": stale["last_change"].astype("Int64"),
            "days_since_change": _days(now_ms, stale["last_change"]),
            "maintainer": stale["maintainer"],
            "tags": stale["tags"],
        },
        columns=list(STALE_TABLE_COLUMNS),
    )
    out = out.sort_values(["age_days", "flag_key"], ascending=[False, True], kind="stable")
    return out.reset_index(drop=True)


# --- lifecycle stages ---------------------------------------------------------------------------


def _lifecycle(
    fl: pd.DataFrame, st: pd.DataFrame, ev: pd.DataFrame, production_envs: Collection[str], now_ms: int
) -> pd.DataFrame:
    prod_events = ev[ev["environment_key"].isin(list(production_envs))]
    born = prod_events.merge(fl[["flag_key", "creation_date"]], on="flag_key")
    born = born[born["creation_date"].isna() | (born["event_time"] >= born["creation_date"])]
    first = born.groupby("flag_key")["event_time"].min().astype("Int64").rename("first_production_change")

    # Cleanup is judged in the production-like environments we have statuses for.
    judged = sorted(set(production_envs) & set(st["environment_key"].dropna().unique()))
    pairs = _stale_pairs(fl, st, ev, judged, now_ms)
    cleanup = pairs.groupby("flag_key")["stale"].all().rename("cleanup")
    quiet = ev[ev["environment_key"].isna() | ev["environment_key"].isin(judged)]
    quiet = quiet.merge(fl[["flag_key", "creation_date"]], on="flag_key")
    quiet = quiet[quiet["creation_date"].isna() | (quiet["event_time"] >= quiet["creation_date"])]

    df = (
        fl.merge(first, left_on="flag_key", right_index=True, how="left")
        .merge(cleanup, left_on="flag_key", right_index=True, how="left")
        .merge(_last_event(quiet, "last_event"), left_on="flag_key", right_index=True, how="left")
    )
    is_archived = df["archived"].to_numpy(dtype=bool)
    is_cleanup = df["cleanup"].astype("boolean").fillna(False).to_numpy(dtype=bool)
    in_production = df["first_production_change"].notna().to_numpy(dtype=bool)
    df["stage"] = pd.array(
        np.select([is_archived, is_cleanup, in_production], ["archived", "cleanup", "production"], "develop"),
        dtype="string",
    )

    created = df["creation_date"].astype("Int64")
    cleanup_start = pd.concat([df["last_event"], created + STALE_MIN_AGE_MS], axis=1).max(axis=1)
    start = created.where(~in_production, df["first_production_change"])
    start = start.where(~is_cleanup, cleanup_start.astype("Int64"))
    start = start.where(~is_archived, df["archived_date"])
    df["days_in_stage"] = _days(now_ms, start.astype("Int64"))
    df["created"] = created
    return df


def lifecycle_table(
    flags: pd.DataFrame, statuses: pd.DataFrame, events: pd.DataFrame, production_envs: set[str], now_ms: int
) -> pd.DataFrame:
    """Each flag's lifecycle stage and how long it has sat there, so stuck flags stand out.

    Stages take precedence archived > cleanup > production > develop; see ``docs/LIFECYCLE.md``.
    """
    df = _lifecycle(
        _flags_view(flags), _statuses_view(statuses), _events_view(events, now_ms), production_envs, now_ms
    )
    return df[list(LIFECYCLE_COLUMNS)].sort_values("flag_key", kind="stable").reset_index(drop=True)


def _median_days_to_production(lifecycle: pd.DataFrame) -> float | None:
    lead = (lifecycle["first_production_change"] - lifecycle["created"]) / DAY_MS
    return _median_or_none(pd.Series(lead.to_numpy(dtype="float64", na_value=np.nan)))


def timeline_summary(table: pd.DataFrame) -> dict[str, Any]:
    """Counts of ``lifecycle_table`` rows per timeline stage (every stage of ``STAGES`` present), the median
    time to production and the median time in clean-up, as plain JSON values (docs/LIFECYCLE.md,
    "Timeline summary")."""
    df = table.reindex(columns=list(LIFECYCLE_COLUMNS))
    stage = df["stage"].astype("string")
    counts = stage.value_counts()
    days = pd.to_numeric(df["days_in_stage"], errors="coerce").astype("float64")
    lead = pd.to_numeric(df["first_production_change"], errors="coerce").astype("Int64")
    created = pd.to_numeric(df["created"], errors="coerce").astype("Int64")
    return {
        "stages": {name: int(counts.get(name, 0)) for name in STAGES},
        "median_days_to_production": _median_days_to_production(
            pd.DataFrame({"first_production_change": lead, "created": created})
        ),
        "median_days_in_cleanup": _median_or_none(days[(stage == "cleanup").fillna(False).to_numpy()]),
    }


# --- promotion hygiene --------------------------------------------------------------------------


def _production_changes(ev: pd.DataFrame, production_envs: Collection[str], env: str) -> pd.DataFrame:
    serving = ev[ev["serving"]]
    changes = serving[serving["environment_key"] == env]
    changes = changes[["id", "project_key", "flag_key", "event_time"]].sort_values(["event_time", "id"])
    rehearsals = serving[
        serving["environment_key"].notna() & ~serving["environment_key"].isin(list(production_envs))
    ]
    rehearsals = rehearsals[["project_key", "flag_key", "event_time"]].sort_values("event_time")
    rehearsals = rehearsals.assign(rehearsal_time=rehearsals["event_time"])
    # Latest rehearsal strictly before the change (same ms excluded) and at most 14 days before it.
    matched = pd.merge_asof(
        changes,
        rehearsals,
        on="event_time",
        by=["project_key", "flag_key"],
        direction="backward",
        allow_exact_matches=False,
        tolerance=REHEARSAL_WINDOW_MS,
    )
    lag = (matched["event_time"] - matched["rehearsal_time"]) / HOUR_MS
    out = pd.DataFrame(
        {
            "id": matched["id"].astype("string"),
            "flag_key": matched["flag_key"].astype("string"),
            "event_time": matched["event_time"].astype("int64"),
            "rehearsed": matched["rehearsal_time"].notna().to_numpy(dtype=bool),
            "lag_hours": lag.astype("float64"),
        },
        columns=list(CHANGE_COLUMNS),
    )
    return out.reset_index(drop=True)


def production_changes(events: pd.DataFrame, production_envs: set[str], env: str) -> pd.DataFrame:
    """Serving changes made in production-like ``env``, each marked rehearsed or not.

    A change is rehearsed when the same flag (same project) had a serving change in a
    non-production environment in the 14 days before it; ``lag_hours`` is the time from the latest
    such rehearsal. Empty when ``env`` is not production-like: rehearsal means nothing there.
    """
    ev = _events_view(events)
    if env not in production_envs:
        ev = ev.iloc[0:0]
    return _production_changes(ev, production_envs, env)


# --- the page's numbers -------------------------------------------------------------------------


def lifecycle_metrics(
    flags: pd.DataFrame,
    statuses: pd.DataFrame,
    events: pd.DataFrame,
    environment_key: str,
    production_envs: set[str],
    now_ms: int,
) -> dict[str, Any]:
    """Stale-flag, status, lifecycle and promotion numbers for one environment as plain JSON values.

    ``events`` are all the project's events across environments: rehearsal looks at other
    environments and lifecycle at every production-like one. Events after ``now_ms`` are ignored.
    """
    fl, st, ev = _flags_view(flags), _statuses_view(statuses), _events_view(events, now_ms)
    live = fl[~fl["archived"]]
    temporary = int(live["temporary"].sum())
    pairs = _stale_pairs(fl, st, ev, [environment_key], now_ms)
    stale_keys = sorted(pairs.loc[pairs["stale"], "flag_key"].tolist())

    here = st[(st["environment_key"] == environment_key) & st["flag_key"].isin(live["flag_key"])]
    counts = here["status"].value_counts()
    by_status = {name: int(counts.get(name, 0)) for name in STATUS_NAMES}

    unrehearsed: int | None = None
    lag_median: float | None = None
    if environment_key in production_envs:
        changes = _production_changes(ev, production_envs, environment_key)
        unrehearsed = int((~changes["rehearsed"]).sum())
        lag_median = _median_or_none(changes.loc[changes["rehearsed"], "lag_hours"])

    lifecycle = _lifecycle(fl, st, ev, production_envs, now_ms)
    return {
        "temporary_flags": temporary,
        "stale_flags": len(stale_keys),
        "stale_share": len(stale_keys) / temporary if temporary else 0.0,
        "stale_flag_keys": stale_keys,
        "statuses": by_status,
        "unrehearsed_changes": unrehearsed,
        "promotion_lag_hours_median": lag_median,
        "median_days_to_production": _median_days_to_production(lifecycle),
    }


def status_matrix(flags: pd.DataFrame, statuses_by_env: pd.DataFrame, events: pd.DataFrame) -> pd.DataFrame:
    """Non-archived flags x environments (those in ``statuses_by_env``), long format, for a heatmap.

    ``last_change`` is the latest event scoped to that environment (global events belong to no
    column); ``status`` is ``<NA>`` where LaunchDarkly returned none.
    """
    fl = _flags_view(flags)
    st = _statuses_view(statuses_by_env)
    envs = pd.DataFrame({"environment_key": pd.array(sorted(st["environment_key"].unique()), dtype="string")})
    grid = fl.loc[~fl["archived"], ["flag_key"]].merge(envs, how="cross")
    grid = grid.merge(
        st[["flag_key", "environment_key", "status"]], on=["flag_key", "environment_key"], how="left"
    )
    ev = _events_view(events)
    last = (
        ev[ev["environment_key"].notna()]
        .groupby(["flag_key", "environment_key"])["event_time"]
        .max()
        .astype("Int64")
        .rename("last_change")
        .reset_index()
    )
    grid = grid.merge(last, on=["flag_key", "environment_key"], how="left")
    grid["last_change"] = grid["last_change"].astype("Int64")
    grid = grid.sort_values(["flag_key", "environment_key"], kind="stable").reset_index(drop=True)
    return grid[list(MATRIX_COLUMNS)]
