"""A Slack incoming webhook: Block Kit, grouped by owner, short lines that read on a phone.

Slack takes at most 50 blocks a message, so a long digest is sent as several messages of at most
``max_batch`` items; each message's items are recorded delivered as soon as Slack accepts it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from ..settings import Secret
from .markdown import by_owner, label, where
from .webhook import post

SECTION_LIMIT = 3000  # characters of a section's text


def _esc(text: Any) -> str:
    """Slack's mrkdwn escapes: &, < and > (the rest is shown as typed)."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _link(url: Any, text: str) -> str:
    return f"<{str(url).replace('|', '%7C').replace('>', '%3E')}|{_esc(text)}>"


def blocks(items: Sequence[Mapping[str, Any]], part: str = "") -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = [
        {
            "type": "header",
            "text": {
                "type": "plain_text",
                "text": f"Flag health: {len(items)} new item{'s' if len(items) != 1 else ''}{part}",
            },
        }
    ]
    for owner, group in by_owner(items):
        out.append({"type": "section", "text": {"type": "mrkdwn", "text": f"*{_esc(owner)}* · {len(group)}"}})
        lines = []
        for item in group:
            lines.append(
                f"• *{_esc(label(item))}*: {_link(item.get('link'), str(item.get('flag_key')))} in {_esc(where(item))}\n"
                f"   {_esc(item.get('summary'))} · {_link(item.get('launchdarkly_link'), 'LaunchDarkly')}"
            )
        text = ""
        for line in lines:  # one section per ~3000 characters of lines
            if text and len(text) + len(line) + 1 > SECTION_LIMIT:
                out.append({"type": "section", "text": {"type": "mrkdwn", "text": text}})
                text = ""
            text = f"{text}\n{line}" if text else line[:SECTION_LIMIT]
        if text:
            out.append({"type": "section", "text": {"type": "mrkdwn", "text": text}})
        out.append({"type": "divider"})
    return out[:50]


class SlackSender:
    kind = "slack"
    max_batch = 15  # items per message: with owners, sections and dividers well under 50 blocks

    def __init__(self, name: str, url: Secret, *, timeout_s: float = 10.0) -> None:
        self.name = name
        self._url = url
        self._timeout = timeout_s

    def __repr__(self) -> str:
        return f"SlackSender({self.name!r})"

    def payload(self, items: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        return {
            "text": f"Flag health: {len(items)} new items",  # the notification's text
            "blocks": blocks(items),
        }

    def send(self, items: Sequence[Mapping[str, Any]], digest_id: str) -> None:
        body = json.dumps(self.payload(items), ensure_ascii=False).encode()
        post(self._url, body, {"Content-Type": "application/json"}, self._timeout, "Slack")
