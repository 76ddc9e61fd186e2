"""Flag health over months: daily snapshots (one per key and day, kept across restarts and migrations, the
same in SQLite and PostgreSQL), the days rebuilt before them, and the figures they say agree with `metrics`."""

from __future__ import annotations

import json
import sqlite3
from datetime import date, timedelta

import pandas as pd
import pytest

from ldclient import history
from ldclient.source import open_source
from ldclient.store import SQLiteStore, StoreKey
from ldclient.store.snapshots import BLOCK_DAYS, Snapshot
from ldclient.sync import now_ms
from ldclient.timeutil import day_start_ms
from tests import pg_support
from tests.support import cli_env, run_cli
from tests.test_store import Backend

DAY = 86_400_000
KEY = StoreKey("https://ld.test", "web", "production")
D0 = date(2026, 3, 2)


def at(day: date, hour: int = 7) -> int:
    return day_start_ms(day, "UTC") + hour * 3_600_000


def snap(day: date, n: int, hour: int = 7) -> Snapshot:
    """A snapshot whose flags change a little each day: flag-i is stale on some days, flags come and go."""
    flags = {
        f"flag-{i}": ("launched" if (n + i) % 3 else "active", "live", "production", (n + i) % 5 == 0)
        for i in range(n % 7, n % 7 + 12)
    }
    figures = {"stale_flags": sum(v[3] for v in flags.values()), "stale_share": 0.25, "temporary_flags": 12}
    return Snapshot(day.isoformat(), at(day, hour), figures, flags)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request, tmp_path):
    b = Backend(request.param, tmp_path)
    yield b
    b.cleanup()


def test_two_snapshots_on_one_day_leave_one_the_later(backend):
    store = backend.open()
    store.put_snapshot(KEY, snap(D0, 1, hour=7))
    later = snap(D0, 2, hour=19)
    store.put_snapshot(KEY, later)
    got = store.snapshots(KEY, D0.isoformat(), D0.isoformat(), with_flags=True)
    assert got == [later]
    assert store.latest_snapshot(KEY) == Snapshot(later.day, later.taken_ms, later.figures)


def test_snapshots_of_months_read_back_exactly_whatever_the_write_order(backend):
    store = backend.open()
    days = [snap(D0 + timedelta(days=n), n) for n in range(3 * BLOCK_DAYS + 5)]
    store.put_snapshots(KEY, days[40:])  # the recent past first,
    store.put_snapshots(KEY, days[:40])  # then a backfill before it (re-encodes the blocks it touches),
    for n in (0, 41, 60):  # then rewrites of a block's first day, of a day after it, of a later one
        days[n] = snap(D0 + timedelta(days=n), n + 100, hour=20)
        store.put_snapshot(KEY, days[n])
    for lo, hi in ((0, len(days) - 1), (13, 70), (56, 56)):
        got = store.snapshots(KEY, days[lo].day, days[hi].day, with_flags=True)
        assert got == days[lo : hi + 1]
    figures_only = store.snapshots(KEY, days[0].day, days[-1].day)
    assert [s.figures for s in figures_only] == [s.figures for s in days]
    assert all(s.flags is None for s in figures_only)
    other = StoreKey(KEY.source, KEY.project, "staging")
    assert store.snapshots(other, days[0].day, days[-1].day) == [] and store.latest_snapshot(other) is None


def test_a_snapshot_survives_a_restart_and_clearing_the_event_cache(backend):
    store = backend.open()
    store.put_snapshot(KEY, first := snap(D0, 3))
    store.close()
    again = backend.open()  # a restart, or another replica
    assert again.snapshots(KEY, D0.isoformat(), D0.isoformat(), with_flags=True) == [first]
    again.clear()  # `cache clear` drops what the API can give again, not the history it cannot
    assert again.snapshots(KEY, D0.isoformat(), D0.isoformat(), with_flags=True) == [first]


def test_a_schema_5_sqlite_file_gains_the_snapshots_in_place(tmp_path):
    from tests.fakeapi import make_event

    path = tmp_path / "events.sqlite"
    store = SQLiteStore(path)
    store.write_page(KEY, [make_event(i, at(D0) + i) for i in range(20)], (at(D0), at(D0) + 100))
    store.close()
    with sqlite3.connect(path) as conn:  # as the release before snapshots left it
        conn.execute("DROP TABLE snapshots")
        conn.execute("UPDATE meta SET value = '5' WHERE name = 'schema_version'")
    store = SQLiteStore(path)
    assert store.notice is None and not [p for p in tmp_path.iterdir() if "corrupt" in p.name]
    assert len(store.load_frame(KEY, 0, 2**62)) == 20  # nothing refetched
    store.put_snapshot(KEY, s := snap(D0, 4))
    store.close()
    assert SQLiteStore(path).snapshots(KEY, D0.isoformat(), D0.isoformat(), with_flags=True) == [s]


@pytest.mark.postgres
def test_a_schema_2_postgres_database_is_migrated_and_keeps_its_events():
    from ldclient.store.postgres import MIGRATIONS, SCHEMA_VERSION, PostgresStore
    from tests.fakeapi import make_event

    url, schema = pg_support.postgres_url(), pg_support.new_schema_name()
    try:
        store = PostgresStore(url, schema=schema)
        store.write_page(KEY, [make_event(i, at(D0) + i) for i in range(20)], (at(D0), at(D0) + 100))
        store.close()
        with pg_support.admin(url, schema) as db:  # as the release before snapshots left it
            db.execute("DROP TABLE fh_snapshots")
            db.execute("DELETE FROM flag_health_meta WHERE name = 'migration:0003'")
            db.execute("UPDATE flag_health_meta SET value = '2' WHERE name = 'schema_version'")
        store = PostgresStore(url, schema=schema)
        assert SCHEMA_VERSION == len(MIGRATIONS) == 3
        assert len(store.load_frame(KEY, 0, 2**62)) == 20
        store.put_snapshot(KEY, s := snap(D0, 4))
        store.close()
        again = PostgresStore(url, schema=schema)
        assert again.snapshots(KEY, D0.isoformat(), D0.isoformat(), with_flags=True) == [s]
        again.close()
    finally:
        pg_support.drop_schema(url, schema)


# --- the days rebuilt: a plain restatement on hand-built flags ----------------------------------------------


def flag(key: str, created: date, *, temporary: bool = True, archived: date | None = None) -> dict:
    item = {
        "key": key,
        "name": key,
        "kind": "boolean",
        "temporary": temporary,
        "creationDate": at(created, 10),
    }
    if archived is not None:
        item |= {"archived": True, "archivedDate": at(archived, 15)}
    return item


def event(i: int, key: str, day: date, hour: int, actions: list[str], env: str = "production") -> dict:
    from tests.fakeapi import make_event

    ev = make_event(i, at(day, hour), env=env, flag=key)
    ev["actions"] = actions
    del ev["impact"]  # no evaluation counts: no change can be a rollback
    return ev


def test_rebuilt_days_agree_with_a_plain_restatement():
    from ldclient import lifecycle
    from ldclient.frame import events_to_frame

    items = [
        flag("old-permanent", D0 - timedelta(days=200), temporary=False),
        flag("release-a", D0 - timedelta(days=40)),
        flag("release-b", D0 + timedelta(days=3)),
        flag("cleaned-up", D0 - timedelta(days=90), archived=D0 + timedelta(days=5)),
        flag("archived-long-ago", D0 - timedelta(days=300), archived=D0 - timedelta(days=100)),
    ]
    toggles = [event(i, "release-a", D0 + timedelta(days=1), 9 + i, ["updateOn"]) for i in range(3)]
    others = [event(10, "release-b", D0 + timedelta(days=4), 12, ["updateRules"], env="staging")]
    frame = events_to_frame([*toggles, *others])
    days = [D0 + timedelta(days=n) for n in range(10)]
    now = at(days[-1], 12)
    covered = [(at(D0, 0), now + 1)]
    got = history.history_frame(
        [], lifecycle.flags_to_frame(items), frame, covered, days[0], days[-1], "UTC", now
    )

    def alive(item: dict, end: int) -> bool:
        return item["creationDate"] <= end and not (item.get("archived") and item["archivedDate"] <= end)

    for day, row in zip(days, got.itertuples(index=False), strict=True):
        end = min(day_start_ms(day + timedelta(days=1), "UTC"), now + 1) - 1
        assert row.date == day.isoformat() and row.observed is False
        assert row.flags == sum(alive(i, end) for i in items)
        assert row.temporary_flags == sum(alive(i, end) and i["temporary"] for i in items)
        assert row.events == sum(
            1 for e in [*toggles, *others] if day_start_ms(day, "UTC") <= e["eventTime"] <= end
        )
        assert row.rollbacks == 0
        # flapping: three updateOn of one flag in one environment within the 7 days up to the day's end
        recent = [e for e in toggles if end - 7 * DAY < e["eventTime"] <= end]
        assert row.flapping_flags == (1 if len(recent) >= 3 else 0)
        assert pd.isna(row.stale_flags) and pd.isna(row.stale_share)  # statuses have no history: not rebuilt
    assert got["temporary_flags"].tolist() == [2, 2, 2, 3, 3, 2, 2, 2, 2, 2]


def test_days_outside_the_stored_history_have_no_event_counts():
    from ldclient import lifecycle
    from ldclient.frame import events_to_frame

    items = [flag("release-a", D0 - timedelta(days=40))]
    frame = events_to_frame([event(1, "release-a", D0 + timedelta(days=5), 10, ["updateRules"])])
    now = at(D0 + timedelta(days=9), 12)
    covered = [(at(D0 + timedelta(days=5), 0), now + 1)]
    got = history.history_frame(
        [], lifecycle.flags_to_frame(items), frame, covered, D0, D0 + timedelta(days=9), "UTC", now
    )
    assert got["events"].isna().tolist() == [True] * 5 + [False] * 5
    assert got["temporary_flags"].tolist() == [1] * 10  # the flags' metadata covers every day


def test_an_observed_day_carries_its_snapshot_and_the_timezone_picks_the_day():
    from ldclient import lifecycle
    from ldclient.frame import events_to_frame

    late = Snapshot(
        "2026-03-04",
        at(date(2026, 3, 4), 22),
        {"stale_flags": 3, "stale_share": 0.5, "temporary_flags": 6, "statuses": {"new": 1}},
    )
    items = [flag("release-a", D0 - timedelta(days=40))]
    now = at(date(2026, 3, 6), 12)
    frame = events_to_frame([])
    utc = history.history_frame(
        [late], lifecycle.flags_to_frame(items), frame, [], D0, date(2026, 3, 6), "UTC", now
    )
    tokyo = history.history_frame(
        [late], lifecycle.flags_to_frame(items), frame, [], D0, date(2026, 3, 6), "Asia/Tokyo", now
    )
    assert utc.loc[utc["observed"], "date"].tolist() == ["2026-03-04"]
    assert tokyo.loc[tokyo["observed"], "date"].tolist() == [
        "2026-03-05"
    ]  # 22:00 UTC is 07:00 next day there
    row = utc[utc["observed"]].iloc[0]
    assert (row["stale_flags"], row["stale_share"], row["temporary_flags"]) == (3, 0.5, 6)
    assert row["statuses"] == {"new": 1}


def test_flags_that_became_stale_are_named_per_week():
    def s(day: date, stale: set[str]) -> Snapshot:
        flags = {k: ("launched", "live", "production", k in stale) for k in ("a", "b", "c")}
        return Snapshot(day.isoformat(), at(day), {}, flags)

    monday = date(2026, 3, 2)
    snaps = [
        s(monday, set()),
        s(monday + timedelta(days=1), {"a"}),
        s(monday + timedelta(days=2), {"a", "b"}),
        s(monday + timedelta(days=8), {"b"}),  # a no longer stale
        s(monday + timedelta(days=9), {"a", "b", "c"}),  # a stale again, c new
    ]
    assert history.became_stale(snaps, at(monday), at(monday + timedelta(days=7))) == ["a", "b"]
    assert history.became_stale(snaps, at(monday + timedelta(days=7)), at(monday + timedelta(days=14))) == [
        "a",
        "c",
    ]
    from ldclient import lifecycle

    flags = lifecycle.flags_to_frame(
        [flag("c", monday - timedelta(days=60), archived=monday + timedelta(days=10))]
    )
    weekly = history.weekly_transitions(snaps, flags, "UTC")
    assert weekly[["week", "became_stale", "archived"]].values.tolist() == [
        ["2026-03-02", 2, 0],
        ["2026-03-09", 2, 1],
    ]


# --- the same history in both stores, and today's figures as `metrics` reports them -----------------------


@pytest.mark.postgres
def test_postgres_and_sqlite_give_identical_histories(tmp_path):
    from ldclient import lifecycle
    from ldclient.frame import events_to_frame

    sqlite_store = Backend("sqlite", tmp_path)
    pg_store = Backend("postgres", tmp_path)
    try:
        stores = [sqlite_store.open(), pg_store.open()]
        days = [snap(D0 + timedelta(days=n), n) for n in range(45)]
        items = [flag(f"flag-{i}", D0 - timedelta(days=i * 3)) for i in range(20)]
        frame = events_to_frame(
            [event(i, f"flag-{i % 4}", D0 + timedelta(days=i % 40), 9, ["updateOn"]) for i in range(60)]
        )
        now = at(D0 + timedelta(days=44), 12)
        results = []
        for store in stores:
            store.put_snapshots(KEY, days[10:])
            store.put_snapshots(KEY, days[:10])
            store.put_snapshot(KEY, snap(D0 + timedelta(days=30), 99, hour=21))
            snaps = store.snapshots(KEY, D0.isoformat(), days[-1].day, with_flags=True)
            table = history.history_frame(
                snaps,
                lifecycle.flags_to_frame(items),
                frame,
                [(0, now + 1)],
                D0,
                D0 + timedelta(days=44),
                "Europe/Berlin",
                now,
            )
            results.append(
                (
                    snaps,
                    history.history_records(table),
                    history.weekly_transitions(snaps, lifecycle.flags_to_frame(items), "UTC"),
                )
            )
        assert results[0][0] == results[1][0]
        assert results[0][1] == results[1][1]
        pd.testing.assert_frame_equal(results[0][2], results[1][2])
    finally:
        sqlite_store.cleanup()
        pg_store.cleanup()


def test_today_s_snapshot_says_what_metrics_reports(tmp_path):
    env = cli_env(tmp_path / "cache")
    sync = run_cli(
        ["sync", "--project", "web-storefront", "--env", "production", "--days", "30"], env, timeout=300
    )
    assert sync.returncode == 0, sync.stderr
    assert "snapshots: 1 of 1 keys recorded for " in sync.stdout
    shown = run_cli(
        ["history", "--project", "web-storefront", "--env", "production", "--days", "14", "--format", "json"],
        env,
        timeout=300,
    )
    assert shown.returncode == 0, shown.stderr
    records = json.loads(shown.stdout)
    assert len(records) == 14 and all(set(history.RECORD_FIELDS) <= set(r) for r in records)
    today = records[-1]
    assert today["observed"] is True
    metrics = run_cli(
        ["metrics", "--project", "web-storefront", "--env", "production", "--format", "json"],
        env,
        timeout=300,
    )
    assert metrics.returncode == 0, metrics.stderr
    m = json.loads(metrics.stdout)
    for name in ("temporary_flags", "stale_flags", "stale_share", "statuses"):
        assert today[name] == m[name], name
    assert set(today["statuses"]) == {"new", "active", "launched", "inactive"}
    # the demo's recorded past: every earlier day observed too, dated YYYY-MM-DD one day apart
    assert [r["observed"] for r in records] == [True] * 14
    dates = [date.fromisoformat(r["date"]) for r in records]
    assert dates == [dates[0] + timedelta(days=n) for n in range(14)]


def test_the_demo_shows_a_cleanup_sprint_and_debt_growing_before_it(tmp_path):
    from ldclient.demo.catalog import SPRINT_STARTS_DAYS_AGO
    from ldclient.settings import Settings

    settings = Settings.load()
    source = open_source(settings, store=SQLiteStore(tmp_path / "s.sqlite"))
    now = now_ms()
    for e in source.environments("web-storefront"):
        source.refresh("web-storefront", e.key, now - 200 * DAY, now + 1)
    history.record_snapshot(source, "web-storefront", "production", now)
    today = date.fromisoformat(history.utc_day(now))
    frame = history.key_history(
        source, "web-storefront", "production", today - timedelta(days=179), today, "UTC", now
    )
    share = frame.set_index("date")["stale_share"].astype(float)
    sprint = today - timedelta(days=SPRINT_STARTS_DAYS_AGO)
    before = share[(sprint - timedelta(days=3)).isoformat()]
    after = share[(sprint + timedelta(days=7)).isoformat()]
    assert after < before - 0.05  # the sprint: a drop of more than 5 points within ten days
    quarter = share[(sprint - timedelta(days=95)).isoformat() : (sprint - timedelta(days=3)).isoformat()]
    stale = frame.set_index("date")["stale_flags"].astype(float)
    grew = stale[(sprint - timedelta(days=3)).isoformat()] - stale[(sprint - timedelta(days=95)).isoformat()]
    assert grew > 5 and len(quarter) > 80  # the quarter before it: more stale flags every month


def test_monthly_medians_restate_time_to_production_and_in_cleanup():
    from ldclient import lifecycle
    from ldclient.frame import events_to_frame

    march = date(2026, 3, 2)
    items = [
        flag("fast", march, temporary=True),  # created, in production 5 days later
        flag("slow", march + timedelta(days=1)),  # in production 9 days later
        flag("before-the-events", march - timedelta(days=300)),  # first change unknowable: left out
        flag("retired", march - timedelta(days=100), archived=march + timedelta(days=10)),
    ]
    events = [
        event(1, "before-the-events", march, 8, ["updateRules"], env="staging"),
        event(2, "fast", march + timedelta(days=5), 10, ["updateOn"]),
        event(3, "slow", march + timedelta(days=10), 10, ["updateOn"]),
        event(4, "before-the-events", march + timedelta(days=11), 10, ["updateOn"]),
        event(5, "retired", march - timedelta(days=20), 15, ["updateRules"], env="staging"),
    ]
    got = history.monthly_medians(
        lifecycle.flags_to_frame(items), events_to_frame(events), {"production"}, "UTC"
    )
    row = got.set_index("month").loc["2026-03"]
    assert row["flags_to_production"] == 2 and row["days_to_production"] == 7.0  # median of 5 and 9 days
    # cleanup began at the later of creation + 30 days and the last change (20 days before the archive date)
    assert row["flags_archived"] == 1 and row["days_in_cleanup"] == 30.0
    assert got["month"].tolist() == ["2026-03"]  # months without either are not listed
