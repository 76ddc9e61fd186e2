"""Helpers shared by the fault, concurrency and security tests: the server's truth, the store's honesty,
no-op sleeps, the CLI as a subprocess, and an HTTP server that breaks connections mid-body."""

from __future__ import annotations

import os
import socket
import struct
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
BIG = 1 << 62  # "all of time" for store reads


class Sleeps:
    """An injected ``sleep`` for LDClient: records what the client would have waited, waits for nothing."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


def key_events(events: Iterable[Mapping[str, Any]], project: str, env: str) -> list[Mapping[str, Any]]:
    """What the API lists for (project, env) with ``global=include``: its events plus the project's global ones."""
    return [
        e
        for e in events
        if e.get("projectKey") == project
        and (e.get("environmentKey") == env or e.get("environmentKey") is None)
    ]


def ids_in(events: Iterable[Mapping[str, Any]], lo: int, hi: int) -> Counter[str]:
    return Counter(str(e["id"]) for e in events if lo <= e["eventTime"] < hi)


def stored_ids(store: Any, key: Any) -> tuple[list[str], list[str]]:
    """Every stored id as the two read paths see them: the frame (columnar chunks) and iter_raw (rows)."""
    frame = store.load_frame(key, -BIG, BIG)
    raw = [str(item["id"]) for item in store.iter_raw(key, -BIG, BIG)]
    return frame["id"].astype(str).tolist(), raw


def assert_store_honest(store: Any, key: Any, truth: list[Mapping[str, Any]]) -> None:
    """Nothing doubled, nothing invented, and every range recorded complete holds all the server's events."""
    from_frame, from_rows = stored_ids(store, key)
    assert len(from_frame) == len(set(from_frame)), "an event is stored twice (frame)"
    assert len(from_rows) == len(set(from_rows)), "an event is stored twice (rows)"
    assert sorted(from_frame) == sorted(from_rows), "the frame and the rows disagree"
    truth_ids = {str(e["id"]) for e in truth}
    assert set(from_rows) <= truth_ids, (
        f"stored events the server does not have: {set(from_rows) - truth_ids}"
    )
    stored_items = list(store.iter_raw(key, -BIG, BIG))
    for start, end in store.covered(key):
        want = ids_in(truth, start, end)
        have = ids_in(stored_items, start, end)
        assert have == want, (
            f"range [{start}, {end}) is recorded complete but {sum((want - have).values())} of "
            f"its {sum(want.values())} events are missing"
        )


def cli_env(cache_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LD_") or k == "LD_CLOCK_OFFSET_MS"}
    env.update({"LD_CACHE_DIR": str(cache_dir), "PYTHONUNBUFFERED": "1"}, **extra)
    return env


def child_env(**extra: str) -> dict[str, str]:
    """This process's environment for a child ``python -m ldclient``: no LD_ setting leaks in but the test
    run's clock and the test's own cache dir, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LD_") or k == "LD_CLOCK_OFFSET_MS"}
    env["LD_CACHE_DIR"] = os.environ["LD_CACHE_DIR"]
    env.update(extra)
    return env


def run_ldclient(
    *args: str, env: dict[str, str] | None = None, timeout: float = 180
) -> subprocess.CompletedProcess[str]:
    """``python -m ldclient ARGS`` in the test's isolated environment (see ``child_env``)."""
    return run_cli(list(args), child_env(**(env or {})), timeout=timeout)


def run_cli(args: list[str], env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ldclient", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def popen_cli(args: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "ldclient", *args],
        cwd=ROOT,
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


class CuttingServer:
    """Real HTTP in front of a DemoApi that, when ``cut(request)`` says so, sends the headers and half the
    body and then resets the TCP connection: a connection that breaks mid-body."""

    def __init__(self, api: Any, cut: Callable[[httpx.Request], bool]) -> None:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
                headers = [
                    (k, v)
                    for k, v in self.headers.items()
                    if k.lower() not in ("host", "content-length", "connection")
                ]
                request = httpx.Request("GET", f"http://127.0.0.1{self.path}", headers=headers)
                response = api.handle(request)
                body = response.content
                self.send_response(response.status_code)
                for name, value in response.headers.items():
                    if name.lower() not in ("content-length", "connection"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if outer.cut(request):
                    outer.cuts += 1
                    self.wfile.write(body[: len(body) // 2])
                    self.wfile.flush()
                    # SO_LINGER 0: close() sends RST, the peer sees "connection reset" mid-body
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    self.close_connection = True
                    return
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

        self.cut = cut
        self.cuts = 0
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


IDLE = (  # no script run, no progress bar, and no snapshot still being recorded (the Overview then reruns)
    "() => !document.querySelector('[data-testid=\"stStatusWidget\"]') && "
    "!document.querySelector('[data-testid=\"stProgress\"]') && "
    "!document.body.innerText.includes('Recording today')"
)


def wait_ready(page, charts: int = 0, timeout: int = 120_000) -> None:
    """A page with its title, sidebar and charts, and no script run in progress (nor a snapshot being recorded
    beside it) on two looks 400 ms apart."""
    page.wait_for_selector('[data-testid="stMain"] h1', timeout=timeout)
    page.wait_for_selector('[data-testid="stSidebar"] [data-testid="stSelectbox"]', timeout=timeout)
    for _ in range(2):
        page.wait_for_function(IDLE, timeout=timeout)
        page.wait_for_timeout(400)
    if charts:
        page.wait_for_function(
            f'() => document.querySelectorAll(\'[data-testid="stVegaLiteChart"] svg, '
            f'[data-testid="stVegaLiteChart"] canvas\').length >= {charts}',
            timeout=timeout,
        )
    page.wait_for_function(IDLE, timeout=timeout)
