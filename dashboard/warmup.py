"""What the server does once at start (``serve.py``'s lifespan), so the first visitor does not wait for it.

A session's first run used to pay for it: importing the pages' modules (pandas, Altair, about 0.6 s) and, on
the demo account, generating the account the embedded LaunchDarkly serves (about 1.6 s). Both are the same
for every session, so the server does them before it answers its first request (``make run`` prints its
URL a moment before that). Nothing is fetched and the
store is not touched: the first visitor's view still comes from LaunchDarkly (or the demo) through the
cached fetch layer, as before.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from streamlit.logger import get_logger

from . import server_sockets

_LOG = get_logger(__name__)  # Streamlit's handler and level (logger.level, "info" by default)


def warm_up() -> dict[str, float]:
    """Import the pages' modules and generate the demo account when the settings say demo; seconds each."""
    spent: dict[str, float] = {}
    server_sockets.mend_server_once()  # bound before the lifespan runs: every connection is mended
    started = time.perf_counter()
    from ldclient.settings import Settings

    from . import charts, history_charts, loaders, startup, view_state, widgets  # noqa: F401

    spent["imports"] = time.perf_counter() - started
    if Settings.load(secrets=startup.settings_secrets()).demo:
        from ldclient.demo import default_now_ms
        from ldclient.source import DEMO_SEED, demo_account

        started = time.perf_counter()
        account = demo_account(DEMO_SEED, default_now_ms())
        account.cleanup()  # owners, targeting, code references: derived once, cached on the account
        account.applications()
        spent["demo account"] = time.perf_counter() - started
    return spent


@asynccontextmanager
async def lifespan(app: Any) -> AsyncIterator[None]:
    """``warm_up`` in a thread at start, off the event loop: uvicorn serves (its health check included) once it
    is done, about 2 s after launch on the demo; a browser that connects sooner waits for it. On shutdown,
    the snapshots being recorded get up to 5 s to finish, so a day's snapshot is seldom lost to a restart."""
    try:
        spent = await asyncio.to_thread(warm_up)
        _LOG.info("warmed up: %s", ", ".join(f"{k} {v:.2f} s" for k, v in spent.items()))
    except Exception:  # the server still starts: each session then does the work itself, as before
        _LOG.exception("warming up failed")
    yield
    from . import loaders

    loaders.wait_for_snapshots(timeout=5)


__all__ = ["lifespan", "warm_up"]
