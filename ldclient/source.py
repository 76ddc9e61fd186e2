"""A data source: the client, the store and what identifies them, for the pages and the CLI alike.

With no token it is the embedded demo account, served in-process through an httpx transport,
so the demo exercises the same client, store and metrics as a real account.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from .api.client import LDClient
from .api.models import Environment, Project
from .applications import Application, parse_applications
from .errors import LDError
from .settings import Settings
from .store import EventStore, StoreKey, open_store
from .sync import Progress, RefreshPlan, RefreshReport, now_ms, refresh, refresh_keys

log = logging.getLogger("ldclient")

DEMO_SEED = 7
DEMO_TOKEN = "demo-token"  # the demo accepts any token; this one is not a secret
DEMO_BASE_URL = "https://app.launchdarkly.com"  # demo links point at LaunchDarkly's real UI


@functools.lru_cache(maxsize=2)
def _generated_account(seed: int, now: int) -> Any:
    from .demo import generate_account

    return generate_account(seed=seed, now_ms=now)


_DEMO_LOCK = threading.Lock()


def demo_account(seed: int, now: int) -> Any:
    """The demo account for (seed, anchor), generated once per process: a second caller (a session while
    the server's start-up generates it) waits for the first instead of generating it again."""
    with _DEMO_LOCK:
        return _generated_account(seed, now)


def demo_transport(seed: int = DEMO_SEED, now: int | None = None, faults: Any = None) -> Any:
    from .demo import DemoTransport, default_now_ms

    return DemoTransport(demo_account(seed, now or default_now_ms()), faults)


@dataclass
class DataSource:
    settings: Settings
    client: LDClient
    store: EventStore
    source_id: str
    demo: bool

    @property
    def label(self) -> str:
        return "Demo account (embedded)" if self.demo else self.client.base_url

    @property
    def ui_base_url(self) -> str:
        return DEMO_BASE_URL if self.demo else self.client.base_url

    def flag_url(self, project: str, env: str | None, flag: str) -> str:
        from urllib.parse import quote

        url = f"{self.ui_base_url}/projects/{quote(project, safe='')}/flags/{quote(flag, safe='')}"
        return url + (
            f"/targeting?env={quote(env, safe='')}&selected-env={quote(env, safe='')}" if env else ""
        )

    def key(self, project: str, env: str) -> StoreKey:
        return StoreKey(self.source_id, project, env)

    def _resource(self, kind: str, scope: str, fetch: Callable[[], Any], max_age_s: float) -> Any:
        """Flags, statuses and projects change: cached with a TTL, the stale copy used if the API fails.

        Single flight, as for flag events: when the TTL runs out, one session (or process) refetches
        while the others wait for its claim and then read what it stored.
        """
        cached = self.store.get_resource(self.source_id, kind, scope, max_age_s)
        if cached is not None:
            return cached
        with self.store.claim(StoreKey(self.source_id, f"resource:{kind}", scope)):
            return self._refetch_resource(kind, scope, fetch, max_age_s)

    def _refetch_resource(self, kind: str, scope: str, fetch: Callable[[], Any], max_age_s: float) -> Any:
        cached = self.store.get_resource(self.source_id, kind, scope, max_age_s)
        if cached is not None:  # fetched by whoever held the claim before us
            return cached
        try:
            fresh = fetch()
        except LDError:
            stale = self.store.get_resource(self.source_id, kind, scope, float("inf"))
            if stale is None:
                raise
            log.warning("using the cached %s for %s: the API failed", kind, scope)
            return stale
        self.store.put_resource(self.source_id, kind, scope, fresh)
        return fresh

    def stored_resource(self, kind: str, scope: str) -> list[dict[str, Any]]:
        """What the store holds of a resource, however old, without fetching: for readers that must not
        touch the network (the dashboard's cached functions run after the fetch)."""
        cached = self.store.get_resource(self.source_id, kind, scope, float("inf"))
        return list(cached) if isinstance(cached, list) else []

    def projects(self) -> list[Project]:
        raw = self._resource(
            "projects",
            "*",
            lambda: [_project_json(p) for p in self.client.projects()],
            self.settings.flags_ttl_s,
        )
        return [Project.from_api(p) for p in raw]

    def environments(self, project: str) -> list[Environment]:
        for p in self.projects():
            if p.key == project:
                return list(p.environments)
        return []

    def flags(self, project: str) -> list[dict[str, Any]]:
        return self._resource("flags", project, lambda: self.client.flags(project), self.settings.flags_ttl_s)

    def archived_flags(self, project: str) -> list[dict[str, Any]]:
        """The project's archived flags (the flags list leaves them out): they date the Archived stages."""
        return self._resource(
            "archived-flags",
            project,
            lambda: self.client.flags(project, archived=True),
            self.settings.flags_ttl_s,
        )

    def applications(self) -> list[Application]:
        """The account's applications with the flags each evaluates, store-cached like the flags."""
        raw = self._resource("applications", "*", self.client.applications, self.settings.flags_ttl_s)
        return parse_applications(raw if isinstance(raw, list) else [])

    def stored_applications(self) -> list[Application]:
        """What the store holds of the applications, without fetching (for readers that must not fetch)."""
        cached = self.store.get_resource(self.source_id, "applications", "*", float("inf"))
        return parse_applications(cached if isinstance(cached, list) else [])

    def statuses(self, project: str, env: str) -> list[dict[str, Any]]:
        return self._resource(
            "flag-statuses",
            f"{project}/{env}",
            lambda: self.client.flag_statuses(project, env),
            self.settings.flags_ttl_s,
        )

    def flag_configs(self, project: str, env: str) -> list[dict[str, Any]]:
        """The flags with ``env``'s full targeting (``summary=0&env=``), for lifecycle stages and values to keep."""
        return self._resource(
            "flag-configs",
            f"{project}/{env}",
            lambda: self.client.flag_configs(project, env),
            self.settings.flags_ttl_s,
        )

    def code_refs(self, project: str) -> dict[str, Any]:
        """``StatisticCollectionRep`` of the project's code references."""
        body = self._resource(
            "code-refs", project, lambda: self.client.code_ref_statistics(project), self.settings.flags_ttl_s
        )
        return body if isinstance(body, dict) else {}

    def members(self) -> list[dict[str, Any]]:
        return self._resource("members", "*", self.client.members, self.settings.flags_ttl_s)

    def teams(self) -> list[dict[str, Any]]:
        return self._resource("teams", "*", self.client.teams, self.settings.flags_ttl_s)

    def refresh(
        self,
        project: str,
        env: str,
        from_ms: int,
        to_ms: int,
        *,
        force: bool = False,
        max_staleness_ms: int = 0,
        progress: Progress | None = None,
    ) -> RefreshReport:
        return refresh(
            self.client,
            self.store,
            self.key(project, env),
            from_ms,
            to_ms,
            force=force,
            max_staleness_ms=max_staleness_ms,
            progress=progress,
        )

    def refresh_many(
        self, keys: Sequence[tuple[str, str]], from_ms: int, to_ms: int, *, max_staleness_ms: int = 0
    ) -> list[RefreshReport]:
        """``refresh`` of several (project, environment) keys side by side (``sync.refresh_keys``)."""
        plan = RefreshPlan(from_ms, to_ms, max_staleness_ms=max_staleness_ms)
        return refresh_keys(self.client, self.store, [self.key(p, e) for p, e in keys], plan)


def _project_json(p: Project) -> dict[str, Any]:
    return {
        "key": p.key,
        "name": p.name,
        "_id": p.id,
        "environments": [
            {"key": e.key, "name": e.name, "critical": e.critical, "_id": e.id, "color": e.color}
            for e in p.environments
        ],
    }


def source_label(source_id: str) -> str:
    """What a store key's source is, for people: "Demo account (seed 7, 2026-11-26)" for the demo account
    generated for that day (``demo:seed=7:now=<ms>``), the base URL for a LaunchDarkly instance."""
    if not source_id.startswith("demo:"):
        return source_id
    parts = dict(p.partition("=")[::2] for p in source_id[len("demo:") :].split(":"))
    details = [f"seed {parts['seed']}"] if parts.get("seed") else []
    if parts.get("now", "").isdigit():
        details.append(pd.Timestamp(int(parts["now"]), unit="ms", tz="UTC").strftime("%Y-%m-%d"))
    return "Demo account" + (f" ({', '.join(details)})" if details else "")


def open_source(
    settings: Settings | None = None,
    *,
    demo_faults: Any = None,
    demo_now_ms: int | None = None,
    store: EventStore | None = None,
) -> DataSource:
    settings = settings or Settings.load()
    store = store or open_store(settings.cache_dir, settings.store_url)
    if settings.demo:
        from .demo import default_now_ms

        anchor = demo_now_ms or default_now_ms()
        client = LDClient(DEMO_TOKEN, DEMO_BASE_URL, transport=demo_transport(DEMO_SEED, anchor, demo_faults))
        return DataSource(settings, client, store, f"demo:seed={DEMO_SEED}:now={anchor}", demo=True)
    assert settings.token is not None
    client = LDClient(settings.token, settings.base_url)
    return DataSource(settings, client, store, settings.base_url, demo=False)


__all__ = ["DataSource", "open_source", "now_ms", "source_label"]
