"""LaunchDarkly's REST API as this project reads it: a GET-only client and typed views of what it sends.

``client`` holds ``LDClient`` (windows, pagination, retries, the shared rate gate); ``models`` the typed
records of projects and environments.
"""

from .client import (
    FLAG_EVENTS_PATH,
    FetchStats,
    LDClient,
    RateGate,
    RetryPolicy,
    Window,
    split_windows,
)
from .models import Environment, Project

__all__ = [
    "FLAG_EVENTS_PATH",
    "Environment",
    "FetchStats",
    "LDClient",
    "Project",
    "RateGate",
    "RetryPolicy",
    "Window",
    "split_windows",
]
