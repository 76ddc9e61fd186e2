"""The event store: every flag event fetched once, kept across restarts and shared by replicas.

``base`` is the contract (``EventStore``) and what a store means; ``sqlite`` is the embedded default,
``postgres`` the shared backend of a team deployment. ``open_store`` picks one from ``LD_STORE_URL``.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import StoreError
from .base import (
    DigestItemState,
    DigestRun,
    EventStore,
    KeySummary,
    RefreshRecord,
    StoreKey,
    merge_ranges,
    missing_ranges,
    wanted_columns,
)
from .sqlite import SCHEMA_VERSION, SQLiteStore, compact_chunks


def open_store(cache_dir: Path, store_url: str | None = None) -> EventStore:
    """``LD_STORE_URL`` picks a shared backend; unset means the embedded SQLite file in the cache dir."""
    if store_url:
        if store_url.startswith(("postgresql://", "postgres://")):
            from .postgres import PostgresStore  # psycopg is an extra: imported only when asked for

            return PostgresStore(store_url)
        if store_url.startswith("sqlite:///"):
            return SQLiteStore(Path(store_url.removeprefix("sqlite:///")))
        raise StoreError("LD_STORE_URL must start with postgresql:// or sqlite:///")
    return SQLiteStore(Path(cache_dir) / "events.sqlite")


__all__ = [
    "SCHEMA_VERSION",
    "DigestItemState",
    "DigestRun",
    "EventStore",
    "KeySummary",
    "RefreshRecord",
    "SQLiteStore",
    "StoreKey",
    "compact_chunks",
    "merge_ranges",
    "missing_ranges",
    "open_store",
    "wanted_columns",
]
