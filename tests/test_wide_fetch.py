"""Fetching many keys, most of them quiet: what the speed of ``refresh_keys`` and probing must not cost.

A probed range is asked for whole first; LaunchDarkly's ``totalCount`` on that first page decides: a quiet
key is done in one request, a key of up to ten pages is paged through, a busier one is split into windows
fetched side by side. Every case is checked against what the real HTTP demo server holds.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import httpx
import pytest

from ldclient.api.client import PAGE_LIMIT, PROBE_SEQUENTIAL_PAGES, LDClient, RetryPolicy, split_windows
from ldclient.demo import DemoFaults, default_now_ms, make_events, start_server_in_thread
from ldclient.demo.wide import ids_of, wide_account
from ldclient.store import SQLiteStore, StoreKey
from ldclient.sync import RefreshPlan, refresh, refresh_keys
from tests.fakeapi import TOKEN
from tests.support import Sleeps, assert_store_honest, key_events, stored_ids

DAY = 86_400_000
ANCHOR = default_now_ms()
LO, HI = ANCHOR - 90 * DAY, ANCHOR - DAY
# (project index, environment) -> events in [LO, HI): one busy key, a few middling, the rest quiet or empty
SIZES = {(0, "production"): 2_450, (0, "staging"): 640, (1, "production"): 101, (1, "staging"): 100}
QUIET = 40


def size_of(i: int, env: str) -> int:
    return SIZES.get((i, env), QUIET if i % 3 else 0)


@pytest.fixture(scope="module")
def account():
    acc = wide_account(12, ("production", "staging"), ANCHOR)
    events = []
    for i, project in enumerate(acc.projects):
        for env in project["environments"]:
            n = size_of(i, env["key"])
            if n:
                events += make_events(n, project["key"], env["key"], LO, HI, seed=i, **ids_of(env, project))
    acc.add_events(events)
    return acc


@pytest.fixture
def server(account):
    with start_server_in_thread(account) as running:
        yield running


@pytest.fixture
def store(tmp_path):
    s = SQLiteStore(tmp_path / "events.sqlite")
    yield s
    s.close()


def client_for(server, **kw) -> LDClient:
    return LDClient(TOKEN, server.base_url, sleep=Sleeps(), seed=1, **kw)


def keys_of(account, source: str) -> list[StoreKey]:
    return [StoreKey(source, p["key"], e["key"]) for p in account.projects for e in p["environments"]]


def truth(account, key: StoreKey) -> list[dict]:
    return [e for e in key_events(account.events, key.project, key.environment) if LO <= e["eventTime"] < HI]


@pytest.mark.parametrize(
    ("i", "env", "requests"),
    [
        (5, "production", 1),  # quiet: 40 events, the probe's first page holds them all
        (3, "production", 1),  # empty: one request says so
        (1, "staging", 1),  # exactly one page
        (1, "production", 2),  # one past a page: the probe's next link, one more request
        (0, "staging", 7),  # 640 events: seven pages, one after another (not split)
    ],
)
def test_a_key_of_up_to_ten_pages_costs_its_pages_and_no_more(server, account, store, i, env, requests):
    key = StoreKey(server.base_url, f"bench-p{i:03d}", env)
    report = refresh(client_for(server), store, key, LO, HI, now=ANCHOR)
    assert report.ok, report.error
    expected = truth(account, key)
    assert math.ceil(max(1, len(expected)) / PAGE_LIMIT) == requests  # the table above is what it says
    assert report.requests == requests == server.stats.count("flag-events")
    assert store.covered(key) == [(LO, HI)]
    assert sorted(stored_ids(store, key)[0]) == sorted(e["id"] for e in expected)


def recording(server, seen: list[httpx.Request]) -> Callable[[httpx.Request], httpx.Response]:
    handle = server.api.handle

    def record(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/flag-events"):
            seen.append(request)
        return handle(request)

    return record


def test_a_busy_key_is_still_split_and_costs_about_a_tenth_more_than_its_pages(
    server, account, store, monkeypatch
):
    seen: list[httpx.Request] = []
    monkeypatch.setattr(server.api, "handle", recording(server, seen))
    key = StoreKey(server.base_url, "bench-p000", "production")
    report = refresh(client_for(server), store, key, LO, HI, now=ANCHOR)
    assert report.ok, report.error
    expected = truth(account, key)
    pages = math.ceil(len(expected) / PAGE_LIMIT)  # 25
    parts = split_windows(LO, HI, max_windows=math.ceil(pages / PROBE_SEQUENTIAL_PAGES))  # 3, side by side
    assert len(parts) == 3
    assert pages < report.requests <= 1 + pages + len(parts)  # the probe, the pages, a partial page per part
    assert report.requests == server.stats.count("flag-events") == len(seen)
    first_pages = [
        (int(r.url.params["from"]), int(r.url.params["to"])) for r in seen if "after" not in r.url.params
    ]
    assert first_pages[0] == (LO - 1, HI)  # the probe asks for the whole range
    assert sorted(first_pages[1:]) == [(w.start - 1, w.end) for w in parts]
    assert store.covered(key) == [(LO, HI)]  # the parts' ranges, merged
    assert_store_honest(store, key, expected)
    assert len(stored_ids(store, key)[0]) == len(expected)


def test_every_key_at_once_costs_a_request_per_quiet_key(server, account, store):
    keys = keys_of(account, server.base_url)
    done: list[StoreKey] = []
    reports = refresh_keys(
        client_for(server), store, keys, RefreshPlan(LO, HI, now=ANCHOR), on_done=lambda r: done.append(r.key)
    )
    assert [r.key for r in reports] == keys and sorted(done, key=keys.index) == keys
    assert all(r.ok for r in reports), [r.error for r in reports if not r.ok]
    floor = sum(
        math.ceil(size_of(i, e) / PAGE_LIMIT) or 1 for i in range(12) for e in ("production", "staging")
    )
    assert server.stats.count("flag-events") == sum(r.requests for r in reports)
    assert floor <= server.stats.count("flag-events") <= 1.1 * floor + 1  # the busy key's probe and parts
    for key in keys:
        assert store.covered(key) == [(LO, HI)], key
        assert_store_honest(store, key, truth(account, key))
        assert len(stored_ids(store, key)[0]) == len(truth(account, key)), key
    before = server.stats.count("flag-events")
    again = refresh_keys(client_for(server), store, keys, RefreshPlan(LO, HI, now=ANCHOR))
    assert server.stats.count("flag-events") == before and all(r.requests == 0 for r in again)


def test_a_429_storm_across_keys_loses_and_doubles_nothing(server, account, store):
    server.api.faults = DemoFaults(rate_limit_every=4, retry_after_s=0.5)  # every fourth request refused
    sleeps = Sleeps()
    client = LDClient(TOKEN, server.base_url, sleep=sleeps, seed=3, retry=RetryPolicy(max_elapsed_s=600))
    keys = keys_of(account, server.base_url)
    reports = refresh_keys(client, store, keys, RefreshPlan(LO, HI, now=ANCHOR))
    assert all(r.ok for r in reports), [r.error for r in reports if not r.ok]
    assert server.stats.status_count(429) > 0
    assert any(s >= 0.5 for s in sleeps.calls)  # Retry-After was honoured
    for key in keys:
        assert store.covered(key) == [(LO, HI)], key
        assert len(stored_ids(store, key)[0]) == len(truth(account, key)), key
        assert_store_honest(store, key, truth(account, key))


def test_a_failing_part_of_a_split_key_is_not_recorded_and_the_rest_is(server, account, store, monkeypatch):
    key = StoreKey(server.base_url, "bench-p000", "production")
    pages = math.ceil(len(truth(account, key)) / PAGE_LIMIT)
    parts = split_windows(LO, HI, max_windows=math.ceil(pages / PROBE_SEQUENTIAL_PAGES))
    doomed = parts[1]
    handle = server.api.handle
    refused = {"n": 0}

    def failing(request: httpx.Request) -> httpx.Response:
        if request.url.params.get("from") == str(doomed.start - 1):
            refused["n"] += 1
            return httpx.Response(500, json={"code": "internal_server_error", "message": "boom"})
        return handle(request)

    monkeypatch.setattr(server.api, "handle", failing)
    report = refresh(client_for(server, retry=RetryPolicy(max_elapsed_s=1)), store, key, LO, HI, now=ANCHOR)
    assert report.error is not None and refused["n"] >= 2
    covered = store.covered(key)
    assert all(end <= doomed.start or start >= doomed.end for start, end in covered)
    assert_store_honest(store, key, truth(account, key))


def test_a_global_budget_of_ten_requests_a_second_is_waited_for_not_overrun(server, account, store):
    """LaunchDarkly's budget is global: the keys fetched side by side share it. The client reads what is left
    of it from every answer and waits for its reset, so nearly nothing is refused and nothing is lost."""
    server.api.faults = DemoFaults(budget_per_s=10)
    client = LDClient(TOKEN, server.base_url, seed=3, retry=RetryPolicy(max_elapsed_s=600))  # real sleeps
    keys = keys_of(account, server.base_url)
    reports = refresh_keys(client, store, keys, RefreshPlan(LO, HI, now=ANCHOR))
    assert all(r.ok for r in reports), [r.error for r in reports if not r.ok]
    sent, refused = server.stats.count("flag-events"), server.stats.status_count(429)
    assert sent > 30  # more than three seconds of budget: the waits were needed
    assert refused <= sent // 10, (refused, sent)  # without the waits, most requests past the first 10 fail
    for key in keys:
        assert store.covered(key) == [(LO, HI)], key
        assert_store_honest(store, key, truth(account, key))


def test_a_spent_budget_pauses_every_request_until_its_reset():
    import time

    from ldclient.api.client import RateGate

    gate = RateGate(4, 8)
    gate.active = 3  # three requests in flight: a budget of 2 left would refuse one of them
    reset_ms = int((time.time() + 30) * 1000)
    gate.observe({"X-Ratelimit-Global-Remaining": "2", "X-Ratelimit-Reset": str(reset_ms)})
    assert 25 < gate.paused_until - time.monotonic() <= 30 and gate.limit == 2
    calm = RateGate(4, 8)
    calm.active = 3
    calm.observe({"X-Ratelimit-Global-Remaining": "500", "X-Ratelimit-Reset": str(reset_ms)})
    assert calm.paused_until == 0.0 and calm.limit == 4  # budget to spare: no wait
