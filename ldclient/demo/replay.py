"""Replays the generator's change specs as a state machine and turns each into a ``FlagEventRep``."""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Any

from ..vocabulary import DAY_MS, HOUR_MS, MINUTE_MS, impact_size
from .catalog import (
    _BOTS,
    _CLAUSES,
    _EXTRA_TAGS,
    _RENAME_SUFFIXES,
    _SEGMENTS,
    SERVING_ACTIONS,
    ChangeSpec,
    _humanize,
    _link,
    _object_id,
    _pct_text,
    _uuid,
    iso_ms,
)

if TYPE_CHECKING:
    from .generator import _Builder, _Flag


# --- replay: state machine that turns specs into FlagEventReps -----------------------------------------


class _Replay:
    """Applies one flag's specs in time order, so every before/after distribution follows from the last."""

    def __init__(self, b: _Builder, f: _Flag) -> None:
        self.b, self.f = b, f
        self.rng = random.Random(f"demo-account:{b.seed}:replay:{f.project['key']}:{f.key}")
        n = len(f.values)
        self.state: dict[str, list[Any]] = {}
        for env in b.envs(f):
            dist = [0.0] * n
            dist[0 if f.boolean else (1 if n > 2 and f.archetype == "config" else 0)] = 1.0
            # [on, dist, off variation, rules, targets, version, last serving change, last event]
            self.state[env] = [False, dist, f.off_var, 0, 0, 1, f.created, f.created]
        self.prev: dict[str, tuple[bool, list[float], int]] = {}
        self.prev_actions: dict[str, list[str]] = {}
        self.idle_toggle: set[str] = set()
        self.events: list[dict[str, Any]] = []
        self.name = f.name
        self.version = 1
        self.last_any = f.created
        self.env_ids = {e["key"]: e["_id"] for e in f.project["environments"]}
        self.exp_reps = [self.exp_rep(x) for x in f.experiments]

    def exp_rep(self, x: dict[str, Any]) -> dict[str, Any]:
        project = self.f.project["key"]
        iteration: dict[str, Any] = {
            "id": x["iteration"],
            "status": "stopped" if x["endedAt"] else "running",
            "startedAt": x["startedAt"],
        }
        if x["endedAt"]:
            iteration["endedAt"] = x["endedAt"]
        iteration["_links"] = {}
        return {
            "key": x["key"],
            "name": x["name"],
            "iteration": iteration,
            "_links": {
                "self": _link(f"/api/v2/projects/{project}/environments/{x['env']}/experiments/{x['key']}")
            },
        }

    def eff(self, st: list[Any]) -> list[float]:
        if st[0]:
            return st[1]
        one = [0.0] * len(self.f.values)
        one[st[2]] = 1.0
        return one

    def traffic(self, env: str, t: int) -> int:
        f = self.f
        if t < f.deployed.get(env, 1 << 62) or (f.retired is not None and t >= f.retired):
            return 0
        return f.traffic[env]

    def describe(self, dist: list[float]) -> str:
        names = self.f.var_names
        live = [(p, i) for i, p in enumerate(dist) if p > 0]
        if len(live) == 1:
            return f"serve '{self._value_text(live[0][1])}'"
        if self.f.boolean:
            return f"{_pct_text(dist[0])} rollout"
        return "rollout " + " / ".join(f"{_pct_text(p)} {names[i]}" for p, i in live)

    def _value_text(self, i: int) -> str:
        value = self.f.values[i]
        if isinstance(value, bool):
            return "true" if value else "false"
        return value if isinstance(value, str) else self.f.var_names[i]

    def run(self) -> None:
        f, b = self.f, self.b
        specs = sorted(s for s in f.specs if s.time < b.now)
        last_at: dict[str, int] = {}
        prev_gap: list[int] = [1 << 62] * len(specs)
        next_gap: list[int] = [1 << 62] * len(specs)
        for i, s in enumerate(specs):
            env = s.env
            if env is None:
                continue
            if env in last_at:
                j = last_at[env]
                prev_gap[i] = s.time - specs[j].time
                next_gap[j] = s.time - specs[j].time
            last_at[env] = i
        for i, s in enumerate(specs):
            isolated = prev_gap[i] > 25 * HOUR_MS and next_gap[i] > 25 * HOUR_MS
            if s.env is None:
                self.global_event(s)
            else:
                self.env_event(s, isolated)

    # global ------------------------------------------------------------------------------------------

    def global_event(self, s: ChangeSpec) -> None:
        t, _, _, kind, _, member, _ = s
        f, rng = self.f, self.rng
        if kind == "create":
            event_type, actions, text = "flag-created", ["createFlag"], f"Created flag '{self.name}'"
        elif kind == "archive":
            event_type, actions, text = "flag-archived", ["updateGlobalArchived"], "Archived flag"
        elif kind == "deprecate":
            event_type, actions, text = "flag-deprecated", ["updateDeprecated"], "Marked flag as deprecated"
        elif kind == "rename":
            base = _humanize(f.key)
            new = f"{base} {rng.choice(_RENAME_SUFFIXES)}"
            if new == self.name:
                new = base
            event_type, actions = "flag-updated", ["updateName"]
            text = f"Renamed flag from '{self.name}' to '{new}'"
            self.name = new
        elif kind == "tags":
            tag = rng.choice(_EXTRA_TAGS)
            if tag in f.tags and rng.random() < 0.5:
                text = f"Removed tag '{tag}'"
                f.tags = [x for x in f.tags if x != tag]
            else:
                text = f"Added tag '{tag}'"
                f.tags = sorted({*f.tags, tag})
            event_type, actions = "flag-updated", ["updateTags"]
        elif kind == "variations":
            i = rng.randrange(len(f.values))
            event_type, actions, text = (
                "flag-updated",
                ["updateFlagVariations"],
                f"Updated name and description of variation '{f.var_names[i]}'",
            )
        else:
            event_type, actions, text = "flag-updated", ["updateDescription"], "Updated flag description"
        self.version += 1
        self.last_any = t
        if t >= self.b.window_start:
            impact = {
                "size": "none",
                "percentage": 0.0,
                "reason": "global",
                "evaluationsSummary": {"variations": []},
            }
            self.emit(t, None, event_type, text, member, actions, impact, [])

    # per environment ---------------------------------------------------------------------------------

    def env_event(self, s: ChangeSpec, isolated: bool) -> None:
        t, _, env, kind, arg, member, origin = s
        assert env is not None, "a global change is replayed by global_event"
        arg = arg or {}
        f, rng = self.f, self.rng
        st = self.state[env]
        if origin == "churn" and kind in ("off", "on"):
            # a toggle pair only makes sense on a flag that is on and serving something else than its off
            # variation; otherwise it is ordinary targeting work
            if kind == "off" and (not st[0] or st[1][st[2]] > 0.85):
                self.idle_toggle.add(env)
                kind = "targets"
            elif kind == "on" and env in self.idle_toggle:
                self.idle_toggle.discard(env)
                kind = "targets"
        before_eff = self.eff(st)
        snapshot = (st[0], st[1], st[2])
        n = len(f.values)
        if kind == "on":
            st[0] = True
            if arg.get("dist") is not None:
                st[1] = list(arg["dist"])
            if arg.get("note") == "experiment":
                actions = ["updateOn", "updateFallthrough"]
                text = f"Turned flag on and started experiment with {self.describe(st[1])}"
            elif arg.get("dist") is not None and sum(1 for p in st[1] if p > 0) > 1:
                actions = ["updateOn", "updateFallthrough"]
                text = f"Turned flag on with {self.describe(st[1])}"
            else:
                actions, text = ["updateOn"], "Turned flag on"
            if arg.get("auto"):
                text = f"Scheduled change applied: {text[0].lower()}{text[1:]}"
        elif kind == "off":
            st[0] = False
            actions, text = ["updateOn"], "Turned flag off"
            if arg.get("auto"):
                text = "Scheduled change applied: turned flag off"
        elif kind == "dist":
            st[1] = list(arg["dist"])
            actions = ["updateFallthrough"]
            if arg.get("note") == "winner":
                text = f"Stopped experiment and shipped winner: fallthrough now {self.describe(st[1])}"
            else:
                text = f"Updated fallthrough to {self.describe(st[1])}"
        elif kind == "revert":
            restored = self.prev.get(env, snapshot)
            actions = list(self.prev_actions.get(env, ["updateFallthrough"]))
            if restored[0] != st[0]:
                text = f"Rolled back: turned flag {'on' if restored[0] else 'off'}"
            else:
                text = f"Rolled back fallthrough to {self.describe(restored[1])}"
            st[0], st[1], st[2] = restored[0], list(restored[1]), restored[2]
        elif kind == "targets":
            actions = ["updateTargets"]
            count = rng.randint(1, 40)
            var = self._value_text(rng.randrange(n))
            if arg.get("auto"):
                bot = rng.choice(_BOTS)
                text = f"Synced {count} targets to '{var}' from CRM segment (via API token '{bot}')"
            elif rng.random() < 0.6:
                text = f"Added {count} individual targets to '{var}'"
            else:
                text = f"Removed {count} individual targets from '{var}'"
            st[4] = max(0, st[4] + (count if "Removed" not in text else -count))
            if isolated and st[0] and f.archetype != "ops" and rng.random() < 0.25:
                self.nudge(st, rng.uniform(0.002, 0.03))
        elif kind == "rules":
            actions = ["updateRules"]
            seg = rng.choice(_SEGMENTS)
            if arg.get("note") == "internal":
                text = "Added rule: serve 'true' to segment 'internal-employees'"
                st[3] += 1
            elif isolated and st[0] and f.archetype != "ops":
                attr, op, vals = rng.choice(_CLAUSES)
                if rng.random() < 0.5 or st[3] == 0:
                    text = f"Added rule {st[3] + 1}: {attr} {op} {vals}"
                    st[3] += 1
                else:
                    text = f"Updated rule {rng.randint(1, st[3])}: {attr} {op} {vals}"
                self.nudge(st, rng.uniform(0.01, 0.3))
            else:
                choice = rng.random()
                if choice < 0.4:
                    text = f"Added rule for segment '{seg}'"
                    st[3] += 1
                elif choice < 0.7 and st[3] > 1:
                    text = "Reordered targeting rules"
                else:
                    text = f"Updated description of rule {max(1, st[3])}"
        elif kind == "fallthrough":
            actions = ["updateFallthrough"]
            if isolated and st[0] and f.archetype != "ops":
                if f.boolean:
                    shares = (0.0, 0.05, 0.1, 0.2, 0.25, 0.33, 0.5, 0.75, 0.9, 1.0)
                    options = [p for p in shares if p != st[1][0]]
                    p = rng.choice(options)
                    st[1] = [p, round(1 - p, 3)]
                else:
                    dist = [0.0] * n
                    dist[rng.randrange(n)] = 1.0
                    if rng.random() < 0.4:
                        dist = [round(1 / n, 4)] * n
                    st[1] = dist
                text = f"Updated fallthrough to {self.describe(st[1])}"
            else:
                text = "Updated fallthrough bucketing attribute to 'key'"
        elif kind == "offvar":
            actions = ["updateOffVariation"]
            new = rng.randrange(n)
            if (not st[0] and not isolated) or new == st[2]:
                new = st[2]
            st[2] = new
            text = f"Changed off variation to '{self._value_text(new)}'"
        else:  # prereq
            actions = ["updatePrerequisites"]
            others = self.b.keys_by_project[f.project["key"]]
            other = rng.choice(others)
            text = f"Added prerequisite '{other}'" if other != f.key else "Removed prerequisites"
        after_eff = self.eff(st)
        self.prev[env] = snapshot
        self.prev_actions[env] = actions
        st[5] += 1
        st[7] = t
        if not SERVING_ACTIONS.isdisjoint(actions):
            st[6] = t
        self.version += 1
        if t < self.b.window_start:
            return
        total = self.traffic(env, t)
        impact = self.impact(total, before_eff, after_eff)
        experiments = (
            [
                rep
                for x, rep in zip(f.experiments, self.exp_reps, strict=True)
                if x["env"] == env and x["startedAt"] <= t <= (x["endedAt"] or self.b.now)
            ]
            if self.exp_reps
            else []
        )
        self.emit(t, env, "flag-updated", text, member, actions, impact, experiments)

    def nudge(self, st: list[Any], amount: float) -> None:
        """Move ``amount`` of the serving distribution between two variations (a rule or target change)."""
        rng = self.rng
        dist = st[1]
        n = len(dist)
        src = max(range(n), key=lambda i: (dist[i], -i)) if rng.random() < 0.5 else rng.randrange(n)
        dst = rng.choice([i for i in range(n) if i != src])
        moved = min(amount, dist[src])
        if moved <= 0:
            src, dst = dst, src
            moved = min(amount, dist[src])
        new = list(dist)
        new[src] = round(new[src] - moved, 4)
        new[dst] = round(new[dst] + moved, 4)
        st[1] = new

    def impact(self, traffic: int, before: list[float], after: list[float]) -> dict[str, Any]:
        rng = self.rng
        values = self.f.values
        if traffic <= 0:
            rows = [{"value": v, "before": 0, "after": 0} for v in values]
            return {
                "size": "none",
                "percentage": 0.0,
                "reason": "no-evaluations",
                "evaluationsSummary": {"variations": rows},
            }
        rand = rng.random
        total_b = traffic * (0.85 + 0.3 * rand())
        b_counts = [int(total_b * p * (0.98 + 0.04 * rand()) + 0.5) if p > 0 else 0 for p in before]
        if before == after and sum(1 for p in before if p > 0) > 1:
            a_counts = list(b_counts)  # nothing moved: the same split, so exactly 0%
        else:
            total_a = traffic * (0.85 + 0.3 * rand())
            a_counts = [int(total_a * p * (0.98 + 0.04 * rand()) + 0.5) if p > 0 else 0 for p in after]
        sb, sa = sum(b_counts), sum(a_counts)
        if sb == 0 or sa == 0:
            b_counts = [max(1, c) if p > 0 else 0 for c, p in zip(b_counts, before, strict=True)]
            a_counts = [max(1, c) if p > 0 else 0 for c, p in zip(a_counts, after, strict=True)]
            sb, sa = sum(b_counts), sum(a_counts)
        moved = sum(abs(x * sa - y * sb) for x, y in zip(b_counts, a_counts, strict=True))
        pct = round(50.0 * moved / (sa * sb), 2)
        rows = [
            {"value": v, "before": x, "after": y} for v, x, y in zip(values, b_counts, a_counts, strict=True)
        ]
        return {
            "size": impact_size(pct),
            "percentage": pct,
            "reason": "evaluations",
            "evaluationsSummary": {"variations": rows},
        }

    def emit(
        self,
        t: int,
        env: str | None,
        event_type: str,
        text: str,
        member: int,
        actions: list[str],
        impact: dict[str, Any],
        experiments: list[dict[str, Any]],
    ) -> None:
        ids, f = self.b.ids, self.f
        event: dict[str, Any] = {
            "id": _uuid(ids),
            "projectId": f.project["_id"],
            "projectKey": f.project["key"],
        }
        if env is not None:
            event["environmentId"] = self.env_ids[env]
            event["environmentKey"] = env
        event["flagKey"] = f.key
        event["eventType"] = event_type
        event["eventTime"] = t
        event["description"] = text
        event["auditLogEntryId"] = _object_id(ids)
        if member >= 0:
            event["member"] = self.b.member_reps[member]
        event["actions"] = actions
        event["impact"] = impact
        event["experiments"] = {"totalCount": len(experiments), "items": list(experiments)}
        self.events.append(event)

    # final representations -------------------------------------------------------------------------

    def flag_rep(self) -> dict[str, Any]:
        f, b = self.f, self.b
        project = f.project["key"]
        maint = b.member_reps[f.maintainer]
        archived = f.archived_at is not None
        envs: dict[str, Any] = {}
        for env in b.envs(f):
            st = self.state[env]
            env_name = next(e["name"] for e in f.project["environments"] if e["key"] == env)
            summary: dict[str, Any] = {}
            live = [i for i, p in enumerate(st[1]) if p > 0]
            for i in range(len(f.values)):
                row: dict[str, Any] = {
                    "rules": st[3] if i == 0 else 0,
                    "nullRules": 0,
                    "targets": st[4] if i == 0 else 0,
                    "contextTargets": 0,
                }
                if len(live) == 1 and live[0] == i:
                    row["isFallthrough"] = True
                elif len(live) > 1 and st[1][i] > 0:
                    row["rollout"] = int(round(st[1][i] * 100_000))
                if st[2] == i:
                    row["isOff"] = True
                summary[str(i)] = row
            fallthrough: dict[str, Any] = (
                {"variation": live[0]}
                if len(live) == 1
                else {
                    "rollout": {
                        "variations": [
                            {"variation": i, "weight": int(round(p * 100_000))} for i, p in enumerate(st[1])
                        ]
                    }
                }
            )
            envs[env] = {
                "on": st[0],
                "archived": archived,
                "salt": f"{self.rng.getrandbits(64):016x}",
                "sel": f"{self.rng.getrandbits(128):032x}",
                "lastModified": st[7],
                "version": st[5],
                "fallthrough": fallthrough,
                "offVariation": st[2],
                "_site": _link(f"/{project}/{env}/features/{f.key}", "text/html"),
                "_environmentName": env_name,
                "trackEvents": False,
                "trackEventsFallthrough": False,
                "_summary": {"variations": summary, "prerequisites": 0},
            }
        variations = [
            {"_id": _uuid(self.rng), "value": v, "name": name}
            for v, name in zip(f.values, f.var_names, strict=True)
        ]
        rep: dict[str, Any] = {
            "name": self.name,
            "kind": "boolean" if f.boolean else "multivariate",
            "description": f.description,
            "key": f.key,
            "_version": self.version,
            "creationDate": f.created,
            "includeInSnippet": False,
            "clientSideAvailability": {
                "usingMobileKey": project == "mobile-app",
                "usingEnvironmentId": project == "web-storefront",
            },
            "variations": variations,
            "temporary": f.temporary,
            "tags": list(f.tags),
            "_links": {
                "parent": _link(f"/api/v2/flags/{project}"),
                "self": _link(f"/api/v2/flags/{project}/{f.key}"),
            },
            "maintainerId": maint["id"],
            "_maintainer": {
                "_links": {"self": _link(f"/api/v2/members/{maint['id']}")},
                "_id": maint["id"],
                "firstName": maint["firstName"],
                "lastName": maint["lastName"],
                "role": b.people[f.maintainer][4],
                "email": maint["email"],
            },
            "experiments": {"baselineIdx": 0, "items": []},
            "customProperties": {},
            "archived": archived,
            "deprecated": f.deprecated_at is not None and f.deprecated_at < b.now,
            "defaults": {"onVariation": 0, "offVariation": f.off_var},
            "environments": envs,
        }
        if archived:
            rep["archivedDate"] = f.archived_at
        if rep["deprecated"]:
            rep["deprecatedDate"] = f.deprecated_at
        return rep

    def status_rep(self, env: str) -> dict[str, Any]:
        """LaunchDarkly's flag status: new (recent, never requested), inactive (no requests for 7 days),
        launched (one variation for everyone, unchanged for 7 days), active (everything else)."""
        f, b = self.f, self.b
        st = self.state[env]
        project = f.project["key"]
        now = b.now
        deployed = f.deployed.get(env, 1 << 62)
        requested = self.traffic(env, now - 1) > 0
        if not requested:
            last = f.retired if f.retired is not None and deployed < f.retired and deployed < now else None
            name = "new" if last is None and now - f.created < 7 * DAY_MS else "inactive"
            last_requested = iso_ms(last - self.rng.randrange(1, HOUR_MS)) if last is not None else None
        else:
            single = sum(1 for p in self.eff(st) if p > 0) == 1
            name = "launched" if single and now - st[6] > 7 * DAY_MS else "active"
            last_requested = iso_ms(now - self.rng.randrange(1_000, 10 * MINUTE_MS))
        rep: dict[str, Any] = {"name": name}
        # lastRequested is a string in LaunchDarkly's spec: left out when never requested, never null
        if last_requested is not None:
            rep["lastRequested"] = last_requested
            rep["default"] = f.values[f.off_var]
        rep["_links"] = {
            "parent": _link(f"/api/v2/flags/{project}/{f.key}"),
            "self": _link(f"/api/v2/flag-statuses/{project}/{env}/{f.key}"),
        }
        return rep
