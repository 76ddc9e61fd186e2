"""Many users at once: sessions, threads and processes asking for the same project and environment
cause one fetch of each page (single flight per key), and all of them see the same numbers."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pandas as pd
import pytest

from ldclient.api.client import RateGate
from ldclient.demo import DemoFaults, default_now_ms, generate_account, start_server_in_thread
from ldclient.settings import Settings
from ldclient.source import open_source
from tests.conftest import screenshot, start_app
from tests.support import cli_env, popen_cli, run_cli, wait_ready

DAY = 86_400_000
ANCHOR = default_now_ms()
PROJECT, ENV = "web-storefront", "production"
LO, HI = ANCHOR - 60 * DAY, ANCHOR
TOKEN = "api-concurrency-test"


@dataclass
class Loaded:
    frame: pd.DataFrame
    report: Any
    warning: str | None


def load(source: Any, project: str, env: str, from_ms: int, to_ms: int) -> Loaded:
    """What a dashboard session does: refresh what is missing, then read the range from the store."""
    report = source.refresh(project, env, from_ms, to_ms, max_staleness_ms=5 * 60_000)
    frame = source.store.load_frame(source.key(project, env), from_ms, to_ms)
    return Loaded(frame, report, None if report.error is None else f"Could not refresh: {report.error}")


@pytest.fixture(scope="module")
def server():
    account = generate_account(seed=7, now_ms=ANCHOR)
    with start_server_in_thread(account, DemoFaults(latency_s=0.02)) as running:
        yield running


def source_for(server, cache_dir):
    return open_source(
        Settings.load({"LD_API_TOKEN": TOKEN, "LD_BASE_URL": server.base_url, "LD_CACHE_DIR": str(cache_dir)})
    )


def fetches(server, action) -> int:
    before = server.stats.count("flag-events")
    action()
    return server.stats.count("flag-events") - before


@pytest.mark.timeout(120)
@pytest.mark.parametrize("shared", [False, True], ids=["own-store-each", "one-shared-store"])
def test_twenty_sessions_loading_one_key_fetch_each_page_once_and_agree(server, tmp_path, shared):
    baseline = source_for(server, tmp_path / "single")
    single: dict = {}
    single_requests = fetches(server, lambda: single.update(result=load(baseline, PROJECT, ENV, LO, HI)))
    expected = single["result"].frame
    assert single_requests > 20 and len(expected) > 2000

    shared_source = source_for(server, tmp_path / "many") if shared else None
    gate = threading.Barrier(20)
    results: list = [None] * 20
    errors: list[BaseException] = []

    def session(i: int) -> None:
        try:
            source = shared_source or source_for(server, tmp_path / "many")  # own SQLiteStore on one file
            gate.wait(30)
            results[i] = load(source, PROJECT, ENV, LO, HI)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    def crowd() -> None:
        threads = [threading.Thread(target=session, args=(i,)) for i in range(20)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(90)

    many_requests = fetches(server, crowd)
    assert not errors, errors
    assert many_requests == single_requests, (
        f"20 sessions made {many_requests} requests, one makes {single_requests}"
    )
    assert sum(1 for r in results if r.report.requests) == 1, "more than one session fetched"
    assert all(r.report.ok and r.warning is None for r in results)
    for r in results:
        pd.testing.assert_frame_equal(r.frame, expected)


def day(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).date().isoformat()


@pytest.mark.timeout(120)
def test_cli_processes_at_once_share_one_fetch(server, tmp_path):
    args = [
        "events",
        "--project",
        PROJECT,
        "--env",
        ENV,
        "--from",
        day(LO),
        "--to",
        day(HI - DAY),
        "--format",
        "csv",
    ]
    before = server.stats.count("flag-events")
    one = run_cli(args, cli_env(tmp_path / "single", LD_API_TOKEN=TOKEN, LD_BASE_URL=server.base_url))
    single_requests = server.stats.count("flag-events") - before
    assert one.returncode == 0, one.stderr

    env = cli_env(tmp_path / "shared", LD_API_TOKEN=TOKEN, LD_BASE_URL=server.base_url)
    before = server.stats.count("flag-events")
    procs = [popen_cli(args, env) for _ in range(4)]
    outputs = [p.communicate(timeout=90) for p in procs]
    assert all(p.returncode == 0 for p in procs), [err for _, err in outputs]
    assert server.stats.count("flag-events") - before == single_requests
    assert all(out == one.stdout for out, _ in outputs) and one.stdout.count("\n") > 2000


# -- the real dashboard, several browser sessions at once ----------------------------------------------------


def kpis(page) -> list[str]:
    return page.locator('[data-testid="stMetricValue"]').all_inner_texts()


def settle(server, quiet_s: float = 1.0, timeout_s: float = 30) -> int:
    """The flag-event request count once it has stopped moving (no session is still fetching)."""
    deadline = time.monotonic() + timeout_s
    last, since = server.stats.count("flag-events"), time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.2)
        now = server.stats.count("flag-events")
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet_s:
            break
    return last


@pytest.mark.browser
@pytest.mark.timeout(240)
def test_one_dashboard_opened_by_five_sessions_at_once_fetches_once(server, browser, tmp_path):
    env = {"LD_API_TOKEN": TOKEN, "LD_BASE_URL": server.base_url}
    apps: dict[str, object] = {}
    starters = [
        threading.Thread(target=lambda n=n: apps.__setitem__(n, start_app(tmp_path / n / "cache", env)))
        for n in ("alone", "crowd")
    ]  # both start at once; neither fetches before a browser connects
    for t in starters:
        t.start()
    for t in starters:
        t.join(90)
    try:
        assert set(apps) == {"alone", "crowd"}, "a Streamlit server did not start"
        alone, crowd_app = apps["alone"], apps["crowd"]
        server.api.reset()
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        page = context.new_page()
        page.goto(alone.url)
        wait_ready(page, charts=4)
        single_requests = settle(server)
        single_kpis = kpis(page)
        context.close()
        assert single_requests > 20 and len(single_kpis) >= 6

        server.api.reset()
        contexts = [browser.new_context(viewport={"width": 1280, "height": 800}) for _ in range(5)]
        pages = [c.new_page() for c in contexts]
        for p in pages:  # all five navigate before any is waited for: their sessions run at once
            p.goto(crowd_app.url, wait_until="commit")
        for p in pages:
            wait_ready(p, charts=4)
        crowd_requests = settle(server)
        screenshot(pages[-1], "concurrency-fifth-session")
        seen = [kpis(p) for p in pages]
        for c in contexts:
            c.close()
        # Single flight: the five sessions together fetch what one fetches (without it: about five times
        # as much). Streamlit may stop a session's script mid-refresh (a rerun); the pages that refresh
        # had in flight, at most the client's concurrency, are then fetched again by the next session.
        in_flight = RateGate().maximum
        assert crowd_requests <= single_requests + in_flight, (
            f"5 sessions made {crowd_requests} flag-event requests; one makes {single_requests}"
        )
        assert all(k == single_kpis for k in seen), seen
    finally:
        for app in apps.values():
            app.proc.terminate()
            app.proc.wait(10)


@pytest.mark.timeout(120)
def test_sessions_asking_for_projects_flags_and_statuses_at_once_fetch_each_once(server, tmp_path):
    """Flags, statuses and projects have a TTL; when it runs out, one session refetches, the rest wait
    for it and read what it stored, as with flag events."""
    routes = ("projects", "flags", "flag-statuses")
    before = {route: server.stats.count(route) for route in routes}
    alone = source_for(server, tmp_path / "alone")
    alone.projects(), alone.flags(PROJECT), alone.statuses(PROJECT, ENV)
    one_session = {route: server.stats.count(route) - before[route] for route in routes}
    assert one_session["flags"] >= 2, one_session  # a paged list: its pages are one fetch

    sources = [source_for(server, tmp_path / "cache") for _ in range(8)]
    before = {route: server.stats.count(route) for route in routes}
    gate = threading.Barrier(len(sources))
    results: list = [None] * len(sources)
    errors: list[BaseException] = []

    def session(i: int) -> None:
        try:
            gate.wait()
            source = sources[i]
            results[i] = (
                len(source.projects()),
                len(source.flags(PROJECT)),
                len(source.statuses(PROJECT, ENV)),
            )
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=session, args=(i,)) for i in range(len(sources))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    assert len(set(results)) == 1 and min(results[0]) > 0
    made = {route: server.stats.count(route) - before[route] for route in routes}
    assert made == one_session
    source_for(server, tmp_path / "cache").flags(PROJECT)  # within the TTL: from the store
    assert server.stats.count("flags") - before["flags"] == one_session["flags"]
