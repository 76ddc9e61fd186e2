"""``python -m ldclient cleanup``: one record per non-archived flag with its LaunchDarkly lifecycle stage,
stale verdict, code references, value to keep, owner and last change, from a data source (demo or live).

The same :func:`ldclient.lifecycle.lifecycle_stages` the Cleanup page shows; the records are plain JSON
values so ``--format json`` is exact, ``csv`` and ``table`` are for people.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from typing import Any

import pandas as pd

from .history import snapshot_inputs
from .snapshot import stages_of
from .source import DataSource
from .sync import now_ms
from .timeutil import format_ms
from .vocabulary import DAY_MS

FIELDS = (
    "flag_key",
    "lifecycle_stage",
    "stale",
    "environment",
    "code_reference_repositories",
    "code_reference_hunks",
    "value_to_keep",
    "value_to_keep_reason",
    "maintainer",
    "maintainer_team",
    "owner_status",
    "last_change",
    "history_covers_life",
    "age_days",
    "stage_reason",
)


def _iso(ms: Any) -> str | None:
    if ms is None or pd.isna(ms):
        return None
    return pd.Timestamp(int(ms), unit="ms", tz="UTC").strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def stale_environment(source: DataSource, project: str, env: str | None) -> str:
    """``env``, else the project's first critical environment, else its first environment."""
    envs = source.environments(project)
    keys = [e.key for e in envs]
    if env is not None:
        if env not in keys:
            raise ValueError(f"unknown environment {env!r} in project {project!r}")
        return env
    critical = [e.key for e in envs if e.critical]
    if not critical and not keys:
        raise ValueError(f"project {project!r} has no environments")
    return (critical or keys)[0]


def cleanup_records(
    source: DataSource,
    project: str,
    env: str | None = None,
    *,
    maintainers: Sequence[str] = (),
    teams: Sequence[str] = (),
    now: int | None = None,
) -> list[dict[str, Any]]:
    """The records, ordered by flag key; ``maintainers`` (emails, any case) and ``teams`` (keys) filter."""
    environments = source.environments(project)
    if not environments:
        raise ValueError(f"unknown project {project!r}")
    here = stale_environment(source, project, env)
    at = now_ms() if now is None else now
    start = at - source.settings.history_days * DAY_MS
    for e in environments:
        report = source.refresh(project, e.key, start, at + 1)
        if report.error is not None and e.key == here:
            raise report.error
    # what a snapshot's stages read, read the same way (history.snapshot_inputs); archived flags have no record
    table = stages_of(snapshot_inputs(source, project, here, at, with_archived=False), here, at)
    table = table[table["lifecycle_stage"] != "archived"]
    if maintainers:
        wanted = {m.lower() for m in maintainers}
        table = table[table["maintainer"].str.lower().isin(wanted).fillna(False).astype(bool)]
    if teams:
        table = table[table["maintainer_team"].isin(list(teams)).fillna(False).astype(bool)]
    out = []
    for row in table.itertuples(index=False):
        known = not pd.isna(row.value_to_keep_variation)
        out.append(
            {
                "flag_key": str(row.flag_key),
                "lifecycle_stage": str(row.lifecycle_stage),
                "stale": bool(row.stale),
                "environment": here,
                "code_reference_repositories": list(row.code_reference_repositories),
                "code_reference_hunks": int(row.code_reference_hunks),
                "value_to_keep": row.value_to_keep if known else None,
                "value_to_keep_reason": None if known else str(row.value_to_keep_reason),
                "maintainer": None if pd.isna(row.maintainer) else str(row.maintainer),
                "maintainer_team": None if pd.isna(row.maintainer_team) else str(row.maintainer_team),
                "owner_status": None if pd.isna(row.owner_status) else str(row.owner_status),
                "last_change": _iso(row.last_change),
                "history_covers_life": bool(row.history_covers_life),
                "age_days": None if pd.isna(row.age_days) else round(float(row.age_days), 1),
                "stage_reason": str(row.stage_reason),
            }
        )
    return out


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ";".join(str(v) for v in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def render(records: list[dict[str, Any]], fmt: str, tz: str = "UTC") -> str:
    """``json`` (every field, raw), ``csv`` (lists ``;``-joined, value_to_keep as JSON text, text cells made
    safe for spreadsheets) or ``table`` (the columns a cleanup needs, for reading)."""
    if fmt == "json":
        return json.dumps(records, indent=2, ensure_ascii=False) + "\n"
    if fmt == "csv":
        from .export import neutralise_cell

        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow(FIELDS)
        for r in records:
            cells = {
                **r,
                "value_to_keep": None if r["value_to_keep_reason"] else json.dumps(r["value_to_keep"]),
            }
            writer.writerow([neutralise_cell(_cell(cells[name])) for name in FIELDS])
        return buffer.getvalue()
    lines = [f"{len(records):,} flag{'s' * (len(records) != 1)}"]
    head = f"{'FLAG':<34} {'STAGE':<22} {'STALE':<5} {'CODE REFS':<28} {'KEEP':<16} {'OWNER':<34} LAST CHANGE"
    lines.append(head)
    for r in records:
        keep = (
            json.dumps(r["value_to_keep"], ensure_ascii=False) if r["value_to_keep_reason"] is None else "—"
        )
        owner = r["maintainer"] or (f"team {r['maintainer_team']}" if r["maintainer_team"] else "—")
        if r["owner_status"] == "not_a_member":
            owner += " (left)"
        refs = ",".join(r["code_reference_repositories"]) or "—"
        changed = r["last_change"]
        when = (
            format_ms(int(pd.Timestamp(changed).value // 1_000_000), tz, "%Y-%m-%d")
            if changed
            else ("none stored" if r["history_covers_life"] else "before history")
        )
        lines.append(
            f"{r['flag_key'][:34]:<34} {r['lifecycle_stage']:<22} {'yes' if r['stale'] else 'no':<5} "
            f"{refs[:28]:<28} {keep[:16]:<16} {owner[:34]:<34} {when}"
        )
    return "\n".join(lines) + "\n"
