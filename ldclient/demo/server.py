"""The demo API over real HTTP: a threaded server, a handle for tests, and ``python -m ldclient demo-server``."""

from __future__ import annotations

import argparse
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

from .account import DemoAccount
from .api import DemoApi, DemoFaults, RequestStats
from .generator import generate_account


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 60
    disable_nagle_algorithm = True  # headers and body are separate writes: avoid 40 ms delayed-ACK stalls
    server: _DemoHTTPServer

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        api = self.server.api
        if not self.path.startswith("/"):
            self.send_error(400)
            return
        skip = {"host", "content-length", "transfer-encoding", "connection"}
        headers = [(k, v) for k, v in self.headers.items() if k.lower() not in skip]
        request = httpx.Request(self.command, f"http://127.0.0.1{self.path}", headers=headers, content=body)
        if api.latency_s > 0:
            time.sleep(api.latency_s)
        response = api.handle(request)
        self.send_response(response.status_code)
        for raw_name, raw_value in response.headers.raw:  # raw keeps LaunchDarkly's header capitalisation
            name = raw_name.decode("latin-1")
            if name.lower() not in ("content-length", "connection"):
                self.send_header(name, raw_value.decode("latin-1"))
        self.send_header("Content-Length", str(len(response.content)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.content)

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's signature
        if self.server.verbose:
            super().log_message(format, *args)


class _DemoHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], api: DemoApi, verbose: bool = False) -> None:
        super().__init__(address, _Handler)
        self.api = api
        self.verbose = verbose


class RunningServer:
    """A demo server on a background thread; ``stop()`` (or leaving the ``with`` block) shuts it down."""

    def __init__(self, server: _DemoHTTPServer, thread: threading.Thread) -> None:
        self._server = server
        self._thread = thread
        host, port = server.server_address[:2]
        self.host, self.port = str(host), int(port)
        self.base_url = f"http://{self.host}:{self.port}"
        self._stopped = False

    @property
    def api(self) -> DemoApi:
        return self._server.api

    @property
    def account(self) -> DemoAccount:
        return self._server.api.account

    @property
    def stats(self) -> RequestStats:
        return self._server.api.stats

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> RunningServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_server_in_thread(
    account: DemoAccount | DemoApi | None = None,
    faults: DemoFaults | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    verbose: bool = False,
) -> RunningServer:
    """A real HTTP server on ``host:port`` (0 picks a free port), serving until ``stop()``."""
    api = account if isinstance(account, DemoApi) else DemoApi(account, faults)
    if isinstance(account, DemoApi) and faults is not None:
        api.faults = faults
    server = _DemoHTTPServer((host, port), api, verbose)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.1}, name="ld-demo-server", daemon=True
    )
    thread.start()
    return RunningServer(server, thread)


def serve(
    host: str = "127.0.0.1",
    port: int = 8765,
    account: DemoAccount | None = None,
    faults: DemoFaults | None = None,
    *,
    verbose: bool = False,
) -> None:
    """Serve the demo account until interrupted (``python -m ldclient demo-server``)."""
    api = DemoApi(account, faults)
    server = _DemoHTTPServer((host, port), api, verbose)
    bound_host, bound_port = server.server_address[:2]
    info = api.account.summary()
    bound_host = bound_host.decode() if isinstance(bound_host, bytes) else bound_host
    print(
        f"Demo LaunchDarkly API on http://{bound_host}:{bound_port} "
        f"({info['projects']} projects, {info['flags']} flags, {info['events']} events); "
        "any non-empty Authorization header is accepted. Ctrl+C stops it.",
        flush=True,
    )
    try:
        server.serve_forever(poll_interval=0.25)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


# --- command line --------------------------------------------------------------------------------------


def _non_negative(kind: Callable[[str], Any]) -> Callable[[str], Any]:
    def parse(text: str) -> Any:
        value = kind(text)
        if value < 0:
            raise argparse.ArgumentTypeError("must not be negative")
        return value

    return parse


def _probability(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError("must be within [0, 1]")
    return value


def add_cli_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Adds --host --port --seed --events and the fault options (--latency-ms --rate-limit-every
    --retry-after --budget-per-s --error-rate --fault-seed) to ``parser``."""
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=_non_negative(int), default=8765, help="port (default 8765, 0 = any)")
    parser.add_argument("--seed", type=int, default=7, help="demo account seed (default 7)")
    parser.add_argument(
        "--events",
        type=_non_negative(int),
        default=50_000,
        help="about how many flag events to generate (default 50000)",
    )
    parser.add_argument(
        "--latency-ms",
        type=_non_negative(float),
        default=0.0,
        help="added latency per request, in milliseconds",
    )
    parser.add_argument(
        "--rate-limit-every",
        type=_non_negative(int),
        default=0,
        metavar="N",
        help="answer every Nth request with 429 (0 = never)",
    )
    parser.add_argument(
        "--retry-after",
        type=_non_negative(float),
        default=1.0,
        metavar="S",
        help="Retry-After seconds on injected 429s (default 1)",
    )
    parser.add_argument(
        "--budget-per-s",
        type=_non_negative(int),
        default=0,
        metavar="N",
        help="a global budget of N requests per second, as LaunchDarkly's: 429 with Retry-After past it (0 = none)",
    )
    parser.add_argument(
        "--error-rate",
        type=_probability,
        default=0.0,
        metavar="F",
        help="fraction of requests answered with a random 5xx (0..1)",
    )
    parser.add_argument("--fault-seed", type=int, default=0, help="seed for the injected errors")
    parser.add_argument("--verbose", action="store_true", help="log every request")
    return parser


def faults_from_args(ns: argparse.Namespace) -> DemoFaults:
    return DemoFaults(
        latency_s=getattr(ns, "latency_ms", 0.0) / 1000.0,
        rate_limit_every=getattr(ns, "rate_limit_every", 0),
        retry_after_s=getattr(ns, "retry_after", 1.0),
        error_rate=getattr(ns, "error_rate", 0.0),
        seed=getattr(ns, "fault_seed", 0),
        budget_per_s=getattr(ns, "budget_per_s", 0),
    )


def serve_from_args(ns: argparse.Namespace) -> None:
    """What ``python -m ldclient demo-server`` runs once its arguments are parsed."""
    account = generate_account(seed=ns.seed, events_target=getattr(ns, "events", 50_000))
    serve(ns.host, ns.port, account, faults_from_args(ns), verbose=getattr(ns, "verbose", False))


def main(argv: list[str] | None = None) -> int:
    parser = add_cli_arguments(
        argparse.ArgumentParser(description="Serve the Flag Health demo account as LaunchDarkly's REST API.")
    )
    serve_from_args(parser.parse_args(argv))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
