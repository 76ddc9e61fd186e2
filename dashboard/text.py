"""Text from LaunchDarkly or a link shown literally: Markdown escaped, backticks and control characters out."""

from __future__ import annotations

import re

_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~:$])")


def plain(value: object) -> str:
    """Error text (which may quote the API's own message) shown literally inside st.error/st.warning."""
    return _MARKDOWN.sub(r"\\\1", str(value))


def safe_code(text: str) -> str:
    """For text shown inside Markdown backticks: no backticks, bounded length, printable."""
    return "".join(ch if ch.isprintable() and ch != "`" else "?" for ch in text)[:80]
