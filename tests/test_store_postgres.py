"""The shared PostgreSQL store: single flight across processes, surviving a killed holder, migrations
that run once however many replicas start together, and clear errors for a database that is not there.

The contract every store keeps is in test_store.py, run on both backends; this file is what only a
server shared by several processes has to prove. Tests needing the server use ``LD_TEST_POSTGRES_URL``
(see tests/pg_support.py: skipped without it, failed under CI=true).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pandas as pd
import pytest

from ldclient.api.client import LDClient
from ldclient.cli import main as cli_main
from ldclient.errors import StoreError
from ldclient.store import SQLiteStore, StoreKey, open_store
from ldclient.store.postgres import MIGRATION_LOCK_ID, SCHEMA_VERSION, PostgresStore
from ldclient.sync import refresh
from tests import pg_support
from tests.fakeapi import TOKEN, FakeAPI, make_event

ROOT = Path(__file__).resolve().parent.parent
DAY = 86_400_000
T0 = 1_780_000_000_000
NOW = T0 + 90 * DAY
KEY = StoreKey("https://ld.test", "web", "production")
SECRET = "s3cret-Pa55word"


def server_events(n: int) -> list[dict]:
    return [make_event(i, T0 + ((NOW - T0) * i) // n) for i in range(n)]


@pytest.fixture
def pg_url() -> str:
    return pg_support.postgres_url()


@pytest.fixture
def schemas(pg_url):
    """Makes fresh schema names and drops them all (and whatever is in them) afterwards."""
    made: list[str] = []

    def make() -> str:
        made.append(pg_support.new_schema_name())
        return made[-1]

    yield make
    for name in made:
        pg_support.drop_schema(pg_url, name)


@pytest.fixture
def open_pg(pg_url, schemas):
    opened: list[PostgresStore] = []

    def open_(schema: str | None = None) -> PostgresStore:
        opened.append(PostgresStore(pg_url, schema=schema or schemas(), pool_size=2))
        return opened[-1]

    yield open_
    for store in opened:
        store.close()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(condition: Callable[[], bool], what: str, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting until {what}")
        time.sleep(0.05)


# -- several processes ------------------------------------------------------------------------------------


def spawn_worker(schema: str, base_url: str, *, wait: bool) -> subprocess.Popen:
    """``python -m tests.pg_support sync``: refreshes KEY into ``schema`` from ``base_url``."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
    args = [
        sys.executable,
        "-m",
        "tests.pg_support",
        "sync",
        "--schema",
        schema,
        "--base-url",
        base_url,
        "--source",
        KEY.source,
        "--project",
        KEY.project,
        "--env",
        KEY.environment,
        "--from-ms",
        str(T0),
        "--to-ms",
        str(NOW),
        "--now-ms",
        str(NOW),
    ] + (["--wait"] if wait else [])
    return subprocess.Popen(
        args,
        cwd=ROOT,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def await_ready(proc: subprocess.Popen) -> subprocess.Popen:
    line = proc.stdout.readline()
    assert line.strip() == "ready", f"worker did not start: {line!r} {proc.stderr.read()[-3000:]}"
    return proc


def start_worker(schema: str, base_url: str, *, wait: bool) -> subprocess.Popen:
    return await_ready(spawn_worker(schema, base_url, wait=wait))


def report_of(proc: subprocess.Popen) -> dict:
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err[-3000:]
    return json.loads(out.strip().splitlines()[-1])


def stored(store: PostgresStore) -> list[str]:
    return list(store.load_frame(KEY, 0, 2**62)["id"].astype(str))


@pytest.mark.postgres
def test_three_processes_syncing_one_key_fetch_it_once(open_pg, schemas):
    events = server_events(3000)
    with pg_support.FakeHTTPServer(FakeAPI(list(events)), latency_s=0.05) as solo_server:
        solo = refresh(LDClient(TOKEN, solo_server.base_url), open_pg(), KEY, T0, NOW, now=NOW)
        assert solo.ok and solo.events_added == 3000
        alone = solo_server.flag_event_requests()

    schema = schemas()
    with pg_support.FakeHTTPServer(FakeAPI(list(events)), latency_s=0.05) as server:
        workers = [
            await_ready(w) for w in [spawn_worker(schema, server.base_url, wait=True) for _ in range(3)]
        ]
        for w in workers:  # all three are up, connected and waiting: let them go at once
            w.stdin.write("go\n")
            w.stdin.flush()
        reports = [report_of(w) for w in workers]
        together = server.flag_event_requests()

    assert all(r["ok"] for r in reports), reports
    assert together <= alone, (together, alone)
    fetched = [r for r in reports if r["requests"]]
    assert len(fetched) == 1 and fetched[0]["events_added"] == 3000, reports
    assert all(r["planned"] == [] for r in reports if r is not fetched[0]), reports
    store = open_pg(schema)
    ids = stored(store)
    assert len(ids) == len(set(ids)) == 3000 and set(ids) == {e["id"] for e in events}
    assert store.covered(KEY) == [(T0, NOW)]


@pytest.mark.postgres
def test_killing_the_claim_holder_lets_another_process_finish(open_pg, schemas, pg_url):
    events = server_events(3000)
    schema = schemas()
    with pg_support.FakeHTTPServer(FakeAPI(list(events)), hold_after=6) as server:
        holder = start_worker(schema, server.base_url, wait=False)
        with pg_support.admin(pg_url, schema) as db:

            def progress() -> tuple[int, int]:
                if db.execute("SELECT to_regclass('fh_coverage')").fetchone()[0] is None:
                    return 0, 0
                return (
                    db.execute("SELECT count(*) FROM fh_events").fetchone()[0],
                    db.execute("SELECT count(*) FROM fh_coverage").fetchone()[0],
                )

            wait_for(lambda: server.received > 6 and all(progress()), "the holder has stored some pages")
            assert holder.poll() is None  # stuck mid-fetch, holding the claim

            taker = start_worker(schema, server.base_url, wait=False)
            wait_for(
                lambda: (
                    db.execute(
                        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND database = "
                        "(SELECT oid FROM pg_database WHERE datname = current_database())"
                    ).fetchone()[0]
                    == 1
                ),
                "the second process waits for the claim",
            )
            holder.send_signal(signal.SIGKILL)
            holder.wait(10)
            partial = progress()[0]
            assert 0 < partial < 3000
            server.release()
            report = report_of(taker)
        assert holder.returncode == -signal.SIGKILL

    assert report["ok"], report
    assert report["events_added"] == 3000 - partial
    covered_before = sum(e - s for s, e in report["planned"])
    assert covered_before < NOW - T0  # the windows the holder completed were not fetched again
    store = open_pg(schema)
    ids = stored(store)
    assert len(ids) == len(set(ids)) == 3000 and set(ids) == {e["id"] for e in events}
    assert store.covered(KEY) == [(T0, NOW)]


# -- schema and migrations ----------------------------------------------------------------------------------


def meta(pg_url: str, schema: str) -> dict[str, str]:
    with pg_support.admin(pg_url, schema) as db:
        return dict(db.execute("SELECT name, value FROM flag_health_meta").fetchall())


@pytest.mark.postgres
def test_replicas_starting_together_migrate_once(pg_url, schemas, open_pg):
    schema = schemas()
    barrier = threading.Barrier(6)
    stores: list[PostgresStore] = []
    errors: list[BaseException] = []

    def start() -> None:
        barrier.wait()
        try:
            stores.append(PostgresStore(pg_url, schema=schema, pool_size=1))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        assert errors == [] and len(stores) == 6
        rows = meta(pg_url, schema)
        assert rows["schema_version"] == str(SCHEMA_VERSION)
        assert [name for name in rows if name.startswith("migration:")] == [
            f"migration:{v:04d}" for v in range(1, SCHEMA_VERSION + 1)
        ]
        stores[0].write_page(KEY, [make_event(1, T0)], (T0, T0 + 1))
        assert stores[5].covered(KEY) == [(T0, T0 + 1)]
    finally:
        for s in stores:
            s.close()
    open_pg(schema).close()  # a restart finds the schema current and changes nothing
    assert meta(pg_url, schema) == rows
    with pg_support.admin(pg_url, schema) as db:
        tables = {
            r[0]
            for r in db.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = %s", (schema,)
            )
        }
    assert tables == {
        "flag_health_meta",
        "fh_keys",
        "fh_events",
        "fh_coverage",
        "fh_refreshes",
        "fh_resources",
        "fh_digest_items",
        "fh_digest_runs",
        "fh_snapshots",
    }


@pytest.mark.postgres
def test_migrations_wait_for_each_other(pg_url, schemas):
    schema = schemas()
    with pg_support.admin(pg_url) as db:
        db.execute("BEGIN")
        db.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK_ID,))  # a migration in progress
        started = time.monotonic()
        timer = threading.Timer(0.5, lambda: db.execute("COMMIT"))
        timer.start()
        store = PostgresStore(pg_url, schema=schema)
        timer.join()
    assert time.monotonic() - started >= 0.5
    store.close()


@pytest.mark.postgres
def test_a_newer_schema_is_refused_not_touched(pg_url, schemas, open_pg):
    schema = schemas()
    open_pg(schema).write_page(KEY, [make_event(1, T0)])
    with pg_support.admin(pg_url, schema) as db:
        db.execute("UPDATE flag_health_meta SET value = '99' WHERE name = 'schema_version'")
    with pytest.raises(StoreError, match="schema version 99, newer than this dashboard's"):
        PostgresStore(pg_url, schema=schema)
    with pg_support.admin(pg_url, schema) as db:
        assert db.execute("SELECT count(*) FROM fh_events").fetchone()[0] == 1


@pytest.mark.postgres
def test_schema_from_the_url_search_path(pg_url, schemas):
    schema = schemas()
    with pg_support.admin(pg_url) as db:
        db.execute(f'CREATE SCHEMA "{schema}"')
    sep = "&" if "?" in pg_url else "?"
    store = PostgresStore(f"{pg_url}{sep}options=-csearch_path%3D{schema}")
    try:
        store.write_page(KEY, [make_event(1, T0)])
    finally:
        store.close()
    with pg_support.admin(pg_url, schema) as db:
        assert db.execute("SELECT count(*) FROM fh_events").fetchone()[0] == 1


# -- the same answers as SQLite ------------------------------------------------------------------------------


@pytest.mark.postgres
def test_frames_and_raw_events_equal_sqlite(open_pg, tmp_path):
    events = server_events(1500)
    for i, patch in enumerate(
        [
            {"description": ""},
            {"description": 'a, "b"\nc\\N'},
            {"member": None},
            {"impact": None},
            {"flagKey": "ünï-🚩"},
            {"experiments": {"totalCount": 1}},
        ]
    ):
        events[i * 7].update(patch)
    events[3].pop("environmentKey")
    pg, lite = open_pg(), SQLiteStore(tmp_path / "events.sqlite")
    for store in (pg, lite):
        api = FakeAPI(list(events))
        client = LDClient(TOKEN, "https://ld.test", transport=httpx.MockTransport(api))
        assert refresh(client, store, KEY, T0, NOW, now=NOW).ok
    pd.testing.assert_frame_equal(pg.load_frame(KEY, T0, NOW), lite.load_frame(KEY, T0, NOW))
    pd.testing.assert_frame_equal(
        pg.load_frame(KEY, T0 + DAY, T0 + 9 * DAY), lite.load_frame(KEY, T0 + DAY, T0 + 9 * DAY)
    )
    assert list(pg.iter_raw(KEY, T0, NOW)) == list(lite.iter_raw(KEY, T0, NOW))
    assert pg.covered(KEY) == lite.covered(KEY)
    strip = [(s.key, s.events, s.first_event_ms, s.last_event_ms, s.covered) for s in pg.summaries()]
    assert strip == [
        (s.key, s.events, s.first_event_ms, s.last_event_ms, s.covered) for s in lite.summaries()
    ]
    lite.close()


@pytest.mark.postgres
def test_nul_characters_are_kept_in_raw_and_dropped_from_columns(open_pg):
    store = open_pg()
    event = make_event(1, T0)
    event["description"] = "before\x00after"
    assert store.write_page(KEY, [event]) == 1
    assert list(store.iter_raw(KEY, T0, T0 + 1)) == [event]
    assert store.load_frame(KEY, T0, T0 + 1)["description"].tolist() == ["beforeafter"]


# -- errors ----------------------------------------------------------------------------------------------------


def test_an_unreachable_database_is_a_clear_store_error():
    port = closed_port()
    url = f"postgresql://flaghealth:{SECRET}@127.0.0.1:{port}/team_flags"
    started = time.monotonic()
    with pytest.raises(StoreError) as info:
        PostgresStore(url, connect_timeout_s=2)
    message = str(info.value)
    assert time.monotonic() - started < 10
    assert f"flaghealth@127.0.0.1:{port}/team_flags" in message and "refused" in message.lower()
    assert SECRET not in message and "\n" not in message
    with pytest.raises(StoreError) as again:
        open_store(Path("/nonexistent"), url)
    assert SECRET not in str(again.value)


def test_the_cli_shows_the_store_error_not_a_traceback(monkeypatch, capsys):
    port = closed_port()
    monkeypatch.setenv("LD_STORE_URL", f"postgresql://flaghealth:{SECRET}@127.0.0.1:{port}/team_flags")
    assert cli_main(["cache", "info"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: cannot connect to the PostgreSQL event store at flaghealth@127.0.0.1:")
    assert "Traceback" not in err and SECRET not in err


@pytest.mark.parametrize(
    "url",
    [
        f"postgresql://flaghealth:{SECRET}@127.0.0.1:notaport/db",
        f"postgresql://flaghealth:{SECRET}@127.0.0.1/db?sslmode=nonsense",
        f"host=127.0.0.1 password='{SECRET}' nonsense",
    ],
)
def test_a_malformed_url_is_a_store_error_without_the_password(url):
    with pytest.raises(StoreError) as info:
        PostgresStore(url, connect_timeout_s=2)
    assert SECRET not in str(info.value)


@pytest.mark.postgres
def test_a_wrong_password_is_named_but_not_shown(pg_url):
    parts = httpx.URL(pg_url)
    wrong = str(parts.copy_with(password=SECRET))
    with pytest.raises(StoreError) as info:
        PostgresStore(wrong, connect_timeout_s=2)
    message = str(info.value)
    assert "password authentication failed" in message and f"{parts.host}:{parts.port or 5432}" in message
    assert SECRET not in message


@pytest.mark.postgres
def test_the_description_names_the_database_without_the_password(pg_url, open_pg):
    store = open_pg()
    parts = httpx.URL(pg_url)
    assert store.description.startswith(f"PostgreSQL at postgresql://{parts.username}@{parts.host}:")
    assert store.notice is None
    assert f":{parts.password}@" not in store.description and "password" not in store.description


@pytest.mark.postgres
def test_failures_after_start_up_are_store_errors(pg_url, schemas, open_pg):
    schema = schemas()
    store = open_pg(schema)
    store.write_page(KEY, [make_event(1, T0)])
    pg_support.drop_schema(pg_url, schema)
    with pytest.raises(StoreError, match="failed: .*does not exist"):
        store.covered(KEY)
    with pytest.raises(StoreError):
        store.load_frame(KEY, T0, NOW)
    store.close()
    with pytest.raises(StoreError, match="closed"):
        store.last_refresh(KEY)
