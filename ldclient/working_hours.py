"""The team's working hours: what "off-hours" means, judged in the team's timezone, never the viewer's.

One default for the account (``LD_WORK_TIMEZONE``, ``LD_WORK_HOURS``, ``LD_WORK_DAYS``), overridable per
project (``LD_PROJECT_WORK_HOURS``). Plain functions; ``ldclient.settings`` reads the variables.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from .errors import ConfigError
from .timeutil import zone_or_error

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # index = weekday, Monday = 0
# the settings that define working hours (environment variables or Streamlit secrets)
WORK_SETTINGS = ("LD_WORK_TIMEZONE", "LD_WORK_HOURS", "LD_WORK_DAYS", "LD_PROJECT_WORK_HOURS")
DEFAULT_HOURS = "09-18"
DEFAULT_DAYS = "mon-fri"
_TIME = r"(\d{1,2})(?::(\d{2}))?"
_FULL_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_DAY_WORDS = {**{d: d for d in DAY_NAMES}, **dict(zip(_FULL_NAMES, DAY_NAMES, strict=True))}


@dataclass(frozen=True)
class WorkingHours:
    """Working time is ``[start, end)`` local time on ``days``, in ``timezone``; everything else is off-hours.

    ``start_minute``/``end_minute`` are minutes after local midnight (``end_minute`` up to 1440, so
    ``00-24`` is the whole day); ``days`` are weekdays, Monday = 0.
    """

    timezone: str = "UTC"
    start_minute: int = 9 * 60
    end_minute: int = 18 * 60
    days: frozenset[int] = frozenset(range(5))

    def __post_init__(self) -> None:
        if not 0 <= self.start_minute < self.end_minute <= 24 * 60:
            raise ConfigError(
                f"working hours must start before they end, within one day "
                f"(got {self.start_minute} to {self.end_minute} minutes after midnight)"
            )
        if not self.days or not self.days <= frozenset(range(7)):
            raise ConfigError("working days must name at least one weekday")
        try:
            zone_or_error(self.timezone)
        except ValueError as exc:
            raise ConfigError(
                f"unknown working timezone {self.timezone!r} (use an IANA name such as Europe/Berlin)"
            ) from exc

    @classmethod
    def parse(
        cls, timezone: str = "UTC", hours: str = DEFAULT_HOURS, days: str = DEFAULT_DAYS
    ) -> WorkingHours:
        """From the three settings' text; errors name the variable (``LD_WORK_TIMEZONE``, ...) at fault."""
        try:
            zone_or_error(timezone)
        except ValueError as exc:
            raise ConfigError(
                f"LD_WORK_TIMEZONE: unknown timezone {timezone!r} (use an IANA name such as Europe/Berlin)"
            ) from exc
        start, end = parse_hours(hours, what="LD_WORK_HOURS")
        return cls(
            timezone=timezone, start_minute=start, end_minute=end, days=parse_days(days, what="LD_WORK_DAYS")
        )

    @property
    def hours_text(self) -> str:
        """``09:00–18:00``."""
        return f"{_clock(self.start_minute)}–{_clock(self.end_minute)}"

    @property
    def days_text(self) -> str:
        """``Mon–Fri``, ``Sun–Thu`` or ``Mon, Wed, Fri``: runs of consecutive days (wrapping past Sunday)."""
        days = sorted(self.days)
        if len(days) == 7:
            return "Mon–Sun"
        # start a run after a day that is not a working day, so Sun-Thu reads as one run
        first = next(d for d in days if (d - 1) % 7 not in self.days)
        runs: list[list[int]] = []
        for i in range(7):
            d = (first + i) % 7
            if d not in self.days:
                continue
            if runs and (runs[-1][-1] + 1) % 7 == d:
                runs[-1].append(d)
            else:
                runs.append([d])
        names = [
            DAY_NAMES[r[0]].title()
            + (
                f"–{DAY_NAMES[r[-1]].title()}"
                if len(r) > 2
                else f", {DAY_NAMES[r[-1]].title()}"
                if len(r) == 2
                else ""
            )
            for r in runs
        ]
        return ", ".join(names)

    def describe(self) -> str:
        """``Mon–Fri 09:00–18:00 Europe/Berlin``: for captions, help texts and reports."""
        return f"{self.days_text} {self.hours_text} {self.timezone}"

    def as_dict(self) -> dict[str, object]:
        """JSON-ready, for the CLI's report."""
        return {
            "timezone": self.timezone,
            "hours": f"{_clock(self.start_minute)}-{_clock(self.end_minute)}",
            "days": [DAY_NAMES[d] for d in sorted(self.days)],
        }


def _clock(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def parse_hours(text: str, *, what: str = "LD_WORK_HOURS") -> tuple[int, int]:
    """``09-18``, ``9-18``, ``08:30-17:30`` or ``00-24`` to (start, end) minutes after midnight."""
    match = re.fullmatch(rf"\s*{_TIME}\s*[-–]\s*{_TIME}\s*", text or "")
    if not match:
        raise ConfigError(f"{what} must look like 09-18 or 08:30-17:30 (start-end, local time), not {text!r}")
    h1, m1, h2, m2 = (int(g) if g else 0 for g in match.groups())
    if h1 > 23 or m1 > 59 or h2 > 24 or m2 > 59 or (h2 == 24 and m2):
        raise ConfigError(f"{what}: {text!r} is not a time of day (hours 00-24, minutes 00-59)")
    start, end = h1 * 60 + m1, h2 * 60 + m2
    if start >= end:
        raise ConfigError(f"{what}: working hours {text!r} must start before they end within one day")
    return start, end


def parse_days(text: str, *, what: str = "LD_WORK_DAYS") -> frozenset[int]:
    """``mon-fri``, ``sun-thu`` (a range may wrap past Sunday), ``mon,tue,thu`` or a mix, case-insensitive."""
    days: set[int] = set()
    parts = [p.strip().lower() for p in (text or "").split(",")]
    if not any(parts):
        raise ConfigError(f"{what} must name working days such as mon-fri or sun-thu, not {text!r}")
    for part in parts:
        ends = [_DAY_WORDS.get(e.strip(), "") for e in re.split(r"[-–]", part)]
        if len(ends) > 2 or not all(ends):
            raise ConfigError(
                f"{what}: {part!r} is not a day or a range of days (use mon, tue, wed, thu, fri, "
                f"sat, sun; for example mon-fri)"
            )
        first, last = DAY_NAMES.index(ends[0]), DAY_NAMES.index(ends[-1])
        days.update((first + i) % 7 for i in range((last - first) % 7 + 1))
    return frozenset(days)


def parse_project_overrides(
    value: str | Mapping[str, object] | None, default: WorkingHours, *, what: str = "LD_PROJECT_WORK_HOURS"
) -> dict[str, WorkingHours]:
    """Per-project working hours: ``payments=Europe/Berlin; mobile-app=America/New_York 08-17 mon-fri``.

    Entries are separated by ``;``; each is ``project=TIMEZONE [HOURS] [DAYS]`` and what it leaves out
    comes from the account's default. From Streamlit secrets it may also be a table of the same values,
    ``{"payments": "Europe/Berlin 08-17"}``.
    """
    if value is None:
        return {}
    if isinstance(value, Mapping):
        entries = [(str(k).strip(), str(v).strip()) for k, v in value.items()]
    else:
        entries = []
        for item in str(value).split(";"):
            if not item.strip():
                continue
            project, sep, spec = item.partition("=")
            if not sep or not project.strip():
                raise ConfigError(
                    f"{what}: {item.strip()!r} must be project=Timezone [hours] [days], for example "
                    f"payments=Europe/Berlin 08-17 mon-fri"
                )
            entries.append((project.strip(), spec.strip()))
    out: dict[str, WorkingHours] = {}
    for project, spec in entries:
        if project in out:
            raise ConfigError(f"{what}: project {project!r} is listed twice")
        words = spec.split()
        if not words:
            raise ConfigError(
                f"{what}: project {project!r} needs a timezone, for example {project}=Europe/Berlin"
            )
        label = f"{what} ({project})"
        try:
            zone_or_error(words[0])
        except ValueError as exc:
            raise ConfigError(
                f"{label}: unknown timezone {words[0]!r} (use an IANA name such as Europe/Berlin)"
            ) from exc
        if len(words) > 3:
            raise ConfigError(f"{label}: {spec!r} has too many parts; use Timezone [hours] [days]")
        start, end, days = default.start_minute, default.end_minute, default.days
        for word in words[1:]:
            if word[:1].isdigit():
                start, end = parse_hours(word, what=label)
            else:
                days = parse_days(word, what=label)
        out[project] = WorkingHours(words[0], start, end, days)
    return out
