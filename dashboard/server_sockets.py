"""TCP_NODELAY on the Streamlit server's listening socket, so each response reaches the browser at once.

Streamlit 1.67's server binds its socket as ``socket.socket(family)``, whose protocol number is 0, and
asyncio sets TCP_NODELAY only on sockets whose protocol is ``IPPROTO_TCP``. Every connection it accepts
then keeps Nagle's algorithm: a response written as headers and then body waits for the browser's delayed
ACK (40 ms on Linux) before its body is sent. A page's first load fetches about 60 script files over six
connections, so that added about 0.4 s to the first paint and as much again to the first chart (figure 11
of the benchmarks). On Linux an accepted socket inherits TCP_NODELAY from the socket that listens, so
setting it there once mends every later connection, the WebSocket's included.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

_FDS = Path("/proc/self/fd")  # Linux: where there is no such folder, nothing is changed
_done = False


def _is_tcp_listener(sock: socket.socket) -> bool:
    return (
        sock.type == socket.SOCK_STREAM
        and sock.family in (socket.AF_INET, socket.AF_INET6)
        and bool(sock.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN))
    )


def disable_nagle_on_listeners(fds: list[int] | None = None) -> int:
    """Set TCP_NODELAY on this process's listening TCP sockets (or on those among ``fds``); returns how many
    listening sockets were found (each has it now)."""
    if fds is None:
        try:
            fds = [int(name) for name in os.listdir(_FDS)]
        except OSError:
            return 0
    changed = 0
    for fd in fds:
        try:
            sock = socket.socket(fileno=os.dup(fd))  # a duplicate: closing it leaves the server's open
        except OSError:  # closed since the listing, or not a socket
            continue
        try:
            if _is_tcp_listener(sock):
                if not sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY):
                    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                changed += 1
        except OSError:
            pass
        finally:
            sock.close()
    return changed


def mend_server_once() -> None:
    """``disable_nagle_on_listeners`` on the first call in the process: serve.py's start-up, or with
    ``streamlit run app.py`` the first session's run."""
    global _done
    if not _done:
        _done = True
        disable_nagle_on_listeners()


__all__ = ["disable_nagle_on_listeners", "mend_server_once"]
