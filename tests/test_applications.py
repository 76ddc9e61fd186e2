"""Applications: the demo account serves them as LaunchDarkly does, the client and the source read them, and
the application filter narrows events and flags to the flags an application evaluates (the union for several),
the same in the dashboard and in the CLI."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from ldclient import applications as apps_mod
from ldclient.api import LDClient
from ldclient.demo import DemoApi, DemoTransport, generate_account
from ldclient.errors import PermissionDeniedError
from ldclient.frame import events_to_frame
from ldclient.timeutil import DAY_MS

FIXTURE = Path(__file__).parent / "fixtures" / "ld-openapi-applications.json"
NOW = 1_749_945_600_000  # 2025-06-15T00:00:00Z
HEADERS = {"Authorization": "api-demo-token", "LD-API-Version": "beta"}


@pytest.fixture(scope="module")
def account():
    return generate_account(seed=7, now_ms=NOW)


@pytest.fixture(scope="module")
def api(account):
    return DemoApi(account, clock=lambda: NOW)


def get(api: DemoApi, path: str, headers: dict[str, str] | None = None, **params: Any) -> httpx.Response:
    return api.handle(httpx.Request("GET", f"https://demo{path}", params=params, headers=headers or HEADERS))


def schema_validator(name: str) -> jsonschema.protocols.Validator:
    """A validator for one schema of LaunchDarkly's OpenAPI document (the fixture), its $refs resolved."""
    doc = json.loads(FIXTURE.read_text())
    registry = Registry().with_resource(
        "urn:ld", Resource.from_contents(doc, default_specification=DRAFT202012)
    )
    return jsonschema.Draft202012Validator({"$ref": f"urn:ld#/components/schemas/{name}"}, registry=registry)


def test_the_fixture_names_its_source():
    source = json.loads(FIXTURE.read_text())["x-source"]
    assert source["repo"] == "launchdarkly/api-client-java"
    assert source["commit"] == "e85832c80ad3901b0d88816fad5c6d1d6a98d65a"


def test_applications_are_served_in_launchdarklys_shapes(api):
    validator = schema_validator("ApplicationCollectionRep")
    expanded = get(api, "/api/v2/applications", expand="flags", limit="100")
    assert expanded.status_code == 200
    body = expanded.json()
    validator.validate(body)
    assert body["totalCount"] == 3
    assert {a["key"]: a["kind"] for a in body["items"]} == {
        "web": "browser",
        "mobile": "mobile",
        "backend": "server",
    }
    for app in body["items"]:
        assert app["flags"]["totalCount"] == len(app["flags"]["items"]) > 0
        for flag in app["flags"]["items"]:
            schema_validator("FlagListingRep").validate(flag)
            assert flag["_links"]["self"]["href"].endswith("/" + flag["key"])

    plain = get(api, "/api/v2/applications", limit="100").json()  # without expand: no flags field
    validator.validate(plain)
    assert all("flags" not in a for a in plain["items"])
    assert [a["key"] for a in plain["items"]] == [a["key"] for a in body["items"]]


def test_applications_page_by_offset_sort_and_need_the_beta_header(api):
    first = get(api, "/api/v2/applications", limit="2").json()
    second = get(api, "/api/v2/applications", limit="2", offset="2").json()
    assert len(first["items"]) == 2 and len(second["items"]) == 1 and first["totalCount"] == 3
    assert "next" in first["_links"] and "next" not in second["_links"]
    assert len(get(api, "/api/v2/applications").json()["items"]) == 3  # default limit 10
    names = [a["name"] for a in get(api, "/api/v2/applications", sort="-name").json()["items"]]
    assert names == sorted(names, reverse=True)
    assert get(api, "/api/v2/applications", headers={"Authorization": "x"}).status_code == 403
    assert get(api, "/api/v2/applications", limit="0").status_code == 400


def test_applications_share_some_flags_and_not_others(account):
    evaluated = {
        a["key"]: {(f["_links"]["self"]["href"].split("/")[-2], f["key"]) for f in a["flags"]["items"]}
        for a in account.applications()
    }
    web, mobile, backend = evaluated["web"], evaluated["mobile"], evaluated["backend"]
    assert web & backend and web - backend and backend - web
    assert web & mobile and mobile - web
    assert {p for p, _ in web} == {"web-storefront", "payments-platform"}
    archived = {(p, f["key"]) for p, flags in account.flags.items() for f in flags if f["archived"]}
    assert not (web | mobile | backend) & archived


def test_applications_change_nothing_else_of_the_account():
    before = generate_account(seed=7, now_ms=NOW, events_target=3_000)
    text = before.to_json()
    apps = before.applications()
    assert before.to_json() == text  # the events, flags and statuses are byte for byte what they were
    again = generate_account(seed=7, now_ms=NOW, events_target=3_000)
    assert again.to_json() == text and again.applications() == apps  # deterministic


def _events(api: DemoApi, **params: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    url = "/api/v2/engineering-insights/flag-events"
    query: dict[str, Any] | None = {"limit": "100", "from": NOW - 30 * DAY_MS, "to": NOW, **params}
    while True:
        body = (
            get(api, url, **query).json()
            if query
            else api.handle(httpx.Request("GET", f"https://demo{url}", headers=HEADERS)).json()
        )
        out += body["items"]
        nxt = body["_links"].get("next")
        if not nxt:
            return out
        url, query = nxt["href"], None


def test_flag_events_application_key_keeps_the_events_of_the_flags_it_evaluates(api, account):
    pairs = {a["key"]: {f["key"] for f in a["flags"]["items"]} for a in account.applications()}
    base = {"projectKey": "web-storefront", "environmentKey": "production"}
    everything = _events(api, **base)
    web = _events(api, applicationKey="web", **base)
    both = _events(api, applicationKey="web,backend", **base)
    assert web and len(web) < len(everything)
    assert {e["id"] for e in web} == {e["id"] for e in everything if e["flagKey"] in pairs["web"]}
    union = pairs["web"] | pairs["backend"]
    assert {e["id"] for e in both} == {e["id"] for e in everything if e["flagKey"] in union}
    assert len(both) > len(web)
    assert _events(api, applicationKey="no-such-app", **base) == []


def test_client_reads_every_page_of_applications_and_names_a_403():
    served = [{"key": f"app-{i}", "name": f"App {i}", "kind": "server", "autoAdded": False} for i in range(5)]
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        offset = int(request.url.params.get("offset", 0))
        return httpx.Response(200, json={"items": served[offset : offset + 2], "totalCount": len(served)})

    client = LDClient("api-test-token", transport=httpx.MockTransport(handler))
    assert [a["key"] for a in client.applications()] == [a["key"] for a in served]
    assert all(r.url.params["expand"] == "flags" and r.headers["LD-API-Version"] == "beta" for r in seen)

    denied = LDClient(
        "api-test-token",
        transport=httpx.MockTransport(
            lambda r: httpx.Response(403, json={"code": "forbidden", "message": "no"})
        ),
    )
    with pytest.raises(PermissionDeniedError, match="applications"):
        denied.applications()


def test_source_caches_applications_like_flags(tmp_path):
    from ldclient.settings import Settings
    from ldclient.source import open_source
    from ldclient.store import SQLiteStore

    api = DemoApi(generate_account(seed=7, now_ms=NOW, events_target=2_000), clock=lambda: NOW)
    source = open_source(Settings.load(force_demo=True), store=SQLiteStore(tmp_path / "s.sqlite"))
    source.client = LDClient("demo-token", source.client.base_url, transport=DemoTransport(api))
    first = source.applications()
    assert [a.key for a in first] == ["web", "mobile", "backend"]
    assert api.stats.count("applications") == 1
    assert source.applications() == first and api.stats.count("applications") == 1  # from the store
    assert source.stored_applications() == first
    web = first[0]
    assert web.kind == "browser" and web.flags_total == len(web.flags) and web.flags[0].project


def _frame_of(events: list[dict[str, Any]]):
    return events_to_frame(events)


def test_application_filter_gives_that_applications_events_and_flags_and_the_union(account):
    apps = apps_mod.parse_applications(account.applications())
    project = "web-storefront"
    web = apps_mod.flag_keys(apps, ["web"], project)
    backend = apps_mod.flag_keys(apps, ["backend"], project)
    assert apps_mod.flag_keys(apps, ["mobile"], project) == frozenset()  # mobile evaluates none of these
    events = [e for e in account.events if e["projectKey"] == project and e["eventTime"] >= NOW - 30 * DAY_MS]
    frame = _frame_of(events)
    only_web = apps_mod.filter_events(frame, web)
    assert 0 < len(only_web) < len(frame)
    assert set(only_web["flag_key"].astype(str)) <= web
    assert sorted(only_web["id"]) == sorted(e["id"] for e in events if e["flagKey"] in web)
    union = apps_mod.filter_events(frame, apps_mod.flag_keys(apps, ["web", "backend"], project))
    assert sorted(union["id"]) == sorted(e["id"] for e in events if e["flagKey"] in web | backend)
    assert len(union) > len(only_web)
    flags = apps_mod.filter_flags(account.flags[project], web)
    assert {f["key"] for f in flags} == web
    assert apps_mod.filter_events(frame, None) is frame  # no application chosen: no filter


def test_local_filter_agrees_with_the_apis_application_key(account):
    """The cross-check the README describes: filtering the stored events by the application's flags gives
    exactly what LaunchDarkly's ``applicationKey`` parameter gives."""
    client = LDClient("demo-token", transport=DemoTransport(DemoApi(account, clock=lambda: NOW)))
    apps = apps_mod.parse_applications(client.applications())
    for project, env in (("web-storefront", "production"), ("payments-platform", "prod-eu")):
        everything = client.flag_events(project, env, NOW - 14 * DAY_MS, NOW).items
        for choice in (["web"], ["backend"], ["web", "mobile"]):
            local = apps_mod.filter_events(_frame_of(everything), apps_mod.flag_keys(apps, choice, project))
            remote = client.flag_events(
                project, env, NOW - 14 * DAY_MS, NOW, application_key=",".join(choice)
            ).items
            assert sorted(local["id"]) == sorted(e["id"] for e in remote), (project, choice)


def test_an_application_listing_without_a_project_counts_in_every_project():
    apps = apps_mod.parse_applications(
        [{"key": "a", "name": "A", "kind": "server", "flags": {"items": [{"key": "shared", "name": "S"}]}}]
    )
    assert apps_mod.flag_keys(apps, ["a"], "p1") == apps_mod.flag_keys(apps, ["a"], "p2") == {"shared"}
    assert apps_mod.unknown_keys(["a", "zz"], apps) == ["zz"]


def test_cli_events_and_metrics_take_an_application(account, tmp_path, monkeypatch, capsys):
    from ldclient import cli

    monkeypatch.setenv("LD_CACHE_DIR", str(tmp_path / "cache"))
    out = io.StringIO()
    base = ["--project", "web-storefront", "--env", "production", "--demo"]
    assert cli.main(["events", *base, "--application", "web"], out=out) == 0
    web_items = [json.loads(line) for line in out.getvalue().splitlines()]
    out = io.StringIO()
    assert cli.main(["events", *base], out=out) == 0
    all_items = [json.loads(line) for line in out.getvalue().splitlines()]
    from ldclient.settings import Settings
    from ldclient.source import open_source

    keys = apps_mod.flag_keys(
        open_source(Settings.load(force_demo=True)).applications(), ["web"], "web-storefront"
    )
    assert web_items and [i["id"] for i in web_items] == [i["id"] for i in all_items if i["flagKey"] in keys]

    out = io.StringIO()
    assert cli.main(["metrics", *base, "--application", "web", "--application", "backend"], out=out) == 0
    report = json.loads(out.getvalue())
    assert report["applications"] == ["web", "backend"]
    assert all(
        f["flag_key"]
        in keys
        | apps_mod.flag_keys(
            open_source(Settings.load(force_demo=True)).applications(), ["backend"], "web-storefront"
        )
        for f in report["flags"]
    )

    assert cli.main(["events", *base, "--application", "nope"], out=io.StringIO()) == 2
    assert "unknown application 'nope'" in capsys.readouterr().err
