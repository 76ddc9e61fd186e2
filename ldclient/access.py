"""Who may open a team deployment: OIDC login plus an allow-list of email domains or addresses.

Streamlit's built-in ``st.login`` does the OIDC dance; this module only decides, so the rules
are plain functions a test can exercise without an identity provider.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class AuthConfig:
    oidc: bool = False
    allowed_domains: tuple[str, ...] = ()
    allowed_emails: tuple[str, ...] = ()


@dataclass(frozen=True)
class AccessDecision:
    allowed: bool
    require_login: bool
    mode: str  # "open" (no OIDC configured) or "oidc"
    message: str


def _list(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, list | tuple):
        return ()
    return tuple(sorted({str(v).strip().lower().lstrip("@") for v in value if str(v).strip()}))


def auth_config(secrets: Mapping[str, Any], environ: Mapping[str, str] | None = None) -> AuthConfig:
    """OIDC is on when Streamlit's ``[auth]`` secrets name a provider; the allow-list lives under
    ``[flag_health]`` (``allowed_domains``, ``allowed_emails``) or in ``LD_ALLOWED_DOMAINS``/``LD_ALLOWED_EMAILS``."""
    env = environ or {}
    auth = _v if isinstance(_v := secrets.get("auth"), Mapping) else None
    oidc = bool(
        auth
        and (
            auth.get("client_id") or any(isinstance(v, Mapping) and v.get("client_id") for v in auth.values())
        )
    )
    section = _v if isinstance(_v := secrets.get("flag_health"), Mapping) else {}
    return AuthConfig(
        oidc=oidc,
        allowed_domains=_list(section.get("allowed_domains", env.get("LD_ALLOWED_DOMAINS", ""))),
        allowed_emails=_list(section.get("allowed_emails", env.get("LD_ALLOWED_EMAILS", ""))),
    )


def is_allowed(email: str | None, config: AuthConfig) -> bool:
    """Exact address, or exact domain after the last ``@``: ``evil-example.com`` is not ``example.com``,
    and a configured OIDC deployment with an empty allow-list admits nobody (fail closed)."""
    if not email or email.count("@") != 1:
        return False
    address = email.strip().lower()
    domain = address.rsplit("@", 1)[1]
    return address in config.allowed_emails or domain in config.allowed_domains


def access_decision(config: AuthConfig, user: Any) -> AccessDecision:
    if not config.oidc:
        return AccessDecision(
            True,
            False,
            "open",
            "No login is configured: anyone who can reach this "
            "dashboard can use it. For a team, configure OIDC or run it behind your SSO proxy.",
        )
    logged_in = bool(getattr(user, "is_logged_in", False))
    if not logged_in:
        return AccessDecision(False, True, "oidc", "Log in with your company account to see flag health.")
    email = getattr(user, "email", None) if not isinstance(user, Mapping) else user.get("email")
    if is_allowed(email, config):
        return AccessDecision(True, False, "oidc", f"Logged in as {email}.")
    return AccessDecision(
        False,
        False,
        "oidc",
        "Your account is not on this dashboard's allow-list. "
        "Ask the team that runs it to add your email or domain.",
    )
