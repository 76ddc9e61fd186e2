"""The digest as Markdown (what ``digest --dry-run`` prints) and the grouping every destination shares."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .items import ITEM_TYPES

NO_OWNER = "No owner"


def by_owner(items: Sequence[Mapping[str, Any]]) -> list[tuple[str, list[Mapping[str, Any]]]]:
    """Items grouped by owner (owners in name order, the unowned last), each group in item order."""
    groups: dict[str, list[Mapping[str, Any]]] = {}
    for item in items:
        groups.setdefault(str(item.get("owner") or NO_OWNER), []).append(item)
    return sorted(groups.items(), key=lambda g: (g[0] == NO_OWNER, g[0].lower()))


def label(item: Mapping[str, Any]) -> str:
    return ITEM_TYPES.get(str(item.get("type")), str(item.get("type")))


def where(item: Mapping[str, Any]) -> str:
    env = item.get("environment")
    return f"{item.get('project')}/{env}" if env else str(item.get("project"))


def _md(text: Any) -> str:
    """Text shown literally in Markdown: the characters that would format or link escaped."""
    out = str(text)
    for ch in "\\`*_[]<>|#":
        out = out.replace(ch, "\\" + ch)
    return out.replace("\n", " ")


def render_markdown(items: Sequence[Mapping[str, Any]], *, title: str = "Flag health digest") -> str:
    if not items:
        return f"# {title}\n\nNothing new.\n"
    lines = [f"# {title}", "", f"{len(items)} item{'s' if len(items) != 1 else ''}.", ""]
    for owner, group in by_owner(items):
        lines += [f"## {_md(owner)} ({len(group)})", ""]
        for item in group:
            lines.append(
                f"- **{_md(label(item))}** · `{str(item.get('flag_key')).replace('`', '')}` · {_md(where(item))} · "
                f"{_md(item.get('time'))}  \n  {_md(item.get('summary'))}  \n"
                f"  [Flag health]({item.get('link')}) · [LaunchDarkly]({item.get('launchdarkly_link')})"
            )
        lines.append("")
    return "\n".join(lines)
