"""Wide synthetic accounts: many projects x environments with no flags, for the benchmarks and the
tests of fetching many keys at once (a real account has hundreds of projects, most of them quiet)."""

from __future__ import annotations

from typing import Any

from .account import DemoAccount
from .catalog import _ENVIRONMENTS

ENVIRONMENT_KEYS = tuple(_ENVIRONMENTS)  # production, prod-eu, staging, test


def project_key(i: int) -> str:
    return f"bench-p{i:03d}"


def wide_account(n_projects: int, env_keys: tuple[str, ...], now_ms: int) -> DemoAccount:
    """``n_projects`` projects (``bench-p000``...), each with ``env_keys``, in LaunchDarkly's ``Project``
    shape, and no events yet: add them with ``make_events`` and ``DemoAccount.add_events``. Environment
    and project ids are fixed by position, so two builds serve the same account."""
    projects: list[dict[str, Any]] = []
    for i in range(n_projects):
        key, project_id = project_key(i), f"{i + 1:024x}"
        envs = []
        for j, env_key in enumerate(env_keys):
            name, color, critical, tags = _ENVIRONMENTS[env_key]
            envs.append(
                {
                    "_links": {
                        "self": {
                            "href": f"/api/v2/projects/{key}/environments/{env_key}",
                            "type": "application/json",
                        }
                    },
                    "_id": f"{i + 1:012x}{j + 1:012x}",
                    "key": env_key,
                    "name": name,
                    "color": color,
                    "tags": list(tags),
                    "critical": critical,
                }
            )
        projects.append(
            {
                "_links": {"self": {"href": f"/api/v2/projects/{key}", "type": "application/json"}},
                "_id": project_id,
                "key": key,
                "name": f"Bench project {i:03d}",
                "tags": [],
                "environments": envs,
            }
        )
    return DemoAccount(
        seed=0,
        now_ms=now_ms,
        projects=projects,
        flags={p["key"]: [] for p in projects},
        statuses={},
        events=[],
        members=[],
    )


def ids_of(environment: dict[str, Any], project: dict[str, Any]) -> dict[str, str]:
    """The ``project_id``/``environment_id`` keywords ``make_events`` needs for events of this key."""
    return {"project_id": project["_id"], "environment_id": environment["_id"]}
