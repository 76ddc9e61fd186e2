"""Start-up of every session: the data source (one per process), Streamlit secrets, login."""

from __future__ import annotations

from typing import Any

import streamlit as st

from ldclient.errors import LDError
from ldclient.settings import Settings
from ldclient.source import DataSource, open_source
from ldclient.working_hours import WORK_SETTINGS

from .text import plain


def settings_secrets() -> dict[str, Any]:
    try:
        return {
            k: st.secrets[k]
            for k in ("LD_API_TOKEN", "LD_BASE_URL", "LD_STORE_URL", *WORK_SETTINGS)
            if k in st.secrets
        }
    except Exception:  # no secrets.toml: that is the normal case
        return {}


@st.cache_resource(show_spinner=False)
def get_source() -> DataSource:
    return open_source(Settings.load(secrets=settings_secrets()))


def source_or_stop() -> DataSource:
    try:
        return get_source()
    except LDError as exc:
        st.error(f"The dashboard cannot start: {plain(exc)}", icon=":material/error:")
        st.stop()
        raise


def auth_config() -> Any:
    import os

    from ldclient.access import auth_config as build

    try:
        secrets = st.secrets.to_dict()
    except Exception:  # no secrets.toml
        secrets = {}
    return build(secrets, os.environ)


def access_mode() -> Any:
    from ldclient.access import access_decision

    return access_decision(auth_config(), getattr(st, "user", None))
