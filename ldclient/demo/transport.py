"""The demo API in-process: an httpx transport (sync and async) that hands requests to ``DemoApi``."""

from __future__ import annotations

import asyncio
import time

import httpx

from .account import DemoAccount
from .api import DemoApi, DemoFaults, RequestStats

# --- transports and servers ----------------------------------------------------------------------------


class DemoTransport(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """In-process transport for ``httpx.Client`` and ``httpx.AsyncClient`` alike; latency sleeps the
    thread for sync clients and yields to the event loop for async ones."""

    def __init__(
        self, account: DemoAccount | DemoApi | None = None, faults: DemoFaults | None = None
    ) -> None:
        if isinstance(account, DemoApi):
            self.api = account
            if faults is not None:
                self.api.faults = faults
        else:
            self.api = DemoApi(account, faults)

    @property
    def stats(self) -> RequestStats:
        return self.api.stats

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.read()
        if self.api.latency_s > 0:
            time.sleep(self.api.latency_s)
        return self.api.handle(request)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        if self.api.latency_s > 0:
            await asyncio.sleep(self.api.latency_s)
        return self.api.handle(request)
