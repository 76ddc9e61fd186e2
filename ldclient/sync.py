"""Incremental refresh: fetch only what the store lacks, record ranges complete page by page.

Each (source, project, environment) refresh runs under the store's single-flight claim, so two
browser sessions, the CLI and the app asking at once cause one fetch, and the late ones read it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from . import clock
from .api.client import FetchStats, LDClient, Window, gather_or_cancel, run_async, split_windows
from .errors import LDError
from .store import EventStore, RefreshRecord, StoreKey, merge_ranges, missing_ranges

RECHECK_MS = 15 * 60_000  # events can be indexed a little late: the newest quarter hour is fetched again

# Called after every page as progress(pages, events, total, windows): pages fetched and events received so far;
# ``total`` the events expected, LaunchDarkly's totalCount summed over the windows once every window has sent
# its first page (None until then, or if the API sends no count); ``windows`` (finished, all) of this refresh.
Progress = Callable[[int, int, int | None, tuple[int, int]], None]


def now_ms() -> int:
    return clock.now_ms()


@dataclass
class RefreshReport:
    key: StoreKey
    planned: list[tuple[int, int]] = field(default_factory=list)
    requests: int = 0
    pages: int = 0
    events_received: int = 0
    events_added: int = 0
    malformed: int = 0
    warnings: list[str] = field(default_factory=list)
    error: LDError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def plan_refresh(
    covered: list[tuple[int, int]],
    from_ms: int,
    to_ms: int,
    *,
    now: int,
    recheck_ms: int = RECHECK_MS,
    max_staleness_ms: int = 0,
    force: bool = False,
) -> list[tuple[int, int]]:
    """The ranges to fetch so that ``[from_ms, min(to_ms, now))`` is covered.

    A trailing gap younger than ``max_staleness_ms`` is tolerated (the UI refreshes at most that
    often); whenever the newest part is fetched, the ``recheck_ms`` before it is fetched again.
    """
    to_ms = min(to_ms, now)
    if to_ms <= from_ms:
        return []
    gaps = missing_ranges(covered, from_ms, to_ms)
    tail = gaps[-1] if gaps and gaps[-1][1] == to_ms else None
    if tail and not force and tail[0] > from_ms and to_ms - tail[0] <= max_staleness_ms:
        gaps.pop()
        tail = None
    if force and tail is None:
        tail = (to_ms, to_ms)
    if tail is not None:
        recheck_start = max(from_ms, tail[0] - recheck_ms)
        gaps = [g for g in gaps if g != tail] + [(recheck_start, to_ms)]
    return merge_ranges(gaps)


@dataclass(frozen=True)
class RefreshPlan:
    """What every key of one refresh is brought up to date for (see ``plan_refresh``)."""

    from_ms: int
    to_ms: int
    now: int | None = None
    force: bool = False
    max_staleness_ms: int = 0
    recheck_ms: int = RECHECK_MS
    probe: bool = True  # False: the fixed windows of ``split_windows`` (tests that aim at one window)


def refresh(
    client: LDClient,
    store: EventStore,
    key: StoreKey,
    from_ms: int,
    to_ms: int,
    *,
    now: int | None = None,
    force: bool = False,
    max_staleness_ms: int = 0,
    recheck_ms: int = RECHECK_MS,
    probe: bool = True,
    progress: Progress | None = None,
) -> RefreshReport:
    """Bring the store up to date for ``[from_ms, to_ms)``; never raises for API trouble: the
    report's ``error`` says what failed, and whatever was stored before it stays stored."""
    plan = RefreshPlan(
        from_ms,
        to_ms,
        now=now,
        force=force,
        max_staleness_ms=max_staleness_ms,
        recheck_ms=recheck_ms,
        probe=probe,
    )
    return refresh_keys(client, store, [key], plan, progress=lambda _key: progress)[0]


def refresh_keys(
    client: LDClient,
    store: EventStore,
    keys: Sequence[StoreKey],
    plan: RefreshPlan,
    *,
    max_keys_at_once: int = 16,
    progress: Callable[[StoreKey], Progress | None] | None = None,
    on_done: Callable[[RefreshReport], None] | None = None,
) -> list[RefreshReport]:
    """``refresh`` of many keys at once, in one event loop with one connection pool and one rate gate:
    a wide account's keys (hundreds, most of them quiet) cost a request each, side by side, within one
    concurrency budget that a 429 slows for all. Reports come back in the order of ``keys``;
    ``on_done`` hears each as its key finishes (in any order)."""

    async def every() -> list[RefreshReport]:
        gate = client.new_gate()
        slots = asyncio.Semaphore(max(1, max_keys_at_once))
        async with client.session() as http:

            async def one(key: StoreKey) -> RefreshReport:
                async with slots:
                    report = await _refresh_one(
                        client, store, key, plan, http, gate, progress(key) if progress else None
                    )
                if on_done is not None:
                    on_done(report)
                return report

            return await gather_or_cancel(one(k) for k in keys)

    return run_async(every())


async def _refresh_one(
    client: LDClient,
    store: EventStore,
    key: StoreKey,
    plan: RefreshPlan,
    http: Any,
    gate: Any,
    progress: Progress | None,
) -> RefreshReport:
    report = RefreshReport(key)
    claim = store.claim(key)
    await asyncio.to_thread(claim.__enter__)  # may wait for another thread or process fetching this key
    try:
        planned = plan_refresh(
            store.covered(key),
            plan.from_ms,
            plan.to_ms,
            now=plan.now or now_ms(),
            recheck_ms=plan.recheck_ms,
            max_staleness_ms=plan.max_staleness_ms,
            force=plan.force,
        )
        report.planned = planned
        if not planned:
            return report
        if plan.probe:  # each gap asked for whole first: its totalCount decides whether to split it
            windows = [Window(start, end) for start, end in planned]
        else:
            windows = [w for start, end in planned for w in split_windows(start, end)]
        totals: dict[Window, int] = {}
        leaves = len(windows)
        finished: set[Window] = set()

        def on_total(window: Window, total: int) -> None:
            totals[window] = total

        def on_split(window: Window, parts: list[Window]) -> None:
            nonlocal leaves
            leaves += len(parts) - 1

        def on_page(window: Window, items: list[dict[str, Any]], last: bool) -> None:
            report.events_added += store.write_page(key, items, (window.start, window.end) if last else None)
            report.pages += 1
            report.events_received += len(items)
            if last:
                finished.add(window)
            if progress is not None:
                progress(
                    report.pages,
                    report.events_received,
                    sum(totals.values()) if len(totals) == len(windows) else None,
                    (len(finished), leaves),
                )

        stats = FetchStats()
        try:
            await client.aflag_events(
                key.project,
                key.environment,
                plan.from_ms,
                plan.to_ms,
                windows=windows,
                probe=plan.probe,
                on_page=on_page,
                on_total=on_total,
                on_split=on_split,
                collect=False,
                stats=stats,
                http=http,
                gate=gate,
            )
        except LDError as exc:
            report.error = exc
        finally:
            report.requests, report.malformed, report.warnings = (
                stats.requests,
                stats.malformed,
                stats.warnings,
            )
        store.record_refresh(
            key,
            RefreshRecord(
                at_ms=now_ms(),
                outcome="ok" if report.ok else "error",
                requests=report.requests,
                events_added=report.events_added,
                message=str(report.error or ""),
            ),
        )
        return report
    finally:
        claim.__exit__(None, None, None)  # quick, and must run even while the loop is being cancelled
