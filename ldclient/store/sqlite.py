"""The embedded backend: one SQLite file, events as rows plus columnar Arrow chunks for fast loads.

SQLite from the standard library is the default because it needs no server, survives kills (WAL,
atomic commits) and reads a million rows in about a second. What a store means (``EventStore``) is in
``base.py``; this file holds only SQLite's SQL, its chunk files and its flock.
"""

from __future__ import annotations

import contextlib
import fcntl
import io
import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from .. import summaries
from ..errors import StoreError
from ..frame import COLUMNS, arrow_from_rows, arrow_schema
from .base import (
    DIGEST_ITEM_COLUMNS,
    DIGEST_RUN_COLUMNS,
    DigestItemState,
    DigestRun,
    EventStore,
    KeySummary,
    RefreshRecord,
    StoreKey,
    wanted_columns,
)
from .snapshots import SnapshotRow

SCHEMA_VERSION = 8
# Schema 3 is schema 4 without ``chunk_columns``: opening it adds the table, and its whole-page chunks
# are converted on their first load. Schema 4 is schema 5 without the digest tables (``digest_items``,
# ``digest_runs``), schema 5 is schema 6 without ``snapshots``: opening them adds what is missing. Schema 6
# also held every frame column in ``events`` (the chunks hold them): its rows stay, new rows leave those
# columns NULL, and its unused ``events_by_seq`` index goes. Older versions (and code that predates 4)
# rebuild from the API; code of schema 6 opening a schema-7 file moves it aside and rebuilds. Schema 7 is
# schema 8 with the variation summaries as JSON text in the chunks (ldclient/summaries.py): a load reads
# them as numbers, and the first load of a key rewrites its chunk that way.
UPGRADABLE_VERSIONS = (3, 4, 5, 6, 7)
EVENT_COLUMNS = COLUMNS  # the frame's columns, written to the columnar chunks


_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS keys (
    key_id INTEGER PRIMARY KEY, source TEXT NOT NULL, project TEXT NOT NULL, environment TEXT NOT NULL,
    seq INTEGER NOT NULL DEFAULT 0, UNIQUE (source, project, environment));
CREATE TABLE IF NOT EXISTS events (  -- the frame's columns live in the chunks; a row is what only it can do:
    -- the id (latest copy wins), the time (raw reads in order) and the raw JSON. Files of schema 6 and before
    -- also have the flat columns here; they are left NULL (a byte each).
    key_id INTEGER NOT NULL, id TEXT NOT NULL, event_time INTEGER NOT NULL,
    raw TEXT NOT NULL, seq INTEGER NOT NULL, PRIMARY KEY (key_id, id));  -- rowid table: random UUID keys
    -- make a clustered (WITHOUT ROWID) table of 1 KB rows 2.4x slower to write
CREATE INDEX IF NOT EXISTS events_by_time ON events (key_id, event_time);
DROP INDEX IF EXISTS events_by_seq;  -- nothing reads events by seq; every insert paid for it
CREATE TABLE IF NOT EXISTS chunks (  -- whole-page chunks of earlier versions: read, then compacted away
    key_id INTEGER NOT NULL, seq INTEGER NOT NULL, data BLOB NOT NULL, PRIMARY KEY (key_id, seq));
CREATE TABLE IF NOT EXISTS chunk_columns (  -- one Arrow IPC stream per column of a page or a compaction
    key_id INTEGER NOT NULL, seq INTEGER NOT NULL, name TEXT NOT NULL, data BLOB NOT NULL,
    PRIMARY KEY (key_id, seq, name));
CREATE TABLE IF NOT EXISTS coverage (
    key_id INTEGER NOT NULL, start_ms INTEGER NOT NULL, end_ms INTEGER NOT NULL, PRIMARY KEY (key_id, start_ms));
CREATE TABLE IF NOT EXISTS refreshes (
    key_id INTEGER NOT NULL, at_ms INTEGER NOT NULL, outcome TEXT NOT NULL, requests INTEGER NOT NULL,
    events_added INTEGER NOT NULL, message TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS refreshes_by_key ON refreshes (key_id, at_ms);
CREATE TABLE IF NOT EXISTS resources (
    source TEXT NOT NULL, kind TEXT NOT NULL, scope TEXT NOT NULL, fetched_at REAL NOT NULL, payload TEXT NOT NULL,
    PRIMARY KEY (source, kind, scope));
CREATE TABLE IF NOT EXISTS digest_items (  -- per item and destination: pending until accepted, then sent
    destination TEXT NOT NULL, item_key TEXT NOT NULL, item_time INTEGER NOT NULL, item TEXT NOT NULL,
    state TEXT NOT NULL, first_seen_ms INTEGER NOT NULL, sent_ms INTEGER, digest_id TEXT,
    attempts INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (destination, item_key));
CREATE INDEX IF NOT EXISTS digest_items_by_state ON digest_items (destination, state, item_time);
CREATE TABLE IF NOT EXISTS digest_runs (
    digest_id TEXT PRIMARY KEY, destination TEXT NOT NULL, started_ms INTEGER NOT NULL,
    finished_ms INTEGER NOT NULL, outcome TEXT NOT NULL, items INTEGER NOT NULL, delivered INTEGER NOT NULL,
    message TEXT NOT NULL, item_keys TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS digest_runs_by_time ON digest_runs (started_ms);
CREATE TABLE IF NOT EXISTS snapshots (  -- one per key and local day (ldclient/store/snapshots.py); by names,
    -- not key_id: clearing the event cache keeps the history it cannot rebuild
    source TEXT NOT NULL, project TEXT NOT NULL, environment TEXT NOT NULL, day TEXT NOT NULL,
    taken_ms INTEGER NOT NULL, figures TEXT NOT NULL, flags BLOB NOT NULL, full INTEGER NOT NULL,
    PRIMARY KEY (source, project, environment, day));
"""

_INSERT = "INSERT OR REPLACE INTO events (key_id, id, event_time, raw, seq) VALUES (?, ?, ?, ?, ?)"

SMALL_CHUNK_BYTES = 1 << 22  # a page's columns go in as bytes, in one statement; bigger ones stream


def _write_chunk(conn: sqlite3.Connection, key_id: int, seq: int, table: Any) -> None:
    """Store ``table`` column by column: a load then reads only what it needs."""
    if table.nbytes > SMALL_CHUNK_BYTES:
        for name in table.column_names:
            _write_column(conn, key_id, seq, name, table.column(name))
        return
    import pyarrow as pa

    rows = []
    for name in table.column_names:
        sink = pa.BufferOutputStream()
        _write_ipc(sink, _column_table(name, table.column(name)))
        rows.append((key_id, seq, name, sink.getvalue().to_pybytes()))
    conn.executemany("INSERT INTO chunk_columns VALUES (?, ?, ?, ?)", rows)


def _write_column(conn: sqlite3.Connection, key_id: int, seq: int, name: str, column: Any) -> None:
    """One column as an Arrow IPC stream written straight into a BLOB of its exact size: no ``bytes``
    copy of a big (compacted) column."""
    import pyarrow as pa

    table = _column_table(name, column)
    sizer = pa.MockOutputStream()
    _write_ipc(sizer, table)
    rowid = conn.execute(
        "INSERT INTO chunk_columns VALUES (?, ?, ?, zeroblob(?))", (key_id, seq, name, sizer.size())
    ).lastrowid
    assert rowid is not None  # an INSERT always sets it
    with conn.blobopen("chunk_columns", "data", rowid) as blob:
        _write_ipc(pa.PythonFile(_BlobWriter(blob), mode="w"), table)


def _column_table(name: str, column: Any) -> Any:
    """A one-column table in one batch (a load then reads it in place, as one array)."""
    import pyarrow as pa

    if isinstance(column, pa.ChunkedArray) and column.num_chunks > 1:
        column = column.combine_chunks()
    return pa.table({name: column})


def _write_ipc(sink: Any, table: Any) -> None:
    """``table`` as an uncompressed Arrow IPC stream: the same bytes whether sized, buffered or streamed."""
    import pyarrow as pa

    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)


KEY_COLUMNS = ("event_time", "id", "seq")  # what decides a compacted chunk's rows and their order


def compaction_order(keys: Any, distinct_ids: int | None = None) -> Any:
    """Row positions, in ``keys`` (``KEY_COLUMNS`` of chunks concatenated in write order), of a compacted
    chunk: the latest write of each id, sorted by time then id.

    Copies of an event share its time, so after sorting by (time, id, seq) they are neighbours and the
    last of each run is the latest write. ``distinct_ids`` is the events table's count: every write of an id
    is a row of the chunks, so when the rows are as many, no id is there twice and the sort is the answer
    (the usual case, and the cheapest: the sorted ids are never copied). Otherwise the runs are dropped, and
    the count confirms the result; without it, or if it disagrees, the ids are hashed (a million ids cost
    ~200 MB that way).
    """
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    order = pc.sort_indices(
        keys, sort_keys=[("event_time", "ascending"), ("id", "ascending"), ("seq", "ascending")]
    )
    if distinct_ids is not None and keys.num_rows == distinct_ids:
        return order  # every write of an id is a row here, so as many rows as ids means no id twice
    if keys.num_rows > 1:
        ids, times = keys.column("id").take(order), keys.column("event_time").take(order)
        repeated = pc.and_(
            pc.equal(ids.slice(0, len(ids) - 1), ids.slice(1)),
            pc.equal(times.slice(0, len(times) - 1), times.slice(1)),
        )
        del ids, times
        if pc.any(repeated).as_py():
            order = order.filter(pa.concat_arrays([pc.invert(repeated).combine_chunks(), pa.array([True])]))
    if distinct_ids is not None and len(order) == distinct_ids:
        return order
    ids = keys.column("id")
    if pc.count_distinct(ids).as_py() == len(order):
        return order
    # an id stored at two times: keep its latest write (write order), then sort by time and id
    latest = pa.array(np.flatnonzero(~ids.to_pandas().duplicated(keep="last").to_numpy()))
    kept = keys.take(latest)
    return latest.take(pc.sort_indices(kept, sort_keys=[("event_time", "ascending"), ("id", "ascending")]))


def compact_chunks(tables: list[Any], distinct_ids: int | None = None) -> Any:
    """One table from whole chunks given in write order (see ``compaction_order``)."""
    import pyarrow as pa

    # chunks of earlier versions hold string columns where newer ones hold large_string
    schema = arrow_schema()
    table = pa.concat_tables(
        [t if t.schema == schema else _numeric_summaries(t).cast(schema) for t in tables]
    ).unify_dictionaries()
    return table.take(compaction_order(table.select(list(KEY_COLUMNS)), distinct_ids))


def _text_summaries(table: Any) -> bool:
    """Whether ``table`` holds the variation summaries as JSON text (chunks of schema 7 and before)."""
    import pyarrow as pa

    if "variations" not in table.column_names:
        return False
    kind = table.schema.field("variations").type
    return bool(pa.types.is_string(kind) or pa.types.is_large_string(kind))


def _numeric_summaries(table: Any) -> Any:
    """``table`` with text summaries read as numbers (``SUMMARY_TYPE``); other tables as they are."""
    if not _text_summaries(table):
        return table
    at = table.column_names.index("variations")
    return table.set_column(at, "variations", summaries.as_summaries(table.column(at)))


class _BlobWriter(io.RawIOBase):
    """A SQLite BLOB, created at its final size, as a writable file for pyarrow."""

    def __init__(self, blob: sqlite3.Blob) -> None:
        self._blob = blob

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self._blob.write(data)
        return memoryview(data).nbytes


def time_slice(table: Any, from_ms: int, to_ms: int) -> Any:
    """Rows with ``from_ms <= event_time < to_ms`` of a table sorted by time: a zero-copy slice."""
    import numpy as np

    times = table.column("event_time").to_numpy()
    lo, hi = np.searchsorted(times, [from_ms, to_ms], side="left")
    return table.slice(int(lo), int(hi - lo))


def _snapshot_select(flags: str) -> str:
    """A key's snapshot rows of a day range, by day; ``flags`` is the column (or an empty stand-in)."""
    return (
        f"SELECT day, taken_ms, figures, {flags}, full FROM snapshots WHERE source = ? AND project = ? "
        "AND environment = ? AND day BETWEEN ? AND ? ORDER BY day"
    )


class SQLiteStore(EventStore):
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
            self._conn = self._open_when_free()
        except sqlite3.OperationalError as exc:  # busy past the retries, unreadable path: not corruption
            raise StoreError(f"cannot open the event store at {self.path}: {exc}") from exc
        except sqlite3.DatabaseError as exc:
            self._conn = self._rebuild(exc)

    def _open_when_free(self) -> sqlite3.Connection:
        """``_open``, again while another process holds the file busy: switching to WAL and creating the
        schema can fail with "database is locked" without waiting on the busy timeout. Only a file that is
        not a database (or of a foreign schema) is corrupt: moving aside a busy one would pull it out from
        under the processes using it."""
        deadline = time.monotonic() + 30
        while True:
            try:
                return self._open()
            except sqlite3.OperationalError as exc:
                text = str(exc).lower()
                if ("locked" not in text and "busy" not in text) or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

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
            if version is not None and version != SCHEMA_VERSION and version not in UPGRADABLE_VERSIONS:
                raise sqlite3.DatabaseError(f"schema version {version} is not {SCHEMA_VERSION}")
            conn.executescript(_SCHEMA)  # idempotent: two processes may run it at once
            conn.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
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
        self.notice = (
            f"The event store at {self.path} could not be read ({exc}); it was moved to "
            f"{aside.name} and is being rebuilt from the API."
        )
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
            return int(conn.execute(sql, params).fetchone()[0])

    # -- the interface ----------------------------------------------------------------------------------

    def covered(self, key: StoreKey) -> list[tuple[int, int]]:
        key_id = self._key_id(key)
        if key_id is None:
            return []
        return [
            (s, e)
            for s, e in self._read(
                "SELECT start_ms, end_ms FROM coverage WHERE key_id = ? ORDER BY start_ms", (key_id,)
            )
        ]

    def _store_page(
        self, key: StoreKey, rows: Mapping[str, tuple[dict[str, Any], str]], complete: tuple[int, int] | None
    ) -> int:
        key_id = self._key_id(key, create=True)
        assert key_id is not None
        flat_rows = [tuple(flat[c] for c in EVENT_COLUMNS) for flat, _ in rows.values()]
        with self._tx() as conn:
            ids = list(rows)
            existing = 0
            for chunk in range(0, len(ids), 500):
                part = ids[chunk : chunk + 500]
                existing += conn.execute(
                    f"SELECT COUNT(*) FROM events WHERE key_id = ? AND id IN ({','.join('?' * len(part))})",
                    (key_id, *part),
                ).fetchone()[0]
            seq = conn.execute("SELECT seq FROM keys WHERE key_id = ?", (key_id,)).fetchone()[0]
            conn.executemany(
                _INSERT,
                [
                    (key_id, flat["id"], flat["event_time"], raw, seq + i + 1)
                    for i, (flat, raw) in enumerate(rows.values())
                ],
            )
            if flat_rows:
                conn.execute("UPDATE keys SET seq = ? WHERE key_id = ?", (seq + len(flat_rows), key_id))
                chunk = arrow_from_rows(flat_rows, seq_start=seq + 1).sort_by(
                    [("event_time", "ascending"), ("id", "ascending")]
                )  # a lone chunk is read as it is
                _write_chunk(conn, key_id, seq + len(flat_rows), chunk)
            if complete is not None:
                touching = "FROM coverage WHERE key_id = ? AND end_ms >= ? AND start_ms <= ?"
                current = conn.execute(f"SELECT start_ms, end_ms {touching}", (key_id, *complete)).fetchall()
                conn.execute(f"DELETE {touching}", (key_id, *complete))
                conn.executemany(
                    "INSERT INTO coverage VALUES (?, ?, ?)",
                    [(key_id, s, e) for s, e in self.merged_coverage(current, complete)],
                )
        return len(ids) - existing

    def load_table(
        self, key: StoreKey, from_ms: int, to_ms: int, columns: Sequence[str] | None = None
    ) -> Any:
        """The events of ``[from_ms, to_ms)`` by time then id, as Arrow; only ``columns`` (plus ``event_time``).

        Reading a million rows through sqlite3 costs seconds of Python objects, so every page is also
        written as columnar chunks (Arrow IPC, one per column) in the same transaction. The first load
        after new pages compacts them into one chunk (latest write of an id wins), a column at a time;
        every load reads only the columns asked for, so a caller that needs few holds only those.
        """
        wanted = wanted_columns(columns)
        key_id = self._key_id(key)
        table = None
        if key_id is not None:
            with self._lock:  # one read transaction: a compaction elsewhere cannot delete a chunk mid-read
                self._read("BEGIN")
                try:
                    old, parts = self._chunk_list(key_id)
                    if not old and len(parts) == 1:
                        table = self._read_columns(next(iter(parts.values())), wanted)
                        if _text_summaries(table):  # a schema-7 chunk: rewritten once, as numbers
                            table = None
                finally:
                    self._read("COMMIT")
            if table is None and (old or parts):
                with self._tx() as conn:
                    table = self._compact(conn, key_id, wanted)
        if table is None:
            table = arrow_from_rows([])
            table = table if wanted is None else table.select(wanted)
        return time_slice(table, from_ms, to_ms)

    def _chunk_list(self, key_id: int) -> tuple[list[tuple[int, int]], dict[int, dict[str, int]]]:
        """Whole chunks of earlier versions as (seq, rowid), and column chunks as seq -> name -> rowid."""
        old = [
            (seq, rowid)
            for seq, rowid in self._read(
                "SELECT seq, rowid FROM chunks WHERE key_id = ? ORDER BY seq", (key_id,)
            )
        ]
        parts: dict[int, dict[str, int]] = {}
        for seq, name, rowid in self._read(
            "SELECT seq, name, rowid FROM chunk_columns WHERE key_id = ? ORDER BY seq", (key_id,)
        ):
            parts.setdefault(seq, {})[name] = rowid
        return old, parts

    def _compact(self, conn: sqlite3.Connection, key_id: int, wanted: Sequence[str] | None) -> Any:
        """Merge the key's chunks into one (inside the caller's write transaction) and return its
        ``wanted`` columns. Column by column, each written out and dropped, then the wanted ones read
        back: at a million events the peak is one column twice over, not the whole table twice over."""
        import pyarrow as pa

        old, parts = self._chunk_list(key_id)
        if not old and len(parts) == 1:  # another process compacted meanwhile
            table = self._read_columns(next(iter(parts.values())), wanted)
            if not _text_summaries(table):
                return table
        last_seq = max([seq for seq, _ in old] + list(parts))
        distinct_ids = self._read("SELECT COUNT(*) FROM events WHERE key_id = ?", (key_id,))[0][0]
        if old:  # chunks of earlier versions: upgraded once, in memory
            table = compact_chunks(
                [
                    table
                    for _, table in sorted(
                        [(seq, self._read_blob("chunks", rowid)) for seq, rowid in old]
                        + [(seq, self._read_columns(names, None)) for seq, names in parts.items()],
                        key=lambda pair: pair[0],
                    )
                ],
                distinct_ids,
            )
            conn.execute("DELETE FROM chunks WHERE key_id = ? AND seq <= ?", (key_id, last_seq))
            conn.execute("DELETE FROM chunk_columns WHERE key_id = ? AND seq <= ?", (key_id, last_seq))
            _write_chunk(conn, key_id, last_seq, table)
            return table if wanted is None else table.select(wanted)
        seqs = sorted(parts)
        # one contiguous array per column: a take across hundreds of chunks is ~20x slower
        keys = pa.concat_tables(
            [self._read_columns(parts[seq], list(KEY_COLUMNS)) for seq in seqs]
        ).combine_chunks()
        order = compaction_order(keys, distinct_ids)
        del keys
        for field in arrow_schema():
            # concat_tables, not pa.chunked_array: the latter takes ~0.5 s for 200 chunks
            pieces = pa.concat_tables(
                [
                    _numeric_summaries(self._read_blob("chunk_columns", self._rowid(parts[seq], field.name)))
                    for seq in seqs
                ]
            )
            combined = pieces.unify_dictionaries().column(0).combine_chunks()
            del pieces
            column = combined.take(order)
            del combined
            conn.execute(
                "DELETE FROM chunk_columns WHERE key_id = ? AND seq <= ? AND name = ?",
                (key_id, last_seq, field.name),
            )
            _write_column(conn, key_id, last_seq, field.name, column)
            del column
        return self._read_columns(self._chunk_list(key_id)[1][last_seq], wanted)

    @staticmethod
    def _rowid(rowids: Mapping[str, int], name: str) -> int:
        if name not in rowids:
            raise StoreError(
                f"the event store lacks the stored column {name}: "
                "clear the cache (python -m ldclient cache clear) to rebuild it"
            )
        return rowids[name]

    def _read_columns(self, rowids: Mapping[str, int], names: Sequence[str] | None) -> Any:
        """The columns ``names`` (None: all, in schema order) of one chunk, as one table."""
        import pyarrow as pa

        if names is None:
            names = [field.name for field in arrow_schema() if field.name in rowids]
        columns = [self._read_blob("chunk_columns", self._rowid(rowids, name)).column(0) for name in names]
        return pa.Table.from_arrays(columns, names=list(names))

    def _read_blob(self, table: str, rowid: int) -> Any:
        """An Arrow IPC BLOB copied once, in 1 MiB steps, into an Arrow buffer that the columns then share."""
        import pyarrow as pa

        with self._lock:
            try:
                with self._conn.blobopen(table, "data", rowid, readonly=True) as blob:
                    size = len(blob)
                    buffer = pa.allocate_buffer(size)
                    view = memoryview(buffer).cast("B")
                    for offset in range(0, size, 1 << 20):
                        view[offset : offset + (1 << 20)] = blob.read(1 << 20)
            except sqlite3.DatabaseError as exc:
                raise StoreError(f"the event store failed: {exc}") from exc
        try:
            reader = pa.ipc.open_file if buffer[:6].to_pybytes() == b"ARROW1" else pa.ipc.open_stream
            return reader(buffer).read_all()
        except pa.ArrowException as exc:
            raise StoreError(
                f"the event store holds an unreadable chunk ({exc}): clear the cache "
                "(python -m ldclient cache clear) to rebuild it"
            ) from exc

    def _raw_batch(
        self, key: StoreKey, after: tuple[int, str], to_ms: int, limit: int
    ) -> list[tuple[int, str, Any]]:
        key_id = self._key_id(key)
        if key_id is None:
            return []
        # the lower bound on event_time lets the index start at the cursor: each batch costs the same
        return self._read(
            "SELECT event_time, id, raw FROM events WHERE key_id = ? AND event_time >= ? AND "
            "event_time < ? AND (event_time > ? OR id > ?) ORDER BY event_time, id LIMIT ?",
            (key_id, after[0], to_ms, after[0], after[1], limit),
        )

    def record_refresh(self, key: StoreKey, record: RefreshRecord) -> None:
        key_id = self._key_id(key, create=True)
        with self._tx() as conn:
            conn.execute(
                "INSERT INTO refreshes VALUES (?, ?, ?, ?, ?, ?)",
                (
                    key_id,
                    record.at_ms,
                    record.outcome,
                    record.requests,
                    record.events_added,
                    record.message[:1000],
                ),
            )

    def last_refresh(self, key: StoreKey) -> RefreshRecord | None:
        key_id = self._key_id(key)
        rows = (
            []
            if key_id is None
            else self._read(
                "SELECT at_ms, outcome, requests, events_added, message FROM refreshes WHERE key_id = ? "
                "ORDER BY at_ms DESC LIMIT 1",
                (key_id,),
            )
        )
        return RefreshRecord(*rows[0]) if rows else None

    def last_good_refresh_ms(self, key: StoreKey) -> int | None:
        key_id = self._key_id(key)
        rows = (
            []
            if key_id is None
            else self._read("SELECT MAX(at_ms) FROM refreshes WHERE key_id = ? AND outcome = 'ok'", (key_id,))
        )
        return rows[0][0] if rows else None

    def summaries(self) -> list[KeySummary]:
        out = []
        for key_id, source, project, env in self._read(
            "SELECT key_id, source, project, environment FROM keys ORDER BY source, project, environment"
        ):
            count, first, last = self._read(
                "SELECT COUNT(*), MIN(event_time), MAX(event_time) FROM events WHERE key_id = ?", (key_id,)
            )[0]
            key = StoreKey(source, project, env)
            out.append(
                KeySummary(
                    key,
                    count,
                    first,
                    last,
                    self.covered(key),
                    self.last_refresh(key),
                    self.last_good_refresh_ms(key),
                )
            )
        return out

    def get_resource(self, source: str, kind: str, scope: str, max_age_s: float) -> Any | None:
        rows = self._read(
            "SELECT fetched_at, payload FROM resources WHERE source = ? AND kind = ? AND scope = ?",
            (source, kind, scope),
        )
        if not rows or time.time() - rows[0][0] > max_age_s:
            return None
        return json.loads(rows[0][1])

    def put_resource(self, source: str, kind: str, scope: str, payload: Any) -> None:
        with self._tx() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO resources VALUES (?, ?, ?, ?, ?)",
                (source, kind, scope, time.time(), json.dumps(payload, separators=(",", ":"))),
            )

    # -- digest delivery state ----------------------------------------------------------------------------

    def digest_add_pending(self, destination: str, items: Sequence[tuple[str, int, str]], now_ms: int) -> int:
        with self._tx() as conn:
            before = conn.total_changes
            conn.executemany(
                "INSERT OR IGNORE INTO digest_items (destination, item_key, item_time, item, state, "
                "first_seen_ms) VALUES (?, ?, ?, ?, 'pending', ?)",
                [(destination, key, time_ms, item, now_ms) for key, time_ms, item in items],
            )
            return conn.total_changes - before

    def digest_states(
        self, destination: str, item_keys: Sequence[str] | None = None
    ) -> list[DigestItemState]:
        select = f"SELECT {DIGEST_ITEM_COLUMNS} FROM digest_items WHERE destination = ?"
        if item_keys is None:
            rows = self._read(f"{select} ORDER BY item_time, item_key", (destination,))
        else:
            keys, rows = list(item_keys), []
            for start in range(0, len(keys), 500):
                part = keys[start : start + 500]
                rows += self._read(
                    f"{select} AND item_key IN ({','.join('?' * len(part))})", (destination, *part)
                )
            rows.sort(key=lambda r: (r[2], r[1]))
        return [DigestItemState(*row) for row in rows]

    def digest_mark_sent(
        self, destination: str, item_keys: Sequence[str], digest_id: str, now_ms: int
    ) -> None:
        with self._tx() as conn:
            conn.executemany(
                "UPDATE digest_items SET state = 'sent', sent_ms = ?, digest_id = ?, attempts = attempts + 1 "
                "WHERE destination = ? AND item_key = ?",
                [(now_ms, digest_id, destination, key) for key in item_keys],
            )

    def digest_note_attempt(self, destination: str, item_keys: Sequence[str]) -> None:
        with self._tx() as conn:
            conn.executemany(
                "UPDATE digest_items SET attempts = attempts + 1 WHERE destination = ? AND item_key = ?",
                [(destination, key) for key in item_keys],
            )

    def digest_record_run(self, run: DigestRun) -> None:
        with self._tx() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO digest_runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", run.as_row()
            )

    def digest_runs(self, limit: int = 50, destination: str | None = None) -> list[DigestRun]:
        where, params = ("WHERE destination = ? ", (destination,)) if destination is not None else ("", ())
        rows = self._read(
            f"SELECT {DIGEST_RUN_COLUMNS} FROM digest_runs {where}ORDER BY started_ms DESC, digest_id DESC LIMIT ?",
            (*params, limit),
        )
        return [DigestRun.from_row(row) for row in rows]

    # -- daily snapshots ------------------------------------------------------------------------------------

    def _snapshot_rows(
        self, key: StoreKey, from_day: str, to_day: str, *, with_flags: bool = True, last: int | None = None
    ) -> list[SnapshotRow]:
        sql = _snapshot_select("flags" if with_flags else "X''")
        params: tuple[Any, ...] = (key.source, key.project, key.environment, from_day, to_day)
        if last is not None:
            sql = f"SELECT * FROM ({sql} DESC LIMIT ?) ORDER BY day"
            params = (*params, last)
        return [SnapshotRow.from_row(r) for r in self._read(sql, params)]

    def _snapshot_update(
        self,
        key: StoreKey,
        from_day: str,
        to_day: str,
        update: Callable[[list[SnapshotRow]], list[SnapshotRow]],
    ) -> None:
        names = (key.source, key.project, key.environment)
        with self._tx() as conn:  # BEGIN IMMEDIATE: one writer at a time across processes
            stored = [
                SnapshotRow.from_row(r)
                for r in conn.execute(_snapshot_select("flags"), (*names, from_day, to_day))
            ]
            conn.executemany(
                "INSERT OR REPLACE INTO snapshots VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [(*names, r.day, r.taken_ms, r.figures, r.flags, int(r.full)) for r in update(stored)],
            )

    def _lock_name(self, key: StoreKey) -> str:
        return f"{self.path}:{key.digest()}"

    @contextlib.contextmanager
    def _process_claim(self, key: StoreKey) -> Iterator[None]:
        """One process on this machine at a time (flock on a file beside the store)."""
        lock_dir = self.path.parent / "locks"
        lock_dir.mkdir(parents=True, exist_ok=True)
        with open(lock_dir / f"{key.digest()}.lock", "a+") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def clear(self) -> None:
        with self._tx() as conn:
            for table in ("events", "coverage", "refreshes", "resources", "chunks", "chunk_columns", "keys"):
                conn.execute(f"DELETE FROM {table}")

    def close(self) -> None:
        with self._lock:
            self._conn.close()
