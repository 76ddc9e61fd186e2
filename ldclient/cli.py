"""``python -m ldclient``: projects, events, metrics, sync, cache and the demo server from a shell.

Every failure is one line on stderr and a non-zero exit; the token is never printed.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

from .errors import LDError
from .export import neutralise_cell
from .frame import COLUMNS, flatten_event
from .settings import Settings
from .source import DataSource, open_source
from .store import SQLiteStore
from .sync import now_ms
from .timeutil import DAY_MS, MAX_RANGE_DAYS, format_ms, parse_time, zone_or_error

IMPACT_SIZES = ("none", "small", "medium", "large")


class CLIError(Exception):
    """A problem with what was typed; shown as one line."""


def _source(args: argparse.Namespace, store: Any = None) -> DataSource:
    return open_source(Settings.load(force_demo=getattr(args, "demo", False)), store=store)


def _range(args: argparse.Namespace, default_days: int = 30) -> tuple[int, int]:
    tz = getattr(args, "tz", "UTC") or "UTC"
    try:
        zone_or_error(tz)
        to_ms = parse_time(args.to, tz=tz, end_of_day=True) if args.to else now_ms()
        from_ms = parse_time(args.from_, tz=tz) if args.from_ else to_ms - default_days * DAY_MS
    except ValueError as exc:
        raise CLIError(str(exc)) from exc
    if from_ms >= to_ms:
        raise CLIError(f"--from ({format_ms(from_ms)}) must be before --to ({format_ms(to_ms)})")
    if to_ms - from_ms > MAX_RANGE_DAYS * DAY_MS:
        raise CLIError("the range is longer than 5 years; LaunchDarkly keeps flag events for less than that")
    return from_ms, to_ms


class Progress:
    """A one-line progress display on stderr, only when a person is watching."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.live = sys.stderr.isatty()

    def __call__(self, pages: int, events: int) -> None:
        if self.live:
            sys.stderr.write(f"\r{self.label}: {pages} pages, {events} events")
            sys.stderr.flush()

    def done(self) -> None:
        if self.live:
            sys.stderr.write("\n")


def _check_env(source: DataSource, project: str, env: str) -> None:
    projects = {p.key: p for p in source.projects()}
    if project not in projects:
        raise CLIError(f"unknown project {project!r}; known: {', '.join(sorted(projects)) or 'none'}")
    envs = [e.key for e in projects[project].environments]
    if envs and env not in envs:
        raise CLIError(f"unknown environment {env!r} in {project}; known: {', '.join(envs)}")


def cmd_projects(args: argparse.Namespace, out: IO[str]) -> int:
    projects = _source(args).projects()
    if args.format == "json":
        json.dump([{"key": p.key, "name": p.name, "environments": [
            {"key": e.key, "name": e.name, "critical": e.critical} for e in p.environments]} for p in projects],
            out, indent=2)
        out.write("\n")
    else:
        out.write(f"{'PROJECT':<28} {'NAME':<28} ENVIRONMENTS\n")
        for p in projects:
            out.write(f"{p.key:<28} {p.name[:28]:<28} {', '.join(e.key for e in p.environments)}\n")
    return 0


def _matches(item: dict[str, Any], args: argparse.Namespace) -> bool:
    if args.query and args.query.lower() not in str(item.get("flagKey", "")).lower():
        return False
    if args.impact_size and (item.get("impact") or {}).get("size") != args.impact_size:
        return False
    return True


def _fetch_events(args: argparse.Namespace) -> Iterator[dict[str, Any]]:
    from_ms, to_ms = _range(args)
    tmp = tempfile.TemporaryDirectory() if args.no_cache else None
    store = SQLiteStore(Path(tmp.name) / "events.sqlite") if tmp else None
    try:
        source = _source(args, store=store)
        _check_env(source, args.project, args.env)
        progress = Progress("fetching flag events")
        report = source.refresh(args.project, args.env, from_ms, to_ms, progress=progress)
        progress.done()
        if report.error is not None:
            if args.no_cache or not source.store.covered(source.key(args.project, args.env)):
                raise report.error
            print(f"warning: {report.error} (showing stored events)", file=sys.stderr)
        for item in source.store.iter_raw(source.key(args.project, args.env), from_ms, to_ms):
            if _matches(item, args):
                if not args.expand_experiments:
                    item.pop("experiments", None)
                yield item
    finally:
        if tmp is not None:
            tmp.cleanup()


def _write_events(items: Iterable[dict[str, Any]], fmt: str, out: IO[str]) -> int:
    count = 0
    if fmt == "jsonl":
        for item in items:
            out.write(json.dumps(item, separators=(",", ":"), ensure_ascii=False) + "\n")
            count += 1
    else:
        writer = csv.DictWriter(out, fieldnames=list(COLUMNS))
        writer.writeheader()
        for item in items:
            # text that a spreadsheet would run as a formula gets a leading quote (ldclient/export.py)
            writer.writerow({k: ("" if v is None else neutralise_cell(v)) for k, v in flatten_event(item).items()})
            count += 1
    return count


def cmd_events(args: argparse.Namespace, out: IO[str]) -> int:
    items = _fetch_events(args)
    if args.output:
        with open(args.output, "w", encoding="utf-8", newline="") as fh:
            count = _write_events(items, args.format, fh)
        print(f"wrote {count} events to {args.output}", file=sys.stderr)
    else:
        _write_events(items, args.format, out)
    return 0


def cmd_metrics(args: argparse.Namespace, out: IO[str]) -> int:
    from .report import metrics_report

    from_ms, to_ms = _range(args)
    source = _source(args)
    _check_env(source, args.project, args.env)
    report = metrics_report(source, args.project, args.env, from_ms, to_ms, tz=args.tz,
                            include_global=args.global_ == "include", expand_experiments=args.expand_experiments)
    if args.format == "json":
        json.dump(report, out, indent=2, ensure_ascii=False, default=str)
        out.write("\n")
    else:
        for name, value in report.items():
            if name == "flags":
                continue
            text = json.dumps(value, ensure_ascii=False, default=str)
            out.write(f"{name:<28} {text[:140]}\n")
        out.write(f"{'flags':<28} {len(report['flags'])} rows (use --format json for the table)\n")
    return 0


def cmd_sync(args: argparse.Namespace, out: IO[str]) -> int:
    source = _source(args)
    to_ms = now_ms()
    from_ms = to_ms - args.days * DAY_MS
    projects = source.projects()
    if args.project:
        projects = [p for p in projects if p.key == args.project]
        if not projects:
            raise CLIError(f"unknown project {args.project!r}")
    failed = 0
    for project in projects:
        envs = [e.key for e in project.environments if not args.env or e.key == args.env]
        if args.env and not envs:
            raise CLIError(f"unknown environment {args.env!r} in {project.key}")
        for env in envs:
            report = source.refresh(project.key, env, from_ms, to_ms)
            status = "ok" if report.ok else f"error: {report.error}"
            failed += not report.ok
            out.write(f"{project.key}/{env}: {report.requests} requests, {report.events_added} events added, "
                      f"{report.events_received} received ({status})\n")
    return 1 if failed else 0


def cmd_cache(args: argparse.Namespace, out: IO[str]) -> int:
    settings = Settings.load()
    from .store import open_store

    store = open_store(settings.cache_dir, settings.store_url)
    if store.notice:
        out.write(store.notice + "\n")
    if args.action == "clear":
        store.clear()
        out.write(f"cleared {store.description}\n")
        return 0
    out.write(f"store: {store.description}\n")
    for s in store.summaries():
        last = s.last_refresh
        out.write(f"{s.key.source} {s.key.project}/{s.key.environment}: {s.events} events, "
                  f"{len(s.covered)} covered ranges, last refresh "
                  f"{format_ms(last.at_ms) + ' ' + last.outcome if last else 'never'}\n")
    return 0


def cmd_demo_server(args: argparse.Namespace, out: IO[str]) -> int:
    from .demo_server import serve_from_args

    out.write(f"demo LaunchDarkly API on http://{args.host}:{args.port} (any Authorization token works)\n")
    out.flush()
    serve_from_args(args)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m ldclient", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--demo", action="store_true", help="use the embedded demo account even with a token")

    def ranged(p: argparse.ArgumentParser) -> None:
        p.add_argument("--project", required=True)
        p.add_argument("--env", required=True)
        p.add_argument("--from", dest="from_", help="ISO date/datetime (UTC unless an offset) or Unix ms")
        p.add_argument("--to", help="ISO date/datetime or Unix ms; a date includes that whole day")
        p.add_argument("--expand-experiments", action="store_true")

    p = sub.add_parser("projects", help="projects with their environments")
    p.add_argument("--format", choices=("json", "table"), default="table")
    common(p)
    p.set_defaults(func=cmd_projects)

    p = sub.add_parser("events", help="flag events in a range, deduplicated and sorted by time")
    ranged(p)
    p.add_argument("--query", help="flag key (substring)")
    p.add_argument("--impact-size", choices=IMPACT_SIZES)
    p.add_argument("--format", choices=("jsonl", "csv"), default="jsonl")
    p.add_argument("--output")
    p.add_argument("--no-cache", action="store_true", help="fetch from the API without the persistent store")
    common(p)
    p.set_defaults(func=cmd_events, tz="UTC")

    p = sub.add_parser("metrics", help="flag-health metrics as JSON")
    ranged(p)
    p.add_argument("--tz", default="UTC")
    p.add_argument("--global", dest="global_", choices=("include", "exclude"), default="include")
    p.add_argument("--format", choices=("json", "table"), default="json")
    common(p)
    p.set_defaults(func=cmd_metrics)

    p = sub.add_parser("sync", help="warm the store for one or all projects and environments")
    p.add_argument("--project")
    p.add_argument("--env")
    p.add_argument("--days", type=int, default=90)
    common(p)
    p.set_defaults(func=cmd_sync)

    p = sub.add_parser("cache", help="what the store holds, or clear it")
    p.add_argument("action", choices=("info", "clear"))
    p.set_defaults(func=cmd_cache)

    from .demo_server import add_cli_arguments

    p = sub.add_parser("demo-server", help="serve the demo account over HTTP")
    add_cli_arguments(p)
    p.set_defaults(func=cmd_demo_server)
    return parser


def main(argv: list[str] | None = None, out: IO[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "days", 1) is not None and getattr(args, "days", 1) <= 0:
        print("error: --days must be positive", file=sys.stderr)
        return 2
    if getattr(args, "days", 1) is not None and getattr(args, "days", 1) > MAX_RANGE_DAYS:
        print("error: --days: the range is longer than 5 years; LaunchDarkly keeps flag events for less than that",
              file=sys.stderr)
        return 2
    try:
        return args.func(args, out or sys.stdout)
    except (CLIError, LDError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted; what was fetched is kept", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
