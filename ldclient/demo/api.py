"""Serves the demo account as LaunchDarkly's REST API: in-process (an httpx transport) or over real HTTP.

One pure handler, :class:`DemoApi`, answers ``httpx.Request`` objects, so the dashboard's client, the
tests, LaunchDarkly's own generated client and the benchmarks exercise the same contract whether they
go through :class:`DemoTransport` or through :func:`start_server_in_thread`/:func:`serve`.

Contract choices where LaunchDarkly's documentation is silent:

* flag events: ``from`` and ``to`` are both inclusive; ``from`` defaults to 7 days before the server's
  clock and ``to`` to the clock (as LaunchDarkly documents). ``next`` links carry the resolved
  ``from``/``to`` so every page of one listing sees the same window.
* ``after``/``before`` are opaque keyset cursors (an item's ``eventTime`` and ``id``): ``after`` gives the
  items older than the cursor, ``before`` the ``limit`` items just newer than it, both newest first.
  Events added while paging never shift or repeat items. Both at once is a 400.
* ``query`` is a case-insensitive substring match on ``flagKey``; ``applicationKey`` (a comma-separated list)
  keeps the events of the flags those applications evaluate (the union; an unknown key matches nothing).
* applications (``GET /api/v2/applications``, beta: ``LD-API-Version: beta``): ``limit`` defaults to 10 (at
  most 100), ``offset`` pages, ``sort`` takes ``name`` and ``creationDate`` (``-`` for descending),
  ``expand=flags`` adds each application's ``flags`` collection (left out otherwise, as LaunchDarkly
  documents); ``filter`` is ignored.
* flags: archived flags are excluded unless ``filter=archived:true`` (which lists only archived ones);
  ``env`` restricts each flag's ``environments``; without it all environments are returned. Each
  configuration leaves out ``prerequisites``, ``targets``, ``contextTargets`` and ``rules`` unless
  ``summary=0`` comes with ``env`` (LaunchDarkly's documented rule); a single flag always has them.
* code references (``GET /api/v2/code-refs/statistics/{projectKey}``): every flag with references on a
  repository's default branch; ``flagKey`` keeps that flag alone (an unknown key gives an empty map).
* teams (``GET /api/v2/teams``): ``limit`` defaults to 20 (at most 100), ``offset`` pages, ``filter`` takes
  ``query`` (key or name, any case) and ``nomembers``; ``members``, ``maintainers``, ``roles``, ``projects``
  and ``roleAttributes`` appear only when named in ``expand``.
* unknown query parameters and unknown ``filter`` fields are ignored.
"""

from __future__ import annotations

import base64
import binascii
import random
import re
import threading
import time
from bisect import bisect_left, bisect_right
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from operator import itemgetter
from typing import Any
from urllib.parse import urlencode

import httpx

from .. import jsontext
from ..clock import now_ms
from ..vocabulary import DAY_MS, IMPACT_SIZES
from .account import DemoAccount
from .applications import evaluated_flags
from .cleanup import EXPAND_ONLY_TEAM_FIELDS
from .generator import generate_account

FLAG_EVENTS_PATH = "/api/v2/engineering-insights/flag-events"
EVENTS_DEFAULT_LIMIT = 20
EVENTS_MAX_LIMIT = 100
FLAGS_MAX_LIMIT = 100
COLLECTION_MAX_LIMIT = 1000
APPLICATIONS_DEFAULT_LIMIT = 10  # LaunchDarkly's documented default
APPLICATIONS_MAX_LIMIT = 100
RATE_WINDOW_MS = 10_000
GLOBAL_RATE_LIMIT = 20_000
ROUTE_RATE_LIMIT = 5_000
_JSON = "application/json"
_FULL_CONFIG = ("prerequisites", "targets", "contextTargets", "rules")
TEAMS_DEFAULT_LIMIT = 20  # LaunchDarkly's documented default
TEAMS_MAX_LIMIT = 100
_ERROR_CODES = {
    400: "invalid_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    429: "rate_limited",
    500: "internal_server_error",
    502: "bad_gateway",
    503: "service_unavailable",
    504: "gateway_timeout",
}

_ROUTES: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (name, re.compile(pattern))
    for name, pattern in (
        ("root", r"^/api/v2/?$"),
        ("projects", r"^/api/v2/projects/?$"),
        ("project", r"^/api/v2/projects/([^/]+)$"),
        ("environments", r"^/api/v2/projects/([^/]+)/environments/?$"),
        ("environment", r"^/api/v2/projects/([^/]+)/environments/([^/]+)$"),
        ("flags", r"^/api/v2/flags/([^/]+)/?$"),
        ("flag", r"^/api/v2/flags/([^/]+)/([^/]+)$"),
        ("flag-statuses", r"^/api/v2/flag-statuses/([^/]+)/([^/]+)/?$"),
        ("flag-status", r"^/api/v2/flag-statuses/([^/]+)/([^/]+)/([^/]+)$"),
        ("flag-events", r"^/api/v2/engineering-insights/flag-events/?$"),
        ("members", r"^/api/v2/members/?$"),
        ("applications", r"^/api/v2/applications/?$"),
        ("code-refs-statistics", r"^/api/v2/code-refs/statistics/([^/]+)/?$"),
        ("teams", r"^/api/v2/teams/?$"),
    )
)


@dataclass(frozen=True)
class DemoFaults:
    """Misbehaviour to inject, off by default: so the client's retries and backoff can be exercised."""

    latency_s: float = 0.0
    rate_limit_every: int = 0
    retry_after_s: float = 1.0
    error_rate: float = 0.0
    error_statuses: tuple[int, ...] = (500, 502, 503, 504)
    seed: int = 0
    # a global budget of requests per second, as LaunchDarkly enforces one: beyond it, 429 with Retry-After
    # until the second ends; the rate-limit headers then count down to 0 for real (0 turns it off)
    budget_per_s: int = 0

    def __post_init__(self) -> None:
        if self.latency_s < 0 or self.retry_after_s < 0 or self.budget_per_s < 0:
            raise ValueError("latency_s, retry_after_s and budget_per_s must not be negative")
        if self.rate_limit_every < 0:
            raise ValueError("rate_limit_every must not be negative (0 turns it off)")
        if not 0.0 <= self.error_rate <= 1.0:
            raise ValueError("error_rate must be within [0, 1]")
        if self.error_rate > 0 and not self.error_statuses:
            raise ValueError("error_statuses must not be empty when error_rate > 0")
        if any(not 500 <= s <= 599 for s in self.error_statuses):
            raise ValueError("error_statuses must be 5xx codes")


class RequestStats:
    """Thread-safe request accounting per route (``flag-events``, ``projects``, ``flags``...) and status."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._routes: Counter[str] = Counter()
        self._statuses: Counter[int] = Counter()
        self._total = 0

    def record(self, route: str) -> int:
        with self._lock:
            self._routes[route] += 1
            self._total += 1
            return self._total

    def record_status(self, status: int) -> None:
        with self._lock:
            self._statuses[status] += 1

    def count(self, route: str | None = None) -> int:
        with self._lock:
            return self._total if route is None else self._routes.get(route, 0)

    def status_count(self, status: int) -> int:
        with self._lock:
            return self._statuses.get(status, 0)

    @property
    def total(self) -> int:
        return self.count()

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "total": self._total,
                "routes": dict(sorted(self._routes.items())),
                "statuses": dict(sorted(self._statuses.items())),
            }

    def reset(self) -> None:
        with self._lock:
            self._routes.clear()
            self._statuses.clear()
            self._total = 0


class _ApiError(Exception):
    def __init__(
        self, status: int, message: str, code: str | None = None, attribute: str | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.attribute = attribute
        self.code = code or _ERROR_CODES.get(status, "server_error")
        self.message = message


class _View:
    """Events of one (project, environment[, +global]) newest first, as parallel lists for bisecting."""

    __slots__ = ("items", "neg_times", "ids")

    def __init__(self, items: list[dict[str, Any]], presorted: bool = False) -> None:
        if not presorted:
            items.sort(key=lambda e: (-e["eventTime"], e["id"]))
        self.items = items
        self.neg_times = [-e["eventTime"] for e in items]
        self.ids = [e["id"] for e in items]


def _encode_cursor(event: Mapping[str, Any]) -> str:
    raw = f"{event['eventTime']}:{event['id']}".encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _decode_cursor(text: str) -> tuple[int, str]:
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
        when, event_id = raw.split(":", 1)
        return int(when), event_id
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise _ApiError(400, f"invalid pagination cursor {text[:40]!r}") from exc


def _seconds_text(seconds: float) -> str:
    if seconds == int(seconds):
        return str(int(seconds))
    return f"{seconds:.3f}".rstrip("0").rstrip(".")


def _link(href: str) -> dict[str, str]:
    return {"href": href, "type": _JSON}


class DemoApi:
    """LaunchDarkly's REST API over a :class:`DemoAccount`. Safe to call from many threads at once.

    ``stats`` counts requests per route: ``root``, ``projects``, ``project``, ``environments``,
    ``environment``, ``flags``, ``flag``, ``flag-statuses``, ``flag-status``, ``flag-events``, ``members``,
    ``applications``, ``unknown``. Events reach the server through ``DemoAccount.add_events`` (not by editing
    ``account.events`` directly). ``clock`` (Unix ms) only sets the default ``from``/``to`` of flag events.
    """

    def __init__(
        self,
        account: DemoAccount | None = None,
        faults: DemoFaults | None = None,
        *,
        clock: Callable[[], int] | None = None,
    ) -> None:
        self.account = account if account is not None else generate_account()
        self.stats = RequestStats()
        self.clock: Callable[[], int] = clock or now_ms
        self._fault_lock = threading.Lock()
        self._faults = faults or DemoFaults()
        self._fault_rng = random.Random(self._faults.seed)
        self._seq = 0
        self._rate_lock = threading.Lock()
        self._budget_second, self._budget_used = -1, 0
        self._rate_window = -1
        self._rate_global = 0
        self._rate_routes: Counter[str] = Counter()
        self._index_lock = threading.Lock()
        self._views: OrderedDict[tuple[Any, ...], _View] = OrderedDict()
        self._projects = {p["key"]: p for p in self.account.projects}
        self._cleanup = (
            self.account.cleanup()
        )  # the flags as served: owners, full targeting (demo/cleanup.py)
        self._flags = {p: {f["key"]: f for f in flags} for p, flags in self._cleanup.flags.items()}
        self._statuses = {
            key: {s["_links"]["parent"]["href"].rsplit("/", 1)[-1]: s for s in items}
            for key, items in self.account.statuses.items()
        }
        self._app_flags = evaluated_flags(self.account.applications())
        self._build_index()

    # faults --------------------------------------------------------------------------------------------

    @property
    def faults(self) -> DemoFaults:
        return self._faults

    @faults.setter
    def faults(self, value: DemoFaults | None) -> None:
        """Swap faults on a running server (restarts the every-Nth count and the error dice)."""
        with self._fault_lock:
            self._faults = value or DemoFaults()
            self._fault_rng = random.Random(self._faults.seed)
            self._seq = 0

    @property
    def latency_s(self) -> float:
        return self._faults.latency_s

    def reset(self) -> None:
        """Zero the request accounting and restart the fault sequence."""
        self.stats.reset()
        self.faults = self._faults

    def _fault(self) -> tuple[int, dict[str, str]] | None:
        with self._fault_lock:
            faults = self._faults
            self._seq += 1
            roll = self._fault_rng.random() if faults.error_rate > 0 else 1.0
            if faults.rate_limit_every and self._seq % faults.rate_limit_every == 0:
                reset = int(time.time() * 1000) + int(faults.retry_after_s * 1000)
                return 429, {
                    "Retry-After": _seconds_text(faults.retry_after_s),
                    "X-Ratelimit-Global-Remaining": "0",
                    "X-Ratelimit-Route-Remaining": "0",
                    "X-Ratelimit-Reset": str(reset),
                }
            if roll < faults.error_rate:
                return self._fault_rng.choice(faults.error_statuses), {}
        return None

    def _budget(self) -> tuple[dict[str, str], bool]:
        """With ``budget_per_s``: count this request in its second and return the rate-limit headers that say
        what is left of it, and whether it is over (a 429 until the second ends). Without: ({}, False)."""
        budget = self._faults.budget_per_s
        if not budget:
            return {}, False
        now = time.time()
        second = int(now)
        with self._fault_lock:
            if second != self._budget_second:
                self._budget_second, self._budget_used = second, 0
            self._budget_used += 1
            used = self._budget_used
        reset_ms = (second + 1) * 1000
        headers = {
            "X-Ratelimit-Global-Remaining": str(max(0, budget - used)),
            "X-Ratelimit-Route-Remaining": str(max(0, budget - used)),
            "X-Ratelimit-Reset": str(reset_ms),
        }
        if used <= budget:
            return headers, False
        return {**headers, "Retry-After": _seconds_text(max(0.001, reset_ms / 1000 - now))}, True

    def _rate_headers(self, route: str) -> dict[str, str]:
        """Plausible budgets in 10-second windows; never 0 unless a 429 is injected (demo never throttles)."""
        now = int(time.time() * 1000)
        with self._rate_lock:
            window = now // RATE_WINDOW_MS
            if window != self._rate_window:
                self._rate_window, self._rate_global = window, 0
                self._rate_routes.clear()
            self._rate_global += 1
            self._rate_routes[route] += 1
            used_global, used_route = self._rate_global, self._rate_routes[route]
        return {
            "X-Ratelimit-Global-Remaining": str(max(1, GLOBAL_RATE_LIMIT - used_global)),
            "X-Ratelimit-Route-Remaining": str(max(1, ROUTE_RATE_LIMIT - used_route)),
            "X-Ratelimit-Reset": str((window + 1) * RATE_WINDOW_MS),
        }

    # entry point ---------------------------------------------------------------------------------------

    def handle(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        route: str = "unknown"
        groups: tuple[str | Any, ...] = ()
        for name, pattern in _ROUTES:
            match = pattern.match(path)
            if match:
                route, groups = name, match.groups()
                break
        self.stats.record(route)
        headers = self._rate_headers(route)
        budget, refused = self._budget()
        headers.update(budget)
        fault = (429, {}) if refused else self._fault()
        if fault is not None:
            status, extra = fault
            headers.update(extra)
            message = (
                "You've exceeded the API rate limit. Try again later."
                if status == 429
                else "The demo server injected this error (fault injection)."
            )
            code = _ERROR_CODES.get(status, "server_error")
            return self._respond(status, {"code": code, "message": message}, headers)
        try:
            if not request.headers.get("Authorization", "").strip():
                raise _ApiError(401, "Invalid or missing Authorization header: send your access token.")
            if request.method not in ("GET", "HEAD"):
                raise _ApiError(405, f"{request.method} is not supported by the demo API (it is read-only)")
            if route == "unknown":
                raise _ApiError(404, f"Unknown resource {path}")
            body = self._dispatch(route, groups, request)
        except _ApiError as err:
            body = {"code": err.code, "message": err.message}
            if err.status == 400:  # LaunchDarkly's ValidationFailedErrorRep: what failed, and why
                body["errors"] = [{"attribute": err.attribute or "request", "reason": err.message}]
            return self._respond(err.status, body, headers)
        except Exception as exc:  # a bug here must look like LaunchDarkly's 500, not a dropped connection
            body = {"code": "internal_server_error", "message": f"demo server error: {exc!r}"}
            return self._respond(500, body, headers)
        return self._respond(200, body, headers)

    def _respond(self, status: int, body: Any, headers: dict[str, str]) -> httpx.Response:
        self.stats.record_status(status)
        content = jsontext.dumps_bytes(body)
        headers["Content-Type"] = _JSON
        return httpx.Response(status, headers=headers, content=content)

    def _dispatch(self, route: str, groups: tuple[str, ...], request: httpx.Request) -> Any:
        params = request.url.params
        if route == "flag-events":
            return self._flag_events(request)
        if route == "root":
            return {
                "_links": {
                    "projects": _link("/api/v2/projects"),
                    "members": _link("/api/v2/members"),
                    "flagEvents": _link(FLAG_EVENTS_PATH),
                    "self": _link("/api/v2"),
                }
            }
        if route == "projects":
            return self._projects_page(request)
        if route == "applications":
            return self._applications_page(request)
        if route == "teams":
            return self._teams_page(request)
        if route == "members":
            items = self.account.members
            limit = _int_param(params, "limit", 20, 1, COLLECTION_MAX_LIMIT)
            offset = _int_param(params, "offset", 0, 0, None)
            return self._offset_page(request, items[offset : offset + limit], len(items), offset, limit)
        project = self._project(groups[0])
        if route == "code-refs-statistics":
            return self._code_ref_statistics(project, params)
        if route == "project":
            return self._project_rep(project, "environments" in _csv(params.get("expand")))
        if route == "environments":
            envs = project["environments"]
            limit = _int_param(params, "limit", 20, 1, COLLECTION_MAX_LIMIT)
            offset = _int_param(params, "offset", 0, 0, None)
            return self._offset_page(request, envs[offset : offset + limit], len(envs), offset, limit)
        if route == "environment":
            return self._environment(project, groups[1])
        if route == "flags":
            return self._flags_page(request, project)
        if route == "flag":
            flag = self._flags.get(project["key"], {}).get(groups[1])
            if flag is None:
                raise _ApiError(404, f"Unknown flag '{groups[1]}' in project '{project['key']}'")
            envs = self._env_filter(project, params)
            return self._flag_rep(flag, envs, False)  # a single flag always carries its full targeting
        env = self._environment(project, groups[1])
        statuses = self._statuses.get((project["key"], env["key"]), {})
        if route == "flag-statuses":
            return {
                "_links": {"self": _link(f"/api/v2/flag-statuses/{project['key']}/{env['key']}")},
                "items": list(statuses.values()),
            }
        status = statuses.get(groups[2])
        if status is None:
            raise _ApiError(404, f"Unknown flag '{groups[2]}' in project '{project['key']}'")
        return status

    # code references and teams -----------------------------------------------------------------------------

    def _code_ref_statistics(self, project: Mapping[str, Any], params: httpx.QueryParams) -> dict[str, Any]:
        body = self._cleanup.code_refs.get(project["key"]) or {"_links": {}, "flags": {}}
        key = params.get("flagKey")
        if not key:
            return body
        flags = {k: v for k, v in body["flags"].items() if k == key}
        return {**body, "flags": flags}

    def _teams_page(self, request: httpx.Request) -> dict[str, Any]:
        params = request.url.params
        limit = _int_param(params, "limit", TEAMS_DEFAULT_LIMIT, 1, TEAMS_MAX_LIMIT)
        offset = _int_param(params, "offset", 0, 0, None)
        teams = list(self._cleanup.teams)
        for name, value in _filters(params.get("filter")):
            if name == "query":
                low = value.lower()
                teams = [t for t in teams if low in t["key"].lower() or low in t["name"].lower()]
            elif name == "nomembers":
                empty = _parse_bool(value, "filter nomembers")
                teams = [t for t in teams if (t["members"]["totalCount"] == 0) == empty]
        expand = set(_csv(params.get("expand")))
        page = [
            {k: v for k, v in t.items() if k not in EXPAND_ONLY_TEAM_FIELDS or k in expand}
            for t in teams[offset : offset + limit]
        ]
        return self._offset_page(request, page, len(teams), offset, limit)

    # applications ----------------------------------------------------------------------------------------

    def _applications_page(self, request: httpx.Request) -> dict[str, Any]:
        if request.headers.get("LD-API-Version", "").strip().lower() != "beta":
            raise _ApiError(403, "This is a beta resource: send the header 'LD-API-Version: beta' to use it.")
        params = request.url.params
        limit = _int_param(params, "limit", APPLICATIONS_DEFAULT_LIMIT, 1, APPLICATIONS_MAX_LIMIT)
        offset = _int_param(params, "offset", 0, 0, None)
        apps = list(self.account.applications())
        for field in reversed(_csv(params.get("sort"))):
            name, desc = field.lstrip("-"), field.startswith("-")
            if name in ("name", "creationDate"):
                apps = sorted(apps, key=itemgetter(name), reverse=desc)
        expand = "flags" in _csv(params.get("expand"))
        page = [
            a if expand else {k: v for k, v in a.items() if k != "flags"}
            for a in apps[offset : offset + limit]
        ]
        return self._offset_page(request, page, len(apps), offset, limit)

    # projects, environments, flags ---------------------------------------------------------------------

    def _project(self, key: str) -> dict[str, Any]:
        project = self._projects.get(key)
        if project is None:
            raise _ApiError(404, f"Unknown project '{key}'")
        return project

    def _environment(self, project: Mapping[str, Any], key: str) -> dict[str, Any]:
        for env in project["environments"]:
            if env["key"] == key:
                return dict(env)
        raise _ApiError(404, f"Unknown environment '{key}' in project '{project['key']}'")

    def _project_rep(self, project: Mapping[str, Any], expand_envs: bool) -> dict[str, Any]:
        rep = {k: v for k, v in project.items() if k != "environments"}
        if expand_envs:
            envs = project["environments"]
            href = f"/api/v2/projects/{project['key']}/environments"
            rep["environments"] = {
                "_links": {"self": _link(href)},
                "totalCount": len(envs),
                "items": list(envs),
            }
        return rep

    def _projects_page(self, request: httpx.Request) -> dict[str, Any]:
        params = request.url.params
        limit = _int_param(params, "limit", 20, 1, COLLECTION_MAX_LIMIT)
        offset = _int_param(params, "offset", 0, 0, None)
        expand_envs = "environments" in _csv(params.get("expand"))
        projects = self.account.projects
        for name, value in _filters(params.get("filter")):
            if name == "query":
                low = value.lower()
                projects = [p for p in projects if low in p["key"] or low in p["name"].lower()]
            elif name == "tags":
                wanted = set(value.split("+"))
                projects = [p for p in projects if wanted <= set(p["tags"])]
            elif name == "keys":
                wanted = set(value.split("|"))
                projects = [p for p in projects if p["key"] in wanted]
        page = [self._project_rep(p, expand_envs) for p in projects[offset : offset + limit]]
        return self._offset_page(request, page, len(projects), offset, limit)

    def _offset_page(
        self, request: httpx.Request, items: list[Any], total: int, offset: int, limit: int
    ) -> dict[str, Any]:
        path = request.url.path
        base = [(k, v) for k, v in request.url.params.multi_items() if k not in ("offset", "limit")]

        def href(at: int) -> str:
            return f"{path}?{urlencode([*base, ('limit', str(limit)), ('offset', str(at))])}"

        links = {"self": _link(_raw_target(request)), "first": _link(href(0))}
        links["last"] = _link(href(max(0, (total - 1) // limit * limit)))
        if offset > 0:
            links["prev"] = _link(href(max(0, offset - limit)))
        if offset + limit < total:
            links["next"] = _link(href(offset + limit))
        return {"items": items, "totalCount": total, "_links": links}

    def _env_filter(self, project: Mapping[str, Any], params: httpx.QueryParams) -> list[str] | None:
        wanted = [v for v in params.get_list("env") if v]
        wanted += [v for name, v in _filters(params.get("filter")) if name == "filterEnv"]
        for key in wanted:
            self._environment(project, key)
        return wanted or None

    def _flag_rep(self, flag: Mapping[str, Any], envs: list[str] | None, summary: bool) -> dict[str, Any]:
        rep = dict(flag)
        configs = flag.get("environments") or {}
        selected = {k: v for k, v in configs.items() if envs is None or k in envs}
        if summary:  # LaunchDarkly leaves out prerequisites, targets and rules unless summary=0
            selected = {k: {n: x for n, x in v.items() if n not in _FULL_CONFIG} for k, v in selected.items()}
        rep["environments"] = selected
        return rep

    def _flags_page(self, request: httpx.Request, project: Mapping[str, Any]) -> dict[str, Any]:
        params = request.url.params
        limit = _int_param(params, "limit", 20, 1, FLAGS_MAX_LIMIT)
        offset = _int_param(params, "offset", 0, 0, None)
        # summary=0 includes the full targeting only together with env, as LaunchDarkly documents
        summary = _bool_param(params, "summary", True) or not params.get_list("env")
        envs = self._env_filter(project, params)
        flags = self._cleanup.flags.get(project["key"], [])
        archived: bool | None = _bool_param(params, "archived", None)
        tags = [t for t in params.get_list("tag") if t]
        for name, value in _filters(params.get("filter")):
            low = value.lower()
            if name == "query":
                flags = [f for f in flags if low in f["key"].lower() or low in f["name"].lower()]
            elif name == "archived":
                archived = _parse_bool(value, "filter archived")
            elif name == "tags":
                tags += [t for t in value.split("+") if t]
            elif name == "state":
                archived = low == "archived"
                if low == "deprecated":
                    flags = [f for f in flags if f.get("deprecated")]
                elif low == "live":
                    flags = [f for f in flags if not f.get("deprecated")]
            elif name == "type":
                flags = [f for f in flags if f["temporary"] == (low == "temporary")]
            elif name == "maintainerId":
                flags = [f for f in flags if f.get("maintainerId") == value]
        archived = bool(archived)
        flags = [f for f in flags if f["archived"] == archived and all(t in f["tags"] for t in tags)]
        for field in reversed(_csv(params.get("sort"))):
            name, desc = field.lstrip("-"), field.startswith("-")
            if name in ("key", "name", "creationDate"):
                flags = sorted(flags, key=itemgetter(name), reverse=desc)
        page = [self._flag_rep(f, envs, summary) for f in flags[offset : offset + limit]]
        return self._offset_page(request, page, len(flags), offset, limit)

    # flag events ---------------------------------------------------------------------------------------

    def _build_index(self) -> None:
        account = self.account
        with account._lock:
            events = list(account.events)
            self._applied = len(account.added)
            self._revision = account.revision
        self._env_keys = {p["key"]: [e["key"] for e in p["environments"]] for p in account.projects}
        buckets = self._bucket(events)
        self._base = {key: _View(items) for key, items in buckets.items()}
        self._views.clear()

    def _bucket(
        self, events: Iterable[Mapping[str, Any]]
    ) -> dict[tuple[str, str, bool], list[dict[str, Any]]]:
        """(project, env, with_global) -> events; a global event lands in every environment of its project."""
        buckets: dict[tuple[str, str, bool], list[dict[str, Any]]] = {
            (p, e, g): [] for p, envs in self._env_keys.items() for e in envs for g in (True, False)
        }
        for event in events:
            project, env = event["projectKey"], event.get("environmentKey")
            if env is None:
                for key in self._env_keys.get(project, ()):
                    buckets[(project, key, True)].append(event)  # type: ignore[arg-type]
            elif (project, env, True) in buckets:
                buckets[(project, env, True)].append(event)  # type: ignore[arg-type]
                buckets[(project, env, False)].append(event)  # type: ignore[arg-type]
        return buckets

    def _refresh(self) -> None:
        """Pick up events added to the account since the last request (copy-on-write, so pages being
        served from the previous lists stay consistent)."""
        account = self.account
        if account.revision == self._revision:
            return
        with self._index_lock:
            with account._lock:
                batches = account.added[self._applied :]
                revision, applied = account.revision, len(account.added)
            if revision == self._revision:
                return
            fresh = self._bucket(e for batch in batches for e in batch)
            base = dict(self._base)
            for key, items in fresh.items():
                if items:
                    base[key] = _View(base[key].items + items)
            self._base = base
            self._views = OrderedDict()
            self._applied, self._revision = applied, revision

    def _view(
        self,
        project: str,
        env: str,
        with_global: bool,
        query: str | None,
        size: str | None,
        has_experiments: bool | None,
        application: str | None,
    ) -> _View:
        views = self._views  # before _base: _refresh swaps _base first, so this pair is never mixed up
        base = self._base[(project, env, with_global)]
        if not (query or size or has_experiments is not None or application):
            return base
        key = (project, env, with_global, query, size, has_experiments, application)
        view = views.get(key)
        if view is not None:
            return view
        items = base.items
        if application:
            wanted = set().union(*(self._app_flags.get(k, frozenset()) for k in _csv(application)))
            items = [e for e in items if (e["projectKey"], e["flagKey"]) in wanted]
        if query:
            low = query.lower()
            items = [e for e in items if low in e["flagKey"].lower()]
        if size:
            items = [e for e in items if (e.get("impact") or {}).get("size") == size]
        if has_experiments is not None:
            items = [
                e
                for e in items
                if (((e.get("experiments") or {}).get("totalCount") or 0) > 0) == has_experiments
            ]
        view = _View(items, presorted=True)
        with self._index_lock:
            if views is self._views:
                views[key] = view
                while len(views) > 256:
                    views.popitem(last=False)
        return view

    def _flag_events(self, request: httpx.Request) -> dict[str, Any]:
        if request.headers.get("LD-API-Version", "").strip().lower() != "beta":
            raise _ApiError(403, "This is a beta resource: send the header 'LD-API-Version: beta' to use it.")
        params = request.url.params
        project_key, env_key = params.get("projectKey", ""), params.get("environmentKey", "")
        if not project_key:
            raise _ApiError(400, "projectKey is required")
        if not env_key:
            raise _ApiError(400, "environmentKey is required")
        limit = _int_param(params, "limit", EVENTS_DEFAULT_LIMIT, 1, EVENTS_MAX_LIMIT)
        size = params.get("impactSize") or None
        if size is not None and size not in IMPACT_SIZES:
            raise _ApiError(400, f"impactSize must be one of {', '.join(IMPACT_SIZES)}")
        has_experiments = _bool_param(params, "hasExperiments", None)
        scope = (params.get("global") or "include").lower()
        if scope not in ("include", "exclude"):
            raise _ApiError(400, "global must be include or exclude")
        now = self.clock()
        to_ms = _int_param(params, "to", now, None, None)
        from_ms = _int_param(params, "from", now - 7 * DAY_MS, None, None)
        if from_ms > to_ms:
            raise _ApiError(400, "from must not be later than to")
        after, before = params.get("after") or None, params.get("before") or None
        if after and before:
            raise _ApiError(400, "use either after or before, not both")
        marker = after or before
        cursor = _decode_cursor(marker) if marker else None
        project = self._project(project_key)
        self._environment(project, env_key)
        self._refresh()
        view = self._view(
            project_key,
            env_key,
            scope == "include",
            params.get("query") or None,
            size,
            has_experiments,
            params.get("applicationKey") or None,
        )

        neg, ids = view.neg_times, view.ids
        lo, hi = bisect_left(neg, -to_ms), bisect_right(neg, -from_ms)
        if cursor is None:
            start, end = lo, min(hi, lo + limit)
        else:
            when, event_id = cursor
            i, j = bisect_left(neg, -when), bisect_right(neg, -when)
            if after:
                start = min(max(bisect_right(ids, event_id, i, j), lo), hi)
                end = min(hi, start + limit)
            else:
                end = min(max(bisect_left(ids, event_id, i, j), lo), hi)
                start = max(lo, end - limit)
        expand = "experiments" in _csv(params.get("expand"))
        page = view.items[start:end]
        if expand:
            items = [
                e if "experiments" in e else {**e, "experiments": {"totalCount": 0, "items": []}}
                for e in page
            ]
        else:
            items = [
                {k: v for k, v in e.items() if k != "experiments"} if "experiments" in e else e for e in page
            ]
        base = [(k, v) for k, v in params.multi_items() if k not in ("after", "before", "from", "to")]
        base += [("from", str(from_ms)), ("to", str(to_ms))]
        links = {"self": _link(_raw_target(request))}
        if end < hi and page:
            query = urlencode([*base, ("after", _encode_cursor(page[-1]))])
            links["next"] = _link(f"{FLAG_EVENTS_PATH}?{query}")
        if start > lo and page:
            query = urlencode([*base, ("before", _encode_cursor(page[0]))])
            links["prev"] = _link(f"{FLAG_EVENTS_PATH}?{query}")
        return {"totalCount": hi - lo, "items": items, "_links": links}


# --- parameter helpers ---------------------------------------------------------------------------------


def _raw_target(request: httpx.Request) -> str:
    return request.url.raw_path.decode("ascii", "replace")


def _csv(value: str | None) -> list[str]:
    return [v.strip() for v in (value or "").split(",") if v.strip()]


def _filters(value: str | None) -> list[tuple[str, str]]:
    out = []
    for term in _csv(value):
        name, _, text = term.partition(":")
        out.append((name.strip(), text.strip()))
    return out


def _parse_bool(value: str, name: str) -> bool:
    low = value.strip().lower()
    if low in ("true", "1"):
        return True
    if low in ("false", "0"):
        return False
    raise _ApiError(400, f"{name} must be true or false")


def _bool_param(params: httpx.QueryParams, name: str, default: Any) -> Any:
    value = params.get(name)
    if value is None or value == "":
        return default
    return _parse_bool(value, name)


def _int_param(params: httpx.QueryParams, name: str, default: int, lo: int | None, hi: int | None) -> int:
    text = params.get(name)
    if text is None or text == "":
        return default
    try:
        value = int(text)
    except ValueError:
        raise _ApiError(400, f"{name} must be an integer", attribute=name) from None
    if lo is not None and value < lo:
        raise _ApiError(400, f"{name} must be at least {lo}", attribute=name)
    if hi is not None and value > hi:
        raise _ApiError(400, f"{name} must be at most {hi}", attribute=name)
    return value
