"""The REST client against a local fake: paging, windows, retries, typed errors, secrecy."""

from __future__ import annotations

import logging

import httpx
import pytest

from ldclient.api.client import LDClient, RetryPolicy, split_windows
from ldclient.errors import (
    APIConnectionError,
    AuthenticationError,
    NotFoundError,
    PaginationError,
    PermissionDeniedError,
    ReadOnlyError,
    ServerError,
)
from tests.fakeapi import TOKEN, FakeAPI, make_event

DAY = 86_400_000
T0 = 1_780_000_000_000


class Sleeps:
    def __init__(self) -> None:
        self.calls: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


def client_for(api: FakeAPI, **kw) -> LDClient:
    kw.setdefault("sleep", Sleeps())
    return LDClient(TOKEN, "https://ld.test", transport=httpx.MockTransport(api), seed=1, **kw)


def events(n: int, span_ms: int = 30 * DAY) -> list[dict]:
    return [make_event(i, T0 + (span_ms * i) // n) for i in range(n)]


@pytest.mark.parametrize(
    "from_inclusive,to_inclusive", [(True, True), (False, False), (True, False), (False, True)]
)
def test_multi_page_multi_window_range_arrives_once(from_inclusive, to_inclusive):
    evs = events(3000)
    windows = split_windows(T0, T0 + 30 * DAY)
    # put events exactly on every window boundary too
    evs += [make_event(5000 + i, w.start) for i, w in enumerate(windows)]
    api = FakeAPI(evs, from_inclusive=from_inclusive, to_inclusive=to_inclusive)
    result = client_for(api).flag_events("web", "production", T0, T0 + 30 * DAY + 1)
    ids = [e["id"] for e in result.items]
    assert len(ids) == len(set(ids)) == len(evs)
    assert len(result.windows) > 1
    assert result.stats.pages > len(result.windows)  # some windows needed several pages
    assert [e["eventTime"] for e in result.items] == sorted(e["eventTime"] for e in result.items)


def test_next_link_is_followed_and_beta_header_sent():
    api = FakeAPI(events(250, span_ms=DAY // 2), page_size=100)
    result = client_for(api).flag_events("web", "production", T0, T0 + DAY, windows=None)
    reqs = api.flag_event_requests()
    assert len(result.items) == len([e for e in api.events if e["eventTime"] < T0 + DAY])
    assert any("after=" in str(r.url) for r in reqs)
    assert all(r.headers["LD-API-Version"] == "beta" for r in reqs)
    assert all(r.method == "GET" for r in reqs)


def test_429_with_retry_after_is_honoured():
    sleeps = Sleeps()

    def fault(request, n):
        if n <= 2:
            return httpx.Response(
                429, headers={"Retry-After": "3"}, json={"code": "rate_limited", "message": "slow"}
            )
        return None

    api = FakeAPI(events(10), fault=fault)
    result = client_for(api, sleep=sleeps).flag_events("web", "production", T0, T0 + 30 * DAY, windows=None)
    assert len(result.items) == 10
    assert sum(1 for s in sleeps.calls if s >= 3.0) >= 2
    assert result.stats.retries == 2


def test_5xx_recovers_and_persistent_5xx_is_a_typed_error():
    def flaky(request, n):
        return httpx.Response(503, json={"code": "service_unavailable", "message": "x"}) if n % 2 else None

    api = FakeAPI(events(300), fault=flaky)
    assert len(client_for(api).flag_events("web", "production", T0, T0 + 30 * DAY).items) == 300

    down = FakeAPI(events(3), fault=lambda r, n: httpx.Response(502, text="bad gateway"))
    with pytest.raises(ServerError) as info:
        client_for(down, retry=RetryPolicy(max_elapsed_s=5)).flag_events("web", "production", T0, T0 + DAY)
    assert info.value.status == 502 and "after retries" in str(info.value)


def test_connection_errors_retry_then_fail_clearly():
    def reset(request, n):
        raise httpx.ReadError("connection reset by peer")

    with pytest.raises(APIConnectionError, match="connection to LaunchDarkly failed"):
        client_for(FakeAPI([], fault=reset), retry=RetryPolicy(max_elapsed_s=3)).projects()


def test_typed_errors_and_their_messages():
    api = FakeAPI(events(3))
    bad = LDClient("wrong-token", "https://ld.test", transport=httpx.MockTransport(api))
    with pytest.raises(AuthenticationError, match="invalid or expired"):
        bad.flag_events("web", "production", T0, T0 + DAY)
    with pytest.raises(NotFoundError, match="project and environment keys"):
        client_for(api).flag_events("nope", "production", T0, T0 + DAY)
    forbidden = FakeAPI(
        [], fault=lambda r, n: httpx.Response(403, json={"code": "forbidden", "message": "no"})
    )
    with pytest.raises(PermissionDeniedError, match="engineering insights"):
        client_for(forbidden).flag_events("web", "production", T0, T0 + DAY)
    assert len(forbidden.requests) == 1  # never retried


def test_token_never_in_url_or_logs(caplog):
    caplog.set_level(logging.DEBUG)
    api = FakeAPI(events(150), fault=lambda r, n: httpx.Response(503) if n == 1 else None)
    client = client_for(api)
    client.flag_events("web", "production", T0, T0 + 30 * DAY)
    client.projects()
    assert all(TOKEN not in str(r.url) for r in api.requests)
    assert all(r.headers["Authorization"] == TOKEN for r in api.requests)
    assert TOKEN not in caplog.text and TOKEN not in repr(client)


def test_malformed_item_is_skipped_and_counted(caplog):
    evs = events(20, span_ms=DAY // 2)
    evs[3] = {"id": 42, "eventTime": "yesterday"}
    evs[7]["eventTime"] = None
    api = FakeAPI(evs)
    result = client_for(api).flag_events("web", "production", T0, T0 + DAY)
    assert len(result.windows) == 1
    assert result.stats.malformed == 2
    assert len(result.items) == 18
    assert "malformed" in caplog.text


def test_repeated_cursor_stops_with_error():
    def loop(request, n):
        body = {
            "totalCount": 5,
            "items": [make_event(n, T0 + n)],
            "_links": {"next": {"href": "/api/v2/engineering-insights/flag-events?after=same"}},
        }
        return httpx.Response(200, json=body)

    api = FakeAPI([], fault=loop)
    with pytest.raises(PaginationError, match="repeated"):
        client_for(api).flag_events("web", "production", T0, T0 + DAY)
    assert len(api.requests) <= 3


def test_next_link_to_another_host_is_refused():
    def evil(request, n):
        return httpx.Response(
            200,
            json={"items": [], "totalCount": 1, "_links": {"next": {"href": "https://evil.example/steal"}}},
        )

    api = FakeAPI([], fault=evil)
    with pytest.raises(PaginationError, match="another host"):
        client_for(api).flag_events("web", "production", T0, T0 + DAY)
    assert all(r.url.host == "ld.test" for r in api.requests)


def test_only_get_requests_are_possible():
    api = FakeAPI(events(1))
    client = client_for(api)
    http = client._client()
    import asyncio

    async def attempt():
        async with http:
            await http.post("/api/v2/flags/web", json={"key": "x"})

    with pytest.raises(ReadOnlyError):
        asyncio.run(attempt())
    assert api.requests == []
    assert not any(hasattr(client, m) for m in ("post", "patch", "put", "delete", "request"))


def test_projects_with_environments():
    projects = client_for(FakeAPI([])).projects()
    assert projects[0].key == "web" and projects[0].environments[0].critical is True


def test_split_windows_cover_range_exactly():
    ws = split_windows(0, 90 * DAY)
    assert ws[0].start == 0 and ws[-1].end == 90 * DAY
    assert all(a.end == b.start for a, b in zip(ws, ws[1:], strict=False))
    assert split_windows(5, 5) == []
