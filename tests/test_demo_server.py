"""The demo server stands in for LaunchDarkly: these tests hold it to LaunchDarkly's REST contract through a
real local HTTP server and plain ``httpx`` (never the project's client), and prove LaunchDarkly's own
generated client reads it too."""

from __future__ import annotations

import argparse
import asyncio
import threading
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pytest

from ldclient.api.client import LDClient
from ldclient.demo import (
    FLAG_EVENTS_PATH,
    DemoAccount,
    DemoApi,
    DemoFaults,
    DemoTransport,
    RunningServer,
    add_cli_arguments,
    faults_from_args,
    generate_account,
    start_server_in_thread,
)
from ldclient.timeutil import DAY_MS

NOW = 1_749_945_600_000  # 2025-06-15T00:00:00Z, also the server's clock here
HEADERS = {"Authorization": "api-demo-token", "LD-API-Version": "beta"}
WINDOW = {"from": NOW - 180 * DAY_MS, "to": NOW}


@pytest.fixture(scope="module")
def account() -> DemoAccount:
    return generate_account(seed=7, now_ms=NOW)


@pytest.fixture(scope="module")
def server(account: DemoAccount) -> Iterator[RunningServer]:
    with start_server_in_thread(DemoApi(account, clock=lambda: NOW)) as running:
        yield running


@pytest.fixture()
def client(server: RunningServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base_url, headers=HEADERS, timeout=10) as http:
        yield http


def _served(account: DemoAccount, project: str, env: str, with_global: bool = True) -> list[dict[str, Any]]:
    """What LaunchDarkly would list for the env: its events plus the project's global ones."""
    return [
        e
        for e in account.events
        if e["projectKey"] == project
        and (e.get("environmentKey") == env or (with_global and "environmentKey" not in e))
    ]


def _events(client: httpx.Client, **params: Any) -> httpx.Response:
    return client.get(FLAG_EVENTS_PATH, params=params)


def _page_all(client: httpx.Client, **params: Any) -> tuple[list[dict[str, Any]], list[int], int]:
    """Follow ``_links.next`` to the end: (items, totalCount of every page, pages)."""
    items: list[dict[str, Any]] = []
    totals: list[int] = []
    response = _events(client, **params)
    while True:
        assert response.status_code == 200, response.text
        body = response.json()
        items += body["items"]
        totals.append(body["totalCount"])
        nxt = body["_links"].get("next")
        if nxt is None:
            return items, totals, len(totals)
        assert nxt["href"].startswith(FLAG_EVENTS_PATH + "?") and nxt["type"] == "application/json"
        response = client.get(nxt["href"])


def _assert_error(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["code"] == code and isinstance(body["message"], str) and body["message"]
    assert response.headers["content-type"].startswith("application/json")


def test_every_request_needs_an_authorization_header(server: RunningServer) -> None:
    for path in ("/api/v2/projects", "/api/v2/flags/web-storefront", FLAG_EVENTS_PATH):
        url = server.base_url + path
        _assert_error(httpx.get(url, headers={"LD-API-Version": "beta"}), 401, "unauthorized")
        _assert_error(httpx.get(url, headers={"Authorization": ""}), 401, "unauthorized")


def test_flag_events_need_the_beta_header(client: httpx.Client) -> None:
    response = client.get(
        FLAG_EVENTS_PATH,
        params={"projectKey": "web-storefront", "environmentKey": "test"},
        headers={"LD-API-Version": "20240415"},
    )
    _assert_error(response, 403, "forbidden")


@pytest.mark.parametrize(
    "params",
    [
        {"limit": 101},
        {"limit": 0},
        {"limit": "many"},
        {"impactSize": "huge"},
        {"global": "sometimes"},
        {"hasExperiments": "maybe"},
        {"from": NOW, "to": NOW - 1},
        {"after": "%%%"},
        {"after": "MTox", "before": "MTox"},
    ],
)
def test_bad_flag_event_queries_are_400(client: httpx.Client, params: dict[str, Any]) -> None:
    _assert_error(
        _events(client, projectKey="web-storefront", environmentKey="production", **params),
        400,
        "invalid_request",
    )


def test_project_and_environment_keys_are_required_and_must_exist(client: httpx.Client) -> None:
    _assert_error(_events(client, environmentKey="production"), 400, "invalid_request")
    _assert_error(_events(client, projectKey="web-storefront"), 400, "invalid_request")
    _assert_error(_events(client, projectKey="nope", environmentKey="production"), 404, "not_found")
    _assert_error(_events(client, projectKey="web-storefront", environmentKey="prod-eu"), 404, "not_found")
    for path in (
        "/api/v2/projects/nope",
        "/api/v2/projects/nope/environments",
        "/api/v2/flags/nope",
        "/api/v2/flag-statuses/nope/production",
        "/api/v2/flag-statuses/mobile-app/nope",
        "/api/v2/flags/mobile-app/no-such-flag",
        "/api/v2/no-such-resource",
    ):
        _assert_error(client.get(path), 404, "not_found")


def test_paging_returns_every_event_once_newest_first(client: httpx.Client, account: DemoAccount) -> None:
    expected = _served(account, "payments-platform", "production")
    items, totals, pages = _page_all(
        client, projectKey="payments-platform", environmentKey="production", limit=100, **WINDOW
    )
    ids = [e["id"] for e in items]
    assert len(ids) == len(set(ids)) == len(expected) == totals[0]
    assert set(ids) == {e["id"] for e in expected}
    assert set(totals) == {len(expected)} and pages == -(-len(expected) // 100)
    keys = [(-e["eventTime"], e["id"]) for e in items]
    assert keys == sorted(keys)
    assert all("experiments" not in e for e in items)  # only with expand=experiments


def test_default_page_size_and_links(client: httpx.Client, account: DemoAccount) -> None:
    body = _events(client, projectKey="mobile-app", environmentKey="staging", **WINDOW).json()
    assert len(body["items"]) == 20
    assert body["_links"]["self"]["href"].startswith(FLAG_EVENTS_PATH + "?projectKey=mobile-app")
    second = client.get(body["_links"]["next"]["href"]).json()
    back = client.get(second["_links"]["prev"]["href"]).json()
    assert [e["id"] for e in back["items"]] == [e["id"] for e in body["items"]]
    assert "prev" not in body["_links"]


def test_default_window_is_the_last_seven_days(client: httpx.Client, account: DemoAccount) -> None:
    served = _served(account, "web-storefront", "production")
    expected = [e for e in served if e["eventTime"] >= NOW - 7 * DAY_MS]
    body = _events(client, projectKey="web-storefront", environmentKey="production").json()
    assert body["totalCount"] == len(expected) > 0


def test_from_and_to_are_inclusive(client: httpx.Client, account: DemoAccount) -> None:
    served = _served(account, "web-storefront", "staging")
    moment = served[len(served) // 2]["eventTime"]
    at_moment = {e["id"] for e in served if e["eventTime"] == moment}
    body = _events(
        client,
        projectKey="web-storefront",
        environmentKey="staging",
        limit=100,
        **{"from": moment, "to": moment},
    ).json()
    assert {e["id"] for e in body["items"]} == at_moment
    span = _events(
        client,
        projectKey="web-storefront",
        environmentKey="staging",
        **{"from": moment - DAY_MS, "to": moment},
    ).json()
    assert span["totalCount"] == sum(1 for e in served if moment - DAY_MS <= e["eventTime"] <= moment)


def test_filters(client: httpx.Client, account: DemoAccount) -> None:
    served = _served(account, "web-storefront", "production")
    base = {"projectKey": "web-storefront", "environmentKey": "production", "limit": 100, **WINDOW}

    items, totals, _ = _page_all(client, query="CHECKOUT", **base)
    assert len(items) == totals[0] == sum(1 for e in served if "checkout" in e["flagKey"]) > 0
    assert all("checkout" in e["flagKey"] for e in items)

    for size in ("none", "small", "medium", "large"):
        body = _events(client, impactSize=size, **base).json()
        assert body["totalCount"] == sum(1 for e in served if e["impact"]["size"] == size) > 0
        assert all(e["impact"]["size"] == size for e in body["items"])

    with_exp, _, _ = _page_all(client, hasExperiments="true", expand="experiments", **base)
    without = _events(client, hasExperiments="false", **base).json()["totalCount"]
    assert with_exp and all(e["experiments"]["totalCount"] > 0 for e in with_exp)
    assert len(with_exp) + without == len(served)

    local, totals, _ = _page_all(client, **{**base, "global": "exclude"})
    assert len(local) == totals[0] == sum(1 for e in served if "environmentKey" in e)
    assert all(e["environmentKey"] == "production" for e in local)
    assert _events(client, **base).json()["totalCount"] > totals[0]

    expanded = _events(client, expand="experiments", **base).json()["items"]
    assert all({"totalCount", "items"} <= set(e["experiments"]) for e in expanded)
    assert _events(client, applicationKey="storefront-web", **base).json()["totalCount"] == 0


def test_events_added_later_are_served(account: DemoAccount) -> None:
    fresh = generate_account(seed=5, now_ms=NOW, events_target=2_000)
    with (
        start_server_in_thread(fresh) as running,
        httpx.Client(base_url=running.base_url, headers=HEADERS) as http,
    ):
        params = {"projectKey": "mobile-app", "environmentKey": "test", "global": "exclude", **WINDOW}
        before = _events(http, **params).json()["totalCount"]
        fresh.add_events(fresh.make_events(300, "mobile-app", "test", NOW - DAY_MS, NOW, seed=4))
        items, totals, _ = _page_all(http, limit=100, **params)
        assert totals[0] == len(items) == before + 300 == len({e["id"] for e in items})


def test_projects_and_environments(client: httpx.Client, account: DemoAccount) -> None:
    body = client.get("/api/v2/projects").json()
    assert body["totalCount"] == len(account.projects) and "self" in body["_links"]
    assert all("environments" not in p for p in body["items"])
    expanded = client.get("/api/v2/projects", params={"expand": "environments"}).json()["items"]
    for project, original in zip(expanded, account.projects, strict=True):
        assert project["environments"]["totalCount"] == len(original["environments"])
        served_keys = [e["key"] for e in project["environments"]["items"]]
        assert served_keys == [e["key"] for e in original["environments"]]
    first = client.get("/api/v2/projects", params={"limit": 1}).json()
    assert len(first["items"]) == 1
    assert client.get(first["_links"]["next"]["href"]).json()["items"][0]["key"] == account.projects[1]["key"]
    one = client.get("/api/v2/projects/payments-platform").json()
    assert one["key"] == "payments-platform" and "environments" not in one
    envs = client.get("/api/v2/projects/payments-platform/environments").json()
    assert {"items", "totalCount", "_links"} <= set(envs) and envs["totalCount"] == 4
    assert any(e["key"] == "prod-eu" and e["critical"] for e in envs["items"])


def test_flags_paging_filters_and_env(
    server: RunningServer, client: httpx.Client, account: DemoAccount
) -> None:
    live = [f for f in account.flags["mobile-app"] if not f["archived"]]
    seen: list[str] = []
    response = client.get("/api/v2/flags/mobile-app", params={"env": "production"})
    while True:
        body = response.json()
        assert body["totalCount"] == len(live) and len(body["items"]) <= 20
        for flag in body["items"]:
            assert set(flag["environments"]) == {"production"}
            seen.append(flag["key"])
        if "next" not in body["_links"]:
            break
        response = client.get(body["_links"]["next"]["href"])
    assert seen == [f["key"] for f in live]
    archived = client.get("/api/v2/flags/mobile-app", params={"filter": "archived:true", "limit": 100}).json()
    assert archived["totalCount"] == sum(f["archived"] for f in account.flags["mobile-app"]) > 0
    assert all(f["archived"] for f in archived["items"])
    # the client asks for them with filter=state:archived, the filter LaunchDarkly recommends now
    ld = LDClient("api-demo", server.base_url)
    assert {f["key"] for f in ld.flags("mobile-app", archived=True)} == {f["key"] for f in archived["items"]}
    assert {f["key"] for f in ld.flags("mobile-app")} == {f["key"] for f in live}
    found = client.get("/api/v2/flags/mobile-app", params={"filter": "query:login", "limit": 100}).json()
    assert found["items"] and all("login" in f["key"] or "login" in f["name"].lower() for f in found["items"])
    tagged = client.get("/api/v2/flags/mobile-app", params={"filter": "tags:ops", "limit": 100}).json()
    assert tagged["items"] and all("ops" in f["tags"] for f in tagged["items"])
    everything = client.get("/api/v2/flags/mobile-app", params={"limit": 5, "summary": "false"}).json()
    assert len(everything["items"][0]["environments"]) == 3
    _assert_error(client.get("/api/v2/flags/mobile-app", params={"limit": 101}), 400, "invalid_request")
    _assert_error(client.get("/api/v2/flags/mobile-app", params={"env": "prod-eu"}), 404, "not_found")


def test_flag_statuses(client: httpx.Client, account: DemoAccount) -> None:
    body = client.get("/api/v2/flag-statuses/payments-platform/prod-eu").json()
    assert "self" in body["_links"]
    assert len(body["items"]) == len(account.flags["payments-platform"])
    assert {s["name"] for s in body["items"]} == {"new", "active", "inactive", "launched"}
    key = body["items"][0]["_links"]["parent"]["href"].rsplit("/", 1)[1]
    single = client.get(f"/api/v2/flag-statuses/payments-platform/prod-eu/{key}").json()
    assert single == body["items"][0]


def test_rate_limit_headers_and_request_accounting(server: RunningServer, client: httpx.Client) -> None:
    server.stats.reset()
    ok = _events(client, projectKey="mobile-app", environmentKey="test", **WINDOW)
    bad = client.get("/api/v2/projects/nope")
    for response in (ok, bad):
        assert int(response.headers["X-Ratelimit-Global-Remaining"]) > 0
        assert int(response.headers["X-Ratelimit-Route-Remaining"]) > 0
        assert int(response.headers["X-Ratelimit-Reset"]) > time.time() * 1000 - 1000
    assert server.stats.count("flag-events") == 1 and server.stats.count("project") == 1
    assert server.stats.total == 2 and server.stats.status_count(404) == 1


def test_concurrent_requests_page_consistently(server: RunningServer, account: DemoAccount) -> None:
    expected = {e["id"] for e in _served(account, "web-storefront", "test")}
    results: list[set[str]] = []

    def crawl() -> None:
        with httpx.Client(base_url=server.base_url, headers=HEADERS, timeout=10) as http:
            items, _, _ = _page_all(
                http, projectKey="web-storefront", environmentKey="test", limit=100, **WINDOW
            )
            results.append({e["id"] for e in items})

    threads = [threading.Thread(target=crawl) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(results) == 4 and all(r == expected for r in results)


def test_injected_rate_limits(account: DemoAccount) -> None:
    faults = DemoFaults(rate_limit_every=3, retry_after_s=0.5)
    with (
        start_server_in_thread(account, faults) as running,
        httpx.Client(base_url=running.base_url, headers=HEADERS) as http,
    ):
        responses = [http.get("/api/v2/projects") for _ in range(9)]
    assert [r.status_code for r in responses] == [200, 200, 429] * 3
    limited = responses[2]
    _assert_error(limited, 429, "rate_limited")
    assert limited.headers["Retry-After"] == "0.5"
    assert limited.headers["X-Ratelimit-Route-Remaining"] == "0"
    assert limited.headers["X-Ratelimit-Global-Remaining"] == "0"
    assert int(limited.headers["X-Ratelimit-Reset"]) >= time.time() * 1000


def test_injected_server_errors_at_the_configured_rate(account: DemoAccount) -> None:
    faults = DemoFaults(error_rate=0.3, seed=4)
    with (
        start_server_in_thread(account, faults) as running,
        httpx.Client(base_url=running.base_url, headers=HEADERS) as http,
    ):
        responses = [http.get("/api/v2/projects/web-storefront") for _ in range(300)]
        assert running.stats.total == 300
    failed = [r for r in responses if r.status_code != 200]
    assert 0.2 * 300 < len(failed) < 0.4 * 300
    statuses = {r.status_code for r in failed}
    assert statuses <= {500, 502, 503, 504} and len(statuses) > 1
    for r in failed:
        assert r.json()["code"] and r.json()["message"]


def test_injected_latency_is_observable(account: DemoAccount) -> None:
    with start_server_in_thread(account, DemoFaults(latency_s=0.2)) as running:
        with httpx.Client(base_url=running.base_url, headers=HEADERS) as http:
            started = time.perf_counter()
            assert http.get("/api/v2/projects").status_code == 200
            assert time.perf_counter() - started >= 0.2
        running.api.faults = DemoFaults()
        with httpx.Client(base_url=running.base_url, headers=HEADERS) as http:
            started = time.perf_counter()
            http.get("/api/v2/projects")
            assert time.perf_counter() - started < 0.2


def test_transport_serves_sync_and_async_clients(account: DemoAccount) -> None:
    transport = DemoTransport(DemoApi(account, DemoFaults(latency_s=0.2), clock=lambda: NOW))
    with httpx.Client(transport=transport, base_url="https://app.launchdarkly.com", headers=HEADERS) as http:
        assert http.get("/api/v2/projects").json()["totalCount"] == len(account.projects)

    async def burst() -> list[int]:
        async with httpx.AsyncClient(
            transport=transport, base_url="https://app.launchdarkly.com", headers=HEADERS
        ) as http:
            responses = await asyncio.gather(
                *(
                    http.get(
                        FLAG_EVENTS_PATH, params={"projectKey": "web-storefront", "environmentKey": "test"}
                    )
                    for _ in range(5)
                )
            )
            return [r.status_code for r in responses]

    started = time.perf_counter()
    assert asyncio.run(burst()) == [200] * 5
    assert time.perf_counter() - started < 0.6  # the five sleeps overlapped: latency never blocks the loop
    assert transport.stats.count("flag-events") == 5


def test_cli_arguments_build_faults() -> None:
    parser = add_cli_arguments(argparse.ArgumentParser())
    ns = parser.parse_args(
        [
            "--port",
            "0",
            "--seed",
            "3",
            "--latency-ms",
            "250",
            "--rate-limit-every",
            "5",
            "--retry-after",
            "2",
            "--error-rate",
            "0.1",
        ]
    )
    assert (ns.host, ns.port, ns.seed) == ("127.0.0.1", 0, 3)
    assert faults_from_args(ns) == DemoFaults(
        latency_s=0.25, rate_limit_every=5, retry_after_s=2.0, error_rate=0.1
    )
    assert faults_from_args(parser.parse_args([])) == DemoFaults()
    with pytest.raises(SystemExit):
        parser.parse_args(["--error-rate", "1.5"])


def test_launchdarklys_generated_client_reads_the_demo(server: RunningServer, account: DemoAccount) -> None:
    lda = pytest.importorskip(
        "launchdarkly_api", reason="launchdarkly-api (LaunchDarkly's generated client) is not installed"
    )
    from launchdarkly_api.api import feature_flags_api, insights_flag_events_beta_api, projects_api

    config = lda.Configuration(host=server.base_url, api_key={"ApiKey": "api-demo-token"})
    with lda.ApiClient(config) as api_client:
        projects = projects_api.ProjectsApi(api_client).get_projects(expand="environments")
        assert [p.key for p in projects.items] == [p["key"] for p in account.projects]
        payments = {e.key for e in projects.items[2].environments.items}
        assert payments == {"production", "prod-eu", "staging", "test"}
        flags_api = feature_flags_api.FeatureFlagsApi(api_client)
        flags = flags_api.get_feature_flags("web-storefront", env="production", limit=100)
        assert len(flags.items) == 100 and flags.items[0].environments["production"].on in (True, False)
        statuses = flags_api.get_feature_flag_statuses("web-storefront", "production")
        assert {s.name for s in statuses.items} == {"new", "active", "inactive", "launched"}

    with lda.ApiClient(config) as api_client:
        # the generated client sends LD-API-Version: 20240415 by default; beta resources need "beta"
        api_client.set_default_header("LD-API-Version", "beta")
        events_api = insights_flag_events_beta_api.InsightsFlagEventsBetaApi(api_client)
        seen: list[str] = []
        after = None
        since = NOW - 60 * DAY_MS
        while True:
            page = events_api.get_flag_events(
                "payments-platform",
                "prod-eu",
                limit=100,
                var_from=since,
                to=NOW,
                expand="experiments",
                after=after,
            )
            seen += [str(e.id) for e in page.items]
            nxt = (page.links or {}).get("next")
            if nxt is None:
                break
            after = parse_qs(urlparse(nxt.href).query)["after"][0]
        expected = [e for e in _served(account, "payments-platform", "prod-eu") if e["eventTime"] >= since]
        assert len(seen) == len(set(seen)) == page.total_count == len(expected) > 100
        sized = events_api.get_flag_events(
            "payments-platform",
            "production",
            impact_size="large",
            limit=5,
            var_from=WINDOW["from"],
            to=WINDOW["to"],
        )
        assert sized.items and all(e.impact.size == "large" for e in sized.items)
