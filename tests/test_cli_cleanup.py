"""``python -m ldclient cleanup`` on the demo account: the fields the issue lists, filters, formats."""

from __future__ import annotations

import csv
import io
import json

from tests.test_cli import run

FIELDS = {
    "flag_key",
    "lifecycle_stage",
    "stale",
    "code_reference_repositories",
    "code_reference_hunks",
    "value_to_keep",
    "maintainer",
    "maintainer_team",
    "owner_status",
    "last_change",
}


def test_cleanup_json_has_every_field_and_one_record_per_live_flag() -> None:
    out = run("cleanup", "--project", "payments-platform", "--format", "json")
    assert out.returncode == 0, out.stderr
    records = json.loads(out.stdout)
    assert records and all(FIELDS <= set(r) for r in records)
    assert len({r["flag_key"] for r in records}) == len(records)
    assert {r["environment"] for r in records} == {"production"}  # the first critical environment
    stages = {r["lifecycle_stage"] for r in records}
    assert {"live", "ready_for_code_removal", "ready_to_archive"} <= stages and "archived" not in stages
    for r in records:
        if r["lifecycle_stage"] == "ready_for_code_removal":
            assert r["code_reference_repositories"] and r["code_reference_hunks"] > 0
        if r["lifecycle_stage"] == "ready_to_archive":
            assert r["code_reference_repositories"] == [] and r["code_reference_hunks"] == 0
        assert (r["value_to_keep_reason"] is None) or r["value_to_keep"] is None
        assert r["last_change"] is None or r["last_change"].endswith("Z")
    assert any(isinstance(r["value_to_keep"], bool) for r in records)


def test_cleanup_filters_by_team_and_maintainer_and_env() -> None:
    team = json.loads(
        run("cleanup", "--project", "web-storefront", "--team", "growth", "--format", "json").stdout
    )
    assert team and {r["maintainer_team"] for r in team} == {"growth"}
    left = json.loads(
        run(
            "cleanup",
            "--project",
            "web-storefront",
            "--maintainer",
            "Jordan.Avery@acme-shop.example",
            "--format",
            "json",
        ).stdout
    )
    assert left and {r["owner_status"] for r in left} == {"not_a_member"}
    staging = json.loads(
        run("cleanup", "--project", "web-storefront", "--env", "staging", "--format", "json").stdout
    )
    assert {r["environment"] for r in staging} == {"staging"}
    bad = run("cleanup", "--project", "web-storefront", "--env", "nope")
    assert bad.returncode == 2 and "unknown environment" in bad.stderr


def test_cleanup_csv_and_table() -> None:
    out = run("cleanup", "--project", "mobile-app", "--format", "csv")
    assert out.returncode == 0, out.stderr
    rows = list(csv.DictReader(io.StringIO(out.stdout)))
    assert rows and FIELDS <= set(rows[0])
    known = [r for r in rows if not r["value_to_keep_reason"]]
    assert known and all(json.loads(r["value_to_keep"]) is not None for r in known)
    table = run("cleanup", "--project", "mobile-app")
    assert table.returncode == 0 and table.stdout.splitlines()[1].startswith("FLAG")
