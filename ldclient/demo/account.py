"""The generated account as LaunchDarkly would serve it, and synthetic extra events for load tests."""

from __future__ import annotations

import json
import random
import threading
from bisect import insort
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..vocabulary import impact_size
from .catalog import _PEOPLE, EMAIL_DOMAIN, _ascii, _event_order, _object_id, _uuid

if TYPE_CHECKING:
    from .cleanup import CleanupData

# --- the account -------------------------------------------------------------------------------------


@dataclass
class DemoAccount:
    """A whole demo LaunchDarkly account. Treat the dicts as read-only: events share member objects."""

    seed: int
    now_ms: int
    projects: list[dict[str, Any]]
    flags: dict[str, list[dict[str, Any]]]
    statuses: dict[tuple[str, str], list[dict[str, Any]]]
    events: list[dict[str, Any]]
    members: list[dict[str, Any]]
    revision: int = 0
    added: list[list[dict[str, Any]]] = field(default_factory=list, repr=False, compare=False)
    _lock: threading.RLock = field(default_factory=threading.RLock, repr=False, compare=False)
    _ids: set[str] | None = field(default=None, repr=False, compare=False)
    _applications: list[dict[str, Any]] | None = field(default=None, repr=False, compare=False)
    _cleanup: CleanupData | None = field(default=None, repr=False, compare=False)

    def applications(self) -> list[dict[str, Any]]:
        """The account's applications (``ApplicationRep`` with ``expand=flags``), derived from the flags with a
        random generator of their own: they change nothing else of the account (``to_json`` leaves them out)."""
        with self._lock:
            if self._applications is None:
                from .applications import build_applications

                self._applications = build_applications(self.seed, self.now_ms, self.flags)
            return self._applications

    def cleanup(self) -> CleanupData:
        """Teams, owners, full targeting and code references (a ``demo.cleanup.CleanupData``), derived from
        the generated account with a random generator of their own: ``flags`` here is what the flags routes
        serve; the generated ``self.flags``, events and statuses are unchanged (``to_json`` leaves it out)."""
        with self._lock:
            if self._cleanup is None:
                from .cleanup import build_cleanup

                self._cleanup = build_cleanup(
                    self.seed, self.now_ms, self.projects, self.flags, self.statuses, self.members
                )
            return self._cleanup

    def project(self, key: str) -> dict[str, Any] | None:
        return next((p for p in self.projects if p["key"] == key), None)

    def environment(self, project_key: str, env_key: str) -> dict[str, Any] | None:
        project = self.project(project_key)
        if project is None:
            return None
        return next((e for e in project["environments"] if e["key"] == env_key), None)

    def add_events(self, items: Iterable[Mapping[str, Any]]) -> int:
        """Append new activity (tests and benchmarks simulate a live account). The server picks the batch
        up incrementally through ``added``/``revision``; unknown projects/environments and duplicate ids
        are refused so paging stays exact."""
        batch = [dict(item) for item in items]
        with self._lock:
            if self._ids is None:
                self._ids = {e["id"] for e in self.events}
            fresh: set[str] = set()
            for item in batch:
                event_id, project_key = item.get("id"), item.get("projectKey")
                if not isinstance(event_id, str) or not isinstance(item.get("eventTime"), int):
                    raise ValueError("each event needs a string id and an integer eventTime")
                if event_id in self._ids or event_id in fresh:
                    raise ValueError(f"duplicate event id {event_id}")
                if not isinstance(project_key, str) or self.project(project_key) is None:
                    raise ValueError(f"unknown project {project_key!r}")
                env_key = item.get("environmentKey")
                if env_key is not None and self.environment(project_key, env_key) is None:
                    raise ValueError(f"unknown environment {project_key}/{env_key}")
                fresh.add(event_id)
            if not batch:
                return 0
            self._ids |= fresh
            order = _event_order
            if len(batch) <= 256:  # a trickle of live activity: keep the list sorted without re-sorting it
                for item in batch:
                    insort(self.events, item, key=order)
            else:
                self.events.extend(batch)
                self.events.sort(key=order)
            self.added.append(batch)
            self.revision += 1
        return len(batch)

    def make_events(
        self, count: int, project_key: str, env_key: str, start_ms: int, end_ms: int, seed: int = 0
    ) -> list[dict[str, Any]]:
        """Synthetic extra events for this account's project/env (not yet added: pass to add_events)."""
        env = self.environment(project_key, env_key)
        project = self.project(project_key)
        if env is None or project is None:
            raise KeyError(f"unknown environment {project_key}/{env_key}")
        keys = [f["key"] for f in self.flags.get(project_key, []) if not f["archived"]]
        return make_events(
            count,
            project_key,
            env_key,
            start_ms,
            end_ms,
            seed,
            project_id=project["_id"],
            environment_id=env["_id"],
            flag_keys=keys or None,
        )

    def to_json(self) -> str:
        """The whole account as JSON text, key order included: equal text means equal accounts."""
        doc = {
            "seed": self.seed,
            "now_ms": self.now_ms,
            "projects": self.projects,
            "flags": self.flags,
            "statuses": {f"{p}/{e}": items for (p, e), items in self.statuses.items()},
            "events": self.events,
            "members": self.members,
        }
        return json.dumps(doc, separators=(",", ":"), ensure_ascii=False)

    def summary(self) -> dict[str, Any]:
        return {
            "projects": len(self.projects),
            "environments": sum(len(p["environments"]) for p in self.projects),
            "flags": sum(len(v) for v in self.flags.values()),
            "events": len(self.events),
            "members": len(self.members),
        }


# --- synthetic extra events --------------------------------------------------------------------------


def make_events(
    count: int,
    project_key: str,
    env_key: str,
    start_ms: int,
    end_ms: int,
    seed: int = 0,
    *,
    project_id: str | None = None,
    environment_id: str | None = None,
    flag_keys: list[str] | None = None,
) -> list[dict[str, Any]]:
    """``count`` valid FlagEventReps in ``[start_ms, end_ms)`` for one project/env, cheaply (benchmarks
    ask for 50,000 at once). Boolean flags only; impact is consistent with the before/after counts."""
    if count < 0 or end_ms <= start_ms:
        raise ValueError("need count >= 0 and end_ms > start_ms")
    rng = random.Random(f"make-events:{seed}:{project_key}:{env_key}")
    keys = flag_keys or [f"bench-flag-{i:04d}" for i in range(400)]
    project_id = project_id or _object_id(rng)
    environment_id = environment_id or _object_id(rng)
    people = [_member_rep(i, p) for i, p in enumerate(_PEOPLE)]
    kinds = (
        ("updateTargets", "Added {n} individual targets to 'true'", 0.0),
        ("updateRules", "Updated rule {n} clauses", 0.08),
        ("updateFallthrough", "Updated fallthrough to {p}% rollout", 0.4),
        ("updateOn", "Turned flag off", 1.0),
    )
    out: list[dict[str, Any]] = []
    rand, bits = rng.random, rng.getrandbits
    span, n_keys, n_people = end_ms - start_ms, len(keys), len(people)
    for _ in range(count):
        action, text, scale = kinds[min(3, int(rand() * rand() * 4.6))]
        p_before = rand()
        shift = scale * rand()
        p_after = min(1.0, max(0.0, p_before + (shift if rand() < 0.5 else -shift)))
        if action == "updateOn":
            p_after = 0.0
        total = 200 + int(rand() * 20_000)
        b_on = int(total * p_before + 0.5)
        before = (b_on, total - b_on)
        if p_after == p_before:
            after = before
        else:
            total_after = int(total * (0.9 + 0.2 * rand()))
            a_on = int(total_after * p_after + 0.5)
            after = (a_on, total_after - a_on)
        # two variations: the total variation distance is the change in the first one's share
        pct = round(100.0 * abs(before[0] * sum(after) - after[0] * total) / (total * sum(after)), 2)
        out.append(
            {
                "id": _uuid(rng),
                "projectId": project_id,
                "projectKey": project_key,
                "environmentId": environment_id,
                "environmentKey": env_key,
                "flagKey": keys[int(rand() * n_keys)],
                "eventType": "flag-updated",
                "eventTime": start_ms + int(rand() * span),
                "description": text.format(n=1 + int(rand() * 9), p=int(p_after * 100)),
                "auditLogEntryId": f"{bits(96):024x}",
                "member": people[int(rand() * n_people)],
                "actions": [action],
                "impact": {
                    "size": impact_size(pct),
                    "percentage": pct,
                    "reason": "evaluations",
                    "evaluationsSummary": {
                        "variations": [
                            {"value": True, "before": before[0], "after": after[0]},
                            {"value": False, "before": before[1], "after": after[1]},
                        ]
                    },
                },
                "experiments": {"totalCount": 0, "items": []},
            }
        )
    out.sort(key=_event_order)
    return out


def _member_rep(index: int, person: tuple[str, str, str, str, str]) -> dict[str, str]:
    first, last = person[0], person[1]
    return {
        "id": f"{0x5E0000 + index:06x}{'a1b2c3d4e5f6a7b8c9'}",
        "email": _email(first, last),
        "firstName": first,
        "lastName": last,
    }


def _email(first: str, last: str) -> str:
    return f"{_ascii(first).lower()}.{_ascii(last).lower()}@{EMAIL_DOMAIN}"
