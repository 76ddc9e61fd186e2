"""What a cleanup needs from the demo account: teams, owners (team-maintained flags, flags without a
maintainer, a maintainer who left), full targeting (rules, targets, prerequisites) and code references.

All of it is derived from the generated account afterwards, with a random generator of its own
(``cleanup:<seed>``), so the generator's events, flags and statuses stay byte for byte what they were
(``DemoAccount.to_json`` leaves these out). The API serves the decorated flags in LaunchDarkly's shapes:
``Team``, ``StatisticCollectionRep`` and ``FeatureFlag`` with ``_maintainerTeam`` and full
``FeatureFlagConfig`` lists (``summary=0``).

Stories it guarantees, for the dashboard and the tests:

* every project has flags maintained by a team, a few with no maintainer at all, and temporary flags whose
  maintainer, Jordan Avery, has left (not among ``GET /api/v2/members``);
* rules and individual targets match the counts of each configuration's ``_summary`` (they serve
  variation 0, as the summary says);
* a few live flags depend on an old temporary flag through a prerequisite in every critical environment,
  so that flag cannot be archived;
* code references in two or three repositories per project: most live flags referenced (some in two
  repositories), most inactive ones removed from code already (extinct) but some still referenced.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..vocabulary import DAY_MS
from .catalog import _TEAMS, EMAIL_DOMAIN, _link, _object_id, _uuid

FORMER_MEMBER = ("Jordan", "Avery", "growth")
_REPOSITORIES: dict[str, tuple[tuple[str, str, str], ...]] = {
    # name, type (LaunchDarkly's enum: bitbucket, custom, github, gitlab), source link
    "web-storefront": (
        ("storefront-web", "github", "https://github.com/acme-shop/storefront-web"),
        ("storefront-bff", "github", "https://github.com/acme-shop/storefront-bff"),
    ),
    "mobile-app": (
        ("shop-ios", "github", "https://github.com/acme-shop/shop-ios"),
        ("shop-android", "github", "https://github.com/acme-shop/shop-android"),
    ),
    "payments-platform": (
        ("payments-service", "gitlab", "https://gitlab.com/acme-shop/payments-service"),
        ("payment-gateway", "bitbucket", "https://bitbucket.org/acme-shop/payment-gateway"),
        ("checkout-sdk", "github", "https://github.com/acme-shop/checkout-sdk"),
    ),
}
_CLAUSES = (
    ("country", "in", ["DE", "AT", "CH"]),
    ("email", "endsWith", [f"@{EMAIL_DOMAIN}"]),
    ("plan", "in", ["enterprise"]),
    ("beta", "in", [True]),
)
EXPAND_ONLY_TEAM_FIELDS = ("members", "maintainers", "roles", "projects", "roleAttributes")


@dataclass(frozen=True)
class CleanupData:
    """Decorated flags per project (what the flags routes serve), teams, and code-reference statistics."""

    flags: dict[str, list[dict[str, Any]]]
    teams: list[dict[str, Any]]
    code_refs: dict[str, dict[str, Any]]
    former_member: dict[str, Any]


def _member_summary(member_id: str, first: str, last: str, role: str) -> dict[str, Any]:
    email = f"{first.lower()}.{last.lower()}@{EMAIL_DOMAIN}"
    return {
        "_links": {"self": _link(f"/api/v2/members/{member_id}")},
        "_id": member_id,
        "firstName": first,
        "lastName": last,
        "role": role,
        "email": email,
    }


def _team_link(key: str) -> dict[str, Any]:
    return {
        "parent": _link("/api/v2/teams"),
        "roles": _link(f"/api/v2/teams/{key}/roles"),
        "self": _link(f"/api/v2/teams/{key}"),
    }


def _teams(
    rng: random.Random, now: int, members: list[dict[str, Any]], projects: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    out = []
    for key, name in sorted(_TEAMS.items()):
        people = [m for m in members if any(t.get("key") == key for t in m.get("teams", ()))]
        leads = [m for m in people if m.get("role") == "admin"] or people[:1]
        created = now - (500 + rng.randrange(400)) * DAY_MS
        out.append(
            {
                "_links": _team_link(key),
                "_creationDate": created,
                "_lastModified": created + rng.randrange(300) * DAY_MS,
                "_version": 1 + rng.randrange(6),
                "_idpSynced": False,
                "description": f"The {name} team",
                "key": key,
                "name": name,
                # expand-only fields (members, maintainers, roles, projects), left out unless asked for
                "members": {"totalCount": len(people)},
                "maintainers": {
                    "_links": {"self": _link(f"/api/v2/teams/{key}/maintainers?limit=20")},
                    "items": [
                        _member_summary(m["_id"], m["firstName"], m["lastName"], m["role"]) for m in leads
                    ],
                    "totalCount": len(leads),
                },
                "roles": {
                    "_links": {"self": _link(f"/api/v2/teams/{key}/roles?limit=25")},
                    "items": [],
                    "totalCount": 0,
                },
                "projects": {
                    "items": [
                        {
                            "_links": {
                                "environments": _link(f"/api/v2/projects/{p['key']}/environments"),
                                "self": _link(f"/api/v2/projects/{p['key']}"),
                            },
                            "_id": p["_id"],
                            "key": p["key"],
                            "name": p["name"],
                        }
                        for p in projects
                    ],
                    "totalCount": len(projects),
                },
                "roleAttributes": {},
            }
        )
    return out


def _rules(rng: random.Random, count: int) -> list[dict[str, Any]]:
    rules = []
    for n in range(count):
        attribute, op, values = _CLAUSES[rng.randrange(len(_CLAUSES))]
        rules.append(
            {
                "_id": _uuid(rng),
                "variation": 0,
                "clauses": [
                    {
                        "_id": _uuid(rng),
                        "attribute": attribute,
                        "op": op,
                        "values": list(values),
                        "contextKind": "user",
                        "negate": False,
                    }
                ],
                "trackEvents": False,
                "description": f"Rule {n + 1}: {attribute} {op}",
            }
        )
    return rules


def _critical_statuses(
    account_statuses: Mapping[tuple[str, str], list[dict[str, Any]]], project: str, critical: list[str]
) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for env in critical:
        for item in account_statuses.get((project, env), []):
            key = item["_links"]["parent"]["href"].rsplit("/", 1)[-1]
            out.setdefault(key, set()).add(item["name"])
    return out


def build_cleanup(
    seed: int,
    now: int,
    projects: list[dict[str, Any]],
    flags: Mapping[str, list[dict[str, Any]]],
    statuses: Mapping[tuple[str, str], list[dict[str, Any]]],
    members: list[dict[str, Any]],
) -> CleanupData:
    rng = random.Random(f"cleanup:{seed}")
    first, last, _team = FORMER_MEMBER
    former = _member_summary(_object_id(rng), first, last, "writer")
    team_of = {m["email"]: (m.get("teams") or [{}])[0].get("key") for m in members}
    decorated: dict[str, list[dict[str, Any]]] = {}
    code_refs: dict[str, dict[str, Any]] = {}
    for project in projects:
        pkey = project["key"]
        critical = [e["key"] for e in project["environments"] if e.get("critical") is True]
        by_status = _critical_statuses(statuses, pkey, critical)
        out: list[dict[str, Any]] = []
        for flag in flags.get(pkey, []):
            item = {**flag, "environments": {k: dict(v) for k, v in flag["environments"].items()}}
            for config in item["environments"].values():
                summary = config.get("_summary", {}).get("variations", {}).get("0", {})
                config["rules"] = _rules(rng, int(summary.get("rules", 0)))
                targets = int(summary.get("targets", 0))
                config["targets"] = (
                    [
                        {
                            "values": [f"user-{rng.getrandbits(32):08x}" for _ in range(targets)],
                            "variation": 0,
                            "contextKind": "user",
                        }
                    ]
                    if targets
                    else []
                )
                config["contextTargets"] = []
                config["prerequisites"] = []
            draw = rng.random()
            maintainer = item.get("_maintainer") or {}
            if draw < 0.25:  # maintained by the maintainer's team
                team = team_of.get(maintainer.get("email")) or "platform"
                item.pop("_maintainer", None)
                item.pop("maintainerId", None)
                item["maintainerTeamKey"] = team
                item["_maintainerTeam"] = {"key": team, "name": _TEAMS[team], "_links": _team_link(team)}
            elif draw < 0.29:  # nobody
                item.pop("_maintainer", None)
                item.pop("maintainerId", None)
            elif (
                draw < 0.40 and item["temporary"] and team_of.get(maintainer.get("email")) == FORMER_MEMBER[2]
            ):
                item["_maintainer"] = dict(former)
                item["maintainerId"] = former["_id"]
            out.append(item)
        _add_prerequisites(rng, out, by_status, critical)
        decorated[pkey] = out
        code_refs[pkey] = _statistics(rng, now, pkey, out, by_status)
    return CleanupData(decorated, _teams(rng, now, members, projects), code_refs, former)


def _add_prerequisites(
    rng: random.Random, flags: list[dict[str, Any]], by_status: dict[str, set[str]], critical: list[str]
) -> None:
    """A few live flags depend on an old, unused temporary flag in every critical environment."""
    live = [f for f in flags if not f["archived"]]
    parents = [
        f
        for f in live
        if f["temporary"]
        and by_status.get(f["key"])
        and by_status[f["key"]] <= {"inactive", "launched"}
        and all("variation" in f["environments"].get(e, {}).get("fallthrough", {}) for e in critical)
    ]
    children = [f for f in live if by_status.get(f["key"], set()) & {"active"}]
    for parent in rng.sample(parents, min(2, len(parents))):
        for child in rng.sample(children, min(2, len(children))):
            if child is parent:
                continue
            for env in critical:
                config = child["environments"].get(env)
                fall = parent["environments"].get(env, {}).get("fallthrough", {})
                if config is None or "variation" not in fall:
                    continue
                config["prerequisites"].append({"key": parent["key"], "variation": fall["variation"]})
                config["_summary"] = {**config["_summary"], "prerequisites": len(config["prerequisites"])}


def _statistics(
    rng: random.Random, now: int, project: str, flags: list[dict[str, Any]], by_status: dict[str, set[str]]
) -> dict[str, Any]:
    repos = _REPOSITORIES.get(project, ())
    found: dict[str, list[dict[str, Any]]] = {}
    for flag in flags:
        if flag["archived"] or not repos:
            continue  # archived flags were removed from code first (their references are extinct)
        unused = by_status.get(flag["key"], set()) == {"inactive"}
        if rng.random() >= (0.3 if unused else 0.85):
            continue
        picked = rng.sample(range(len(repos)), 2 if len(repos) > 1 and rng.random() < 0.3 else 1)
        reps = []
        for i in sorted(picked):
            name, kind, link = repos[i]
            hunks = 1 + rng.randrange(6)
            reps.append(
                {
                    "_links": {"self": _link(f"/api/v2/code-refs/repositories/{name}")},
                    "defaultBranch": "main",
                    "enabled": True,
                    "fileCount": 1 + rng.randrange(hunks),
                    "hunkCount": hunks,
                    "latestCommitTime": now - rng.randrange(1, 30 * 24) * 3_600_000,
                    "name": name,
                    "sourceLink": link,
                    "type": kind,
                    "version": 1 + rng.randrange(40),
                }
            )
        found[flag["key"]] = reps
    return {
        "_links": {"self": _link(f"/api/v2/code-refs/statistics/{project}")},
        "flags": dict(sorted(found.items())),
    }
