"""The event store and incremental refresh: fetched once, kept across restarts, never a false 'complete'."""

from __future__ import annotations

import threading

import httpx
import pytest

from ldclient.client import LDClient
from ldclient.store import SQLiteStore, StoreKey, merge_ranges, missing_ranges
from ldclient.sync import RECHECK_MS, plan_refresh, refresh
from tests.fakeapi import TOKEN, FakeAPI, make_event

DAY = 86_400_000
T0 = 1_780_000_000_000
NOW = T0 + 90 * DAY
KEY = StoreKey("https://ld.test", "web", "production")


async def no_sleep(_: float) -> None:
    return None


def client(api: FakeAPI) -> LDClient:
    return LDClient(TOKEN, "https://ld.test", transport=httpx.MockTransport(api), sleep=no_sleep, seed=3)


def server_events(n: int, start: int = T0, end: int = NOW) -> list[dict]:
    return [make_event(i, start + ((end - start) * i) // n) for i in range(n)]


@pytest.fixture
def store(tmp_path):
    s = SQLiteStore(tmp_path / "events.sqlite")
    yield s
    s.close()


def stored_ids(store, key=KEY) -> list[str]:
    return list(store.load_frame(key, 0, 2**62)["id"].astype(str))


def test_ranges_helpers():
    assert merge_ranges([(5, 10), (0, 5), (20, 30), (25, 26)]) == [(0, 10), (20, 30)]
    assert missing_ranges([(0, 10), (20, 30)], 5, 40) == [(10, 20), (30, 40)]
    assert missing_ranges([], 5, 9) == [(5, 9)]
    assert missing_ranges([(0, 100)], 5, 9) == []


def test_plan_rechecks_the_newest_part_and_tolerates_staleness():
    assert plan_refresh([(T0, NOW)], T0, NOW, now=NOW) == []
    plan = plan_refresh([(T0, NOW)], T0, NOW + DAY, now=NOW + DAY)
    assert plan == [(NOW - RECHECK_MS, NOW + DAY)]
    assert plan_refresh([(T0, NOW)], T0, NOW + 60_000, now=NOW + 60_000, max_staleness_ms=5 * 60_000) == []
    assert plan_refresh([(T0, NOW)], T0, NOW, now=NOW, force=True) == [(NOW - RECHECK_MS, NOW)]
    assert plan_refresh([], T0, NOW + DAY, now=NOW) == [(T0, NOW)]  # never the future


def test_second_load_of_unchanged_range_makes_no_request(store):
    api = FakeAPI(server_events(2500))
    first = refresh(client(api), store, KEY, T0, NOW, now=NOW)
    assert first.ok and first.events_added == 2500
    assert sorted(stored_ids(store)) == sorted(e["id"] for e in api.events)
    before = len(api.flag_event_requests())
    second = refresh(client(api), store, KEY, T0, NOW, now=NOW)
    assert len(api.flag_event_requests()) == before and second.requests == 0


def test_store_survives_a_restart(tmp_path):
    api = FakeAPI(server_events(300))
    s = SQLiteStore(tmp_path / "e.sqlite")
    refresh(client(api), s, KEY, T0, NOW, now=NOW)
    s.close()
    reopened = SQLiteStore(tmp_path / "e.sqlite")
    n = len(api.flag_event_requests())
    assert refresh(client(api), reopened, KEY, T0, NOW, now=NOW).requests == 0
    assert len(api.flag_event_requests()) == n
    assert len(stored_ids(reopened)) == 300


def test_refresh_fetches_only_new_events_with_one_request(store):
    api = FakeAPI(server_events(1000))
    refresh(client(api), store, KEY, T0, NOW, now=NOW)
    api.events += [make_event(10_000 + i, NOW + 1000 * i) for i in range(40)]
    before = len(api.flag_event_requests())
    report = refresh(client(api), store, KEY, T0, NOW + DAY, now=NOW + DAY)
    assert report.ok and report.events_added == 40
    assert len(api.flag_event_requests()) - before == 1
    assert len(stored_ids(store)) == 1040


def test_late_event_inside_the_recheck_window_is_picked_up(store):
    api = FakeAPI(server_events(100))
    refresh(client(api), store, KEY, T0, NOW, now=NOW)
    api.events.append(make_event(77_777, NOW - 60_000))  # indexed late, just before the covered end
    report = refresh(client(api), store, KEY, T0, NOW + DAY, now=NOW + DAY)
    assert report.events_added == 1


def test_failure_halfway_keeps_what_was_stored_and_records_no_false_coverage(store):
    events = server_events(3000)

    def die_after_10(request, n):
        if n > 10:
            return httpx.Response(400, json={"code": "invalid_request", "message": "boom"})
        return None

    api = FakeAPI(events, fault=die_after_10)
    report = refresh(client(api), store, KEY, T0, NOW, now=NOW)
    assert not report.ok
    partial = stored_ids(store)
    assert 0 < len(partial) < 3000
    covered_ids = set()
    for start, end in store.covered(KEY):  # everything claimed covered really is stored
        covered_ids |= {e["id"] for e in events if start <= e["eventTime"] < end}
    assert covered_ids <= set(partial)
    assert store.last_refresh(KEY).outcome == "error"

    healthy = FakeAPI(events)
    again = refresh(client(healthy), store, KEY, T0, NOW, now=NOW)
    assert again.ok
    ids = stored_ids(store)
    assert len(ids) == len(set(ids)) == 3000
    # only the windows that were not complete are fetched again
    assert len(healthy.flag_event_requests()) < 3000 / 100 + 16


def test_concurrent_refreshes_of_one_key_fetch_once(tmp_path):
    api = FakeAPI(server_events(2000))
    stores = [SQLiteStore(tmp_path / "shared.sqlite") for _ in range(4)]
    threads = [threading.Thread(target=refresh, args=(client(api), s, KEY, T0, NOW), kwargs={"now": NOW})
               for s in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    single = FakeAPI(server_events(2000))
    solo = SQLiteStore(tmp_path / "solo.sqlite")
    refresh(client(single), solo, KEY, T0, NOW, now=NOW)
    assert len(api.flag_event_requests()) == len(single.flag_event_requests())
    assert sorted(stored_ids(stores[0])) == sorted(stored_ids(solo))
    assert stores[0].covered(KEY) == solo.covered(KEY)


def test_corrupt_store_is_moved_aside_and_rebuilt(tmp_path):
    path = tmp_path / "events.sqlite"
    path.write_bytes(b"this is not a database" * 100)
    s = SQLiteStore(path)
    assert s.notice and "could not be read" in s.notice
    assert list(tmp_path.glob("events.sqlite.corrupt-*"))
    api = FakeAPI(server_events(50))
    assert refresh(client(api), s, KEY, T0, NOW, now=NOW).ok
    assert len(stored_ids(s)) == 50


def test_keys_are_separate_and_token_is_never_stored(tmp_path):
    s = SQLiteStore(tmp_path / "events.sqlite")
    api = FakeAPI(server_events(20))
    refresh(client(api), s, KEY, T0, NOW, now=NOW)
    assert stored_ids(s, StoreKey("https://ld.test", "web", "staging")) == []
    s.put_resource("https://ld.test", "flags", "web", [{"key": "x"}])
    s.close()
    for f in tmp_path.rglob("*"):
        if f.is_file():
            assert TOKEN.encode() not in f.read_bytes()
            assert TOKEN not in f.name


def test_resources_expire(store):
    store.put_resource("src", "flags", "web", [1, 2])
    assert store.get_resource("src", "flags", "web", 60) == [1, 2]
    assert store.get_resource("src", "flags", "web", -1) is None


def test_frame_has_compact_dtypes(store):
    refresh(client(FakeAPI(server_events(30))), store, KEY, T0, NOW, now=NOW)
    df = store.load_frame(KEY, T0, NOW)
    assert str(df["flag_key"].dtype) == "category" and str(df["event_time"].dtype) == "int64"
    assert list(df["event_time"]) == sorted(df["event_time"])
