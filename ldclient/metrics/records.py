"""The shapes of what the public metrics return, so pages and the CLI read typed records."""

from __future__ import annotations

from typing import TypedDict


class EventCounts(TypedDict):
    """``event_counts``: the three plain counts of the headline, the same definitions and values."""

    events_by_impact: dict[str, int]
    events_by_day: dict[str, int]
    top_flags: list[dict[str, str | int]]


class Headline(TypedDict):
    """``compute_metrics``: exactly ``HEADLINE_KEYS`` (a test holds the two together), JSON-serialisable."""

    events_total: int
    flags_changed: int
    events_by_impact: dict[str, int]  # IMPACT_KEYS -> events
    large_impact_share: float  # of events with a known impact size
    global_events: int
    experiment_events: int | None  # None when no event says whether it ran an experiment
    off_hours_events: int  # judged in the team's working hours, never the viewer's timezone
    events_by_day: dict[str, int]  # local day (YYYY-MM-DD, viewer's timezone) -> events
    toggles: int
    rollbacks: int
    rollback_rate: float  # rollbacks per impactful change
    flapping_flags: list[str]
    top_flags: list[dict[str, str | int]]  # {"flagKey": …, "events": …}, most changed first
    top_members: list[dict[str, str | int]]  # {"email": …, "events": …}, most active first


class HeadlineWithTrend(Headline):
    """``compute_with_trend``: the window's headline plus the previous window of the same length."""

    previous: Headline
