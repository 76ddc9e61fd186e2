"""The demo account's applications (LaunchDarkly's ``ApplicationRep``): a web app, a mobile app and a backend
service, each evaluating a subset of the flags, some shared between them and some not.

They are derived from the generated flags afterwards, with a random generator of their own
(``applications:<seed>``), so adding them changes nothing the generator produced: the events, flags and
statuses stay byte for byte what they were.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from typing import Any

from ..vocabulary import DAY_MS

# key, name, kind (LaunchDarkly's enum: browser, mobile, server), description, autoAdded,
# and the share of each project's flags the application evaluates
_APPLICATIONS: tuple[tuple[str, str, str, str, bool, tuple[tuple[str, float], ...]], ...] = (
    (
        "web",
        "Acme Shop Web",
        "browser",
        "The storefront in the browser",
        True,
        (("web-storefront", 0.7), ("payments-platform", 0.25)),
    ),
    (
        "mobile",
        "Acme Shop Mobile",
        "mobile",
        "The iOS and Android shopping apps",
        True,
        (("mobile-app", 0.75), ("payments-platform", 0.25)),
    ),
    (
        "backend",
        "Checkout Service",
        "server",
        "Carts, orders and payments behind the web and mobile apps",
        False,
        (("payments-platform", 0.8), ("web-storefront", 0.15)),
    ),
)


def _link(href: str, kind: str = "application/json") -> dict[str, str]:
    return {"href": href, "type": kind}


def flag_listing(project: str, flag: Mapping[str, Any]) -> dict[str, Any]:
    """A ``FlagListingRep``: key and name, with links to the flag in the API and in LaunchDarkly's UI."""
    key = str(flag["key"])
    return {
        "_links": {"self": _link(f"/api/v2/flags/{project}/{key}")},
        "_site": _link(f"/{project}/production/features/{key}", "text/html"),
        "key": key,
        "name": str(flag.get("name") or key),
    }


def build_applications(
    seed: int, now_ms: int, flags: Mapping[str, Sequence[Mapping[str, Any]]]
) -> list[dict[str, Any]]:
    """The account's ``ApplicationRep``s with their evaluated flags in ``flags.items`` (the ``expand=flags``
    shape). Archived flags are not evaluated by any application. Deterministic in ``seed`` and ``now_ms``."""
    rng = random.Random(f"applications:{seed}")
    out = []
    for key, name, kind, description, auto_added, shares in _APPLICATIONS:
        items = []
        for project, share in shares:
            for flag in flags.get(project, ()):
                if not flag.get("archived") and rng.random() < share:
                    items.append(flag_listing(project, flag))
        created = now_ms - rng.randint(200, 700) * DAY_MS - rng.randint(0, DAY_MS - 1)
        out.append(
            {
                "_links": {"self": _link(f"/api/v2/applications/{key}")},
                "_version": 1,
                "autoAdded": auto_added,
                "creationDate": created,
                "description": description,
                "flags": {"_links": {}, "items": items, "totalCount": len(items)},
                "key": key,
                "kind": kind,
                "name": name,
            }
        )
    return out


def evaluated_flags(applications: Sequence[Mapping[str, Any]]) -> dict[str, frozenset[tuple[str, str]]]:
    """Application key -> the (project key, flag key) pairs it evaluates."""
    out = {}
    for app in applications:
        pairs = set()
        for item in app["flags"]["items"]:
            project = item["_links"]["self"]["href"].split("/")[-2]
            pairs.add((project, item["key"]))
        out[app["key"]] = frozenset(pairs)
    return out
