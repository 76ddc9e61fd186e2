"""LaunchDarkly's words and the units every module counts in, defined once.

Impact sizes and their bounds are LaunchDarkly's (``FlagEventImpactRep.size``); flag statuses are the
names of ``FlagStatusRep.name`` in lifecycle order.
"""

from __future__ import annotations

MINUTE_MS = 60_000
HOUR_MS = 3_600_000
DAY_MS = 86_400_000
WEEK_MS = 7 * DAY_MS

IMPACT_SIZES = ("none", "small", "medium", "large")
IMPACT_BOUNDS = (20.0, 80.0)  # percent of evaluations: small below the first, large above the second
STATUS_NAMES = ("new", "active", "launched", "inactive")


def impact_size(percentage: float) -> str:
    """LaunchDarkly's buckets: none (0%), small (<20%), medium (20-80%), large (>80%)."""
    if percentage <= 0:
        return "none"
    if percentage < IMPACT_BOUNDS[0]:
        return "small"
    if percentage <= IMPACT_BOUNDS[1]:
        return "medium"
    return "large"
