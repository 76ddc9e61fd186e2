"""The digest (issue 19): items as defined, delivered once per destination, to a real local HTTP receiver
and a real local SMTP server, with retries, routing, crashes, replays and secrets that appear nowhere."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import signal
import subprocess
import threading
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from ldclient import clock as ld_clock
from ldclient.digest.config import Destination, DigestConfig, SMTPConfig, load_config
from ldclient.digest.delivery import deliver
from ldclient.digest.email import EmailSender
from ldclient.digest.items import ITEM_FIELDS, DigestItem, Links, ProjectData, collect_items
from ldclient.digest.run import run_digest
from ldclient.digest.slack import SlackSender
from ldclient.digest.webhook import SIGNATURE_HEADER, WebhookSender
from ldclient.errors import ConfigError
from ldclient.frame import events_to_frame
from ldclient.lifecycle import code_refs_to_frame, statuses_to_frame
from ldclient.settings import Secret, Settings
from ldclient.source import open_source
from ldclient.store import SQLiteStore
from tests.smtp_server import SMTPServer
from tests.support import cli_env, popen_cli, run_cli
from tests.test_store import Backend

DAY = 86_400_000
HOUR = 3_600_000
NOW = 1_781_092_800_000  # Wed 2026-06-10 12:00 UTC
HOOK_TOKEN = "T0ps3cretHookPath"  # the webhook URL's path is a secret, as Slack's and most receivers' are
HMAC_KEY = "hmac-K3y-never-shown"
SMTP_PASSWORD = "smtp-Pa55-never-shown"


# -- a real local HTTP receiver -------------------------------------------------------------------------------


class Receiver(ThreadingHTTPServer):
    """Answers POSTs with the statuses queued in ``plan`` (then 200) and keeps what it accepted."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.plan: list[int] = []
        self.seen: list[tuple[int, dict[str, str], bytes]] = []  # every request: status, headers, body
        self.on_request: Any = None
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hooks/{HOOK_TOKEN}"

    def accepted(self) -> list[dict[str, Any]]:
        return [json.loads(body) for status, _, body in self.seen if status == 200]

    def accepted_keys(self) -> list[str]:
        return [i["idempotency_key"] for body in self.accepted() for i in body["items"]]


class _Handler(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:  # noqa: N802
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with self.server.lock:
            status = self.server.plan.pop(0) if self.server.plan else 200
            self.server.seen.append((status, dict(self.headers), body))
        if self.server.on_request is not None:
            self.server.on_request(self)
        self.send_response(status)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: Any) -> None:
        return None


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def backend(request, tmp_path):
    b = Backend(getattr(request, "param", "sqlite"), tmp_path)
    yield b
    b.cleanup()


both = pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)


class Sleeps:
    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


def item(i: int, *, team: str | None = None, owner: str | None = None, t: int = NOW - HOUR) -> dict[str, Any]:
    return DigestItem(
        type="rollback",
        project="web",
        environment="production",
        flag_key=f"flag-{i}",
        time_ms=t,
        summary=f"rolled back {i}",
        owner=owner,
        team=team,
        link=f"http://dash.test/flag_detail?flag=flag-{i}",
        launchdarkly_link=f"https://app.launchdarkly.com/projects/web/flags/flag-{i}",
        identity=f"event-{i}",
        source="https://ld.test",
    ).to_json()


def hook(receiver: Receiver, name: str = "webhook") -> WebhookSender:
    return WebhookSender(name, Secret(receiver.url), Secret(HMAC_KEY), timeout_s=5)


def clock(start: int = NOW) -> Any:
    t = [start]

    def now() -> int:
        t[0] += 1
        return t[0]

    return now


# -- items: the definitions, on hand-built data ---------------------------------------------------------------


def _event(i: int, t: int, flag: str, env: str | None = "production", **extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": f"ev-{i:04d}",
        "projectKey": "web",
        "flagKey": flag,
        "eventType": "flag-updated",
        "eventTime": t,
        "actions": ["updateName"],
        "member": {"email": "dev@example.com"},
        "impact": {"size": "small", "percentage": 1.0},
    }
    if env:
        out["environmentKey"] = env
    out.update(extra)
    return out


def _flag(key: str, *, maintainer: str | None, tags: list[str], temporary: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {
        "key": key,
        "name": key,
        "temporary": temporary,
        "archived": False,
        "creationDate": NOW - 90 * DAY,
        "tags": tags,
    }
    if maintainer:
        out["_maintainer"] = {"email": maintainer}
    return out


def hand_built() -> ProjectData:
    wed = NOW - 7 * DAY  # Wed 2026-06-03 12:00 UTC: working hours
    summary_a = {
        "variations": [
            {"value": True, "before": 90, "after": 10},
            {"value": False, "before": 10, "after": 90},
        ]
    }
    summary_b = {
        "variations": [
            {"value": True, "before": 10, "after": 88},
            {"value": False, "before": 90, "after": 12},
        ]
    }
    serving = ["updateFallthrough"]
    events = [
        # a rehearsal in staging, then a change rolled back 2 h later in production (both rehearsed)
        _event(1, wed - DAY + HOUR, "checkout", "staging", actions=serving),
        _event(
            2,
            wed + HOUR,
            "checkout",
            actions=serving,
            impact={"size": "medium", "evaluationsSummary": summary_a},
        ),
        _event(
            3,
            wed + 3 * HOUR,
            "checkout",
            actions=serving,
            impact={"size": "small", "evaluationsSummary": summary_b},
        ),
        # a large change with no experiment (Thursday 10:00 UTC)
        _event(4, wed + DAY - 2 * HOUR, "checkout", impact={"size": "large", "percentage": 62.5}),
        # an unrehearsed serving change to the flag nobody maintains (Thursday 14:00)
        _event(5, wed + DAY + 2 * HOUR, "orphan", actions=["updateRules"]),
        # a rehearsal in staging, then three toggles within a day (Mon 10:00, Mon 16:00, Tue 10:00): flapping
        _event(11, NOW - 2 * DAY - 3 * HOUR, "flappy", "staging", actions=["updateOn"]),
        *[
            _event(6 + k, NOW - 2 * DAY - 2 * HOUR + h * HOUR, "flappy", actions=["updateOn"])
            for k, h in enumerate((0, 6, 24))
        ],
        # a change on Saturday 02:00 UTC: off-hours
        _event(9, NOW - 4 * DAY - 10 * HOUR, "checkout"),
        # the stale flag's last change, 10 days ago in production (Sunday 2026-05-31 12:00, off-hours too,
        # but before the 7-day window)
        _event(10, NOW - 10 * DAY, "old-flag"),
    ]
    flags = [
        _flag("old-flag", maintainer="ana@example.com", tags=["team-payments"]),
        _flag("checkout", maintainer="bob@example.com", tags=["team-checkout"]),
        _flag("flappy", maintainer="carol@example.com", tags=[]),
        _flag("orphan", maintainer=None, tags=["ops"], temporary=False),
    ]
    statuses = statuses_to_frame(
        [
            {"name": "launched", "_links": {"parent": {"href": f"/api/v2/flags/web/{k}"}}}
            for k in ("old-flag", "checkout", "flappy", "orphan")
        ],
        "production",
    )
    return ProjectData(
        project="web",
        environments=[{"key": "production", "critical": True}, {"key": "staging", "critical": False}],
        flag_items=flags,
        statuses=statuses,
        events=events_to_frame(events),
        source="https://ld.test",
    )


LINKS = Links("https://flags.example.com", "https://app.launchdarkly.com")


def test_every_item_type_is_found_with_every_field():
    items = collect_items(hand_built(), NOW - 7 * DAY, NOW, LINKS)
    found = {(i.type, i.flag_key) for i in items}
    assert found == {
        ("stale_flag", "old-flag"),
        ("no_maintainer", "orphan"),
        ("rollback", "checkout"),
        ("flapping", "flappy"),
        ("large_unguarded", "checkout"),
        ("unrehearsed_change", "orphan"),
        ("off_hours_change", "checkout"),
    }, found
    by_type = {i.type: i for i in items}
    stale = by_type["stale_flag"]
    assert stale.time_ms == NOW - 3 * DAY  # 7 days after its last change: when it became stale
    assert (stale.owner, stale.team, stale.environment) == ("ana@example.com", "payments", "production")
    assert stale.link.startswith("https://flags.example.com/cleanup?project=web&env=production")
    assert by_type["no_maintainer"].owner is None and by_type["no_maintainer"].environment is None
    assert by_type["rollback"].time_ms == NOW - 7 * DAY + 3 * HOUR
    assert "2.0 h later" in by_type["rollback"].summary
    assert by_type["flapping"].time_ms == NOW - DAY - 2 * HOUR  # the third toggle
    assert "62.5%" in by_type["large_unguarded"].summary
    assert by_type["off_hours_change"].time_ms == NOW - 4 * DAY - 10 * HOUR
    for i in items:
        row = i.to_json()
        assert list(row) == list(ITEM_FIELDS)
        assert row["launchdarkly_link"].startswith("https://app.launchdarkly.com/projects/web/flags/")
        assert row["link"].startswith("https://flags.example.com/") and "flag=" in row["link"]
        assert datetime.strptime(row["time"], "%Y-%m-%dT%H:%M:%SZ")


def test_an_items_key_depends_on_what_it_is_not_on_when_the_digest_ran():
    data = hand_built()
    week = {i.idempotency_key: i.type for i in collect_items(data, NOW - 7 * DAY, NOW, LINKS)}
    later = {i.idempotency_key: i.type for i in collect_items(data, NOW - 30 * DAY, NOW + 5 * HOUR, LINKS)}
    assert set(week) <= set(later)  # the same items, the same keys, from a later run over a longer window
    assert len(set(week)) == len(week)
    other_account = collect_items(
        ProjectData(**{**data.__dict__, "source": "https://other.test"}), NOW - 7 * DAY, NOW, LINKS
    )
    assert not set(week) & {i.idempotency_key for i in other_account}


def test_a_window_leaves_out_what_happened_before_it():
    items = collect_items(hand_built(), NOW - 2 * DAY, NOW, LINKS)
    # the flapping spell completes inside; no_maintainer is a condition that holds now
    assert {i.type for i in items} == {"flapping", "no_maintainer"}


# -- cleanup stages and departed maintainers (LaunchDarkly's lifecycle stages, owner status) -------------------

MEMBERS = [{"_id": "m1", "email": "ana@example.com"}, {"_id": "m2", "email": "bob@example.com"}]
TEAMS = [{"key": "payments", "name": "Payments"}]


def _cleanup_flag(key: str, age_days: int = 60, **extra: Any) -> dict[str, Any]:
    config = {"on": True, "fallthrough": {"variation": 0}, "offVariation": 1, "rules": [], "targets": []}
    return {
        "key": key,
        "name": key,
        "kind": "boolean",
        "temporary": True,
        "archived": False,
        "deprecated": False,
        "creationDate": NOW - age_days * DAY,
        "tags": [],
        "variations": [{"value": True, "name": "On"}, {"value": False, "name": "Off"}],
        "environments": {"production": config},
        "_maintainer": {"_id": "m1", "email": "ana@example.com"},
        **extra,
    }


def cleanup_data(
    *, code: bool = True, members: bool = True, events: list[dict[str, Any]] = ()
) -> ProjectData:
    flags = [
        _cleanup_flag("remove-me"),  # launched, referenced in code
        _cleanup_flag(
            "archive-me", _maintainer={"_id": "m2", "email": "bob@example.com"}
        ),  # inactive, no refs
        _cleanup_flag("keep-live"),  # launched but no code references: live
        _cleanup_flag("too-young", age_days=10),  # inactive, no refs, under 30 days: live
        _cleanup_flag(
            "left-flag", _maintainer={"_id": "m9", "email": "gone@example.com"}, tags=["team-payments"]
        ),
        _cleanup_flag("gone-team", _maintainer=None, _maintainerTeam={"key": "old-team"}),
        _cleanup_flag("ours", _maintainer=None, _maintainerTeam={"key": "payments"}),
    ]
    names = {
        "remove-me": "launched",
        "archive-me": "inactive",
        "keep-live": "launched",
        "too-young": "inactive",
    }
    statuses = statuses_to_frame(
        [
            {
                "name": names.get(f["key"], "active"),
                "_links": {"parent": {"href": f"/api/v2/flags/web/{f['key']}"}},
            }
            for f in flags
        ],
        "production",
    )
    refs = {
        "_links": {},
        "flags": {
            "remove-me": [
                {"name": "web", "sourceLink": "https://github.com/acme/web", "hunkCount": 3, "fileCount": 2}
            ]
        },
    }
    return ProjectData(
        project="web",
        environments=[{"key": "production", "critical": True}, {"key": "staging", "critical": False}],
        flag_items=flags,
        statuses=statuses,
        events=events_to_frame([_event(90, NOW - 40 * DAY, "keep-live", "staging"), *events]),
        source="https://ld.test",
        stage_items=flags,
        code_refs=code_refs_to_frame(refs) if code else None,
        members=MEMBERS if members else None,
        teams=TEAMS if members else None,
    )


CLEANUP_TYPES = ("ready_for_code_removal", "ready_to_archive", "maintainer_left")


def cleanup_items(data: ProjectData, now: int = NOW) -> list[DigestItem]:
    return [i for i in collect_items(data, now - 7 * DAY, now, LINKS) if i.type in CLEANUP_TYPES]


def test_cleanup_stages_and_departed_maintainers_are_items_with_every_field():
    items = cleanup_items(cleanup_data())
    assert {(i.type, i.flag_key) for i in items} == {
        ("ready_for_code_removal", "remove-me"),
        ("ready_to_archive", "archive-me"),
        ("maintainer_left", "left-flag"),
        ("maintainer_left", "gone-team"),
    }
    by_flag = {i.flag_key: i for i in items}
    remove = by_flag["remove-me"]
    assert "launched in every critical environment" in remove.summary and "keep serving On" in remove.summary
    assert (remove.owner, remove.environment) == ("ana@example.com", None)
    assert remove.time_ms == NOW - 30 * DAY  # no change stored: when it became old enough (30 days)
    assert remove.link == "https://flags.example.com/cleanup?project=web&flag=remove-me"
    assert remove.launchdarkly_link == "https://app.launchdarkly.com/projects/web/flags/remove-me"
    assert by_flag["archive-me"].owner == "bob@example.com" and "inactive" in by_flag["archive-me"].summary
    left = by_flag["left-flag"]
    assert "gone@example.com" in left.summary and (left.owner, left.team) == ("payments", "payments")
    gone = by_flag["gone-team"]
    assert "old-team" in gone.summary and (gone.owner, gone.team) == (None, None)
    for i in items:
        row = i.to_json()
        assert list(row) == list(ITEM_FIELDS) and "\n" not in row["summary"]
        assert datetime.strptime(row["time"], "%Y-%m-%dT%H:%M:%SZ")
    # a condition that holds now: reported whatever the window, with the same key from a later run
    later = cleanup_items(cleanup_data(), NOW + 40 * DAY)
    assert {i.idempotency_key for i in later} >= {
        i.idempotency_key for i in items if i.flag_key != "too-young"
    }


def test_no_cleanup_stage_without_code_references_and_nobody_left_without_members():
    assert {i.type for i in cleanup_items(cleanup_data(code=False))} == {"maintainer_left"}
    assert {i.type for i in cleanup_items(cleanup_data(members=False))} == {
        "ready_for_code_removal",
        "ready_to_archive",
    }
    assert cleanup_items(cleanup_data(code=False, members=False)) == []
    assert not {i.type for i in collect_items(hand_built(), NOW - 7 * DAY, NOW, LINKS)} & set(CLEANUP_TYPES)


def test_cleanup_items_are_delivered_once_and_again_when_the_stage_is_entered_again(tmp_path, receiver):
    store = SQLiteStore(tmp_path / "s.sqlite")
    first = deliver(store, hook(receiver), [i.to_json() for i in cleanup_items(cleanup_data())], now=clock())
    assert first.outcome == "delivered" and len(first.delivered) == 4
    again = cleanup_items(cleanup_data(), NOW + HOUR)
    second = deliver(store, hook(receiver), [i.to_json() for i in again], now=clock(NOW + HOUR))
    assert second.outcome == "empty" and second.delivered == []
    # remove-me changed (out of the stage) and is ready for code removal again: a new item, only that one
    changed = cleanup_data(events=[_event(1, NOW + 2 * HOUR, "remove-me")])
    back = cleanup_items(changed, NOW + 3 * HOUR)
    third = deliver(store, hook(receiver), [i.to_json() for i in back], now=clock(NOW + 3 * HOUR))
    assert [(i["type"], i["flag_key"]) for i in third.delivered] == [("ready_for_code_removal", "remove-me")]
    assert third.delivered[0]["time"] == "2026-06-10T14:00:00Z"  # entered again at its last change
    keys = receiver.accepted_keys()
    assert len(keys) == len(set(keys)) == 5


# -- delivery: exactly once per item and destination -----------------------------------------------------------


@both
def test_first_run_delivers_and_a_second_delivers_nothing_new(backend, receiver):
    store = backend.open()
    items = [item(i) for i in range(5)]
    first = deliver(store, hook(receiver), items, now=clock(), sleep=Sleeps())
    assert first.outcome == "delivered" and len(first.delivered) == 5 and first.pending == 0
    second = deliver(store, hook(receiver), items, now=clock(NOW + HOUR), sleep=Sleeps())
    assert second.outcome == "empty" and second.delivered == [] and second.items == []
    assert len(receiver.seen) == 1  # nothing sent the second time
    assert sorted(receiver.accepted_keys()) == sorted(i["idempotency_key"] for i in items)
    third = deliver(store, hook(receiver), [*items, item(9)], now=clock(NOW + 2 * HOUR), sleep=Sleeps())
    assert [i["flag_key"] for i in third.delivered] == ["flag-9"]  # only what is new
    runs = store.digest_runs()
    assert [r.outcome for r in runs] == ["delivered", "empty", "delivered"]
    assert runs[2].item_keys == tuple(sorted(i["idempotency_key"] for i in items))


@both
def test_a_receiver_answering_500_then_200_gets_every_item_exactly_once_over_two_runs(backend, receiver):
    store = backend.open()
    items = [item(i) for i in range(4)]
    receiver.plan = [500, 500, 500]
    sleeps = Sleeps()
    first = deliver(store, hook(receiver), items, now=clock(), attempts=3, backoff_s=2.0, sleep=sleeps)
    assert first.outcome == "failed" and first.pending == 4 and first.delivered == []
    assert sleeps.calls == [2.0, 4.0]  # backoff within the run, not waited for in the test
    assert "HTTP 500" in first.message
    assert [s.state for s in store.digest_states("webhook")] == ["pending"] * 4
    second = deliver(store, hook(receiver), [], now=clock(NOW + DAY), sleep=Sleeps())  # pending stays pending
    assert second.outcome == "delivered" and len(second.delivered) == 4
    assert Counter(receiver.accepted_keys()) == Counter({i["idempotency_key"]: 1 for i in items})
    assert [r.outcome for r in store.digest_runs()] == ["delivered", "failed"]
    assert {s.attempts for s in store.digest_states("webhook")} == {2}


@both
def test_two_digests_at_once_send_once(backend, receiver):
    first, second = backend.open(), backend.open()  # two processes' stores on one file or database
    items = [item(i) for i in range(20)]
    start = threading.Barrier(2)
    results = []

    def run(store: Any) -> None:
        start.wait()
        results.append(deliver(store, hook(receiver), items, now=clock(), sleep=Sleeps()))

    threads = [threading.Thread(target=run, args=(s,)) for s in (first, second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(len(r.delivered) for r in results) == [0, 20]
    assert Counter(receiver.accepted_keys()) == Counter({i["idempotency_key"]: 1 for i in items})


def test_a_failure_midway_keeps_what_was_accepted_and_the_rest_pending(tmp_path, receiver):
    store = SQLiteStore(tmp_path / "s.sqlite")
    sender = hook(receiver)
    sender.max_batch = 2
    receiver.plan = [200, 503, 503]
    result = deliver(store, sender, [item(i) for i in range(5)], now=clock(), attempts=2, sleep=Sleeps())
    assert result.outcome == "failed" and len(result.delivered) == 2 and result.pending == 3
    states = Counter(s.state for s in store.digest_states("webhook"))
    assert states == {"sent": 2, "pending": 3}
    again = deliver(store, sender, [], now=clock(NOW + DAY), sleep=Sleeps())
    assert len(again.delivered) == 3
    assert len(receiver.accepted_keys()) == len(set(receiver.accepted_keys())) == 5


def test_dry_run_and_replay_change_no_state(tmp_path, receiver):
    store = SQLiteStore(tmp_path / "s.sqlite")
    items = [item(i) for i in range(3)]
    dry = deliver(store, hook(receiver), items, now=clock(), dry_run=True)
    assert len(dry.items) == 3 and receiver.seen == [] and store.digest_states("webhook") == []
    assert store.digest_runs() == []
    deliver(store, hook(receiver), items[:1], now=clock(), sleep=Sleeps())
    dry = deliver(store, hook(receiver), items, now=clock(), dry_run=True)
    assert [i["flag_key"] for i in dry.items] == ["flag-1", "flag-2"]  # what is new, nothing sent or marked
    before = (store.digest_states("webhook"), store.digest_runs())
    replay = deliver(store, hook(receiver), items, now=clock(), replay=True, sleep=Sleeps())
    assert replay.outcome == "replay" and len(replay.delivered) == 3
    assert (store.digest_states("webhook"), store.digest_runs()) == before
    assert Counter(receiver.accepted_keys())[items[0]["idempotency_key"]] == 2  # sent again, on purpose


def test_the_webhook_body_is_signed_and_carries_the_idempotency_keys(tmp_path, receiver):
    store = SQLiteStore(tmp_path / "s.sqlite")
    deliver(store, hook(receiver), [item(1), item(2)], now=clock(), sleep=Sleeps())
    _, headers, body = receiver.seen[0]
    expected = "sha256=" + hmac.new(HMAC_KEY.encode(), body, hashlib.sha256).hexdigest()
    assert headers[SIGNATURE_HEADER] == expected
    assert set(json.loads(body)) == {"items"}
    assert [i["idempotency_key"] for i in json.loads(body)["items"]] == [
        item(1)["idempotency_key"],
        item(2)["idempotency_key"],
    ]
    unsigned = WebhookSender("plain", Secret(receiver.url))
    deliver(store, unsigned, [item(3)], now=clock(), sleep=Sleeps())
    assert SIGNATURE_HEADER not in receiver.seen[1][1]


def test_slack_gets_block_kit_grouped_by_owner_in_messages_slack_accepts(tmp_path, receiver):
    store = SQLiteStore(tmp_path / "s.sqlite")
    items = [item(i, owner="ana@example.com" if i % 2 else None) for i in range(40)]
    result = deliver(
        store, SlackSender("slack.team", Secret(receiver.url)), items, now=clock(), sleep=Sleeps()
    )
    assert len(result.delivered) == 40
    bodies = receiver.accepted()
    assert len(bodies) == 3  # 15 items a message
    for body in bodies:
        assert body["text"] and 0 < len(body["blocks"]) <= 50
        assert body["blocks"][0]["type"] == "header"
        assert all(len(b.get("text", {}).get("text", "")) <= 3000 for b in body["blocks"])
    owners = [
        b["text"]["text"]
        for b in bodies[0]["blocks"]
        if b["type"] == "section" and b["text"]["text"].startswith("*")
    ]
    assert owners[0].startswith("*ana@example.com*") and owners[-1].startswith("*No owner*")
    text = json.dumps(bodies)
    assert "<http://dash.test/flag_detail?flag=flag-1|flag-1>" in text


def test_email_over_a_real_smtp_server_plain_and_html_retried_then_delivered(tmp_path):
    store = SQLiteStore(tmp_path / "s.sqlite")
    with SMTPServer() as smtp:
        cfg = SMTPConfig("127.0.0.1", smtp.port, "flags@example.com", "digest", Secret(SMTP_PASSWORD))
        sender = EmailSender("email.team", ["team@example.com"], cfg, timeout_s=5)
        smtp.fail_next = 3
        items = [item(i, owner="ana@example.com") for i in range(3)]
        failed = deliver(store, sender, items, now=clock(), attempts=3, sleep=Sleeps())
        assert failed.outcome == "failed" and failed.message.startswith("the SMTP server answered 451")
        assert smtp.messages == []
        ok = deliver(store, sender, [], now=clock(NOW + DAY), sleep=Sleeps())
        assert ok.outcome == "delivered" and len(ok.delivered) == 3
        assert len(smtp.messages) == 1
        mail_from, rcpts, msg = smtp.messages[0]
        assert (mail_from, rcpts) == ("flags@example.com", ["team@example.com"])
        assert smtp.logins[-1] == ("digest", SMTP_PASSWORD)
        assert msg["Subject"] == "Flag health: 3 new items"
        plain = msg.get_body(("plain",)).get_content()
        html = msg.get_body(("html",)).get_content()
        assert "ana@example.com (3)" in plain and "rolled back 1" in plain
        assert (
            "<h3>ana@example.com (3)</h3>" in html
            and 'href="http://dash.test/flag_detail?flag=flag-1"' in html
        )
        assert SMTP_PASSWORD not in failed.message + ok.message


# -- routing, configuration ------------------------------------------------------------------------------------


def test_config_from_toml_routes_by_team_and_maintainer(tmp_path):
    path = tmp_path / "digest.toml"
    path.write_text(
        f"""
LD_DIGEST_WEBHOOK_SECRET = "{HMAC_KEY}"
LD_DASHBOARD_URL = "https://flags.example.com/"
[webhook.checkout]
url = "http://127.0.0.1:9/{HOOK_TOKEN}"
[slack.payments]
webhook_url = "https://hooks.slack.com/services/{HOOK_TOKEN}"
[smtp]
host = "127.0.0.1"
password = "{SMTP_PASSWORD}"
username = "u"
[email.ana]
to = ["ana@example.com"]
[routing]
checkout = "webhook.checkout"
payments = "slack.payments"
"ana@example.com" = "email.ana"
default = ["webhook"]
"""
    )
    cfg = load_config({"LD_DIGEST_CONFIG": str(path), "LD_DIGEST_WEBHOOK_URL": "http://127.0.0.1:9/default"})
    assert [d.name for d in cfg.destinations] == [
        "webhook",
        "webhook.checkout",
        "slack.payments",
        "email.ana",
    ]
    assert cfg.route("bob@example.com", "checkout") == ("webhook.checkout",)
    assert cfg.route("ana@example.com", "checkout") == ("email.ana",)  # the maintainer's own comes first
    assert cfg.route(None, "payments") == ("slack.payments",)
    assert cfg.route(None, None) == ("webhook",)
    assert cfg.dashboard_url == "https://flags.example.com"
    assert cfg.destination("webhook").secret is not None
    shown = repr(cfg) + str(cfg.destinations)
    for secret in (HOOK_TOKEN, HMAC_KEY, SMTP_PASSWORD):
        assert secret not in shown


@pytest.mark.parametrize(
    "environ",
    [
        {"LD_DIGEST_WEBHOOK_URL": f"ftp://{HOOK_TOKEN}"},
        {"LD_DIGEST_WEBHOOK_URL": f"not a url {HOOK_TOKEN}"},
        {"LD_DASHBOARD_URL": f"https://x.test/?token={HOOK_TOKEN}"},
    ],
)
def test_a_bad_setting_names_the_setting_never_the_value(environ):
    with pytest.raises(ConfigError) as exc:
        load_config(environ)
    assert HOOK_TOKEN not in str(exc.value)


def demo_source(tmp_path: Path) -> Any:
    return open_source(
        Settings.load({"LD_CACHE_DIR": str(tmp_path / "cache")}), store=SQLiteStore(tmp_path / "d.sqlite")
    )


def test_routing_by_team_sends_a_teams_items_to_its_destination_and_the_rest_to_the_default(
    tmp_path, receiver
):
    team_receiver = Receiver()
    threading.Thread(target=team_receiver.serve_forever, daemon=True).start()
    try:
        cfg = DigestConfig(
            destinations=(
                Destination("webhook", "webhook", url=Secret(receiver.url)),
                Destination("webhook.checkout", "webhook", url=Secret(team_receiver.url)),
            ),
            routes=(("checkout", "webhook.checkout"),),
            default=("webhook",),
        )
        source = demo_source(tmp_path)
        digest = run_digest(source, cfg, sleep=Sleeps())
        assert digest.ok
        team_items = [i for b in team_receiver.accepted() for i in b["items"]]
        other_items = [i for b in receiver.accepted() for i in b["items"]]
        assert team_items and other_items
        assert {i["team"] for i in team_items} == {"checkout"}
        assert "checkout" not in {i["team"] for i in other_items}
        collected = {i["idempotency_key"] for i in digest.items}
        assert {i["idempotency_key"] for i in team_items + other_items} == collected
        assert len(team_items) + len(other_items) == len(collected)  # each item to one place, once
        again = run_digest(source, cfg, sleep=Sleeps())
        assert [len(r.delivered) for r in again.results] == [0, 0]
    finally:
        team_receiver.shutdown()
        team_receiver.server_close()


# -- the command line ------------------------------------------------------------------------------------------


def digest_env(tmp_path: Path, receiver: Receiver | None = None, **extra: str) -> dict[str, str]:
    env = cli_env(tmp_path / "cache", **extra)
    if receiver is not None:
        env["LD_DIGEST_WEBHOOK_URL"] = receiver.url
        env["LD_DIGEST_WEBHOOK_SECRET"] = HMAC_KEY
    return env


def test_cli_dry_run_json_prints_every_field_and_changes_nothing(tmp_path, receiver):
    env = digest_env(tmp_path, receiver)
    out = run_cli(["digest", "--format", "json", "--dry-run"], env)
    assert out.returncode == 0, out.stderr
    body = json.loads(out.stdout)
    assert body["items"], "the demo account has items in its last 7 days"
    for row in body["items"]:
        assert set(ITEM_FIELDS) <= set(row) and len(row["idempotency_key"]) == 32
        assert row["destinations"] == ["webhook"]
    assert receiver.seen == []
    store = SQLiteStore(tmp_path / "cache" / "events.sqlite")
    assert store.digest_states("webhook") == [] and store.digest_runs() == []
    markdown = run_cli(["digest", "--dry-run"], env)
    assert markdown.returncode == 0 and markdown.stdout.startswith("# Flag health digest (dry run)")


def test_cli_delivers_once_prints_what_it_delivered_and_replays_with_since(tmp_path, receiver):
    env = digest_env(tmp_path, receiver)
    dry = json.loads(run_cli(["digest", "--format", "json", "--dry-run"], env).stdout)
    first = run_cli(["digest", "--format", "json"], env)
    assert first.returncode == 0, first.stderr
    delivered = json.loads(first.stdout)
    assert [i["idempotency_key"] for i in delivered["items"]] == [i["idempotency_key"] for i in dry["items"]]
    assert delivered["destinations"][0]["outcome"] == "delivered"
    second = json.loads(run_cli(["digest", "--format", "json"], env).stdout)
    assert second["items"] == [] and second["destinations"][0]["outcome"] == "empty"
    assert sorted(receiver.accepted_keys()) == sorted(i["idempotency_key"] for i in dry["items"])
    since = ld_clock.today() - timedelta(days=2)
    replay = run_cli(["digest", "--format", "json", "--since", since.isoformat()], env)
    assert replay.returncode == 0, replay.stderr
    replayed = json.loads(replay.stdout)["items"]
    assert replayed and set(i["idempotency_key"] for i in replayed) <= set(receiver.accepted_keys())
    store = SQLiteStore(tmp_path / "cache" / "events.sqlite")
    assert len(store.digest_runs()) == 2  # the replay recorded nothing


def test_cli_exits_non_zero_when_a_destination_stays_unreachable(tmp_path, receiver):
    receiver.plan = [502] * 3
    env = digest_env(tmp_path, receiver)
    config = tmp_path / "digest.toml"
    config.write_text("backoff_seconds = 0\n")
    out = run_cli(["digest", "--format", "json"], {**env, "LD_DIGEST_CONFIG": str(config)})
    assert out.returncode == 1
    body = json.loads(out.stdout)
    assert body["items"] == [] and body["destinations"][0]["outcome"] == "failed"
    assert body["destinations"][0]["pending"] > 0
    assert "error: webhook: the webhook answered HTTP 502 after 3 tries" in out.stderr
    assert len(receiver.seen) == 3
    assert run_cli(["digest"], cli_env(tmp_path / "c2")).returncode == 2  # nothing configured: one line


def test_a_kill_between_sending_and_recording_loses_no_item(tmp_path, receiver):
    env = digest_env(tmp_path, receiver)
    expected = {
        i["idempotency_key"]
        for i in json.loads(run_cli(["digest", "--format", "json", "--dry-run"], env).stdout)["items"]
    }
    proc: list[subprocess.Popen[str]] = []

    def kill_sender(handler: Any) -> None:  # the receiver has the body; the digest dies before it records
        receiver.on_request = None
        os.kill(proc[0].pid, signal.SIGKILL)
        proc[0].wait(30)

    receiver.on_request = kill_sender
    proc.append(popen_cli(["digest"], env))
    assert proc[0].wait(120) == -signal.SIGKILL
    assert {i["idempotency_key"] for i in json.loads(receiver.seen[0][2])["items"]} == expected
    again = run_cli(["digest", "--format", "json"], env)
    assert again.returncode == 0, again.stderr
    resent = [i["idempotency_key"] for i in json.loads(receiver.seen[1][2])["items"]]
    assert (
        set(resent) == expected
    )  # at least once: the same items with the same keys, for the receiver to drop
    assert len(resent) == len(expected)
    third = run_cli(["digest", "--format", "json"], env)
    assert json.loads(third.stdout)["items"] == [] and len(receiver.seen) == 2


def test_secrets_appear_in_no_output_no_store_and_no_page(tmp_path, receiver):
    receiver.plan = [500] * 3
    with SMTPServer() as smtp:
        smtp.fail_next = 3
        config = tmp_path / "digest.toml"
        config.write_text(
            f"""backoff_seconds = 0
[slack.team]
webhook_url = "{receiver.url}/slack"
[smtp]
host = "127.0.0.1"
port = {smtp.port}
username = "digest"
password = "{SMTP_PASSWORD}"
[email.ops]
to = ["ops@example.com"]
[routing]
default = ["webhook", "slack.team", "email.ops"]
"""
        )
        env = digest_env(tmp_path, receiver, LD_DIGEST_CONFIG=str(config))
        outputs = []
        for args in (
            ["digest", "--dry-run"],
            ["digest", "--format", "json", "--dry-run"],
            ["digest"],  # fails: 500s and 451s
            ["digest", "--format", "json"],
            ["digest", "--format", "markdown"],
            ["cache", "info"],
        ):
            out = run_cli(args, env)
            outputs += [out.stdout, out.stderr]
        assert smtp.messages and smtp.logins[-1][1] == SMTP_PASSWORD  # the password was used, not shown
        assert receiver.accepted()
        env_bad = {  # a fresh store, so there is something to send, to a port nobody listens on
            **env,
            "LD_CACHE_DIR": str(tmp_path / "cache2"),
            "LD_DIGEST_WEBHOOK_URL": f"http://127.0.0.1:1/{HOOK_TOKEN}",
        }
        out = run_cli(["digest", "--format", "json"], env_bad)
        outputs += [out.stdout, out.stderr]
        assert out.returncode == 1 and "could not be reached" in out.stderr
    from streamlit.testing.v1 import AppTest

    pages = []
    os.environ.update({k: v for k, v in env.items() if k.startswith("LD_DIGEST") or k == "LD_CACHE_DIR"})
    import streamlit as st

    # AppTest runs in this process: a data source cached by an earlier test would point at another store
    st.cache_resource.clear()
    st.cache_data.clear()
    try:
        at = AppTest.from_file(str(Path(__file__).resolve().parent.parent / "app.py"), default_timeout=120)
        at.run()
        at.switch_page("app_pages/digests.py")
        at.run()
        assert not at.exception, at.exception
        pages.append(str(at._tree))
        for kind in ("markdown", "caption", "info", "warning", "error", "success", "metric"):
            pages += [str(getattr(e, "value", e)) for e in getattr(at, kind)]
        pages += [e.value.to_csv() for e in at.dataframe]  # every cell, uncut
        shown = "\n".join(pages)
        assert "slack.team" in shown and "email.ops" in shown  # destinations by name
        assert "failed" in shown and "delivered" in shown  # the last digests, with their outcomes
        assert "idempotency" not in shown and "http://127.0.0.1" not in shown
    finally:
        for k in list(os.environ):
            if k.startswith("LD_DIGEST"):
                del os.environ[k]
    stored = b"".join(
        p.read_bytes() for d in ("cache", "cache2") for p in (tmp_path / d).rglob("*") if p.is_file()
    )
    assert b"idempotency_key" in stored  # the store holds the items, so the search would find them
    everything = "\n".join(outputs + pages)
    for secret in (HOOK_TOKEN, HMAC_KEY, SMTP_PASSWORD):
        assert secret not in everything
        assert secret.encode() not in stored


# -- the store: state tables in both backends, added in place --------------------------------------------------


def test_a_schema_4_sqlite_store_gains_the_digest_tables_in_place(tmp_path):
    from ldclient.store.sqlite import SCHEMA_VERSION
    from tests.fakeapi import make_event
    from tests.test_store import KEY

    store = SQLiteStore(tmp_path / "old.sqlite")
    store.write_page(KEY, [make_event(1, NOW)], (NOW - 1, NOW + 1))
    with store._tx() as conn:  # as schema 4 wrote it
        conn.execute("DROP TABLE digest_items")
        conn.execute("DROP TABLE digest_runs")
        conn.execute("UPDATE meta SET value = '4' WHERE name = 'schema_version'")
    store.close()
    store = SQLiteStore(tmp_path / "old.sqlite")
    assert store.notice is None and SCHEMA_VERSION >= 5  # opened as the current schema, upgraded in place
    assert store._read("SELECT value FROM meta WHERE name = 'schema_version'") == [(str(SCHEMA_VERSION),)]
    assert len(store.load_frame(KEY, 0, 2 * NOW)) == 1  # nothing rebuilt
    assert store.digest_add_pending("webhook", [("k", NOW, "{}")], NOW) == 1
    assert store.digest_add_pending("webhook", [("k", NOW, "{}")], NOW) == 0


@pytest.mark.postgres
def test_a_schema_1_postgres_store_is_migrated_to_the_digest_tables(tmp_path):
    from ldclient.store.postgres import MIGRATIONS, PostgresStore
    from tests import pg_support

    url = pg_support.postgres_url()
    schema = pg_support.new_schema_name()
    try:
        with pg_support.admin(url) as db:  # a database as schema version 1 left it
            db.execute(f'CREATE SCHEMA "{schema}"')
            db.execute(f'SET search_path TO "{schema}"')
            db.execute(
                "CREATE TABLE flag_health_meta (name TEXT PRIMARY KEY, value TEXT NOT NULL, updated_at TIMESTAMPTZ NOT NULL DEFAULT now())"
            )
            for statement in MIGRATIONS[0]:
                db.execute(statement)
            db.execute(
                "INSERT INTO flag_health_meta (name, value) VALUES ('schema_version', '1'), ('migration:0001', 'test')"
            )
        store = PostgresStore(url, schema=schema, pool_size=1)
        try:
            assert store.digest_add_pending("webhook", [("k", NOW, "{}")], NOW) == 1
            assert [s.state for s in store.digest_states("webhook")] == ["pending"]
        finally:
            store.close()
        with pg_support.admin(url) as db:
            rows = dict(db.execute(f'SELECT name, value FROM "{schema}".flag_health_meta').fetchall())
        assert rows["schema_version"] == str(len(MIGRATIONS)) and "migration:0002" in rows
    finally:
        pg_support.drop_schema(url, schema)


@pytest.mark.browser
def test_the_digests_page_in_a_real_browser(tmp_path, receiver, page):
    from tests.conftest import screenshot, start_app
    from tests.support import wait_ready

    config = tmp_path / "digest.toml"
    config.write_text("backoff_seconds = 0\n")
    env = digest_env(tmp_path, receiver, LD_DIGEST_CONFIG=str(config))
    receiver.plan = [500] * 3
    assert run_cli(["digest"], env).returncode == 1  # a failed digest, then a delivered one
    assert run_cli(["digest"], env).returncode == 0
    app = start_app(tmp_path / "cache", {k: v for k, v in env.items() if k.startswith("LD_DIGEST")})
    try:
        page.goto(f"{app.url}/digests")
        wait_ready(page)
        page.wait_for_selector('[data-testid="stDataFrame"]', timeout=120_000)
        shot = screenshot(page, "page-digests")
        body = page.inner_text("body")
        assert "Last digests" in body and "Next digest for" in body
        assert HOOK_TOKEN not in page.content() and HMAC_KEY not in page.content()
        assert shot.exists()
    finally:
        app.proc.terminate()
        app.proc.wait(10)
