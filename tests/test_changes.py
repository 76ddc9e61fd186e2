"""Changes around a moment: every flag event within [at − w, at + w] across projects and environments, both
edges included and nothing outside, production-like first, fetched only for the small window (and not again
once stored), a project the token may not read named in a warning while the rest is shown; and the
``changes`` command."""

from __future__ import annotations

import io
import json
import threading
from dataclasses import replace
from typing import Any

import httpx
import pytest

from ldclient import cli
from ldclient.api import LDClient
from ldclient.changes import (
    IMPACT_RANK,
    UNKNOWN_IMPACT_RANK,
    changes_around,
    changes_csv,
    format_offset,
    select_changes,
)
from ldclient.demo import DemoAccount, DemoApi, generate_account
from ldclient.frame import events_to_frame
from ldclient.links import format_moment
from ldclient.settings import Settings
from ldclient.source import DataSource, open_source
from ldclient.store import SQLiteStore
from ldclient.sync import RECHECK_MS
from ldclient.vocabulary import DAY_MS, HOUR_MS, MINUTE_MS

NOW = 1_749_945_600_000  # 2025-06-15T00:00:00Z
AT = NOW - 3 * DAY_MS + 14 * HOUR_MS + 5 * MINUTE_MS  # 2025-06-12T14:05:00Z
W = 2 * HOUR_MS
FLAG_EVENTS = "/api/v2/engineering-insights/flag-events"


class Recording(httpx.AsyncBaseTransport):
    """The demo API, recording every request; flag events of the ``deny`` projects answer 403."""

    def __init__(self, api: DemoApi, deny: tuple[str, ...] = ()) -> None:
        self.api, self.deny = api, deny
        self.requests: list[httpx.Request] = []
        self._lock = threading.Lock()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        with self._lock:
            self.requests.append(request)
        if request.url.path == FLAG_EVENTS and request.url.params.get("projectKey") in self.deny:
            return httpx.Response(
                403, json={"code": "forbidden", "message": "Access to the project is denied"}
            )
        return self.api.handle(request)

    def flag_event_requests(self) -> list[httpx.Request]:
        with self._lock:
            return [r for r in self.requests if r.url.path == FLAG_EVENTS]


def edge_events(account: DemoAccount) -> dict[str, dict[str, Any]]:
    """Events exactly at both edges, at the moment, and 1 ms outside each edge, in two projects."""
    made = account.make_events(5, "web-storefront", "production", AT - DAY_MS, AT + DAY_MS, seed=11)
    made += account.make_events(3, "payments-platform", "staging", AT - DAY_MS, AT + DAY_MS, seed=12)
    times = {
        "first-edge": AT - W,
        "last-edge": AT + W,
        "at": AT,
        "just-before": AT - W - 1,
        "just-after": AT + W + 1,
        "pay-first-edge": AT - W,
        "pay-last-edge": AT + W,
        "pay-just-after": AT + W + 1,
    }
    out = {}
    for (name, t), event in zip(times.items(), made, strict=True):
        out[name] = {**event, "eventTime": t}
    account.add_events(out.values())
    return out


@pytest.fixture()
def world(tmp_path):
    account = generate_account(seed=5, now_ms=NOW, events_target=3_000)
    edges = edge_events(account)
    return account, edges, tmp_path


def source_for(account: DemoAccount, tmp_path, deny: tuple[str, ...] = ()) -> tuple[DataSource, Recording]:
    transport = Recording(DemoApi(account, clock=lambda: NOW), deny)
    source = open_source(Settings.load(force_demo=True), store=SQLiteStore(tmp_path / f"s{len(deny)}.sqlite"))
    return replace(
        source, client=LDClient("demo-token", source.client.base_url, transport=transport)
    ), transport


def truth(account: DemoAccount, lo: int, hi: int) -> set[tuple[str, str]]:
    """(project, id) of every event of the account within [lo, hi], a global one once per project."""
    return {(e["projectKey"], e["id"]) for e in account.events if lo <= e["eventTime"] <= hi}


def test_changes_include_both_edges_and_nothing_outside_across_projects(world):
    account, edges, tmp_path = world
    source, _ = source_for(account, tmp_path)
    result = changes_around(source, AT, W, now=NOW)
    ids = {r.id for r in result.rows}
    for name in ("first-edge", "last-edge", "at", "pay-first-edge", "pay-last-edge"):
        assert edges[name]["id"] in ids, name
    for name in ("just-before", "just-after", "pay-just-after"):
        assert edges[name]["id"] not in ids, name
    assert all(AT - W <= r.event_time <= AT + W for r in result.rows)
    assert {(r.project, r.id) for r in result.rows} == truth(account, AT - W, AT + W)
    assert len(result.rows) == len({(r.project, r.id) for r in result.rows})  # a global event once
    assert {r.project for r in result.rows} >= {"web-storefront", "payments-platform"}
    assert result.keys == sum(len(p["environments"]) for p in account.projects)
    assert result.warnings == []


def test_changes_come_production_first_then_by_impact_then_closeness(world):
    account, _, tmp_path = world
    source, _ = source_for(account, tmp_path)
    rows = changes_around(source, AT, W, now=NOW).rows
    keys = [
        (not r.critical, IMPACT_RANK.get(r.impact_size or "", UNKNOWN_IMPACT_RANK), abs(r.event_time - AT))
        for r in rows
    ]
    assert keys == sorted(keys)
    assert rows[0].critical and not rows[-1].critical  # both kinds are there
    production = {(p["key"], e["key"]) for p in account.projects for e in p["environments"] if e["critical"]}
    assert all(r.critical == ((r.project, r.environment) in production) for r in rows)


def test_only_the_small_window_is_fetched_and_not_again(world):
    account, _, tmp_path = world
    source, transport = source_for(account, tmp_path)
    changes_around(source, AT, W, now=NOW)
    first = transport.flag_event_requests()
    keys = {(r.url.params["projectKey"], r.url.params["environmentKey"]) for r in first}
    assert keys == {(p["key"], e["key"]) for p in account.projects for e in p["environments"]}
    for request in first:  # no request spans more than the window plus the client's 1 ms overlap
        lo, hi = int(request.url.params["from"]), int(request.url.params["to"])
        assert AT - W - 1 <= lo and hi <= AT + W + 1 and hi - lo <= 2 * W + 2
    changes_around(source, AT, W, now=NOW)
    assert transport.flag_event_requests() == first  # what the store covers is not fetched again
    wider = changes_around(source, AT, W + HOUR_MS, now=NOW)
    fresh = transport.flag_event_requests()[len(first) :]
    for request in fresh:  # the new hour either side (and the refresh's recheck of the 15 minutes before it)
        lo, hi = int(request.url.params["from"]), int(request.url.params["to"])
        assert AT - W - HOUR_MS - 1 <= lo and hi <= AT + W + HOUR_MS + 1
        assert hi - lo <= HOUR_MS + RECHECK_MS + 2
    assert (
        fresh and sum(int(r.url.params["to"]) - int(r.url.params["from"]) for r in fresh) < len(fresh) * 2 * W
    )
    assert {(r.project, r.id) for r in wider.rows} == truth(account, AT - W - HOUR_MS, AT + W + HOUR_MS)


def test_a_project_the_token_may_not_read_is_named_and_the_rest_shown(world):
    account, edges, tmp_path = world
    source, _ = source_for(account, tmp_path, deny=("payments-platform",))
    result = changes_around(source, AT, W, now=NOW)
    assert len(result.warnings) == 1
    assert "payments-platform" in result.warnings[0] and "403" in result.warnings[0]
    assert all(r.project != "payments-platform" for r in result.rows)
    assert edges["first-edge"]["id"] in {r.id for r in result.rows}
    expected = {k for k in truth(account, AT - W, AT + W) if k[0] != "payments-platform"}
    assert {(r.project, r.id) for r in result.rows} == expected


def test_a_chosen_subset_of_projects_and_an_application(world):
    account, _, tmp_path = world
    source, transport = source_for(account, tmp_path)
    result = changes_around(source, AT, W, projects=["payments-platform"], now=NOW)
    assert {r.project for r in result.rows} == {"payments-platform"}
    assert {r.url.params["projectKey"] for r in transport.flag_event_requests()} == {"payments-platform"}
    with pytest.raises(ValueError, match="unknown project 'nope'"):
        changes_around(source, AT, W, projects=["nope"], now=NOW)
    source.applications()  # the dashboard's sidebar fetches them; the filter reads the stored copy
    web = changes_around(source, AT, W, apps=["web"], now=NOW)
    evaluated = {
        (f["_links"]["self"]["href"].split("/")[-2], f["key"])
        for a in account.applications()
        if a["key"] == "web"
        for f in a["flags"]["items"]
    }
    every = changes_around(source, AT, W, now=NOW)
    assert {r.id for r in web.rows} == {r.id for r in every.rows if (r.project, r.flag_key) in evaluated}


def test_rows_carry_who_what_the_split_and_both_links(world):
    account, edges, tmp_path = world
    source, _ = source_for(account, tmp_path)
    result = changes_around(source, AT, W, tz="Europe/Berlin", now=NOW)
    row = next(r for r in result.rows if r.id == edges["at"]["id"])
    event = edges["at"]
    assert row.member == event["member"]["email"] and row.description == event["description"]
    assert row.flag_key == event["flagKey"] and row.impact_size == event["impact"]["size"]
    before = [v["before"] for v in event["impact"]["evaluationsSummary"]["variations"]]
    assert [v.before for v in row.variations] == before and "→" in row.split
    assert row.flag_detail.startswith("flag_detail?") and f"flag={row.flag_key}" in row.flag_detail
    assert "at=2025-06-12T14%3A05%3A00Z" in row.flag_detail and "tz=Europe%2FBerlin" in row.flag_detail
    assert row.launchdarkly.startswith("https://app.launchdarkly.com/projects/web-storefront/flags/")
    record = row.record(AT)
    for name in (
        "id",
        "project",
        "environment",
        "flag_key",
        "event_time",
        "impact_size",
        "member",
        "description",
    ):
        assert name in record
    assert record["event_time"] == "2025-06-12T14:05:00Z" and record["offset_seconds"] == 0
    csv_text = changes_csv(result).decode("utf-8-sig")
    assert csv_text.splitlines()[0].startswith("id,project,environment,critical,flag_key,event_time")
    assert len(csv_text.strip().splitlines()) == len(result.rows) + 1


def test_a_global_event_is_listed_once_per_project():
    base = {
        "projectKey": "p",
        "flagKey": "f",
        "eventType": "flag-updated",
        "description": "renamed",
        "member": {"email": "ada@example.com"},
        "impact": {"size": "none", "percentage": 0},
    }
    items = [
        {**base, "id": "g1", "eventTime": AT},  # global: the store holds it under every environment
        {**base, "id": "g1", "eventTime": AT},
        {**base, "id": "e1", "eventTime": AT + 1, "environmentKey": "production"},
        {**base, "id": "e2", "eventTime": AT - 1, "environmentKey": "staging"},
    ]
    rows = select_changes(events_to_frame(items), AT, W, {("p", "production"): True, ("p", "staging"): False})
    assert [(r.id, r.environment, r.critical) for r in rows] == [
        ("e1", "production", True),
        ("g1", None, False),
        ("e2", "staging", False),
    ]


def test_offsets_read_as_people_say_them():
    assert format_offset(0) == "0 s"
    assert format_offset(-40_000) == "−40 s"
    assert format_offset(12 * MINUTE_MS) == "+12 min"
    assert format_offset(-(HOUR_MS + 5 * MINUTE_MS)) == "−1 h 05 min"


def test_changes_command_prints_json_csv_and_table(capsys):
    from ldclient.demo import default_now_ms

    at = format_moment(default_now_ms() - 2 * DAY_MS + 14 * HOUR_MS + 5 * MINUTE_MS)
    out = io.StringIO()
    assert cli.main(["changes", "--demo", "--at", at, "--window", "90m", "--format", "json"], out=out) == 0
    doc = json.loads(out.getvalue())
    assert doc["at"] == at and doc["window"] == "1h30m"
    assert doc["changes"], "the demo account has changes on a weekday afternoon"
    for record in doc["changes"]:
        assert doc["from"] <= record["event_time"] <= doc["to"]
        assert {"id", "project", "environment", "flag_key", "impact_size", "member", "description"} <= set(
            record
        )

    out = io.StringIO()
    assert cli.main(["changes", "--demo", "--at", at, "--window", "90m", "--format", "csv"], out=out) == 0
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("id,project,environment") and len(lines) == len(doc["changes"]) + 1
    assert lines[1].split(",")[0] == doc["changes"][0]["id"]

    out = io.StringIO()
    only = ["--project", "payments-platform"]
    assert cli.main(["changes", "--demo", "--at", at, "--window", "90m", *only], out=out) == 0
    table = out.getvalue()
    assert "production-like environments first" in table
    assert all("web-storefront" not in line for line in table.splitlines())

    assert cli.main(["changes", "--demo", "--at", "yesterday-ish"], out=io.StringIO()) == 2
    assert "is not a time" in capsys.readouterr().err
    assert cli.main(["changes", "--demo", "--at", at, "--window", "2d"], out=io.StringIO()) == 2
    assert "longer than 24 hours" in capsys.readouterr().err
