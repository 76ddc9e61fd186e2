"""The event store and incremental refresh: fetched once, kept across restarts, never a false 'complete'."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import httpx
import pytest

from ldclient.api.client import LDClient
from ldclient.store import RefreshRecord, SQLiteStore, StoreKey, merge_ranges, missing_ranges
from ldclient.sync import RECHECK_MS, plan_refresh, refresh
from tests import pg_support
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


class Backend:
    """Where a test's stores live: SQLite files in tmp_path, or PostgreSQL schemas made for this test.

    ``open(place)`` opens another store on the same file or schema (as a restart or another replica
    would); a different ``place`` is a separate, empty store.
    """

    def __init__(self, kind: str, tmp_path: Path) -> None:
        self.kind = kind
        self.tmp_path = tmp_path
        self.url = pg_support.postgres_url() if kind == "postgres" else ""
        self.schemas: dict[str, str] = {}
        self.opened: list = []

    def open(self, place: str = "main"):
        if self.kind == "sqlite":
            store = SQLiteStore(self.tmp_path / f"{place}.sqlite")
        else:
            from ldclient.store.postgres import PostgresStore

            schema = self.schemas.setdefault(place, pg_support.new_schema_name())
            store = PostgresStore(self.url, schema=schema, pool_size=2)
        self.opened.append(store)
        return store

    def persisted(self) -> bytes:
        """Everything the backend wrote, as bytes to search."""
        if self.kind == "sqlite":
            return b"".join(f.name.encode() + f.read_bytes() for f in self.tmp_path.rglob("*") if f.is_file())
        out = []
        for schema in self.schemas.values():
            with pg_support.admin(self.url) as conn:
                tables = [
                    r[0]
                    for r in conn.execute(
                        "SELECT table_name FROM information_schema.tables WHERE table_schema = %s", (schema,)
                    )
                ]
                for table in tables:
                    out.append(table.encode())
                    for (row,) in conn.execute(f'SELECT t::text FROM "{schema}"."{table}" t'):
                        out.append(row.encode())
        return b"\n".join(out)

    def cleanup(self) -> None:
        for store in self.opened:
            store.close()
        for schema in self.schemas.values():
            pg_support.drop_schema(self.url, schema)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request, tmp_path):
    b = Backend(request.param, tmp_path)
    yield b
    b.cleanup()


@pytest.fixture
def store(backend):
    return backend.open()


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


def test_store_survives_a_restart(backend):
    api = FakeAPI(server_events(300))
    s = backend.open()
    refresh(client(api), s, KEY, T0, NOW, now=NOW)
    s.close()
    reopened = backend.open()
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


def test_concurrent_refreshes_of_one_key_fetch_once(backend):
    api = FakeAPI(server_events(2000))
    stores = [backend.open("shared") for _ in range(4)]
    threads = [
        threading.Thread(target=refresh, args=(client(api), s, KEY, T0, NOW), kwargs={"now": NOW})
        for s in stores
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    single = FakeAPI(server_events(2000))
    solo = backend.open("solo")
    refresh(client(single), solo, KEY, T0, NOW, now=NOW)
    assert len(api.flag_event_requests()) == len(single.flag_event_requests())
    assert sorted(stored_ids(stores[0])) == sorted(stored_ids(solo))
    assert stores[0].covered(KEY) == solo.covered(KEY)


def test_corrupt_store_is_moved_aside_and_rebuilt(tmp_path):  # SQLite only: PostgreSQL has no such file
    path = tmp_path / "events.sqlite"
    path.write_bytes(b"this is not a database" * 100)
    s = SQLiteStore(path)
    assert s.notice and "could not be read" in s.notice
    assert list(tmp_path.glob("events.sqlite.corrupt-*"))
    api = FakeAPI(server_events(50))
    assert refresh(client(api), s, KEY, T0, NOW, now=NOW).ok
    assert len(stored_ids(s)) == 50


def test_keys_are_separate_and_token_is_never_stored(backend):
    s = backend.open()
    api = FakeAPI(server_events(20))
    refresh(client(api), s, KEY, T0, NOW, now=NOW)
    assert stored_ids(s, StoreKey("https://ld.test", "web", "staging")) == []
    s.put_resource("https://ld.test", "flags", "web", [{"key": "x"}])
    s.close()
    persisted = backend.persisted()
    assert b"ld.test" in persisted and b"flag-1" in persisted  # the search does see the data
    assert TOKEN.encode() not in persisted


def test_resources_expire(store):
    store.put_resource("src", "flags", "web", [1, 2])
    assert store.get_resource("src", "flags", "web", 60) == [1, 2]
    assert store.get_resource("src", "flags", "web", -1) is None


def test_frame_has_compact_dtypes(store):
    refresh(client(FakeAPI(server_events(30))), store, KEY, T0, NOW, now=NOW)
    df = store.load_frame(KEY, T0, NOW)
    assert str(df["flag_key"].dtype) == "category" and str(df["event_time"].dtype) == "int64"
    assert list(df["event_time"]) == sorted(df["event_time"])


# -- the contract in detail, for every backend ----------------------------------------------------------


def test_write_page_deduplicates_counts_only_new_and_the_last_copy_wins(store):
    page = [make_event(i, T0 + i) for i in range(5)]
    assert store.write_page(KEY, page) == 5
    assert store.write_page(KEY, page) == 0
    changed = dict(make_event(2, T0 + 2), description="edited")
    assert store.write_page(KEY, [make_event(5, T0 + 5), changed, make_event(5, T0 + 5)]) == 1
    df = store.load_frame(KEY, T0, T0 + 100)
    assert list(df["id"]) == [make_event(i, 0)["id"] for i in range(6)]
    assert df.loc[df["id"] == changed["id"], "description"].item() == "edited"
    assert [e["description"] for e in store.iter_raw(KEY, T0 + 2, T0 + 3)] == ["edited"]


def test_a_range_is_covered_only_when_its_last_page_says_so(store):
    store.write_page(KEY, [make_event(1, T0 + 10)])
    assert store.covered(KEY) == []
    store.write_page(KEY, [make_event(2, T0 + 20)], (T0, T0 + 100))
    store.write_page(KEY, [], (T0 + 100, T0 + 200))  # an empty last page still completes its range
    store.write_page(KEY, [], (T0 + 500, T0 + 600))
    store.write_page(KEY, [], (T0 + 700, T0 + 700))  # an empty range records nothing
    assert store.covered(KEY) == [(T0, T0 + 200), (T0 + 500, T0 + 600)]
    store.write_page(KEY, [], (T0 + 150, T0 + 550))
    assert store.covered(KEY) == [(T0, T0 + 600)]
    assert store.covered(StoreKey("https://ld.test", "web", "staging")) == []


def test_frame_range_is_half_open_and_ties_are_ordered_by_id(store):
    events = [make_event(i, T0 + (i // 3) * 1000) for i in range(9)][::-1]
    store.write_page(KEY, events)
    df = store.load_frame(KEY, T0 + 1000, T0 + 2000)
    assert list(df["event_time"]) == [T0 + 1000] * 3
    assert list(df["id"]) == sorted(df["id"])
    assert len(store.load_frame(KEY, T0, T0 + 3000)) == 9
    assert store.load_frame(KEY, T0 + 5000, T0 + 6000).empty
    assert list(store.load_frame(StoreKey("x", "y", "z"), 0, 2**62).columns) == list(df.columns)


def test_awkward_values_survive_the_round_trip(store):
    odd = {
        0: {"description": "", "member": None},
        1: {"description": 'comma, "quote", back\\slash \\N NULL\nnew line\r\n', "actions": []},
        2: {"description": "ünï©ødé 🚩 عربى", "flagKey": "flag-ünï"},
        3: {"impact": None, "experiments": {"totalCount": 2, "items": [{"key": "e1"}, {"key": "e2"}]}},
    }
    events = []
    for i in range(6):
        event = make_event(i, T0 + i, env=None if i == 4 else "production")
        event.update(odd.get(i, {}))
        events.append(event)
    store.write_page(KEY, events)
    assert list(store.iter_raw(KEY, T0, T0 + 10)) == events
    df = store.load_frame(KEY, T0, T0 + 10)
    assert df["description"].tolist()[:3] == [e["description"] for e in events[:3]]
    assert df["flag_key"].tolist()[2] == "flag-ünï"
    assert df["member_email"].isna().tolist() == [True, False, False, False, False, False]
    assert df["environment_key"].isna().tolist() == [False, False, False, False, True, False]
    assert df["impact_percentage"].isna().tolist() == [False, False, False, True, False, False]
    assert df["experiments_count"].tolist()[3] == 2 and df["experiment_keys"].tolist()[3] == "e1,e2"
    assert df["actions"].tolist()[1] == ""


def test_iter_raw_pages_through_long_ranges_in_order(store):
    n = 6_000  # more than one batch of 5000, with ties on event_time across the batch boundary
    events = [make_event(i, T0 + i // 4) for i in range(n)]
    for lo in range(0, n, 1000):
        store.write_page(KEY, events[lo : lo + 1000])
    got = [e["id"] for e in store.iter_raw(KEY, T0, T0 + n)]
    assert got == [e["id"] for e in sorted(events, key=lambda e: (e["eventTime"], e["id"]))]
    assert [e["id"] for e in store.iter_raw(KEY, T0 + 10, T0 + 12)] == [e["id"] for e in events[40:48]]


def test_refresh_log_and_summaries(store):
    assert store.last_refresh(KEY) is None and store.last_good_refresh_ms(KEY) is None
    store.record_refresh(KEY, RefreshRecord(T0, "ok", 3, 10))
    store.record_refresh(KEY, RefreshRecord(T0 + 5, "error", 1, 0, "LaunchDarkly is down " + "x" * 2000))
    last = store.last_refresh(KEY)
    assert last.outcome == "error" and last.at_ms == T0 + 5 and len(last.message) == 1000
    assert store.last_good_refresh_ms(KEY) == T0
    other = StoreKey("https://ld.test", "api", "staging")
    store.write_page(other, [make_event(1, T0 + 7), make_event(2, T0 + 9)], (T0, T0 + 10))
    summaries = {s.key: s for s in store.summaries()}
    assert set(summaries) == {KEY, other}
    assert (summaries[KEY].events, summaries[KEY].first_event_ms, summaries[KEY].covered) == (0, None, [])
    assert summaries[KEY].last_refresh == last and summaries[KEY].last_good_refresh_ms == T0
    s = summaries[other]
    assert (s.events, s.first_event_ms, s.last_event_ms, s.covered) == (2, T0 + 7, T0 + 9, [(T0, T0 + 10)])
    assert s.last_refresh is None and s.last_good_refresh_ms is None


def test_clear_forgets_everything(store):
    refresh(client(FakeAPI(server_events(50))), store, KEY, T0, NOW, now=NOW)
    store.put_resource("src", "flags", "web", {"a": 1})
    store.clear()
    assert store.summaries() == [] and store.covered(KEY) == [] and stored_ids(store) == []
    assert store.get_resource("src", "flags", "web", 3600) is None and store.last_refresh(KEY) is None
    assert refresh(client(FakeAPI(server_events(50))), store, KEY, T0, NOW, now=NOW).events_added == 50


def test_resources_are_replaced_and_scoped(store):
    store.put_resource("src", "flags", "web", [1])
    store.put_resource("src", "flags", "web", {"now": [2, "two", None]})
    store.put_resource("src", "statuses", "web/production", [3])
    assert store.get_resource("src", "flags", "web", 60) == {"now": [2, "two", None]}
    assert store.get_resource("src", "statuses", "web/production", 60) == [3]
    assert store.get_resource("other", "flags", "web", 60) is None


def test_claim_excludes_other_stores_and_is_released_on_error(backend):
    first, second = backend.open("shared"), backend.open("shared")
    events: list[str] = []
    entered = threading.Event()

    def holder() -> None:
        with first.claim(KEY):
            entered.set()
            events.append("first in")
            time.sleep(0.5)
            events.append("first out")

    t = threading.Thread(target=holder)
    t.start()
    assert entered.wait(10)
    with second.claim(KEY):
        events.append("second in")
    t.join()
    assert events == ["first in", "first out", "second in"]
    with second.claim(StoreKey("https://ld.test", "web", "other")), first.claim(KEY):
        pass  # other keys are independent
    with pytest.raises(RuntimeError), first.claim(KEY):
        raise RuntimeError("refresh failed")
    done = threading.Event()

    def again() -> None:
        with second.claim(KEY):
            done.set()

    threading.Thread(target=again, daemon=True).start()
    assert done.wait(10), "the claim was not released when its block raised"


# -- loading only some columns, and compaction -------------------------------------------------------------


def test_load_frame_of_some_columns_matches_the_full_frame(store):
    pages = [[make_event(i, T0 + i * 1000) for i in range(k, k + 40)] for k in range(0, 120, 40)]
    for page in pages:  # several chunks: the first load compacts them, the second reads one
        store.write_page(KEY, page)
    store.write_page(KEY, [dict(make_event(7, T0 + 7000), description="rewritten")])
    wanted = ("id", "flag_key", "variations", "description")
    for _ in range(2):
        full = store.load_frame(KEY, T0 + 5000, T0 + 90_000)
        some = store.load_frame(KEY, T0 + 5000, T0 + 90_000, wanted)
        assert list(some.columns) == ["id", "flag_key", "event_time", "description", "variations"]
        for name in some.columns:
            assert some[name].tolist() == full[name].tolist(), name
            assert some[name].dtype == full[name].dtype, name
        assert (
            len(some) == 85
            and some.loc[some["id"] == make_event(7, 0)["id"], "description"].item() == "rewritten"
        )
    empty = store.load_frame(StoreKey("x", "y", "z"), 0, 2**62, wanted)
    assert empty.empty and list(empty.columns) == list(some.columns)
    with pytest.raises(ValueError, match="not event columns: nope"):
        store.load_frame(KEY, T0, NOW, ("id", "nope"))


def test_whole_page_chunks_of_earlier_versions_are_read_and_compacted_away(tmp_path):
    """Earlier versions stored each page as one Arrow IPC stream of every column (table ``chunks``)."""
    import pyarrow as pa

    from ldclient.frame import COLUMNS
    from ldclient.store import sqlite as store_module

    def whole_page_chunk(conn, key_id, seq, table):
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, table.schema) as writer:
            writer.write_table(table)
        conn.execute("INSERT INTO chunks VALUES (?, ?, ?)", (key_id, seq, sink.getvalue().to_pybytes()))

    store = SQLiteStore(tmp_path / "old.sqlite")
    original = store_module._write_chunk
    store_module._write_chunk = whole_page_chunk
    try:
        store.write_page(KEY, [make_event(i, T0 + i) for i in range(10)])
    finally:
        store_module._write_chunk = original
    assert store._read("SELECT COUNT(*) FROM chunk_columns") == [(0,)]
    with store._tx() as conn:  # as a schema-3 file: no chunk_columns table yet
        conn.execute("DROP TABLE chunk_columns")
        conn.execute("UPDATE meta SET value = '3' WHERE name = 'schema_version'")
    store.close()
    store = SQLiteStore(tmp_path / "old.sqlite")  # upgraded in place, nothing moved aside or refetched
    assert store.notice is None and store._read("SELECT value FROM meta WHERE name = 'schema_version'") == [
        (str(store_module.SCHEMA_VERSION),)
    ]
    assert [p.name for p in tmp_path.iterdir() if "corrupt" in p.name] == []
    assert store.load_frame(KEY, T0, NOW, ("id",))["id"].tolist() == [
        make_event(i, 0)["id"] for i in range(10)
    ]
    store.write_page(KEY, [make_event(i, T0 + i) for i in range(10, 15)])  # a page of the current kind
    assert len(store.load_frame(KEY, T0, NOW)) == 15  # compacted into one chunk of the current kind
    assert store._read("SELECT COUNT(*) FROM chunks") == [(0,)]
    names = [name for (name,) in store._read("SELECT name FROM chunk_columns ORDER BY rowid")]
    assert names == [*COLUMNS, "seq"]
    assert store.load_frame(KEY, T0, NOW, ("flag_key",))["flag_key"].tolist() == [
        make_event(i, 0)["flagKey"] for i in range(15)
    ]
    store.close()


def test_an_unreadable_column_chunk_is_a_clear_store_error(tmp_path):
    from ldclient.errors import StoreError

    store = SQLiteStore(tmp_path / "events.sqlite")
    store.write_page(KEY, [make_event(i, T0 + i) for i in range(3)])
    with store._tx() as conn:
        conn.execute("UPDATE chunk_columns SET data = zeroblob(64) WHERE name = 'flag_key'")
    assert store.load_frame(KEY, T0, NOW, ("id",))["id"].tolist() == [
        make_event(i, 0)["id"] for i in range(3)
    ]
    with pytest.raises(StoreError, match="unreadable chunk.*cache clear"):
        store.load_frame(KEY, T0, NOW)
    store.close()


def test_compaction_keeps_the_latest_write_of_each_id():
    """Duplicates at one time are found by sorting; an id stored at two times falls back to hashing."""
    import pyarrow as pa

    from ldclient.frame import COLUMNS, arrow_from_rows, flatten_event
    from ldclient.store import compact_chunks

    seq = iter(range(1, 1000))

    def chunk(*events):
        rows = [tuple(flatten_event(e)[c] for c in COLUMNS) for e in events]
        table = arrow_from_rows(rows, seq_start=next(seq))
        for _ in events[1:]:
            next(seq)
        return table

    a, b, c = (make_event(i, T0 + 10 * i) for i in range(3))
    tables = [chunk(a, b), chunk(dict(b, description="second"), c), chunk(dict(b, description="third"))]
    for distinct in (3, None, 99):  # the events table's count agrees, is unknown, or disagrees
        out = compact_chunks(tables, distinct)
        assert out.column("id").to_pylist() == [a["id"], b["id"], c["id"]], distinct
        assert out.column("description").to_pylist()[1] == "third"
    moved = dict(a, eventTime=T0 + 25, description="moved")  # same id, later write, another time
    out = compact_chunks([*tables, chunk(moved)], 3)
    assert out.column("id").to_pylist() == [b["id"], c["id"], a["id"]]
    assert out.column("description").to_pylist()[2] == "moved"
    assert isinstance(out, pa.Table)


def test_an_event_stored_again_at_another_time_keeps_its_latest_write(store):
    first = make_event(1, T0 + 10)
    store.write_page(KEY, [first, make_event(2, T0 + 20)])
    store.write_page(KEY, [dict(first, eventTime=T0 + 30, description="moved")])
    df = store.load_frame(KEY, T0, NOW, ("id", "description"))
    assert df["id"].tolist() == [make_event(2, 0)["id"], first["id"]]
    assert df["event_time"].tolist() == [T0 + 20, T0 + 30] and df["description"].tolist()[1] == "moved"
    assert store.load_frame(KEY, T0, NOW)["id"].tolist() == df["id"].tolist()


def test_load_frames_is_each_keys_load_frame_one_after_another(store):
    """All projects reads every key in one frame: the rows of each key are exactly its own load_frame's,
    an id stored under two keys (a global event) stays once per key, and a key without events adds none."""
    other = StoreKey(KEY.source, KEY.project, "staging")
    empty = StoreKey(KEY.source, KEY.project, "test")  # never written
    for k in range(0, 90, 30):
        store.write_page(KEY, [make_event(i, T0 + i * 1000) for i in range(k, k + 30)])
    shared = make_event(5, T0 + 5000)  # the same id under the second key, as a project's global event is
    store.write_page(other, [shared, *(make_event(i, T0 + i * 1000) for i in range(200, 220))])
    keys = [KEY, empty, other]
    for columns in (None, ("id", "flag_key", "variations", "member_email")):
        frame, counts = store.load_frames(keys, T0 + 3000, T0 + 250_000, columns)
        singles = [store.load_frame(k, T0 + 3000, T0 + 250_000, columns) for k in keys]
        assert counts == [len(s) for s in singles] == [87, 0, 21]
        assert list(frame.columns) == list(singles[0].columns)
        start = 0
        for single, n in zip(singles, counts, strict=True):
            part = frame.iloc[start : start + n]
            start += n
            for name in frame.columns:
                assert part[name].astype(object).tolist() == single[name].astype(object).tolist(), name
        assert (frame["id"] == shared["id"]).sum() == 2
        for name in frame.columns:
            assert frame[name].dtype == singles[0][name].dtype or name in ("environment_key", "flag_key"), (
                name
            )
    assert store.load_frames([], 0, 2**62)[1] == []


SCHEMA_6_EVENTS = (  # the events table as schema 6 created it: every frame column flat, and a seq index
    "CREATE TABLE events (key_id INTEGER NOT NULL, id TEXT, project_key TEXT, environment_key TEXT, "
    "flag_key TEXT, event_type TEXT, event_time INTEGER, description TEXT, member_email TEXT, "
    "member_name TEXT, actions TEXT, impact_size TEXT, impact_percentage REAL, variations TEXT, "
    "experiments_count INTEGER, experiment_keys TEXT, raw TEXT NOT NULL, seq INTEGER NOT NULL, "
    "PRIMARY KEY (key_id, id));"
    "CREATE INDEX events_by_time ON events (key_id, event_time);"
    "CREATE INDEX events_by_seq ON events (key_id, seq);"
)


def test_a_schema_6_file_keeps_its_events_and_takes_new_ones(tmp_path):
    """Schema 7 keeps only id, time and raw JSON in ``events`` (the chunks hold the columns): a schema-6
    file, with its wide table and old rows, opens in place, reads back, takes new pages and rewrites."""
    import sqlite3

    from ldclient.store import sqlite as store_module

    path = tmp_path / "six.sqlite"
    store = SQLiteStore(path)
    store.write_page(KEY, [make_event(i, T0 + i * 1000) for i in range(30)], (T0, T0 + 30_000))
    before = store.load_frame(KEY, T0, NOW)
    store.close()
    with sqlite3.connect(path) as conn:  # rebuild events as schema 6 had it, with the same rows
        rows = conn.execute("SELECT key_id, id, event_time, raw, seq FROM events").fetchall()
        conn.executescript("DROP TABLE events;" + SCHEMA_6_EVENTS)
        conn.executemany(
            "INSERT INTO events (key_id, id, event_time, flag_key, raw, seq) VALUES (?, ?, ?, 'old', ?, ?)",
            rows,
        )
        conn.execute("UPDATE meta SET value = '6' WHERE name = 'schema_version'")
    store = SQLiteStore(path)
    assert store.notice is None and not [p for p in tmp_path.iterdir() if "corrupt" in p.name]
    assert store._read("SELECT value FROM meta WHERE name = 'schema_version'") == [
        (str(store_module.SCHEMA_VERSION),)
    ]
    assert store._read("SELECT name FROM sqlite_master WHERE name = 'events_by_seq'") == []
    expected = before.astype(object).where(before.notna(), None)
    again = store.load_frame(KEY, T0, NOW)
    assert again.astype(object).where(again.notna(), None).equals(expected)
    rewritten = dict(make_event(3, T0 + 3000), description="rewritten")
    assert store.write_page(KEY, [rewritten, *(make_event(i, T0 + i * 1000) for i in range(30, 40))]) == 10
    frame = store.load_frame(KEY, T0, NOW)
    assert len(frame) == 40 and frame.loc[frame["id"] == rewritten["id"], "description"].item() == "rewritten"
    assert [e["id"] for e in store.iter_raw(KEY, T0, NOW)] == list(frame["id"])
    store.close()


def test_a_new_file_keeps_no_frame_columns_in_its_events_table(tmp_path):
    store = SQLiteStore(tmp_path / "new.sqlite")
    store.write_page(KEY, [make_event(i, T0 + i) for i in range(5)])
    columns = [r[1] for r in store._read("PRAGMA table_info(events)")]
    assert columns == ["key_id", "id", "event_time", "raw", "seq"]
    assert store.load_frame(KEY, T0, NOW)["flag_key"].notna().all()
    store.close()


@pytest.mark.parametrize("compacted", [True, False])
def test_a_schema_7_file_with_summaries_as_text_reads_them_as_numbers(tmp_path, compacted):
    """Schema 7 kept the variation summaries as JSON text in the chunks; schema 8 keeps numbers
    (ldclient/summaries.py). A schema-7 file opens in place, loads the same summaries, and its first load
    rewrites the chunk as numbers, whether the key was compacted into one chunk or still in pages."""
    import sqlite3

    import pyarrow as pa

    from ldclient import summaries
    from ldclient.store import sqlite as store_module

    path = tmp_path / "seven.sqlite"
    store = SQLiteStore(path)
    odd = {"value": {"b": [1, 2], "a": "x"}, "before": 3, "after": 0}
    events = [make_event(i, T0 + i * 1000) for i in range(30)]
    events[4]["impact"]["evaluationsSummary"]["variations"].append(odd)
    del events[5]["impact"]["evaluationsSummary"]
    for start in range(0, 30, 10):
        store.write_page(KEY, events[start : start + 10])
    if compacted:
        store.load_frame(KEY, T0, NOW)
    before = store.load_frame(KEY, T0, NOW)
    store.close()
    with sqlite3.connect(path) as conn:  # write every variations chunk back as schema 7 did: JSON text
        for rowid, data in conn.execute("SELECT rowid, data FROM chunk_columns WHERE name = 'variations'"):
            table = pa.ipc.open_stream(data).read_all()
            texts = [summaries.to_text(cell) for cell in table.column(0).to_pylist()]
            sink = pa.BufferOutputStream()
            text_table = pa.table({"variations": pa.array(texts, pa.large_string())})
            with pa.ipc.new_stream(sink, text_table.schema) as writer:
                writer.write_table(text_table)
            conn.execute(
                "UPDATE chunk_columns SET data = ? WHERE rowid = ?", (sink.getvalue().to_pybytes(), rowid)
            )
        conn.execute("UPDATE meta SET value = '7' WHERE name = 'schema_version'")
    store = SQLiteStore(path)
    assert store.notice is None
    assert store._read("SELECT value FROM meta WHERE name = 'schema_version'") == [
        (str(store_module.SCHEMA_VERSION),)
    ]
    again = store.load_frame(KEY, T0, NOW)
    assert again["variations"].tolist() == before["variations"].tolist()
    assert summaries.decoded(again["variations"].iloc[4])[-1] == ({"a": "x", "b": [1, 2]}, 3, 0)
    assert again["variations"].isna().tolist() == [i == 5 for i in range(30)]
    (data,) = store._read("SELECT data FROM chunk_columns WHERE name = 'variations'")[0]
    assert pa.ipc.open_stream(data).read_all().schema.field("variations").type == summaries.SUMMARY_TYPE
    store.close()
