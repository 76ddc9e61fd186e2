"""A demo account whose API text is hostile: HTML, Markdown, 10,000-character strings and unusual Unicode
in flag keys, names, descriptions, member names and emails, and variation values."""

from __future__ import annotations

import copy
import uuid
from typing import Any

from ldclient.demo import DemoAccount, generate_account

DAY_MS = 86_400_000
PROJECT = "web-storefront"
IMG = '<img src=x onerror="window.__xss=1">'
SCRIPT = "<script>window.__xss=2</script>"
MARKDOWN = "**bold** [link](javascript:alert(1)) _em_ `code` # heading"
UNICODE = "\u202eevil\u202c \u200bzero\u200dwidth 🚩🏳️‍🌈 e\u0301\u0302\u0303 ﷽"
LONG = "L" * 10_000

FLAG_IMG = f"xss-{IMG}"
FLAG_SCRIPT = f"script-{SCRIPT}"
FLAG_MARKDOWN = f"md-{MARKDOWN}"
FLAG_UNICODE = f"uni-{UNICODE}"
FLAG_LONG = f"long-{LONG}"
HOSTILE_FLAGS = (FLAG_IMG, FLAG_SCRIPT, FLAG_MARKDOWN, FLAG_UNICODE, FLAG_LONG)
FLAG_STALE = f"stale-{IMG}"  # no recent change and inactive: the first row of the cleanup list
MEMBER = {
    "_id": "5e00ffa1b2c3d4e5f6a7b8c9",
    "id": "5e00ffa1b2c3d4e5f6a7b8c9",
    "firstName": SCRIPT,
    "lastName": MARKDOWN,
    "email": f"{IMG}{UNICODE}@example.com",
}


def hostile_account(seed: int, now_ms: int) -> DemoAccount:
    account = generate_account(seed=seed, now_ms=now_ms)
    template = account.flags[PROJECT][0]
    for i, key in enumerate(HOSTILE_FLAGS):
        flag = copy.deepcopy(template)
        flag.update(
            key=key,
            name=f"{SCRIPT} {MARKDOWN} {UNICODE}" + (LONG if i == 4 else ""),
            description=f"{IMG} {MARKDOWN} {LONG}",
            archived=False,
            temporary=True,
            tags=[IMG, MARKDOWN],
            creationDate=now_ms - 200 * DAY_MS,
        )
        flag["_maintainer"] = {**flag.get("_maintainer", {}), "firstName": SCRIPT, "email": MEMBER["email"]}
        account.flags[PROJECT].insert(0, flag)
    stale = copy.deepcopy(template)
    stale.update(
        key=FLAG_STALE,
        name=f"{SCRIPT} {MARKDOWN} {UNICODE}",
        description=IMG,
        archived=False,
        temporary=True,
        tags=[IMG, MARKDOWN],
        creationDate=now_ms - 900 * DAY_MS,
    )
    stale["_maintainer"] = {**stale.get("_maintainer", {}), "email": MEMBER["email"]}
    account.flags[PROJECT].insert(0, stale)
    account.statuses[(PROJECT, "production")].insert(
        0,
        {
            "name": "inactive",
            "lastRequested": None,
            "_links": {
                "parent": {"href": f"/api/v2/flags/{PROJECT}/{FLAG_STALE}", "type": "application/json"}
            },
        },
    )
    events: list[dict[str, Any]] = []
    for i, key in enumerate(HOSTILE_FLAGS):
        for j in range(120 - 10 * i):  # the most changed flags of the month: they top every ranking
            env = "staging" if j % 4 == 3 else "production"
            # the first few are the newest events of all (the top rows of tables), the rest spread over days
            ago = (1 + 5 * j + i) * 60_000 if j < 3 else (j * 17 + i) * 1_800_000
            events.append(
                {
                    "id": str(uuid.UUID(int=(i + 1) << 64 | j)),
                    "projectId": "p",
                    "projectKey": PROJECT,
                    "environmentId": "e",
                    "environmentKey": env,
                    "flagKey": key,
                    "eventType": "flag-updated",
                    "eventTime": now_ms - ago,
                    "description": [IMG, SCRIPT, MARKDOWN, UNICODE, LONG][(i + j) % 5]
                    + " changed the rollout",
                    "member": MEMBER,
                    "actions": ["updateOn" if j % 3 == 0 else "updateFallthrough"],
                    "impact": {
                        "size": "large",
                        "percentage": 91.0,
                        "reason": "evaluations",
                        "evaluationsSummary": {
                            "variations": [
                                {"value": IMG, "before": 900, "after": 10},
                                {"value": {"html": SCRIPT, "md": MARKDOWN}, "before": 10, "after": 900},
                                {"value": UNICODE + LONG, "before": 5, "after": 5},
                            ]
                        },
                    },
                    "experiments": {"totalCount": 0, "items": []},
                }
            )
    account.add_events(events)
    return account
