"""PostgreSQL test support: the server URL (skip or fail), throwaway schemas, a fake API over real HTTP,
and a sync worker run as a separate process (``python -m tests.pg_support sync ...``).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

from tests.fakeapi import TOKEN, FakeAPI

ENV = "LD_TEST_POSTGRES_URL"
HOW_TO = (
    f"set {ENV}=postgresql://USER:PASSWORD@127.0.0.1:5432/DB (a throwaway database; every test "
    "creates and drops its own schema) to run the PostgreSQL tests; `.ci/run` starts a local "
    "PostgreSQL and sets it"
)


def postgres_url() -> str:
    """The test server's URL; without one, skip (or fail under CI=true, where it must be there)."""
    import pytest

    url = os.environ.get(ENV)
    if url:
        return url
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true but {ENV} is unset: {HOW_TO}")
    pytest.skip(HOW_TO)


def new_schema_name() -> str:
    return f"fh_test_{uuid.uuid4().hex[:12]}"


def drop_schema(url: str, schema: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(url, autocommit=True, connect_timeout=5) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


@contextlib.contextmanager
def admin(url: str, schema: str | None = None) -> Iterator[Any]:
    """A plain autocommit connection for looking behind a store's back."""
    import psycopg

    with psycopg.connect(url, autocommit=True, connect_timeout=5) as conn:
        if schema is not None:
            conn.execute("SELECT set_config('search_path', %s, false)", (schema,))
        yield conn


# -- the fake API over HTTP -------------------------------------------------------------------------------


class FakeHTTPServer:
    """``FakeAPI`` served on 127.0.0.1 by a thread per request, each answer ``latency_s`` late.

    With ``hold_after=n``, flag-event requests after the n-th wait until ``release()``: a client is
    then stuck mid-fetch for as long as a test needs.
    """

    def __init__(self, api: FakeAPI, latency_s: float = 0.0, hold_after: int | None = None) -> None:
        self.api = api
        self.latency_s = latency_s
        self.hold_after = hold_after
        self.released = threading.Event()
        self.received = 0  # flag-event requests that arrived, held or not
        self._count_lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                if "/flag-events" in self.path:
                    with owner._count_lock:
                        owner.received += 1
                        held = owner.hold_after is not None and owner.received > owner.hold_after
                    if held:
                        owner.released.wait(60)
                if owner.latency_s:
                    time.sleep(owner.latency_s)
                host, port = owner.address
                request = httpx.Request(
                    "GET", f"http://{host}:{port}{self.path}", headers=list(self.headers.items())
                )
                response = owner.api(request)
                body = response.content
                self.send_response(response.status_code)
                for name, value in response.headers.items():
                    if name.lower() not in ("content-length", "transfer-encoding", "connection"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                return None

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request: Any, client_address: Any) -> None:
                return None  # a killed client leaves a broken pipe behind: expected here

        self._server = Server(("127.0.0.1", 0), Handler)
        self.address: tuple[str, int] = self._server.server_address[:2]  # type: ignore[assignment]
        self.base_url = f"http://{self.address[0]}:{self.address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> FakeHTTPServer:
        self._thread.start()
        return self

    def release(self) -> None:
        self.released.set()

    def __exit__(self, *exc: Any) -> None:
        self.released.set()
        self._server.shutdown()
        self._server.server_close()

    def flag_event_requests(self) -> int:
        return len(self.api.flag_event_requests())


# -- the worker process -----------------------------------------------------------------------------------


def _sync(args: argparse.Namespace) -> int:
    from ldclient.api.client import LDClient
    from ldclient.store import StoreKey
    from ldclient.store.postgres import PostgresStore
    from ldclient.sync import refresh

    store = PostgresStore(os.environ[ENV], schema=args.schema)
    key = StoreKey(args.source, args.project, args.env)
    client = LDClient(TOKEN, args.base_url)
    print("ready", flush=True)
    if args.wait:
        sys.stdin.readline()
    # fixed windows: the kill tests stop the holder after a few pages and need some windows already complete
    report = refresh(client, store, key, args.from_ms, args.to_ms, now=args.now_ms, probe=False)
    store.close()
    print(
        json.dumps(
            {
                "ok": report.ok,
                "error": str(report.error or ""),
                "requests": report.requests,
                "planned": report.planned,
                "events_added": report.events_added,
            }
        ),
        flush=True,
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.pg_support")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("sync", help="refresh one key into a PostgresStore, then print the report as JSON")
    p.add_argument("--schema", required=True)
    p.add_argument("--base-url", required=True)
    p.add_argument("--source", required=True)
    p.add_argument("--project", required=True)
    p.add_argument("--env", required=True)
    p.add_argument("--from-ms", type=int, required=True)
    p.add_argument("--to-ms", type=int, required=True)
    p.add_argument("--now-ms", type=int, required=True)
    p.add_argument("--wait", action="store_true", help="print 'ready', then wait for a line on stdin")
    return _sync(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
