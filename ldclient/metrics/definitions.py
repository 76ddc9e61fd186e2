"""The numbers docs/METRICS.md defines: windows, thresholds, weights and the names of every result."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from ..vocabulary import DAY_MS, IMPACT_SIZES
from ..working_hours import WorkingHours

HEADLINE_KEYS = (
    "events_total",
    "flags_changed",
    "events_by_impact",
    "large_impact_share",
    "global_events",
    "experiment_events",
    "off_hours_events",
    "events_by_day",
    "toggles",
    "rollbacks",
    "rollback_rate",
    "flapping_flags",
    "top_flags",
    "top_members",
)
IMPACT_KEYS = (*IMPACT_SIZES, "unknown")
# The frame columns the metrics read. A process that only computes metrics loads just these: at a
# million events that leaves out ~120 MB of ids, descriptions, names and experiment keys. Without ``id``
# the frame must be as a store loads it: one row per event, in (time, id) order (docs/METRICS.md).
METRIC_COLUMNS = (
    "environment_key",
    "flag_key",
    "event_time",
    "member_email",
    "actions",
    "impact_size",
    "variations",
    "experiments_count",
)

HOUR_MS = 3_600_000
WEEK_MS = 7 * DAY_MS

DEFAULT_WORKING_HOURS = WorkingHours()  # [09:00, 18:00) Monday to Friday, UTC: when ``work`` is not given
MINUTE_MS = 60_000
TOGGLE_ACTION = "updateOn"
ROLLBACK_WINDOW_MS = DAY_MS  # B at most 24 h after A (inclusive)
ROLLBACK_MAX_TVD = 0.10  # inclusive
TVD_EPSILON = 1e-9  # so a TVD of exactly 0.10 is not lost to float rounding (0.1 + 1e-17 ...)
FLAP_TOGGLES = 3
FLAP_WINDOW_MS = WEEK_MS  # third toggle minus first toggle, inclusive
TOP_N = 10

# Health score: 100 minus five capped penalties whose caps add up to 100 (see docs/METRICS.md).
HEALTH_WEIGHTS: dict[str, float] = {
    "churn": 20.0,
    "rollbacks": 30.0,
    "flapping": 15.0,
    "unguarded": 25.0,
    "off_hours": 10.0,
}
CHURN_FULL_PER_WEEK = 10.0  # changes per week that cost the whole churn weight (linear below)
ROLLBACK_POINTS = 15.0  # per rollback
UNGUARDED_POINTS = 10.0  # per large unguarded change
OFF_HOURS_POINTS = 2.5  # per off-hours change
# A stale flag is debt whatever its changes: it loses this on top of the five (score clipped at 0), so a
# never-changed stale flag scores 50, not 100 (docs/METRICS.md, "Staleness").
STALE_POINTS = 50.0
PENALTY_COLUMNS = (
    "churn_penalty",
    "rollback_penalty",
    "flapping_penalty",
    "unguarded_penalty",
    "off_hours_penalty",
)
FLAG_TABLE_COLUMNS = (
    "flag_key",
    "health_score",
    "events",
    "toggles",
    "rollbacks",
    "large_impact",
    "large_unguarded",
    "off_hours",
    "flapping",
    "members",
    "experiments",
    "last_change_ms",
    "last_change",
    "days_since_change",
    "churn_per_week",
    *PENALTY_COLUMNS,
    "stale",
    "stale_penalty",
)
SCORE_COLUMNS = (*PENALTY_COLUMNS, "stale_penalty")  # everything the health score loses, for breakdowns

_UNKNOWN = IMPACT_KEYS.index("unknown")
_LARGE = IMPACT_SIZES.index("large")
_IMPACTFUL = np.array([size in ("small", "medium", "large") for size in IMPACT_KEYS])

IntArray = npt.NDArray[np.signedinteger[Any]]  # int32 codes and int64 times alike
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
