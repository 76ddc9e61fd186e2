"""The persistent event store: events deduplicated by ``id`` and the time ranges known complete.

Flag events are history, so each is fetched once and kept across restarts. A range is recorded
complete only in the transaction that stores the last page of it, so a crash can lose progress
but never claim a gap as covered. The interface (``EventStore``) is what a shared PostgreSQL
deployment implements too; SQLite from the standard library is the embedded default because it
needs no server, survives kills (WAL, atomic commits) and reads a million rows in about a second.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import io
import json
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import pandas as pd

from .errors import StoreError
from .frame import COLUMNS, arrow_from_rows, flatten_event, frame_from_arrow

SCHEMA_VERSION = 3
EVENT_COLUMNS = COLUMNS  # the frame's columns, stored flat so loading needs no JSON parsing


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


class EventStore(Protocol):
    """What the fetch layer and the pages need from a store, whatever the backend."""

    description: str
    notice: str | None

    def covered(self, key: StoreKey) -> list[tuple[int, int]]: ...
    def write_page(self, key: StoreKey, items: Sequence[Mapping[str, Any]],
                   complete: tuple[int, int] | None = None) -> int: ...
    def load_frame(self, key: StoreKey, from_ms: int, to_ms: int,
                   columns: Sequence[str] | None = None) -> pd.DataFrame: ...
    def iter_raw(self, key: StoreKey, from_ms: int, to_ms: int) -> Iterator[dict[str, Any]]: ...
    def record_refresh(self, key: StoreKey, record: RefreshRecord) -> None: ...
    def last_refresh(self, key: StoreKey) -> RefreshRecord | None: ...
    def last_good_refresh_ms(self, key: StoreKey) -> int | None: ...
    def summaries(self) -> list[KeySummary]: ...
    def get_resource(self, source: str, kind: str, scope: str, max_age_s: float) -> Any | None: ...
    def put_resource(self, source: str, kind: str, scope: str, payload: Any) -> None: ...
    def claim(self, key: StoreKey) -> contextlib.AbstractContextManager[None]: ...
    def clear(self) -> None: ...
    def close(self) -> None: ...


_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS keys (
    key_id INTEGER PRIMARY KEY, source TEXT NOT NULL, project TEXT NOT NULL, environment TEXT NOT NULL,
    seq INTEGER NOT NULL DEFAULT 0, UNIQUE (source, project, environment));
CREATE TABLE IF NOT EXISTS events (
    key_id INTEGER NOT NULL, {", ".join(f"{c} {'INTEGER' if c in ('event_time', 'experiments_count') else 'REAL' if c == 'impact_percentage' else 'TEXT'}" for c in EVENT_COLUMNS)},
    raw TEXT NOT NULL, seq INTEGER NOT NULL, PRIMARY KEY (key_id, id));  -- rowid table: random UUID keys
    -- make a clustered (WITHOUT ROWID) table of 1 KB rows 2.4x slower to write
CREATE INDEX IF NOT EXISTS events_by_time ON events (key_id, event_time);
CREATE INDEX IF NOT EXISTS events_by_seq ON events (key_id, seq);
CREATE TABLE IF NOT EXISTS chunks (
    key_id INTEGER NOT NULL, seq INTEGER NOT NULL, data BLOB NOT NULL, PRIMARY KEY (key_id, seq));
CREATE TABLE IF NOT EXISTS coverage (
    key_id INTEGER NOT NULL, start_ms INTEGER NOT NULL, end_ms INTEGER NOT NULL, PRIMARY KEY (key_id, start_ms));
CREATE TABLE IF NOT EXISTS refreshes (
    key_id INTEGER NOT NULL, at_ms INTEGER NOT NULL, outcome TEXT NOT NULL, requests INTEGER NOT NULL,
    events_added INTEGER NOT NULL, message TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS refreshes_by_key ON refreshes (key_id, at_ms);
CREATE TABLE IF NOT EXISTS resources (
    source TEXT NOT NULL, kind TEXT NOT NULL, scope TEXT NOT NULL, fetched_at REAL NOT NULL, payload TEXT NOT NULL,
    PRIMARY KEY (source, kind, scope));
"""

_INSERT = (f"INSERT OR REPLACE INTO events (key_id, {', '.join(EVENT_COLUMNS)}, raw, seq) "
           f"VALUES (?, {', '.join('?' for _ in EVENT_COLUMNS)}, ?, ?)")

_process_locks: dict[str, threading.Lock] = {}
_process_locks_guard = threading.Lock()


def _thread_lock(name: str) -> threading.Lock:
    with _process_locks_guard:
        return _process_locks.setdefault(name, threading.Lock())


def _write_chunk(conn: sqlite3.Connection, key_id: int, seq: int, table: Any) -> None:
    """Stream ``table`` as an Arrow IPC file into a BLOB of its exact size: no ``bytes`` copy of a big chunk.

    The file format (not the stream format of schema 3's first chunks) lets a load read only the columns
    it needs straight from the BLOB. Uncompressed, one batch: a full read maps it into its final buffers.
    """
    import pyarrow as pa

    sizer = pa.MockOutputStream()
    with pa.ipc.new_file(sizer, table.schema) as writer:
        writer.write_table(table)
    rowid = conn.execute("INSERT INTO chunks VALUES (?, ?, zeroblob(?))", (key_id, seq, sizer.size())).lastrowid
    with conn.blobopen("chunks", "data", rowid) as blob:
        with pa.ipc.new_file(pa.PythonFile(_BlobFile(blob), mode="w"), table.schema) as writer:
            writer.write_table(table)


def compact_chunks(tables: list[Any], distinct_ids: int | None = None) -> Any:
    """One table from page chunks given in write order: the latest write of each id, sorted by time then id.

    Copies of an event share its time, so after sorting by (time, id, seq) they are neighbours and the
    last of each run is the latest write. ``distinct_ids`` (the events table's count) confirms that cheaply;
    without it, or if it disagrees, the ids are hashed (a million ids cost ~200 MB that way).
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    table = pa.concat_tables(tables).unify_dictionaries()
    order = pc.sort_indices(table, sort_keys=[("event_time", "ascending"), ("id", "ascending"),
                                              ("seq", "ascending")])
    if table.num_rows > 1:
        ids, times = table.column("id").take(order), table.column("event_time").take(order)
        repeated = pc.and_(pc.equal(ids.slice(0, len(ids) - 1), ids.slice(1)),
                           pc.equal(times.slice(0, len(times) - 1), times.slice(1)))
        del ids, times
        if pc.any(repeated).as_py():
            order = order.filter(pa.concat_arrays([pc.invert(repeated).combine_chunks(), pa.array([True])]))
    if distinct_ids is not None and len(order) == distinct_ids:
        return table.take(order)
    ids = table.column("id")
    if pc.count_distinct(ids).as_py() != len(order):  # an id stored at two times: keep its latest write
        table = table.filter(pa.array(~ids.to_pandas().duplicated(keep="last").to_numpy()))
        return table.sort_by([("event_time", "ascending"), ("id", "ascending")])
    return table.take(order)


class _BlobFile(io.RawIOBase):
    """A SQLite BLOB as a seekable file for pyarrow: written at its final size, or read in parts."""

    def __init__(self, blob: sqlite3.Blob) -> None:
        self._blob = blob

    def readable(self) -> bool:
        return True

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        self._blob.seek(offset, whence)
        return self._blob.tell()

    def tell(self) -> int:
        return self._blob.tell()

    def read(self, size: int = -1) -> bytes:
        return self._blob.read(size)

    def readinto(self, buffer: Any) -> int:
        data = self._blob.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def write(self, data: Any) -> int:
        self._blob.write(data)
        return memoryview(data).nbytes


def wanted_columns(columns: Sequence[str] | None) -> list[str] | None:
    """``columns`` in frame order with ``event_time`` (ranges are cut by it); None means all of them."""
    if columns is None:
        return None
    unknown = sorted(set(columns) - set(COLUMNS))
    if unknown:
        raise ValueError(f"not event columns: {', '.join(unknown)}")
    return [name for name in COLUMNS if name in columns or name == "event_time"]


def time_slice(table: Any, from_ms: int, to_ms: int) -> Any:
    """Rows with ``from_ms <= event_time < to_ms`` of a table sorted by time: a zero-copy slice."""
    import numpy as np

    times = table.column("event_time").to_numpy()
    lo, hi = np.searchsorted(times, [from_ms, to_ms], side="left")
    return table.slice(int(lo), int(hi - lo))


def event_rows(key_id: int, items: Iterable[Mapping[str, Any]]) -> list[tuple[Any, ...]]:
    rows = []
    for item in items:
        flat = flatten_event(item)
        rows.append((key_id, *(flat[c] for c in EVENT_COLUMNS), json.dumps(item, separators=(",", ":"))))
    return rows


class SQLiteStore:
    """The embedded store: one SQLite file in WAL mode, safe for several threads and processes."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.description = f"SQLite at {self.path}"
        self.notice: str | None = None
        self._lock = threading.RLock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create the cache directory {self.path.parent}: {exc.strerror}") from exc
        try:
            self._conn = self._open()
        except sqlite3.DatabaseError as exc:
            self._conn = self._rebuild(exc)

    def _open(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=30, check_same_thread=False, isolation_level=None)
        try:
            conn.execute("PRAGMA busy_timeout = 30000")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            version = None
            if conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'meta'").fetchone():
                row = conn.execute("SELECT value FROM meta WHERE name = 'schema_version'").fetchone()
                version = int(row[0]) if row else None
            if version is not None and version != SCHEMA_VERSION:
                raise sqlite3.DatabaseError(f"schema version {version} is not {SCHEMA_VERSION}")
            conn.executescript(_SCHEMA)  # idempotent: two processes may run it at once
            conn.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
            conn.execute("PRAGMA quick_check(1)").fetchone()
            return conn
        except BaseException:
            conn.close()
            raise

    def _rebuild(self, exc: Exception) -> sqlite3.Connection:
        """A corrupt or foreign file is moved aside (not deleted: it may be worth a look) and replaced."""
        aside = self.path.with_name(f"{self.path.name}.corrupt-{int(time.time())}")
        for suffix in ("", "-wal", "-shm"):
            src = Path(str(self.path) + suffix)
            if src.exists():
                src.replace(Path(str(aside) + suffix))
        self.notice = (f"The event store at {self.path} could not be read ({exc}); it was moved to "
                       f"{aside.name} and is being rebuilt from the API.")
        try:
            return self._open()
        except sqlite3.DatabaseError as again:
            raise StoreError(f"cannot create an event store at {self.path}: {again}") from again

    @contextlib.contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
                try:
                    yield self._conn
                except BaseException:
                    self._conn.execute("ROLLBACK")
                    raise
                self._conn.execute("COMMIT")
            except sqlite3.DatabaseError as exc:
                raise StoreError(f"the event store failed: {exc}") from exc

    def _read(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            try:
                return self._conn.execute(sql, params).fetchall()
            except sqlite3.DatabaseError as exc:
                raise StoreError(f"the event store failed: {exc}") from exc

    def _key_id(self, key: StoreKey, create: bool = False) -> int | None:
        sql = "SELECT key_id FROM keys WHERE source = ? AND project = ? AND environment = ?"
        params = (key.source, key.project, key.environment)
        row = self._read(sql, params)
        if row or not create:
            return row[0][0] if row else None
        with self._tx() as conn:
            conn.execute("INSERT OR IGNORE INTO keys (source, project, environment) VALUES (?, ?, ?)", params)
            return conn.execute(sql, params).fetchone()[0]

    # -- the interface ----------------------------------------------------------------------------------

    def covered(self, key: StoreKey) -> list[tuple[int, int]]:
        key_id = self._key_id(key)
        if key_id is None:
            return []
        return [(s, e) for s, e in self._read(
            "SELECT start_ms, end_ms FROM coverage WHERE key_id = ? ORDER BY start_ms", (key_id,))]

    def write_page(self, key: StoreKey, items: Sequence[Mapping[str, Any]],
                   complete: tuple[int, int] | None = None) -> int:
        """Store one page; when ``complete`` is given, record that range covered in the same transaction."""
        key_id = self._key_id(key, create=True)
        # the last copy of an id in a page wins, as INSERT OR REPLACE does: a lone chunk is read as it is
        rows = list({row[1]: row for row in event_rows(key_id, items)}.values())
        with self._tx() as conn:
            ids = [r[1] for r in rows]
            existing = 0
            for chunk in range(0, len(ids), 500):
                part = ids[chunk:chunk + 500]
                existing += conn.execute(
                    f"SELECT COUNT(*) FROM events WHERE key_id = ? AND id IN ({','.join('?' * len(part))})",
                    (key_id, *part)).fetchone()[0]
            seq = conn.execute("SELECT seq FROM keys WHERE key_id = ?", (key_id,)).fetchone()[0]
            conn.executemany(_INSERT, [(*row, seq + i + 1) for i, row in enumerate(rows)])
            if rows:
                conn.execute("UPDATE keys SET seq = ? WHERE key_id = ?", (seq + len(rows), key_id))
                chunk = arrow_from_rows([r[1:-1] for r in rows], seq_start=seq + 1).sort_by(
                    [("event_time", "ascending"), ("id", "ascending")])  # a lone chunk is read as it is
                _write_chunk(conn, key_id, seq + len(rows), chunk)
            if complete is not None and complete[1] > complete[0]:
                current = conn.execute("SELECT start_ms, end_ms FROM coverage WHERE key_id = ? "
                                       "AND end_ms >= ? AND start_ms <= ?", (key_id, *complete)).fetchall()
                merged = merge_ranges([*current, complete])
                conn.execute("DELETE FROM coverage WHERE key_id = ? AND end_ms >= ? AND start_ms <= ?",
                             (key_id, *complete))
                conn.executemany("INSERT INTO coverage VALUES (?, ?, ?)", [(key_id, s, e) for s, e in merged])
        return len(set(ids)) - existing

    def load_frame(self, key: StoreKey, from_ms: int, to_ms: int,
                   columns: Sequence[str] | None = None) -> pd.DataFrame:
        """The events of ``[from_ms, to_ms)`` by time then id; only ``columns`` (plus ``event_time``) if given.

        Reading a million rows through sqlite3 costs seconds of Python objects, so every page is also
        written as a columnar chunk (Arrow IPC) in the same transaction. A load concatenates the chunks
        and, when there are several, compacts them into one (latest write of an id wins) for next time.
        A compacted chunk is read column by column, so a caller that needs few columns pays for few.
        """
        wanted = wanted_columns(columns)
        key_id = self._key_id(key)
        with self._lock:  # one read transaction: a compaction elsewhere cannot delete a chunk mid-read
            self._read("BEGIN")
            try:
                chunks = [] if key_id is None else self._read(
                    "SELECT seq, rowid FROM chunks WHERE key_id = ? ORDER BY seq", (key_id,))
                lone = len(chunks) == 1
                tables = [self._read_chunk(rowid, wanted if lone else None) for _, rowid in chunks]
                distinct_ids = None if len(chunks) < 2 else self._read(
                    "SELECT COUNT(*) FROM events WHERE key_id = ?", (key_id,))[0][0]
            finally:
                self._read("COMMIT")
        if not chunks:
            table = arrow_from_rows([])
            return frame_from_arrow(table if wanted is None else table.select(wanted))
        table = tables[0]
        if len(tables) > 1:
            table = compact_chunks(tables, distinct_ids)
            del tables
            with self._tx() as conn:  # chunks written meanwhile have higher seq and stay
                conn.execute("DELETE FROM chunks WHERE key_id = ? AND seq <= ?", (key_id, chunks[-1][0]))
                _write_chunk(conn, key_id, chunks[-1][0], table)
            if wanted is not None:
                table = table.select(wanted)
        return frame_from_arrow(time_slice(table, from_ms, to_ms))

    def _read_chunk(self, rowid: int, columns: Sequence[str] | None = None) -> Any:
        """One chunk: all of it copied once into an Arrow buffer that its columns share, or only the
        bytes of ``columns`` (file-format chunks; a stream-format chunk is read whole, then narrowed)."""
        import pyarrow as pa

        with self._lock:
            try:
                with self._conn.blobopen("chunks", "data", rowid, readonly=True) as blob:
                    is_file = blob.read(6) == b"ARROW1"
                    blob.seek(0)
                    if columns is not None and is_file:
                        source = pa.PythonFile(_BlobFile(blob), mode="r")
                        schema = pa.ipc.open_file(source).schema
                        fields = [schema.get_field_index(name) for name in columns]
                        options = pa.ipc.IpcReadOptions(included_fields=fields)
                        return pa.ipc.open_file(source, options=options).read_all()
                    size = len(blob)
                    buffer = pa.allocate_buffer(size)
                    view = memoryview(buffer).cast("B")
                    for offset in range(0, size, 1 << 20):
                        view[offset:offset + (1 << 20)] = blob.read(1 << 20)
                table = (pa.ipc.open_file if is_file else pa.ipc.open_stream)(buffer).read_all()
                return table if columns is None else table.select(list(columns))
            except sqlite3.DatabaseError as exc:
                raise StoreError(f"the event store failed: {exc}") from exc

    def iter_raw(self, key: StoreKey, from_ms: int, to_ms: int) -> Iterator[dict[str, Any]]:
        key_id = self._key_id(key)
        if key_id is None:
            return
        last = (from_ms, "")
        while True:  # batches keep memory bounded on long ranges
            # the lower bound on event_time lets the index start at the cursor: each batch costs the same
            rows = self._read("SELECT event_time, id, raw FROM events WHERE key_id = ? AND event_time >= ? AND "
                              "event_time < ? AND (event_time > ? OR id > ?) ORDER BY event_time, id LIMIT 5000",
                              (key_id, last[0], to_ms, last[0], last[1]))
            if not rows:
                return
            for _, _, raw in rows:
                yield json.loads(raw)
            last = (rows[-1][0], rows[-1][1])

    def record_refresh(self, key: StoreKey, record: RefreshRecord) -> None:
        key_id = self._key_id(key, create=True)
        with self._tx() as conn:
            conn.execute("INSERT INTO refreshes VALUES (?, ?, ?, ?, ?, ?)",
                         (key_id, record.at_ms, record.outcome, record.requests, record.events_added,
                          record.message[:1000]))

    def last_refresh(self, key: StoreKey) -> RefreshRecord | None:
        key_id = self._key_id(key)
        rows = [] if key_id is None else self._read(
            "SELECT at_ms, outcome, requests, events_added, message FROM refreshes WHERE key_id = ? "
            "ORDER BY at_ms DESC LIMIT 1", (key_id,))
        return RefreshRecord(*rows[0]) if rows else None

    def last_good_refresh_ms(self, key: StoreKey) -> int | None:
        key_id = self._key_id(key)
        rows = [] if key_id is None else self._read(
            "SELECT MAX(at_ms) FROM refreshes WHERE key_id = ? AND outcome = 'ok'", (key_id,))
        return rows[0][0] if rows else None

    def summaries(self) -> list[KeySummary]:
        out = []
        for key_id, source, project, env in self._read(
                "SELECT key_id, source, project, environment FROM keys ORDER BY source, project, environment"):
            count, first, last = self._read(
                "SELECT COUNT(*), MIN(event_time), MAX(event_time) FROM events WHERE key_id = ?", (key_id,))[0]
            key = StoreKey(source, project, env)
            out.append(KeySummary(key, count, first, last, self.covered(key), self.last_refresh(key),
                                  self.last_good_refresh_ms(key)))
        return out

    def get_resource(self, source: str, kind: str, scope: str, max_age_s: float) -> Any | None:
        rows = self._read("SELECT fetched_at, payload FROM resources WHERE source = ? AND kind = ? AND scope = ?",
                          (source, kind, scope))
        if not rows or time.time() - rows[0][0] > max_age_s:
            return None
        return json.loads(rows[0][1])

    def put_resource(self, source: str, kind: str, scope: str, payload: Any) -> None:
        with self._tx() as conn:
            conn.execute("INSERT OR REPLACE INTO resources VALUES (?, ?, ?, ?, ?)",
                         (source, kind, scope, time.time(), json.dumps(payload, separators=(",", ":"))))

    @contextlib.contextmanager
    def claim(self, key: StoreKey) -> Iterator[None]:
        """Single flight per key: one thread in this process, and one process on this machine (flock)."""
        lock_dir = self.path.parent / "locks"
        lock_dir.mkdir(parents=True, exist_ok=True)
        with _thread_lock(f"{self.path}:{key.digest()}"), open(lock_dir / f"{key.digest()}.lock", "a+") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def clear(self) -> None:
        with self._tx() as conn:
            for table in ("events", "coverage", "refreshes", "resources", "chunks", "keys"):
                conn.execute(f"DELETE FROM {table}")

    def close(self) -> None:
        with self._lock:
            self._conn.close()


def open_store(cache_dir: Path, store_url: str | None = None) -> EventStore:
    """``LD_STORE_URL`` picks a shared backend; unset means the embedded SQLite file in the cache dir."""
    if store_url:
        if store_url.startswith(("postgresql://", "postgres://")):
            from .store_postgres import PostgresStore

            return PostgresStore(store_url)
        if store_url.startswith("sqlite:///"):
            return SQLiteStore(Path(store_url.removeprefix("sqlite:///")))
        raise StoreError("LD_STORE_URL must start with postgresql:// or sqlite:///")
    return SQLiteStore(Path(cache_dir) / "events.sqlite")
