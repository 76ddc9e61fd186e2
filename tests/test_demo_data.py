"""The demo account is what the dashboard shows without a token and what the metrics are tested on: it
must be deterministic, shaped like LaunchDarkly's API, and contain every story the metrics look for.

The rules below (rollback, flapping, stale, rehearsed) are re-implemented here on purpose, independently
of the generator, exactly as the issue states them."""

from __future__ import annotations

import bisect
import datetime as dt
import hashlib
import os
import re
import subprocess
import sys
import time
from collections import Counter, defaultdict
from itertools import pairwise
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from ldclient import clock
from ldclient.demo import (
    EVENT_TYPES,
    DemoAccount,
    default_now_ms,
    generate_account,
    make_events,
)
from ldclient.timeutil import DAY_MS

NOW = 1_749_945_600_000  # 2025-06-15T00:00:00Z
HOUR = 3_600_000
SERVING = {"updateOn", "updateFallthrough", "updateRules", "updateTargets", "updateOffVariation"}
KEBAB = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


@pytest.fixture(scope="module")
def account() -> DemoAccount:
    return generate_account(seed=7, now_ms=NOW)


def _bucket(pct: float) -> str:
    if pct == 0:
        return "none"
    if pct < 20:
        return "small"
    if pct <= 80:
        return "medium"
    return "large"


def _tvd(a: list[int], b: list[int]) -> float:
    sa, sb = sum(a), sum(b)
    return 0.5 * sum(abs(x / sa - y / sb) for x, y in zip(a, b, strict=True))


def _counts(event: dict[str, Any], which: str) -> list[int]:
    summary = event["impact"].get("evaluationsSummary") or {}
    return [v[which] for v in summary.get("variations") or []]


def _served_sequences(account: DemoAccount) -> dict[tuple[str, str, str], list[dict[str, Any]]]:
    """Per (project, flag, env): the env's events plus the flag's global events, as the API serves them."""
    envs = {p["key"]: [e["key"] for e in p["environments"]] for p in account.projects}
    seqs: dict[tuple[str, str, str], list[dict[str, Any]]] = defaultdict(list)
    for e in account.events:
        targets = [e["environmentKey"]] if "environmentKey" in e else envs[e["projectKey"]]
        for env in targets:
            seqs[(e["projectKey"], e["flagKey"], env)].append(e)
    for seq in seqs.values():
        seq.sort(key=lambda e: (e["eventTime"], e["id"]))
    return seqs


def _rollbacks(account: DemoAccount) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    found = []
    for seq in _served_sequences(account).values():
        for a, b in pairwise(seq):
            before, after = _counts(a, "before"), _counts(b, "after")
            if (
                b["eventTime"] - a["eventTime"] <= 24 * HOUR
                and a["impact"]["size"] in ("small", "medium", "large")
                and sum(before) > 0
                and sum(after) > 0
                and len(before) == len(after)
                and _tvd(before, after) <= 0.10
            ):
                found.append((a, b))
    return found


def test_same_seed_and_now_give_identical_bytes_and_generation_is_fast(account: DemoAccount) -> None:
    """Regenerated in a fresh interpreter with another hash seed, so neither set/dict order of hashed
    values nor ``hash()`` can leak into the data."""
    code = (
        "import hashlib, time\n"
        "from ldclient.demo import generate_account\n"
        "cpu = time.process_time()\n"
        f"account = generate_account(seed=7, now_ms={NOW})\n"
        "cpu = time.process_time() - cpu\n"
        "print(hashlib.sha256(account.to_json().encode()).hexdigest(), cpu, len(account.events))\n"
    )
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONHASHSEED": "4242", "PYTHONPATH": str(root)}
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    digest, cpu, count = done.stdout.split()
    assert digest == hashlib.sha256(account.to_json().encode()).hexdigest()
    assert float(cpu) < 3.0, f"generating {count} events took {float(cpu):.2f}s of CPU"


def test_different_seed_gives_a_different_account() -> None:
    a = generate_account(seed=7, now_ms=NOW, events_target=3_000)
    b = generate_account(seed=8, now_ms=NOW, events_target=3_000)
    assert a.to_json() != b.to_json()
    assert [e["id"] for e in a.events[:50]] != [e["id"] for e in b.events[:50]]


def test_default_now_is_the_start_of_the_current_utc_day(monkeypatch) -> None:
    monkeypatch.setattr(clock.time, "time", lambda: 1_764_633_599.999)  # 2025-12-01T23:59:59.999Z
    monkeypatch.setenv(clock.OFFSET_VAR, "0")
    assert default_now_ms() == 1_764_547_200_000  # 2025-12-01T00:00:00Z
    monkeypatch.setenv(clock.OFFSET_VAR, "1")  # one millisecond later: the next day
    assert default_now_ms() == 1_764_633_600_000


def test_projects_and_environments(account: DemoAccount) -> None:
    assert len(account.projects) >= 3
    custom = []
    for project in account.projects:
        assert KEBAB.match(project["key"]) and project["_id"] and project["name"]
        keys = [e["key"] for e in project["environments"]]
        assert {"production", "staging", "test"} <= set(keys)
        assert len(set(keys)) == len(keys)
        for env in project["environments"]:
            assert {"_id", "key", "name", "color", "critical", "tags"} <= set(env)
            assert env["critical"] == (env["key"] in ("production", "prod-eu"))
        custom += [k for k in keys if k not in ("production", "staging", "test")]
    assert custom == ["prod-eu"]
    ids = [p["_id"] for p in account.projects]
    ids += [e["_id"] for p in account.projects for e in p["environments"]]
    assert len(set(ids)) == len(ids)


def test_flags_are_realistic(account: DemoAccount) -> None:
    two_years_ago = NOW - 760 * DAY_MS
    string_values = json_values = 0
    for project in account.projects:
        flags = account.flags[project["key"]]
        assert 150 <= len(flags) <= 300
        keys = [f["key"] for f in flags]
        assert len(set(keys)) == len(keys)
        assert sum(f["archived"] for f in flags) >= 5
        assert any(f["temporary"] for f in flags) and any(not f["temporary"] for f in flags)
        env_keys = {e["key"] for e in project["environments"]}
        for f in flags:
            assert KEBAB.match(f["key"]), f["key"]
            assert f["kind"] in ("boolean", "multivariate") and f["name"] and isinstance(f["tags"], list)
            assert two_years_ago <= f["creationDate"] < NOW
            assert {"_id", "email", "firstName", "lastName"} <= set(f["_maintainer"])
            assert all({"_id", "value", "name"} <= set(v) for v in f["variations"])
            assert set(f["environments"]) == env_keys
            assert all({"on", "lastModified", "_summary"} <= set(c) for c in f["environments"].values())
            if f["archived"]:
                assert f["archivedDate"] <= NOW
            if f["kind"] == "multivariate":
                values = [v["value"] for v in f["variations"]]
                string_values += all(isinstance(v, str) for v in values)
                json_values += all(isinstance(v, dict) for v in values)
        created = sorted(f["creationDate"] for f in flags)
        assert created[0] < NOW - 365 * DAY_MS and created[-1] > NOW - 7 * DAY_MS  # spread over ~2 years
    assert string_values > 5 and json_values > 5


def test_events_have_launchdarklys_shape(account: DemoAccount) -> None:
    events = account.events
    assert 49_000 <= len(events) <= 51_000
    assert len({e["id"] for e in events}) == len(events)
    projects = {p["key"]: p for p in account.projects}
    global_events = 0
    for e in events:
        project = projects[e["projectKey"]]
        assert e["projectId"] == project["_id"]
        assert NOW - 180 * DAY_MS <= e["eventTime"] < NOW
        assert e["eventType"] in EVENT_TYPES
        assert isinstance(e["description"], str) and e["description"]
        assert isinstance(e["auditLogEntryId"], str) and e["auditLogEntryId"]
        assert e["actions"] and all(isinstance(a, str) for a in e["actions"])
        assert re.match(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$", e["id"])
        if "environmentKey" in e:
            env = next(x for x in project["environments"] if x["key"] == e["environmentKey"])
            assert e["environmentId"] == env["_id"]
        else:
            global_events += 1
            assert "environmentId" not in e
            assert e["impact"]["size"] == "none"
        if "member" in e:
            assert set(e["member"]) == {"id", "email", "firstName", "lastName"}
        assert e["experiments"]["totalCount"] == len(e["experiments"]["items"])
    assert global_events > 500
    assert {"flag-created", "flag-updated", "flag-archived"} <= {e["eventType"] for e in events}


def test_impact_size_and_percentage_agree_with_the_evaluation_counts(account: DemoAccount) -> None:
    sizes: Counter[str] = Counter()
    for e in account.events:
        impact = e["impact"]
        assert 0 <= impact["percentage"] <= 100
        assert impact["size"] == _bucket(impact["percentage"]), e
        before, after = _counts(e, "before"), _counts(e, "after")
        if sum(before) > 0 and sum(after) > 0:
            assert abs(_tvd(before, after) * 100 - impact["percentage"]) < 0.006, e
        sizes[impact["size"]] += 1
    assert all(sizes[s] > 100 for s in ("none", "small", "medium", "large")), sizes


def test_members_and_automation(account: DemoAccount) -> None:
    assert 15 <= len(account.members) <= 25
    emails = [m["email"] for m in account.members]
    assert len(set(emails)) == len(emails)
    teams = {t["key"] for m in account.members for t in m["teams"]}
    assert len(teams) >= 4
    without = sum(1 for e in account.events if "member" not in e)
    assert 0 < without < 0.05 * len(account.events)
    active = Counter(e["member"]["email"] for e in account.events if "member" in e)
    assert len(active) >= 15


def test_changes_peak_on_weekdays_and_working_hours_but_not_only(account: DemoAccount) -> None:
    weekdays: Counter[int] = Counter()
    local_hours: Counter[int] = Counter()
    zones = {m["email"]: m["timeZone"] for m in account.members}
    for e in account.events[::7]:
        if "member" not in e:
            continue
        when = dt.datetime.fromtimestamp(e["eventTime"] / 1000, ZoneInfo(zones[e["member"]["email"]]))
        weekdays[when.weekday()] += 1
        local_hours[when.hour] += 1
    total = sum(weekdays.values())
    weekend = weekdays[5] + weekdays[6]
    assert 0 < weekend < 0.12 * total
    office = sum(n for h, n in local_hours.items() if 8 <= h <= 18)
    assert office > 0.85 * total
    assert sum(n for h, n in local_hours.items() if h < 6 or h > 21) > 0


def test_rollbacks_are_detectable(account: DemoAccount) -> None:
    pairs = _rollbacks(account)
    assert len(pairs) >= 10
    explicit = [(a, b) for a, b in pairs if b["description"].startswith("Rolled back")]
    assert explicit, "the scripted rollbacks must satisfy the rule"
    impactful = sum(
        1 for e in account.events if e["impact"]["size"] != "none" and sum(_counts(e, "before")) > 0
    )
    assert len(pairs) < 0.1 * impactful  # rollbacks are notable, not the norm


def test_flapping_flags_exist(account: DemoAccount) -> None:
    toggles: dict[tuple[str, str, str], list[int]] = defaultdict(list)
    for e in account.events:
        if "environmentKey" in e and "updateOn" in e["actions"]:
            toggles[(e["projectKey"], e["flagKey"], e["environmentKey"])].append(e["eventTime"])
    flapping = {
        k
        for k, ts in toggles.items()
        if any(b - a <= 7 * DAY_MS for a, b in zip(sorted(ts), sorted(ts)[2:], strict=False))
    }
    assert len(flapping) >= 3
    assert len(flapping) < 0.1 * sum(len(v) for v in account.flags.values())


def test_progressive_rollouts_move_from_test_to_staging_to_production(account: DemoAccount) -> None:
    by_flag: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for e in account.events:
        by_flag[(e["projectKey"], e["flagKey"])].append(e)
    progressive = 0
    for events in by_flag.values():
        events.sort(key=lambda e: (e["eventTime"], e["id"]))
        first_on = {}
        for e in events:
            if "updateOn" in e["actions"] and e.get("environmentKey") not in first_on:
                first_on[e.get("environmentKey")] = e["eventTime"]
        prod = [e["description"] for e in events if e.get("environmentKey") == "production"]
        steps = [
            s
            for s in ("10% rollout", "25% rollout", "50% rollout", "serve 'true'")
            if any(s in d for d in prod)
        ]
        ordered = first_on.get("test", NOW) < first_on.get("staging", 0) < first_on.get("production", 0)
        if len(steps) == 4 and ordered:
            progressive += 1
    assert progressive >= 5


def test_stale_temporary_flags_exist(account: DemoAccount) -> None:
    last: dict[tuple[str, str, str | None], int] = defaultdict(int)
    for e in account.events:
        key = (e["projectKey"], e["flagKey"], e.get("environmentKey"))
        last[key] = max(last[key], e["eventTime"])
    stale = []
    for project, flags in account.flags.items():
        status = {
            s["_links"]["parent"]["href"].rsplit("/", 1)[1]: s["name"]
            for s in account.statuses[(project, "production")]
        }
        for f in flags:
            latest = max(last[(project, f["key"], "production")], last[(project, f["key"], None)])
            quiet = latest < NOW - 7 * DAY_MS
            if (
                f["temporary"]
                and not f["archived"]
                and f["creationDate"] <= NOW - 30 * DAY_MS
                and status[f["key"]] in ("inactive", "launched")
                and quiet
            ):
                stale.append((project, f["key"]))
    per_project = Counter(p for p, _ in stale)
    assert all(per_project[p["key"]] >= 5 for p in account.projects), per_project


def test_every_status_occurs_in_every_environment(account: DemoAccount) -> None:
    for project in account.projects:
        flag_keys = {f["key"] for f in account.flags[project["key"]]}
        for env in project["environments"]:
            items = account.statuses[(project["key"], env["key"])]
            assert {s["name"] for s in items} == {"new", "active", "inactive", "launched"}
            assert {s["_links"]["parent"]["href"].rsplit("/", 1)[1] for s in items} == flag_keys
            for s in items:
                assert s["_links"]["parent"]["href"].startswith(f"/api/v2/flags/{project['key']}/")
                assert s.get("lastRequested", "") is not None  # a string, or left out: never null
                if "lastRequested" in s:
                    assert dt.datetime.fromisoformat(s["lastRequested"]).timestamp() * 1000 <= NOW
                if s["name"] == "new":
                    assert "lastRequested" not in s


def test_production_changes_are_mostly_rehearsed_but_not_all(account: DemoAccount) -> None:
    critical = {(p["key"], e["key"]): e["critical"] for p in account.projects for e in p["environments"]}
    rehearsals: dict[tuple[str, str], list[int]] = defaultdict(list)
    for e in account.events:
        env = e.get("environmentKey")
        if env is not None and not critical[(e["projectKey"], env)] and SERVING & set(e["actions"]):
            rehearsals[(e["projectKey"], e["flagKey"])].append(e["eventTime"])
    for times in rehearsals.values():
        times.sort()
    rehearsed = unrehearsed = 0
    for e in account.events:
        if e.get("environmentKey") == "production" and SERVING & set(e["actions"]):
            times = rehearsals.get((e["projectKey"], e["flagKey"]), [])
            i = bisect.bisect_left(times, e["eventTime"] - 14 * DAY_MS)
            if i < len(times) and times[i] < e["eventTime"]:
                rehearsed += 1
            else:
                unrehearsed += 1
    assert unrehearsed >= 20
    assert rehearsed > 2 * unrehearsed


def test_experiments_are_attached_to_some_events(account: DemoAccount) -> None:
    with_experiments = [e for e in account.events if e["experiments"]["totalCount"] > 0]
    assert 10 <= len(with_experiments) < 0.05 * len(account.events)
    for e in with_experiments:
        for item in e["experiments"]["items"]:
            iteration = item["iteration"]
            assert item["key"] and item["name"] and iteration["id"]
            assert iteration["status"] in ("running", "stopped")
            assert iteration["startedAt"] <= e["eventTime"] <= iteration.get("endedAt", NOW)


def test_make_events_and_add_events() -> None:
    account = generate_account(seed=3, now_ms=NOW, events_target=4_000)
    start, end = NOW - 90 * DAY_MS, NOW
    cpu = time.process_time()
    extra = account.make_events(6_000, "mobile-app", "production", start, end, seed=1)
    assert time.process_time() - cpu < 2.0
    assert extra == account.make_events(6_000, "mobile-app", "production", start, end, seed=1)
    env = account.environment("mobile-app", "production")
    assert env is not None
    assert all(e["environmentId"] == env["_id"] and start <= e["eventTime"] < end for e in extra)
    assert all(e["impact"]["size"] == _bucket(e["impact"]["percentage"]) for e in extra)
    before, revision = len(account.events), account.revision
    assert account.add_events(extra) == 6_000
    assert len(account.events) == before + 6_000 and account.revision == revision + 1
    times = [e["eventTime"] for e in account.events]
    assert times == sorted(times)
    with pytest.raises(ValueError, match="duplicate"):
        account.add_events(extra[:1])
    with pytest.raises(ValueError, match="unknown"):
        account.add_events(make_events(1, "mobile-app", "prod-eu", start, end, seed=2))
    standalone = make_events(5, "p", "e", start, end, seed=9)
    assert len(standalone) == 5 and standalone == make_events(5, "p", "e", start, end, seed=9)


def test_invariants_hold_for_other_seeds_and_today() -> None:
    account = generate_account(seed=11, now_ms=default_now_ms(), events_target=8_000)
    now = account.now_ms
    assert all(now - 180 * DAY_MS <= e["eventTime"] < now for e in account.events)
    assert all(e["impact"]["size"] == _bucket(e["impact"]["percentage"]) for e in account.events)
    for key, items in account.statuses.items():
        assert {s["name"] for s in items} == {"new", "active", "inactive", "launched"}, key
    assert any(b["description"].startswith("Rolled back") for _, b in _rollbacks(account))
