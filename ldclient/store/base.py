"""The store contract every backend declares, and the algorithms they share, written once.

A backend (``sqlite.py``, ``postgres.py``) holds only what differs: its SQL, its transactions and its
cross-process lock. What a store means is here: an event's latest copy wins, coverage is the union of
the ranges recorded complete, raw events are read in keyset batches, and one thread per key at a time.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from .. import jsontext
from ..frame import COLUMNS, flatten_event, frame_from_arrow
from .snapshots import Snapshot, SnapshotRow, block_bounds, block_of, decode_block, merge_block

RAW_BATCH = 5000  # raw events per keyset batch: bounded memory on long ranges


@dataclass(frozen=True)
class StoreKey:
    """What a cached series of events belongs to. ``source`` is the base URL (or the demo's id), never a token."""

    source: str
    project: str
    environment: str

    def digest(self) -> str:
        return hashlib.sha256(f"{self.source}\n{self.project}\n{self.environment}".encode()).hexdigest()[:24]


@dataclass(frozen=True)
class RefreshRecord:
    at_ms: int
    outcome: str  # "ok" or "error"
    requests: int
    events_added: int
    message: str = ""


@dataclass(frozen=True)
class KeySummary:
    key: StoreKey
    events: int
    first_event_ms: int | None
    last_event_ms: int | None
    covered: list[tuple[int, int]]
    last_refresh: RefreshRecord | None
    last_good_refresh_ms: int | None


@dataclass(frozen=True)
class DigestRun:
    """One digest sent (or tried) to one destination: what ``python -m ldclient digest`` did, for the page.

    ``destination`` is the destination's configured name (``webhook``, ``slack.payments``), never its URL;
    ``message`` is written by the digest code (a status or an error class), never a server's text."""

    digest_id: str
    destination: str
    started_ms: int
    finished_ms: int
    outcome: str  # "delivered", "failed" or "empty"
    items: int  # items the digest tried to deliver
    delivered: int
    message: str = ""
    item_keys: tuple[str, ...] = ()

    def as_row(self) -> tuple[Any, ...]:
        """The run as both backends store it, in ``DIGEST_RUN_COLUMNS`` order (item keys as JSON text)."""
        return (
            self.digest_id,
            self.destination,
            self.started_ms,
            self.finished_ms,
            self.outcome,
            self.items,
            self.delivered,
            self.message[:1000],
            json.dumps(list(self.item_keys)),
        )

    @classmethod
    def from_row(cls, row: Sequence[Any]) -> DigestRun:
        """A stored row (``DIGEST_RUN_COLUMNS``); item keys come back as JSON text or as parsed JSON."""
        keys = json.loads(row[8]) if isinstance(row[8], str | bytes) else row[8]
        return cls(row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7], tuple(keys))


DIGEST_ITEM_COLUMNS = (
    "destination, item_key, item_time, item, state, first_seen_ms, sent_ms, digest_id, attempts"
)
DIGEST_RUN_COLUMNS = (
    "digest_id, destination, started_ms, finished_ms, outcome, items, delivered, message, item_keys"
)


@dataclass(frozen=True)
class DigestItemState:
    """An item's delivery state for one destination: ``pending`` until the destination accepted it."""

    destination: str
    item_key: str
    item_time_ms: int
    item_json: str
    state: str  # "pending" or "sent"
    first_seen_ms: int
    sent_ms: int | None
    digest_id: str | None
    attempts: int


def merge_ranges(ranges: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """Union of half-open ranges; touching ranges merge."""
    out: list[tuple[int, int]] = []
    for start, end in sorted(r for r in ranges if r[1] > r[0]):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def missing_ranges(covered: Sequence[tuple[int, int]], from_ms: int, to_ms: int) -> list[tuple[int, int]]:
    """The parts of ``[from_ms, to_ms)`` that no covered range includes."""
    gaps, cursor = [], from_ms
    for start, end in merge_ranges(covered):
        if end <= cursor or start >= to_ms:
            continue
        if start > cursor:
            gaps.append((cursor, min(start, to_ms)))
        cursor = max(cursor, end)
        if cursor >= to_ms:
            break
    if cursor < to_ms:
        gaps.append((cursor, to_ms))
    return gaps


def wanted_columns(columns: Sequence[str] | None) -> list[str] | None:
    """``columns`` in frame order with ``event_time`` (ranges are cut by it); None means all of them."""
    if columns is None:
        return None
    unknown = sorted(set(columns) - set(COLUMNS))
    if unknown:
        raise ValueError(f"not event columns: {', '.join(unknown)}")
    return [name for name in COLUMNS if name in columns or name == "event_time"]


def latest_copies(items: Iterable[Mapping[str, Any]]) -> dict[str, tuple[dict[str, Any], str]]:
    """A page's events by id as (flat columns, raw JSON); the last copy of an id in the page wins."""
    out: dict[str, tuple[dict[str, Any], str]] = {}
    for item in items:
        flat = flatten_event(item)
        out[flat["id"]] = (flat, jsontext.dumps(item))
    return out


_thread_locks: dict[str, threading.Lock] = {}
_thread_locks_guard = threading.Lock()


def thread_lock(name: str) -> threading.Lock:
    """One lock per name in this process: a backend's threads queue here before its cross-process lock."""
    with _thread_locks_guard:
        return _thread_locks.setdefault(name, threading.Lock())


class EventStore(ABC):
    """What the fetch layer and the pages need from a store, whatever the backend."""

    description: str
    notice: str | None

    # -- what each backend writes in its own SQL --------------------------------------------------------

    @abstractmethod
    def covered(self, key: StoreKey) -> list[tuple[int, int]]: ...

    @abstractmethod
    def _store_page(
        self, key: StoreKey, rows: Mapping[str, tuple[dict[str, Any], str]], complete: tuple[int, int] | None
    ) -> int:
        """Write ``rows`` (id -> (flat, raw)) and, with ``complete``, the new coverage, in one transaction;
        return how many ids were new. ``merged_coverage`` computes what the coverage becomes."""

    @abstractmethod
    def _raw_batch(
        self, key: StoreKey, after: tuple[int, str], to_ms: int, limit: int
    ) -> list[tuple[int, str, Any]]:
        """Up to ``limit`` (event_time, id, raw) rows after ``after`` in (event_time, id) order, before ``to_ms``."""

    @abstractmethod
    def load_table(
        self, key: StoreKey, from_ms: int, to_ms: int, columns: Sequence[str] | None = None
    ) -> Any:
        """The events of ``[from_ms, to_ms)`` by time then id as an Arrow table (``columns`` plus
        ``event_time``; all when None); the same column types for every key of a backend."""

    @abstractmethod
    def record_refresh(self, key: StoreKey, record: RefreshRecord) -> None: ...

    @abstractmethod
    def last_refresh(self, key: StoreKey) -> RefreshRecord | None: ...

    @abstractmethod
    def last_good_refresh_ms(self, key: StoreKey) -> int | None: ...

    @abstractmethod
    def summaries(self) -> list[KeySummary]: ...

    @abstractmethod
    def get_resource(self, source: str, kind: str, scope: str, max_age_s: float) -> Any | None: ...

    @abstractmethod
    def put_resource(self, source: str, kind: str, scope: str, payload: Any) -> None: ...

    @abstractmethod
    def _process_claim(self, key: StoreKey) -> contextlib.AbstractContextManager[None]:
        """The backend's cross-process lock on ``key`` (flock, an advisory lock, …)."""

    @abstractmethod
    def _lock_name(self, key: StoreKey) -> str:
        """Names ``key``'s lock within this store, so two stores on one file share it and others do not."""

    # -- digest delivery state (ldclient/digest/delivery.py holds the algorithm) -------------------------

    @abstractmethod
    def digest_add_pending(self, destination: str, items: Sequence[tuple[str, int, str]], now_ms: int) -> int:
        """Record ``(item_key, item_time_ms, item_json)`` as pending for ``destination`` unless the item is
        already known there (pending or sent); return how many were new."""

    @abstractmethod
    def digest_states(
        self, destination: str, item_keys: Sequence[str] | None = None
    ) -> list[DigestItemState]:
        """The destination's items (only ``item_keys`` when given), oldest first."""

    @abstractmethod
    def digest_mark_sent(
        self, destination: str, item_keys: Sequence[str], digest_id: str, now_ms: int
    ) -> None:
        """The destination accepted these items (in the digest ``digest_id``)."""

    @abstractmethod
    def digest_note_attempt(self, destination: str, item_keys: Sequence[str]) -> None:
        """A delivery of these items failed: they stay pending, one more attempt counted."""

    @abstractmethod
    def digest_record_run(self, run: DigestRun) -> None: ...

    @abstractmethod
    def digest_runs(self, limit: int = 50, destination: str | None = None) -> list[DigestRun]:
        """The latest digests, newest first."""

    # -- daily snapshots (ldclient/store/snapshots.py holds the encoding, ldclient/history.py the figures) ---

    @abstractmethod
    def _snapshot_rows(
        self, key: StoreKey, from_day: str, to_day: str, *, with_flags: bool = True, last: int | None = None
    ) -> list[SnapshotRow]:
        """``key``'s rows of days ``from_day``..``to_day`` (inclusive) by day (only the ``last`` ones when given);
        without ``with_flags`` the flags column is not read (``b""``)."""

    @abstractmethod
    def _snapshot_update(
        self,
        key: StoreKey,
        from_day: str,
        to_day: str,
        update: Callable[[list[SnapshotRow]], list[SnapshotRow]],
    ) -> None:
        """In one transaction that shuts out other writers of ``key``'s snapshots: read the rows of
        ``from_day``..``to_day`` and write (replace by day) the rows ``update`` returns for them."""

    def put_snapshots(self, key: StoreKey, snapshots: Sequence[Snapshot]) -> None:
        """Record snapshots (with their flags); one per day, a day already stored is replaced."""
        blocks: dict[int, list[Snapshot]] = {}
        for snap in snapshots:
            blocks.setdefault(block_of(snap.day), []).append(snap)
        for group in blocks.values():
            first, last = block_bounds(group[0].day)
            self._snapshot_update(key, first, last, functools.partial(merge_block, new=group))

    def put_snapshot(self, key: StoreKey, snapshot: Snapshot) -> None:
        self.put_snapshots(key, [snapshot])

    def snapshots(
        self, key: StoreKey, from_day: str, to_day: str, *, with_flags: bool = False
    ) -> list[Snapshot]:
        """``key``'s snapshots of ``from_day``..``to_day`` (inclusive), oldest first; ``with_flags`` decodes
        every flag's state (read from the first day of ``from_day``'s block, which the deltas refer to)."""
        start = block_bounds(from_day)[0] if with_flags else from_day
        rows = self._snapshot_rows(key, start, to_day, with_flags=with_flags)
        out: list[Snapshot] = []
        group: list[SnapshotRow] = []
        for row in [*rows, None]:
            if group and (row is None or block_of(row.day) != block_of(group[0].day)):
                out += decode_block(group, with_flags=with_flags)
                group = []
            if row is not None:
                group.append(row)
        return [s for s in out if s.day >= from_day]

    def latest_snapshot(self, key: StoreKey) -> Snapshot | None:
        """The newest snapshot's figures (no flags), or None when none was recorded."""
        rows = self._snapshot_rows(key, "0001-01-01", "9999-12-31", with_flags=False, last=1)
        return decode_block(rows, with_flags=False)[0] if rows else None

    def digest_pending(self, destination: str) -> list[DigestItemState]:
        return [s for s in self.digest_states(destination) if s.state == "pending"]

    def digest_last_run_ms(self, destination: str) -> int | None:
        runs = self.digest_runs(1, destination)
        return runs[0].started_ms if runs else None

    @abstractmethod
    def clear(self) -> None: ...

    @abstractmethod
    def close(self) -> None: ...

    # -- what a store means, for every backend ----------------------------------------------------------

    def write_page(
        self, key: StoreKey, items: Sequence[Mapping[str, Any]], complete: tuple[int, int] | None = None
    ) -> int:
        """Store one page; when ``complete`` is given, record that range covered in the same transaction.
        Returns how many of the page's ids the store did not hold yet."""
        if complete is not None and complete[1] <= complete[0]:
            complete = None
        return self._store_page(key, latest_copies(items), complete)

    @staticmethod
    def merged_coverage(
        current: Iterable[tuple[int, int]], complete: tuple[int, int]
    ) -> list[tuple[int, int]]:
        """What the ranges touching ``complete`` become once it is recorded (they are replaced by these)."""
        return merge_ranges([*((int(s), int(e)) for s, e in current), complete])

    def load_frame(
        self, key: StoreKey, from_ms: int, to_ms: int, columns: Sequence[str] | None = None
    ) -> pd.DataFrame:
        """One key's events as the frame (``ldclient.frame``), by time then id."""
        return frame_from_arrow(self.load_table(key, from_ms, to_ms, columns))

    def load_frames(
        self, keys: Sequence[StoreKey], from_ms: int, to_ms: int, columns: Sequence[str] | None = None
    ) -> tuple[pd.DataFrame, list[int]]:
        """Several keys' events as one frame, key after key (each by time then id), and each key's row count.

        For pages that read every key (All projects): one frame costs pandas' per-column work once, where a
        frame per key costs it hundreds of times over (about 5 ms a key on small keys). An id may appear under
        two keys (a project's global events are stored with each environment): each key's rows are
        deduplicated, the frame as a whole is not."""
        import pyarrow as pa

        tables = [self.load_table(key, from_ms, to_ms, columns) for key in keys]
        if not tables:
            return frame_from_arrow(self.load_table(StoreKey("", "", ""), 0, 0, columns)), []
        return frame_from_arrow(pa.concat_tables(tables)), [t.num_rows for t in tables]

    def iter_raw(self, key: StoreKey, from_ms: int, to_ms: int) -> Iterator[Any]:
        """The stored events of ``[from_ms, to_ms)`` as LaunchDarkly sent them, by time then id."""
        after: tuple[int, str] = (from_ms, "")
        while True:
            rows = self._raw_batch(key, after, to_ms, RAW_BATCH)
            if not rows:
                return
            for _, _, raw in rows:
                yield json.loads(raw) if isinstance(raw, str | bytes) else raw
            after = (rows[-1][0], rows[-1][1])

    @contextlib.contextmanager
    def claim(self, key: StoreKey) -> Iterator[None]:
        """Single flight per key: one thread in this process, then the backend's lock across processes."""
        with thread_lock(self._lock_name(key)), self._process_claim(key):
            yield
