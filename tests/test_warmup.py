"""The server's start-up step (serve.py → dashboard/warmup.py): done once, before and beside the first session."""

from __future__ import annotations

import threading
import time

from dashboard import warmup
from ldclient import source


def test_warm_up_generates_the_demo_account_the_sessions_then_reuse(monkeypatch) -> None:
    from ldclient.demo import default_now_ms

    spent = warmup.warm_up()
    assert set(spent) == {"imports", "demo account"}
    before = source._generated_account.cache_info()
    source.demo_account(source.DEMO_SEED, default_now_ms())  # what the first session's get_source asks for
    after = source._generated_account.cache_info()
    assert after.hits == before.hits + 1 and after.misses == before.misses


def test_warm_up_generates_nothing_for_a_real_account(monkeypatch) -> None:
    monkeypatch.setenv("LD_API_TOKEN", "api-00000000-0000-0000-0000-000000000000")
    before = source._generated_account.cache_info()
    assert set(warmup.warm_up()) == {"imports"}
    assert source._generated_account.cache_info().misses == before.misses


def test_a_session_arriving_during_the_generation_waits_for_it_instead_of_generating_again() -> None:
    anchor = 1_700_000_000_000  # an anchor no other test uses: a miss for both callers
    results: list[object] = []
    callers = [
        threading.Thread(target=lambda: results.append(source.demo_account(3, anchor))) for _ in range(2)
    ]
    misses = source._generated_account.cache_info().misses
    for t in callers:
        t.start()
    for t in callers:
        t.join()
    assert source._generated_account.cache_info().misses == misses + 1
    assert results[0] is results[1]


def test_the_served_app_warms_up_at_start(app_server) -> None:
    deadline = time.monotonic() + 120  # the warm-up may end after the server answers its health check
    while "warmed up:" not in app_server.log.read_text() and time.monotonic() < deadline:
        time.sleep(0.2)
    log = app_server.log.read_text()
    assert "warmed up: imports" in log and "demo account" in log
    assert "Traceback" not in log and "warming up failed" not in log
