"""The demo API answers every route the client reads as LaunchDarkly's published OpenAPI document says:
response bodies, required fields, types (a string field is left out, never null), error bodies, and the
fields that appear only with a query parameter (``summary=0`` with ``env``, ``expand`` on teams).

The schemas are a fixture copied from LaunchDarkly's document (``tests/fixtures/ld-openapi-routes.json``,
its ``x-source`` names the repository and commit), so this test never reads outside the project.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from jsonschema import Draft4Validator

from ldclient.demo import DemoAccount, DemoTransport, generate_account
from ldclient.timeutil import DAY_MS

NOW = 1_749_945_600_000  # 2025-06-15T00:00:00Z
SPEC = json.loads((Path(__file__).parent / "fixtures" / "ld-openapi-routes.json").read_text())


def _json_schema(node: Any) -> Any:
    """OpenAPI 3.0 schema objects as JSON Schema: refs into ``definitions``; ``nullable`` (none in these
    schemas today) would allow null. Everything else OpenAPI uses here means the same in draft 4."""
    if isinstance(node, dict):
        out = {k: _json_schema(v) for k, v in node.items() if k not in ("nullable", "deprecated", "format")}
        if "$ref" in out:
            out["$ref"] = out["$ref"].replace("#/components/schemas/", "#/definitions/")
        if node.get("nullable") is True and "type" in out:
            out["type"] = [out["type"], "null"]
        return out
    if isinstance(node, list):
        return [_json_schema(v) for v in node]
    return node


DEFINITIONS = _json_schema(SPEC["components"]["schemas"])


def validator(path: str, status: int) -> Draft4Validator:
    response = SPEC["paths"][path]["get"]["responses"][str(status)]
    schema = _json_schema(response["content"]["application/json"]["schema"])
    return Draft4Validator({**schema, "definitions": DEFINITIONS})


def check(response: httpx.Response, path: str) -> Any:
    body = response.json()
    errors = sorted(validator(path, response.status_code).iter_errors(body), key=lambda e: list(e.path))
    assert not errors, f"{path} {response.status_code}: " + "; ".join(
        f"{'/'.join(map(str, e.path))}: {e.message}" for e in errors[:5]
    )
    return body


@pytest.fixture(scope="module")
def account() -> DemoAccount:
    return generate_account(seed=7, now_ms=NOW, events_target=5_000)


@pytest.fixture(scope="module")
def client(account: DemoAccount) -> httpx.Client:
    return httpx.Client(
        base_url="https://app.launchdarkly.com",
        transport=DemoTransport(account),
        headers={"Authorization": "api-demo", "LD-API-Version": "20240415"},
    )


def test_the_fixture_names_its_source() -> None:
    source = SPEC["x-source"]
    assert source["repo"] == "launchdarkly/api-client-java" and len(source["commit"]) == 40
    assert "/api/v2/code-refs/statistics/{projectKey}" in SPEC["paths"] and "/api/v2/teams" in SPEC["paths"]


def test_projects_environments_members(client: httpx.Client) -> None:
    check(client.get("/api/v2/projects", params={"expand": "environments", "limit": 100}), "/api/v2/projects")
    path = "/api/v2/projects/{projectKey}/environments"
    check(client.get("/api/v2/projects/payments-platform/environments"), path)
    check(client.get("/api/v2/projects/nope/environments"), path)  # 404 body
    members = check(client.get("/api/v2/members", params={"limit": 1000}), "/api/v2/members")
    assert len(members["items"]) == members["totalCount"] > 10


def test_flags_with_and_without_full_targeting(client: httpx.Client, account: DemoAccount) -> None:
    path = "/api/v2/flags/{projectKey}"
    summary = check(client.get("/api/v2/flags/payments-platform", params={"limit": 100}), path)
    configs = [c for f in summary["items"] for c in f["environments"].values()]
    assert configs and not any(
        {"rules", "targets", "prerequisites", "contextTargets"} & set(c) for c in configs
    )
    # summary=0 without env: still summaries, as LaunchDarkly documents
    bare = client.get("/api/v2/flags/payments-platform", params={"limit": 5, "summary": "0"}).json()
    assert not any("rules" in c for f in bare["items"] for c in f["environments"].values())
    full = check(
        client.get(
            "/api/v2/flags/payments-platform", params={"limit": 100, "summary": "0", "env": "prod-eu"}
        ),
        path,
    )
    assert all(set(f["environments"]) == {"prod-eu"} for f in full["items"])
    assert all(
        {"rules", "targets", "prerequisites"} <= set(f["environments"]["prod-eu"]) for f in full["items"]
    )
    with_team = [f for f in full["items"] if "_maintainerTeam" in f]
    assert with_team and all("_maintainer" not in f for f in with_team)
    one = full["items"][0]["key"]
    single = check(
        client.get(f"/api/v2/flags/payments-platform/{one}"), "/api/v2/flags/{projectKey}/{featureFlagKey}"
    )
    assert "rules" in single["environments"]["production"]
    check(client.get("/api/v2/flags/payments-platform", params={"limit": 101}), path)  # 400 body
    check(client.get("/api/v2/flags/nope"), path)  # 404 body


def test_archived_flags_are_listed_only_when_asked_for(client: httpx.Client, account: DemoAccount) -> None:
    """The list leaves archived flags out; ``filter=state:archived`` (what ``LDClient.flags(archived=True)``
    sends) lists only them, each with its ``archivedDate``."""
    path = "/api/v2/flags/{projectKey}"
    archived = {f["key"] for f in account.cleanup().flags["payments-platform"] if f["archived"]}
    assert archived
    listed = check(client.get("/api/v2/flags/payments-platform", params={"limit": 100}), path)
    assert not {f["key"] for f in listed["items"]} & archived
    only = check(
        client.get("/api/v2/flags/payments-platform", params={"limit": 100, "filter": "state:archived"}), path
    )
    assert {f["key"] for f in only["items"]} == archived
    assert all(f["archived"] is True and isinstance(f["archivedDate"], int) for f in only["items"])


def test_flag_statuses_leave_out_what_they_do_not_know(client: httpx.Client) -> None:
    path = "/api/v2/flag-statuses/{projectKey}/{environmentKey}"
    for project, env in (("web-storefront", "production"), ("payments-platform", "prod-eu")):
        body = check(client.get(f"/api/v2/flag-statuses/{project}/{env}"), path)
        never = [s for s in body["items"] if s["name"] == "new"]
        assert never and all("lastRequested" not in s for s in never)


def test_flag_events(client: httpx.Client) -> None:
    path = "/api/v2/engineering-insights/flag-events"
    params = {"projectKey": "web-storefront", "environmentKey": "production", "limit": 100}
    window = {"from": NOW - 30 * DAY_MS, "to": NOW}
    beta = {"LD-API-Version": "beta"}
    check(client.get(path, params={**params, **window}, headers=beta), path)
    check(client.get(path, params={**params, **window, "expand": "experiments"}, headers=beta), path)
    check(client.get(path, params={**params, "limit": 0}, headers=beta), path)  # 400 body


def test_code_reference_statistics(client: httpx.Client, account: DemoAccount) -> None:
    path = "/api/v2/code-refs/statistics/{projectKey}"
    for project in ("web-storefront", "mobile-app", "payments-platform"):
        body = check(client.get(f"/api/v2/code-refs/statistics/{project}"), path)
        repos = [r for reps in body["flags"].values() for r in reps]
        assert repos and all(r["hunkCount"] >= 1 for r in repos)
        assert any(len(reps) == 2 for reps in body["flags"].values())  # some flags in two repositories
        live = {f["key"] for f in account.cleanup().flags[project] if not f["archived"]}
        assert set(body["flags"]) < live  # some live flags have none; archived ones are extinct
    key = next(iter(body["flags"]))
    single = check(client.get(f"/api/v2/code-refs/statistics/payments-platform?flagKey={key}"), path)
    assert list(single["flags"]) == [key]
    check(client.get("/api/v2/code-refs/statistics/nope"), path)  # 404 body


def test_teams_and_their_expand_only_fields(client: httpx.Client) -> None:
    path = "/api/v2/teams"
    plain = check(client.get(path), path)
    assert plain["totalCount"] == len(plain["items"]) >= 4
    assert not any({"members", "maintainers", "roles", "projects"} & set(t) for t in plain["items"])
    expanded = check(client.get(path, params={"expand": "members,maintainers"}), path)
    assert all({"members", "maintainers"} <= set(t) and "roles" not in t for t in expanded["items"])
    found = check(client.get(path, params={"filter": "query:PAY"}), path)
    assert [t["key"] for t in found["items"]] == ["payments"]
    paged = check(client.get(path, params={"limit": 2, "offset": 2}), path)
    assert len(paged["items"]) == 2 and "next" in paged["_links"] and "prev" in paged["_links"]


def test_a_maintainer_who_left_is_not_a_member(client: httpx.Client, account: DemoAccount) -> None:
    members = {m["_id"] for m in client.get("/api/v2/members", params={"limit": 1000}).json()["items"]}
    flags = [f for p in ("web-storefront", "mobile-app") for f in account.cleanup().flags[p]]
    left = [f for f in flags if f.get("maintainerId") and f["maintainerId"] not in members]
    assert left and {f["_maintainer"]["email"] for f in left} == {"jordan.avery@acme-shop.example"}
    assert any("_maintainer" not in f and "_maintainerTeam" not in f for f in flags)  # nobody maintains
