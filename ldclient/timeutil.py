"""Times as people type them (ISO dates, datetimes, Unix ms) and as the API wants them (Unix ms)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from .vocabulary import DAY_MS as DAY_MS  # re-exported: times and days go together

MIN_MS = 946_684_800_000  # 2000-01-01: LaunchDarkly has no events before that
MAX_RANGE_DAYS = 5 * 366


def parse_time(text: str, *, tz: str = "UTC", end_of_day: bool = False) -> int:
    """ISO-8601 date or datetime (in ``tz`` when it has no offset) or Unix ms, to Unix ms.

    A bare date means the start of that day, or the start of the next day with ``end_of_day``
    (so ``--to 2026-11-26`` includes all of the 26th).
    """
    value = text.strip()
    if re.fullmatch(r"\d{11,14}", value):
        ms = int(value)
    else:
        zone = zone_or_error(tz)
        try:
            if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
                day = date.fromisoformat(value) + timedelta(days=1 if end_of_day else 0)
                dt = datetime(day.year, day.month, day.day, tzinfo=zone)
            else:
                dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
                if dt.tzinfo is None:
                    dt = dt.replace(tzinfo=zone)
        except ValueError as exc:
            raise ValueError(
                f"not a date: {value[:40]!r} (use YYYY-MM-DD, an ISO datetime or Unix ms)"
            ) from exc
        ms = int(dt.timestamp() * 1000)
    if ms < MIN_MS:
        raise ValueError(f"{value[:40]!r} is before the year 2000")
    return ms


def zone_or_error(name: str) -> ZoneInfo:
    if name not in _zones():
        raise ValueError(f"unknown timezone {name[:60]!r} (use an IANA name such as Europe/Berlin)")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown timezone {name[:60]!r}") from exc


_ZONES: frozenset[str] | None = None


def _zones() -> frozenset[str]:
    global _ZONES
    if _ZONES is None:
        _ZONES = frozenset(available_timezones()) | {"UTC"}
    return _ZONES


def timezone_names() -> list[str]:
    return sorted(_zones())


def format_ms(ms: int | None, tz: str = "UTC", fmt: str = "%Y-%m-%d %H:%M") -> str:
    if ms is None:
        return "never"
    return datetime.fromtimestamp(ms / 1000, tz=zone_or_error(tz) if tz != "UTC" else UTC).strftime(fmt)


def local_date(ms: int, tz: str) -> date:
    return datetime.fromtimestamp(ms / 1000, tz=zone_or_error(tz)).date()


def day_start_ms(day: date, tz: str) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=zone_or_error(tz)).timestamp() * 1000)
