"""``python -m ldclient digest``: refresh what the items need, collect them, route them, deliver each once."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import IO, Any

import pandas as pd

from .. import clock
from ..source import DataSource
from ..timeutil import DAY_MS
from .config import DigestConfig, load_config
from .delivery import Result, Sender, deliver
from .items import HISTORY_MS, ITEM_FIELDS, STATE_TYPES, Links, ProjectData, collect_items, item_time_ms
from .markdown import render_markdown

LAST_CHANGE_COLUMNS = ("flag_key", "environment_key")


def _optional(fetch: Callable[[], Any]) -> Any:
    from ..errors import LDError

    try:
        return fetch()
    except LDError:
        return None  # not readable with this token: unknown, and the items that need it are not claimed


def project_data(
    source: DataSource,
    project: str,
    from_ms: int,
    now_ms: int,
    *,
    warn: Callable[[str], None] | None = None,
    members: list[dict[str, Any]] | None = None,
    teams: list[dict[str, Any]] | None = None,
) -> ProjectData:
    """Refresh and read one project's environments, flags, statuses, events, critical environments' flag
    configurations and code references for a digest (``members`` and ``teams`` are read once per run)."""
    envs: list[dict[str, Any]] = [
        {"key": e.key, "critical": e.critical} for e in source.environments(project)
    ]
    frames, last = [], []
    reports = source.refresh_many([(project, env["key"]) for env in envs], from_ms - HISTORY_MS, now_ms)
    for env, report in zip(envs, reports, strict=True):
        if report.error is not None and warn is not None:
            warn(f"{project}/{env['key']}: {report.error} (using stored events)")
        key = source.key(project, env["key"])
        frames.append(source.store.load_frame(key, from_ms - HISTORY_MS, now_ms + 1))
        last.append(source.store.load_frame(key, 0, now_ms + 1, LAST_CHANGE_COLUMNS))
    events = pd.concat(frames, ignore_index=True).drop_duplicates("id") if frames else pd.DataFrame()
    history = pd.concat(last, ignore_index=True) if last else pd.DataFrame()
    last_changes = (
        history.groupby(["flag_key", "environment_key"], dropna=False, observed=True)["event_time"]
        .max()
        .reset_index()
        if len(history)
        else None
    )
    from .. import lifecycle

    production = lifecycle.production_like(envs)
    statuses = [
        lifecycle.statuses_to_frame(source.statuses(project, e["key"]), e["key"])
        for e in envs
        if e["key"] in production
    ]
    critical = sorted(lifecycle.critical_environments(envs))
    configs = [_optional(partial(source.flag_configs, project, e)) for e in critical]
    code = _optional(lambda: source.code_refs(project))
    return ProjectData(
        project=project,
        environments=envs,
        flag_items=source.flags(project),
        statuses=pd.concat(statuses, ignore_index=True) if statuses else lifecycle.statuses_to_frame([], ""),
        events=events,
        work=source.settings.working_hours_for(project),
        last_changes=last_changes,
        source=source.source_id,
        stage_items=(
            lifecycle.merge_flag_configs(*configs)
            if critical and all(isinstance(c, list) for c in configs)
            else None
        ),
        code_refs=lifecycle.code_refs_to_frame(code) if isinstance(code, dict) else None,
        members=members,
        teams=teams,
    )


def build_sender(config: DigestConfig, name: str) -> Sender:
    from .email import EmailSender
    from .slack import SlackSender
    from .webhook import WebhookSender

    d = config.destination(name)
    if d.kind == "slack" and d.url:
        return SlackSender(d.name, d.url, timeout_s=config.timeout_s)
    if d.kind == "email" and config.smtp is not None:
        return EmailSender(d.name, d.to, config.smtp, timeout_s=config.timeout_s)
    assert d.url is not None
    return WebhookSender(d.name, d.url, d.secret, timeout_s=config.timeout_s)


@dataclass
class Digest:
    """Everything one ``digest`` run did: the results per destination and the items with their routes."""

    results: list[Result] = field(default_factory=list)
    items: list[dict[str, Any]] = field(default_factory=list)  # collected, each with "destinations"

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.results)


def collect(
    source: DataSource,
    config: DigestConfig,
    from_ms: int,
    now_ms: int,
    *,
    projects: Sequence[str] | None = None,
    warn: Callable[[str], None] | None = None,
) -> list[dict[str, Any]]:
    """Every item of ``[from_ms, now_ms]`` across the projects, as JSON, each with its ``destinations``."""
    links = Links(config.dashboard_url, source.ui_base_url)
    out: list[dict[str, Any]] = []
    keys = [p.key for p in source.projects()]
    members, teams = _optional(source.members), _optional(source.teams)
    for project in keys if projects is None else [p for p in keys if p in projects]:
        data = project_data(
            source,
            project,
            from_ms,
            now_ms,
            warn=warn,
            members=members if isinstance(members, list) else None,
            teams=teams if isinstance(teams, list) else None,
        )
        for item in collect_items(data, from_ms, now_ms, links, scope=config.environments):
            row = item.to_json()
            row["destinations"] = list(config.route(item.owner, item.team))
            out.append(row)
    return out


def _item_only(item: Mapping[str, Any]) -> dict[str, Any]:
    return {k: item.get(k) for k in ITEM_FIELDS}


def run_digest(
    source: DataSource,
    config: DigestConfig,
    *,
    now_ms: int | None = None,
    since_ms: int | None = None,
    dry_run: bool = False,
    projects: Sequence[str] | None = None,
    sleep: Callable[[float], None] | None = None,
    senders: Mapping[str, Sender] | None = None,
    warn: Callable[[str], None] | None = None,
) -> Digest:
    """Collect once, then deliver to every destination (see delivery.py); ``since_ms`` replays."""
    now = clock.now_ms() if now_ms is None else now_ms
    names = [d.name for d in config.destinations]
    first_ms = now - config.first_days * DAY_MS
    if since_ms is not None:
        windows = dict.fromkeys(names, since_ms)
    else:  # each destination from its last digest (late events), its first from first_days ago
        windows = {
            n: min(first_ms, (last or now) - config.first_days * DAY_MS)
            for n in names
            for last in [source.store.digest_last_run_ms(n)]
        }
    from_ms = min([*windows.values(), since_ms if since_ms is not None else first_ms])
    items = collect(source, config, from_ms, now, projects=projects, warn=warn)
    digest = Digest(items=items)
    routed: dict[str, list[dict[str, Any]]] = {n: [] for n in names}
    for item in items:
        for name in item["destinations"]:
            if item["type"] in STATE_TYPES or item_time_ms(item) >= windows[name]:
                routed[name].append(_item_only(item))
    clock_now: Callable[[], int] = clock.now_ms if now_ms is None else (lambda: now)
    for name in names:
        sender = (senders or {}).get(name) or build_sender(config, name)
        digest.results.append(
            deliver(
                source.store,
                sender,
                routed[name],
                now=clock_now,
                attempts=config.attempts,
                backoff_s=config.backoff_s,
                sleep=sleep,
                scrub=config.scrub,
                dry_run=dry_run,
                replay=since_ms is not None,
            )
        )
    return digest


def write_output(digest: Digest, fmt: str, out: IO[str], *, dry_run: bool, configured: bool) -> None:
    """``json``: ``{"items": [...]}`` (what would be sent, or what was delivered) plus the destinations;
    ``markdown``: the digest as Markdown; ``text``: one line per destination."""
    if dry_run:
        shown = digest.items if not configured else _would_send(digest)
    else:
        shown = _delivered(digest)
    if fmt == "json":
        body: dict[str, Any] = {"items": shown}
        if digest.results:
            body["destinations"] = [r.to_json() for r in digest.results]
        json.dump(body, out, indent=2, ensure_ascii=False)
        out.write("\n")
    elif fmt == "markdown":
        out.write(render_markdown(shown, title="Flag health digest" + (" (dry run)" if dry_run else "")))
    else:
        for r in digest.results:
            out.write(
                f"{r.destination}: {r.outcome}, {len(r.delivered)} delivered, {r.pending} pending ({r.message})\n"
            )
        if not digest.results:
            out.write(f"{len(shown)} items; no destination is configured\n")


def _would_send(digest: Digest) -> list[dict[str, Any]]:
    keys: dict[str, list[str]] = {}
    for r in digest.results:
        for item in r.items:
            keys.setdefault(str(item["idempotency_key"]), []).append(r.destination)
    out = []
    by_key = {str(i["idempotency_key"]): i for i in digest.items}
    for r in digest.results:
        for item in r.items:
            key = str(item["idempotency_key"])
            if key in keys:
                row = dict(by_key.get(key, item))
                row["destinations"] = keys.pop(key)
                out.append(row)
    return out


def _delivered(digest: Digest) -> list[dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for r in digest.results:
        for item in r.delivered:
            row = out.setdefault(str(item["idempotency_key"]), {**_item_only(item), "destinations": []})
            row["destinations"].append(r.destination)
    return list(out.values())


def main(args: Any, out: IO[str], source: DataSource, environ: Mapping[str, str] | None = None) -> int:
    """The CLI command (ldclient/cli.py parses the arguments)."""
    from ..errors import CLIError
    from ..timeutil import parse_time

    config = load_config(environ)
    since = None
    if args.since:
        try:
            since = parse_time(args.since, tz="UTC")
        except ValueError as exc:
            raise CLIError(f"--since: {exc}") from exc
    if not config.destinations and not args.dry_run:
        raise CLIError(
            "no digest destination is configured: set LD_DIGEST_WEBHOOK_URL or LD_DIGEST_CONFIG "
            "(or use --dry-run to see what a digest would hold)"
        )
    fmt = args.format or ("markdown" if args.dry_run else "text")

    def warn(text: str) -> None:
        print(f"warning: {config.scrub(text)}", file=sys.stderr)

    digest = run_digest(
        source,
        config,
        since_ms=since,
        dry_run=args.dry_run,
        projects=[args.project] if args.project else None,
        warn=warn,
    )
    write_output(digest, fmt, out, dry_run=args.dry_run, configured=bool(config.destinations))
    for r in digest.results:
        if not r.ok:
            print(f"error: {r.destination}: {r.message}", file=sys.stderr)
    return 0 if digest.ok else 1
