"""The server's listening socket gets TCP_NODELAY, and the connections it accepts inherit it."""

from __future__ import annotations

import socket

import pytest

from dashboard import server_sockets


def _listener() -> socket.socket:
    sock = socket.socket(family=socket.AF_INET)  # as Streamlit binds it: protocol 0, so asyncio skips it
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    return sock


def _accepted_nodelay(listener: socket.socket) -> int:
    with socket.create_connection(listener.getsockname()) as client:
        conn, _ = listener.accept()
        with conn:
            client.sendall(b"x")
            return conn.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)


def test_a_listener_bound_like_streamlits_has_nagle_on() -> None:
    with _listener() as listener:
        assert listener.proto == 0
        assert _accepted_nodelay(listener) == 0  # the defect the module mends


def test_nodelay_on_the_listener_reaches_accepted_connections() -> None:
    with _listener() as listener, socket.socket() as plain:
        assert server_sockets.disable_nagle_on_listeners([listener.fileno(), plain.fileno(), 10_000]) == 1
        assert listener.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
        assert _accepted_nodelay(listener) != 0
        assert plain.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 0  # not listening: untouched
        assert listener.fileno() >= 0  # the duplicate was closed, not the server's socket
        assert _accepted_nodelay(listener) != 0


@pytest.mark.skipif(not server_sockets._FDS.exists(), reason="no /proc/self/fd on this system")
def test_the_process_scan_finds_its_own_listeners() -> None:
    with _listener() as listener:
        assert server_sockets.disable_nagle_on_listeners() >= 1
        assert _accepted_nodelay(listener) != 0
