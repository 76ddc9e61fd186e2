"""The reference model of a ``FlagEventRep``: what the fetch layer's fast check (``frame.storable_event_id``)
must agree with. Only the tests use it, so it lives here."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ldclient.api.models import _opt_str, _req_str


@dataclass(frozen=True)
class Member:
    id: str | None
    email: str | None
    first_name: str | None = None
    last_name: str | None = None


@dataclass(frozen=True)
class Impact:
    size: str | None = None
    percentage: float | None = None
    reason: str | None = None
    variations: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True)
class FlagEvent:
    """A FlagEventRep. ``raw`` is the API's own object, unknown fields included, for storage and jsonl."""

    id: str
    project_key: str
    flag_key: str
    event_type: str
    event_time: int
    description: str = ""
    project_id: str | None = None
    environment_id: str | None = None
    environment_key: str | None = None
    audit_log_entry_id: str | None = None
    member: Member | None = None
    actions: tuple[str, ...] = ()
    impact: Impact = field(default_factory=Impact)
    experiments_total: int | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def is_global(self) -> bool:
        return self.environment_key is None

    @classmethod
    def from_api(cls, item: Any) -> FlagEvent:
        if not isinstance(item, Mapping):
            raise ValueError("item is not an object")
        event_time = item.get("eventTime")
        if isinstance(event_time, bool) or not isinstance(event_time, int | float):
            raise ValueError("eventTime must be a number of milliseconds")
        member = item.get("member")
        member_obj = None
        if isinstance(member, Mapping):
            member_obj = Member(
                _opt_str(member, "id"),
                _opt_str(member, "email"),
                _opt_str(member, "firstName"),
                _opt_str(member, "lastName"),
            )
        impact = item.get("impact") if isinstance(item.get("impact"), Mapping) else {}
        pct = impact.get("percentage")
        summary = impact.get("evaluationsSummary")
        variations = summary.get("variations") if isinstance(summary, Mapping) else None
        actions = item.get("actions")
        experiments = item.get("experiments")
        total = experiments.get("totalCount") if isinstance(experiments, Mapping) else None
        return cls(
            id=_req_str(item, "id"),
            project_key=_opt_str(item, "projectKey") or "",
            flag_key=_req_str(item, "flagKey"),
            event_type=_opt_str(item, "eventType") or "",
            event_time=int(event_time),
            description=_opt_str(item, "description") or "",
            project_id=_opt_str(item, "projectId"),
            environment_id=_opt_str(item, "environmentId"),
            environment_key=_opt_str(item, "environmentKey") or None,
            audit_log_entry_id=_opt_str(item, "auditLogEntryId"),
            member=member_obj,
            actions=tuple(a for a in actions if isinstance(a, str)) if isinstance(actions, list) else (),
            impact=Impact(
                size=_opt_str(impact, "size"),
                percentage=float(pct) if isinstance(pct, int | float) and not isinstance(pct, bool) else None,
                reason=_opt_str(impact, "reason"),
                variations=tuple(v for v in variations if isinstance(v, Mapping))
                if isinstance(variations, list)
                else (),
            ),
            experiments_total=int(total) if isinstance(total, int) and not isinstance(total, bool) else None,
            raw=item,
        )
