"""The LaunchDarkly REST client: GET-only, paginated, windowed, retrying, polite to rate limits.

Built on ``httpx`` with an injectable transport, so production, the embedded demo account and the
tests all go through the same code path. The token travels only in the ``Authorization`` header.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import logging
import math
import random
import ssl
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx

from .. import jsontext
from ..errors import (
    APIConnectionError,
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    MalformedResponseError,
    NotFoundError,
    PaginationError,
    PermissionDeniedError,
    RateLimitedError,
    ReadOnlyError,
    ServerError,
)
from ..frame import storable_event_id
from ..settings import DEFAULT_BASE_URL, Secret, normalise_base_url
from ..vocabulary import DAY_MS
from .models import Environment, Project

log = logging.getLogger("ldclient")

API_VERSION = "20240415"
FLAG_EVENTS_PATH = "/api/v2/engineering-insights/flag-events"
APPLICATIONS_PATH = "/api/v2/applications"
RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})
PAGE_LIMIT = 100
PROBE_SEQUENTIAL_PAGES = 10  # a probed window of up to this many pages is paged through, not split
MAX_EMPTY_PAGES = 3

T = TypeVar("T")


class ReadOnlyTransport(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """Wraps any transport and refuses every method but GET, so the token cannot change anything."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def _check(self, request: httpx.Request) -> None:
        if request.method != "GET":
            raise ReadOnlyError(f"refused {request.method} {request.url.path}: the dashboard only reads")

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self._check(request)
        return self._inner.handle_request(request)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self._check(request)
        return await self._inner.handle_async_request(request)

    def close(self) -> None:
        if hasattr(self._inner, "close"):
            self._inner.close()

    async def aclose(self) -> None:
        if hasattr(self._inner, "aclose"):
            await self._inner.aclose()


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with full jitter, bounded by total time rather than attempts."""

    max_elapsed_s: float = 60.0
    base_delay_s: float = 0.5
    max_delay_s: float = 15.0

    def backoff(self, attempt: int, rng: random.Random) -> float:
        return rng.uniform(0, min(self.max_delay_s, self.base_delay_s * 2**attempt))


MAX_RESET_WAIT_S = 60.0  # a reset further away than this is a clock problem, not a budget: wait no longer


class RateGate:
    """Adaptive concurrency shared by all requests of one fetch: start small, grow on success,
    halve when LaunchDarkly's remaining budget runs low or a 429 arrives, pause everyone on 429."""

    def __init__(self, initial: int = 2, maximum: int = 8) -> None:
        self.limit = max(1, min(initial, maximum))
        self.maximum = maximum
        self.active = 0
        self.paused_until = 0.0
        self._successes = 0
        self._cond: asyncio.Condition | None = None

    def _condition(self) -> asyncio.Condition:
        if self._cond is None:
            self._cond = asyncio.Condition()
        return self._cond

    async def acquire(self, sleep: Callable[[float], Awaitable[None]]) -> None:
        cond = self._condition()
        async with cond:
            while self.active >= self.limit:
                await cond.wait()
            self.active += 1
        if (delay := self.paused_until - time.monotonic()) > 0:
            await sleep(delay)

    async def release(self) -> None:
        cond = self._condition()
        async with cond:
            self.active -= 1
            cond.notify_all()

    def observe(self, headers: Mapping[str, str]) -> None:
        remaining = [
            int(v)
            for k in ("X-Ratelimit-Global-Remaining", "X-Ratelimit-Route-Remaining")
            if (v := headers.get(k)) is not None and v.strip().lstrip("-").isdigit()
        ]
        if remaining and min(remaining) < self.active:
            # the budget is spent (or the requests in flight will spend it): everyone waits for its reset
            # instead of being refused, as LaunchDarkly's rate-limit docs ask of clients
            reset = headers.get("X-Ratelimit-Reset", "")
            wait = int(reset) / 1000 - time.time() if reset.isdigit() else 1.0
            self.pause(min(MAX_RESET_WAIT_S, max(0.0, wait)))
            return
        if remaining and min(remaining) <= 2 * self.limit:
            self.limit = max(1, self.limit // 2)
            self._successes = 0
            return
        self._successes += 1
        if self._successes >= self.limit and self.limit < self.maximum:
            self.limit += 1
            self._successes = 0

    def pause(self, seconds: float) -> None:
        self.paused_until = max(self.paused_until, time.monotonic() + seconds)
        self.limit = max(1, self.limit // 2)
        self._successes = 0


@dataclass(frozen=True)
class Window:
    """A slice ``[start, end)`` of the requested range, fetched and recorded complete on its own."""

    start: int
    end: int


PageCallback = Callable[[Window, list[dict[str, Any]], bool], None]
TotalCallback = Callable[[Window, int], None]  # a window's totalCount, from its first page
SplitCallback = Callable[[Window, list[Window]], None]  # a probed window is fetched as these parts instead


@dataclass
class FetchStats:
    requests: int = 0
    pages: int = 0
    events: int = 0
    malformed: int = 0
    retries: int = 0
    warnings: list[str] = field(default_factory=list)


@dataclass
class FetchResult:
    items: list[dict[str, Any]]
    windows: list[Window]
    stats: FetchStats


def split_windows(
    from_ms: int, to_ms: int, window_ms: int | None = None, max_windows: int = 16
) -> list[Window]:
    """Equal windows, at least a day long, at most ``max_windows`` of them: enough to fetch in parallel,
    few enough that each window's partial last page costs little."""
    if to_ms <= from_ms:
        return []
    span = to_ms - from_ms
    if window_ms is None:
        window_ms = max(DAY_MS, math.ceil(span / max_windows))
    count = max(1, span // window_ms)  # floor: windows never shorter than window_ms
    edges = [from_ms + (span * i) // count for i in range(count)] + [to_ms]
    return [Window(edges[i], edges[i + 1]) for i in range(count)]


_STATUS_ERRORS: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    429: RateLimitedError,
}


def _error_for(status: int, path: str, body: Any, beta: bool, secret: str = "") -> APIStatusError:
    code = body.get("code") if isinstance(body, Mapping) else None
    server_msg = body.get("message") if isinstance(body, Mapping) else None
    if server_msg and secret:  # an API (or a proxy) that echoes the Authorization header must not leak it
        server_msg = str(server_msg).replace(secret, "[token]")
    detail = f" (LaunchDarkly says: {str(server_msg)[:300]})" if server_msg else ""
    if status == 401:
        msg = (
            "LaunchDarkly rejected the API token: it is invalid or expired. Create a new access token "
            "with reader access and set LD_API_TOKEN."
        )
    elif status == 403 and beta:
        msg = (
            "This account or token lacks access to engineering insights (the beta flag-events API). "
            "Check the token's role and that engineering insights is enabled for the account."
        )
    elif status == 403:
        msg = f"The token may not read {path}. Give it a role that can read this project."
    elif status == 404:
        msg = f"Not found: {path}. Check the project and environment keys."
    elif status == 400:
        msg = f"LaunchDarkly rejected the request to {path}"
    elif status == 429:
        msg = "LaunchDarkly's rate limit stayed exhausted past the retry budget; try again in a few minutes."
    else:
        msg = f"LaunchDarkly answered {status} for {path} after retries; it may be having trouble."
    cls = _STATUS_ERRORS.get(status, ServerError if status >= 500 else APIStatusError)
    return cls(msg + detail, status=status, code=code if isinstance(code, str) else None, path=path)


def _retry_after(headers: Mapping[str, str]) -> float | None:
    value = headers.get("Retry-After")
    if value:
        try:
            return max(0.0, float(value))
        except ValueError:
            pass
    reset = headers.get("X-Ratelimit-Reset")
    if reset and reset.isdigit():
        return max(0.0, int(reset) / 1000 - time.time())
    return None


async def gather_or_cancel(coros: Iterable[Awaitable[T]]) -> list[T]:
    """All of ``coros`` side by side; when one fails, the others are cancelled and awaited before the error
    propagates (a plain gather leaves them running: they would go on writing after the fetch has failed)."""
    tasks = [asyncio.ensure_future(c) for c in coros]
    try:
        return list(await asyncio.gather(*tasks))
    except BaseException:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise


@functools.cache
def tls_context() -> ssl.SSLContext:
    """One verifying TLS context per process: loading the CA bundle costs ~40 ms, and every fetch opens a
    client (a sync of 400 keys spent 16 s on it). A context is safe to share between threads."""
    return httpx.create_ssl_context()


def run_async(coro: Awaitable[T]) -> T:
    """Sync entry points run the async core; inside a running loop they use a worker thread."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)  # type: ignore[arg-type]
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()  # type: ignore[arg-type]


class LDClient:
    """Reads a LaunchDarkly account. Sync methods for the UI and CLI; ``a``-prefixed async ones underneath."""

    def __init__(
        self,
        token: Secret | str,
        base_url: str = DEFAULT_BASE_URL,
        *,
        transport: Any = None,
        timeout_s: float = 30.0,
        retry: RetryPolicy | None = None,
        initial_concurrency: int = 2,
        max_concurrency: int = 8,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        seed: int | None = None,
    ) -> None:
        self._token = token if isinstance(token, Secret) else Secret(token)
        if not self._token:
            raise AuthenticationError("No LaunchDarkly API token: set LD_API_TOKEN.", status=401)
        self.base_url = normalise_base_url(base_url)
        self._transport = transport
        self._timeout = timeout_s
        self.retry = retry or RetryPolicy()
        self._initial = initial_concurrency
        self._max = max_concurrency
        self._sleep = sleep
        self._rng = random.Random(seed)
        self.shared_gate: RateGate | None = None  # set: every flag-events fetch goes through it

    def with_shared_gate(self, gate: RateGate) -> LDClient:
        """This client (same token, transport and policies) with every flag-events fetch sharing ``gate``."""
        import copy

        twin = copy.copy(self)
        twin.shared_gate = gate
        return twin

    def __repr__(self) -> str:
        return f"LDClient(base_url={self.base_url!r})"

    # -- plumbing -------------------------------------------------------------------------------------

    def session(self) -> httpx.AsyncClient:
        """An open-able client for several fetches in one event loop (``async with client.session()``)."""
        return self._client()

    def new_gate(self) -> RateGate:
        """The rate gate a fetch uses: the shared one if set, else a fresh one with this client's limits."""
        return self.shared_gate or RateGate(self._initial, self._max)

    def _client(self) -> httpx.AsyncClient:
        inner = self._transport or httpx.AsyncHTTPTransport(retries=0, verify=tls_context())
        return httpx.AsyncClient(
            base_url=self.base_url,
            transport=ReadOnlyTransport(inner),
            timeout=self._timeout,
            headers={"Authorization": self._token.reveal(), "User-Agent": "flag-health/0.1"},
            follow_redirects=False,
        )

    async def _get(
        self,
        http: httpx.AsyncClient,
        url: str,
        params: Mapping[str, Any] | None,
        *,
        beta: bool,
        gate: RateGate,
        stats: FetchStats,
    ) -> Any:
        path = httpx.URL(url).path
        headers = {"LD-API-Version": "beta" if beta else API_VERSION}
        started, slept = time.monotonic(), 0.0  # slept counts injected (test) sleeps as time spent
        attempt = 0
        while True:
            failure: Exception | None = None
            retry_after: float | None = None
            await gate.acquire(self._sleep)
            try:
                stats.requests += 1
                response = await http.get(url, params=params, headers=headers)
            except httpx.TimeoutException:
                failure = APIConnectionError(f"LaunchDarkly did not answer {path} in {self._timeout:g} s")
            except httpx.TransportError as exc:
                failure = APIConnectionError(
                    f"connection to LaunchDarkly failed on {path}: {type(exc).__name__}"
                )
            else:
                gate.observe(response.headers)
                status = response.status_code
                try:
                    body = jsontext.loads(response.content) if response.content else None
                except ValueError:
                    body = ValueError
                if status < 300 and body is not ValueError and body is not None:
                    return body
                if status < 300:
                    failure = MalformedResponseError(f"LaunchDarkly sent an unreadable page for {path}")
                elif status in RETRYABLE_STATUS:
                    failure = _error_for(status, path, body, beta, self._token.reveal())
                    retry_after = _retry_after(response.headers) if status == 429 else None
                else:
                    raise _error_for(status, path, body, beta, self._token.reveal())
            finally:
                await gate.release()
            delay = self.retry.backoff(attempt, self._rng)
            if retry_after is not None:
                delay = retry_after + self._rng.uniform(0, 0.25 + 0.1 * retry_after)
                gate.pause(delay)
            attempt += 1
            if time.monotonic() - started + slept + delay > self.retry.max_elapsed_s:
                raise failure
            stats.retries += 1
            log.warning("retrying %s in %.1f s: %s", path, delay, failure)
            await self._sleep(delay)
            slept += delay

    async def _collection(
        self, path: str, params: dict[str, Any] | None = None, *, page_size: int = 100, beta: bool = False
    ) -> list[dict[str, Any]]:
        """Offset-paged collections (projects, flags): follow ``_links.next`` or advance ``offset``."""
        stats, gate = FetchStats(), RateGate(1, 1)
        items: list[dict[str, Any]] = []
        query: dict[str, Any] | None = dict(params or {}, limit=page_size, offset=0)
        async with self._client() as http:
            url: str = path
            seen: set[str] = set()
            while True:
                body = await self._get(http, url, query, beta=beta, gate=gate, stats=stats)
                page = body.get("items") if isinstance(body, Mapping) else None
                if not isinstance(page, list):
                    raise MalformedResponseError(f"{path} answered without an items list")
                items.extend(i for i in page if isinstance(i, dict))
                nxt = self._next_href(body)
                if nxt is None or not page:
                    return items
                if nxt in seen:
                    raise PaginationError(f"{path} repeated the same next link; stopped to avoid a loop")
                seen.add(nxt)
                url, query = nxt, None

    def _next_href(self, body: Mapping[str, Any]) -> str | None:
        links = body.get("_links")
        nxt = links.get("next") if isinstance(links, Mapping) else None
        href = nxt.get("href") if isinstance(nxt, Mapping) else nxt
        if href is None or href == "":
            return None
        if not isinstance(href, str):  # a next link we cannot follow: the listing is not known complete
            raise PaginationError("a next link was not a URL; stopped (this listing is incomplete)")
        try:
            target = httpx.URL(self.base_url).join(href)
        except httpx.InvalidURL:
            raise PaginationError(
                "a next link was not a valid URL; stopped (this listing is incomplete)"
            ) from None
        base = httpx.URL(self.base_url)
        if (target.scheme, target.host, target.port) != (base.scheme, base.host, base.port):
            raise PaginationError("a next link pointed to another host; refusing to send the token there")
        return str(target)

    # -- simple endpoints -----------------------------------------------------------------------------

    async def aprojects(self) -> list[Project]:
        items = await self._collection("/api/v2/projects", {"expand": "environments"}, page_size=100)
        return [_parsed(Project, i, "/api/v2/projects") for i in items]

    async def aenvironments(self, project_key: str) -> list[Environment]:
        path = f"/api/v2/projects/{_seg(project_key)}/environments"
        items = await self._collection(path, page_size=100)
        return [_parsed(Environment, i, path) for i in items]

    async def aflags(
        self, project_key: str, env: str | None = None, *, archived: bool = False
    ) -> list[dict[str, Any]]:
        """The project's flags. LaunchDarkly leaves archived flags out of this list unless asked for them,
        and then lists only those (``archived=True`` sends ``filter=state:archived``)."""
        params: dict[str, Any] = {"summary": "true"}
        if env:
            params["env"] = env
        if archived:
            params["filter"] = "state:archived"
        return await self._collection(f"/api/v2/flags/{_seg(project_key)}", params, page_size=100)

    async def aflag_statuses(self, project_key: str, env: str) -> list[dict[str, Any]]:
        return await self._collection(f"/api/v2/flag-statuses/{_seg(project_key)}/{_seg(env)}")

    async def aapplications(self) -> list[dict[str, Any]]:
        """The account's applications (``GET /api/v2/applications``, beta) with the flags each evaluates
        (``expand=flags``), every page: ``offset`` advances until ``totalCount`` items have arrived."""
        stats, gate = FetchStats(), RateGate(1, 1)
        items: list[dict[str, Any]] = []
        offset = 0
        async with self._client() as http:
            while True:
                params = {"expand": "flags", "limit": PAGE_LIMIT, "offset": offset}
                try:
                    body = await self._get(http, APPLICATIONS_PATH, params, beta=True, gate=gate, stats=stats)
                except PermissionDeniedError as exc:
                    raise PermissionDeniedError(
                        f"The token may not read the account's applications ({APPLICATIONS_PATH}, beta). "
                        "Give it a role that can read applications.",
                        status=403,
                        code=exc.code,
                        path=APPLICATIONS_PATH,
                    ) from None
                page = body.get("items") if isinstance(body, Mapping) else None
                if not isinstance(page, list):
                    raise MalformedResponseError(f"{APPLICATIONS_PATH} answered without an items list")
                items.extend(i for i in page if isinstance(i, dict))
                total = body.get("totalCount")
                if not page or not isinstance(total, int) or offset + len(page) >= total:
                    return items
                offset += len(page)

    def applications(self) -> list[dict[str, Any]]:
        return run_async(self.aapplications())

    def projects(self) -> list[Project]:
        return run_async(self.aprojects())

    def environments(self, project_key: str) -> list[Environment]:
        return run_async(self.aenvironments(project_key))

    def flags(
        self, project_key: str, env: str | None = None, *, archived: bool = False
    ) -> list[dict[str, Any]]:
        return run_async(self.aflags(project_key, env, archived=archived))

    def flag_statuses(self, project_key: str, env: str) -> list[dict[str, Any]]:
        return run_async(self.aflag_statuses(project_key, env))

    # -- cleanup: full targeting, code references, members, teams ----------------------------------------

    async def aflag_configs(self, project_key: str, env: str) -> list[dict[str, Any]]:
        """The flags with ``env``'s full configuration (prerequisites, targets, rules): LaunchDarkly includes
        them only with ``summary=0`` together with ``env``."""
        params = {"summary": "0", "env": env}
        return await self._collection(f"/api/v2/flags/{_seg(project_key)}", params, page_size=100)

    async def acode_ref_statistics(self, project_key: str) -> dict[str, Any]:
        """``GET /api/v2/code-refs/statistics/{projectKey}``: per flag key, the repositories that reference it
        on their default branch (``StatisticCollectionRep``; not paged)."""
        path = f"/api/v2/code-refs/statistics/{_seg(project_key)}"
        async with self._client() as http:
            body = await self._get(http, path, None, beta=False, gate=RateGate(1, 1), stats=FetchStats())
        if not isinstance(body, Mapping) or not isinstance(body.get("flags"), Mapping):
            raise MalformedResponseError(f"{path} answered without a flags map")
        return dict(body)

    async def amembers(self) -> list[dict[str, Any]]:
        return await self._collection("/api/v2/members", page_size=1000)

    async def ateams(self) -> list[dict[str, Any]]:
        return await self._collection("/api/v2/teams", page_size=100)

    def flag_configs(self, project_key: str, env: str) -> list[dict[str, Any]]:
        return run_async(self.aflag_configs(project_key, env))

    def code_ref_statistics(self, project_key: str) -> dict[str, Any]:
        return run_async(self.acode_ref_statistics(project_key))

    def members(self) -> list[dict[str, Any]]:
        return run_async(self.amembers())

    def teams(self) -> list[dict[str, Any]]:
        return run_async(self.ateams())

    # -- flag events ----------------------------------------------------------------------------------

    async def aflag_events(
        self,
        project_key: str,
        environment_key: str,
        from_ms: int,
        to_ms: int,
        *,
        query: str | None = None,
        impact_size: str | None = None,
        has_experiments: bool | None = None,
        include_global: bool = True,
        application_key: str | None = None,
        expand_experiments: bool = True,
        windows: list[Window] | None = None,
        probe: bool = False,
        on_page: PageCallback | None = None,
        on_total: TotalCallback | None = None,
        on_split: SplitCallback | None = None,
        collect: bool = True,
        stats: FetchStats | None = None,
        http: httpx.AsyncClient | None = None,
        gate: RateGate | None = None,
    ) -> FetchResult:
        """Every event in ``[from_ms, to_ms)``, each once. Windows overlap by 1 ms at their edges and
        results are deduplicated by ``id``: LaunchDarkly does not document whether ``from``/``to``
        are inclusive, so a boundary event is neither lost nor doubled whichever they are.

        ``probe``: each window is first asked for as a whole. LaunchDarkly answers its first page with
        ``totalCount``, so a quiet window (most keys of a wide account) costs one request; one of up to
        ``PROBE_SEQUENTIAL_PAGES`` pages is paged through as it is; a busier one is split into
        ``ceil(pages / PROBE_SEQUENTIAL_PAGES)`` windows (at most 16, each at least a day) fetched side
        by side, which costs at most one request (the probe) plus one partial page per extra window, about
        a tenth more. ``http``: an open client to share (many keys in one event loop, one connection pool);
        ``gate``: the rate gate to share with them.
        """
        windows = windows if windows is not None else split_windows(from_ms, to_ms)
        base: dict[str, Any] = {
            "projectKey": project_key,
            "environmentKey": environment_key,
            "limit": PAGE_LIMIT,
            "global": "include" if include_global else "exclude",
        }
        if expand_experiments:
            base["expand"] = "experiments"
        for name, value in (
            ("query", query),
            ("impactSize", impact_size),
            ("applicationKey", application_key),
        ):
            if value:
                base[name] = value
        if has_experiments is not None:
            base["hasExperiments"] = "true" if has_experiments else "false"
        stats = stats if stats is not None else FetchStats()
        gate = gate or self.new_gate()
        seen: dict[str, dict[str, Any]] = {}

        async def one(
            http: httpx.AsyncClient, window: Window, probe: bool = probe, counted: bool = True
        ) -> None:
            params: dict[str, Any] | None = dict(base, **{"from": window.start - 1, "to": window.end})
            url = FLAG_EVENTS_PATH
            hrefs: set[str] = set()
            here: set[str] = set()  # ids this window's pages sent: a page of repeats is no progress
            empty = received = 0
            while True:
                body = await self._get(http, url, params, beta=True, gate=gate, stats=stats)
                page = body.get("items") if isinstance(body, Mapping) else None
                if not isinstance(page, list):
                    raise MalformedResponseError("the flag-events page had no items list")
                stats.pages += 1
                received += len(page)
                good = []
                progress = False
                for raw in page:
                    try:
                        event_id = storable_event_id(raw)
                    except (ValueError, TypeError, OverflowError) as exc:
                        stats.malformed += 1
                        log.warning("skipped a malformed flag event: %s", exc)
                        continue
                    good.append(raw)
                    if event_id not in here:
                        here.add(event_id)
                        progress = True
                    if event_id not in seen:
                        stats.events += 1
                        seen[event_id] = raw if collect else {}
                nxt = self._next_href(body)
                if nxt is None:
                    after = body.get("after") if isinstance(body, Mapping) else None
                    if isinstance(after, str) and after and page:
                        nxt = str(
                            httpx.URL(self.base_url)
                            .join(FLAG_EVENTS_PATH)
                            .copy_merge_params(
                                dict(base, **{"from": window.start - 1, "to": window.end, "after": after})
                            )
                        )
                empty = empty + 1 if not progress else 0
                if nxt is not None and nxt in hrefs:
                    raise PaginationError(
                        "LaunchDarkly repeated the same next cursor; this window is "
                        "incomplete and was not recorded as fetched"
                    )
                if nxt is not None and empty >= MAX_EMPTY_PAGES:
                    raise PaginationError(
                        "LaunchDarkly sent empty pages (or pages of events already sent) that "
                        "still had next links; this window is incomplete and was not recorded "
                        "as fetched"
                    )
                total = body.get("totalCount") if isinstance(body, Mapping) else None
                count = (
                    total if isinstance(total, int) and not isinstance(total, bool) and total >= 0 else None
                )
                if on_total is not None and counted and not hrefs and count is not None:
                    on_total(window, count)  # the first page of this window: how many its pages will send
                if on_page is not None:
                    on_page(window, good, nxt is None)
                if probe and nxt is not None and not hrefs:
                    pages = math.ceil(count / PAGE_LIMIT) if count is not None else None
                    parts = [window]
                    if pages is None or pages > PROBE_SEQUENTIAL_PAGES:
                        ways = 16 if pages is None else min(16, math.ceil(pages / PROBE_SEQUENTIAL_PAGES))
                        parts = split_windows(window.start, window.end, max_windows=ways)
                    if len(parts) > 1:  # busy: its parts side by side (the probe's page is stored already)
                        if on_split is not None:
                            on_split(window, parts)
                        await gather_or_cancel(one(http, part, False, False) for part in parts)
                        return
                if nxt is None:
                    if isinstance(total, int) and total != received:
                        stats.warnings.append(f"totalCount {total} disagreed with the {received} items sent")
                    return
                hrefs.add(nxt)
                url, params = nxt, None

        if http is not None:
            await gather_or_cancel(one(http, w) for w in windows)
        else:
            async with self._client() as own:
                await gather_or_cancel(one(own, w) for w in windows)
        items = sorted(seen.values(), key=lambda i: (i["eventTime"], i["id"])) if collect else []
        return FetchResult(items=items, windows=windows, stats=stats)

    def flag_events(
        self, project_key: str, environment_key: str, from_ms: int, to_ms: int, **kwargs: Any
    ) -> FetchResult:
        return run_async(self.aflag_events(project_key, environment_key, from_ms, to_ms, **kwargs))


def _parsed(cls: Any, item: Mapping[str, Any], path: str) -> Any:
    """A project or environment that cannot be read is a typed error naming the endpoint, not a crash."""
    try:
        return cls.from_api(item)
    except (ValueError, TypeError, KeyError) as exc:
        raise MalformedResponseError(f"{path} sent an item that could not be read ({exc})") from None


def _seg(value: str) -> str:
    """Keys go into paths; quote them so a hostile key cannot change the path."""
    from urllib.parse import quote

    return quote(value, safe="")
