"""Typed views of the API's JSON, snake_case in Python, tolerant of a drifting beta API.

Unknown fields are kept in ``raw``; missing optional fields default; a required field that is
missing or of the wrong type raises ``ValueError`` so callers can count and skip the item.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


def _req_str(item: Mapping[str, Any], name: str) -> str:
    value = item.get(name)
    if not isinstance(value, str) or not value:
        raise ValueError(f"{name} must be a non-empty string")
    return value


def _opt_str(item: Mapping[str, Any], name: str) -> str | None:
    value = item.get(name)
    return value if isinstance(value, str) else None


@dataclass(frozen=True)
class Environment:
    key: str
    name: str
    critical: bool = False
    id: str | None = None
    color: str | None = None

    @classmethod
    def from_api(cls, item: Mapping[str, Any]) -> Environment:
        return cls(
            key=_req_str(item, "key"),
            name=_opt_str(item, "name") or item["key"],
            critical=bool(item.get("critical", False)),
            id=_opt_str(item, "_id"),
            color=_opt_str(item, "color"),
        )


@dataclass(frozen=True)
class Project:
    key: str
    name: str
    id: str | None = None
    environments: tuple[Environment, ...] = ()

    @classmethod
    def from_api(cls, item: Mapping[str, Any]) -> Project:
        envs = item.get("environments")
        if isinstance(envs, Mapping):  # expand=environments gives a collection
            envs = envs.get("items")
        parsed = tuple(Environment.from_api(e) for e in envs or () if isinstance(e, Mapping))
        return cls(
            key=_req_str(item, "key"),
            name=_opt_str(item, "name") or item["key"],
            id=_opt_str(item, "_id"),
            environments=parsed,
        )
