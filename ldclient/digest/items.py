"""What a digest reports: one item per thing an owner should act on, each with a stable identity.

``collect_items`` is plain pandas over one project's data (``ProjectData``), with an explicit ``now``; the
definitions are those of docs/METRICS.md and docs/LIFECYCLE.md, computed by the same functions. Each item's
``idempotency_key`` depends only on what the item is (the event ids, the flag and the change it is stale
since), never on when the digest ran or which window it loaded, so a repeat is recognisable by a receiver
and by the delivery state.

Item types (``ITEM_TYPES``) are produced by collectors (``COLLECTORS``): a function from ``Context`` to
items. ``register_collector`` adds one. LaunchDarkly's cleanup stages ("ready for code removal", "ready to
archive", from ``lifecycle.lifecycle_stages``) and "maintainer left" (owner status ``not_a_member``) are
conditions that hold now (``STATE_TYPES``): reported whatever the window, once per entry into the condition.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlencode

import numpy as np
import pandas as pd

from .. import lifecycle, metrics
from ..timeutil import DAY_MS
from ..working_hours import WorkingHours

HOUR_MS = 3_600_000
FLAP_SPAN_MS = 7 * DAY_MS  # docs/METRICS.md#flapping
ROLLBACK_SPAN_MS = DAY_MS
HISTORY_MS = (
    30 * DAY_MS
)  # loaded before a digest's window: rehearsals (14 d), flapping (7 d), rollbacks (1 d)

ITEM_TYPES = {
    "stale_flag": "Stale flag",
    "no_maintainer": "No maintainer",
    "rollback": "Rollback",
    "flapping": "Flapping flag",
    "large_unguarded": "Large-impact change without an experiment",
    "unrehearsed_change": "Unrehearsed production change",
    "off_hours_change": "Off-hours production change",
    "ready_for_code_removal": "Ready for code removal",
    "ready_to_archive": "Ready to archive",
    "maintainer_left": "Maintainer left",
}
# conditions that hold now, reported whatever the window
STATE_TYPES = ("no_maintainer", "ready_for_code_removal", "ready_to_archive", "maintainer_left")
ITEM_FIELDS = (
    "type",
    "project",
    "environment",
    "flag_key",
    "time",
    "summary",
    "owner",
    "team",
    "link",
    "launchdarkly_link",
    "idempotency_key",
)


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _when(ms: int, tz: str = "UTC") -> str:
    return pd.Timestamp(ms, unit="ms", tz="UTC").tz_convert(tz).strftime("%a %b %d %H:%M") + f" {tz}"


def _hours(ms: float) -> str:
    return f"{ms / HOUR_MS:.1f} h" if ms < 2 * DAY_MS else f"{ms / DAY_MS:.1f} days"


@dataclass(frozen=True)
class DigestItem:
    type: str
    project: str
    environment: str | None
    flag_key: str
    time_ms: int
    summary: str
    owner: str | None
    team: str | None
    link: str
    launchdarkly_link: str
    identity: str  # what makes the item this item: an event id, "stale since" …
    source: str = ""  # the store's source id (base URL or the demo's): two accounts never share a key

    @property
    def idempotency_key(self) -> str:
        text = "\n".join(
            (self.source, self.type, self.project, self.environment or "", self.flag_key, self.identity)
        )
        return hashlib.sha256(text.encode()).hexdigest()[:32]

    def to_json(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "project": self.project,
            "environment": self.environment,
            "flag_key": self.flag_key,
            "time": iso(self.time_ms),
            "summary": self.summary,
            "owner": self.owner,
            "team": self.team,
            "link": self.link,
            "launchdarkly_link": self.launchdarkly_link,
            "idempotency_key": self.idempotency_key,
        }


def item_time_ms(item: Mapping[str, Any]) -> int:
    return int(
        datetime.strptime(str(item["time"]), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp() * 1000
    )


@dataclass(frozen=True)
class Links:
    """Links into this dashboard (``LD_DASHBOARD_URL``) and to the flag in LaunchDarkly."""

    dashboard_url: str
    launchdarkly_url: str = "https://app.launchdarkly.com"

    def dashboard(self, page: str, project: str, env: str | None, flag: str, time_ms: int | None) -> str:
        params = {"project": project}
        if env:
            params["env"] = env
        if time_ms is not None:  # the days around the item, in UTC: the view shows exactly it
            day = datetime.fromtimestamp(time_ms / 1000, UTC).date()
            params["from"] = (day - timedelta(days=1)).isoformat()
            params["to"] = (day + timedelta(days=1)).isoformat()
        params["flag"] = flag
        return f"{self.dashboard_url}/{page}?{urlencode(params, quote_via=quote)}"

    def flag(self, project: str, env: str | None, flag: str) -> str:
        url = f"{self.launchdarkly_url}/projects/{quote(project, safe='')}/flags/{quote(flag, safe='')}"
        return url + (
            f"/targeting?env={quote(env, safe='')}&selected-env={quote(env, safe='')}" if env else ""
        )


@dataclass
class ProjectData:
    """One project's inputs: its environments, flags (raw API items), statuses and events.

    ``events`` holds every environment's events (and global ones) from at least ``HISTORY_MS`` before the
    window; ``last_changes`` the latest event time per (flag, environment or NA for global) over all the
    store holds, so "stale since" does not depend on the window loaded.
    """

    project: str
    environments: list[dict[str, Any]]
    flag_items: list[dict[str, Any]]
    statuses: pd.DataFrame
    events: pd.DataFrame
    work: WorkingHours = field(default_factory=WorkingHours)
    last_changes: pd.DataFrame | None = None
    source: str = ""
    # for LaunchDarkly's cleanup stages and owner status (``lifecycle.lifecycle_stages``); ``None`` = not read,
    # and then nothing is claimed that depends on it (no stage without code references and the critical
    # environments' configurations, nobody "left" without the members)
    stage_items: list[dict[str, Any]] | None = None  # merge_flag_configs of the critical environments
    code_refs: pd.DataFrame | None = None  # code_refs_to_frame
    members: list[dict[str, Any]] | None = None
    teams: list[dict[str, Any]] | None = None


@dataclass
class Context:
    data: ProjectData
    from_ms: int
    now_ms: int
    links: Links
    scope: str  # "production" or "all"
    flags: pd.DataFrame = field(init=False)
    owners: dict[str, tuple[str | None, str | None]] = field(init=False)
    production: set[str] = field(init=False)
    _stages: pd.DataFrame | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        self.flags = lifecycle.flags_to_frame(self.data.flag_items)
        self.owners = {k: flag_owner(item) for item in self.data.flag_items if (k := item.get("key"))}
        self.production = lifecycle.production_like(self.data.environments)

    def envs(self) -> set[str]:
        """The environments whose changes become items."""
        if self.scope == "all":
            return {str(e["key"]) for e in self.data.environments}
        return set(self.production)

    def item(
        self, type_: str, env: str | None, flag: str, time_ms: int, summary: str, identity: str, page: str
    ) -> DigestItem:
        owner, team = self.owners.get(flag, (None, None))
        return DigestItem(
            type=type_,
            project=self.data.project,
            environment=env,
            flag_key=flag,
            time_ms=int(time_ms),
            summary=summary,
            owner=owner or team,
            team=team,
            link=self.links.dashboard(
                page, self.data.project, env, flag, None if page == "cleanup" else time_ms
            ),
            launchdarkly_link=self.links.flag(self.data.project, env, flag),
            identity=identity,
            source=self.data.source,
        )

    def stages(self) -> pd.DataFrame:
        """LaunchDarkly's lifecycle stage and owner status of every flag (``lifecycle.STAGE_COLUMNS``)."""
        if self._stages is None:
            d = self.data
            self._stages = lifecycle.lifecycle_stages(
                d.stage_items if d.stage_items is not None else d.flag_items,
                d.statuses,
                lifecycle.critical_environments(d.environments),
                self.now_ms,
                code_refs=d.code_refs,
                members=d.members,
                teams=d.teams,
            )
        return self._stages

    def last_change_by_flag(self) -> dict[str, int]:
        """The latest event of each flag in any environment, over all the store holds (else the events)."""
        ev = self.data.last_changes if self.data.last_changes is not None else self.data.events
        if not len(ev) or "flag_key" not in ev or "event_time" not in ev:
            return {}
        ev = ev[ev["event_time"] <= self.now_ms]
        return {str(k): int(v) for k, v in ev.groupby("flag_key", observed=True)["event_time"].max().items()}

    def window_events(self) -> pd.DataFrame:
        ev = self.data.events
        return ev[(ev["event_time"] >= self.from_ms) & (ev["event_time"] <= self.now_ms)]


def flag_owner(item: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """(maintainer email, team key) of a flag: ``_maintainer``, then ``_maintainerTeam`` or a ``team-…``/
    ``team:…`` tag (how teams without LaunchDarkly's team maintainers mark a flag)."""
    maintainer = item.get("_maintainer")
    email = maintainer.get("email") if isinstance(maintainer, Mapping) else None
    team_rep = item.get("_maintainerTeam")
    team = team_rep.get("key") if isinstance(team_rep, Mapping) else None
    if not team:
        for tag in item.get("tags") or []:
            if isinstance(tag, str) and tag[:5] in ("team-", "team:") and len(tag) > 5:
                team = tag[5:]
                break
    return (email if isinstance(email, str) and email else None, team if isinstance(team, str) else None)


def _member(row: Any) -> str:
    email = row.get("member_email") if isinstance(row, Mapping) else getattr(row, "member_email", None)
    return str(email) if isinstance(email, str) and email else "someone"


def _by_id(events: pd.DataFrame) -> dict[str, dict[str, Any]]:
    cols = [c for c in ("id", "member_email", "impact_percentage", "environment_key") if c in events]
    return {str(r["id"]): r for r in events[cols].to_dict("records")}


# -- collectors -------------------------------------------------------------------------------------------

Collector = Callable[[Context], Iterable[DigestItem]]


def stale_flags(ctx: Context) -> Iterable[DigestItem]:
    """Flags stale (docs/LIFECYCLE.md) in a production-like environment, once per stale spell: the identity
    is the last change they are stale since, so a flag touched and stale again is reported again."""
    data = ctx.data
    last = data.last_changes
    for env in sorted(ctx.production):
        statuses = data.statuses[data.statuses["environment_key"] == env]
        if statuses.empty:
            continue
        table = lifecycle.stale_flags_table(ctx.flags, statuses, data.events, env, ctx.now_ms)
        for row in table.to_dict("records"):
            flag = str(row["flag_key"])
            created = ctx.flags.loc[ctx.flags["flag_key"] == flag, "creation_date"]
            created_ms = int(created.iloc[0]) if len(created) and pd.notna(created.iloc[0]) else None
            change = _last_change(last, flag, env) if last is not None else None
            if change is None and pd.notna(row["last_change"]):
                change = int(row["last_change"])
            since = max(
                change + lifecycle.RECENT_WINDOW_MS if change is not None else 0,
                created_ms + lifecycle.STALE_MIN_AGE_MS if created_ms is not None else 0,
            )
            quiet = f"no change for {(ctx.now_ms - change) / DAY_MS:.0f} days" if change else "no change seen"
            summary = f"Stale in {env}: temporary, {row['status']}, {quiet}" + (
                f", created {float(row['age_days']):.0f} days ago" if pd.notna(row["age_days"]) else ""
            )
            identity = f"stale-since:{change if change is not None else 'none'}:created:{created_ms}"
            yield ctx.item("stale_flag", env, flag, since, summary, identity, "cleanup")


def _last_change(last: pd.DataFrame, flag: str, env: str) -> int | None:
    rows = last[
        (last["flag_key"] == flag) & (last["environment_key"].isna() | (last["environment_key"] == env))
    ]
    return int(rows["event_time"].max()) if len(rows) else None


def no_maintainer(ctx: Context) -> Iterable[DigestItem]:
    """Live flags nobody maintains: no maintainer and no team."""
    fl = ctx.flags[~ctx.flags["archived"]]
    for row in fl.to_dict("records"):
        flag = str(row["flag_key"])
        if any(ctx.owners.get(flag, (None, None))):
            continue
        created = int(row["creation_date"]) if pd.notna(row["creation_date"]) else ctx.now_ms
        summary = "No maintainer and no team: nobody is named to keep it healthy or clean it up"
        yield ctx.item("no_maintainer", None, flag, created, summary, f"created:{created}", "cleanup")


def rollbacks(ctx: Context) -> Iterable[DigestItem]:
    """Rollback pairs (docs/METRICS.md#rollbacks) whose rolling-back event is in the window."""
    ev = ctx.data.events
    ev = ev[ev["environment_key"].isin(list(ctx.envs()))]
    pairs = metrics.rollback_pairs(ev, ctx.from_ms - ROLLBACK_SPAN_MS, ctx.now_ms + 1)
    pairs = pairs[pairs["to_time"] >= ctx.from_ms]
    info = _by_id(ev)
    for row in pairs.to_dict("records"):
        a, b = info.get(str(row["from_id"]), {}), info.get(str(row["to_id"]), {})
        summary = (
            f"Change by {_member(a)} at {_when(int(row['from_time']))} rolled back "
            f"{_hours(int(row['to_time']) - int(row['from_time']))} later by {_member(b)} "
            f"(traffic back within {float(row['tvd']) * 100:.1f} pp)"
        )
        yield ctx.item(
            "rollback",
            str(row["environment_key"]),
            str(row["flag_key"]),
            int(row["to_time"]),
            summary,
            f"{row['from_id']}->{row['to_id']}",
            "flag_detail",
        )


def _toggles(actions: Any) -> bool:
    return isinstance(actions, str) and "updateOn" in actions.split(",")


def flapping(ctx: Context) -> Iterable[DigestItem]:
    """Flapping (docs/METRICS.md#flapping): one item per spell, at the toggle that made it a spell (the third
    within 7 days); a spell ends when 7 days pass without such a toggle."""
    ev = ctx.data.events
    ev = ev[ev["environment_key"].isin(list(ctx.envs())) & (ev["event_time"] <= ctx.now_ms)]
    ev = ev[np.array([_toggles(a) for a in ev["actions"].astype(object)], dtype=bool)]  # [] is no column
    for (flag, env), group in ev.sort_values(["event_time", "id"]).groupby(["flag_key", "environment_key"]):
        times, ids = group["event_time"].to_numpy(dtype=np.int64), group["id"].astype(str).tolist()
        last_hit: int | None = None
        for i in range(2, len(times)):
            if times[i] - times[i - 2] > FLAP_SPAN_MS:
                continue
            new_spell = last_hit is None or times[i] - last_hit > FLAP_SPAN_MS
            last_hit = int(times[i])
            if new_spell and times[i] >= ctx.from_ms:
                summary = (
                    f"Toggled on/off 3 times in {_hours(int(times[i] - times[i - 2]))} in {env} "
                    "(an unstable rollout)"
                )
                yield ctx.item("flapping", str(env), str(flag), int(times[i]), summary, ids[i], "flag_detail")


def large_unguarded(ctx: Context) -> Iterable[DigestItem]:
    """Large-impact changes with no experiment running on them (``large_unguarded`` of docs/METRICS.md)."""
    ev = ctx.window_events()
    ev = ev[ev["environment_key"].isin(list(ctx.envs())) & (ev["impact_size"] == "large")]
    guarded = (ev["experiments_count"].fillna(0) > 0).to_numpy(dtype=bool)
    for row in ev[~guarded].to_dict("records"):
        pct = row.get("impact_percentage")
        share = f" ({float(pct):.1f}% of traffic)" if pct is not None and pd.notna(pct) else ""
        summary = f"Large-impact change{share} by {_member(row)} with no experiment running"
        yield ctx.item(
            "large_unguarded",
            str(row["environment_key"]),
            str(row["flag_key"]),
            int(row["event_time"]),
            summary,
            str(row["id"]),
            "flag_detail",
        )


def unrehearsed_changes(ctx: Context) -> Iterable[DigestItem]:
    """Production serving changes with no rehearsal (docs/LIFECYCLE.md#promotion-hygiene)."""
    info = _by_id(ctx.data.events)
    for env in sorted(ctx.production):
        changes = lifecycle.production_changes(ctx.data.events, ctx.production, env)
        changes = changes[
            ~changes["rehearsed"]
            & (changes["event_time"] >= ctx.from_ms)
            & (changes["event_time"] <= ctx.now_ms)
        ]
        for row in changes.to_dict("records"):
            summary = (
                f"Serving change in {env} by {_member(info.get(str(row['id']), {}))} with no serving change "
                "in a non-production environment in the 14 days before"
            )
            yield ctx.item(
                "unrehearsed_change",
                env,
                str(row["flag_key"]),
                int(row["event_time"]),
                summary,
                str(row["id"]),
                "flag_detail",
            )


def off_hours_changes(ctx: Context) -> Iterable[DigestItem]:
    """Changes in a production-like environment outside the team's working hours (working_hours.py)."""
    from ..metrics.engine import _off_hours  # the one definition of off-hours, shared with the metrics

    ev = ctx.window_events()
    ev = ev[ev["environment_key"].isin(list(ctx.production))]
    if ev.empty:
        return
    work = ctx.data.work
    off = _off_hours(ev["event_time"].to_numpy(dtype=np.int64), work)
    for row in ev[off].to_dict("records"):
        summary = (
            f"Changed in {row['environment_key']} by {_member(row)} at {_when(int(row['event_time']), work.timezone)}, "
            f"outside working hours ({work.describe()})"
        )
        yield ctx.item(
            "off_hours_change",
            str(row["environment_key"]),
            str(row["flag_key"]),
            int(row["event_time"]),
            summary,
            str(row["id"]),
            "flag_detail",
        )


def _stage_items(ctx: Context, stage: str) -> Iterable[DigestItem]:
    """Flags in LaunchDarkly's ``stage`` now, once per entry: the identity is the flag's last change (any
    environment) and creation, so a flag changed out of the stage and back into it is reported again."""
    data = ctx.data
    if data.code_refs is None or data.stage_items is None:
        return  # without code references or prerequisites a cleanup stage would be a guess
    table = ctx.stages()
    table = table[table["lifecycle_stage"] == stage]
    changes = ctx.last_change_by_flag()
    label = ITEM_TYPES[stage]
    for row in table.to_dict("records"):
        flag = str(row["flag_key"])
        created = None if pd.isna(row["created"]) else int(row["created"])
        change = changes.get(flag)
        entered = max(
            change if change is not None else 0,
            created + lifecycle.STALE_MIN_AGE_MS if created is not None else 0,
        )
        summary = f"{label}: {row['stage_reason']}"
        if stage == "ready_for_code_removal" and not pd.isna(row["value_to_keep_variation"]):
            keep = row["value_to_keep_name"]
            keep = json.dumps(row["value_to_keep"], ensure_ascii=False) if pd.isna(keep) else str(keep)
            summary += f"; keep serving {keep[:40]}"
        identity = f"last-change:{change if change is not None else 'none'}:created:{created}"
        yield ctx.item(stage, None, flag, min(entered, ctx.now_ms), summary, identity, "cleanup")


def ready_for_code_removal(ctx: Context) -> Iterable[DigestItem]:
    """Temporary flags launched in every critical environment and still referenced in code."""
    return _stage_items(ctx, "ready_for_code_removal")


def ready_to_archive(ctx: Context) -> Iterable[DigestItem]:
    """Temporary flags inactive in every critical environment with no code references left."""
    return _stage_items(ctx, "ready_to_archive")


def maintainer_left(ctx: Context) -> Iterable[DigestItem]:
    """Non-archived flags whose maintainer is no longer a member (or whose maintainer team is gone), once per
    departed maintainer. The item goes to the flag's team when a departed member's flag has one, else to the
    default destination: the one who left reads nothing."""
    if ctx.data.members is None:
        return
    table = ctx.stages()
    left = (table["owner_status"] == "not_a_member").fillna(False).astype(bool)
    table = table[left & (table["lifecycle_stage"] != "archived")]
    items = {str(i.get("key")): i for i in ctx.data.stage_items or ctx.data.flag_items}
    for row in table.to_dict("records"):
        flag = str(row["flag_key"])
        raw = items.get(flag) or {}
        rep = raw.get("_maintainer")
        rep = rep if isinstance(rep, Mapping) else {}
        member = rep.get("email") or rep.get("_id") or raw.get("maintainerId")
        team = ctx.owners.get(flag, (None, None))[1]
        if member:
            who, summary = str(member), f"Maintainer {member} is no longer a member: name a new maintainer"
        else:
            who = str(row["maintainer_team"])
            summary = f"Maintainer team {who} no longer exists: name a new maintainer"
            team = None
        item = ctx.item("maintainer_left", None, flag, ctx.now_ms, summary, f"left:{who}", "cleanup")
        yield replace(item, owner=team, team=team)


COLLECTORS: dict[str, Collector] = {
    "stale_flag": stale_flags,
    "no_maintainer": no_maintainer,
    "rollback": rollbacks,
    "flapping": flapping,
    "large_unguarded": large_unguarded,
    "unrehearsed_change": unrehearsed_changes,
    "off_hours_change": off_hours_changes,
    "ready_for_code_removal": ready_for_code_removal,
    "ready_to_archive": ready_to_archive,
    "maintainer_left": maintainer_left,
}


def register_collector(type_: str, label: str, collector: Collector) -> None:
    """Add an item type: ``collector`` yields its items from a ``Context``."""
    ITEM_TYPES[type_] = label
    COLLECTORS[type_] = collector


def collect_items(
    data: ProjectData, from_ms: int, now_ms: int, links: Links, *, scope: str = "production"
) -> list[DigestItem]:
    """Every item of ``data`` in ``[from_ms, now_ms]`` (conditions that hold now whatever the window), by
    time, then type and flag; one item per idempotency key."""
    ctx = Context(data, from_ms, now_ms, links, scope)
    seen: dict[str, DigestItem] = {}
    for collector in COLLECTORS.values():
        for item in collector(ctx):
            if item.type in STATE_TYPES or from_ms <= item.time_ms <= now_ms:
                seen.setdefault(item.idempotency_key, item)
    return sorted(
        seen.values(), key=lambda i: (i.time_ms, i.type, i.project, i.flag_key, i.environment or "")
    )


def item_json_text(item: Mapping[str, Any]) -> str:
    return json.dumps(dict(item), separators=(",", ":"), ensure_ascii=False, sort_keys=True)
