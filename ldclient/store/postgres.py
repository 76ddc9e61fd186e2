"""The shared event store: one PostgreSQL database behind every dashboard replica of a team.

It keeps the guarantees of ``SQLiteStore`` (events deduplicated by ``id`` per key, a range recorded
complete only in the transaction that stores its last page, a refresh log, resources with a TTL) and
adds what several machines need: ``claim`` is a PostgreSQL advisory lock, so a key is fetched by one
replica at a time and the others find it covered; the schema is versioned in ``flag_health_meta`` and
migrated at start-up under a transaction-level advisory lock, so replicas starting together are safe.

psycopg 3 rather than SQLAlchemy: the store is a dozen hand-written statements that need PostgreSQL
itself (advisory locks, ``ON CONFLICT``, ``COPY ... TO STDOUT`` for a million-row load in seconds),
which an ORM would only wrap; psycopg_pool gives the pooling, health checks and timeouts we need.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import math
import os
import re
import socket
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any
from urllib.parse import unquote, urlsplit

import psycopg
import pyarrow as pa
import pyarrow.csv as pacsv
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg_pool import ConnectionPool, PoolClosed, PoolTimeout

from .. import summaries
from ..errors import StoreError
from ..frame import CATEGORY_COLUMNS, COLUMNS
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

SCHEMA_VERSION = 3
META_TABLE = "flag_health_meta"
# Fixed id for pg_advisory_xact_lock: every replica's migration runs under it, one at a time.
MIGRATION_LOCK_ID = int.from_bytes(b"fh-migr8", "big", signed=True)

_INT_COLUMNS = ("event_time", "experiments_count")
_FLOAT_COLUMNS = ("impact_percentage",)


def _column_type(name: str) -> str:
    if name == "id":
        return 'TEXT COLLATE "C" NOT NULL'  # byte order, as in SQLite, for ORDER BY event_time, id
    if name == "event_time":
        return "BIGINT NOT NULL"
    if name == "experiments_count":
        return "BIGINT"
    if name == "impact_percentage":
        return "DOUBLE PRECISION"
    return "TEXT"


# Each migration is a list of statements, applied once in order; the version after it is its index + 1.
MIGRATIONS: list[list[str]] = [
    [
        """CREATE TABLE IF NOT EXISTS fh_keys (
            key_id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            source TEXT NOT NULL, project TEXT NOT NULL, environment TEXT NOT NULL,
            UNIQUE (source, project, environment))""",
        f"""CREATE TABLE IF NOT EXISTS fh_events (
            key_id BIGINT NOT NULL,
            {", ".join(f"{c} {_column_type(c)}" for c in COLUMNS)},
            raw JSON NOT NULL,
            PRIMARY KEY (key_id, id))""",
        "CREATE INDEX IF NOT EXISTS fh_events_by_time ON fh_events (key_id, event_time, id)",
        """CREATE TABLE IF NOT EXISTS fh_coverage (
            key_id BIGINT NOT NULL, start_ms BIGINT NOT NULL, end_ms BIGINT NOT NULL,
            PRIMARY KEY (key_id, start_ms))""",
        """CREATE TABLE IF NOT EXISTS fh_refreshes (
            refresh_id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            key_id BIGINT NOT NULL, at_ms BIGINT NOT NULL, outcome TEXT NOT NULL, requests INTEGER NOT NULL,
            events_added INTEGER NOT NULL, message TEXT NOT NULL)""",
        "CREATE INDEX IF NOT EXISTS fh_refreshes_by_key ON fh_refreshes (key_id, at_ms)",
        """CREATE TABLE IF NOT EXISTS fh_resources (
            source TEXT NOT NULL, kind TEXT NOT NULL, scope TEXT NOT NULL,
            fetched_at TIMESTAMPTZ NOT NULL, payload JSON NOT NULL,
            PRIMARY KEY (source, kind, scope))""",
    ],
    [  # 2: digest delivery state, per item and destination (ldclient/digest/delivery.py)
        """CREATE TABLE IF NOT EXISTS fh_digest_items (
            destination TEXT NOT NULL, item_key TEXT NOT NULL, item_time BIGINT NOT NULL, item TEXT NOT NULL,
            state TEXT NOT NULL, first_seen_ms BIGINT NOT NULL, sent_ms BIGINT, digest_id TEXT,
            attempts INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (destination, item_key))""",
        "CREATE INDEX IF NOT EXISTS fh_digest_items_by_state ON fh_digest_items (destination, state, item_time)",
        """CREATE TABLE IF NOT EXISTS fh_digest_runs (
            digest_id TEXT PRIMARY KEY, destination TEXT NOT NULL, started_ms BIGINT NOT NULL,
            finished_ms BIGINT NOT NULL, outcome TEXT NOT NULL, items INTEGER NOT NULL,
            delivered INTEGER NOT NULL, message TEXT NOT NULL, item_keys JSON NOT NULL)""",
        "CREATE INDEX IF NOT EXISTS fh_digest_runs_by_time ON fh_digest_runs (started_ms)",
    ],
    [  # 3: daily snapshots (ldclient/store/snapshots.py), by names: clearing the event cache keeps them
        """CREATE TABLE IF NOT EXISTS fh_snapshots (
            source TEXT NOT NULL, project TEXT NOT NULL, environment TEXT NOT NULL,
            day TEXT COLLATE "C" NOT NULL, taken_ms BIGINT NOT NULL, figures TEXT NOT NULL,
            flags BYTEA NOT NULL, full_state BOOLEAN NOT NULL,
            PRIMARY KEY (source, project, environment, day))""",
    ],
]
assert len(MIGRATIONS) == SCHEMA_VERSION
SNAPSHOT_LOCK_SALT = 0x534E4150  # "SNAP": the snapshot writers' advisory lock differs from the key's claim
TABLES = ("fh_events", "fh_coverage", "fh_refreshes", "fh_resources", "fh_keys")

_SELECT_COLUMNS = ", ".join(COLUMNS)
_INSERT_EVENTS = f"""
INSERT INTO fh_events (key_id, {_SELECT_COLUMNS}, raw)
SELECT %s::bigint, {_SELECT_COLUMNS}, raw::json
FROM unnest({
    ", ".join(
        f"%b::{'bigint' if c in _INT_COLUMNS else 'float8' if c in _FLOAT_COLUMNS else 'text'}[]"
        for c in COLUMNS
    )
}, %b::text[]) AS page ({_SELECT_COLUMNS}, raw)
ON CONFLICT (key_id, id) DO UPDATE SET  -- the newest copy wins, as with SQLite's INSERT OR REPLACE
{", ".join(f"{c} = EXCLUDED.{c}" for c in COLUMNS if c != "id")}, raw = EXCLUDED.raw
"""

_CSV_TYPES = {
    c: (
        pa.int64()
        if c in _INT_COLUMNS
        else pa.float64()
        if c in _FLOAT_COLUMNS
        else pa.dictionary(pa.int32(), pa.string())
        if c in CATEGORY_COLUMNS
        else pa.string()
    )
    for c in COLUMNS
}


def _empty_table(names: Sequence[str]) -> pa.Table:
    """No events, in the columns and types a CSV read of ``names`` gives."""
    return pa.table({c: pa.array([], type=_CSV_TYPES[c]) for c in names})


_SCHEMA_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")


def _text(value: Any) -> Any:
    """PostgreSQL text cannot hold NUL (SQLite can): it is dropped from the flat columns, kept in ``raw``."""
    return value.replace("\x00", "") if isinstance(value, str) and "\x00" in value else value


class _CopyReader(io.RawIOBase):
    """``COPY ... TO STDOUT`` as a file, so pyarrow parses it block by block while it arrives."""

    def __init__(self, copy: psycopg.Copy, first: Any = b"") -> None:
        self._copy = copy
        self._pending = memoryview(first)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        out = memoryview(buffer).cast("B")
        filled = 0
        while filled < len(out):
            if not self._pending:
                data = self._copy.read()
                if not data:
                    break
                self._pending = memoryview(data)
            n = min(len(out) - filled, len(self._pending))
            out[filled : filled + n] = self._pending[:n]
            self._pending = self._pending[n:]
            filled += n
        return filled


class PostgresStore(EventStore):
    """``EventStore`` on PostgreSQL, shared by every replica (and the CLI) that uses the same URL.

    ``url`` is a libpq URL or conninfo string (``postgresql://user:password@host:5432/db``; the password
    may also come from ``PGPASSWORD`` or ``~/.pgpass``). ``schema`` puts the tables in that schema
    (created if missing) instead of the connection's default ``search_path``. ``pool_size`` bounds the
    connections a process opens for queries; each claim opens one more, held while the claim lasts.
    """

    def __init__(
        self, url: str, *, pool_size: int = 5, connect_timeout_s: float = 5, schema: str | None = None
    ) -> None:
        if schema is not None and not _SCHEMA_NAME.fullmatch(schema):
            raise StoreError(f"invalid PostgreSQL schema name {schema!r}: use letters, digits and _")
        self.notice: str | None = None
        self._schema = schema
        self._secrets = _secrets_of(url)
        params = self._parse(url)
        self._where = _where(params)
        self.description = f"PostgreSQL at postgresql://{self._where}" + (
            f" (schema {schema})" if schema else ""
        )
        self._timeout = float(connect_timeout_s)
        extra: dict[str, Any] = {"connect_timeout": max(2, math.ceil(connect_timeout_s))}
        if "application_name" not in params:
            extra["application_name"] = "flag-health"
        try:
            self._conninfo = make_conninfo(url, **extra)
        except psycopg.Error as exc:
            raise StoreError(f"LD_STORE_URL is not a valid PostgreSQL URL: {self._scrub(exc)}") from None
        self._lock_space = self._migrate()
        wait = max(15.0, 3 * self._timeout)
        self._pool: ConnectionPool = ConnectionPool(
            self._conninfo,
            min_size=1,
            max_size=max(1, pool_size),
            open=False,
            name="flag-health",
            configure=self._configure,
            check=ConnectionPool.check_connection,
            timeout=wait,
        )
        self._pool.open(wait=False)

    # -- connections --------------------------------------------------------------------------------------

    def _parse(self, url: str) -> dict[str, Any]:
        try:
            return conninfo_to_dict(url)
        except psycopg.Error as exc:
            raise StoreError(f"LD_STORE_URL is not a valid PostgreSQL URL: {self._scrub(exc)}") from None

    def _scrub(self, exc: BaseException | str) -> str:
        """One line of the server's or libpq's message, with any password in it masked."""
        text = " ".join(str(exc).split()).removeprefix("connection failed: ")
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    def _configure(self, conn: psycopg.Connection) -> None:
        settings = {"idle_in_transaction_session_timeout": "300s"}
        if self._schema is not None:
            settings["search_path"] = self._schema
        for name, value in settings.items():
            conn.execute("SELECT set_config(%s, %s, false)", (name, value))
        conn.commit()

    def _connect(self, **kwargs: Any) -> psycopg.Connection:
        try:
            return psycopg.connect(self._conninfo, **kwargs)
        except psycopg.Error as exc:
            raise StoreError(
                f"cannot connect to the PostgreSQL event store at {self._where}: {self._scrub(exc)}"
            ) from None

    def _failure(self, exc: BaseException) -> StoreError:
        if isinstance(exc, PoolClosed):
            return StoreError(f"the PostgreSQL event store at {self._where} is closed")
        if isinstance(exc, PoolTimeout):
            return StoreError(
                f"the PostgreSQL event store at {self._where} could not be reached in time: "
                "is the server running and reachable?"
            )
        return StoreError(f"the PostgreSQL event store at {self._where} failed: {self._scrub(exc)}")

    @contextlib.contextmanager
    def _tx(self) -> Iterator[psycopg.Connection]:
        """A pooled connection in one transaction: committed if the block succeeds, rolled back if not."""
        try:
            with self._pool.connection() as conn:
                yield conn
        except psycopg.Error as exc:
            raise self._failure(exc) from None

    def _read(self, query: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._tx() as conn:
            return conn.execute(query, params).fetchall()

    def _migrate(self) -> str:
        """Bring the schema to ``SCHEMA_VERSION``, once, whatever the number of replicas starting."""
        conn = self._connect()
        try:
            with conn:
                if self._schema is not None:
                    conn.execute("SELECT set_config('search_path', %s, false)", (self._schema,))
                    conn.commit()
                if self._version(conn) != SCHEMA_VERSION:
                    conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK_ID,))
                    if self._schema is not None:
                        conn.execute(
                            sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(self._schema))
                        )
                    conn.execute(
                        f"CREATE TABLE IF NOT EXISTS {META_TABLE} (name TEXT PRIMARY KEY, "
                        "value TEXT NOT NULL, updated_at TIMESTAMPTZ NOT NULL DEFAULT now())"
                    )
                    current = self._version(conn) or 0
                    if current > SCHEMA_VERSION:
                        raise StoreError(
                            f"the PostgreSQL event store at {self._where} has schema version {current}, newer "
                            f"than this dashboard's {SCHEMA_VERSION}: upgrade the dashboard on this replica"
                        )
                    who = f"{socket.gethostname()} pid {os.getpid()}"
                    for version in range(current + 1, SCHEMA_VERSION + 1):
                        for statement in MIGRATIONS[version - 1]:
                            conn.execute(statement)
                        # a plain INSERT: were a migration ever applied twice, this would fail loudly
                        conn.execute(
                            f"INSERT INTO {META_TABLE} (name, value) VALUES (%s, %s)",
                            (f"migration:{version:04d}", f"applied by {who}"),
                        )
                    conn.execute(
                        f"INSERT INTO {META_TABLE} (name, value) VALUES ('schema_version', %s) "
                        "ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value, updated_at = now()",
                        (str(SCHEMA_VERSION),),
                    )
                    conn.commit()
                row = conn.execute("SELECT current_database(), current_schema()").fetchone()
                conn.commit()
        except psycopg.Error as exc:
            raise self._failure(exc) from None
        finally:
            conn.close()
        assert row is not None
        if row[1] is None:
            raise StoreError(
                f"the PostgreSQL event store at {self._where} has no schema to use "
                "(search_path names none that exists)"
            )
        return f"{row[0]}/{row[1]}"

    @staticmethod
    def _version(conn: psycopg.Connection) -> int | None:
        exists = conn.execute("SELECT to_regclass(%s)", (META_TABLE,)).fetchone()
        if not exists or exists[0] is None:
            return None
        row = conn.execute(f"SELECT value FROM {META_TABLE} WHERE name = 'schema_version'").fetchone()
        return int(row[0]) if row else None

    @staticmethod
    def _key_id(conn: psycopg.Connection, key: StoreKey, create: bool = False) -> int | None:
        params = (key.source, key.project, key.environment)
        find = "SELECT key_id FROM fh_keys WHERE source = %s AND project = %s AND environment = %s"
        row = conn.execute(find, params).fetchone()
        if row is None and create:
            conn.execute(
                "INSERT INTO fh_keys (source, project, environment) VALUES (%s, %s, %s) "
                "ON CONFLICT DO NOTHING",
                params,
            )
            row = conn.execute(find, params).fetchone()
        return row[0] if row else None

    def lock_id(self, key: StoreKey) -> int:
        """The advisory-lock id of ``key``: 64 bits of SHA-256 over the database, schema and key."""
        digest = hashlib.sha256(f"flag-health\n{self._lock_space}\n{key.digest()}".encode()).digest()
        return int.from_bytes(digest[:8], "big", signed=True)

    # -- the interface ------------------------------------------------------------------------------------

    def covered(self, key: StoreKey) -> list[tuple[int, int]]:
        with self._tx() as conn:
            key_id = self._key_id(conn, key)
            if key_id is None:
                return []
            rows = conn.execute(
                "SELECT start_ms, end_ms FROM fh_coverage WHERE key_id = %s ORDER BY start_ms", (key_id,)
            ).fetchall()
        return [(s, e) for s, e in rows]

    def _store_page(
        self, key: StoreKey, rows: Mapping[str, tuple[dict[str, Any], str]], complete: tuple[int, int] | None
    ) -> int:
        with self._tx() as conn:
            key_id = self._key_id(conn, key, create=True)
            # one writer per key at a time, whoever calls: coverage merges must not interleave
            conn.execute("SELECT 1 FROM fh_keys WHERE key_id = %s FOR UPDATE", (key_id,))
            added = 0
            if rows:
                ids = list(rows)
                existing = conn.execute(
                    "SELECT count(*) FROM fh_events WHERE key_id = %s AND id = ANY(%s)", (key_id, ids)
                ).fetchone()
                added = len(ids) - (existing[0] if existing else 0)
                # a summary is kept as its canonical JSON text (ldclient/summaries.py reads it back)
                columns = [
                    [
                        _text(summaries.to_text(flat[c]) if c == "variations" else flat[c])
                        for flat, _ in rows.values()
                    ]
                    for c in COLUMNS
                ]
                conn.execute(_INSERT_EVENTS, (key_id, *columns, [raw for _, raw in rows.values()]))
            if complete is not None:
                touching = "FROM fh_coverage WHERE key_id = %s AND end_ms >= %s AND start_ms <= %s"
                current = conn.execute(f"SELECT start_ms, end_ms {touching}", (key_id, *complete)).fetchall()
                conn.execute(f"DELETE {touching}", (key_id, *complete))
                with conn.cursor() as cur:
                    cur.executemany(
                        "INSERT INTO fh_coverage (key_id, start_ms, end_ms) VALUES (%s, %s, %s)",
                        [(key_id, s, e) for s, e in self.merged_coverage(current, complete)],
                    )
        return added

    def load_table(
        self, key: StoreKey, from_ms: int, to_ms: int, columns: Sequence[str] | None = None
    ) -> Any:
        """The events of ``[from_ms, to_ms)`` by time then id: the server streams CSV, pyarrow parses it.
        With ``columns``, only those (and ``event_time``) are sent."""
        names = wanted_columns(columns) or list(COLUMNS)
        with self._tx() as conn:
            key_id = self._key_id(conn, key)
            if key_id is None:
                return _empty_table(names)
            query = sql.SQL(
                "COPY (SELECT {columns} FROM fh_events WHERE key_id = {key_id} AND event_time >= {lo} "
                "AND event_time < {hi} ORDER BY event_time, id) TO STDOUT (FORMAT csv)"
            ).format(
                columns=sql.SQL(", ".join(names)),
                key_id=sql.Literal(key_id),
                lo=sql.Literal(int(from_ms)),
                hi=sql.Literal(int(to_ms)),
            )
            with conn.cursor() as cur, cur.copy(query) as copy:
                first = copy.read()
                if not first:  # no rows (pyarrow refuses an empty CSV)
                    return _empty_table(names)
                try:
                    table = pacsv.read_csv(
                        io.BufferedReader(_CopyReader(copy, first), buffer_size=1 << 20),
                        read_options=pacsv.ReadOptions(column_names=names, block_size=8 << 20),
                        parse_options=pacsv.ParseOptions(newlines_in_values=True),
                        # CSV NULL is an unquoted empty field, "" is an empty string: keep them apart
                        convert_options=pacsv.ConvertOptions(
                            column_types={c: _CSV_TYPES[c] for c in names},
                            strings_can_be_null=True,
                            quoted_strings_can_be_null=False,
                            null_values=[""],
                        ),
                    )
                except pa.ArrowException as exc:
                    raise StoreError(
                        f"the PostgreSQL event store at {self._where} sent events that could "
                        f"not be read: {exc}"
                    ) from None
        return table

    def _raw_batch(
        self, key: StoreKey, after: tuple[int, str], to_ms: int, limit: int
    ) -> list[tuple[int, str, Any]]:
        with self._tx() as conn:
            key_id = self._key_id(conn, key)
        if key_id is None:
            return []
        return self._read(
            "SELECT event_time, id, raw FROM fh_events WHERE key_id = %s AND event_time < %s "
            "AND (event_time, id) > (%s, %s) ORDER BY event_time, id LIMIT %s",
            (key_id, to_ms, after[0], after[1], limit),
        )

    def record_refresh(self, key: StoreKey, record: RefreshRecord) -> None:
        with self._tx() as conn:
            key_id = self._key_id(conn, key, create=True)
            conn.execute(
                "INSERT INTO fh_refreshes (key_id, at_ms, outcome, requests, events_added, message) "
                "VALUES (%s, %s, %s, %s, %s, %s)",
                (
                    key_id,
                    record.at_ms,
                    record.outcome,
                    record.requests,
                    record.events_added,
                    _text(record.message[:1000]),
                ),
            )

    def last_refresh(self, key: StoreKey) -> RefreshRecord | None:
        rows = self._read(
            "SELECT r.at_ms, r.outcome, r.requests, r.events_added, r.message FROM fh_refreshes r "
            "JOIN fh_keys k USING (key_id) WHERE k.source = %s AND k.project = %s AND k.environment = %s "
            "ORDER BY r.at_ms DESC, r.refresh_id DESC LIMIT 1",
            (key.source, key.project, key.environment),
        )
        return RefreshRecord(*rows[0]) if rows else None

    def last_good_refresh_ms(self, key: StoreKey) -> int | None:
        rows = self._read(
            "SELECT max(r.at_ms) FROM fh_refreshes r JOIN fh_keys k USING (key_id) WHERE k.source = %s "
            "AND k.project = %s AND k.environment = %s AND r.outcome = 'ok'",
            (key.source, key.project, key.environment),
        )
        return rows[0][0] if rows else None

    def summaries(self) -> list[KeySummary]:
        with self._tx() as conn:
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")  # one snapshot for all four reads
            keys = conn.execute(
                "SELECT k.key_id, k.source, k.project, k.environment, s.n, s.first, s.last FROM fh_keys k "
                "CROSS JOIN LATERAL (SELECT count(*) AS n, min(event_time) AS first, max(event_time) AS last "
                "FROM fh_events e WHERE e.key_id = k.key_id) s "
                "ORDER BY k.source, k.project, k.environment"
            ).fetchall()
            covered: dict[int, list[tuple[int, int]]] = {}
            for key_id, start, end in conn.execute(
                "SELECT key_id, start_ms, end_ms FROM fh_coverage ORDER BY key_id, start_ms"
            ):
                covered.setdefault(key_id, []).append((start, end))
            last = {
                row[0]: RefreshRecord(*row[1:])
                for row in conn.execute(
                    "SELECT DISTINCT ON (key_id) key_id, at_ms, outcome, requests, events_added, message "
                    "FROM fh_refreshes ORDER BY key_id, at_ms DESC, refresh_id DESC"
                )
            }
            good = dict(
                conn.execute(
                    "SELECT key_id, max(at_ms) FROM fh_refreshes WHERE outcome = 'ok' GROUP BY key_id"
                ).fetchall()
            )
        return [
            KeySummary(
                StoreKey(source, project, env),
                n,
                first,
                last_ms,
                covered.get(key_id, []),
                last.get(key_id),
                good.get(key_id),
            )
            for key_id, source, project, env, n, first, last_ms in keys
        ]

    def get_resource(self, source: str, kind: str, scope: str, max_age_s: float) -> Any | None:
        # ages come from the server's clock, so replicas whose clocks disagree still agree on expiry
        rows = self._read(
            "SELECT extract(epoch FROM clock_timestamp() - fetched_at)::float8, payload "
            "FROM fh_resources WHERE source = %s AND kind = %s AND scope = %s",
            (source, kind, scope),
        )
        if not rows or rows[0][0] > max_age_s:
            return None
        return rows[0][1]

    def put_resource(self, source: str, kind: str, scope: str, payload: Any) -> None:
        with self._tx() as conn:
            conn.execute(
                "INSERT INTO fh_resources (source, kind, scope, fetched_at, payload) "
                "VALUES (%s, %s, %s, clock_timestamp(), %s::json) ON CONFLICT (source, kind, scope) "
                "DO UPDATE SET fetched_at = EXCLUDED.fetched_at, payload = EXCLUDED.payload",
                (source, kind, scope, json.dumps(payload, separators=(",", ":"))),
            )

    # -- digest delivery state ----------------------------------------------------------------------------

    def digest_add_pending(self, destination: str, items: Sequence[tuple[str, int, str]], now_ms: int) -> int:
        if not items:
            return 0
        with self._tx() as conn:
            rows = conn.execute(
                "INSERT INTO fh_digest_items (destination, item_key, item_time, item, state, first_seen_ms) "
                "SELECT %s, k, t, i, 'pending', %s FROM unnest(%s::text[], %s::bigint[], %s::text[]) AS n(k, t, i) "
                "ON CONFLICT (destination, item_key) DO NOTHING RETURNING item_key",
                (
                    destination,
                    now_ms,
                    [k for k, _, _ in items],
                    [t for _, t, _ in items],
                    [_text(i) for _, _, i in items],
                ),
            ).fetchall()
        return len(rows)

    def digest_states(
        self, destination: str, item_keys: Sequence[str] | None = None
    ) -> list[DigestItemState]:
        select = f"SELECT {DIGEST_ITEM_COLUMNS} FROM fh_digest_items WHERE destination = %s"
        if item_keys is None:
            rows = self._read(f"{select} ORDER BY item_time, item_key", (destination,))
        else:
            rows = self._read(
                f"{select} AND item_key = ANY(%s) ORDER BY item_time, item_key",
                (destination, list(item_keys)),
            )
        return [DigestItemState(*row) for row in rows]

    def digest_mark_sent(
        self, destination: str, item_keys: Sequence[str], digest_id: str, now_ms: int
    ) -> None:
        with self._tx() as conn:
            conn.execute(
                "UPDATE fh_digest_items SET state = 'sent', sent_ms = %s, digest_id = %s, "
                "attempts = attempts + 1 WHERE destination = %s AND item_key = ANY(%s)",
                (now_ms, digest_id, destination, list(item_keys)),
            )

    def digest_note_attempt(self, destination: str, item_keys: Sequence[str]) -> None:
        with self._tx() as conn:
            conn.execute(
                "UPDATE fh_digest_items SET attempts = attempts + 1 WHERE destination = %s "
                "AND item_key = ANY(%s)",
                (destination, list(item_keys)),
            )

    def digest_record_run(self, run: DigestRun) -> None:
        with self._tx() as conn:
            conn.execute(
                "INSERT INTO fh_digest_runs VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s::json) "
                "ON CONFLICT (digest_id) DO UPDATE SET finished_ms = EXCLUDED.finished_ms, "
                "outcome = EXCLUDED.outcome, items = EXCLUDED.items, delivered = EXCLUDED.delivered, "
                "message = EXCLUDED.message, item_keys = EXCLUDED.item_keys",
                tuple(_text(value) for value in run.as_row()),
            )

    def digest_runs(self, limit: int = 50, destination: str | None = None) -> list[DigestRun]:
        where, params = ("WHERE destination = %s ", (destination,)) if destination is not None else ("", ())
        rows = self._read(
            f"SELECT {DIGEST_RUN_COLUMNS} FROM fh_digest_runs {where}ORDER BY started_ms DESC, digest_id DESC "
            "LIMIT %s",
            (*params, limit),
        )
        return [DigestRun.from_row(row) for row in rows]

    # -- daily snapshots ------------------------------------------------------------------------------------

    def _snapshot_rows(
        self, key: StoreKey, from_day: str, to_day: str, *, with_flags: bool = True, last: int | None = None
    ) -> list[SnapshotRow]:
        query = _snapshot_select("flags" if with_flags else "''::bytea")
        params: tuple[Any, ...] = (key.source, key.project, key.environment, from_day, to_day)
        if last is not None:
            query = f"SELECT * FROM ({query} DESC LIMIT %s) AS t ORDER BY day"
            params = (*params, last)
        return [SnapshotRow.from_row(r) for r in self._read(query, params)]

    def _snapshot_update(
        self,
        key: StoreKey,
        from_day: str,
        to_day: str,
        update: Callable[[list[SnapshotRow]], list[SnapshotRow]],
    ) -> None:
        names = (key.source, key.project, key.environment)
        with self._tx() as conn:
            # one writer of this key's snapshots at a time, for the transaction (not the refresh's lock id)
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (self.lock_id(key) ^ SNAPSHOT_LOCK_SALT,))
            stored = [
                SnapshotRow.from_row(r)
                for r in conn.execute(_snapshot_select("flags"), (*names, from_day, to_day)).fetchall()
            ]
            rows = update(stored)
            if rows:
                conn.cursor().executemany(
                    "INSERT INTO fh_snapshots VALUES (%s, %s, %s, %s, %s, %s, %s, %s) "
                    "ON CONFLICT (source, project, environment, day) DO UPDATE SET taken_ms = EXCLUDED.taken_ms, "
                    "figures = EXCLUDED.figures, flags = EXCLUDED.flags, full_state = EXCLUDED.full_state",
                    [(*names, r.day, r.taken_ms, r.figures, r.flags, r.full) for r in rows],
                )

    def _lock_name(self, key: StoreKey) -> str:
        return f"postgres:{self.lock_id(key)}"

    @contextlib.contextmanager
    def _process_claim(self, key: StoreKey) -> Iterator[None]:
        """Single flight per key across every process on this database.

        The base class's thread lock first queues this process's threads (so one connection waits, not
        one per thread); then ``pg_advisory_lock`` on a claim connection held until the block ends. The lock
        belongs to that connection's session: a process that dies holding it closes the connection,
        and PostgreSQL releases the lock at once, so the next waiter takes over.
        """
        lock_id = self.lock_id(key)
        # Keepalives on both ends: a vanished client machine (not just a dead process) is noticed
        # within about a minute too, and its lock released.
        conn = self._connect(
            autocommit=True, keepalives=1, keepalives_idle=30, keepalives_interval=10, keepalives_count=3
        )
        try:
            try:
                conn.execute(
                    "SELECT set_config('tcp_keepalives_idle', '30', false), "
                    "set_config('tcp_keepalives_interval', '10', false), "
                    "set_config('tcp_keepalives_count', '3', false)"
                )
                conn.execute("SELECT pg_advisory_lock(%s)", (lock_id,))
            except psycopg.Error as exc:
                raise self._failure(exc) from None
            yield
        finally:
            conn.close()  # ends the session, which releases its advisory lock

    def clear(self) -> None:
        with self._tx() as conn:
            conn.execute(f"TRUNCATE {', '.join(TABLES)}")

    def close(self) -> None:
        self._pool.close()


def _snapshot_select(flags: str) -> str:
    """A key's snapshot rows of a day range, by day; ``flags`` is the column (or an empty stand-in)."""
    return (
        f"SELECT day, taken_ms, figures, {flags} AS flags, full_state FROM fh_snapshots WHERE source = %s "
        "AND project = %s AND environment = %s AND day BETWEEN %s AND %s ORDER BY day"
    )


def _secrets_of(url: str) -> list[str]:
    """Every spelling of the password the URL carries, longest first, for masking messages."""
    found: set[str] = set()
    with contextlib.suppress(ValueError):
        parts = urlsplit(url)
        if parts.password:
            found |= {parts.password, unquote(parts.password)}
        for match in re.finditer(r"(?:^|[?&])password=([^&]*)", parts.query):
            found |= {match.group(1), unquote(match.group(1))}
    for match in re.finditer(r"password\s*=\s*('(?:[^'\\]|\\.)*'|\S+)", url):
        value = match.group(1)
        found |= {value, value.strip("'")}
    with contextlib.suppress(psycopg.Error):
        if password := conninfo_to_dict(url).get("password"):
            found.add(str(password))
    return sorted((s for s in found if s), key=len, reverse=True)


def _where(params: Mapping[str, Any]) -> str:
    """``user@host:port/dbname`` as libpq will resolve it, without the password."""
    env: Callable[[str], str | None] = os.environ.get
    user = params.get("user") or env("PGUSER")
    host = params.get("host") or params.get("hostaddr") or env("PGHOST") or "localhost"
    port = params.get("port") or env("PGPORT") or "5432"
    dbname = params.get("dbname") or env("PGDATABASE") or user or ""
    return f"{user + '@' if user else ''}{host}:{port}/{dbname}"


__all__ = ["MIGRATIONS", "PostgresStore", "SCHEMA_VERSION"]
