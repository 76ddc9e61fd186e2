"""Digests and alerts: what changed that an owner should act on, delivered once to the right place.

``items`` collects (stale flags, no maintainer, rollbacks, flapping, large-impact changes without an
experiment, unrehearsed and off-hours production changes, flags ready for code removal or to archive, flags
whose maintainer left), ``config`` says where items go, ``delivery``
makes each item reach each destination exactly once (at least once across crashes, with an idempotency
key), and ``slack``, ``webhook``, ``email`` and ``markdown`` render them. No Streamlit here.
"""

from __future__ import annotations

from .config import DigestConfig, load_config
from .delivery import DeliveryError, Result, deliver
from .items import ITEM_FIELDS, ITEM_TYPES, DigestItem, Links, ProjectData, collect_items, register_collector

__all__ = [
    "ITEM_FIELDS",
    "ITEM_TYPES",
    "DeliveryError",
    "DigestConfig",
    "DigestItem",
    "Links",
    "ProjectData",
    "Result",
    "collect_items",
    "deliver",
    "load_config",
    "register_collector",
]
