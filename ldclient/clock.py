"""The one clock the dashboard, the CLI and the demo account read.

``LD_CLOCK_OFFSET_MS`` shifts it by a fixed amount. The test suite sets it once so that every process it
starts (the dashboard, the CLI, the demo server) sees the same day even when the run crosses midnight;
the clock still advances, so staleness and refresh behave as in production.
"""

from __future__ import annotations

import os
import time
from datetime import date, datetime
from zoneinfo import ZoneInfo

OFFSET_VAR = "LD_CLOCK_OFFSET_MS"


def offset_ms() -> int:
    raw = os.environ.get(OFFSET_VAR, "").strip()
    try:
        return int(raw) if raw else 0
    except ValueError:
        return 0


def now_ms() -> int:
    """Unix milliseconds now (shifted by ``LD_CLOCK_OFFSET_MS`` when set)."""
    return int(time.time() * 1000) + offset_ms()


def today(tz: str = "UTC") -> date:
    """The current day in ``tz`` (an IANA name), on this clock."""
    return datetime.fromtimestamp(now_ms() / 1000, ZoneInfo(tz)).date()
