"""Who gets in: open when no OIDC is configured, otherwise login plus an exact allow-list."""

from __future__ import annotations

from types import SimpleNamespace

from ldclient.access import AuthConfig, access_decision, auth_config, is_allowed

OIDC = {
    "auth": {
        "redirect_uri": "https://fh.example.com/oauth2callback",
        "cookie_secret": "x",
        "client_id": "abc",
        "client_secret": "s",
        "server_metadata_url": "https://idp/.well-known",
    },
    "flag_health": {"allowed_domains": ["example.com"], "allowed_emails": ["contractor@partner.io"]},
}


def test_no_oidc_means_open_and_says_so():
    d = access_decision(auth_config({}), SimpleNamespace(is_logged_in=False))
    assert d.allowed and d.mode == "open" and "SSO proxy" in d.message


def test_oidc_requires_login():
    d = access_decision(auth_config(OIDC), SimpleNamespace(is_logged_in=False))
    assert not d.allowed and d.require_login


def test_allow_list_decisions():
    config = auth_config(OIDC)
    user = lambda email: SimpleNamespace(is_logged_in=True, email=email)  # noqa: E731
    assert access_decision(config, user("ada@example.com")).allowed
    assert access_decision(config, user("Ada@EXAMPLE.com")).allowed
    assert access_decision(config, user("contractor@partner.io")).allowed
    for bad in (
        "eve@evil-example.com",
        "eve@example.com.evil.io",
        "other@partner.io",
        "example.com",
        "a@b@example.com",
        "",
        None,
    ):
        d = access_decision(config, user(bad))
        assert not d.allowed and not d.require_login, bad


def test_empty_allow_list_fails_closed():
    assert not is_allowed("ada@example.com", AuthConfig(oidc=True))


def test_allow_list_from_environment_and_provider_sections():
    config = auth_config(
        {"auth": {"google": {"client_id": "x"}}}, {"LD_ALLOWED_DOMAINS": "example.com, @corp.io"}
    )
    assert config.oidc and config.allowed_domains == ("corp.io", "example.com")
