"""Where configuration comes from: environment variables, then Streamlit secrets, then defaults."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from .errors import ConfigError
from .timeutil import zone_or_error
from .working_hours import DEFAULT_DAYS, DEFAULT_HOURS, WorkingHours, parse_project_overrides

DEFAULT_BASE_URL = "https://app.launchdarkly.com"
KNOWN_INSTANCES = {
    "https://app.launchdarkly.com": "LaunchDarkly (US commercial)",
    "https://app.eu.launchdarkly.com": "LaunchDarkly (EU)",
    "https://app.launchdarkly.us": "LaunchDarkly (federal)",
}


class Secret:
    """Holds the API token so that printing, logging or rendering the holder never shows it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('********')"

    __str__ = __repr__

    def __bool__(self) -> bool:
        return bool(self._value)


def normalise_base_url(url: str) -> str:
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"LD_BASE_URL must be an http(s) URL such as {DEFAULT_BASE_URL}")
    if parts.username or parts.password or parts.query:
        raise ConfigError("LD_BASE_URL must not contain credentials or a query string")
    return f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"


def default_cache_dir(environ: Mapping[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    if env.get("LD_CACHE_DIR"):
        return Path(env["LD_CACHE_DIR"]).expanduser()
    base = env.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base).expanduser() / "flag-health"


@dataclass(frozen=True)
class Settings:
    token: Secret | None
    base_url: str = DEFAULT_BASE_URL
    cache_dir: Path = field(default_factory=default_cache_dir)
    store_url: str | None = None
    timezone: str = "UTC"
    flags_ttl_s: int = 600
    history_days: int = 365  # how far back lifecycle and cleanup read events (LD_HISTORY_DAYS)
    # what "off-hours" means: the account's working hours, and per-project overrides (project, hours)
    working_hours: WorkingHours = field(default_factory=WorkingHours)
    project_working_hours: tuple[tuple[str, WorkingHours], ...] = ()

    @property
    def demo(self) -> bool:
        return not self.token

    def working_hours_for(self, project: str) -> WorkingHours:
        """The project's working hours (``LD_PROJECT_WORK_HOURS``), else the account's."""
        return dict(self.project_working_hours).get(project, self.working_hours)

    @classmethod
    def load(
        cls,
        environ: Mapping[str, str] | None = None,
        secrets: Mapping[str, object] | None = None,
        *,
        force_demo: bool = False,
    ) -> Settings:
        """Token only from ``LD_API_TOKEN`` (environment first, then Streamlit secrets), never a URL."""
        env = os.environ if environ is None else environ
        sec = secrets or {}

        def pick(name: str) -> str | None:
            value = env.get(name)
            if value is None and name in sec:
                value = str(sec[name])
            return value.strip() if isinstance(value, str) and value.strip() else None

        token = None if force_demo else pick("LD_API_TOKEN")
        ttl = pick("LD_FLAGS_TTL_SECONDS")
        try:
            ttl_s = int(ttl) if ttl else 600
        except ValueError as exc:
            raise ConfigError("LD_FLAGS_TTL_SECONDS must be a whole number of seconds") from exc
        history = pick("LD_HISTORY_DAYS")
        try:
            history_days = int(history) if history else 365
        except ValueError as exc:
            raise ConfigError("LD_HISTORY_DAYS must be a whole number of days") from exc
        if not 1 <= history_days <= 1830:
            raise ConfigError("LD_HISTORY_DAYS must be between 1 and 1830 days")
        timezone = pick("LD_TIMEZONE") or "UTC"
        try:
            zone_or_error(timezone)
        except ValueError as exc:
            raise ConfigError(
                f"LD_TIMEZONE: unknown timezone {timezone!r} (use an IANA name such as Europe/Berlin)"
            ) from exc
        work = WorkingHours.parse(
            pick("LD_WORK_TIMEZONE") or timezone,
            pick("LD_WORK_HOURS") or DEFAULT_HOURS,
            pick("LD_WORK_DAYS") or DEFAULT_DAYS,
        )
        overrides: str | Mapping[str, object] | None = env.get("LD_PROJECT_WORK_HOURS")
        table = sec.get("LD_PROJECT_WORK_HOURS")
        if overrides is None and isinstance(table, Mapping):
            overrides = table  # a [LD_PROJECT_WORK_HOURS] table in secrets.toml
        elif overrides is None:
            overrides = pick("LD_PROJECT_WORK_HOURS")
        return cls(
            token=Secret(token) if token else None,
            base_url=normalise_base_url(pick("LD_BASE_URL") or DEFAULT_BASE_URL),
            cache_dir=default_cache_dir(env),
            store_url=pick("LD_STORE_URL"),
            timezone=timezone,
            flags_ttl_s=ttl_s,
            history_days=history_days,
            working_hours=work,
            project_working_hours=tuple(parse_project_overrides(overrides, work).items()),
        )
