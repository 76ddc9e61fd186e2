"""Daily snapshots of what events cannot tell later: each day's flag-health figures and every flag's state.

A snapshot belongs to a (source, project, environment) key and a local day (``YYYY-MM-DD``); one per key and
day, a later one the same day replaces it. The figures are a small JSON object; the flags' states (status,
LaunchDarkly lifecycle stage, our timeline stage, stale verdict) are what makes "which flags became stale this
week" answerable later, and most of them do not change from one day to the next. So days are grouped in
blocks of ``BLOCK_DAYS`` calendar days: the first stored day of a block holds every flag ("full"), each later
day only what differs from it ("delta"). A block reads on its own (a day needs its block's first day at most)
and a rewrite touches one block. Rows are zlib-compressed JSON: the same bytes in SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

BLOCK_DAYS = 28
FLAG_STATE_FIELDS = ("status", "lifecycle_stage", "stage", "stale")

# one flag's state: (status, LaunchDarkly lifecycle stage, our timeline stage, stale)
FlagState = tuple[str | None, str | None, str | None, bool]


@dataclass(frozen=True)
class Snapshot:
    """One key's figures and flag states on one day. ``flags`` is None when read without the states."""

    day: str
    taken_ms: int
    figures: dict[str, Any]
    flags: dict[str, FlagState] | None = field(default=None, compare=True)


@dataclass(frozen=True)
class SnapshotRow:
    """A snapshot as the stores hold it: the flags as a full set or as a delta to the block's first day."""

    day: str
    taken_ms: int
    figures: str  # JSON text
    flags: bytes  # zlib-compressed JSON
    full: bool

    @classmethod
    def from_row(cls, row: Sequence[Any]) -> SnapshotRow:
        """A stored row (day, taken_ms, figures, flags, full) as either backend's driver returns it."""
        return cls(row[0], int(row[1]), row[2], bytes(row[3]), bool(row[4]))


def block_of(day: str) -> int:
    return date.fromisoformat(day).toordinal() // BLOCK_DAYS


def block_bounds(day: str) -> tuple[str, str]:
    """The first and last calendar day of ``day``'s block (inclusive)."""
    start = block_of(day) * BLOCK_DAYS
    return date.fromordinal(start).isoformat(), date.fromordinal(start + BLOCK_DAYS - 1).isoformat()


def _pack(value: Any) -> bytes:
    return zlib.compress(json.dumps(value, separators=(",", ":"), sort_keys=True).encode(), 6)


def _unpack(data: bytes | memoryview) -> Any:
    return json.loads(zlib.decompress(bytes(data)))


def _state(value: Sequence[Any]) -> FlagState:
    return (value[0], value[1], value[2], bool(value[3]))


def encode_block(snapshots: Sequence[Snapshot]) -> list[SnapshotRow]:
    """One block's snapshots (with flags, sorted by day) as rows: the first full, the others deltas to it."""
    rows: list[SnapshotRow] = []
    anchor: dict[str, FlagState] = {}
    for n, snap in enumerate(snapshots):
        flags = snap.flags or {}
        figures = json.dumps(snap.figures, separators=(",", ":"), sort_keys=True)
        if n == 0:
            anchor = flags
            rows.append(SnapshotRow(snap.day, snap.taken_ms, figures, _pack({"k": flags}), True))
        else:
            rows.append(SnapshotRow(snap.day, snap.taken_ms, figures, _pack(delta(anchor, flags)), False))
    return rows


def delta(anchor: Mapping[str, FlagState], flags: Mapping[str, FlagState]) -> dict[str, Any]:
    """What turns ``anchor`` into ``flags``: states set (new or changed) and keys gone."""
    return {
        "set": {k: list(v) for k, v in flags.items() if anchor.get(k) != v},
        "del": sorted(k for k in anchor if k not in flags),
    }


def decode_block(rows: Sequence[SnapshotRow], *, with_flags: bool = True) -> list[Snapshot]:
    """Rows of one block (sorted by day, the first full) back into snapshots."""
    out: list[Snapshot] = []
    anchor: dict[str, FlagState] = {}
    for row in rows:
        figures = json.loads(row.figures) if isinstance(row.figures, str) else dict(row.figures)
        if not with_flags:
            out.append(Snapshot(row.day, int(row.taken_ms), figures))
            continue
        body = _unpack(row.flags)
        if row.full:
            anchor = {k: _state(v) for k, v in body["k"].items()}
            flags = dict(anchor)
        else:
            flags = {k: v for k, v in anchor.items() if k not in set(body["del"])}
            flags.update({k: _state(v) for k, v in body["set"].items()})
        out.append(Snapshot(row.day, int(row.taken_ms), figures, flags))
    return out


def merge_block(stored: Sequence[SnapshotRow], new: Sequence[Snapshot]) -> list[SnapshotRow]:
    """The rows to write so that ``stored`` (one block's rows) also holds ``new`` (same block, with flags).

    The common case, days after everything stored, writes only their deltas to the block's first day; a day
    before or at the first one (a backfill, today's first snapshot rewritten) re-encodes the whole block."""
    new = sorted(new, key=lambda s: s.day)
    if stored and new[0].day > stored[0].day:
        anchor = decode_block(stored[:1])[0].flags or {}
        return [
            SnapshotRow(
                s.day,
                s.taken_ms,
                json.dumps(s.figures, separators=(",", ":"), sort_keys=True),
                _pack(delta(anchor, s.flags or {})),
                False,
            )
            for s in new
        ]
    days = {s.day: s for s in decode_block(stored)}
    days.update({s.day: s for s in new})
    return encode_block([days[d] for d in sorted(days)])


def row_bytes(row: SnapshotRow) -> int:
    """What a row costs (day, figures, flags), for the size the benchmark and docs report."""
    return len(row.day) + 8 + len(row.figures.encode()) + len(row.flags) + 1
