"""What the Digests page reads: the digest configuration (names only on screen) and the next digest's preview."""

from __future__ import annotations

import os
from typing import Any

import streamlit as st

from ldclient.digest.config import SETTINGS, DigestConfig, load_config
from ldclient.digest.run import _would_send, run_digest

from .startup import get_source

TABLES = ("slack", "webhook", "email", "smtp", "routing")


def _secrets() -> dict[str, Any]:
    try:
        return {k: st.secrets[k] for k in (*SETTINGS, *TABLES) if k in st.secrets}
    except Exception:  # no secrets.toml: the normal case
        return {}


def config() -> DigestConfig:
    """``LD_DIGEST_*`` from the environment, Streamlit secrets and ``LD_DIGEST_CONFIG``; ConfigError if bad."""
    return load_config(os.environ, _secrets())


def preview(project: str, runs_seen: int) -> list[dict[str, Any]]:
    """The items the next digest would send for ``project``, each with its destinations (a dry run: nothing
    is sent or recorded). Kept for the session per (project, ``runs_seen``): a digest that ran since changes
    it. Not in ``st.cache_data``, because the dry run refreshes from LaunchDarkly first."""
    memo = st.session_state.setdefault("_digest_previews", {})
    if (project, runs_seen) not in memo:
        with st.spinner("Preparing the next digest's preview…"):
            memo.clear()
            memo[(project, runs_seen)] = _preview(project)
    return list(memo[(project, runs_seen)])


def _preview(project: str) -> list[dict[str, Any]]:
    cfg = config()
    digest = run_digest(get_source(), cfg, dry_run=True, projects=[project])
    return _would_send(digest) if cfg.destinations else digest.items
