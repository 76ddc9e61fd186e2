"""``python -m ldclient``: projects, events, metrics, sync, cache and the demo server from a shell.

Every failure is one line on stderr and a non-zero exit; the token is never printed.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import shutil
import sys
import tempfile
from collections.abc import Iterable, Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import IO, Any

from .errors import CLIError, LDError
from .export import ENCODING, event_csv_row
from .frame import COLUMNS, flatten_event
from .links import DEFAULT_RANGE_DAYS, View
from .settings import Settings
from .source import DataSource, open_source, source_label
from .store import SQLiteStore, StoreKey
from .sync import Progress as SyncProgress
from .sync import RefreshPlan, RefreshReport, now_ms, refresh_keys
from .timeutil import DAY_MS, MAX_RANGE_DAYS, day_start_ms, format_ms, local_date, parse_time, zone_or_error
from .vocabulary import IMPACT_SIZES


def _source(args: argparse.Namespace, store: Any = None) -> DataSource:
    return open_source(Settings.load(force_demo=getattr(args, "demo", False)), store=store)


def _is_date(text: str) -> bool:
    return re.fullmatch(r"\d{4}-\d{2}-\d{2}", text.strip()) is not None


def window(
    from_text: str | None, to_text: str | None, tz: str, *, now: int, default_days: int = DEFAULT_RANGE_DAYS
) -> tuple[int, int]:
    """``[from, to)`` in Unix ms for ``--from``/``--to``: the dashboard's window for the same dates.

    Dates (and the defaults) go through ``links.View.window_ms``: local midnight in ``tz`` of the first
    day to local midnight after the last, so ``--to 2026-11-26`` includes the whole 26th. No ``--to``
    means today in ``tz``; no ``--from``, the ``default_days`` days ending on ``--to``'s day (the
    dashboard's default range), or ``default_days`` × 24 hours before a ``--to`` time. Datetimes and
    Unix ms are taken as they are. Raises CLIError naming what was typed.
    """
    try:
        zone_or_error(tz)
        today = local_date(now, tz)
        for text in (from_text, to_text):
            if text is not None:
                parse_time(text, tz=tz)  # "not a date", "before the year 2000"
        first = date.fromisoformat(from_text.strip()) if from_text and _is_date(from_text) else None
        last = date.fromisoformat(to_text.strip()) if to_text and _is_date(to_text) else None
        from_time = parse_time(from_text, tz=tz) if from_text and first is None else None
        to_time = parse_time(to_text, tz=tz) if to_text and last is None else None
    except ValueError as exc:
        raise CLIError(str(exc)) from exc

    def days(a: date, b: date) -> tuple[int, int]:
        return View("", "", range_days=None, start=a, end=b, tz=tz).window_ms(today)

    if to_text is None:
        last = today
    if from_text is None and last is not None:
        first = last - timedelta(days=default_days - 1)
    if first is not None and last is not None:
        if first > last:
            raise _order_error(from_text, to_text, "before", today, tz)
        from_ms, to_ms = days(first, last)
    else:
        to_ms = to_time if to_time is not None else days(last, last)[1]  # type: ignore[arg-type]
        from_ms = (
            from_time
            if from_time is not None
            else (days(first, first)[0] if first is not None else to_ms - default_days * DAY_MS)
        )
        if from_ms >= to_ms:
            raise _order_error(
                from_text, to_text, "before" if to_ms < from_ms else "the same time as", today, tz
            )
    if to_ms - from_ms > MAX_RANGE_DAYS * DAY_MS:
        raise CLIError("the range is longer than 5 years; LaunchDarkly keeps flag events for less than that")
    return from_ms, to_ms


def _order_error(from_text: str | None, to_text: str | None, how: str, today: date, tz: str) -> CLIError:
    """ "--to 2026-11-01 is before --from 2026-11-20", in the words that were typed."""
    if to_text is None:
        return CLIError(
            f"--from {(from_text or '').strip()[:40]} is after today ({today} in {tz}), the default --to"
        )
    return CLIError(
        f"--to {to_text.strip()[:40]} is {how} --from {(from_text or '').strip()[:40]}"
        + (": the range is empty" if how == "the same time as" else "")
    )


def _range(args: argparse.Namespace) -> tuple[int, int]:
    return window(args.from_, args.to, getattr(args, "tz", "UTC") or "UTC", now=now_ms())


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):  # no isatty, or a closed stream
        return False


class Progress:
    """Live progress on ``stream`` (stderr) when it is a terminal: one line, rewritten with a carriage
    return and cleared when done, so what stays on the screen is the commands' own output. On a pipe or
    a file it writes nothing (the commands print one line per finished key to stdout themselves).

    Called as the refresh's progress callback (``sync.Progress``): pages and events so far, the events
    expected once LaunchDarkly has sent every window's totalCount, and the windows of the range finished.
    """

    def __init__(self, label: str = "", stream: IO[str] | None = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.live = _isatty(self.stream)
        self.label = label
        self._shown = 0

    def start(self, label: str) -> None:
        self.label = label
        self.show_text(f"{label}: checking the store")

    def __call__(
        self, pages: int, events: int, total: int | None = None, windows: tuple[int, int] = (0, 0)
    ) -> None:
        of = f" of {total:,}" if total is not None else ""
        done, count = windows
        parts = f", {done}/{count} windows" if count > 1 else ""
        self.show_text(
            f"{self.label}: {pages:,} page{'s' if pages != 1 else ''}, {events:,}{of} events{parts}"
        )

    def show_text(self, text: str) -> None:
        if not self.live:
            return
        width = max(20, shutil.get_terminal_size((80, 24)).columns - 1)  # a wrapped line cannot be rewritten
        text = text if len(text) <= width else text[: width - 1] + "…"
        self.stream.write("\r" + text.ljust(self._shown))
        self._shown = len(text)
        self.stream.flush()

    def done(self) -> None:
        if self.live and self._shown:
            self.stream.write("\r" + " " * self._shown + "\r")
            self.stream.flush()
        self._shown = 0


def _check_env(source: DataSource, project: str, env: str) -> None:
    projects = {p.key: p for p in source.projects()}
    if project not in projects:
        raise CLIError(f"unknown project {project!r}; known: {', '.join(sorted(projects)) or 'none'}")
    envs = [e.key for e in projects[project].environments]
    if envs and env not in envs:
        raise CLIError(f"unknown environment {env!r} in {project}; known: {', '.join(envs)}")


def _application_keys(source: DataSource, project: str, wanted: list[str] | None) -> frozenset[str] | None:
    """The flags of ``project`` the ``--application`` keys evaluate (None: no --application), as the
    dashboard's application filter; an unknown key is an error naming the known ones."""
    if not wanted:
        return None
    from .applications import flag_keys, unknown_keys

    apps = source.applications()
    keys = [k.strip() for arg in wanted for k in arg.split(",") if k.strip()]
    bad = unknown_keys(keys, apps)
    if bad:
        known = ", ".join(a.key for a in apps) or "none"
        raise CLIError(f"unknown application {bad[0][:60]!r}; known: {known}")
    return flag_keys(apps, keys, project)


def _application_list(wanted: list[str] | None) -> tuple[str, ...]:
    return tuple(dict.fromkeys(k.strip() for arg in wanted or () for k in arg.split(",") if k.strip()))


def cmd_projects(args: argparse.Namespace, out: IO[str]) -> int:
    projects = _source(args).projects()
    if args.format == "json":
        json.dump(
            [
                {
                    "key": p.key,
                    "name": p.name,
                    "environments": [
                        {"key": e.key, "name": e.name, "critical": e.critical} for e in p.environments
                    ],
                }
                for p in projects
            ],
            out,
            indent=2,
        )
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
        flag_keys = _application_keys(source, args.project, args.application)
        progress = Progress("fetching flag events")
        try:
            report = source.refresh(args.project, args.env, from_ms, to_ms, progress=progress)
        finally:
            progress.done()
        if report.error is not None:
            if args.no_cache or not source.store.covered(source.key(args.project, args.env)):
                raise report.error
            print(f"warning: {report.error} (showing stored events)", file=sys.stderr)
        for item in source.store.iter_raw(source.key(args.project, args.env), from_ms, to_ms):
            if _matches(item, args) and (flag_keys is None or item.get("flagKey") in flag_keys):
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
            # as the dashboard's CSVs (ldclient/export.py): missing values empty, the impact percentage with one
            # decimal, text that a spreadsheet would run as a formula with a leading quote
            writer.writerow(event_csv_row(flatten_event(item)))
            count += 1
    return count


def cmd_events(args: argparse.Namespace, out: IO[str]) -> int:
    items = _fetch_events(args)
    if args.output:
        # a CSV file gets a byte-order mark so that Excel reads its non-ASCII text as UTF-8; stdout does not
        # (it is piped into other programs, which would take the mark for part of the first column's name)
        with open(args.output, "w", encoding=ENCODING if args.format == "csv" else "utf-8", newline="") as fh:
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
    _application_keys(source, args.project, args.application)  # an unknown key fails before any fetch
    report = metrics_report(
        source,
        args.project,
        args.env,
        from_ms,
        to_ms,
        tz=args.tz,
        include_global=args.global_ == "include",
        expand_experiments=args.expand_experiments,
        apps=_application_list(args.application),
    )
    if args.format == "json":
        json.dump(report, out, indent=2, ensure_ascii=False, default=str)
        out.write("\n")
    else:
        from .metrics_text import render

        out.write(render(report))
    return 0


def cmd_history(args: argparse.Namespace, out: IO[str]) -> int:
    """One record per day of the last ``--days``: observed days from the snapshots, the others rebuilt."""
    from .history import history_records, key_history, record_snapshot, render_history, snapshot_is_recent

    try:
        zone_or_error(args.tz)
    except ValueError as exc:
        raise CLIError(str(exc).replace("`", "")) from None
    source = _source(args)
    _check_env(source, args.project, args.env)
    now = now_ms()
    today = local_date(now, args.tz)
    first = today - timedelta(days=args.days - 1)
    report = source.refresh(args.project, args.env, day_start_ms(first, args.tz) - 7 * DAY_MS, now + 1)
    if report.error is not None:
        raise report.error
    for env in source.environments(args.project):  # the stale verdicts read every environment's last week
        if env.key != args.env:
            source.refresh(args.project, env.key, now - 30 * DAY_MS, now + 1)
    source.archived_flags(args.project)
    if not snapshot_is_recent(source.store, source.key(args.project, args.env), now):
        record_snapshot(source, args.project, args.env, now)
    frame = key_history(source, args.project, args.env, first, today, args.tz, now)
    out.write(render_history(history_records(frame), args.format))
    return 0


def cmd_changes(args: argparse.Namespace, out: IO[str]) -> int:
    """Every flag event within ``--window`` either side of ``--at``, across projects: ``changes.changes_around``."""
    from .changes import changes_around, changes_csv, format_offset
    from .links import MAX_HALF_WINDOW_MS, format_duration, format_moment, parse_duration, parse_moment

    try:
        zone_or_error(args.tz)
        at = now_ms() if args.at.strip().lower() == "now" else parse_moment(args.at, args.tz)
        half = parse_duration(args.window)
    except ValueError as exc:
        raise CLIError(str(exc).replace("`", "")) from None
    if half > MAX_HALF_WINDOW_MS:
        raise CLIError(f"--window {args.window.strip()[:20]} is longer than 24 hours either side")
    source = _source(args)
    apps = _application_list(args.application)
    if apps:
        from .applications import unknown_keys

        bad = unknown_keys(apps, source.applications())
        if bad:
            raise CLIError(f"unknown application {bad[0][:60]!r}")
    result = changes_around(source, at, half, projects=args.project or None, apps=apps, tz=args.tz)
    for warning in result.warnings:
        print(f"warning: {warning.replace('`', '')}", file=sys.stderr)
    if args.format == "json":
        doc = {
            "at": format_moment(result.at),
            "window": format_duration(half),
            "from": format_moment(result.start),
            "to": format_moment(result.end),
            "changes": result.records(),
            "warnings": result.warnings,
        }
        json.dump(doc, out, indent=2, ensure_ascii=False)
        out.write("\n")
    elif args.format == "csv":
        out.write(changes_csv(result).decode(ENCODING))  # no byte-order mark on stdout (see events)
    else:
        out.write(
            f"{len(result.rows):,} change{'s' if len(result.rows) != 1 else ''} within ±{format_duration(half)} "
            f"of {format_ms(at, args.tz, '%Y-%m-%d %H:%M:%S')} {args.tz}, production-like environments first\n"
        )
        header = (
            f"{'TIME':<19} {'OFFSET':>13}  {'PROJECT / ENVIRONMENT':<32} {'FLAG':<36} {'IMPACT':<7} MEMBER"
        )
        out.write(header + "\n")
        for c in result.rows:
            where = f"{c.project} / {c.environment or '(global)'}" + (" *" if c.critical else "")
            out.write(
                f"{format_ms(c.event_time, args.tz, '%Y-%m-%d %H:%M:%S'):<19} "
                f"{format_offset(c.offset_ms(at)):>13}  {where:<32} {c.flag_key:<36} "
                f"{c.impact_size or 'unknown':<7} {c.member or '—'}\n"
                f"{'':<35}{c.description or ''}" + (f"  [{c.split}]" if c.split else "") + "\n"
            )
        if result.rows:
            out.write("* production-like (critical) environment\n")
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
    keys = []
    for project in projects:
        envs = [e.key for e in project.environments if not args.env or e.key == args.env]
        if args.env and not envs:
            raise CLIError(f"unknown environment {args.env!r} in {project.key}")
        keys += [(project.key, env) for env in envs]
    store_keys = [source.key(project_key, env) for project_key, env in keys]
    where = {key: n for n, key in enumerate(store_keys)}
    line = Progress()  # on a terminal: "[3/9 keys] 12 pages, 1,200 events"
    progress = KeysProgress(len(keys), line)
    finished: dict[int, RefreshReport] = {}
    written = 0

    def on_done(report: RefreshReport) -> None:
        nonlocal written
        finished[where[report.key]] = report
        progress.finished()
        while written in finished:  # in the order of the keys, each as soon as those before it are done
            r = finished[written]
            line.done()
            status = "ok" if r.ok else f"error: {r.error}"
            out.write(
                f"{r.key.project}/{r.key.environment}: {r.requests} requests, {r.events_added} events added, "
                f"{r.events_received} received ({status})\n"
            )
            out.flush()  # also when piped
            written += 1
        progress.show()

    # Every key side by side in one event loop: one connection pool and one rate budget for them all.
    reports = refresh_keys(
        source.client,
        source.store,
        store_keys,
        RefreshPlan(from_ms, to_ms),
        progress=progress.for_key,
        on_done=on_done,
    )
    line.done()
    recorded = _record_snapshots(source, [r.key for r in reports if r.ok], to_ms)
    from .history import utc_day

    out.write(f"snapshots: {recorded} of {len(store_keys)} keys recorded for {utc_day(to_ms)}\n")
    return 1 if any(not r.ok for r in reports) else 0


def _record_snapshots(source: DataSource, keys: list[Any], now: int) -> int:
    """Today's snapshot of every key refreshed (docs/HISTORY.md); a key whose flags cannot be read is skipped
    with a line on stderr, the others are still recorded."""
    from .history import record_snapshot

    recorded = 0
    for key in keys:
        try:
            record_snapshot(source, key.project, key.environment, now)
            recorded += 1
        except LDError as exc:
            print(f"warning: no snapshot of {key.project}/{key.environment}: {exc}", file=sys.stderr)
    return recorded


class KeysProgress:
    """``sync``'s live line while its keys are fetched side by side: keys finished, pages and events so far."""

    def __init__(self, count: int, line: Progress) -> None:
        self.count, self.line = count, line
        self.done = 0
        self._pages: dict[StoreKey, tuple[int, int]] = {}

    def for_key(self, key: StoreKey) -> SyncProgress:
        def update(
            pages: int, events: int, total: int | None = None, windows: tuple[int, int] = (0, 0)
        ) -> None:
            self._pages[key] = (pages, events)
            self.show()

        return update

    def finished(self) -> None:
        self.done += 1

    def show(self) -> None:
        if self.done == self.count:
            return
        pages = sum(p for p, _ in self._pages.values())
        events = sum(e for _, e in self._pages.values())
        self.line.show_text(
            f"[{self.done}/{self.count} keys] {pages:,} page{'s' if pages != 1 else ''}, {events:,} events"
        )


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
    shown = None
    for s in store.summaries():  # ordered by source: one heading per source
        if s.key.source != shown:
            shown = s.key.source
            out.write(f"{source_label(s.key.source)}\n")
        last = s.last_refresh
        ranges = len(s.covered)
        out.write(
            f"  {s.key.project}/{s.key.environment}: {s.events:,} events, {ranges} covered "
            f"range{'s' if ranges != 1 else ''}, last refresh "
            f"{format_ms(last.at_ms) + ' UTC (' + last.outcome + ')' if last else 'never'}\n"
        )
    return 0


def cmd_digest(args: argparse.Namespace, out: IO[str]) -> int:
    from .digest.run import main as digest_main

    return digest_main(args, out, _source(args))


def cmd_cleanup(args: argparse.Namespace, out: IO[str]) -> int:
    """One record per non-archived flag: LaunchDarkly lifecycle stage, stale, code refs, value to keep, owner."""
    from .cleanup_report import cleanup_records, render

    source = _source(args)
    if args.env is not None:
        _check_env(source, args.project, args.env)
    records = cleanup_records(
        source, args.project, args.env, maintainers=args.maintainer or (), teams=args.team or ()
    )
    out.write(render(records, args.format))
    return 0


def cmd_demo_server(args: argparse.Namespace, out: IO[str]) -> int:
    from .demo import serve_from_args

    serve_from_args(args)  # it prints the address it bound (the real port when --port 0)
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
        p.add_argument(
            "--application",
            action="append",
            metavar="KEY",
            help="only the flags this application evaluates (repeat, or KEY,KEY, for several: the union)",
        )

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
    p.add_argument(
        "--tz",
        default="UTC",
        help="display timezone: dates without an offset, times and daily buckets; "
        "off-hours follow the working hours (LD_WORK_TIMEZONE, LD_WORK_HOURS, LD_WORK_DAYS)",
    )
    p.add_argument("--global", dest="global_", choices=("include", "exclude"), default="include")
    p.add_argument("--format", choices=("json", "table"), default="json")
    common(p)
    p.set_defaults(func=cmd_metrics)

    p = sub.add_parser("changes", help="every flag event around a moment, across projects and environments")
    p.add_argument("--at", required=True, help="ISO time (in --tz unless it has an offset), Unix ms, or now")
    p.add_argument(
        "--window", default="2h", help="half-width either side of --at: 30m, 2h, 1h30m (at most 24h)"
    )
    p.add_argument("--project", action="append", help="only this project (repeat for several)")
    p.add_argument(
        "--application",
        action="append",
        metavar="KEY",
        help="only the flags this application evaluates (repeat, or KEY,KEY, for several)",
    )
    p.add_argument(
        "--tz", default="UTC", help="timezone of an --at without an offset, and of the table's times"
    )
    p.add_argument("--format", choices=("json", "csv", "table"), default="table")
    common(p)
    p.set_defaults(func=cmd_changes)

    p = sub.add_parser("history", help="flag health per day: recorded snapshots and rebuilt days")
    p.add_argument("--project", required=True)
    p.add_argument("--env", required=True)
    p.add_argument("--days", type=int, default=90, help="days up to today (default 90)")
    p.add_argument("--tz", default="UTC", help="whose days: dates are local days in this timezone")
    p.add_argument("--format", choices=("json", "csv", "table"), default="table")
    common(p)
    p.set_defaults(func=cmd_history)

    p = sub.add_parser("sync", help="warm the store and record today's snapshots (docs/HISTORY.md)")
    p.add_argument("--project")
    p.add_argument("--env")
    p.add_argument("--days", type=int, default=90)
    common(p)
    p.set_defaults(func=cmd_sync)

    p = sub.add_parser("cache", help="what the store holds, or clear it")
    p.add_argument("action", choices=("info", "clear"))
    p.set_defaults(func=cmd_cache)

    p = sub.add_parser("digest", help="send what is new (stale flags, rollbacks, …) to each destination once")
    p.add_argument(
        "--format", choices=("text", "json", "markdown"), help="default: markdown with --dry-run, else text"
    )
    p.add_argument("--dry-run", action="store_true", help="show what would be sent; send and record nothing")
    p.add_argument(
        "--since", help="replay items since this ISO date/datetime (UTC) or Unix ms; records nothing"
    )
    p.add_argument("--project", help="only this project")
    common(p)
    p.set_defaults(func=cmd_digest)

    p = sub.add_parser(
        "cleanup", help="each flag's lifecycle stage, code references, value to keep and owner"
    )
    p.add_argument("--project", required=True)
    p.add_argument("--env", help="where `stale` is judged (default: the first critical environment)")
    p.add_argument("--maintainer", action="append", metavar="EMAIL", help="only flags this member maintains")
    p.add_argument("--team", action="append", metavar="KEY", help="only flags this team maintains")
    p.add_argument("--format", choices=("json", "csv", "table"), default="table")
    common(p)
    p.set_defaults(func=cmd_cleanup)

    from .demo import add_cli_arguments

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
        print(
            "error: --days: the range is longer than 5 years; LaunchDarkly keeps flag events for less than that",
            file=sys.stderr,
        )
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
