"""Faults: slow, throttled, failing, broken and lying APIs, and syncs killed mid-way.

Every case ends the same way: no crash, no hang (tight timeouts where a hang is possible, and measured
durations), either the full data or a typed error that names what failed, and the store never records a
range as complete unless it holds every event the server has in it (``assert_store_honest``).
"""

from __future__ import annotations

import json
import random
import signal
import time

import httpx
import pandas as pd
import pytest

from ldclient import clock
from ldclient.api.client import FLAG_EVENTS_PATH, MAX_EMPTY_PAGES, LDClient, RetryPolicy, split_windows
from ldclient.demo import DemoApi, DemoFaults, default_now_ms, generate_account, start_server_in_thread
from ldclient.errors import (
    APIConnectionError,
    MalformedResponseError,
    PaginationError,
    RateLimitedError,
    ServerError,
)
from ldclient.store import SQLiteStore, StoreKey
from ldclient.sync import refresh
from tests.fakeapi import TOKEN, FakeAPI, make_event
from tests.support import (
    BIG,
    CuttingServer,
    Sleeps,
    assert_store_honest,
    cli_env,
    key_events,
    popen_cli,
    run_cli,
    stored_ids,
)

DAY = 86_400_000
ANCHOR = default_now_ms()
PROJECT, ENV = "web-storefront", "production"
LO, HI = ANCHOR - 12 * DAY, ANCHOR - 2 * DAY  # ten one-day windows, several pages each


# -- the demo account over real HTTP, with faults swapped in per test -------------------------------------


@pytest.fixture(scope="module")
def account():
    acc = generate_account(seed=7, now_ms=ANCHOR)
    acc.add_events(acc.make_events(1500, PROJECT, ENV, LO, HI, seed=3))
    return acc


@pytest.fixture(scope="module")
def server(account):
    with start_server_in_thread(account) as running:
        yield running


@pytest.fixture
def demo(server):
    server.api.faults = None
    server.api.reset()
    yield server
    server.api.faults = None


@pytest.fixture
def store(tmp_path):
    s = SQLiteStore(tmp_path / "events.sqlite")
    yield s
    s.close()


def truth(account) -> list[dict]:
    return key_events(account.events, PROJECT, ENV)


def in_range(events, lo=LO, hi=HI) -> set[str]:
    return {e["id"] for e in events if lo <= e["eventTime"] < hi}


def demo_client(base_url: str, sleeps: Sleeps | None = None, **kw) -> LDClient:
    return LDClient(TOKEN, base_url, sleep=sleeps or Sleeps(), seed=1, **kw)


def sync(client: LDClient, store: SQLiteStore, source: str, lo: int = LO, hi: int = HI):
    key = StoreKey(source, PROJECT, ENV)
    started = time.monotonic()
    report = refresh(client, store, key, lo, hi, now=ANCHOR, probe=False)  # the windows these tests aim at
    return report, key, time.monotonic() - started


def assert_complete(store, key, account) -> None:
    assert store.covered(key) == [(LO, HI)]
    assert_store_honest(store, key, truth(account))
    assert set(stored_ids(store, key)[0]) >= in_range(truth(account))


@pytest.mark.timeout(30)
def test_latency_past_the_client_timeout_is_a_quick_typed_error(demo, account, store):
    demo.api.faults = DemoFaults(latency_s=1.5)
    client = demo_client(demo.base_url, timeout_s=0.25, retry=RetryPolicy(max_elapsed_s=1.0))
    report, key, elapsed = sync(client, store, demo.base_url)
    assert isinstance(report.error, APIConnectionError)
    assert "did not answer" in str(report.error) and FLAG_EVENTS_PATH in str(report.error)
    assert elapsed < 6, f"a 0.25 s timeout with a 1 s retry budget took {elapsed:.1f} s"
    assert store.covered(key) == []
    assert_store_honest(store, key, truth(account))
    assert store.last_refresh(key).outcome == "error"


@pytest.mark.timeout(60)
def test_a_429_storm_is_waited_out_as_retry_after_says_then_completes(demo, account, store):
    demo.api.faults = DemoFaults(rate_limit_every=2, retry_after_s=4)
    sleeps = Sleeps()
    report, key, elapsed = sync(demo_client(demo.base_url, sleeps), store, demo.base_url)
    assert report.ok, report.error
    throttled = demo.stats.status_count(429)
    assert throttled >= 5
    assert len([s for s in sleeps.calls if s >= 4.0]) >= throttled, "a 429 was retried before Retry-After"
    assert elapsed < 30  # the injected sleep waited; the test did not
    assert_complete(store, key, account)


@pytest.mark.timeout(30)
def test_a_429_storm_that_never_ends_is_a_rate_limit_error_and_records_nothing(demo, account, store):
    demo.api.faults = DemoFaults(rate_limit_every=1, retry_after_s=2)
    report, key, elapsed = sync(
        demo_client(demo.base_url, retry=RetryPolicy(max_elapsed_s=10)), store, demo.base_url
    )
    assert isinstance(report.error, RateLimitedError) and report.error.status == 429
    assert "rate limit" in str(report.error)
    assert elapsed < 15
    assert store.covered(key) == [] and stored_ids(store, key) == ([], [])


@pytest.mark.timeout(60)
def test_bursts_of_5xx_are_retried_to_the_full_data(demo, account, store):
    demo.api.faults = DemoFaults(error_rate=0.45, seed=5)
    report, key, elapsed = sync(demo_client(demo.base_url), store, demo.base_url)
    assert report.ok, report.error
    for status in (500, 502, 503, 504):
        assert demo.stats.status_count(status) >= 1, status
    assert elapsed < 30
    assert_complete(store, key, account)


@pytest.mark.timeout(30)
def test_5xx_that_never_stop_are_a_server_error_naming_the_endpoint(demo, account, store):
    demo.api.faults = DemoFaults(error_rate=1.0, seed=2)
    report, key, elapsed = sync(
        demo_client(demo.base_url, retry=RetryPolicy(max_elapsed_s=5)), store, demo.base_url
    )
    assert isinstance(report.error, ServerError) and report.error.status in (500, 502, 503, 504)
    assert FLAG_EVENTS_PATH in str(report.error) and report.error.path == FLAG_EVENTS_PATH
    assert elapsed < 15
    assert store.covered(key) == [] and stored_ids(store, key) == ([], [])


# -- connections reset mid-body ----------------------------------------------------------------------------


@pytest.fixture
def cutting(account):
    servers = []

    def start(cut):
        server = CuttingServer(DemoApi(account), cut)
        servers.append(server)
        return server

    yield start
    for s in servers:
        s.stop()


@pytest.mark.timeout(60)
def test_connections_reset_mid_body_are_retried_to_the_full_data(cutting, account, store):
    count = {"n": 0}

    def every_third(request: httpx.Request) -> bool:
        count["n"] += 1
        return count["n"] % 3 == 0

    server = cutting(every_third)
    report, key, _ = sync(demo_client(server.base_url), store, server.base_url)
    assert report.ok, report.error
    assert server.cuts >= 3
    assert_complete(store, key, account)


@pytest.mark.timeout(30)
def test_a_window_whose_connection_always_breaks_is_not_recorded_and_the_error_says_so(
    cutting, account, store
):
    doomed = split_windows(LO, HI)[4]
    server = cutting(lambda r: r.url.params.get("from") == str(doomed.start - 1))
    client = demo_client(server.base_url, retry=RetryPolicy(max_elapsed_s=2))
    report, key, elapsed = sync(client, store, server.base_url)
    assert isinstance(report.error, APIConnectionError)
    assert "connection to LaunchDarkly failed" in str(report.error) and FLAG_EVENTS_PATH in str(report.error)
    assert elapsed < 15 and server.cuts >= 2
    assert all(end <= doomed.start or start >= doomed.end for start, end in store.covered(key))
    assert_store_honest(store, key, truth(account))


# -- pages that lie: a FakeAPI whose answers are tampered with ------------------------------------------------

T0 = 1_780_000_000_000
F_LO, F_HI = T0, T0 + 3 * DAY  # three one-day windows of about 170 events: two pages each
WINDOWS = split_windows(F_LO, F_HI)


def fake_events(n: int = 500) -> list[dict]:
    return [make_event(i, F_LO + (3 * DAY * i) // n + 1) for i in range(n)]


def window_of(request: httpx.Request) -> int:
    start = int(request.url.params["from"]) + 1
    return next(i for i, w in enumerate(WINDOWS) if w.start == start)


def tampered(api: FakeAPI, change) -> httpx.MockTransport:
    """``change(request, body)`` may return a new body (dict), a Response, raw bytes, or None (unchanged)."""

    def handler(request: httpx.Request) -> httpx.Response:
        response = api(request)
        if not request.url.path.endswith("/flag-events") or response.status_code != 200:
            return response
        out = change(request, json.loads(response.content))
        if out is None:
            return response
        if isinstance(out, httpx.Response):
            return out
        content = out if isinstance(out, bytes) else json.dumps(out).encode()
        return httpx.Response(200, content=content, headers={"Content-Type": "application/json"})

    return httpx.MockTransport(handler)


def fake_sync(transport, store, *, retry=None, lo=F_LO, hi=F_HI):
    client = LDClient(
        TOKEN,
        "https://ld.test",
        transport=transport,
        sleep=Sleeps(),
        seed=1,
        retry=retry or RetryPolicy(max_elapsed_s=5),
    )
    key = StoreKey("https://ld.test", "web", "production")
    started = time.monotonic()
    report = refresh(client, store, key, lo, hi, now=F_HI + DAY, probe=False)  # aims at WINDOWS
    return report, key, time.monotonic() - started


def is_later_page(request: httpx.Request) -> bool:
    return "after" in request.url.params


def assert_not_covered(store, key, window) -> None:
    """A window whose fetch failed is not recorded as covered, not even in part."""
    assert all(end <= window.start or start >= window.end for start, end in store.covered(key))


@pytest.mark.timeout(30)
def test_a_truncated_json_page_is_retried_and_then_a_typed_error(store):
    events = fake_events()
    api = FakeAPI(events)

    def truncate(request, body):
        if window_of(request) == 1 and is_later_page(request):
            return json.dumps(body).encode()[:-200]  # cut inside the items list
        return None

    report, key, elapsed = fake_sync(tampered(api, truncate), store)
    assert isinstance(report.error, MalformedResponseError)
    assert "unreadable page" in str(report.error) and FLAG_EVENTS_PATH in str(report.error)
    assert elapsed < 10
    window = WINDOWS[1]
    assert_not_covered(store, key, window)
    assert_store_honest(store, key, events)


@pytest.mark.timeout(30)
def test_a_page_truncated_once_is_fetched_again(store):
    events = fake_events()
    api = FakeAPI(events)
    cut = {"done": False}

    def truncate_once(request, body):
        if not cut["done"] and is_later_page(request):
            cut["done"] = True
            return json.dumps(body).encode()[:57]
        return None

    report, key, _ = fake_sync(tampered(api, truncate_once), store)
    assert report.ok and cut["done"]
    assert store.covered(key) == [(F_LO, F_HI)]
    assert_store_honest(store, key, events)
    assert len(stored_ids(store, key)[1]) == len(events)


def test_a_reset_mid_body_through_a_fake_transport_is_retried(store):
    events = fake_events()
    api = FakeAPI(events)
    resets = {"n": 0}

    class ResetMidBody(httpx.AsyncByteStream):
        def __init__(self, body: bytes) -> None:
            self.body = body

        async def __aiter__(self):
            yield self.body[:100]
            raise httpx.ReadError("connection reset by peer")

    def change(request, body):
        if resets["n"] < 3:
            resets["n"] += 1
            return httpx.Response(
                200,
                headers={"Content-Type": "application/json"},
                stream=ResetMidBody(json.dumps(body).encode()),
            )
        return None

    report, key, _ = fake_sync(tampered(api, change), store)
    assert report.ok, report.error
    assert resets["n"] == 3 and report.requests >= len(WINDOWS) * 2 + 3
    assert store.covered(key) == [(F_LO, F_HI)]
    assert_store_honest(store, key, events)


BAD_ITEMS = [
    None,
    5,
    "an event",
    [1, 2],
    {},
    {"id": 5, "flagKey": "f", "eventTime": F_LO + 10},
    {"id": "", "flagKey": "f", "eventTime": F_LO + 10},
    {"id": "bad-flag", "flagKey": None, "eventTime": F_LO + 10},
    {"id": "bad-time-text", "flagKey": "f", "eventTime": "yesterday"},
    {"id": "bad-time-bool", "flagKey": "f", "eventTime": True},
    {"id": "bad-time-null", "flagKey": "f", "eventTime": None},
    {"id": "bad-time-huge", "flagKey": "f", "eventTime": 1e300},
    {"id": "bad-time-bigint", "flagKey": "f", "eventTime": 10**25},
    {
        "id": "bad-before-text",
        "flagKey": "f",
        "eventTime": F_LO + 10,
        "impact": {"evaluationsSummary": {"variations": [{"value": True, "before": "many", "after": 1}]}},
    },
    {
        "id": "bad-after-list",
        "flagKey": "f",
        "eventTime": F_LO + 10,
        "impact": {"evaluationsSummary": {"variations": [{"value": True, "before": 1, "after": [2]}]}},
    },
    {"id": "bad-experiments-items", "flagKey": "f", "eventTime": F_LO + 10, "experiments": {"items": 5}},
    {
        "id": "bad-experiments-count",
        "flagKey": "f",
        "eventTime": F_LO + 10,
        "experiments": {"totalCount": 1e30},
    },
]
# Wrong types the dashboard can live with: kept, with the odd field read as unknown.
ODD_BUT_READABLE = [
    {"id": "odd-member", "flagKey": "f", "eventTime": F_LO + 11, "member": ["ada"], "actions": "updateOn"},
    {
        "id": "odd-description",
        "flagKey": "f",
        "eventTime": F_LO + 12,
        "description": 42,
        "impact": {"size": 3, "percentage": "high"},
    },
    {
        "id": "odd-variations",
        "flagKey": "f",
        "eventTime": F_LO + 13,
        "impact": {
            "evaluationsSummary": {"variations": [{"value": {"a": [1]}, "before": 1.5, "after": None}, 7]}
        },
    },
    {"id": "odd-float-time", "flagKey": "f", "eventTime": F_LO + 14.5, "experiments": {"totalCount": "3"}},
]


@pytest.mark.timeout(30)
def test_items_with_wrong_types_are_skipped_and_counted_never_a_crash(store):
    events = fake_events()
    api = FakeAPI(events)

    def inject(request, body):
        if window_of(request) == 0 and not is_later_page(request):
            body["items"] = [*BAD_ITEMS, *body["items"], *ODD_BUT_READABLE]
            return body
        return None

    report, key, _ = fake_sync(tampered(api, inject), store)
    assert report.ok, report.error
    assert report.malformed == len(BAD_ITEMS)
    assert store.covered(key) == [(F_LO, F_HI)]
    readable = [*events, *({**o, "eventTime": int(o["eventTime"])} for o in ODD_BUT_READABLE)]
    assert_store_honest(store, key, readable)
    frame = store.load_frame(key, F_LO, F_HI)
    assert len(frame) == len(readable)
    odd = frame.set_index("id").loc["odd-description"]
    assert odd["description"] == "" and pd.isna(odd["impact_size"]) and pd.isna(odd["impact_percentage"])


def test_eventtime_infinity_is_malformed_not_a_crash(store):
    events = fake_events(50)
    api = FakeAPI(events)

    def inject(request, body):
        if window_of(request) == 0:
            text = json.dumps(body)
            return text.replace(
                '"items": [',
                '"items": [{"id": "inf", "flagKey": "f", "eventTime": Infinity}, '
                '{"id": "nan", "flagKey": "f", "eventTime": NaN}, ',
                1,
            ).encode()
        return None

    report, key, _ = fake_sync(tampered(api, inject), store)
    assert report.ok, report.error
    assert report.malformed == 2
    assert_store_honest(store, key, events)


@pytest.mark.parametrize("body", [{"items": {"a": 1}}, [1, 2], "items", {"totalCount": 3}, None])
def test_a_page_without_an_items_list_is_a_typed_error(store, body):
    api = FakeAPI(fake_events(50))
    report, key, _ = fake_sync(
        tampered(api, lambda r, b: json.dumps(body).encode()), store, retry=RetryPolicy(max_elapsed_s=1)
    )
    assert isinstance(report.error, MalformedResponseError), report.error
    assert store.covered(key) == []


@pytest.mark.timeout(30)
def test_a_next_link_repeating_the_same_cursor_stops_and_records_nothing_false(store):
    events = fake_events()
    api = FakeAPI(events)

    def same_cursor(request, body):
        if window_of(request) == 2:  # page 2 is at after=100, and says page 3 is there too
            body["_links"]["next"] = {"href": request.url.copy_set_param("after", "100").raw_path.decode()}
        return body

    report, key, elapsed = fake_sync(tampered(api, same_cursor), store)
    assert isinstance(report.error, PaginationError) and "repeated" in str(report.error)
    assert elapsed < 10 and len(api.requests) < 20
    window = WINDOWS[2]
    assert_not_covered(store, key, window)
    assert_store_honest(store, key, events)


@pytest.mark.timeout(30)
def test_a_next_link_that_changes_but_serves_the_same_page_forever_stops(store):
    events = fake_events()
    api = FakeAPI(events)
    first_pages: dict[int, dict] = {}

    def treadmill(request, body):
        w = window_of(request)
        if w != 1:
            return None
        page = first_pages.setdefault(w, body)  # the same items every time, under a new cursor each time
        n = len(api.requests)
        return {
            **page,
            "_links": {"next": {"href": f"{FLAG_EVENTS_PATH}?{request.url.query.decode()}&n={n}"}},
        }

    report, key, elapsed = fake_sync(tampered(api, treadmill), store)
    assert isinstance(report.error, PaginationError), report.error
    assert elapsed < 10 and len(api.requests) < 30
    window = WINDOWS[1]
    assert_not_covered(store, key, window)
    assert_store_honest(store, key, events)


@pytest.mark.parametrize(
    "href",
    [
        5,
        ["x"],
        {"nested": True},
        "http://[::1",
        "http://ld.test:99999/x",
        "https://evil.example/api/v2/engineering-insights/flag-events",
    ],
)
def test_a_next_link_that_is_not_a_usable_url_is_a_pagination_error(store, href):
    events = fake_events(50)
    api = FakeAPI(events)

    def bad_next(request, body):
        if window_of(request) == 0:
            body["_links"] = {"next": {"href": href}}
        return body

    report, key, _ = fake_sync(tampered(api, bad_next), store)
    assert isinstance(report.error, PaginationError), report.error
    assert all(start >= WINDOWS[0].end for start, _ in store.covered(key))
    assert all(r.url.host == "ld.test" for r in api.requests)
    assert_store_honest(store, key, events)


def test_an_empty_page_with_a_next_link_is_followed_to_the_data(store):
    events = fake_events()
    api = FakeAPI(events)
    emptied = set()

    def empty_first(request, body):
        w = window_of(request)
        if w not in emptied and not is_later_page(request):
            emptied.add(w)
            return {
                "items": [],
                "totalCount": body["totalCount"],
                "_links": {"next": {"href": f"{FLAG_EVENTS_PATH}?{request.url.query.decode()}&after=0"}},
            }
        return None

    report, key, _ = fake_sync(tampered(api, empty_first), store)
    assert report.ok, report.error
    assert store.covered(key) == [(F_LO, F_HI)]
    assert_store_honest(store, key, events)
    assert len(stored_ids(store, key)[1]) == len(events)


@pytest.mark.timeout(30)
def test_endless_empty_pages_with_next_links_stop_and_record_nothing_false(store):
    events = fake_events()
    api = FakeAPI(events)

    def empty_forever(request, body):
        if window_of(request) == 0:
            n = len(api.requests)
            return {
                "items": [],
                "totalCount": 10,
                "_links": {"next": {"href": f"{FLAG_EVENTS_PATH}?{request.url.query.decode()}&page={n}"}},
            }
        return None

    report, key, elapsed = fake_sync(tampered(api, empty_forever), store)
    assert isinstance(report.error, PaginationError) and "empty pages" in str(report.error)
    first_window = [r for r in api.flag_event_requests() if window_of(r) == 0]
    assert len(first_window) <= MAX_EMPTY_PAGES + 1 and elapsed < 10
    assert all(start >= WINDOWS[0].end for start, _ in store.covered(key))
    assert_store_honest(store, key, events)


@pytest.mark.parametrize("total", [0, 10_000, -1])
def test_a_total_count_that_disagrees_keeps_the_data_and_warns(store, total):
    events = fake_events()
    api = FakeAPI(events)

    def lie(request, body):
        body["totalCount"] = total
        return body

    report, key, _ = fake_sync(tampered(api, lie), store)
    assert report.ok, report.error
    assert any("totalCount" in w for w in report.warnings)
    assert store.covered(key) == [(F_LO, F_HI)]
    assert_store_honest(store, key, events)
    assert len(stored_ids(store, key)[1]) == len(events)


def test_an_event_sent_twice_in_one_page_is_stored_once(store):
    events = [make_event(i, F_LO + 1000 * i) for i in range(60)]  # one window, one page: one stored chunk
    api = FakeAPI(events)

    def twice(request, body):
        body["items"] = body["items"] + body["items"][:5]
        return body

    report, key, _ = fake_sync(tampered(api, twice), store, hi=F_LO + DAY)
    assert report.ok and report.pages == 1
    frame_ids, row_ids = stored_ids(store, key)
    assert sorted(row_ids) == sorted(e["id"] for e in events)
    assert sorted(frame_ids) == sorted(row_ids), "the page's duplicate is shown twice"
    assert len(store.load_frame(key, F_LO, F_HI)) == len(events)


@pytest.mark.parametrize(
    "item",
    [
        {"key": 5},
        {"name": "no key"},
        {"key": "p", "environments": 5},
        {"key": "p", "environments": {"items": [{"name": "no key"}]}},
    ],
)
def test_a_projects_page_with_wrong_types_is_a_typed_error_naming_the_endpoint(item):
    def projects(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/environments"):
            return httpx.Response(200, json={"items": [{"key": "production"}, {"name": "no key"}]})
        return httpx.Response(
            200,
            json={
                "items": [{"key": "web", "environments": {"items": [{"key": "production"}]}}, item],
                "totalCount": 2,
            },
        )

    client = LDClient(TOKEN, "https://ld.test", transport=httpx.MockTransport(projects), sleep=Sleeps())
    with pytest.raises(MalformedResponseError, match="/api/v2/projects sent an item"):
        client.projects()
    with pytest.raises(MalformedResponseError, match="/api/v2/projects/web/environments sent an item"):
        client.environments("web")


# -- a sync killed at random points ------------------------------------------------------------------------


def partial_state(cache, source: str) -> tuple[int, bool]:
    """(events stored, whether the last 89 days are recorded complete) after a killed run."""
    store = SQLiteStore(cache / "events.sqlite")
    try:
        key = StoreKey(source, PROJECT, ENV)
        covered = store.covered(key)
        complete = any(s <= ANCHOR - 89 * DAY and e >= ANCHOR for s, e in covered)
        return len(stored_ids(store, key)[1]), complete
    finally:
        store.close()


@pytest.mark.timeout(150)
def test_a_sync_killed_at_random_points_then_run_clean_loses_and_doubles_nothing(tmp_path):
    acc = generate_account(seed=7, now_ms=ANCHOR)
    acc.add_events(acc.make_events(2500, PROJECT, ENV, ANCHOR - 89 * DAY, ANCHOR - DAY, seed=9))
    rng = random.Random(20261126)
    cache = tmp_path / "cache"
    with start_server_in_thread(acc, DemoFaults(latency_s=0.04)) as server:
        env = cli_env(cache, LD_API_TOKEN="api-kill-test", LD_BASE_URL=server.base_url)
        args = ["sync", "--project", PROJECT, "--env", ENV, "--days", "90"]
        kills = 0
        progress: list[tuple[int, bool]] = []
        for _ in range(4):
            before = server.stats.count("flag-events")
            proc = popen_cli(args, env)
            deadline = time.monotonic() + 30
            while server.stats.count("flag-events") == before and proc.poll() is None:
                assert time.monotonic() < deadline, "the sync never started fetching"
                time.sleep(0.01)
            # kill after a random number of pages has been served: tied to progress, not to
            # wall time, so a fast or a slow machine kills mid-fetch alike
            target = before + rng.randint(2, 6)
            while server.stats.count("flag-events") < target and proc.poll() is None:
                assert time.monotonic() < deadline, "the sync stalled"
                time.sleep(0.005)
            time.sleep(rng.uniform(0.0, 0.03))
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                kills += 1
            proc.communicate(timeout=30)
            progress.append(partial_state(cache, server.base_url))
        assert kills >= 3, "the sync finished before it could be killed: it needs more pages"
        # the kills landed mid-fetch: events were stored while the range was not yet complete
        assert any(0 < stored for stored, complete in progress if not complete), progress
        started = clock.now_ms()
        clean = run_cli(args, env, timeout=120)
        assert clean.returncode == 0, clean.stderr
        assert "(ok)" in clean.stdout
    store = SQLiteStore(cache / "events.sqlite")
    key = StoreKey(server.base_url, PROJECT, ENV)
    covered = store.covered(key)
    assert len(covered) == 1
    assert covered[0][0] <= started - 90 * DAY + 120_000 and covered[0][1] >= started
    truth_events = key_events(acc.events, PROJECT, ENV)
    assert_store_honest(store, key, truth_events)
    from_frame, from_rows = stored_ids(store, key)
    expected = {e["id"] for e in truth_events if covered[0][0] <= e["eventTime"] < covered[0][1]}
    assert set(from_rows) >= expected and len(expected) > 3000
    assert len(store.load_frame(key, -BIG, BIG)) == len(from_rows)
    store.close()
