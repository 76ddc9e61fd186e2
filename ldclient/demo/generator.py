"""Builds the account: a deterministic schedule of flags and the changes made to them over two years."""

from __future__ import annotations

import datetime as dt
import random
from bisect import bisect_right
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from ..vocabulary import DAY_MS, HOUR_MS, MINUTE_MS
from .account import DemoAccount, _member_rep
from .catalog import (
    _ARCHETYPE_WEIGHTS,
    _BERLIN,
    _ENVIRONMENTS,
    _EXTRA_TAGS,
    _JSON_VALUE_SETS,
    _NEW_YORK,
    _PEOPLE,
    _PROJECTS,
    _STRING_VALUE_SETS,
    _TEAMS,
    _TEMPLATES,
    _WORK_END_MS,
    _WORK_HOURS,
    _WORK_START_MS,
    _WORK_WEIGHTS,
    HISTORY_DAYS,
    SPRINT_STARTS_DAYS_AGO,
    WINDOW_DAYS,
    ChangeSpec,
    _event_order,
    _humanize,
    _link,
    _object_id,
    default_now_ms,
)
from .replay import _Replay

# --- generation --------------------------------------------------------------------------------------


class _Clock:
    """UTC offsets of one zone per UTC day over the generated span, so DST is right and lookups are cheap."""

    def __init__(self, zone: str, first_day: int, last_day: int) -> None:
        tz = ZoneInfo(zone)
        self.first = first_day
        days = range(first_day, last_day + 1)
        noons = (dt.datetime.fromtimestamp(d * 86_400 + 43_200, dt.UTC) for d in days)
        self.offsets = [
            int((noon.astimezone(tz).utcoffset() or dt.timedelta()).total_seconds()) * 1000 for noon in noons
        ]
        self.last = len(self.offsets) - 1

    def offset(self, t: int) -> int:
        i = t // DAY_MS - self.first
        return self.offsets[0 if i < 0 else self.last if i > self.last else i]


@dataclass(slots=True)
class _Flag:
    project: dict[str, Any]
    key: str
    name: str
    archetype: str
    values: list[Any]
    var_names: list[str]
    off_var: int
    temporary: bool
    created: int
    team: str
    maintainer: int
    tags: list[str]
    description: str
    traffic: dict[str, int]
    deployed: dict[str, int] = field(default_factory=dict)
    retired: int | None = None
    archived_at: int | None = None
    deprecated_at: int | None = None
    weight: float = 0.0
    experiments: list[dict[str, Any]] = field(default_factory=list)
    specs: list[ChangeSpec] = field(default_factory=list)
    reserved: list[tuple[int, int, str | None]] = field(default_factory=list)
    churn_end: int = 0
    fresh: bool = False

    @property
    def boolean(self) -> bool:
        return len(self.values) == 2 and self.values[0] is True


class _Builder:
    def __init__(self, seed: int, now_ms: int, events_target: int) -> None:
        self.seed = seed
        self.now = now_ms
        self.window_start = now_ms - WINDOW_DAYS * DAY_MS
        self.target = events_target
        self.rng = random.Random(f"demo-account:{seed}:structure")
        self.ids = random.Random(f"demo-account:{seed}:ids")
        first_day = now_ms // DAY_MS - HISTORY_DAYS - 40
        last_day = now_ms // DAY_MS + 400
        self.clocks = {zone: _Clock(zone, first_day, last_day) for zone in (_BERLIN, _NEW_YORK)}
        self.seq = 0
        self.people = _PEOPLE
        self.member_reps = [_member_rep(i, p) for i, p in enumerate(_PEOPLE)]
        self.by_team: dict[str, list[int]] = {}
        for i, person in enumerate(_PEOPLE):
            self.by_team.setdefault(person[2], []).append(i)
        self.flags: list[_Flag] = []
        self.projects: list[dict[str, Any]] = []
        self.work_cum: list[float] = []
        acc = 0.0
        for w in _WORK_WEIGHTS:
            acc += w
            self.work_cum.append(acc)

    # time ------------------------------------------------------------------------------------------

    def _work_tod(self) -> int:
        hour = self.rng.choices(_WORK_HOURS, cum_weights=self.work_cum)[0]
        return hour * HOUR_MS + self.rng.randrange(HOUR_MS)

    def snap(self, t: int, zone: str, off_hours: float = 0.05) -> int:
        """The first plausible working moment at or after ``t`` in ``zone``; a few changes stay at night
        or on weekends, as incidents and eager engineers do."""
        if self.rng.random() < off_hours:
            return t
        clock = self.clocks[zone]
        off = clock.offset(t)
        day, tod = divmod(t + off, DAY_MS)
        if (day + 3) % 7 < 5 and _WORK_START_MS <= tod < _WORK_END_MS:
            return t
        if tod >= _WORK_START_MS or (day + 3) % 7 >= 5:
            day += 1
        while (day + 3) % 7 >= 5:
            day += 1
        local = day * DAY_MS + self._work_tod()
        return max(t, local - clock.offset(local - off))

    def later(
        self, f: _Flag, t: int, lo: int, hi: int, member: int | None = None, off_hours: float = 0.05
    ) -> int:
        zone = self.people[member if member is not None else f.maintainer][3]
        return self.snap(t + self.rng.randint(lo, hi), zone, off_hours)

    def sample_time(self, start: int, end: int, zone: str) -> int | None:
        """A change time in ``[start, end)``: weekdays and office hours mostly, some nights and weekends."""
        if end <= start:
            return None
        rng, clock = self.rng, self.clocks[zone]
        for _ in range(6):
            t0 = rng.randrange(start, end)
            off = clock.offset(t0)
            day = (t0 + off) // DAY_MS
            if (day + 3) % 7 >= 5 and rng.random() > 0.12:
                continue
            tod = rng.randrange(DAY_MS) if rng.random() < 0.06 else self._work_tod()
            t = day * DAY_MS + tod - off
            if start <= t < end:
                return t
        return None

    # specs -----------------------------------------------------------------------------------------

    def spec(
        self,
        f: _Flag,
        t: int,
        env: str | None,
        kind: str,
        arg: Any = None,
        member: int | None = None,
        origin: str = "story",
    ) -> None:
        if member is None:
            member = f.maintainer if self.rng.random() < 0.6 else self.teammate(f)
        self.seq += 1
        f.specs.append(ChangeSpec(t, self.seq, env, kind, arg, member, origin))

    def teammate(self, f: _Flag) -> int:
        rng = self.rng
        r = rng.random()
        if r < 0.85:
            return rng.choice(self.by_team[f.team])
        if r < 0.95:
            return rng.choice(self.by_team["platform"])
        return rng.randrange(len(self.people))

    # structure -------------------------------------------------------------------------------------

    def build_members(self) -> list[dict[str, Any]]:
        out = []
        for i, (first, last, team, zone, role) in enumerate(self.people):
            rep = self.member_reps[i]
            out.append(
                {
                    "_links": {"self": _link(f"/api/v2/members/{rep['id']}")},
                    "_id": rep["id"],
                    "firstName": first,
                    "lastName": last,
                    "role": role,
                    "email": rep["email"],
                    "_pendingInvite": False,
                    "_verified": True,
                    "customRoles": [],
                    "mfa": "enabled",
                    "excludedDashboards": [],
                    "_lastSeen": self.now - self.rng.randrange(3 * DAY_MS),
                    "creationDate": self.now - (400 + self.rng.randrange(900)) * DAY_MS,
                    "teams": [{"customRoleKeys": [], "key": team, "name": _TEAMS[team]}],
                    "timeZone": zone,
                }
            )
        return out

    def build_projects(self) -> None:
        rng = self.rng
        for spec in _PROJECTS:
            envs = []
            for env_key in spec["envs"]:
                name, color, critical, tags = _ENVIRONMENTS[env_key]
                env_id = _object_id(rng)
                base = f"/api/v2/projects/{spec['key']}/environments/{env_key}"
                envs.append(
                    {
                        "_links": {
                            "self": _link(base),
                            "analytics": _link(f"/analytics/{env_id}", "text/html"),
                        },
                        "_id": env_id,
                        "key": env_key,
                        "name": name,
                        "apiKey": f"sdk-demo-{rng.getrandbits(64):016x}",
                        "mobileKey": f"mob-demo-{rng.getrandbits(64):016x}",
                        "color": color,
                        "defaultTtl": 0,
                        "secureMode": False,
                        "defaultTrackEvents": False,
                        "requireComments": critical,
                        "confirmChanges": critical,
                        "tags": list(tags),
                        "critical": critical,
                    }
                )
            self.projects.append(
                {
                    "_links": {
                        "self": _link(f"/api/v2/projects/{spec['key']}"),
                        "environments": _link(f"/api/v2/projects/{spec['key']}/environments"),
                    },
                    "_id": _object_id(rng),
                    "key": spec["key"],
                    "includeInSnippetByDefault": False,
                    "defaultClientSideAvailability": {
                        "usingMobileKey": spec["key"] == "mobile-app",
                        "usingEnvironmentId": spec["key"] == "web-storefront",
                    },
                    "name": spec["name"],
                    "tags": list(spec["tags"]),
                    "environments": envs,
                }
            )

    def build_flags(self) -> None:
        rng = self.rng
        self.keys_by_project: dict[str, list[str]] = {}
        arche = [kind for kind, _ in _ARCHETYPE_WEIGHTS]
        weights = [weight for _, weight in _ARCHETYPE_WEIGHTS]
        for spec, project in zip(_PROJECTS, self.projects, strict=True):
            count = rng.randint(170, 260)
            keys: set[str] = set()
            fresh_left = 3  # brand-new flags, not yet requested anywhere: status "new"
            made = 0
            while made < count:
                kind = "release" if fresh_left else rng.choices(arche, weights)[0]
                key = rng.choice(_TEMPLATES[kind]).format(n=rng.choice(spec["nouns"]))
                if key in keys:
                    continue
                keys.add(key)
                f = self.new_flag(spec, project, key, kind, fresh=fresh_left > 0)
                fresh_left = max(0, fresh_left - 1)
                self.flags.append(f)
                self.keys_by_project.setdefault(project["key"], []).append(key)
                made += 1

    def new_flag(
        self, spec: dict[str, Any], project: dict[str, Any], key: str, kind: str, fresh: bool
    ) -> _Flag:
        rng = self.rng
        team = rng.choice(spec["teams"]) if kind != "ops" or rng.random() < 0.6 else "platform"
        maintainer = rng.choice(self.by_team[team])
        if kind in ("release", "experiment"):
            temporary = True
            days = rng.uniform(0.5, 180) if rng.random() < 0.45 else rng.uniform(180, HISTORY_DAYS)
        else:
            temporary = False
            days = rng.uniform(60, HISTORY_DAYS)
        if fresh:
            days = rng.uniform(1.0, 5.5)
        created = self.snap(self.now - int(days * DAY_MS), self.people[maintainer][3], 0.03)
        if created >= self.now:
            created = self.now - rng.randint(2 * HOUR_MS, 20 * HOUR_MS)
        if kind == "config" or (kind == "experiment" and rng.random() < 0.7):
            if kind == "config" and rng.random() < 0.5:
                values: list[Any] = [dict(v) for v in rng.choice(_JSON_VALUE_SETS)]
                names = [f"Profile {chr(65 + i)}" for i in range(len(values))]
            elif kind == "config":
                values = list(rng.choice(_STRING_VALUE_SETS))
                names = [v.capitalize() for v in values]
            else:
                values = ["control", "variant-a", "variant-b"][: rng.choice((2, 3))]
                names = ["Control", "Variant A", "Variant B"][: len(values)]
            off_var = 0
        else:
            values, names, off_var = [True, False], ["Enabled", "Disabled"], 1
        pop = min(25.0, max(0.03, rng.lognormvariate(0, 1.1)))
        scale = spec["traffic"]
        traffic = {
            "production": int(18_000 * pop * scale),
            "prod-eu": int(7_000 * pop * scale),
            "staging": int(150 + 300 * pop**0.5),
            "test": int(20 + 40 * pop**0.3),
        }
        tags = [kind if kind != "entitlement" else "entitlements", f"team-{team}"]
        if rng.random() < 0.35:
            tags.append(rng.choice(_EXTRA_TAGS))
        name = _humanize(key)
        description = {
            "release": f"Release toggle for {name.lower()}. Remove once fully rolled out.",
            "experiment": f"A/B test: does {name.lower()} improve conversion?",
            "ops": f"Operational kill switch: turn off to disable {name.lower()} during incidents.",
            "config": f"Remote configuration for {name.lower()}.",
            "entitlement": f"Who gets access to {name.lower()}.",
        }[kind]
        return _Flag(
            project=project,
            key=key,
            name=name,
            archetype=kind,
            values=values,
            var_names=names,
            off_var=off_var,
            temporary=temporary,
            created=created,
            team=team,
            maintainer=maintainer,
            tags=sorted(set(tags)),
            description=description,
            traffic={e["key"]: traffic[e["key"]] for e in project["environments"]},
            fresh=fresh,
        )

    # stories ---------------------------------------------------------------------------------------

    def envs(self, f: _Flag) -> list[str]:
        return [e["key"] for e in f.project["environments"]]

    def deploy(self, f: _Flag, fresh: bool) -> None:
        """When the code that evaluates the flag reaches each environment (traffic starts then)."""
        rng = self.rng
        base = f.created + rng.randint(2 * HOUR_MS, 3 * DAY_MS)
        if fresh:
            base = self.now + rng.randint(1, 10) * DAY_MS
        f.deployed["test"] = base
        f.deployed["staging"] = base + rng.randint(0, 2 * DAY_MS)
        f.deployed["production"] = f.deployed["staging"] + rng.randint(DAY_MS, 6 * DAY_MS)
        if "prod-eu" in f.traffic:
            f.deployed["prod-eu"] = f.deployed["production"] + rng.randint(0, DAY_MS)

    def story(self, f: _Flag, fresh: bool) -> None:
        rng = self.rng
        self.deploy(f, fresh)
        self.spec(f, f.created, None, "create", member=f.maintainer)
        if fresh:
            return
        kind = f.archetype
        if kind in ("release", "experiment"):
            done = self.release(f) if kind == "release" else self.experiment(f)
            if done is not None:
                self.retire(f, done)
        else:
            on_dist = self.initial_dist(f)
            t = self.later(f, f.created, HOUR_MS, 2 * DAY_MS)
            self.spec(f, t, "test", "on", {"dist": on_dist.get("test")})
            t = self.later(f, t, 20 * HOUR_MS, 4 * DAY_MS)
            self.spec(f, t, "staging", "on", {"dist": on_dist.get("staging")})
            t = self.later(f, t, DAY_MS, 6 * DAY_MS)
            self.spec(f, t, "production", "on", {"dist": on_dist.get("production")})
            if "prod-eu" in f.traffic:
                self.spec(
                    f,
                    self.later(f, t, 4 * HOUR_MS, 2 * DAY_MS),
                    "prod-eu",
                    "on",
                    {"dist": on_dist.get("production")},
                )
            if kind == "config" and rng.random() < 0.35:
                self.migration(f, t)
            if rng.random() < 0.05:  # a permanent flag that outlived its purpose
                self.retire(f, t + rng.randint(30, 200) * DAY_MS)
        f.churn_end = min(x for x in (self.now, f.retired, f.archived_at) if x is not None)
        f.weight = self.churn_weight(f)

    def initial_dist(self, f: _Flag) -> dict[str, list[float]]:
        rng = self.rng
        if f.archetype == "entitlement":
            p = rng.uniform(0.15, 0.75)
            return {"test": [0.8, 0.2], "staging": [0.5, 0.5], "production": [round(p, 3), round(1 - p, 3)]}
        n = len(f.values)
        one = [1.0] + [0.0] * (n - 1) if f.archetype == "ops" or n > 2 else [1.0, 0.0]
        if f.archetype == "config" and n > 1:
            one = [0.0] * n
            one[1 if n > 2 else 0] = 1.0
        return {"test": one, "staging": one, "production": one}

    def migration(self, f: _Flag, t: int) -> None:
        """Config flags move between values with a rollout (provider migrations), sometimes rolled back."""
        rng = self.rng
        n = len(f.values)
        cur = 1 if n > 2 else 0
        nxt = (cur + 1) % n
        t = self.later(f, t, 20 * DAY_MS, 300 * DAY_MS)
        staging = [0.0] * n
        staging[nxt] = 1.0
        self.spec(f, self.later(f, t - 3 * DAY_MS, 0, DAY_MS), "staging", "dist", {"dist": staging})
        for share in (0.25, 0.5, 1.0):
            dist = [0.0] * n
            dist[cur], dist[nxt] = round(1 - share, 3), share
            self.spec(f, t, "production", "dist", {"dist": dist})
            if share == 0.5 and rng.random() < 0.3:
                self.rollback(f, t, "production")
                t = self.later(f, t, 2 * DAY_MS, 5 * DAY_MS)
                self.spec(f, t, "production", "dist", {"dist": dist})
            t = self.later(f, t, 26 * HOUR_MS, 5 * DAY_MS)

    def rollback(self, f: _Flag, t: int, env: str) -> int:
        """Revert the change at ``t`` within hours, and keep everything else off that flag meanwhile so the
        pair stays consecutive."""
        back = t + self.rng.randint(12 * MINUTE_MS, 5 * HOUR_MS)
        self.spec(f, back, env, "revert", member=self.teammate(f))
        f.reserved.append((t - MINUTE_MS, back + MINUTE_MS, None))
        return back

    def release(self, f: _Flag) -> int | None:
        """test -> staging -> production, progressive where it matters; returns when fully launched."""
        rng = self.rng
        t = self.later(f, f.created, HOUR_MS, 2 * DAY_MS)
        self.spec(f, t, "test", "on")
        t_stg = self.later(f, t, 20 * HOUR_MS, 5 * DAY_MS)
        if rng.random() < 0.35:  # dogfood: internal users first
            self.spec(f, t_stg, "staging", "rules", {"note": "internal"})
            t_stg = self.later(f, t_stg, 26 * HOUR_MS, 3 * DAY_MS)
        self.spec(f, t_stg, "staging", "on")
        t = self.later(f, t_stg, DAY_MS, 7 * DAY_MS)
        r = rng.random()
        steps = [0.1, 0.25, 0.5, 1.0] if r < 0.6 else [0.25, 1.0] if r < 0.7 else [1.0]
        if rng.random() < 0.1:
            steps = steps[: max(1, len(steps) - 1 - rng.randrange(2))]  # stalled mid-rollout
        rolled_back = False
        for i, share in enumerate(steps):
            if rng.random() < 0.5:  # rehearse in staging first
                self.spec(
                    f,
                    self.later(f, t - rng.randint(3 * HOUR_MS, 3 * DAY_MS), 0, HOUR_MS),
                    "staging",
                    rng.choice(("targets", "rules")),
                    origin="story",
                )
            dist = [share, round(1 - share, 3)]
            self.spec(f, t, "production", "on" if i == 0 else "dist", {"dist": dist})
            if share <= 0.12:
                f.reserved.append((t, t + 25 * HOUR_MS, "production"))
            if "prod-eu" in f.traffic:
                self.spec(
                    f,
                    self.later(f, t, 4 * HOUR_MS, 2 * DAY_MS),
                    "prod-eu",
                    "on" if i == 0 else "dist",
                    {"dist": dist},
                )
            if share >= 0.25 and not rolled_back and rng.random() < 0.16:
                rolled_back = True
                self.rollback(f, t, "production")
                t = self.later(f, t, 2 * DAY_MS, 5 * DAY_MS)
                self.spec(f, t, "production", "dist" if i else "on", {"dist": dist})
            if share < 1.0:
                t = self.later(f, t, 26 * HOUR_MS, 4 * DAY_MS)
        return t if steps[-1] == 1.0 else None

    def experiment(self, f: _Flag) -> int | None:
        rng = self.rng
        n = len(f.values)
        split = [round(1 / n, 4)] * n
        t = self.later(f, f.created, HOUR_MS, 2 * DAY_MS)
        self.spec(f, t, "test", "on", {"dist": split})
        t = self.later(f, t, 20 * HOUR_MS, 4 * DAY_MS)
        self.spec(f, t, "staging", "on", {"dist": split})
        t = self.later(f, t, DAY_MS, 5 * DAY_MS)
        ends = t + rng.randint(10, 35) * DAY_MS
        ends = self.later(f, ends, 0, HOUR_MS)
        winner = rng.randrange(n)
        exp_key = f"{f.key.removeprefix('exp-')}-{'test' if 'test' not in f.key else 'experiment'}"
        if t < self.now:
            f.experiments.append(
                {
                    "key": exp_key.replace("--", "-"),
                    "name": f"{f.name} experiment",
                    "env": "production",
                    "iteration": _object_id(rng),
                    "startedAt": t,
                    "endedAt": ends if ends < self.now else None,
                }
            )
        self.spec(f, t, "production", "on", {"dist": split, "note": "experiment"})
        final = [0.0] * n
        final[winner] = 1.0
        if f.boolean:
            final = [1.0, 0.0] if winner == 0 else [0.0, 1.0]
        self.spec(f, ends, "production", "dist", {"dist": final, "note": "winner"})
        return ends

    def retire(self, f: _Flag, launched: int) -> None:
        """After launch: some get their code removed (inactive), some of those archived, the rest linger."""
        rng = self.rng
        r = rng.random()
        if r < 0.6:
            f.retired = launched + rng.randint(10, 100) * DAY_MS
            if r < 0.32:
                if rng.random() < 0.25:
                    f.deprecated_at = self.later(f, f.retired, DAY_MS, 10 * DAY_MS)
                    self.spec(f, f.deprecated_at, None, "deprecate")
                archived = self.later(f, (f.deprecated_at or f.retired), DAY_MS, 25 * DAY_MS)
                self.spec(f, archived, None, "archive")
                if archived < self.now:
                    f.archived_at = archived

    def cleanup_sprint(self) -> None:
        """A cleanup sprint ``SPRINT_STARTS_DAYS_AGO`` days ago: each team archives most of its abandoned temporary
        flags (code removed a week or more before) within five working days, so the History page shows debt
        that grew for a quarter and then dropped. Its own random generator: the rest of the account is the
        same with or without it."""
        rng = random.Random(f"demo-account:{self.seed}:sprint")
        start = self.now - SPRINT_STARTS_DAYS_AGO * DAY_MS
        for f in self.flags:
            abandoned = f.retired is not None and f.retired < start - 7 * DAY_MS
            if not (f.temporary and f.archived_at is None and abandoned and f.created < start - 60 * DAY_MS):
                continue
            if rng.random() >= 0.7:
                continue
            day = start + rng.randrange(5) * DAY_MS
            zone = self.people[f.maintainer][3]
            at = day - self.clocks[zone].offset(day) + rng.randrange(9, 17) * HOUR_MS + rng.randrange(HOUR_MS)
            self.seq += 1
            f.specs.append(ChangeSpec(at, self.seq, None, "archive", None, f.maintainer, "story"))
            f.archived_at = at
            f.churn_end = min(f.churn_end, at)

    def flapping(self, f: _Flag, env: str) -> None:
        """An incident: the kill switch goes off and on again several times within a few days."""
        rng = self.rng
        start = self.window_start + rng.randrange(10 * DAY_MS, (WINDOW_DAYS - 20) * DAY_MS)
        t = self.snap(start, self.people[f.maintainer][3], 0.5)
        for i in range(rng.choice((4, 4, 5, 6))):
            self.spec(f, t, env, "off" if i % 2 == 0 else "on", member=self.teammate(f))
            t += rng.randint(40 * MINUTE_MS, 30 * HOUR_MS)
        f.reserved.append((start - MINUTE_MS, t, None))

    def churn_weight(self, f: _Flag) -> float:
        rng = self.rng
        base = {"entitlement": 3.0, "ops": 0.8, "config": 1.4, "release": 0.5, "experiment": 0.6}[f.archetype]
        if f.archetype in ("release", "experiment") and rng.random() < 0.45:
            return 0.0
        if f.churn_end <= max(f.created, self.window_start):
            return 0.0
        return base * rng.paretovariate(1.3)

    # churn -----------------------------------------------------------------------------------------

    def churn(self, budget: int) -> None:
        """Day-to-day targeting work that fills the account up to the event target, concentrated on a
        minority of busy flags (entitlements, configs) so most flags stay quiet and can go stale."""
        rng = self.rng
        candidates = [f for f in self.flags if f.weight > 0]
        if not candidates or budget <= 0:
            return
        cum: list[float] = []
        acc = 0.0
        for f in candidates:
            span = f.churn_end - max(f.created + HOUR_MS, self.window_start)
            acc += f.weight * max(span, 0) / DAY_MS
            cum.append(acc)
        kinds = ("targets", "rules", "fallthrough", "offvar", "prereq", "toggle", "global")
        kind_cum = (0.50, 0.77, 0.86, 0.88, 0.90, 0.93)
        made = attempts = 0
        while made < budget and attempts < budget * 4:
            attempts += 1
            f = rng.choices(candidates, cum_weights=cum)[0]
            envs = self.envs(f)
            r = rng.random()
            kind = kinds[bisect_right(kind_cum, r)]
            member = self.teammate(f)
            start = max(f.created + HOUR_MS, self.window_start)
            t = self.sample_time(start, f.churn_end, self.people[member][3])
            if t is None:
                continue
            if kind == "global":
                if self.blocked(f, t, None):
                    continue
                g = rng.random()
                gkind = (
                    "tags"
                    if g < 0.42
                    else "description"
                    if g < 0.82
                    else "rename"
                    if g < 0.93
                    else "variations"
                )
                if gkind == "variations" and f.boolean:
                    gkind = "tags"
                self.spec(f, t, None, gkind, member=member, origin="churn")
                made += 1
                continue
            env = self.pick_env(envs)
            if self.blocked(f, t, env):
                continue
            if kind == "toggle":
                if f.archetype not in ("ops", "config") or t < f.created + 20 * DAY_MS or budget - made < 2:
                    kind = "targets"
                else:
                    back = t + rng.randint(15 * MINUTE_MS, 8 * HOUR_MS)
                    if back >= f.churn_end or self.blocked(f, back, env):
                        continue
                    auto = rng.random() < 0.12
                    who = -1 if auto else member
                    self.spec(f, t, env, "off", {"auto": auto}, member=who, origin="churn")
                    self.spec(f, back, env, "on", {"auto": auto}, member=who, origin="churn")
                    made += 2
                    continue
            auto = kind == "targets" and rng.random() < 0.04
            self.spec(f, t, env, kind, {"auto": auto}, member=-1 if auto else member, origin="churn")
            made += 1
            critical = env in ("production", "prod-eu")
            if critical and made < budget and rng.random() < 0.72:
                rehearsal = "staging" if rng.random() < 0.75 else "test"
                lo = max(start, t - 6 * DAY_MS)
                tr = self.sample_time(lo, t - HOUR_MS, self.people[member][3]) if t - HOUR_MS > lo else None
                if tr is not None and not self.blocked(f, tr, rehearsal):
                    self.spec(
                        f,
                        tr,
                        rehearsal,
                        kind if kind != "offvar" else "targets",
                        {"auto": False},
                        member=member,
                        origin="churn",
                    )
                    made += 1

    def pick_env(self, envs: list[str]) -> str:
        r = self.rng.random()
        if "prod-eu" in envs:
            return "production" if r < 0.4 else "prod-eu" if r < 0.6 else "staging" if r < 0.82 else "test"
        return "production" if r < 0.52 else "staging" if r < 0.8 else "test"

    def blocked(self, f: _Flag, t: int, env: str | None) -> bool:
        for lo, hi, where in f.reserved:
            if lo <= t <= hi and (where is None or where == env):
                return True
        return False


def generate_account(seed: int = 7, now_ms: int | None = None, events_target: int = 50_000) -> DemoAccount:
    """The demo account for ``seed`` as of ``now_ms`` (default: start of today, UTC).

    Scripted stories (releases, experiments, rollbacks, flapping, archiving) are always generated; churn
    (targeting work, renames, tag changes) fills up to ``events_target`` events in the last 180 days. A
    target below the scripted count (about 1,600 events for seed 7) yields just the scripted events.
    """
    now = default_now_ms() if now_ms is None else int(now_ms)
    b = _Builder(seed, now, events_target)
    members = b.build_members()
    b.build_projects()
    b.build_flags()
    for f in b.flags:
        b.story(f, f.fresh)
    # a few incidents: kill switches (or releases) that flap in one environment
    for project in b.projects:
        pool = [
            f for f in b.flags if f.project is project and f.archetype == "ops" and f.created < b.window_start
        ]
        for f in b.rng.sample(pool, min(len(pool), 2)):
            b.flapping(f, "production" if b.rng.random() < 0.7 else "staging")
    b.cleanup_sprint()
    scripted = sum(1 for f in b.flags for s in f.specs if b.window_start <= s.time < now)
    b.churn(events_target - scripted)

    events: list[dict[str, Any]] = []
    flags: dict[str, list[dict[str, Any]]] = {p["key"]: [] for p in b.projects}
    statuses: dict[tuple[str, str], list[dict[str, Any]]] = {
        (p["key"], e["key"]): [] for p in b.projects for e in p["environments"]
    }
    replays = []
    for f in b.flags:
        replay = _Replay(b, f)
        replay.run()
        events.extend(replay.events)
        replays.append(replay)
    for replay in sorted(replays, key=lambda r: (-r.f.created, r.f.key)):
        project = replay.f.project["key"]
        flags[project].append(replay.flag_rep())
        for env in b.envs(replay.f):
            statuses[(project, env)].append(replay.status_rep(env))
    events.sort(key=_event_order)
    return DemoAccount(
        seed=seed,
        now_ms=now,
        projects=b.projects,
        flags=flags,
        statuses=statuses,
        events=events,
        members=members,
    )
