"""A small, scriptable fake of the flag-events API for client tests (faults on demand)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

TOKEN = "api-test-TOKEN-do-not-leak-7f3a9c"


def make_event(i: int, t: int, env: str | None = "production", flag: str | None = None) -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": f"00000000-0000-4000-8000-{i:012d}",
        "projectId": "p1",
        "projectKey": "web",
        "flagKey": flag or f"flag-{i % 7}",
        "eventType": "flag-updated",
        "eventTime": t,
        "description": f"change {i}",
        "actions": ["updateOn"],
        "impact": {
            "size": "small",
            "percentage": 5.0,
            "evaluationsSummary": {"variations": [{"value": True, "before": 10, "after": 12}]},
        },
        "member": {"id": "m1", "email": "ada@example.com", "firstName": "Ada", "lastName": "L"},
    }
    if env:
        item["environmentKey"] = env
        item["environmentId"] = "e1"
    return item


@dataclass
class FakeAPI:
    """Serves ``events`` newest first; ``from``/``to`` semantics and faults are configurable."""

    events: list[dict[str, Any]]
    page_size: int = 100
    from_inclusive: bool = True
    to_inclusive: bool = True
    requests: list[httpx.Request] = field(default_factory=list)
    fault: Callable[[httpx.Request, int], httpx.Response | None] | None = None

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        n = len(self.requests)
        if self.fault is not None:
            injected = self.fault(request, n)
            if injected is not None:
                return injected
        if request.headers.get("Authorization") != TOKEN:
            return httpx.Response(401, json={"code": "unauthorized", "message": "Invalid token"})
        path = request.url.path
        if path == "/api/v2/projects":
            return httpx.Response(
                200,
                json={
                    "items": [
                        {
                            "key": "web",
                            "name": "Web",
                            "environments": {
                                "items": [{"key": "production", "name": "Production", "critical": True}]
                            },
                        }
                    ],
                    "totalCount": 1,
                },
            )
        if path != "/api/v2/engineering-insights/flag-events":
            return httpx.Response(404, json={"code": "not_found", "message": "Unknown resource"})
        if request.headers.get("LD-API-Version") != "beta":
            return httpx.Response(403, json={"code": "forbidden", "message": "beta required"})
        q = request.url.params
        if q.get("projectKey") != "web":
            return httpx.Response(404, json={"code": "not_found", "message": "Unknown project"})
        lo, hi = int(q["from"]), int(q["to"])
        match = [
            e
            for e in self.events
            if not isinstance(e.get("eventTime"), int)
            or (
                (e["eventTime"] >= lo if self.from_inclusive else e["eventTime"] > lo)
                and (e["eventTime"] <= hi if self.to_inclusive else e["eventTime"] < hi)
                and (q.get("global") != "exclude" or "environmentKey" in e)
            )
        ]
        match.sort(
            key=lambda e: (-e["eventTime"] if isinstance(e.get("eventTime"), int) else 0, str(e.get("id")))
        )
        offset = int(q.get("after", 0))
        limit = min(int(q.get("limit", 20)), self.page_size)
        page = match[offset : offset + limit]
        body: dict[str, Any] = {"totalCount": len(match), "items": page, "_links": {}}
        if offset + limit < len(match):
            nxt = request.url.copy_set_param("after", str(offset + limit))
            body["_links"]["next"] = {"href": f"{nxt.raw_path.decode()}", "type": "application/json"}
        return httpx.Response(
            200, content=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
        )

    def flag_event_requests(self) -> list[httpx.Request]:
        return [r for r in self.requests if r.url.path.endswith("/flag-events")]
