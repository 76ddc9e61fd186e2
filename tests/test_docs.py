"""docs/METRICS.md and docs/LIFECYCLE.md held to the code: every key, column, weight and threshold the
docs name is the one the code has (the model is datasette's tests/test_docs.py)."""

from __future__ import annotations

import re
from pathlib import Path

from ldclient import metrics
from ldclient.lifecycle import core as lifecycle_core
from ldclient.metrics import definitions
from ldclient.metrics.records import Headline
from ldclient.vocabulary import DAY_MS, HOUR_MS

DOCS = Path(__file__).resolve().parent.parent / "docs"


def section(doc: str, heading: str) -> str:
    """The text under ``heading`` up to the next heading of the same or a higher level."""
    text = (DOCS / doc).read_text()
    level = heading.split(" ", 1)[0]
    start = text.index(f"\n{heading}") + 1
    rest = text[start + len(heading) :]
    ends = [m.start() for m in re.finditer(rf"\n#{{1,{len(level)}}} ", rest)]
    return rest[: ends[0]] if ends else rest


def first_column(table_text: str) -> list[str]:
    """The backticked names in the first cell of each row of the Markdown tables in ``table_text``."""
    names: list[str] = []
    for line in table_text.splitlines():
        if not line.startswith("|") or line.startswith("|---"):
            continue
        cell = line.split("|")[1]
        names += re.findall(r"`([^`]+)`", cell)
    return names


def test_every_headline_key_is_documented_in_order_and_typed():
    documented = first_column(section("METRICS.md", "## Headline numbers (`compute_metrics`)"))
    assert tuple(documented) == metrics.HEADLINE_KEYS
    assert tuple(Headline.__annotations__) == metrics.HEADLINE_KEYS


def test_every_per_flag_column_is_documented_in_order():
    documented = first_column(section("METRICS.md", "## Per-flag table and health score").split("### ")[0])
    assert tuple(documented) == metrics.FLAG_TABLE_COLUMNS


def test_health_weights_and_points_are_the_documented_ones():
    table = section("METRICS.md", "### Health score")
    rows = [
        line.split("|")[1:5] for line in table.splitlines() if line.startswith("|") and "---" not in line
    ][1:]
    caps = [float(cap.strip()) for _, _, cap, _ in rows]
    assert caps == list(metrics.HEALTH_WEIGHTS.values()) and sum(caps) == 100
    penalties = " ".join(penalty for _, penalty, _, _ in rows)
    for points in (definitions.ROLLBACK_POINTS, definitions.UNGUARDED_POINTS, definitions.OFF_HOURS_POINTS):
        assert f"{points:g} ×" in penalties
    assert f"churn_per_week / {definitions.CHURN_FULL_PER_WEEK:g}" in penalties


def test_rollback_and_flapping_thresholds_are_the_documented_ones():
    rollbacks = section("METRICS.md", "### Rollbacks")
    assert definitions.ROLLBACK_WINDOW_MS == 24 * HOUR_MS and "≤ 24 h" in rollbacks
    assert f"TVD(P, Q) ≤ {definitions.ROLLBACK_MAX_TVD:.2f}" in rollbacks
    assert definitions.TVD_EPSILON == 1e-9 and "0.10 + 1e-9" in rollbacks
    flapping = section("METRICS.md", "### Flapping")
    assert f"at least {definitions.FLAP_TOGGLES} `{definitions.TOGGLE_ACTION}` events" in flapping
    assert definitions.FLAP_WINDOW_MS == 7 * DAY_MS and "7-day" in flapping


def test_stale_thresholds_and_flag_columns_are_the_documented_ones():
    stale = section("LIFECYCLE.md", "### Stale flag (per environment)")
    assert lifecycle_core.STALE_MIN_AGE_MS == 30 * DAY_MS and "30 days" in stale
    assert lifecycle_core.RECENT_WINDOW_MS == 7 * DAY_MS and "7 days" in stale
    flags = first_column(section("LIFECYCLE.md", "### Flags: `flags_to_frame(items)`"))
    assert flags and set(flags) <= set(lifecycle_core.FLAG_COLUMNS), set(flags) - set(
        lifecycle_core.FLAG_COLUMNS
    )
    statuses = first_column(
        section("LIFECYCLE.md", "### Statuses: `statuses_to_frame(items, environment_key)`")
    )
    assert tuple(statuses) == lifecycle_core.STATUS_COLUMNS


def test_the_stale_penalty_is_the_documented_one():
    staleness = section("METRICS.md", "### Staleness")
    assert definitions.STALE_POINTS == 50 and f"`STALE_POINTS` = {definitions.STALE_POINTS:g}" in staleness
    assert f"score {100 - definitions.STALE_POINTS:g})" in staleness  # a never-changed stale flag's score


def test_history_records_and_snapshot_storage_are_the_documented_ones():
    from ldclient import history
    from ldclient.store import snapshots

    fields = first_column(section("HISTORY.md", "## One record per day: `python -m ldclient history`"))
    assert tuple(fields) == history.RECORD_FIELDS
    rebuilt = first_column(section("HISTORY.md", "## The days rebuilt"))
    assert set(rebuilt) == set(history.RECORD_FIELDS) - set(history.OBSERVED_ONLY) - {"date", "observed"}
    storage = section("HISTORY.md", "### Storage and its cost")
    assert f"`BLOCK_DAYS` ({snapshots.BLOCK_DAYS})" in storage
    snapshot = section("HISTORY.md", "## The snapshot")
    for name in snapshots.FLAG_STATE_FIELDS:
        assert f"`{name}`" in snapshot
    for name in history.OBSERVED_ONLY:
        assert f"`{name}`" in snapshot, name
