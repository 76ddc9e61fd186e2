"""``python -m ldclient`` against the embedded demo account and against a server at LD_BASE_URL."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from ldclient import clock
from tests.support import run_ldclient

ROOT = Path(__file__).resolve().parent.parent


def run(*args: str, env: dict[str, str] | None = None, timeout: int = 180) -> subprocess.CompletedProcess:
    return run_ldclient(*args, env=env, timeout=timeout)


@pytest.fixture(scope="module")
def demo_project() -> str:
    from ldclient.demo import default_now_ms
    from ldclient.source import demo_account

    return demo_account(7, default_now_ms()).projects[0]["key"]


def test_projects_lists_demo_projects_with_environments():
    out = run("projects", "--format", "json")
    assert out.returncode == 0, out.stderr
    projects = json.loads(out.stdout)
    assert len(projects) >= 3
    assert all({"production", "staging", "test"} <= {e["key"] for e in p["environments"]} for p in projects)


def test_events_jsonl_sorted_unique_with_api_field_names(demo_project):
    out = run("events", "--project", demo_project, "--env", "production")
    assert out.returncode == 0, out.stderr
    items = [json.loads(line) for line in out.stdout.splitlines()]
    assert len(items) > 100
    assert len({i["id"] for i in items}) == len(items)
    assert [i["eventTime"] for i in items] == sorted(i["eventTime"] for i in items)
    assert {"id", "flagKey", "eventTime", "eventType", "impact", "projectKey"} <= set(items[0])
    assert all("experiments" not in i for i in items)
    expanded = run("events", "--project", demo_project, "--env", "production", "--expand-experiments")
    assert all("experiments" in json.loads(line) for line in expanded.stdout.splitlines())


def test_events_filters_csv_and_output_file(demo_project, tmp_path):
    target = tmp_path / "large.csv"
    out = run(
        "events",
        "--project",
        demo_project,
        "--env",
        "production",
        "--impact-size",
        "large",
        "--from",
        (clock.today() - timedelta(days=200)).isoformat(),
        "--format",
        "csv",
        "--output",
        str(target),
    )
    assert out.returncode == 0, out.stderr
    data = target.read_bytes()
    assert data.startswith(b"\xef\xbb\xbfid,")  # a CSV file is UTF-8 with a byte-order mark, for Excel
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert rows and all(r["impact_size"] == "large" for r in rows)
    assert all(
        r["impact_percentage"] == "" or len(r["impact_percentage"].partition(".")[2]) <= 1 for r in rows
    )
    assert "None" not in data.decode("utf-8-sig") and "—" not in data.decode(
        "utf-8-sig"
    )  # unknown cells are empty


def test_metrics_prints_every_key(demo_project):
    out = run(
        "metrics",
        "--project",
        demo_project,
        "--env",
        "production",
        "--tz",
        "Europe/Berlin",
        "--format",
        "json",
    )
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    from ldclient.metrics import HEADLINE_KEYS

    expected = {
        *HEADLINE_KEYS,
        "project",
        "environment",
        "from",
        "to",
        "timezone",
        "flags",
        "previous",
        "temporary_flags",
        "stale_flags",
        "stale_share",
        "stale_flag_keys",
        "statuses",
        "unrehearsed_changes",
        "promotion_lag_hours_median",
    }
    assert expected <= set(report)
    assert report["events_total"] == sum(report["events_by_impact"].values())
    assert report["events_total"] > 0 and report["flags"]


@pytest.mark.parametrize(
    "args,needle",
    [
        (("events", "--project", "nope", "--env", "production"), "unknown project"),
        (("events", "--project", "PROJECT", "--env", "qa"), "unknown environment"),
        (("events", "--project", "PROJECT", "--env", "production", "--from", "last tuesday"), "not a date"),
        (
            (
                "events",
                "--project",
                "PROJECT",
                "--env",
                "production",
                "--from",
                "2026-11-20",
                "--to",
                "2026-11-01",
            ),
            "--to 2026-11-01 is before --from 2026-11-20",
        ),
        (
            ("events", "--project", "PROJECT", "--env", "production", "--from", "2015-01-01"),
            "longer than 5 years",
        ),
        (("metrics", "--project", "PROJECT", "--env", "production", "--tz", "Mars/Base"), "unknown timezone"),
    ],
)
def test_bad_arguments_give_one_line_errors(demo_project, args, needle):
    out = run(*[demo_project if a == "PROJECT" else a for a in args])
    assert out.returncode != 0
    assert needle in out.stderr
    assert "Traceback" not in out.stderr and len(out.stderr.strip().splitlines()) == 1


def test_sync_then_sync_again_makes_at_most_one_request_per_key(demo_project):
    first = run("sync", "--project", demo_project, "--days", "30")
    assert first.returncode == 0, first.stderr
    second = run("sync", "--project", demo_project, "--days", "30")
    *lines, snapshots = second.stdout.strip().splitlines()
    assert len(lines) >= 3
    # the same day's snapshots again: replaced, one per key and day (docs/HISTORY.md)
    assert snapshots.startswith(f"snapshots: {len(lines)} of {len(lines)} keys recorded for ")
    for line in lines:
        assert int(line.split(": ")[1].split(" requests")[0]) <= 1, line
    info = run("cache", "info")
    assert demo_project in info.stdout
    assert run("cache", "clear").returncode == 0
    assert demo_project not in run("cache", "info").stdout


def test_cli_talks_to_any_server_at_ld_base_url(demo_project):
    from ldclient.demo import default_now_ms, generate_account, start_server_in_thread

    account = generate_account(seed=11, now_ms=default_now_ms(), events_target=3000)
    with start_server_in_thread(account) as server:
        env = {"LD_API_TOKEN": "api-any-token", "LD_BASE_URL": server.base_url}
        out = run("events", "--project", account.projects[0]["key"], "--env", "production", env=env)
        assert out.returncode == 0, out.stderr
        assert len(out.stdout.splitlines()) > 10
        assert server.stats.count("flag-events") >= 1


def test_events_csv_quotes_formula_text_and_jsonl_keeps_it_raw():
    from ldclient.demo import default_now_ms, generate_account, start_server_in_thread

    account = generate_account(seed=11, now_ms=default_now_ms(), events_target=0)
    project = account.projects[0]["key"]
    hostile = '=HYPERLINK("http://evil","x")'
    account.add_events(
        [
            {
                "id": "formula-0",
                "projectKey": project,
                "environmentKey": "production",
                "flagKey": "-2+3",
                "eventType": "flag-updated",
                "eventTime": default_now_ms() - 3_600_000,
                "description": hostile,
                "member": {"email": "a@example.com", "firstName": "@SUM(1)"},
                "actions": ["updateOn"],
                "impact": {"size": "large", "percentage": 50.0},
            }
        ]
    )
    with start_server_in_thread(account) as server:
        env = {"LD_API_TOKEN": "api-any-token", "LD_BASE_URL": server.base_url}
        csv_out = run("events", "--project", project, "--env", "production", "--format", "csv", env=env)
        jsonl_out = run("events", "--project", project, "--env", "production", env=env)
    assert csv_out.returncode == 0 and jsonl_out.returncode == 0, csv_out.stderr + jsonl_out.stderr
    rows = list(csv.DictReader(io.StringIO(csv_out.stdout, newline="")))
    mine = [r for r in rows if r["id"] == "formula-0"]
    assert len(mine) == 1 and len(rows) == len(jsonl_out.stdout.splitlines()) > 1
    assert (mine[0]["description"], mine[0]["flag_key"], mine[0]["member_name"]) == (
        "'" + hostile,
        "'-2+3",
        "'@SUM(1)",
    )
    assert mine[0]["impact_percentage"] == "50.0"
    assert not [r for r in rows if r["description"][:1] in ("=", "+", "-", "@", "\t", "\r")]
    raw = [json.loads(line) for line in jsonl_out.stdout.splitlines() if '"formula-0"' in line]
    assert [(i["description"], i["flagKey"]) for i in raw] == [(hostile, "-2+3")]


def test_demo_server_command_serves_the_api(tmp_path):
    import re

    import httpx

    env = {k: v for k, v in os.environ.items() if not k.startswith("LD_") or k == "LD_CLOCK_OFFSET_MS"}
    env["PYTHONUNBUFFERED"] = "1"
    # port 0: the system picks a free port and the server prints it (no race for a port picked beforehand)
    proc = subprocess.Popen(
        [sys.executable, "-m", "ldclient", "demo-server", "--port", "0", "--events", "2000"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        match = re.search(r"http://127\.0\.0\.1:(\d+)", line)
        assert match, (line, proc.stderr.read() if proc.poll() is not None else "")
        base = f"http://127.0.0.1:{match.group(1)}"
        r = httpx.get(f"{base}/api/v2/projects", headers={"Authorization": "x"})
        assert r.status_code == 200 and r.json()["items"]
        assert httpx.get(f"{base}/api/v2/projects").status_code == 401
    finally:
        proc.terminate()
        proc.wait(10)
