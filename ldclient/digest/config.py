"""Where digests go: destinations, routing and links, from the environment, Streamlit secrets and a TOML file.

The default JSON webhook is ``LD_DIGEST_WEBHOOK_URL`` (signed with ``LD_DIGEST_WEBHOOK_SECRET``); the file
named by ``LD_DIGEST_CONFIG`` holds the same two at its top level plus Slack, SMTP, email and routing tables:

.. code-block:: toml

    LD_DIGEST_WEBHOOK_URL = "https://hooks.example.com/flag-health"
    LD_DIGEST_WEBHOOK_SECRET = "…"
    LD_DASHBOARD_URL = "https://flags.example.com"
    first_digest_days = 7

    [slack.payments]
    webhook_url = "https://hooks.slack.com/services/…"

    [smtp]
    host = "smtp.example.com"
    port = 587
    starttls = true
    username = "flag-health"
    password = "…"
    from = "flag-health@example.com"

    [email.checkout]
    to = ["checkout-team@example.com"]

    [routing]
    payments = "slack.payments"          # a team key (or a maintainer's email) -> a destination
    "ana@example.com" = "email.checkout"
    default = ["webhook"]                # everything else

A destination is named by its table (``slack.payments``, ``email.checkout``, ``webhook.<name>``; the
``LD_DIGEST_WEBHOOK_URL`` one is ``webhook``). Names are what the store, the page and every message show:
URLs, the HMAC secret and the SMTP password are ``Secret`` and appear nowhere.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ..errors import ConfigError
from ..settings import Secret

DEFAULT_DASHBOARD_URL = "http://localhost:8501"
DEFAULT_FIRST_DAYS = 7
SETTINGS = ("LD_DIGEST_WEBHOOK_URL", "LD_DIGEST_WEBHOOK_SECRET", "LD_DIGEST_CONFIG", "LD_DASHBOARD_URL")
ENVIRONMENT_SCOPES = ("production", "all")


@dataclass(frozen=True)
class Destination:
    """One place a digest goes. ``kind`` is ``webhook``, ``slack`` or ``email``."""

    name: str
    kind: str
    url: Secret | None = None  # webhook and Slack
    secret: Secret | None = None  # webhook HMAC key
    to: tuple[str, ...] = ()  # email recipients


@dataclass(frozen=True)
class SMTPConfig:
    host: str
    port: int = 25
    sender: str = "flag-health@localhost"
    username: str | None = None
    password: Secret | None = None
    starttls: bool = False
    ssl: bool = False


@dataclass(frozen=True)
class DigestConfig:
    destinations: tuple[Destination, ...] = ()
    routes: tuple[tuple[str, str], ...] = ()  # owner or team key -> destination name
    default: tuple[str, ...] = ()
    dashboard_url: str = DEFAULT_DASHBOARD_URL
    first_days: int = DEFAULT_FIRST_DAYS
    environments: str = "production"  # which environments' changes become items: production-like, or all
    smtp: SMTPConfig | None = None
    attempts: int = 3  # tries per destination and run before its items stay pending for the next run
    backoff_s: float = 2.0  # the first retry waits this long, each further one twice as long
    timeout_s: float = 10.0
    extra_secrets: tuple[Secret, ...] = field(default=(), repr=False)

    def destination(self, name: str) -> Destination:
        for d in self.destinations:
            if d.name == name:
                return d
        raise ConfigError(f"no digest destination named {name!r}")

    def route(self, owner: str | None, team: str | None) -> tuple[str, ...]:
        """Where an item goes: its maintainer's or team's destination when one is configured, else the default."""
        routes = dict(self.routes)
        for who in (owner, team):
            if who and who in routes:
                return (routes[who],)
            if who and who.lower() in routes:
                return (routes[who.lower()],)
        return self.default

    def secrets(self) -> list[str]:
        """Every secret value, longest first: what a message is scrubbed of before it is shown or stored."""
        found = [s.reveal() for s in self.extra_secrets]
        for d in self.destinations:
            found += [s.reveal() for s in (d.url, d.secret) if s]
        if self.smtp and self.smtp.password:
            found.append(self.smtp.password.reveal())
        return sorted({s for s in found if s}, key=len, reverse=True)

    def scrub(self, text: str) -> str:
        for secret in self.secrets():
            text = text.replace(secret, "***")
        return text


def _url(value: Any, what: str) -> Secret:
    text = str(value).strip() if value is not None else ""
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"{what} must be an http(s) URL")  # the value is a secret: never quoted
    return Secret(text)


def _dashboard_url(value: str | None) -> str:
    if not value:
        return DEFAULT_DASHBOARD_URL
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.password:
        raise ConfigError("LD_DASHBOARD_URL must be the dashboard's http(s) address, without a query string")
    return value.strip().rstrip("/")


def _table(raw: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    value = raw.get(name, {})
    if not isinstance(value, Mapping):
        raise ConfigError(f"LD_DIGEST_CONFIG: [{name}] must be a table")
    return value


def _read_file(path: str) -> dict[str, Any]:
    try:
        with open(Path(path).expanduser(), "rb") as fh:
            return tomllib.load(fh)
    except OSError as exc:
        raise ConfigError(f"LD_DIGEST_CONFIG: cannot read {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"LD_DIGEST_CONFIG: {path} is not valid TOML ({exc})") from None


def load_config(
    environ: Mapping[str, str] | None = None, secrets: Mapping[str, object] | None = None
) -> DigestConfig:
    """The digest's configuration: each top-level setting from the environment, then Streamlit secrets,
    then the TOML file ``LD_DIGEST_CONFIG``; the tables only from the file (or a secrets table)."""
    env = os.environ if environ is None else environ
    sec = secrets or {}

    def pick(name: str, raw: Mapping[str, Any]) -> str | None:
        for where in (env, sec, raw):
            value = where.get(name)
            if value is not None and str(value).strip():
                return str(value).strip()
        return None

    path = pick("LD_DIGEST_CONFIG", {})
    raw: dict[str, Any] = _read_file(path) if path else {}
    for table in ("slack", "webhook", "email", "smtp", "routing"):
        if table not in raw and isinstance(sec.get(table), Mapping):
            raw[table] = sec[table]
    destinations: list[Destination] = []
    extra: list[Secret] = []
    url = pick("LD_DIGEST_WEBHOOK_URL", raw)
    hmac_key = pick("LD_DIGEST_WEBHOOK_SECRET", raw)
    if hmac_key:
        extra.append(Secret(hmac_key))
    if url:
        destinations.append(
            Destination(
                "webhook",
                "webhook",
                url=_url(url, "LD_DIGEST_WEBHOOK_URL"),
                secret=Secret(hmac_key) if hmac_key else None,
            )
        )
    for name, spec in _table(raw, "webhook").items():
        if not isinstance(spec, Mapping):
            raise ConfigError(f"LD_DIGEST_CONFIG: [webhook.{name}] must be a table")
        key = spec.get("secret")
        destinations.append(
            Destination(
                f"webhook.{name}",
                "webhook",
                url=_url(spec.get("url"), f"[webhook.{name}] url"),
                secret=Secret(str(key)) if key else None,
            )
        )
    for name, spec in _table(raw, "slack").items():
        if not isinstance(spec, Mapping):
            raise ConfigError(f"LD_DIGEST_CONFIG: [slack.{name}] must be a table")
        destinations.append(
            Destination(
                f"slack.{name}", "slack", url=_url(spec.get("webhook_url"), f"[slack.{name}] webhook_url")
            )
        )
    smtp_raw = _table(raw, "smtp")
    smtp = None
    if smtp_raw:
        if not smtp_raw.get("host"):
            raise ConfigError("LD_DIGEST_CONFIG: [smtp] needs a host")
        try:
            port = int(smtp_raw.get("port", 25))
        except (TypeError, ValueError):
            raise ConfigError("LD_DIGEST_CONFIG: [smtp] port must be a number") from None
        password = smtp_raw.get("password")
        smtp = SMTPConfig(
            host=str(smtp_raw["host"]),
            port=port,
            sender=str(smtp_raw.get("from", "flag-health@localhost")),
            username=str(smtp_raw["username"]) if smtp_raw.get("username") else None,
            password=Secret(str(password)) if password else None,
            starttls=smtp_raw.get("starttls") is True,
            ssl=smtp_raw.get("ssl") is True,
        )
    for name, spec in _table(raw, "email").items():
        if not isinstance(spec, Mapping):
            raise ConfigError(f"LD_DIGEST_CONFIG: [email.{name}] must be a table")
        to = spec.get("to")
        recipients = (to,) if isinstance(to, str) else tuple(str(t) for t in to or ())
        if not recipients:
            raise ConfigError(f"LD_DIGEST_CONFIG: [email.{name}] needs to = [addresses]")
        if smtp is None:
            raise ConfigError(f"LD_DIGEST_CONFIG: [email.{name}] needs an [smtp] table")
        destinations.append(Destination(f"email.{name}", "email", to=recipients))
    names = [d.name for d in destinations]
    routing = dict(_table(raw, "routing"))
    default_raw = routing.pop("default", None)
    routes: list[tuple[str, str]] = []
    for who, target in routing.items():
        if str(target) not in names:
            raise ConfigError(
                f"LD_DIGEST_CONFIG: [routing] {who} names {target!r}, which is not a destination "
                f"(known: {', '.join(names) or 'none'})"
            )
        routes.append((str(who), str(target)))
    if default_raw is not None:
        default = (default_raw,) if isinstance(default_raw, str) else tuple(str(d) for d in default_raw)
        for target in default:
            if target not in names:
                raise ConfigError(f"LD_DIGEST_CONFIG: [routing] default names {target!r}, not a destination")
    elif "webhook" in names:
        default = ("webhook",)
    else:  # every destination no route names
        routed = {target for _, target in routes}
        default = tuple(n for n in names if n not in routed)
    try:
        first_days = int(raw.get("first_digest_days", DEFAULT_FIRST_DAYS))
        attempts = int(raw.get("attempts", 3))
        backoff = float(raw.get("backoff_seconds", 2.0))
        timeout = float(raw.get("timeout_seconds", 10.0))
    except (TypeError, ValueError):
        raise ConfigError(
            "LD_DIGEST_CONFIG: first_digest_days, attempts, backoff_seconds and timeout_seconds are numbers"
        ) from None
    if first_days < 1 or attempts < 1 or backoff < 0 or timeout <= 0:
        raise ConfigError("LD_DIGEST_CONFIG: first_digest_days and attempts must be at least 1")
    scope = str(raw.get("environments", "production"))
    if scope not in ENVIRONMENT_SCOPES:
        raise ConfigError('LD_DIGEST_CONFIG: environments must be "production" or "all"')
    return DigestConfig(
        destinations=tuple(destinations),
        routes=tuple(routes),
        default=default,
        dashboard_url=_dashboard_url(pick("LD_DASHBOARD_URL", raw)),
        first_days=first_days,
        environments=scope,
        smtp=smtp,
        attempts=attempts,
        backoff_s=backoff,
        timeout_s=timeout,
        extra_secrets=tuple(extra),
    )
