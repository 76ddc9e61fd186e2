#!/usr/bin/env python3
"""Flag Health benchmarks: one entry point for ``make bench`` (full sizes) and ``make test`` (``--quick``).

Every figure is measured against a baseline or a floor in the same run and printed as one table
(figure, measure, measured, target, met), with the machine it ran on; ``--json PATH`` writes the
same figures as JSON. Figures:

1. Cold fetch: ``refresh`` into a fresh SQLite store from the demo HTTP server (50 ms latency per
   request) against a naive sequential fetcher (one window, ``limit=100``, ``_links.next``).
2. Warm load: the same range again (zero flag-event requests) and store-to-DataFrame times.
3. Incremental refresh after 500 new events.
4. Metrics over 1,000,000 synthetic events, with DuckDB as an independent reference.
5. Page speed: the overview's first render and re-renders after a filter change (Streamlit AppTest).
6. Memory: peak RSS of a separate process that loads 1,000,000 events and computes the metrics.
7. PostgreSQL against SQLite for store-to-DataFrame (only with ``LD_TEST_POSTGRES_URL``).
8. Changes around a moment: every key's small window at once, against the keys one after another.
9. Wide sync: a skewed account of many keys (most quiet) synced cold and again "nightly", against the
   naive paginator run key after key.

``--quick`` uses small sizes, reports targets without failing on timing, and exits non-zero only
when something is functionally wrong (events missing or doubled, requests on a warm load, numbers
that disagree, a figure that crashed). A full run always exits 0 and lists the missed targets.
Generated stores are cached under ``benchmarks/.cache/`` (gitignored) between runs.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import gc
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = ROOT / "benchmarks"
DEFAULT_CACHE = BENCH_DIR / ".cache"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

DAY_MS = 86_400_000
HOUR_MS = 3_600_000
LATENCY_S = 0.05
TOKEN = "bench-token"
# Synthetic stores are anchored at a fixed instant so the cached files stay valid from day to day.
BIG_ANCHOR_MS = 1_790_812_800_000  # 2026-10-01T00:00:00Z
BIG_SPAN_DAYS = 180
BIG_SOURCE = "bench:synthetic"
BIG_PROJECT = "bench-project"
BIG_ENV = "production"
WRITE_BATCH = 5_000
LD_ENV_VARS = ("LD_API_TOKEN", "LD_BASE_URL", "LD_STORE_URL", "LD_TIMEZONE", "LD_CACHE_DIR")


@dataclass(frozen=True)
class Sizes:
    cold_events: int  # figure 1-3: one project/env over 90 days, fetched over HTTP
    big_events: int  # figures 2, 4, 6, 7: synthetic events written straight into a store
    page_events: int  # figure 5: events in the overview's store key
    repeats: int  # timed repetitions of the cheap measurements (median reported)


FULL = Sizes(cold_events=50_000, big_events=1_000_000, page_events=200_000, repeats=3)
QUICK = Sizes(cold_events=3_000, big_events=50_000, page_events=20_000, repeats=2)


# -- results ---------------------------------------------------------------------------------------------


@dataclass
class Row:
    figure: str
    measure: str
    measured: Any  # number, or text for skips and errors
    unit: str = ""
    target: str = ""
    met: bool | None = None  # None: informational, no target
    kind: str = "timing"  # timing | count | check | info | skip | error
    note: str = ""

    def measured_text(self) -> str:
        value = self.measured
        if isinstance(value, bool) or value is None:
            return str(value)
        if isinstance(value, int):
            text = f"{value:,}"
        elif isinstance(value, float):
            text = f"{value:,.3f}" if abs(value) < 100 else f"{value:,.1f}"
        else:
            return str(value)
        return f"{text} {self.unit}".strip()

    def met_text(self, quick: bool) -> str:
        if self.kind == "skip":
            return "skipped"
        if self.kind == "error":
            return "ERROR"
        if self.met is None:
            return "-"
        text = "yes" if self.met else "NO"
        if quick and self.kind == "timing":
            text += " (not enforced)"
        return text


@dataclass
class Context:
    sizes: Sizes
    quick: bool
    cache: Path
    tmp: Path
    rows: list[Row] = field(default_factory=list)
    state: dict[str, Any] = field(default_factory=dict)
    cleanups: list[Callable[[], None]] = field(default_factory=list)

    def add(
        self,
        figure: str,
        measure: str,
        measured: Any,
        unit: str = "",
        target: str = "",
        met: bool | None = None,
        kind: str = "timing",
        note: str = "",
    ) -> Row:
        row = Row(figure, measure, measured, unit, target, met, kind, note)
        self.rows.append(row)
        print(
            f"  {figure} | {measure}: {row.measured_text()}"
            + (f"  (target {target}: {row.met_text(self.quick)})" if target else "")
            + (f"  [{note}]" if note else ""),
            flush=True,
        )
        return row

    def check(self, figure: str, measure: str, ok: bool, measured: Any = None, note: str = "") -> bool:
        self.add(
            figure,
            measure,
            ok if measured is None else measured,
            target="must hold",
            met=bool(ok),
            kind="check",
            note=note,
        )
        return bool(ok)


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    gc.collect()
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def median_time(fn: Callable[[], Any], repeats: int) -> tuple[Any, float, list[float]]:
    times, result = [], None
    for _ in range(max(1, repeats)):
        result, seconds = timed(fn)
        times.append(seconds)
    return result, statistics.median(times), times


def fmt_times(times: list[float]) -> str:
    return "runs " + ", ".join(f"{t:.3f}" for t in times) + " s"


# -- the machine ----------------------------------------------------------------------------------------


def machine_info() -> dict[str, Any]:
    import importlib.metadata as md
    import sqlite3

    cpu = platform.processor() or "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem_gb = None
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_gb = round(int(line.split()[1]) / 1024 / 1024, 1)
    versions = {}
    for name in ("pandas", "numpy", "pyarrow", "duckdb", "streamlit", "httpx", "psycopg"):
        try:
            versions[name] = md.version(name)
        except md.PackageNotFoundError:
            versions[name] = None
    git = {}
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        head = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.split("\n")
        git = {"head": head, "modified": sorted(line[3:] for line in dirty if line.strip())}
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "cores_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "memory_gb": mem_gb,
        "os": platform.platform(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        **versions,
        "git": git,
    }


def machine_line(info: dict[str, Any]) -> str:
    git = info.get("git") or {}
    dirty = f" + uncommitted changes in {', '.join(git['modified'])}" if git.get("modified") else ""
    return (
        f"{info['cpu']}, {info['cores']} cores ({info['cores_usable']} usable), "
        f"{info['memory_gb']} GB RAM; Python {info['python']}, pandas {info['pandas']}, "
        f"numpy {info['numpy']}, pyarrow {info['pyarrow']}, "
        f"duckdb {info['duckdb']}, streamlit {info['streamlit']}, SQLite {info['sqlite']}; "
        f"git {git.get('head', '?')}{dirty}"
    )


# -- shared data: the demo server with one big (project, env), and the synthetic big store ---------------


def _in_range(account: Any, project: str, env: str, from_ms: int, to_ms: int) -> list[dict[str, Any]]:
    """What the flag-events API serves for (project, env) with global events included, in [from, to)."""
    return [
        e
        for e in account.events
        if e["projectKey"] == project
        and e.get("environmentKey") in (env, None)
        and from_ms <= e["eventTime"] < to_ms
    ]


def synthetic_batches(n: int, chunk: int = 50_000) -> Iterator[list[dict[str, Any]]]:
    """The big store's events, ``chunk`` at a time (the same every run: fixed seeds and anchor)."""
    from ldclient.demo import make_events

    from_ms, to_ms = BIG_ANCHOR_MS - BIG_SPAN_DAYS * DAY_MS, BIG_ANCHOR_MS
    for i, start in enumerate(range(0, n, chunk)):
        yield make_events(min(chunk, n - start), BIG_PROJECT, BIG_ENV, from_ms, to_ms, seed=1_000 + i)


@functools.cache
def code_fingerprint(store_module: str = "ldclient/store/sqlite.py") -> str:
    """Hash of the code that decides what a store holds: a change to it invalidates cached stores.
    Taken once per run (others may edit the files meanwhile; this process keeps the code it imported)."""
    import hashlib

    digest = hashlib.sha256()
    for name in (store_module, "ldclient/store/base.py", "ldclient/frame.py", "ldclient/demo/generator.py"):
        digest.update((ROOT / name).read_bytes())
    return digest.hexdigest()[:16]


def _pid_alive(text: str) -> bool:
    try:
        os.kill(int(text), 0)
    except (ValueError, ProcessLookupError):
        return False
    except PermissionError:
        return True
    return True


def big_store_path(ctx: Context) -> tuple[Path, dict[str, Any]]:
    """The cached synthetic store of ``big_events`` events (built once with write_page batches)."""
    from ldclient.store import SCHEMA_VERSION, SQLiteStore, StoreKey

    n = ctx.sizes.big_events
    ctx.cache.mkdir(parents=True, exist_ok=True)
    path = ctx.cache / f"store-{n}-schema{SCHEMA_VERSION}.sqlite"
    marker = path.with_suffix(".json")
    from_ms, to_ms = BIG_ANCHOR_MS - BIG_SPAN_DAYS * DAY_MS, BIG_ANCHOR_MS
    meta = {
        "events": n,
        "source": BIG_SOURCE,
        "project": BIG_PROJECT,
        "environment": BIG_ENV,
        "from_ms": from_ms,
        "to_ms": to_ms,
        "schema_version": SCHEMA_VERSION,
        "generator": 1,
        "code": code_fingerprint(),
    }
    if path.exists() and marker.exists():
        with contextlib.suppress(Exception):
            if json.loads(marker.read_text()) == meta:
                store = SQLiteStore(path)
                try:
                    key = StoreKey(BIG_SOURCE, BIG_PROJECT, BIG_ENV)
                    count = next((s.events for s in store.summaries() if s.key == key), 0)
                finally:
                    store.close()
                if count == n and store.notice is None:
                    return path, meta
    print(
        f"  building the cached {n:,}-event store {path.name} (write_page batches of {WRITE_BATCH:,}); "
        "later runs reuse it",
        flush=True,
    )
    marker.unlink(missing_ok=True)
    for stale in ctx.cache.glob(f"store-{n}-*"):
        if not stale.name.startswith(path.name):  # an older schema's store
            stale.unlink(missing_ok=True)
        elif ".building-" in stale.name and not _pid_alive(stale.name.split(".building-")[1].split("-")[0]):
            stale.unlink(missing_ok=True)  # a crashed build's leftovers
    building = path.with_name(f"{path.name}.building-{os.getpid()}")
    store = SQLiteStore(building)
    key = StoreKey(BIG_SOURCE, BIG_PROJECT, BIG_ENV)
    started = time.perf_counter()
    for items in synthetic_batches(n):
        for j in range(0, len(items), WRITE_BATCH):
            store.write_page(key, items[j : j + WRITE_BATCH])
        del items
    store.write_page(key, [], complete=(from_ms, to_ms))
    store.close()  # checkpoints the WAL into the file
    for suffix in ("-wal", "-shm"):  # a stale WAL next to the new file would be replayed into it
        Path(str(building) + suffix).unlink(missing_ok=True)
        Path(str(path) + suffix).unlink(missing_ok=True)
    os.replace(building, path)
    marker.write_text(json.dumps(meta))
    ctx.state["big_build_s"] = time.perf_counter() - started
    return path, meta


def big_store_copy(ctx: Context, name: str) -> tuple[Path, dict[str, Any]]:
    """A private copy of the cached big store (loads may write to it, e.g. a columnar snapshot)."""
    import sqlite3

    source, meta = big_store_path(ctx)
    if Path(f"{source}-wal").exists():  # fold any WAL into the file, which is all that is copied
        conn = sqlite3.connect(source)
        try:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            conn.close()
    target = ctx.tmp / name
    shutil.copyfile(source, target)
    return target, meta


# -- figure 1: cold fetch -------------------------------------------------------------------------------


def naive_fetch(base_url: str, project: str, env: str, from_ms: int, to_ms: int) -> tuple[list[str], int]:
    """The baseline: one window, limit=100, follow ``_links.next`` one request after another."""
    import httpx

    from ldclient.api.client import FLAG_EVENTS_PATH

    params: dict[str, Any] | None = {
        "projectKey": project,
        "environmentKey": env,
        "from": from_ms,
        "to": to_ms,
        "limit": 100,
        "global": "include",
        "expand": "experiments",
    }
    ids: list[str] = []
    requests = 0
    url = FLAG_EVENTS_PATH
    with httpx.Client(
        base_url=base_url, timeout=60, headers={"Authorization": TOKEN, "LD-API-Version": "beta"}
    ) as http:
        while True:
            response = http.get(url, params=params)
            requests += 1
            response.raise_for_status()
            body = response.json()
            ids.extend(item["id"] for item in body["items"])
            nxt = (body.get("_links") or {}).get("next")
            if not nxt or not body["items"]:
                return ids, requests
            url, params = nxt["href"], None


def fig_cold_fetch(ctx: Context) -> None:
    from ldclient.api.client import LDClient, split_windows
    from ldclient.demo import DemoFaults, default_now_ms, generate_account, start_server_in_thread
    from ldclient.store import SQLiteStore, StoreKey
    from ldclient.sync import refresh

    fig = "1 Cold fetch"
    n_target = ctx.sizes.cold_events
    anchor = default_now_ms()
    from_ms, to_ms = anchor - 90 * DAY_MS, anchor
    account = generate_account(seed=11, now_ms=anchor, events_target=2_000)
    project, env = account.projects[0]["key"], "production"
    existing = len(_in_range(account, project, env, from_ms, to_ms))
    account.add_events(account.make_events(max(0, n_target - existing), project, env, from_ms, to_ms, seed=1))
    truth = {e["id"] for e in _in_range(account, project, env, from_ms, to_ms)}
    n = len(truth)
    server = start_server_in_thread(account, DemoFaults(latency_s=LATENCY_S))
    ctx.cleanups.append(server.stop)
    # one request first, so neither side pays for the server picking up the added events
    LDClient(TOKEN, server.base_url).flag_events(project, env, to_ms - HOUR_MS, to_ms)

    before = server.stats.count("flag-events")
    (base_ids, base_requests), base_s = timed(
        lambda: naive_fetch(server.base_url, project, env, from_ms, to_ms)
    )
    base_server = server.stats.count("flag-events") - before

    store = SQLiteStore(ctx.tmp / "cold.sqlite")
    key = StoreKey(server.base_url, project, env)
    client = LDClient(TOKEN, server.base_url)
    before = server.stats.count("flag-events")
    report, fetch_s = timed(lambda: refresh(client, store, key, from_ms, to_ms, now=to_ms))
    fetch_server = server.stats.count("flag-events") - before
    windows = sum(len(split_windows(s, e)) for s, e in report.planned)
    plan = [w for s, e in report.planned for w in split_windows(s, e)]
    _, floor_s = timed(
        lambda: client.flag_events(
            project, env, from_ms, to_ms, windows=plan, on_page=lambda *_: None, collect=False
        )
    )
    ctx.state["cold"] = {
        "server": server,
        "account": account,
        "store": store,
        "key": key,
        "client": client,
        "from_ms": from_ms,
        "to_ms": to_ms,
        "n": n,
        "project": project,
        "env": env,
    }

    ctx.add(
        fig,
        f"events in range ({project}/{env}, 90 days)",
        n,
        kind="info",
        note=f"{LATENCY_S * 1000:.0f} ms added latency per request, real local HTTP",
    )
    ctx.add(
        fig,
        "naive baseline time (1 window, sequential)",
        base_s,
        "s",
        kind="info",
        note=f"{base_requests:,} requests",
    )
    ctx.add(
        fig,
        "project fetcher time (refresh into SQLite)",
        fetch_s,
        "s",
        kind="info",
        note=f"{report.requests:,} requests, {windows} windows, {report.pages:,} pages",
    )
    ctx.add(
        fig,
        "floor: same fetch, pages discarded (no store)",
        floor_s,
        "s",
        kind="info",
        note=f"{floor_s / base_s:.2f} x baseline; the rest of the fetcher's time is writing to the store",
    )
    ratio = fetch_s / base_s if base_s else math.inf
    ctx.add(fig, "fetcher time / baseline time", ratio, "x", "<= 0.35", ratio <= 0.35)
    limit = 1.1 * math.ceil(n / 100) + windows
    ctx.add(
        fig,
        "fetcher requests",
        report.requests,
        "",
        f"<= {limit:,.0f} (1.1 x ceil(N/100) + {windows})",
        report.requests <= limit,
        kind="count",
        note=f"server counted {fetch_server:,}",
    )
    ctx.check(fig, "refresh finished without error", report.ok, note=str(report.error or ""))
    ctx.check(
        fig,
        "server and client agree on the request count",
        fetch_server == report.requests,
        f"{fetch_server:,} vs {report.requests:,}",
    )

    frame, first_load_s = timed(lambda: store.load_frame(key, from_ms, to_ms))
    ctx.state["cold"]["first_load_s"] = first_load_s
    stored = frame["id"].astype(str).tolist()
    stored_set = set(stored)
    missing, extra = len(truth - stored_set), len(stored_set - truth)
    doubled = len(stored) - len(stored_set)
    ctx.check(fig, "events missing from the store", missing == 0, missing)
    ctx.check(fig, "events in the store the server does not have", extra == 0, extra)
    ctx.check(fig, "events stored more than once", doubled == 0, doubled)
    ctx.add(
        fig,
        "duplicate deliveries (window overlaps, deduplicated)",
        report.events_received - report.events_added,
        kind="info",
        note=f"{report.events_received:,} received, {report.events_added:,} added",
    )
    base_set = set(base_ids)
    ctx.add(
        fig,
        "baseline sanity: events missing",
        len(truth - base_set),
        kind="info",
        note=f"baseline sent {base_server:,} requests per the server",
    )


# -- figure 2: warm load ---------------------------------------------------------------------------------


def fig_warm_load(ctx: Context) -> None:
    from ldclient.store import SQLiteStore, StoreKey
    from ldclient.sync import refresh

    fig = "2 Warm load"
    cold = ctx.state.get("cold")
    if cold is None:
        ctx.add(
            fig,
            "warm refresh / load of the fetched range",
            "skipped",
            kind="skip",
            note="figure 1 did not produce a store",
        )
    else:
        server, store, key = cold["server"], cold["store"], cold["key"]
        before = server.stats.count("flag-events")
        report = refresh(cold["client"], store, key, cold["from_ms"], cold["to_ms"], now=cold["to_ms"])
        sent = server.stats.count("flag-events") - before
        ctx.check(
            fig,
            "flag-event requests on the same range again",
            report.requests == 0 and sent == 0,
            sent,
            note=f"client counted {report.requests}",
        )
        n = cold["n"]
        ctx.add(
            fig,
            f"load_frame {n:,} events, first load after the fetch",
            cold["first_load_s"],
            "s",
            kind="info",
            note="the first load after writes (builds any read cache)",
        )
        frame, warm_s, times = median_time(
            lambda: store.load_frame(key, cold["from_ms"], cold["to_ms"]), ctx.sizes.repeats
        )
        ctx.add(
            fig,
            f"load_frame {n:,} events (warm, median)",
            warm_s,
            "s",
            "<= 0.3 s",
            warm_s <= 0.3,
            note=fmt_times(times),
        )
        ctx.check(fig, f"warm load returns the {n:,} events", len(frame) == n, len(frame))

    path, meta = big_store_copy(ctx, "big.sqlite")
    n = meta["events"]
    if "big_build_s" in ctx.state:
        ctx.add(
            fig,
            f"building the {n:,}-event store (write_page, cached afterwards)",
            ctx.state["big_build_s"],
            "s",
            kind="info",
        )
    store = SQLiteStore(path)
    key = StoreKey(BIG_SOURCE, BIG_PROJECT, BIG_ENV)
    frame, first_s = timed(lambda: store.load_frame(key, meta["from_ms"], meta["to_ms"]))
    ctx.add(
        fig,
        f"load_frame {n:,} events, first load of the store",
        first_s,
        "s",
        kind="info",
        note="store written by write_page and never read before",
    )
    del frame
    frame, warm_s, times = median_time(
        lambda: store.load_frame(key, meta["from_ms"], meta["to_ms"]), ctx.sizes.repeats
    )
    target = 3.0 if n > 50_000 else 0.3
    ctx.add(
        fig,
        f"load_frame {n:,} events (warm, median)",
        warm_s,
        "s",
        f"<= {target:g} s",
        warm_s <= target,
        note=fmt_times(times),
    )
    ctx.check(
        fig,
        f"load returns the {n:,} events, each once",
        len(frame) == n and frame["id"].is_unique,
        len(frame),
    )
    ctx.state["big"] = {"path": path, "meta": meta, "frame": frame, "warm_s": warm_s}
    store.close()


# -- figure 3: incremental refresh ----------------------------------------------------------------------


def fig_incremental(ctx: Context) -> None:
    from ldclient.sync import refresh

    fig = "3 Incremental"
    cold = ctx.state.get("cold")
    if cold is None:
        ctx.add(fig, "incremental refresh", "skipped", kind="skip", note="figure 1 did not produce a store")
        return
    server, account, store, key = cold["server"], cold["account"], cold["store"], cold["key"]
    old_to = cold["to_ms"]
    new_to = old_to + HOUR_MS
    fresh = account.make_events(500, cold["project"], cold["env"], old_to, new_to, seed=2)
    account.add_events(fresh)
    before = server.stats.count("flag-events")
    report, seconds = timed(lambda: refresh(cold["client"], store, key, cold["from_ms"], new_to, now=new_to))
    sent = server.stats.count("flag-events") - before
    ctx.add(
        fig,
        "flag-event requests after 500 new events",
        report.requests,
        "",
        "<= 6",
        report.requests <= 6,
        kind="count",
        note=f"server counted {sent}; planned {len(report.planned)} range(s), {seconds:.2f} s",
    )
    stored = set(store.load_frame(key, cold["from_ms"], new_to)["id"].astype(str))
    missing = len({e["id"] for e in fresh} - stored)
    ctx.check(fig, "new events missing after the refresh", missing == 0 and report.ok, missing)
    ctx.check(fig, "events added == 500 (nothing doubled)", report.events_added == 500, report.events_added)
    truth = {e["id"] for e in _in_range(account, cold["project"], cold["env"], cold["from_ms"], new_to)}
    ctx.check(
        fig,
        "store equals the server's events for the new range",
        stored == truth,
        f"{len(stored):,} vs {len(truth):,}",
    )


# -- figure 4: metrics ----------------------------------------------------------------------------------

_IMPACT_SQL = (
    "CASE WHEN impact_size IN ('none', 'small', 'medium', 'large') "
    "THEN CAST(impact_size AS VARCHAR) ELSE 'unknown' END"
)


def _duckdb_core(con: Any, from_ms: int, to_ms: int) -> dict[str, Any]:
    where = f"event_time >= {int(from_ms)} AND event_time < {int(to_ms)}"
    impact = dict(
        con.execute(f"SELECT {_IMPACT_SQL} AS k, count(*) FROM ev WHERE {where} GROUP BY ALL").fetchall()
    )
    days = dict(
        con.execute(
            f"SELECT event_time // {DAY_MS} AS d, count(*) FROM ev WHERE {where} GROUP BY ALL"
        ).fetchall()
    )
    top = con.execute(
        f"SELECT CAST(flag_key AS VARCHAR) AS f, count(*) AS n FROM ev WHERE {where} "
        "AND flag_key IS NOT NULL GROUP BY ALL ORDER BY n DESC, f LIMIT 10"
    ).fetchall()
    return {"impact": impact, "days": days, "top": top}


def _duckdb_day_impact(con: Any, from_ms: int, to_ms: int) -> list[tuple[Any, ...]]:
    return con.execute(
        f"SELECT event_time // {DAY_MS} AS d, {_IMPACT_SQL} AS k, count(*) FROM ev "
        f"WHERE event_time >= {int(from_ms)} AND event_time < {int(to_ms)} GROUP BY ALL"
    ).fetchall()


def _pandas_core(frame: Any, from_ms: int, to_ms: int) -> dict[str, Any]:
    """The same three aggregates written as plain pandas (what "pandas vs DuckDB" compares)."""
    t = frame["event_time"]
    sel = frame[(t >= from_ms) & (t < to_ms)]
    impact = sel["impact_size"].value_counts(dropna=False, sort=False)
    days = (sel["event_time"] // DAY_MS).value_counts(sort=False)
    flags = sel["flag_key"].value_counts(sort=False)
    flags = flags[flags > 0]
    top = sorted(
        ((str(k), int(v)) for k, v in flags.nlargest(10, keep="all").items()), key=lambda kv: (-kv[1], kv[0])
    )[:10]
    return {"impact": impact, "days": days, "top": top}


def fig_metrics(ctx: Context) -> None:
    import duckdb
    import numpy as np

    from ldclient import metrics
    from ldclient.store import SQLiteStore, StoreKey

    fig = "4 Metrics"
    big = ctx.state.get("big")
    if big is None:
        path, meta = big_store_copy(ctx, "big-metrics.sqlite")
        store = SQLiteStore(path)
        frame = store.load_frame(StoreKey(BIG_SOURCE, BIG_PROJECT, BIG_ENV), meta["from_ms"], meta["to_ms"])
        store.close()
    else:
        frame, meta = big["frame"], big["meta"]
    n = len(frame)
    lo, hi = meta["from_ms"], meta["to_ms"]
    mid = hi - (hi - lo) // 2
    reps = ctx.sizes.repeats
    trend, trend_s, trend_times = median_time(lambda: metrics.compute_with_trend(frame, mid, hi), reps)
    table, table_s, table_times = median_time(lambda: metrics.per_flag_table(frame, lo, hi), reps)
    ctx.add(
        fig,
        f"compute_with_trend, {n:,} events (current + previous window)",
        trend_s,
        "s",
        kind="info",
        note=fmt_times(trend_times),
    )
    ctx.add(fig, f"per_flag_table, {n:,} events", table_s, "s", kind="info", note=fmt_times(table_times))
    total = trend_s + table_s
    ctx.add(fig, f"headline metrics + per-flag table, {n:,} events", total, "s", "<= 2 s", total <= 2.0)
    ctx.check(
        fig,
        "metrics cover every event",
        trend["events_total"] + trend["previous"]["events_total"] == n and int(table["events"].sum()) == n,
        trend["events_total"] + trend["previous"]["events_total"],
    )
    for name, fn in (
        ("daily_impact_counts", lambda: metrics.daily_impact_counts(frame, mid, hi)),
        ("weekday_hour_counts", lambda: metrics.weekday_hour_counts(frame, "UTC", mid, hi)),
        ("daily_series", lambda: metrics.daily_series(frame, mid, hi)),
    ):
        _, seconds, times = median_time(fn, reps)
        ctx.add(
            fig,
            f"{name}, {n:,} events (overview also calls it)",
            seconds,
            "s",
            kind="info",
            note=fmt_times(times),
        )

    # DuckDB as the independent reference, over the same frame (current window)
    con = duckdb.connect()
    con.register("ev", frame)
    _duckdb_core(con, mid, hi)  # first scan pays for the registration; not timed
    threads = con.execute("SELECT current_setting('threads')").fetchone()[0]
    ref, duck_s, duck_times = median_time(lambda: _duckdb_core(con, mid, hi), reps)
    headline, head_s, head_times = median_time(lambda: metrics.compute_metrics(frame, mid, hi), reps)
    ours = {k: v for k, v in headline["events_by_impact"].items() if v}
    ctx.check(fig, "events by impact: metrics == DuckDB", ours == ref["impact"], note=str(ours))
    day_ref = {str(np.datetime64(int(d), "D")): int(c) for d, c in ref["days"].items()}
    day_ours = {d: c for d, c in headline["events_by_day"].items() if c}
    ctx.check(fig, "events by day: metrics == DuckDB", day_ours == day_ref, f"{len(day_ours)} days")
    top_ours = [(t["flagKey"], t["events"]) for t in headline["top_flags"]]
    ctx.check(
        fig,
        "top 10 flags: metrics == DuckDB",
        top_ours == [(f, int(c)) for f, c in ref["top"]],
        note=", ".join(f"{f}={c}" for f, c in top_ours[:3]) + ", ...",
    )
    ctx.add(
        fig,
        "DuckDB: by impact, by day, top flags (current window)",
        duck_s,
        "s",
        kind="info",
        note=f"{fmt_times(duck_times)}; {threads} threads",
    )
    ctx.add(
        fig,
        "compute_metrics (all 14 headline metrics, one window)",
        head_s,
        "s",
        kind="info",
        note=fmt_times(head_times),
    )
    ctx.add(
        fig,
        "compute_metrics / DuckDB's 3 aggregates",
        head_s / duck_s,
        "x",
        kind="info",
        note="not like for like: the headline also finds rollbacks and flapping",
    )

    cells, ours_s, ours_times = median_time(lambda: metrics.daily_impact_counts(frame, mid, hi), reps)
    ref_cells, dcell_s, dcell_times = median_time(lambda: _duckdb_day_impact(con, mid, hi), reps)
    ours_map = {(str(r.date), str(r.impact_size)): int(r.events) for r in cells.itertuples() if r.events}
    ref_map = {(str(np.datetime64(int(d), "D")), str(k)): int(c) for d, k, c in ref_cells}
    ctx.check(
        fig,
        "day x impact counts: daily_impact_counts == DuckDB",
        ours_map == ref_map,
        f"{len(ref_map)} cells",
    )
    ratio = ours_s / dcell_s
    ctx.add(
        fig,
        "daily_impact_counts / DuckDB (day x impact)",
        ratio,
        "x",
        "<= 1.0",
        ratio <= 1.0,
        note=f"{ours_s:.3f} s vs {dcell_s:.3f} s",
    )

    counts, counts_s, counts_times = median_time(lambda: metrics.event_counts(frame, mid, hi), reps)
    ctx.check(
        fig,
        "event_counts == DuckDB (by impact, by day, top 10 flags)",
        {k: v for k, v in counts["events_by_impact"].items() if v} == ref["impact"]
        and {d: c for d, c in counts["events_by_day"].items() if c} == day_ref
        and [(t["flagKey"], t["events"]) for t in counts["top_flags"]]
        == [(f, int(c)) for f, c in ref["top"]],
    )
    ratio = counts_s / duck_s
    ctx.add(
        fig,
        "metrics.event_counts / DuckDB (the same 3 aggregates)",
        ratio,
        "x",
        "<= 1.0",
        ratio <= 1.0,
        note=f"{counts_s:.3f} s vs {duck_s:.3f} s ({fmt_times(counts_times)})",
    )

    pd_ref, pd_s, pd_times = median_time(lambda: _pandas_core(frame, mid, hi), reps)
    pd_impact = {
        ("unknown" if k is None or k != k or k not in metrics.IMPACT_SIZES else str(k)): int(v)
        for k, v in pd_ref["impact"].items()
        if v
    }
    ctx.check(
        fig,
        "pandas groupby == DuckDB (impact, top flags)",
        pd_impact == ref["impact"] and pd_ref["top"] == [(f, int(c)) for f, c in ref["top"]],
    )
    ratio = pd_s / duck_s
    ctx.add(
        fig,
        "plain pandas groupby / DuckDB (same 3 aggregates, written in the benchmark)",
        ratio,
        "x",
        kind="info",
        note=f"{pd_s:.3f} s vs {duck_s:.3f} s",
    )
    con.close()


# -- figure 5: page speed (child process) ---------------------------------------------------------------


def fig_page(ctx: Context) -> None:
    fig = "5 Page speed"
    out = ctx.tmp / "page.json"
    cache_dir = ctx.tmp / "page-cache"
    env = {k: v for k, v in os.environ.items() if k not in LD_ENV_VARS}
    env.update({"PYTHONPATH": str(ROOT), "LD_CACHE_DIR": str(cache_dir)})
    cmd = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--child",
        "page",
        "--child-events",
        str(ctx.sizes.page_events),
        "--child-dir",
        str(cache_dir),
        "--child-out",
        str(out),
    ]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=1800)
    if proc.returncode != 0 or not out.exists():
        raise RuntimeError(f"page child failed ({proc.returncode}): {(proc.stderr or proc.stdout)[-3000:]}")
    r = json.loads(out.read_text())
    n = r["events_in_key"]
    ctx.add(
        fig,
        "events in the overview's store key (current + previous 30 days)",
        n,
        kind="info",
        note=f"prefill {r['prefill_s']:.1f} s; demo account generated before timing "
        f"({r['demo_account_s']:.1f} s)",
    )
    ctx.add(
        fig,
        "first render of the overview (warm store, cold Streamlit caches)",
        r["first_s"],
        "s",
        kind="info",
        note="includes load_frame, every overview metric, flags/statuses from the demo",
    )
    for name, label in (
        ("impact", "re-render after impact filter -> large"),
        ("env", "re-render after environment -> staging"),
    ):
        seconds = r[f"{name}_s"]
        ctx.add(fig, label, seconds, "s", "<= 1 s", seconds <= 1.0)
    ctx.add(fig, "re-render, impact filter cleared again (cached)", r["impact_back_s"], "s", kind="info")
    ctx.add(fig, "re-render with no change", r["noop_s"], "s", kind="info")
    ctx.check(
        fig,
        "overview shows the stored events (Events KPI)",
        r["events_ok"],
        f"{r['events_shown']} vs {r['events_expected']:,}",
    )
    ctx.check(
        fig,
        "impact filter changes the Events KPI correctly",
        r["large_ok"],
        f"{r['large_shown']} vs {r['large_expected']:,}",
    )
    ctx.check(fig, "no exception in any run", not r["exceptions"], note="; ".join(r["exceptions"])[:300])


def child_page(events: int, cache_dir: Path, out: Path) -> None:
    """Prefill a cache dir for the demo source so the overview's key holds ``events`` events, then time
    the overview under AppTest in this (fresh) process."""
    import datetime as dt

    from ldclient.demo import default_now_ms
    from ldclient.links import View
    from ldclient.settings import Settings
    from ldclient.source import DEMO_SEED, demo_account, open_source

    started = time.perf_counter()
    anchor = default_now_ms()
    account = demo_account(DEMO_SEED, anchor)  # lru-cached: the app's source reuses it
    demo_s = time.perf_counter() - started
    settings = Settings.load()
    source = open_source(settings, demo_now_ms=anchor)
    project = source.projects()[0]
    envs = [e.key for e in project.environments]
    env = "production" if "production" in envs else envs[0]
    today = dt.datetime.now(dt.UTC).date()
    view = View(project.key, env, tz=settings.timezone)
    from_ms, to_ms = view.window_ms(today)
    start = from_ms - (to_ms - from_ms)  # the overview loads the previous window too
    lo = min(start, to_ms - 91 * DAY_MS)
    for e in envs:  # every environment (lifecycle panels read them all), then coverage up to to_ms:
        report = source.refresh(project.key, e, lo, to_ms)  # the demo has no events after its anchor
        if report.error is not None:
            raise RuntimeError(f"prefill refresh failed: {report.error}")
        source.store.write_page(source.key(project.key, e), [], complete=(lo, to_ms))
    key = source.key(project.key, env)
    have = len(source.store.load_frame(key, start, to_ms))
    extra = account.make_events(max(0, events - have), project.key, env, start, min(anchor, to_ms), seed=5)
    for i in range(0, len(extra), WRITE_BATCH):
        source.store.write_page(key, extra[i : i + WRITE_BATCH])
    frame = source.store.load_frame(key, start, to_ms)
    cur = frame[(frame["event_time"] >= from_ms) & (frame["event_time"] < to_ms)]
    expected, expected_large = len(cur), int((cur["impact_size"] == "large").sum())
    prefill_s = time.perf_counter() - started
    source.store.close()
    del frame, cur, extra

    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=600)
    exceptions: list[str] = []

    def run(step: Callable[[], Any]) -> float:
        gc.collect()
        t = time.perf_counter()
        step()
        seconds = time.perf_counter() - t
        exceptions.extend(str(e.value)[:200] for e in at.exception)
        return seconds

    def events_kpi() -> str:
        return next((str(m.value) for m in at.metric if m.label == "Events"), "?")

    first_s = run(at.run)
    shown = events_kpi()
    noop_s = run(at.run)
    impact_s = run(lambda: at.sidebar.multiselect(key="w_impact").set_value(["large"]).run())
    large_shown = events_kpi()
    impact_back_s = run(lambda: at.sidebar.multiselect(key="w_impact").set_value([]).run())
    env_s = run(lambda: at.sidebar.selectbox(key="w_env").set_value("staging").run())
    out.write_text(
        json.dumps(
            {
                "events_in_key": have + max(0, events - have),
                "prefill_s": prefill_s,
                "demo_account_s": demo_s,
                "first_s": first_s,
                "noop_s": noop_s,
                "impact_s": impact_s,
                "impact_back_s": impact_back_s,
                "env_s": env_s,
                "events_shown": shown,
                "events_expected": expected,
                "events_ok": shown.replace(",", "") == str(expected),
                "large_shown": large_shown,
                "large_expected": expected_large,
                "large_ok": large_shown.replace(",", "") == str(expected_large),
                "exceptions": exceptions,
            }
        )
    )


# -- figure 6: memory (child process) -------------------------------------------------------------------


def _proc_status_kb(field_name: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field_name + ":"):
            return int(line.split()[1])
    return 0


def child_memory(store_path: Path, out: Path, lo: int, mid: int, hi: int, columns: str) -> None:
    """Load and compute as ``python -m ldclient metrics`` does (``columns="metrics"``: the columns the
    metrics read) or as the dashboard's one cached frame per view does (``"all"``)."""
    import pandas as pd  # noqa: F401  (imports count towards the baseline, not the load)

    from ldclient import metrics
    from ldclient.memory import return_freed_memory
    from ldclient.store import SQLiteStore, StoreKey

    if columns == "metrics":
        return_freed_memory()  # as ``python -m ldclient`` does; the dashboard keeps pyarrow's default
    base_kb = _proc_status_kb("VmRSS")
    store = SQLiteStore(store_path)
    key = StoreKey(BIG_SOURCE, BIG_PROJECT, BIG_ENV)
    t = time.perf_counter()
    frame = store.load_frame(key, lo, hi, metrics.METRIC_COLUMNS if columns == "metrics" else None)
    load_s = time.perf_counter() - t
    after_load_hwm = _proc_status_kb("VmHWM")
    frame_mb = frame.memory_usage(deep=True).sum() / 1e6
    t = time.perf_counter()
    metrics.compute_with_trend(frame, mid, hi)
    metrics.per_flag_table(frame, lo, hi)
    metrics.daily_impact_counts(frame, mid, hi)
    metrics.weekday_hour_counts(frame, "UTC", mid, hi)
    metrics.daily_series(frame, mid, hi)
    metrics_s = time.perf_counter() - t
    out.write_text(
        json.dumps(
            {
                "events": len(frame),
                "base_kb": base_kb,
                "load_hwm_kb": after_load_hwm,
                "hwm_kb": _proc_status_kb("VmHWM"),
                "frame_mb": frame_mb,
                "load_s": load_s,
                "metrics_s": metrics_s,
            }
        )
    )


def fig_memory(ctx: Context) -> None:
    fig = "6 Memory"
    big = ctx.state.get("big")
    env = {k: v for k, v in os.environ.items() if k not in LD_ENV_VARS}
    env["PYTHONPATH"] = str(ROOT)
    cases = []
    if big is not None:
        cases.append(("store read before", big["path"], big["meta"], "metrics"))
        cases.append(
            ("store read before, every column as the dashboard caches it", big["path"], big["meta"], "all")
        )
    path, meta = big_store_copy(ctx, "big-memory.sqlite")
    cases.append(("store never read before", path, meta, "metrics"))
    for label, store_path, meta, columns in cases:
        lo, hi = meta["from_ms"], meta["to_ms"]
        mid = hi - (hi - lo) // 2
        out = ctx.tmp / "memory.json"
        out.unlink(missing_ok=True)
        cmd = [
            sys.executable,
            str(Path(__file__).resolve()),
            "--child",
            "memory",
            "--child-dir",
            str(store_path),
            "--child-out",
            str(out),
            "--child-range",
            f"{lo},{mid},{hi}",
            "--child-columns",
            columns,
        ]
        proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=1800)
        if proc.returncode != 0 or not out.exists():
            raise RuntimeError(f"memory child failed ({proc.returncode}): {proc.stderr[-3000:]}")
        r = json.loads(out.read_text())
        # The child's own high-water mark (VmHWM). Not ru_maxrss from wait4/RUSAGE_CHILDREN: Linux
        # carries the forking parent's RSS into the child's maxrss across exec, so it reports the
        # benchmark process's size, not the child's.
        peak_mb = r["hwm_kb"] * 1024 / 1e6
        what = "the metric columns" if columns == "metrics" else "every column"
        note = (
            f"VmHWM; after imports {r['base_kb'] * 1024 / 1e6:.0f} MB, peak during load "
            f"{r['load_hwm_kb'] * 1024 / 1e6:.0f} MB, frame {r['frame_mb']:.0f} MB; "
            f"load {r['load_s']:.2f} s, metrics {r['metrics_s']:.2f} s"
        )
        measure = f"peak RSS: load {r['events']:,} events ({what}) + all metrics ({label})"
        if columns == "metrics":
            ctx.add(fig, measure, peak_mb, "MB", "<= 300 MB", peak_mb <= 300, kind="count", note=note)
            # What the imports take differs between machines with the same packages (116 MB and 155 MB
            # seen); the rest is this code's own and can be compared across runs.
            ctx.add(
                fig,
                f"{measure}: peak above the process's imports",
                (r["hwm_kb"] - r["base_kb"]) * 1024 / 1e6,
                "MB",
                kind="info",
                note=f"imports (pandas, pyarrow, ldclient) {r['base_kb'] * 1024 / 1e6:.0f} MB",
            )
        else:  # not the target's process: shown so the dashboard's own footprint is on record
            ctx.add(fig, measure, peak_mb, "MB", kind="info", note=note)


# -- figure 7: PostgreSQL --------------------------------------------------------------------------------


def fig_postgres(ctx: Context) -> None:
    fig = "7 PostgreSQL"
    url = os.environ.get("LD_TEST_POSTGRES_URL")
    if not url:
        ctx.add(
            fig,
            "load_frame from PostgreSQL vs SQLite",
            "skipped",
            kind="skip",
            note="LD_TEST_POSTGRES_URL is not set",
        )
        return
    try:
        from ldclient.store.postgres import PostgresStore
    except Exception as exc:  # in progress elsewhere: report, do not crash the run
        ctx.add(
            fig,
            "load_frame from PostgreSQL vs SQLite",
            "skipped",
            kind="skip",
            note=f"ldclient.store.postgres unusable: {type(exc).__name__}: {exc}"[:300],
        )
        return
    from ldclient.store import SQLiteStore, StoreKey

    big = ctx.state.get("big")
    if big is not None:
        path, meta, sqlite_frame = big["path"], big["meta"], big["frame"]
    else:
        path, meta = big_store_copy(ctx, "big-pg.sqlite")
        sqlite_frame = None
    n = meta["events"]
    key = StoreKey(BIG_SOURCE, BIG_PROJECT, BIG_ENV)
    lo, hi = meta["from_ms"], meta["to_ms"]
    try:
        pg = PostgresStore(url, schema=f"fh_bench_{n}")
    except Exception as exc:
        ctx.add(
            fig,
            "load_frame from PostgreSQL vs SQLite",
            "skipped",
            kind="skip",
            note=f"PostgresStore did not open: {type(exc).__name__}: {exc}"[:300],
        )
        return
    try:
        count = next((s.events for s in pg.summaries() if s.key == key), 0)
        marker = {"events": n, "code": code_fingerprint("ldclient/store/postgres.py")}
        if count != n or pg.get_resource("benchmark", "marker", str(n), math.inf) != marker:
            # the same events as the cached SQLite store: same generator, same seeds (reading them back
            # with SQLiteStore.iter_raw would take far longer, see the notes on iter_raw)
            pg.clear()
            started = time.perf_counter()
            for items in synthetic_batches(n):
                for j in range(0, len(items), WRITE_BATCH):
                    pg.write_page(key, items[j : j + WRITE_BATCH])
            pg.write_page(key, [], complete=(lo, hi))
            pg.put_resource("benchmark", "marker", str(n), marker)
            ctx.add(
                fig,
                f"writing {n:,} events into PostgreSQL (cached in schema fh_bench_{n})",
                time.perf_counter() - started,
                "s",
                kind="info",
                note="write_page batches of 5,000",
            )
        pg_frame, first_s = timed(lambda: pg.load_frame(key, lo, hi))
        pg_frame, pg_s, times = median_time(lambda: pg.load_frame(key, lo, hi), ctx.sizes.repeats)
        if sqlite_frame is None:
            sqlite_store = SQLiteStore(path)
            sqlite_store.load_frame(key, lo, hi)
            sqlite_frame, sq_s, _ = median_time(
                lambda: sqlite_store.load_frame(key, lo, hi), ctx.sizes.repeats
            )
            sqlite_store.close()
        else:
            sq_s = big["warm_s"]
        ctx.add(
            fig,
            f"load_frame {n:,} events from PostgreSQL (median)",
            pg_s,
            "s",
            kind="info",
            note=f"first {first_s:.3f} s; {fmt_times(times)}",
        )
        ctx.add(fig, f"load_frame {n:,} events from SQLite (warm, median)", sq_s, "s", kind="info")
        ctx.add(fig, "PostgreSQL / SQLite", pg_s / sq_s if sq_s else math.inf, "x", kind="info")
        same = (
            len(pg_frame) == len(sqlite_frame)
            and pg_frame["id"].astype(str).tolist() == sqlite_frame["id"].astype(str).tolist()
            and (pg_frame["event_time"].to_numpy() == sqlite_frame["event_time"].to_numpy()).all()
        )
        ctx.check(
            fig, "PostgreSQL and SQLite return the same events in the same order", bool(same), len(pg_frame)
        )
    finally:
        pg.close()


# -- figure 8: what changed around a moment ----------------------------------------------------------------

CHANGES_ENVS = ("production", "prod-eu", "staging", "test")


def changes_account(
    n_projects: int, env_keys: tuple[str, ...], per_key: int, at: int, half: int, anchor: int
) -> Any:
    """An account of ``n_projects`` x ``env_keys`` with ``per_key`` synthetic events per key within a day
    either side of ``at`` (``make_events`` per key: built in seconds, no generator stories), plus, in every
    tenth key, events exactly at both edges of ``[at - half, at + half]`` and 1 ms outside each."""
    from ldclient.demo import make_events
    from ldclient.demo.wide import ids_of, wide_account

    account = wide_account(n_projects, env_keys, anchor)
    events: list[dict[str, Any]] = []
    for i, project in enumerate(account.projects):
        for j, env in enumerate(project["environments"]):
            made = make_events(
                per_key + 4,
                project["key"],
                env["key"],
                at - DAY_MS,
                at + DAY_MS,
                seed=100 * i + j,
                **ids_of(env, project),
            )
            if (i * len(env_keys) + j) % 10 == 0:  # both edges, and 1 ms outside each
                for event, t in zip(
                    made[-4:], (at - half, at + half, at - half - 1, at + half + 1), strict=True
                ):
                    event["eventTime"] = t
                events += made
            else:
                events += made[:-4]
    account.add_events(events)
    return account


def fig_changes(ctx: Context) -> None:
    from ldclient.api.client import LDClient
    from ldclient.changes import changes_around
    from ldclient.demo import DemoFaults, default_now_ms, start_server_in_thread
    from ldclient.settings import Settings
    from ldclient.source import DataSource
    from ldclient.store import SQLiteStore

    fig = "8 Changes around"
    n_projects, env_keys, latency = (
        (10, CHANGES_ENVS[:2], 0.0) if ctx.quick else (100, CHANGES_ENVS, LATENCY_S)
    )
    per_key = 24  # about 2 per key within the 4-hour window
    anchor = default_now_ms()
    at, half = anchor - DAY_MS + 14 * HOUR_MS + 5 * 60_000, 2 * HOUR_MS  # yesterday 14:05 UTC, +/- 2 h
    account, build_s = timed(lambda: changes_account(n_projects, env_keys, per_key, at, half, anchor))
    keys = [(p["key"], e["key"]) for p in account.projects for e in p["environments"]]
    truth = {(e["projectKey"], e["id"]) for e in account.events if at - half <= e["eventTime"] <= at + half}
    server = start_server_in_thread(account, DemoFaults(latency_s=latency))
    ctx.cleanups.append(server.stop)
    spans: list[int] = []
    handle = server.api.handle

    def recording(request: Any) -> Any:  # the span of every flag-events request the server answers
        params = request.url.params
        if "from" in params and "to" in params:
            spans.append(int(params["to"]) - int(params["from"]))
        return handle(request)

    server.api.handle = recording  # type: ignore[method-assign]
    ctx.add(
        fig,
        f"account: {n_projects} projects x {len(env_keys)} environments, {len(account.events):,} events",
        len(keys),
        "keys",
        kind="info",
        note=f"built in {build_s:.1f} s; {latency * 1000:.0f} ms added latency per request, real local HTTP; "
        f"{len(truth):,} events within at +/- 2 h",
    )

    def baseline() -> set[tuple[str, str]]:  # the project list, then each key's window one after another
        LDClient(TOKEN, server.base_url).projects()
        found = set()
        for project, env in keys:
            ids, _ = naive_fetch(server.base_url, project, env, at - half, at + half)  # both edges in
            found |= {(project, i) for i in ids}
        return found

    before = server.stats.count("flag-events")
    base_found, base_s = timed(baseline)
    base_requests = server.stats.count("flag-events") - before

    source = DataSource(
        Settings.load(environ={}, force_demo=True),
        LDClient(TOKEN, server.base_url),
        SQLiteStore(ctx.tmp / "changes.sqlite"),
        server.base_url,
        demo=False,
    )
    ctx.state["changes"] = {"server": server, "store": source.store}
    spans.clear()
    before = server.stats.count("flag-events")
    result, fetch_s = timed(lambda: changes_around(source, at, half, now=anchor))
    requests = server.stats.count("flag-events") - before
    widest = max(spans, default=0)
    found = {(r.project, r.id) for r in result.rows}

    ctx.add(
        fig,
        "baseline: the keys one after another (cold)",
        base_s,
        "s",
        kind="info",
        note=f"{base_requests:,} flag-events requests",
    )
    ctx.add(fig, "changes_around(at, 2 h), every key, cold store", fetch_s, "s", "<= 5 s", fetch_s <= 5)
    ratio = fetch_s / base_s if base_s else math.inf
    ctx.add(fig, "changes_around time / baseline time", ratio, "x", "<= 0.3", ratio <= 0.3)
    ctx.add(
        fig,
        "flag-events requests",
        requests,
        "",
        f"<= {len(keys):,} (one per key)",
        requests <= len(keys),
        kind="count",
        note=f"client counted {result.requests:,}",
    )
    ctx.add(
        fig,
        "largest flag-events request span",
        widest / HOUR_MS,
        "h",
        "<= 4 h + 2 ms (well under 6 h)",
        0 < widest <= 2 * half + 2,
        kind="check",
    )
    ctx.check(fig, "every key looked at", result.keys == len(keys), f"{result.keys:,} of {len(keys):,}")
    ctx.check(
        fig, "no warning", not result.warnings, len(result.warnings), note="; ".join(result.warnings)[:200]
    )
    ctx.check(fig, "events within the window missing", not truth - found, len(truth - found))
    ctx.check(fig, "rows outside the window", not found - truth, len(found - truth))
    ctx.check(fig, "rows shown more than once", len(found) == len(result.rows), len(result.rows) - len(found))
    ctx.check(fig, "baseline finds the same events", base_found == truth, len(base_found ^ truth))
    before = server.stats.count("flag-events")
    again, again_s = timed(lambda: changes_around(source, at, half, now=anchor))
    ctx.check(
        fig,
        "flag-events requests when asked again (store covers the window)",
        server.stats.count("flag-events") == before and {(r.project, r.id) for r in again.rows} == found,
        server.stats.count("flag-events") - before,
        note=f"answered in {again_s:.3f} s",
    )


def wide_sync_account(
    n_projects: int, env_keys: tuple[str, ...], total: int, from_ms: int, to_ms: int, anchor: int
) -> Any:
    """A skewed wide account: ``total`` events over ``[from_ms, to_ms)``, two thirds in four busy keys, a
    quarter in every tenth key, the rest spread thinly (a quiet key holds a few dozen events, some none)."""
    from ldclient.demo import make_events
    from ldclient.demo.wide import ids_of, wide_account

    account = wide_account(n_projects, env_keys, anchor)
    keys = [(p, e) for p in account.projects for e in p["environments"]]
    busy, medium = keys[:4], keys[4::10]
    quiet = [k for k in keys[4:] if k not in medium]
    share = {id(e): 0 for _, e in keys}
    for _, e in busy:
        share[id(e)] = total * 2 // 3 // len(busy)
    for _, e in medium:
        share[id(e)] = total // 4 // len(medium)
    rest = total - sum(share.values())
    for n, (_, e) in enumerate(quiet):
        share[id(e)] = 0 if n % 7 == 0 else rest // len(quiet)
    events: list[dict[str, Any]] = []
    for n, (project, env) in enumerate(keys):
        if share[id(env)]:
            events += make_events(
                share[id(env)], project["key"], env["key"], from_ms, to_ms, seed=n, **ids_of(env, project)
            )
    account.add_events(events)
    return account


# figure 9's throttled server: a LaunchDarkly-like global budget, 429 with Retry-After past it
RATE_BUDGET_PER_S = 10


def all_projects_page(ctx: Context, fig: str, server: Any, store_path: Path, n_keys: int) -> None:
    """The All projects page on the synced wide account, in a fresh process under AppTest: first render
    (warm store, cold Streamlit caches) and a switch of its range, with the flag-events requests they sent."""
    out = ctx.tmp / "allprojects.json"
    env = {k: v for k, v in os.environ.items() if k not in LD_ENV_VARS}
    env.update(
        {
            "PYTHONPATH": str(ROOT),
            "LD_API_TOKEN": TOKEN,
            "LD_BASE_URL": server.base_url,
            "LD_STORE_URL": f"sqlite:///{store_path}",
            "LD_CACHE_DIR": str(ctx.tmp / "allprojects-cache"),
        }
    )
    before = server.stats.count("flag-events")
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", "allprojects", "--child-out", str(out)]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=1800)
    if proc.returncode != 0 or not out.exists():
        raise RuntimeError(
            f"all-projects child failed ({proc.returncode}): {(proc.stderr or proc.stdout)[-3000:]}"
        )
    sent = server.stats.count("flag-events") - before
    r = json.loads(out.read_text())
    ctx.add(
        fig,
        f"All projects, warm store, first render ({n_keys} keys)",
        r["first_s"],
        "s",
        "< 2 s",
        r["first_s"] < 2.0,
        note=f"{r['rows']} rows; {sent} flag-events requests while the page ran; app start {r['start_s']:.1f} s",
    )
    ctx.add(fig, "All projects, range 30 -> 7 days", r["switch_s"], "s", "< 1 s", r["switch_s"] < 1.0)
    ctx.check(
        fig,
        "All projects lists every key, no exception",
        r["rows"] == n_keys and not r["exceptions"],
        r["rows"],
        note="; ".join(r["exceptions"])[:300],
    )


def child_all_projects(out: Path) -> None:
    """Time the All projects page under AppTest in this fresh process (the parent set LD_* to the store)."""
    from streamlit.testing.v1 import AppTest

    exceptions: list[str] = []
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=900)

    def run(step: Callable[[], Any]) -> float:
        gc.collect()
        t = time.perf_counter()
        step()
        exceptions.extend(str(e.value)[:200] for e in at.exception)
        return time.perf_counter() - t

    start_s = run(at.run)  # the Overview of the first key: the app's start, not the figure
    first_s = run(lambda: at.switch_page("app_pages/all_projects.py").run())
    rows = len(at.dataframe[0].value) if len(at.dataframe) else 0
    switch_s = run(lambda: at.sidebar.segmented_control(key="w_range").set_value("7d").run())
    out.write_text(
        json.dumps(
            {
                "start_s": start_s,
                "first_s": first_s,
                "switch_s": switch_s,
                "rows": rows,
                "exceptions": exceptions,
            }
        )
    )


def fig_wide_sync(ctx: Context) -> None:
    from ldclient.api.client import PAGE_LIMIT, LDClient
    from ldclient.demo import DemoFaults, default_now_ms, start_server_in_thread
    from ldclient.store import SQLiteStore, StoreKey
    from ldclient.sync import RefreshPlan, refresh_keys

    fig = "9 Wide sync"
    n_projects, env_keys, total, latency = (
        (10, CHANGES_ENVS[:2], 3_000, 0.0) if ctx.quick else (100, CHANGES_ENVS, 150_000, LATENCY_S)
    )
    anchor = default_now_ms()
    to_ms, from_ms = anchor, anchor - 90 * DAY_MS
    account, build_s = timed(lambda: wide_sync_account(n_projects, env_keys, total, from_ms, to_ms, anchor))
    keys = [(p["key"], e["key"]) for p in account.projects for e in p["environments"]]
    per_key = {k: 0 for k in keys}
    for e in account.events:
        k = (e["projectKey"], e.get("environmentKey"))
        if k in per_key:
            per_key[k] += 1
    floor = sum(math.ceil(n / PAGE_LIMIT) for n in per_key.values())
    allowed = 1.1 * floor + len(keys)
    server = start_server_in_thread(account, DemoFaults(latency_s=latency))
    ctx.cleanups.append(server.stop)
    ctx.add(
        fig,
        f"account: {n_projects} projects x {len(env_keys)} environments, {len(account.events):,} events, 90 days",
        len(keys),
        "keys",
        kind="info",
        note=f"built in {build_s:.1f} s; {latency * 1000:.0f} ms added latency per request, real local HTTP; "
        f"busiest key {max(per_key.values()):,} events, {sum(1 for n in per_key.values() if n <= PAGE_LIMIT)} keys of one page or less",
    )

    def baseline() -> int:
        found = 0
        for project, env in keys:
            ids, _ = naive_fetch(server.base_url, project, env, from_ms, to_ms)
            found += len(ids)
        return found

    before = server.stats.count("flag-events")
    base_found, base_s = timed(baseline)
    base_requests = server.stats.count("flag-events") - before
    ctx.add(
        fig,
        "baseline: naive paginator, the keys one after another",
        base_s,
        "s",
        kind="info",
        note=f"{base_requests:,} requests",
    )

    store = SQLiteStore(ctx.tmp / "wide.sqlite")
    store_keys = [StoreKey(server.base_url, p, e) for p, e in keys]
    plan = RefreshPlan(from_ms, to_ms, now=anchor)
    before = server.stats.count("flag-events")
    reports, sync_s = timed(lambda: refresh_keys(LDClient(TOKEN, server.base_url), store, store_keys, plan))
    requests = server.stats.count("flag-events") - before
    ratio = sync_s / base_s if base_s else math.inf
    ctx.add(fig, "cold sync of every key (refresh_keys, as `sync --days 90`)", sync_s, "s", kind="info")
    ctx.add(fig, "cold sync time / baseline time", ratio, "x", "<= 0.2", ratio <= 0.2)
    ctx.add(
        fig,
        "flag-events requests",
        requests,
        "",
        f"<= {allowed:,.0f} (1.1 x sum ceil(n/100) + one per key)",
        requests <= allowed,
        kind="count",
        note=f"sum ceil(n/100) = {floor:,}; baseline sent {base_requests:,}",
    )
    ctx.check(
        fig, "every key refreshed without error", all(r.ok for r in reports), sum(not r.ok for r in reports)
    )
    wrong = 0  # keys whose stored ids are not exactly the server's (missing, doubled or invented)
    for key in store_keys:
        ids = [str(i["id"]) for i in store.iter_raw(key, from_ms, to_ms)]
        wrong += len(ids) != len(set(ids)) or len(ids) != per_key[(key.project, key.environment)]
    ctx.check(fig, "keys whose stored events differ from the server's", wrong == 0, wrong)
    ctx.check(fig, "baseline finds every event", base_found == sum(per_key.values()), base_found)
    before = server.stats.count("flag-events")
    nightly_plan = RefreshPlan(from_ms + DAY_MS, to_ms + DAY_MS, now=to_ms + DAY_MS)  # the next night
    _, warm_s = timed(lambda: refresh_keys(LDClient(TOKEN, server.base_url), store, store_keys, nightly_plan))
    nightly = server.stats.count("flag-events") - before
    ctx.add(
        fig,
        "nightly sync, nothing changed: flag-events requests",
        nightly,
        "",
        f"<= {len(keys):,} (one per key)",
        nightly <= len(keys),
        kind="count",
        note=f"answered in {warm_s:.2f} s",
    )

    store.close()
    all_projects_page(ctx, fig, server, ctx.tmp / "wide.sqlite", len(keys))

    # the same cold sync against a server that holds a global budget, as LaunchDarkly does
    server.api.faults = DemoFaults(latency_s=latency, budget_per_s=RATE_BUDGET_PER_S)
    held = SQLiteStore(ctx.tmp / "wide-budget.sqlite")
    before, refused_before = server.stats.count("flag-events"), server.stats.status_count(429)
    reports, held_s = timed(lambda: refresh_keys(LDClient(TOKEN, server.base_url), held, store_keys, plan))
    sent = server.stats.count("flag-events") - before
    refused = server.stats.status_count(429) - refused_before
    share = refused / sent if sent else 0.0
    ctx.add(
        fig,
        f"budget of {RATE_BUDGET_PER_S} requests/s: requests refused (429)",
        share * 100,
        "%",
        "<= 5 %",
        share <= 0.05,
        kind="count",
        note=f"{refused:,} of {sent:,} flag-events requests; the sync took {held_s:.1f} s "
        f"({sent:,} requests at {RATE_BUDGET_PER_S}/s need about {sent / RATE_BUDGET_PER_S:.0f} s)",
    )
    wrong = 0
    for key in store_keys:
        ids = [str(i["id"]) for i in held.iter_raw(key, from_ms, to_ms)]
        wrong += len(ids) != len(set(ids)) or len(ids) != per_key[(key.project, key.environment)]
    ctx.check(
        fig,
        "under the budget: every key refreshed, every event once",
        wrong == 0 and all(r.ok for r in reports),
        wrong,
    )
    held.close()


# -- figure 10: flag health over months (daily snapshots) ----------------------------------------------------


def year_of_snapshots(n_flags: int, days: int, seed: int = 1) -> list[Any]:
    """``days`` daily snapshots of one key with ``n_flags`` flags: each day about 1 % of the flags change
    status or stale verdict and a few are created or archived, as a busy project's flags do."""
    import random
    from datetime import date, timedelta

    import pandas as pd

    from ldclient.store.snapshots import Snapshot

    rng = random.Random(seed)
    statuses = ("new", "active", "launched", "inactive")
    flags = {
        f"team-{i % 40}-feature-flag-{i:05d}": (
            rng.choice(statuses),
            "live",
            "production",
            rng.random() < 0.2,
        )
        for i in range(n_flags)
    }
    next_id = n_flags
    out = []
    first = date(2026, 1, 1)
    for n in range(days):
        keys = list(flags)
        for key in rng.sample(keys, max(1, n_flags // 100)):
            flags[key] = (
                rng.choice(statuses),
                rng.choice(("live", "ready_to_archive")),
                "production",
                rng.random() < 0.3,
            )
        for key in rng.sample(keys, 2):
            del flags[key]
        for _ in range(2):
            flags[f"team-{next_id % 40}-feature-flag-{next_id:05d}"] = ("new", "live", "develop", False)
            next_id += 1
        stale = sum(v[3] for v in flags.values())
        figures = {"stale_flags": stale, "stale_share": stale / len(flags), "temporary_flags": len(flags)}
        day = first + timedelta(days=n)
        out.append(
            Snapshot(
                day.isoformat(),
                int(pd.Timestamp(day, tz="UTC").value // 1_000_000) + 7 * HOUR_MS,
                figures,
                dict(flags),
            )
        )
    return out


def fig_history(ctx: Context) -> None:
    import sqlite3

    from ldclient.store import SQLiteStore, StoreKey
    from ldclient.store.snapshots import row_bytes

    fig = "10 History"
    n_flags, days, n_keys = (200, 60, 20) if ctx.quick else (2_000, 365, 200)
    snaps = year_of_snapshots(n_flags, days)
    path = ctx.tmp / "history.sqlite"
    store = SQLiteStore(path)
    key = StoreKey("https://bench.example", "project-000", "production")
    times = []
    for snap in snaps:  # one a day, as sync records them
        _, seconds = timed(lambda snap=snap: store.put_snapshot(key, snap))
        times.append(seconds)
    times.sort()
    ctx.add(
        fig,
        f"snapshot write, {n_flags:,} flags (median of {days} days)",
        times[len(times) // 2] * 1000,
        "ms",
        "<= 50 ms",
        times[len(times) // 2] <= 0.05,
        note=f"p95 {times[int(len(times) * 0.95)] * 1000:.1f} ms, max {times[-1] * 1000:.1f} ms",
    )
    rows = store._snapshot_rows(key, "0001-01-01", "9999-12-31")
    per_key = sum(row_bytes(r) for r in rows)
    full_rows = [r for r in rows if r.full]
    ctx.add(
        fig,
        f"stored bytes per key, {days} days x {n_flags:,} flags",
        per_key / 1e6,
        "MB",
        "<= 1 MB per key-year" if not ctx.quick else "",
        (per_key * 365 / days) <= 1e6 if not ctx.quick else None,
        kind="size",
        note=f"{len(full_rows)} full rows of {sum(len(r.flags) for r in full_rows) / max(1, len(full_rows)) / 1e3:.1f} KB, "
        f"{len(rows) - len(full_rows)} deltas of {sum(len(r.flags) for r in rows if not r.full) / max(1, len(rows) - len(full_rows)) / 1e3:.2f} KB",
    )
    back = store.snapshots(key, snaps[0].day, snaps[-1].day, with_flags=True)
    ctx.check(fig, "a year read back equals what was written", back == snaps, f"{len(back)} days")
    store.close()
    with sqlite3.connect(path) as conn:  # the other keys: the same rows under other names, written by SQL
        conn.executemany(
            "INSERT INTO snapshots SELECT source, ?, environment, day, taken_ms, figures, flags, full FROM snapshots "
            "WHERE project = 'project-000'",
            [(f"project-{n:03d}",) for n in range(1, n_keys)],
        )
        conn.commit()
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # the file as a restart finds it, no WAL beside it
    size = sum(p.stat().st_size for p in path.parent.glob("history.sqlite*"))
    ctx.add(
        fig,
        f"file size, {n_keys} keys x {days} days x {n_flags:,} flags",
        size / 1e6,
        "MB",
        kind="size",
        note=f"extrapolated to 200 keys x 365 days: {size / n_keys * 200 / days * 365 / 1e6:.0f} MB",
    )
    store = SQLiteStore(path)
    keys = [StoreKey(key.source, f"project-{n:03d}", "production") for n in range(n_keys)]

    def query() -> int:
        return sum(len(store.snapshots(k, snaps[0].day, snaps[-1].day)) for k in keys)

    got, seconds, spread = median_time(query, ctx.sizes.repeats)
    ctx.add(
        fig,
        f"history query, {days} days x {n_keys} keys (figures)",
        seconds,
        "s",
        "<= 1.0 s",
        seconds <= 1.0,
        note=f"{got:,} days read; {fmt_times(spread)}",
    )
    ctx.check(fig, "every key's every day read", got == n_keys * days, got)
    _, one = median_time(
        lambda: store.snapshots(keys[-1], snaps[0].day, snaps[-1].day, with_flags=True), ctx.sizes.repeats
    )[:2]
    ctx.add(fig, f"one key's {days} days with every flag's state", one, "s", "<= 1.0 s", one <= 1.0)
    store.close()


# -- figure 11: first impression in a real browser ------------------------------------------------------------

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
FIRST_CHART = (
    '() => document.querySelectorAll(\'[data-testid="stVegaLiteChart"] svg, '
    '[data-testid="stVegaLiteChart"] canvas\').length > 0'
)


def _start_streamlit(cache_dir: Path, script: Path = ROOT / "serve.py") -> tuple[Any, str, float]:
    """``make run`` on the demo account (``serve.py``: app.py behind its start-up step), or the same command
    on another script: a real Streamlit server on a free port, a fresh store; also the seconds from launch
    to a healthy server."""
    import socket

    import httpx

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if k not in LD_ENV_VARS}
    env.update({"LD_CACHE_DIR": str(cache_dir), "PYTHONUNBUFFERED": "1"})
    cmd = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(script),
        "--server.port",
        str(port),
        "--server.headless",
        "true",
        "--server.address",
        "127.0.0.1",
        "--browser.gatherUsageStats",
        "false",
    ]
    launched = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/_stcore/health", timeout=1).text == "ok":
                return proc, url, time.perf_counter() - launched
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("streamlit did not start")


def _first_charts(url: str, runs: int, cold_first: bool) -> dict[str, Any]:
    """Page open -> first chart in Chromium: once on a cold store (``cold_first``), then ``runs`` new sessions
    each in a new browser context (an empty cache, a first visit), then ``runs`` new tabs of one context (a
    returning visitor, the app's scripts in its cache). Seconds, sorted."""
    from playwright.sync_api import sync_playwright

    out: dict[str, Any] = {}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)

        def first_chart(page: Any) -> float:
            started = time.perf_counter()
            page.goto(url)
            page.wait_for_function(FIRST_CHART, timeout=300_000)
            return time.perf_counter() - started

        def new_session() -> float:
            context = browser.new_context(viewport={"width": 1280, "height": 800})
            seconds = first_chart(context.new_page())
            context.close()
            return seconds

        if cold_first:
            out["cold"] = new_session()  # a fresh store: the demo account is fetched into it first
        out["new"] = sorted(new_session() for _ in range(runs))
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        context.new_page().goto(url)
        returning = []
        for _ in range(runs):
            page = context.new_page()
            returning.append(first_chart(page))
            page.close()
        context.close()
        out["returning"] = sorted(returning)
        browser.close()
    return out


def fig_first_impression(ctx: Context) -> None:
    fig = "11 First impression"
    if not Path(CHROMIUM).exists():
        ctx.add(fig, "page open -> first chart", "skipped", kind="skip", note=f"no {CHROMIUM}")
        return
    runs = 2 if ctx.quick else 7  # a new session varies by a few tenths of a second on 2 shared cores
    served: dict[str, dict[str, Any]] = {}
    for name, script, cold_first in (
        ("dashboard", ROOT / "serve.py", True),
        ("floor", ROOT / "benchmarks" / "floor_app.py", False),
    ):
        proc, url, start_s = _start_streamlit(ctx.tmp / f"first-impression-{name}", script)
        try:
            served[name] = {"start_s": start_s, **_first_charts(url, runs, cold_first)}
        finally:
            proc.terminate()
            proc.wait(30)
    app, floor = served["dashboard"], served["floor"]
    start_s, cold = app["start_s"], app["cold"]

    ctx.add(
        fig,
        "server launch -> healthy (`make run`'s command)",
        start_s,
        "s",
        kind="info",
        note="serve.py's start-up (imports, the demo account) runs before the server answers",
    )
    ctx.add(
        fig,
        "server launch -> first chart, cold store (page opened once the server is healthy)",
        start_s + cold,
        "s",
        kind="info",
        note="the whole wait of someone who opens the page as soon as it answers after `make run`",
    )
    ctx.add(
        fig,
        "page open -> first chart, cold store (Chromium)",
        cold,
        "s",
        "<= 3 s",
        cold <= 3.0,
        note="a fresh server and store on the demo account, as after `make run`",
    )
    for key, who, note in (
        ("new", "new session on a warm server", "an empty browser cache, as a first visit"),
        (
            "returning",
            "new tab of a returning visitor (scripts cached) on a warm server",
            "a new tab each run",
        ),
    ):
        ctx.add(
            fig,
            f"baseline (floor): page open -> first chart, {who}, a Streamlit page of one title and one chart",
            statistics.median(floor[key]),
            "s",
            kind="info",
            note=f"{fmt_times(floor[key])}; benchmarks/floor_app.py, served and opened the same way",
        )
        ctx.add(
            fig,
            f"page open -> first chart, {who}",
            statistics.median(app[key]),
            "s",
            "<= 1 s",
            statistics.median(app[key]) <= 1.0,
            note=f"{fmt_times(app[key])}; {note}",
        )
        ctx.add(
            fig,
            f"{who}: dashboard / floor",
            statistics.median(app[key]) / statistics.median(floor[key]),
            "x",
            kind="info",
            note="what the Overview's sidebar, metrics and charts add to Streamlit's own least",
        )


# -- figure 12: a year of a busy key ---------------------------------------------------------------------


def _year_steps(n_events: int, days: int, seed: int) -> dict[str, Any]:
    """Sync, load and chart one key of ``n_events`` over ``days``, each step timed (real HTTP, no latency:
    the figure is about how local work grows, not about the network)."""
    import pandas as pd

    from dashboard import charts
    from ldclient import metrics
    from ldclient.api.client import LDClient
    from ldclient.demo import DemoFaults, default_now_ms, make_events, start_server_in_thread
    from ldclient.demo.wide import ids_of, wide_account
    from ldclient.store import SQLiteStore, StoreKey
    from ldclient.sync import refresh

    anchor = default_now_ms()
    to_ms, from_ms = anchor, anchor - days * DAY_MS
    account = wide_account(1, ("production",), anchor)
    project = account.projects[0]
    env = project["environments"][0]
    account.add_events(
        make_events(n_events, project["key"], env["key"], from_ms, to_ms, seed=seed, **ids_of(env, project))
    )
    server = start_server_in_thread(account, DemoFaults())
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        store = SQLiteStore(Path(tmp) / "year.sqlite")
        key = StoreKey(server.base_url, project["key"], env["key"])
        try:
            before = server.stats.count("flag-events")
            report, out["sync_s"] = timed(
                lambda: refresh(LDClient(TOKEN, server.base_url), store, key, from_ms, to_ms, now=anchor)
            )
            out["requests"] = server.stats.count("flag-events") - before
            out["sync_ok"] = report.ok
            frame, out["first_load_s"] = timed(lambda: store.load_frame(key, from_ms, to_ms))
            _, out["load_s"] = timed(lambda: store.load_frame(key, from_ms, to_ms))
            out["events"] = len(frame)
            out["distinct"] = int(frame["id"].nunique())

            def chart() -> Any:
                m = metrics.compute_with_trend(frame, from_ms + (to_ms - from_ms) // 2, to_ms)
                daily = metrics.daily_impact_counts(frame, from_ms, to_ms)
                first = pd.Timestamp(from_ms, unit="ms").date()
                last = pd.Timestamp(to_ms - 1, unit="ms").date()
                spec = charts.events_per_day(daily, first, last, last).to_dict()
                return m, spec

            (m, spec), out["chart_s"] = timed(chart)
            out["chart_events"] = m["events_total"] + m["previous"]["events_total"]
            out["bars"] = len(next(iter(spec["datasets"].values()))) if spec.get("datasets") else 0
        finally:
            store.close()
            server.stop()
    del account
    gc.collect()
    return out


def fig_year(ctx: Context) -> None:
    """A year of one busy key at two sizes: each step's time per event must not grow with the size."""
    fig = "12 A year"
    days = 365
    small_n, big_n = (12_500, 50_000) if ctx.quick else (250_000, 1_000_000)
    small = _year_steps(small_n, days, seed=12)
    big = _year_steps(big_n, days, seed=13)
    for label, r, n in (("quarter size", small, small_n), ("full size", big, big_n)):
        ctx.check(
            fig,
            f"{label}: {n:,} events over {days} days synced, each once, loaded and charted",
            r["sync_ok"] and r["events"] == r["distinct"] == n and r["chart_events"] == n,
            f"{r['events']:,}",
            note=f"{r['requests']:,} flag-events requests; the weekly chart has {r['bars']} rows (week x impact)",
        )
    for step, what in (
        ("sync_s", "cold sync (refresh into SQLite)"),
        ("first_load_s", "first load (compacts the pages' chunks)"),
        ("load_s", "warm load"),
        ("chart_s", "metrics + the Overview's chart spec"),
    ):
        ctx.add(fig, f"{what}, {big_n:,} events", big[step], "s", kind="info")
        growth = (big[step] / big_n) / (small[step] / small_n) if small[step] else math.inf
        ctx.add(
            fig,
            f"{what}: time per event at {big_n:,} / at {small_n:,}",
            growth,
            "x",
            "<= 1.25 (linear)",
            growth <= 1.25,
            note=f"{small[step]:.3f} s for {small_n:,}, {big[step]:.3f} s for {big_n:,}",
        )


# -- running ---------------------------------------------------------------------------------------------

FIGURES: list[tuple[str, str, Callable[[Context], None]]] = [
    ("1", "1 Cold fetch", fig_cold_fetch),
    ("2", "2 Warm load", fig_warm_load),
    ("3", "3 Incremental", fig_incremental),
    ("4", "4 Metrics", fig_metrics),
    ("5", "5 Page speed", fig_page),
    ("6", "6 Memory", fig_memory),
    ("7", "7 PostgreSQL", fig_postgres),
    ("8", "8 Changes around", fig_changes),
    ("9", "9 Wide sync", fig_wide_sync),
    ("10", "10 History", fig_history),
    ("11", "11 First impression", fig_first_impression),
    ("12", "12 A year", fig_year),
]


def table_lines(rows: list[Row], quick: bool, markdown: bool = False) -> list[str]:
    header = ("Figure", "Measure", "Measured", "Target", "Met")
    body = [(r.figure, r.measure, r.measured_text(), r.target, r.met_text(quick)) for r in rows]
    if markdown:

        def cell(text: str) -> str:
            return text.replace("|", "\\|")

        lines = ["| " + " | ".join(header) + " |", "|" + "|".join(["---"] * 5) + "|"]
        lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in body]
        return lines
    widths = [
        min(72, max(len(h), *(len(row[i]) for row in body))) if body else len(h) for i, h in enumerate(header)
    ]

    def line(cells: tuple[str, ...]) -> str:
        return "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

    return [line(header), line(tuple("-" * w for w in widths)), *(line(row) for row in body)]


def failures(rows: list[Row], quick: bool) -> tuple[list[Row], list[Row]]:
    """(broken: failed checks and crashed figures, missed: targets not met)."""
    broken = [r for r in rows if r.kind == "error" or (r.kind == "check" and r.met is False)]
    missed = [r for r in rows if r.kind in ("timing", "count") and r.met is False]
    return broken, missed


@contextlib.contextmanager
def context(args: argparse.Namespace) -> Iterator[Context]:
    tmp = Path(tempfile.mkdtemp(prefix="flag-health-bench-"))
    ctx = Context(sizes=QUICK if args.quick else FULL, quick=args.quick, cache=Path(args.cache_dir), tmp=tmp)
    try:
        yield ctx
    finally:
        for cleanup in reversed(ctx.cleanups):
            with contextlib.suppress(Exception):
                cleanup()
        for item in ctx.state.values():
            store = item.get("store") if isinstance(item, dict) else None
            if store is not None:
                with contextlib.suppress(Exception):
                    store.close()
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes; fail only on correctness")
    parser.add_argument("--json", metavar="PATH", help="also write the figures as JSON to PATH")
    parser.add_argument("--markdown", metavar="PATH", help="also write the table as Markdown to PATH")
    parser.add_argument("--only", metavar="LIST", help="comma-separated figure numbers, e.g. 1,2,3")
    parser.add_argument("--cache-dir", default=str(DEFAULT_CACHE), help="where generated stores are kept")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    parser.add_argument("--child", choices=("page", "memory", "allprojects"), help=argparse.SUPPRESS)
    parser.add_argument("--child-events", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--child-dir", help=argparse.SUPPRESS)
    parser.add_argument("--child-out", help=argparse.SUPPRESS)
    parser.add_argument("--child-range", help=argparse.SUPPRESS)
    parser.add_argument(
        "--child-columns", choices=("metrics", "all"), default="metrics", help=argparse.SUPPRESS
    )
    args = parser.parse_args(argv)

    if args.child == "page":
        child_page(args.child_events, Path(args.child_dir), Path(args.child_out))
        return 0
    if args.child == "allprojects":
        child_all_projects(Path(args.child_out))
        return 0
    if args.child == "memory":
        lo, mid, hi = (int(x) for x in args.child_range.split(","))
        child_memory(Path(args.child_dir), Path(args.child_out), lo, mid, hi, args.child_columns)
        return 0

    wanted = {x.strip() for x in args.only.split(",")} if args.only else None
    info = machine_info()
    started = time.perf_counter()
    mode = "quick" if args.quick else "full"
    print(f"Flag Health benchmarks ({mode} mode)\nMachine: {machine_line(info)}\n", flush=True)
    with context(args) as ctx:
        for number, title, fn in FIGURES:
            if wanted is not None and number not in wanted:
                continue
            print(f"[{title}]", flush=True)
            t = time.perf_counter()
            try:
                fn(ctx)
            except Exception as exc:
                traceback.print_exc()
                ctx.add(title, "figure crashed", f"{type(exc).__name__}: {str(exc)[:300]}", kind="error")
            print(f"  ({time.perf_counter() - t:.1f} s)\n", flush=True)
        rows = ctx.rows
    duration = time.perf_counter() - started
    broken, missed = failures(rows, args.quick)

    print("\n".join(table_lines(rows, args.quick)))
    print(f"\nMachine: {machine_line(info)}\nMode: {mode}; total {duration:.1f} s")
    if missed:
        print(f"\nTargets missed ({len(missed)}):" + ("  [not enforced in --quick]" if args.quick else ""))
        for r in missed:
            print(f"  - {r.figure}: {r.measure} = {r.measured_text()} (target {r.target})")
    else:
        print("\nEvery target with a measurement was met.")
    if broken:
        print(f"\nCorrectness failures or crashed figures ({len(broken)}):")
        for r in broken:
            print(f"  - {r.figure}: {r.measure} = {r.measured_text()} {r.note}".rstrip())
    notes = [r for r in rows if r.note]
    if notes:
        print("\nNotes:")
        for r in notes:
            print(f"  - {r.figure} | {r.measure}: {r.note}")

    if args.json:
        path = Path(args.json)
        path.parent.mkdir(parents=True, exist_ok=True)
        doc = {
            "mode": mode,
            "machine": info,
            "duration_s": round(duration, 1),
            "generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "rows": [asdict(r) for r in rows],
            "missed": [f"{r.figure}: {r.measure}" for r in missed],
            "broken": [f"{r.figure}: {r.measure}" for r in broken],
        }
        tmp_path = path.with_name(path.name + ".tmp")
        tmp_path.write_text(json.dumps(doc, indent=2, default=str) + "\n")
        os.replace(tmp_path, path)
        print(f"\nwrote {path}")
    if args.markdown:
        path = Path(args.markdown)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(
            f"Machine: {machine_line(info)}. Mode: {mode}; total {duration:.0f} s.\n\n"
            + "\n".join(table_lines(rows, args.quick, markdown=True))
            + "\n"
        )
        print(f"wrote {path}")
    if args.quick and broken:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
