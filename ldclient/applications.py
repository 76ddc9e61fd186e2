"""LaunchDarkly's applications (``GET /api/v2/applications``, beta) and the application filter.

An application lists the flags it evaluates (``expand=flags``: ``FlagListingRep`` items, a key and a name,
with ``_links.self`` pointing at ``/api/v2/flags/{project}/{flag}``). The filter narrows events and flags
to those flags, locally, on what the store already holds: one cached store per (project, environment)
serves every choice of applications, so choosing one never refetches the range (the flag-events API's own
``applicationKey`` parameter would need a separate fetch and store per choice). Tests cross-check that the
two give the same events.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

import numpy as np
import pandas as pd

KINDS = ("browser", "mobile", "server")  # ApplicationRep.kind
_FLAG_HREF = re.compile(r"/api/v2/flags/([^/?#]+)/([^/?#]+)$")


@dataclass(frozen=True)
class AppFlag:
    """A flag an application evaluates; ``project`` is None when LaunchDarkly's listing does not say."""

    key: str
    name: str
    project: str | None = None


@dataclass(frozen=True)
class Application:
    key: str
    name: str
    kind: str
    description: str = ""
    auto_added: bool = False
    flags: tuple[AppFlag, ...] = ()
    flags_total: int | None = None  # LaunchDarkly's totalCount of the flags collection

    @classmethod
    def from_api(cls, item: Mapping[str, Any]) -> Application:
        """An ``ApplicationRep``; raises ValueError when ``key`` is missing (the item cannot be used)."""
        key = item.get("key")
        if not isinstance(key, str) or not key:
            raise ValueError("an application without a key")
        collection = item.get("flags")
        flags: list[AppFlag] = []
        total = None
        if isinstance(collection, Mapping):
            raw_total = collection.get("totalCount")
            total = raw_total if isinstance(raw_total, int) and not isinstance(raw_total, bool) else None
            for f in collection.get("items") or ():
                if not isinstance(f, Mapping) or not isinstance(f.get("key"), str) or not f["key"]:
                    continue
                links = f.get("_links")
                self_link = links.get("self") if isinstance(links, Mapping) else None
                href = self_link.get("href") if isinstance(self_link, Mapping) else None
                match = _FLAG_HREF.search(href) if isinstance(href, str) else None
                project = unquote(match.group(1)) if match else None
                name = f.get("name")
                flags.append(AppFlag(f["key"], name if isinstance(name, str) else f["key"], project))
        name = item.get("name")
        kind = item.get("kind")
        description = item.get("description")
        return cls(
            key=key,
            name=name if isinstance(name, str) and name else key,
            kind=kind if isinstance(kind, str) else "",
            description=description if isinstance(description, str) else "",
            auto_added=bool(item.get("autoAdded", False)),
            flags=tuple(flags),
            flags_total=total,
        )


def parse_applications(items: Iterable[Mapping[str, Any]]) -> list[Application]:
    """Every readable application, in LaunchDarkly's order; items without a key are skipped."""
    out = []
    for item in items:
        try:
            out.append(Application.from_api(item))
        except ValueError:
            continue
    return out


def unknown_keys(selected: Sequence[str], applications: Sequence[Application]) -> list[str]:
    known = {a.key for a in applications}
    return [k for k in selected if k not in known]


def flag_keys(applications: Sequence[Application], selected: Sequence[str], project: str) -> frozenset[str]:
    """The keys of the flags of ``project`` that any of the ``selected`` applications evaluates (the union).
    A listed flag whose project LaunchDarkly does not name counts in every project."""
    wanted = set(selected)
    return frozenset(
        f.key
        for app in applications
        if app.key in wanted
        for f in app.flags
        if f.project is None or f.project == project
    )


def flag_mask(frame: pd.DataFrame, keys: frozenset[str]) -> np.ndarray:
    """Which rows of an events (or statuses) frame belong to a flag in ``keys``."""
    return frame["flag_key"].astype("string").isin(keys).fillna(False).to_numpy(dtype=bool)


def filter_events(frame: pd.DataFrame, keys: frozenset[str] | None) -> pd.DataFrame:
    """The events of flags in ``keys`` (None: no filter)."""
    if keys is None:
        return frame
    mask = flag_mask(frame, keys)
    return frame if bool(mask.all()) else frame[mask]


def filter_statuses(statuses: pd.DataFrame, keys: frozenset[str] | None) -> pd.DataFrame:
    """A statuses frame (``lifecycle.statuses_to_frame``) narrowed to the flags in ``keys`` (None: all)."""
    if keys is None:
        return statuses
    return statuses[flag_mask(statuses, keys)]


def filter_flags(flags: Iterable[Mapping[str, Any]], keys: frozenset[str] | None) -> list[dict[str, Any]]:
    """``FeatureFlag`` items of the flags in ``keys`` (None: all)."""
    return [dict(f) for f in flags if keys is None or f.get("key") in keys]


def filter_items(items: Iterable[dict[str, Any]], keys: frozenset[str] | None) -> Iterable[dict[str, Any]]:
    """Raw ``FlagEventRep`` items of flags in ``keys`` (None: all), lazily."""
    return (i for i in items if keys is None or i.get("flagKey") in keys)
