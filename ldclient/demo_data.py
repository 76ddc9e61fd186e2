"""The embedded demo LaunchDarkly account: a deterministic, realistic generator.

The dashboard, the tests and the benchmarks all need an account that behaves like a busy real one
(release trains, progressive rollouts, rollbacks, flapping kill switches, stale flags, experiments)
without a LaunchDarkly token. Everything comes from ``random.Random`` instances seeded from ``seed``
and from ``now_ms``, so the same pair always gives the same account, byte for byte.

Shapes follow LaunchDarkly's REST API (``Project``, ``Environment``, ``FeatureFlag``,
``FlagStatusRep``, ``FlagEventRep``) so the demo server can serve them unchanged.

Event types (``eventType``) used by the demo, with the resource actions they carry:

* ``flag-created``    global, actions ``["createFlag"]``
* ``flag-updated``    per environment (serving and targeting changes: ``updateOn``, ``updateFallthrough``,
  ``updateRules``, ``updateTargets``, ``updateOffVariation``, ``updatePrerequisites``) or global
  (``updateName``, ``updateTags``, ``updateDescription``, ``updateFlagVariations``)
* ``flag-deprecated`` global, actions ``["updateDeprecated"]``
* ``flag-archived``   global, actions ``["updateGlobalArchived"]``

Global events have no ``environmentId``/``environmentKey`` and an impact of size ``none``.
Impact ``percentage`` is the total variation distance between the before and after evaluation
distributions, times 100, rounded to 2 decimals; ``size`` follows it (0 none, <20 small,
20-80 medium, >80 large).
"""

from __future__ import annotations

import datetime as dt
import json
import random
import threading
import unicodedata
from bisect import bisect_right, insort
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

MINUTE_MS = 60_000
HOUR_MS = 3_600_000
DAY_MS = 86_400_000
WINDOW_DAYS = 180
HISTORY_DAYS = 730

EVENT_TYPES: dict[str, str] = {
    "flag-created": "A flag was created (global).",
    "flag-updated": "A flag's targeting or serving changed in one environment, or its settings globally.",
    "flag-deprecated": "A flag was marked deprecated (global).",
    "flag-archived": "A flag was archived (global).",
}
SERVING_ACTIONS = frozenset({"updateOn", "updateFallthrough", "updateRules", "updateTargets",
                             "updateOffVariation"})
STATUS_NAMES = ("new", "active", "inactive", "launched")
_IMPACT_BOUNDS = (20.0, 80.0)

# --- who works here -----------------------------------------------------------------------------------

_TEAMS: dict[str, str] = {
    "checkout": "Checkout", "growth": "Growth", "mobile": "Mobile", "payments": "Payments",
    "platform": "Platform",
}
_BERLIN = "Europe/Berlin"
_NEW_YORK = "America/New_York"
_PEOPLE: tuple[tuple[str, str, str, str, str], ...] = (
    ("Lena", "Hoffmann", "checkout", _BERLIN, "admin"),
    ("Jonas", "Becker", "checkout", _BERLIN, "writer"),
    ("Aylin", "Demir", "checkout", _BERLIN, "writer"),
    ("Mateo", "García", "checkout", _BERLIN, "writer"),
    ("Priya", "Raman", "growth", _NEW_YORK, "writer"),
    ("Marcus", "Johnson", "growth", _NEW_YORK, "writer"),
    ("Emily", "Chen", "growth", _NEW_YORK, "writer"),
    ("Daniel", "Okafor", "growth", _NEW_YORK, "writer"),
    ("Sofia", "Rossi", "mobile", _BERLIN, "writer"),
    ("Felix", "Wagner", "mobile", _BERLIN, "writer"),
    ("Hannah", "Kim", "mobile", _NEW_YORK, "writer"),
    ("Tyler", "Brooks", "mobile", _NEW_YORK, "writer"),
    ("Katarzyna", "Nowak", "payments", _BERLIN, "writer"),
    ("Lukas", "Schmidt", "payments", _BERLIN, "admin"),
    ("Amara", "Mensah", "payments", _BERLIN, "writer"),
    ("Nils", "Larsen", "payments", _BERLIN, "writer"),
    ("Grace", "Miller", "platform", _NEW_YORK, "admin"),
    ("Omar", "Haddad", "platform", _NEW_YORK, "writer"),
    ("Rachel", "Stein", "platform", _NEW_YORK, "writer"),
    ("Wei", "Zhang", "platform", _BERLIN, "writer"),
)
EMAIL_DOMAIN = "acme-shop.example"

# --- what they build ---------------------------------------------------------------------------------

_ENVIRONMENTS: dict[str, tuple[str, str, bool, tuple[str, ...]]] = {
    "production": ("Production", "417505", True, ("prod",)),
    "prod-eu": ("Production EU", "0B6E4F", True, ("prod", "eu", "gdpr")),
    "staging": ("Staging", "F5A623", False, ("pre-prod",)),
    "test": ("Test", "8B8B8B", False, ()),
}

_PROJECTS: tuple[dict[str, Any], ...] = (
    {
        "key": "web-storefront", "name": "Web Storefront", "tags": ["web", "customer-facing"],
        "teams": ("checkout", "growth"), "envs": ("production", "staging", "test"), "traffic": 1.0,
        "nouns": (
            "checkout-flow", "apple-pay", "google-pay", "product-recommendations", "search-autocomplete",
            "cart-drawer", "wishlist", "guest-checkout", "one-click-buy", "address-autocomplete",
            "free-shipping-banner", "product-reviews", "size-guide", "store-locator", "promo-codes",
            "gift-cards",
            "loyalty-points", "order-tracking", "live-chat", "dark-mode", "mega-menu", "infinite-scroll",
            "image-zoom", "price-alerts", "bundle-discounts", "express-delivery", "click-and-collect",
            "returns-portal", "newsletter-popup", "cookie-banner", "homepage-hero", "category-filters",
            "recently-viewed", "cross-sell-carousel", "product-videos", "klarna", "paypal-express",
            "seo-landing-pages", "cdn-images", "web-vitals-beacon", "checkout-upsell", "saved-addresses",
        ),
    },
    {
        "key": "mobile-app", "name": "Mobile App", "tags": ["mobile", "ios", "android"],
        "teams": ("mobile", "growth"), "envs": ("production", "staging", "test"), "traffic": 0.7,
        "nouns": (
            "onboarding-carousel", "biometric-login", "push-notifications", "in-app-review", "offline-mode",
            "deep-links", "bottom-nav", "app-rating-prompt", "home-widget", "dark-theme", "haptic-feedback",
            "barcode-scanner", "ar-try-on", "voice-search", "image-search", "saved-carts", "quick-reorder",
            "location-services", "background-refresh", "crash-reporter", "profile-screen", "account-deletion",
            "social-login", "sign-in-with-apple", "magic-link-login", "home-feed", "stories",
            "product-detail", "tablet-layout", "split-view", "app-clips", "mini-player", "rich-notifications",
            "in-app-messages",
            "referral-program", "coupon-wallet", "store-mode", "image-cache", "graphql-client", "ios-paywall",
        ),
    },
    {
        "key": "payments-platform", "name": "Payments Platform", "tags": ["payments", "backend", "pci"],
        "teams": ("payments",), "envs": ("production", "prod-eu", "staging", "test"), "traffic": 1.4,
        "nouns": (
            "3ds2-challenge", "sca-exemptions", "stripe-connect", "adyen-routing", "card-tokenization",
            "network-tokens", "payout-batching", "fraud-scoring", "risk-engine", "chargeback-alerts",
            "refund-automation", "partial-refunds", "multi-currency", "fx-rates-cache", "sepa-direct-debit",
            "ideal", "bancontact", "apple-pay-merchant", "invoice-pdf", "ledger-reconciliation",
            "idempotency-keys", "webhook-retries", "payment-links", "subscription-billing", "dunning-emails",
            "tax-calculation", "vat-validation", "psd2-consent", "settlement-reports", "kyc-verification",
            "aml-screening", "velocity-limits", "retry-declines", "smart-routing", "installments", "bnpl",
            "wallet-balance", "merchant-onboarding", "pci-vault", "audit-trail",
        ),
    },
)

_TEMPLATES: dict[str, tuple[str, ...]] = {
    "release": ("new-{n}", "enable-{n}", "{n}-v2", "release-{n}", "show-{n}", "{n}-redesign", "use-{n}",
                "rollout-{n}"),
    "experiment": ("exp-{n}", "{n}-ab-test", "{n}-experiment"),
    "ops": ("kill-switch-{n}", "disable-{n}", "{n}-circuit-breaker", "{n}-fallback"),
    "config": ("{n}-config", "{n}-provider", "{n}-variant", "{n}-layout"),
    "entitlement": ("allow-{n}", "{n}-beta-access", "{n}-early-access", "{n}-allowlist"),
}
_ARCHETYPE_WEIGHTS = (("release", 0.50), ("experiment", 0.08), ("ops", 0.14), ("config", 0.12),
                      ("entitlement", 0.16))
_WORDS = {
    "v2": "v2", "ab": "A/B", "ios": "iOS", "3ds2": "3DS2", "sca": "SCA", "pci": "PCI", "kyc": "KYC",
    "aml": "AML",
    "psd2": "PSD2", "fx": "FX", "vat": "VAT", "sepa": "SEPA", "bnpl": "BNPL", "seo": "SEO", "cdn": "CDN",
    "ar": "AR", "pdf": "PDF", "apple": "Apple", "google": "Google", "stripe": "Stripe", "adyen": "Adyen",
    "klarna": "Klarna", "paypal": "PayPal", "ideal": "iDEAL", "bancontact": "Bancontact",
    "graphql": "GraphQL",
    "exp": "Experiment:", "ms": "ms",
}
_EXTRA_TAGS = ("q3-launch", "q4-launch", "tech-debt", "seo", "a11y", "performance", "holiday-season",
               "compliance",
               "beta", "revenue", "retention", "security")
_STRING_VALUE_SETS = (("grid", "list", "carousel"), ("v1", "v2", "v3"), ("low", "medium", "high"),
                      ("control", "compact", "expanded"))
_JSON_VALUE_SETS = (
    ({"provider": "primary", "timeoutMs": 2000, "retries": 2},
     {"provider": "secondary", "timeoutMs": 3500, "retries": 3},
     {"provider": "primary", "timeoutMs": 800, "retries": 0}),
    ({"layout": "grid", "columns": 3, "showBadges": True},
     {"layout": "grid", "columns": 4, "showBadges": True},
     {"layout": "list", "columns": 1, "showBadges": False}),
    ({"batchSize": 100, "intervalSec": 60}, {"batchSize": 500, "intervalSec": 300}),
)
_SEGMENTS = ("internal-employees", "beta-testers", "qa-team", "enterprise-accounts", "eu-customers",
             "vip-customers", "new-signups")
_CLAUSES = (("country", "is one of", "DE, AT, CH"), ("email", "ends with", f"@{EMAIL_DOMAIN}"),
            ("plan", "is", "enterprise"), ("appVersion", "semVer >=", "5.2.0"), ("platform", "is", "ios"),
            ("region", "is one of", "us-east-1, eu-west-1"), ("accountAgeDays", "<", "30"))
_RENAME_SUFFIXES = ("(web)", "(beta)", "(GA)", "(EU)", "(legacy)", "v2")
_BOTS = ("crm-segment-sync", "release-pipeline", "terraform")
_WORK_HOURS = (8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18)
_WORK_WEIGHTS = (0.3, 0.8, 1.0, 1.0, 0.6, 0.7, 1.0, 1.0, 0.9, 0.6, 0.25)
_WORK_START_MS = 8 * HOUR_MS + 30 * MINUTE_MS
_WORK_END_MS = 18 * HOUR_MS + 30 * MINUTE_MS


def default_now_ms() -> int:
    """Start of the current UTC day: the demo never looks old, yet stays identical all day long."""
    from .clock import now_ms

    return now_ms() // DAY_MS * DAY_MS


def iso_ms(ms: int) -> str:
    """LaunchDarkly's timestamp text, e.g. ``2024-05-01T09:30:00.123Z``."""
    stamp = dt.datetime.fromtimestamp(ms / 1000, dt.UTC)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def impact_size(percentage: float) -> str:
    """LaunchDarkly's buckets: none (0%), small (<20%), medium (20-80%), large (>80%)."""
    if percentage <= 0:
        return "none"
    if percentage < _IMPACT_BOUNDS[0]:
        return "small"
    if percentage <= _IMPACT_BOUNDS[1]:
        return "medium"
    return "large"


def variation_distance(a: Iterable[int | float], b: Iterable[int | float]) -> float:
    """Total variation distance between two count vectors (0 when either is empty)."""
    a, b = list(a), list(b)
    sa, sb = sum(a), sum(b)
    if sa <= 0 or sb <= 0:
        return 0.0
    return 0.5 * sum(abs(x * sb - y * sa) for x, y in zip(a, b, strict=True)) / (sa * sb)


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


def _humanize(key: str) -> str:
    words = [_WORDS.get(w, w) for w in key.split("-")]
    text = " ".join(words)
    return text[0].upper() + text[1:]


_UUID_CLEAR = ~((0xF000 << 64) | (0xC000 << 48))
_UUID_SET = (0x4000 << 64) | (0x8000 << 48)


def _uuid(rng: random.Random) -> str:
    """Same text as ``str(uuid.UUID(int=rng.getrandbits(128), version=4))``, several times faster."""
    h = f"{(rng.getrandbits(128) & _UUID_CLEAR) | _UUID_SET:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _object_id(rng: random.Random) -> str:
    return f"{rng.getrandbits(96):024x}"


def _link(href: str, kind: str = "application/json") -> dict[str, str]:
    return {"href": href, "type": kind}


def _event_order(event: Mapping[str, Any]) -> tuple[int, str]:
    return event["eventTime"], event["id"]


# --- the account -------------------------------------------------------------------------------------


@dataclass
class DemoAccount:
    """A whole demo LaunchDarkly account. Treat the dicts as read-only: events share member objects."""

    seed: int
    now_ms: int
    projects: list[dict[str, Any]]
    flags: dict[str, list[dict[str, Any]]]
    statuses: dict[tuple[str, str], list[dict[str, Any]]]
    events: list[dict[str, Any]]
    members: list[dict[str, Any]]
    revision: int = 0
    added: list[list[dict[str, Any]]] = field(default_factory=list, repr=False, compare=False)
    _lock: threading.RLock = field(default_factory=threading.RLock, repr=False, compare=False)
    _ids: set[str] | None = field(default=None, repr=False, compare=False)

    def project(self, key: str) -> dict[str, Any] | None:
        return next((p for p in self.projects if p["key"] == key), None)

    def environment(self, project_key: str, env_key: str) -> dict[str, Any] | None:
        project = self.project(project_key)
        if project is None:
            return None
        return next((e for e in project["environments"] if e["key"] == env_key), None)

    def add_events(self, items: Iterable[Mapping[str, Any]]) -> int:
        """Append new activity (tests and benchmarks simulate a live account). The server picks the batch
        up incrementally through ``added``/``revision``; unknown projects/environments and duplicate ids
        are refused so paging stays exact."""
        batch = [dict(item) for item in items]
        with self._lock:
            if self._ids is None:
                self._ids = {e["id"] for e in self.events}
            fresh: set[str] = set()
            for item in batch:
                event_id, project_key = item.get("id"), item.get("projectKey")
                if not isinstance(event_id, str) or not isinstance(item.get("eventTime"), int):
                    raise ValueError("each event needs a string id and an integer eventTime")
                if event_id in self._ids or event_id in fresh:
                    raise ValueError(f"duplicate event id {event_id}")
                if not isinstance(project_key, str) or self.project(project_key) is None:
                    raise ValueError(f"unknown project {project_key!r}")
                env_key = item.get("environmentKey")
                if env_key is not None and self.environment(project_key, env_key) is None:
                    raise ValueError(f"unknown environment {project_key}/{env_key}")
                fresh.add(event_id)
            if not batch:
                return 0
            self._ids |= fresh
            order = _event_order
            if len(batch) <= 256:  # a trickle of live activity: keep the list sorted without re-sorting it
                for item in batch:
                    insort(self.events, item, key=order)
            else:
                self.events.extend(batch)
                self.events.sort(key=order)
            self.added.append(batch)
            self.revision += 1
        return len(batch)

    def make_events(self, count: int, project_key: str, env_key: str, start_ms: int, end_ms: int,
                    seed: int = 0) -> list[dict[str, Any]]:
        """Synthetic extra events for this account's project/env (not yet added: pass to add_events)."""
        env = self.environment(project_key, env_key)
        project = self.project(project_key)
        if env is None or project is None:
            raise KeyError(f"unknown environment {project_key}/{env_key}")
        keys = [f["key"] for f in self.flags.get(project_key, []) if not f["archived"]]
        return make_events(count, project_key, env_key, start_ms, end_ms, seed, project_id=project["_id"],
                           environment_id=env["_id"], flag_keys=keys or None)

    def to_json(self) -> str:
        """The whole account as JSON text, key order included: equal text means equal accounts."""
        doc = {
            "seed": self.seed, "now_ms": self.now_ms, "projects": self.projects, "flags": self.flags,
            "statuses": {f"{p}/{e}": items for (p, e), items in self.statuses.items()},
            "events": self.events, "members": self.members,
        }
        return json.dumps(doc, separators=(",", ":"), ensure_ascii=False)

    def summary(self) -> dict[str, Any]:
        return {
            "projects": len(self.projects),
            "environments": sum(len(p["environments"]) for p in self.projects),
            "flags": sum(len(v) for v in self.flags.values()),
            "events": len(self.events),
            "members": len(self.members),
        }


# --- synthetic extra events --------------------------------------------------------------------------


def make_events(count: int, project_key: str, env_key: str, start_ms: int, end_ms: int, seed: int = 0, *,
                project_id: str | None = None, environment_id: str | None = None,
                flag_keys: list[str] | None = None) -> list[dict[str, Any]]:
    """``count`` valid FlagEventReps in ``[start_ms, end_ms)`` for one project/env, cheaply (benchmarks
    ask for 50,000 at once). Boolean flags only; impact is consistent with the before/after counts."""
    if count < 0 or end_ms <= start_ms:
        raise ValueError("need count >= 0 and end_ms > start_ms")
    rng = random.Random(f"make-events:{seed}:{project_key}:{env_key}")
    keys = flag_keys or [f"bench-flag-{i:04d}" for i in range(400)]
    project_id = project_id or _object_id(rng)
    environment_id = environment_id or _object_id(rng)
    people = [_member_rep(i, p) for i, p in enumerate(_PEOPLE)]
    kinds = (("updateTargets", "Added {n} individual targets to 'true'", 0.0),
             ("updateRules", "Updated rule {n} clauses", 0.08),
             ("updateFallthrough", "Updated fallthrough to {p}% rollout", 0.4),
             ("updateOn", "Turned flag off", 1.0))
    out: list[dict[str, Any]] = []
    rand, bits = rng.random, rng.getrandbits
    span, n_keys, n_people = end_ms - start_ms, len(keys), len(people)
    for _ in range(count):
        action, text, scale = kinds[min(3, int(rand() * rand() * 4.6))]
        p_before = rand()
        shift = scale * rand()
        p_after = min(1.0, max(0.0, p_before + (shift if rand() < 0.5 else -shift)))
        if action == "updateOn":
            p_after = 0.0
        total = 200 + int(rand() * 20_000)
        b_on = int(total * p_before + 0.5)
        before = (b_on, total - b_on)
        if p_after == p_before:
            after = before
        else:
            total_after = int(total * (0.9 + 0.2 * rand()))
            a_on = int(total_after * p_after + 0.5)
            after = (a_on, total_after - a_on)
        # two variations: the total variation distance is the change in the first one's share
        pct = round(100.0 * abs(before[0] * sum(after) - after[0] * total) / (total * sum(after)), 2)
        out.append({
            "id": _uuid(rng), "projectId": project_id, "projectKey": project_key,
            "environmentId": environment_id,
            "environmentKey": env_key, "flagKey": keys[int(rand() * n_keys)], "eventType": "flag-updated",
            "eventTime": start_ms + int(rand() * span),
            "description": text.format(n=1 + int(rand() * 9), p=int(p_after * 100)),
            "auditLogEntryId": f"{bits(96):024x}", "member": people[int(rand() * n_people)],
            "actions": [action],
            "impact": {"size": impact_size(pct), "percentage": pct, "reason": "evaluations",
                       "evaluationsSummary": {"variations": [
                           {"value": True, "before": before[0], "after": after[0]},
                           {"value": False, "before": before[1], "after": after[1]}]}},
            "experiments": {"totalCount": 0, "items": []},
        })
    out.sort(key=_event_order)
    return out


def _member_rep(index: int, person: tuple[str, str, str, str, str]) -> dict[str, str]:
    first, last = person[0], person[1]
    return {"id": f"{0x5E0000 + index:06x}{'a1b2c3d4e5f6a7b8c9'}", "email": _email(first, last),
            "firstName": first, "lastName": last}


def _email(first: str, last: str) -> str:
    return f"{_ascii(first).lower()}.{_ascii(last).lower()}@{EMAIL_DOMAIN}"


# --- generation --------------------------------------------------------------------------------------


class _Clock:
    """UTC offsets of one zone per UTC day over the generated span, so DST is right and lookups are cheap."""

    def __init__(self, zone: str, first_day: int, last_day: int) -> None:
        tz = ZoneInfo(zone)
        self.first = first_day
        days = range(first_day, last_day + 1)
        noons = (dt.datetime.fromtimestamp(d * 86_400 + 43_200, dt.UTC) for d in days)
        self.offsets = [int(noon.astimezone(tz).utcoffset().total_seconds()) * 1000 for noon in noons]
        self.last = len(self.offsets) - 1

    def offset(self, t: int) -> int:
        i = t // DAY_MS - self.first
        return self.offsets[0 if i < 0 else self.last if i > self.last else i]


@dataclass(slots=True)
class _Flag:
    project: dict[str, Any]
    key: str
    name: str
    archetype: str
    values: list[Any]
    var_names: list[str]
    off_var: int
    temporary: bool
    created: int
    team: str
    maintainer: int
    tags: list[str]
    description: str
    traffic: dict[str, int]
    deployed: dict[str, int] = field(default_factory=dict)
    retired: int | None = None
    archived_at: int | None = None
    deprecated_at: int | None = None
    weight: float = 0.0
    experiments: list[dict[str, Any]] = field(default_factory=list)
    specs: list[tuple[Any, ...]] = field(default_factory=list)
    reserved: list[tuple[int, int, str | None]] = field(default_factory=list)
    churn_end: int = 0
    fresh: bool = False

    @property
    def boolean(self) -> bool:
        return len(self.values) == 2 and self.values[0] is True


class _Builder:
    def __init__(self, seed: int, now_ms: int, events_target: int) -> None:
        self.seed = seed
        self.now = now_ms
        self.window_start = now_ms - WINDOW_DAYS * DAY_MS
        self.target = events_target
        self.rng = random.Random(f"demo-account:{seed}:structure")
        self.ids = random.Random(f"demo-account:{seed}:ids")
        first_day = now_ms // DAY_MS - HISTORY_DAYS - 40
        last_day = now_ms // DAY_MS + 400
        self.clocks = {zone: _Clock(zone, first_day, last_day) for zone in (_BERLIN, _NEW_YORK)}
        self.seq = 0
        self.people = _PEOPLE
        self.member_reps = [_member_rep(i, p) for i, p in enumerate(_PEOPLE)]
        self.by_team: dict[str, list[int]] = {}
        for i, person in enumerate(_PEOPLE):
            self.by_team.setdefault(person[2], []).append(i)
        self.flags: list[_Flag] = []
        self.projects: list[dict[str, Any]] = []
        self.work_cum: list[float] = []
        acc = 0.0
        for w in _WORK_WEIGHTS:
            acc += w
            self.work_cum.append(acc)

    # time ------------------------------------------------------------------------------------------

    def _work_tod(self) -> int:
        hour = self.rng.choices(_WORK_HOURS, cum_weights=self.work_cum)[0]
        return hour * HOUR_MS + self.rng.randrange(HOUR_MS)

    def snap(self, t: int, zone: str, off_hours: float = 0.05) -> int:
        """The first plausible working moment at or after ``t`` in ``zone``; a few changes stay at night
        or on weekends, as incidents and eager engineers do."""
        if self.rng.random() < off_hours:
            return t
        clock = self.clocks[zone]
        off = clock.offset(t)
        day, tod = divmod(t + off, DAY_MS)
        if (day + 3) % 7 < 5 and _WORK_START_MS <= tod < _WORK_END_MS:
            return t
        if tod >= _WORK_START_MS or (day + 3) % 7 >= 5:
            day += 1
        while (day + 3) % 7 >= 5:
            day += 1
        local = day * DAY_MS + self._work_tod()
        return max(t, local - clock.offset(local - off))

    def later(self, f: _Flag, t: int, lo: int, hi: int, member: int | None = None,
              off_hours: float = 0.05) -> int:
        zone = self.people[member if member is not None else f.maintainer][3]
        return self.snap(t + self.rng.randint(lo, hi), zone, off_hours)

    def sample_time(self, start: int, end: int, zone: str) -> int | None:
        """A change time in ``[start, end)``: weekdays and office hours mostly, some nights and weekends."""
        if end <= start:
            return None
        rng, clock = self.rng, self.clocks[zone]
        for _ in range(6):
            t0 = rng.randrange(start, end)
            off = clock.offset(t0)
            day = (t0 + off) // DAY_MS
            if (day + 3) % 7 >= 5 and rng.random() > 0.12:
                continue
            tod = rng.randrange(DAY_MS) if rng.random() < 0.06 else self._work_tod()
            t = day * DAY_MS + tod - off
            if start <= t < end:
                return t
        return None

    # specs -----------------------------------------------------------------------------------------

    def spec(self, f: _Flag, t: int, env: str | None, kind: str, arg: Any = None, member: int | None = None,
             origin: str = "story") -> None:
        if member is None:
            member = f.maintainer if self.rng.random() < 0.6 else self.teammate(f)
        self.seq += 1
        f.specs.append((t, self.seq, env, kind, arg, member, origin))

    def teammate(self, f: _Flag) -> int:
        rng = self.rng
        r = rng.random()
        if r < 0.85:
            return rng.choice(self.by_team[f.team])
        if r < 0.95:
            return rng.choice(self.by_team["platform"])
        return rng.randrange(len(self.people))

    # structure -------------------------------------------------------------------------------------

    def build_members(self) -> list[dict[str, Any]]:
        out = []
        for i, (first, last, team, zone, role) in enumerate(self.people):
            rep = self.member_reps[i]
            out.append({
                "_links": {"self": _link(f"/api/v2/members/{rep['id']}")},
                "_id": rep["id"], "firstName": first, "lastName": last, "role": role, "email": rep["email"],
                "_pendingInvite": False, "_verified": True, "customRoles": [], "mfa": "enabled",
                "excludedDashboards": [], "_lastSeen": self.now - self.rng.randrange(3 * DAY_MS),
                "creationDate": self.now - (400 + self.rng.randrange(900)) * DAY_MS,
                "teams": [{"customRoleKeys": [], "key": team, "name": _TEAMS[team]}],
                "timeZone": zone,
            })
        return out

    def build_projects(self) -> None:
        rng = self.rng
        for spec in _PROJECTS:
            envs = []
            for env_key in spec["envs"]:
                name, color, critical, tags = _ENVIRONMENTS[env_key]
                env_id = _object_id(rng)
                base = f"/api/v2/projects/{spec['key']}/environments/{env_key}"
                envs.append({
                    "_links": {"self": _link(base), "analytics": _link(f"/analytics/{env_id}", "text/html")},
                    "_id": env_id, "key": env_key, "name": name,
                    "apiKey": f"sdk-demo-{rng.getrandbits(64):016x}",
                    "mobileKey": f"mob-demo-{rng.getrandbits(64):016x}",
                    "color": color, "defaultTtl": 0, "secureMode": False, "defaultTrackEvents": False,
                    "requireComments": critical, "confirmChanges": critical, "tags": list(tags),
                    "critical": critical,
                })
            self.projects.append({
                "_links": {"self": _link(f"/api/v2/projects/{spec['key']}"),
                           "environments": _link(f"/api/v2/projects/{spec['key']}/environments")},
                "_id": _object_id(rng), "key": spec["key"], "includeInSnippetByDefault": False,
                "defaultClientSideAvailability": {"usingMobileKey": spec["key"] == "mobile-app",
                                                  "usingEnvironmentId": spec["key"] == "web-storefront"},
                "name": spec["name"], "tags": list(spec["tags"]), "environments": envs,
            })

    def build_flags(self) -> None:
        rng = self.rng
        self.keys_by_project: dict[str, list[str]] = {}
        arche, weights = zip(*_ARCHETYPE_WEIGHTS, strict=True)
        for spec, project in zip(_PROJECTS, self.projects, strict=True):
            count = rng.randint(170, 260)
            keys: set[str] = set()
            fresh_left = 3  # brand-new flags, not yet requested anywhere: status "new"
            made = 0
            while made < count:
                kind = "release" if fresh_left else rng.choices(arche, weights)[0]
                key = rng.choice(_TEMPLATES[kind]).format(n=rng.choice(spec["nouns"]))
                if key in keys:
                    continue
                keys.add(key)
                f = self.new_flag(spec, project, key, kind, fresh=fresh_left > 0)
                fresh_left = max(0, fresh_left - 1)
                self.flags.append(f)
                self.keys_by_project.setdefault(project["key"], []).append(key)
                made += 1

    def new_flag(self, spec: dict[str, Any], project: dict[str, Any], key: str, kind: str,
                 fresh: bool) -> _Flag:
        rng = self.rng
        team = rng.choice(spec["teams"]) if kind != "ops" or rng.random() < 0.6 else "platform"
        maintainer = rng.choice(self.by_team[team])
        if kind in ("release", "experiment"):
            temporary = True
            days = rng.uniform(0.5, 180) if rng.random() < 0.45 else rng.uniform(180, HISTORY_DAYS)
        else:
            temporary = False
            days = rng.uniform(60, HISTORY_DAYS)
        if fresh:
            days = rng.uniform(1.0, 5.5)
        created = self.snap(self.now - int(days * DAY_MS), self.people[maintainer][3], 0.03)
        if created >= self.now:
            created = self.now - rng.randint(2 * HOUR_MS, 20 * HOUR_MS)
        if kind == "config" or (kind == "experiment" and rng.random() < 0.7):
            if kind == "config" and rng.random() < 0.5:
                values: list[Any] = [dict(v) for v in rng.choice(_JSON_VALUE_SETS)]
                names = [f"Profile {chr(65 + i)}" for i in range(len(values))]
            elif kind == "config":
                values = list(rng.choice(_STRING_VALUE_SETS))
                names = [v.capitalize() for v in values]
            else:
                values = ["control", "variant-a", "variant-b"][: rng.choice((2, 3))]
                names = ["Control", "Variant A", "Variant B"][: len(values)]
            off_var = 0
        else:
            values, names, off_var = [True, False], ["Enabled", "Disabled"], 1
        pop = min(25.0, max(0.03, rng.lognormvariate(0, 1.1)))
        scale = spec["traffic"]
        traffic = {"production": int(18_000 * pop * scale), "prod-eu": int(7_000 * pop * scale),
                   "staging": int(150 + 300 * pop ** 0.5), "test": int(20 + 40 * pop ** 0.3)}
        tags = [kind if kind != "entitlement" else "entitlements", f"team-{team}"]
        if rng.random() < 0.35:
            tags.append(rng.choice(_EXTRA_TAGS))
        name = _humanize(key)
        description = {
            "release": f"Release toggle for {name.lower()}. Remove once fully rolled out.",
            "experiment": f"A/B test: does {name.lower()} improve conversion?",
            "ops": f"Operational kill switch: turn off to disable {name.lower()} during incidents.",
            "config": f"Remote configuration for {name.lower()}.",
            "entitlement": f"Who gets access to {name.lower()}.",
        }[kind]
        return _Flag(project=project, key=key, name=name, archetype=kind, values=values, var_names=names,
                     off_var=off_var, temporary=temporary, created=created, team=team, maintainer=maintainer,
                     tags=sorted(set(tags)), description=description,
                     traffic={e["key"]: traffic[e["key"]] for e in project["environments"]}, fresh=fresh)

    # stories ---------------------------------------------------------------------------------------

    def envs(self, f: _Flag) -> list[str]:
        return [e["key"] for e in f.project["environments"]]

    def deploy(self, f: _Flag, fresh: bool) -> None:
        """When the code that evaluates the flag reaches each environment (traffic starts then)."""
        rng = self.rng
        base = f.created + rng.randint(2 * HOUR_MS, 3 * DAY_MS)
        if fresh:
            base = self.now + rng.randint(1, 10) * DAY_MS
        f.deployed["test"] = base
        f.deployed["staging"] = base + rng.randint(0, 2 * DAY_MS)
        f.deployed["production"] = f.deployed["staging"] + rng.randint(DAY_MS, 6 * DAY_MS)
        if "prod-eu" in f.traffic:
            f.deployed["prod-eu"] = f.deployed["production"] + rng.randint(0, DAY_MS)

    def story(self, f: _Flag, fresh: bool) -> None:
        rng = self.rng
        self.deploy(f, fresh)
        self.spec(f, f.created, None, "create", member=f.maintainer)
        if fresh:
            return
        kind = f.archetype
        if kind in ("release", "experiment"):
            done = self.release(f) if kind == "release" else self.experiment(f)
            if done is not None:
                self.retire(f, done)
        else:
            on_dist = self.initial_dist(f)
            t = self.later(f, f.created, HOUR_MS, 2 * DAY_MS)
            self.spec(f, t, "test", "on", {"dist": on_dist.get("test")})
            t = self.later(f, t, 20 * HOUR_MS, 4 * DAY_MS)
            self.spec(f, t, "staging", "on", {"dist": on_dist.get("staging")})
            t = self.later(f, t, DAY_MS, 6 * DAY_MS)
            self.spec(f, t, "production", "on", {"dist": on_dist.get("production")})
            if "prod-eu" in f.traffic:
                self.spec(f, self.later(f, t, 4 * HOUR_MS, 2 * DAY_MS), "prod-eu", "on",
                          {"dist": on_dist.get("production")})
            if kind == "config" and rng.random() < 0.35:
                self.migration(f, t)
            if rng.random() < 0.05:  # a permanent flag that outlived its purpose
                self.retire(f, t + rng.randint(30, 200) * DAY_MS)
        f.churn_end = min(x for x in (self.now, f.retired, f.archived_at) if x is not None)
        f.weight = self.churn_weight(f)

    def initial_dist(self, f: _Flag) -> dict[str, list[float]]:
        rng = self.rng
        if f.archetype == "entitlement":
            p = rng.uniform(0.15, 0.75)
            return {"test": [0.8, 0.2], "staging": [0.5, 0.5], "production": [round(p, 3), round(1 - p, 3)]}
        n = len(f.values)
        one = [1.0] + [0.0] * (n - 1) if f.archetype == "ops" or n > 2 else [1.0, 0.0]
        if f.archetype == "config" and n > 1:
            one = [0.0] * n
            one[1 if n > 2 else 0] = 1.0
        return {"test": one, "staging": one, "production": one}

    def migration(self, f: _Flag, t: int) -> None:
        """Config flags move between values with a rollout (provider migrations), sometimes rolled back."""
        rng = self.rng
        n = len(f.values)
        cur = 1 if n > 2 else 0
        nxt = (cur + 1) % n
        t = self.later(f, t, 20 * DAY_MS, 300 * DAY_MS)
        staging = [0.0] * n
        staging[nxt] = 1.0
        self.spec(f, self.later(f, t - 3 * DAY_MS, 0, DAY_MS), "staging", "dist", {"dist": staging})
        for share in (0.25, 0.5, 1.0):
            dist = [0.0] * n
            dist[cur], dist[nxt] = round(1 - share, 3), share
            self.spec(f, t, "production", "dist", {"dist": dist})
            if share == 0.5 and rng.random() < 0.3:
                self.rollback(f, t, "production")
                t = self.later(f, t, 2 * DAY_MS, 5 * DAY_MS)
                self.spec(f, t, "production", "dist", {"dist": dist})
            t = self.later(f, t, 26 * HOUR_MS, 5 * DAY_MS)

    def rollback(self, f: _Flag, t: int, env: str) -> int:
        """Revert the change at ``t`` within hours, and keep everything else off that flag meanwhile so the
        pair stays consecutive."""
        back = t + self.rng.randint(12 * MINUTE_MS, 5 * HOUR_MS)
        self.spec(f, back, env, "revert", member=self.teammate(f))
        f.reserved.append((t - MINUTE_MS, back + MINUTE_MS, None))
        return back

    def release(self, f: _Flag) -> int | None:
        """test -> staging -> production, progressive where it matters; returns when fully launched."""
        rng = self.rng
        t = self.later(f, f.created, HOUR_MS, 2 * DAY_MS)
        self.spec(f, t, "test", "on")
        t_stg = self.later(f, t, 20 * HOUR_MS, 5 * DAY_MS)
        if rng.random() < 0.35:  # dogfood: internal users first
            self.spec(f, t_stg, "staging", "rules", {"note": "internal"})
            t_stg = self.later(f, t_stg, 26 * HOUR_MS, 3 * DAY_MS)
        self.spec(f, t_stg, "staging", "on")
        t = self.later(f, t_stg, DAY_MS, 7 * DAY_MS)
        r = rng.random()
        steps = [0.1, 0.25, 0.5, 1.0] if r < 0.6 else [0.25, 1.0] if r < 0.7 else [1.0]
        if rng.random() < 0.1:
            steps = steps[: max(1, len(steps) - 1 - rng.randrange(2))]  # stalled mid-rollout
        rolled_back = False
        for i, share in enumerate(steps):
            if rng.random() < 0.5:  # rehearse in staging first
                self.spec(f, self.later(f, t - rng.randint(3 * HOUR_MS, 3 * DAY_MS), 0, HOUR_MS), "staging",
                          rng.choice(("targets", "rules")), origin="story")
            dist = [share, round(1 - share, 3)]
            self.spec(f, t, "production", "on" if i == 0 else "dist", {"dist": dist})
            if share <= 0.12:
                f.reserved.append((t, t + 25 * HOUR_MS, "production"))
            if "prod-eu" in f.traffic:
                self.spec(f, self.later(f, t, 4 * HOUR_MS, 2 * DAY_MS), "prod-eu", "on" if i == 0 else "dist",
                          {"dist": dist})
            if share >= 0.25 and not rolled_back and rng.random() < 0.16:
                rolled_back = True
                self.rollback(f, t, "production")
                t = self.later(f, t, 2 * DAY_MS, 5 * DAY_MS)
                self.spec(f, t, "production", "dist" if i else "on", {"dist": dist})
            if share < 1.0:
                t = self.later(f, t, 26 * HOUR_MS, 4 * DAY_MS)
        return t if steps[-1] == 1.0 else None

    def experiment(self, f: _Flag) -> int | None:
        rng = self.rng
        n = len(f.values)
        split = [round(1 / n, 4)] * n
        t = self.later(f, f.created, HOUR_MS, 2 * DAY_MS)
        self.spec(f, t, "test", "on", {"dist": split})
        t = self.later(f, t, 20 * HOUR_MS, 4 * DAY_MS)
        self.spec(f, t, "staging", "on", {"dist": split})
        t = self.later(f, t, DAY_MS, 5 * DAY_MS)
        ends = t + rng.randint(10, 35) * DAY_MS
        ends = self.later(f, ends, 0, HOUR_MS)
        winner = rng.randrange(n)
        exp_key = f"{f.key.removeprefix('exp-')}-{'test' if 'test' not in f.key else 'experiment'}"
        if t < self.now:
            f.experiments.append({
                "key": exp_key.replace("--", "-"), "name": f"{f.name} experiment", "env": "production",
                "iteration": _object_id(rng), "startedAt": t, "endedAt": ends if ends < self.now else None,
            })
        self.spec(f, t, "production", "on", {"dist": split, "note": "experiment"})
        final = [0.0] * n
        final[winner] = 1.0
        if f.boolean:
            final = [1.0, 0.0] if winner == 0 else [0.0, 1.0]
        self.spec(f, ends, "production", "dist", {"dist": final, "note": "winner"})
        return ends

    def retire(self, f: _Flag, launched: int) -> None:
        """After launch: some get their code removed (inactive), some of those archived, the rest linger."""
        rng = self.rng
        r = rng.random()
        if r < 0.6:
            f.retired = launched + rng.randint(10, 100) * DAY_MS
            if r < 0.32:
                if rng.random() < 0.25:
                    f.deprecated_at = self.later(f, f.retired, DAY_MS, 10 * DAY_MS)
                    self.spec(f, f.deprecated_at, None, "deprecate")
                archived = self.later(f, (f.deprecated_at or f.retired), DAY_MS, 25 * DAY_MS)
                self.spec(f, archived, None, "archive")
                if archived < self.now:
                    f.archived_at = archived

    def flapping(self, f: _Flag, env: str) -> None:
        """An incident: the kill switch goes off and on again several times within a few days."""
        rng = self.rng
        start = self.window_start + rng.randrange(10 * DAY_MS, (WINDOW_DAYS - 20) * DAY_MS)
        t = self.snap(start, self.people[f.maintainer][3], 0.5)
        for i in range(rng.choice((4, 4, 5, 6))):
            self.spec(f, t, env, "off" if i % 2 == 0 else "on", member=self.teammate(f))
            t += rng.randint(40 * MINUTE_MS, 30 * HOUR_MS)
        f.reserved.append((start - MINUTE_MS, t, None))

    def churn_weight(self, f: _Flag) -> float:
        rng = self.rng
        base = {"entitlement": 3.0, "ops": 0.8, "config": 1.4, "release": 0.5, "experiment": 0.6}[f.archetype]
        if f.archetype in ("release", "experiment") and rng.random() < 0.45:
            return 0.0
        if f.churn_end <= max(f.created, self.window_start):
            return 0.0
        return base * rng.paretovariate(1.3)

    # churn -----------------------------------------------------------------------------------------

    def churn(self, budget: int) -> None:
        """Day-to-day targeting work that fills the account up to the event target, concentrated on a
        minority of busy flags (entitlements, configs) so most flags stay quiet and can go stale."""
        rng = self.rng
        candidates = [f for f in self.flags if f.weight > 0]
        if not candidates or budget <= 0:
            return
        cum: list[float] = []
        acc = 0.0
        for f in candidates:
            span = f.churn_end - max(f.created + HOUR_MS, self.window_start)
            acc += f.weight * max(span, 0) / DAY_MS
            cum.append(acc)
        kinds = ("targets", "rules", "fallthrough", "offvar", "prereq", "toggle", "global")
        kind_cum = (0.50, 0.77, 0.86, 0.88, 0.90, 0.93)
        made = attempts = 0
        while made < budget and attempts < budget * 4:
            attempts += 1
            f = rng.choices(candidates, cum_weights=cum)[0]
            envs = self.envs(f)
            r = rng.random()
            kind = kinds[bisect_right(kind_cum, r)]
            member = self.teammate(f)
            start = max(f.created + HOUR_MS, self.window_start)
            t = self.sample_time(start, f.churn_end, self.people[member][3])
            if t is None:
                continue
            if kind == "global":
                if self.blocked(f, t, None):
                    continue
                g = rng.random()
                gkind = ("tags" if g < 0.42 else "description" if g < 0.82 else "rename" if g < 0.93
                         else "variations")
                if gkind == "variations" and f.boolean:
                    gkind = "tags"
                self.spec(f, t, None, gkind, member=member, origin="churn")
                made += 1
                continue
            env = self.pick_env(envs)
            if self.blocked(f, t, env):
                continue
            if kind == "toggle":
                if f.archetype not in ("ops", "config") or t < f.created + 20 * DAY_MS or budget - made < 2:
                    kind = "targets"
                else:
                    back = t + rng.randint(15 * MINUTE_MS, 8 * HOUR_MS)
                    if back >= f.churn_end or self.blocked(f, back, env):
                        continue
                    auto = rng.random() < 0.12
                    who = -1 if auto else member
                    self.spec(f, t, env, "off", {"auto": auto}, member=who, origin="churn")
                    self.spec(f, back, env, "on", {"auto": auto}, member=who, origin="churn")
                    made += 2
                    continue
            auto = kind == "targets" and rng.random() < 0.04
            self.spec(f, t, env, kind, {"auto": auto}, member=-1 if auto else member, origin="churn")
            made += 1
            critical = env in ("production", "prod-eu")
            if critical and made < budget and rng.random() < 0.72:
                rehearsal = "staging" if rng.random() < 0.75 else "test"
                lo = max(start, t - 6 * DAY_MS)
                tr = self.sample_time(lo, t - HOUR_MS, self.people[member][3]) if t - HOUR_MS > lo else None
                if tr is not None and not self.blocked(f, tr, rehearsal):
                    self.spec(f, tr, rehearsal, kind if kind != "offvar" else "targets", {"auto": False},
                              member=member, origin="churn")
                    made += 1

    def pick_env(self, envs: list[str]) -> str:
        r = self.rng.random()
        if "prod-eu" in envs:
            return "production" if r < 0.4 else "prod-eu" if r < 0.6 else "staging" if r < 0.82 else "test"
        return "production" if r < 0.52 else "staging" if r < 0.8 else "test"

    def blocked(self, f: _Flag, t: int, env: str | None) -> bool:
        for lo, hi, where in f.reserved:
            if lo <= t <= hi and (where is None or where == env):
                return True
        return False


# --- replay: state machine that turns specs into FlagEventReps -----------------------------------------


class _Replay:
    """Applies one flag's specs in time order, so every before/after distribution follows from the last."""

    def __init__(self, b: _Builder, f: _Flag) -> None:
        self.b, self.f = b, f
        self.rng = random.Random(f"demo-account:{b.seed}:replay:{f.project['key']}:{f.key}")
        n = len(f.values)
        self.state: dict[str, list[Any]] = {}
        for env in b.envs(f):
            dist = [0.0] * n
            dist[0 if f.boolean else (1 if n > 2 and f.archetype == "config" else 0)] = 1.0
            # [on, dist, off variation, rules, targets, version, last serving change, last event]
            self.state[env] = [False, dist, f.off_var, 0, 0, 1, f.created, f.created]
        self.prev: dict[str, tuple[bool, list[float], int]] = {}
        self.prev_actions: dict[str, list[str]] = {}
        self.idle_toggle: set[str] = set()
        self.events: list[dict[str, Any]] = []
        self.name = f.name
        self.version = 1
        self.last_any = f.created
        self.env_ids = {e["key"]: e["_id"] for e in f.project["environments"]}
        self.exp_reps = [self.exp_rep(x) for x in f.experiments]

    def exp_rep(self, x: dict[str, Any]) -> dict[str, Any]:
        project = self.f.project["key"]
        iteration: dict[str, Any] = {"id": x["iteration"], "status": "stopped" if x["endedAt"] else "running",
                                     "startedAt": x["startedAt"]}
        if x["endedAt"]:
            iteration["endedAt"] = x["endedAt"]
        iteration["_links"] = {}
        return {"key": x["key"], "name": x["name"], "iteration": iteration,
                "_links": {"self": _link(f"/api/v2/projects/{project}/environments/{x['env']}/experiments/"
                                         f"{x['key']}")}}

    def eff(self, st: list[Any]) -> list[float]:
        if st[0]:
            return st[1]
        one = [0.0] * len(self.f.values)
        one[st[2]] = 1.0
        return one

    def traffic(self, env: str, t: int) -> int:
        f = self.f
        if t < f.deployed.get(env, 1 << 62) or (f.retired is not None and t >= f.retired):
            return 0
        return f.traffic[env]

    def describe(self, dist: list[float]) -> str:
        names = self.f.var_names
        live = [(p, i) for i, p in enumerate(dist) if p > 0]
        if len(live) == 1:
            return f"serve '{self._value_text(live[0][1])}'"
        if self.f.boolean:
            return f"{_pct_text(dist[0])} rollout"
        return "rollout " + " / ".join(f"{_pct_text(p)} {names[i]}" for p, i in live)

    def _value_text(self, i: int) -> str:
        value = self.f.values[i]
        if isinstance(value, bool):
            return "true" if value else "false"
        return value if isinstance(value, str) else self.f.var_names[i]

    def run(self) -> None:
        f, b = self.f, self.b
        specs = sorted(s for s in f.specs if s[0] < b.now)
        last_at: dict[str, int] = {}
        prev_gap: list[int] = [1 << 62] * len(specs)
        next_gap: list[int] = [1 << 62] * len(specs)
        for i, s in enumerate(specs):
            env = s[2]
            if env is None:
                continue
            if env in last_at:
                j = last_at[env]
                prev_gap[i] = s[0] - specs[j][0]
                next_gap[j] = s[0] - specs[j][0]
            last_at[env] = i
        for i, s in enumerate(specs):
            isolated = prev_gap[i] > 25 * HOUR_MS and next_gap[i] > 25 * HOUR_MS
            if s[2] is None:
                self.global_event(s)
            else:
                self.env_event(s, isolated)

    # global ------------------------------------------------------------------------------------------

    def global_event(self, s: tuple[Any, ...]) -> None:
        t, _, _, kind, _, member, _ = s
        f, rng = self.f, self.rng
        if kind == "create":
            event_type, actions, text = "flag-created", ["createFlag"], f"Created flag '{self.name}'"
        elif kind == "archive":
            event_type, actions, text = "flag-archived", ["updateGlobalArchived"], "Archived flag"
        elif kind == "deprecate":
            event_type, actions, text = "flag-deprecated", ["updateDeprecated"], "Marked flag as deprecated"
        elif kind == "rename":
            base = _humanize(f.key)
            new = f"{base} {rng.choice(_RENAME_SUFFIXES)}"
            if new == self.name:
                new = base
            event_type, actions = "flag-updated", ["updateName"]
            text = f"Renamed flag from '{self.name}' to '{new}'"
            self.name = new
        elif kind == "tags":
            tag = rng.choice(_EXTRA_TAGS)
            if tag in f.tags and rng.random() < 0.5:
                text = f"Removed tag '{tag}'"
                f.tags = [x for x in f.tags if x != tag]
            else:
                text = f"Added tag '{tag}'"
                f.tags = sorted({*f.tags, tag})
            event_type, actions = "flag-updated", ["updateTags"]
        elif kind == "variations":
            i = rng.randrange(len(f.values))
            event_type, actions, text = "flag-updated", ["updateFlagVariations"], \
                f"Updated name and description of variation '{f.var_names[i]}'"
        else:
            event_type, actions, text = "flag-updated", ["updateDescription"], "Updated flag description"
        self.version += 1
        self.last_any = t
        if t >= self.b.window_start:
            impact = {"size": "none", "percentage": 0.0, "reason": "global",
                      "evaluationsSummary": {"variations": []}}
            self.emit(t, None, event_type, text, member, actions, impact, [])

    # per environment ---------------------------------------------------------------------------------

    def env_event(self, s: tuple[Any, ...], isolated: bool) -> None:
        t, _, env, kind, arg, member, origin = s
        arg = arg or {}
        f, rng = self.f, self.rng
        st = self.state[env]
        if origin == "churn" and kind in ("off", "on"):
            # a toggle pair only makes sense on a flag that is on and serving something else than its off
            # variation; otherwise it is ordinary targeting work
            if kind == "off" and (not st[0] or st[1][st[2]] > 0.85):
                self.idle_toggle.add(env)
                kind = "targets"
            elif kind == "on" and env in self.idle_toggle:
                self.idle_toggle.discard(env)
                kind = "targets"
        before_eff = self.eff(st)
        snapshot = (st[0], st[1], st[2])
        n = len(f.values)
        if kind == "on":
            st[0] = True
            if arg.get("dist") is not None:
                st[1] = list(arg["dist"])
            if arg.get("note") == "experiment":
                actions = ["updateOn", "updateFallthrough"]
                text = f"Turned flag on and started experiment with {self.describe(st[1])}"
            elif arg.get("dist") is not None and sum(1 for p in st[1] if p > 0) > 1:
                actions = ["updateOn", "updateFallthrough"]
                text = f"Turned flag on with {self.describe(st[1])}"
            else:
                actions, text = ["updateOn"], "Turned flag on"
            if arg.get("auto"):
                text = f"Scheduled change applied: {text[0].lower()}{text[1:]}"
        elif kind == "off":
            st[0] = False
            actions, text = ["updateOn"], "Turned flag off"
            if arg.get("auto"):
                text = "Scheduled change applied: turned flag off"
        elif kind == "dist":
            st[1] = list(arg["dist"])
            actions = ["updateFallthrough"]
            if arg.get("note") == "winner":
                text = f"Stopped experiment and shipped winner: fallthrough now {self.describe(st[1])}"
            else:
                text = f"Updated fallthrough to {self.describe(st[1])}"
        elif kind == "revert":
            restored = self.prev.get(env, snapshot)
            actions = list(self.prev_actions.get(env, ["updateFallthrough"]))
            if restored[0] != st[0]:
                text = f"Rolled back: turned flag {'on' if restored[0] else 'off'}"
            else:
                text = f"Rolled back fallthrough to {self.describe(restored[1])}"
            st[0], st[1], st[2] = restored[0], list(restored[1]), restored[2]
        elif kind == "targets":
            actions = ["updateTargets"]
            count = rng.randint(1, 40)
            var = self._value_text(rng.randrange(n))
            if arg.get("auto"):
                bot = rng.choice(_BOTS)
                text = f"Synced {count} targets to '{var}' from CRM segment (via API token '{bot}')"
            elif rng.random() < 0.6:
                text = f"Added {count} individual targets to '{var}'"
            else:
                text = f"Removed {count} individual targets from '{var}'"
            st[4] = max(0, st[4] + (count if "Removed" not in text else -count))
            if isolated and st[0] and f.archetype != "ops" and rng.random() < 0.25:
                self.nudge(st, rng.uniform(0.002, 0.03))
        elif kind == "rules":
            actions = ["updateRules"]
            seg = rng.choice(_SEGMENTS)
            if arg.get("note") == "internal":
                text = "Added rule: serve 'true' to segment 'internal-employees'"
                st[3] += 1
            elif isolated and st[0] and f.archetype != "ops":
                attr, op, vals = rng.choice(_CLAUSES)
                if rng.random() < 0.5 or st[3] == 0:
                    text = f"Added rule {st[3] + 1}: {attr} {op} {vals}"
                    st[3] += 1
                else:
                    text = f"Updated rule {rng.randint(1, st[3])}: {attr} {op} {vals}"
                self.nudge(st, rng.uniform(0.01, 0.3))
            else:
                choice = rng.random()
                if choice < 0.4:
                    text = f"Added rule for segment '{seg}'"
                    st[3] += 1
                elif choice < 0.7 and st[3] > 1:
                    text = "Reordered targeting rules"
                else:
                    text = f"Updated description of rule {max(1, st[3])}"
        elif kind == "fallthrough":
            actions = ["updateFallthrough"]
            if isolated and st[0] and f.archetype != "ops":
                if f.boolean:
                    shares = (0.0, 0.05, 0.1, 0.2, 0.25, 0.33, 0.5, 0.75, 0.9, 1.0)
                    options = [p for p in shares if p != st[1][0]]
                    p = rng.choice(options)
                    st[1] = [p, round(1 - p, 3)]
                else:
                    dist = [0.0] * n
                    dist[rng.randrange(n)] = 1.0
                    if rng.random() < 0.4:
                        dist = [round(1 / n, 4)] * n
                    st[1] = dist
                text = f"Updated fallthrough to {self.describe(st[1])}"
            else:
                text = "Updated fallthrough bucketing attribute to 'key'"
        elif kind == "offvar":
            actions = ["updateOffVariation"]
            new = rng.randrange(n)
            if (not st[0] and not isolated) or new == st[2]:
                new = st[2]
            st[2] = new
            text = f"Changed off variation to '{self._value_text(new)}'"
        else:  # prereq
            actions = ["updatePrerequisites"]
            others = self.b.keys_by_project[f.project["key"]]
            other = rng.choice(others)
            text = f"Added prerequisite '{other}'" if other != f.key else "Removed prerequisites"
        after_eff = self.eff(st)
        self.prev[env] = snapshot
        self.prev_actions[env] = actions
        st[5] += 1
        st[7] = t
        if not SERVING_ACTIONS.isdisjoint(actions):
            st[6] = t
        self.version += 1
        if t < self.b.window_start:
            return
        total = self.traffic(env, t)
        impact = self.impact(total, before_eff, after_eff)
        experiments = [rep for x, rep in zip(f.experiments, self.exp_reps, strict=True)
                       if x["env"] == env and x["startedAt"] <= t <= (x["endedAt"] or self.b.now)
                       ] if self.exp_reps else []
        self.emit(t, env, "flag-updated", text, member, actions, impact, experiments)

    def nudge(self, st: list[Any], amount: float) -> None:
        """Move ``amount`` of the serving distribution between two variations (a rule or target change)."""
        rng = self.rng
        dist = st[1]
        n = len(dist)
        src = max(range(n), key=lambda i: (dist[i], -i)) if rng.random() < 0.5 else rng.randrange(n)
        dst = rng.choice([i for i in range(n) if i != src])
        moved = min(amount, dist[src])
        if moved <= 0:
            src, dst = dst, src
            moved = min(amount, dist[src])
        new = list(dist)
        new[src] = round(new[src] - moved, 4)
        new[dst] = round(new[dst] + moved, 4)
        st[1] = new

    def impact(self, traffic: int, before: list[float], after: list[float]) -> dict[str, Any]:
        rng = self.rng
        values = self.f.values
        if traffic <= 0:
            rows = [{"value": v, "before": 0, "after": 0} for v in values]
            return {"size": "none", "percentage": 0.0, "reason": "no-evaluations",
                    "evaluationsSummary": {"variations": rows}}
        rand = rng.random
        total_b = traffic * (0.85 + 0.3 * rand())
        b_counts = [int(total_b * p * (0.98 + 0.04 * rand()) + 0.5) if p > 0 else 0 for p in before]
        if before == after and sum(1 for p in before if p > 0) > 1:
            a_counts = list(b_counts)  # nothing moved: the same split, so exactly 0%
        else:
            total_a = traffic * (0.85 + 0.3 * rand())
            a_counts = [int(total_a * p * (0.98 + 0.04 * rand()) + 0.5) if p > 0 else 0 for p in after]
        sb, sa = sum(b_counts), sum(a_counts)
        if sb == 0 or sa == 0:
            b_counts = [max(1, c) if p > 0 else 0 for c, p in zip(b_counts, before, strict=True)]
            a_counts = [max(1, c) if p > 0 else 0 for c, p in zip(a_counts, after, strict=True)]
            sb, sa = sum(b_counts), sum(a_counts)
        moved = sum(abs(x * sa - y * sb) for x, y in zip(b_counts, a_counts, strict=True))
        pct = round(50.0 * moved / (sa * sb), 2)
        rows = [{"value": v, "before": x, "after": y}
                for v, x, y in zip(values, b_counts, a_counts, strict=True)]
        return {"size": impact_size(pct), "percentage": pct, "reason": "evaluations",
                "evaluationsSummary": {"variations": rows}}

    def emit(self, t: int, env: str | None, event_type: str, text: str, member: int, actions: list[str],
             impact: dict[str, Any], experiments: list[dict[str, Any]]) -> None:
        ids, f = self.b.ids, self.f
        event: dict[str, Any] = {"id": _uuid(ids), "projectId": f.project["_id"],
                                 "projectKey": f.project["key"]}
        if env is not None:
            event["environmentId"] = self.env_ids[env]
            event["environmentKey"] = env
        event["flagKey"] = f.key
        event["eventType"] = event_type
        event["eventTime"] = t
        event["description"] = text
        event["auditLogEntryId"] = _object_id(ids)
        if member >= 0:
            event["member"] = self.b.member_reps[member]
        event["actions"] = actions
        event["impact"] = impact
        event["experiments"] = {"totalCount": len(experiments), "items": list(experiments)}
        self.events.append(event)

    # final representations -------------------------------------------------------------------------

    def flag_rep(self) -> dict[str, Any]:
        f, b = self.f, self.b
        project = f.project["key"]
        maint = b.member_reps[f.maintainer]
        archived = f.archived_at is not None
        envs: dict[str, Any] = {}
        for env in b.envs(f):
            st = self.state[env]
            env_name = next(e["name"] for e in f.project["environments"] if e["key"] == env)
            summary: dict[str, Any] = {}
            live = [i for i, p in enumerate(st[1]) if p > 0]
            for i in range(len(f.values)):
                row: dict[str, Any] = {"rules": st[3] if i == 0 else 0, "nullRules": 0,
                                       "targets": st[4] if i == 0 else 0, "contextTargets": 0}
                if len(live) == 1 and live[0] == i:
                    row["isFallthrough"] = True
                elif len(live) > 1 and st[1][i] > 0:
                    row["rollout"] = int(round(st[1][i] * 100_000))
                if st[2] == i:
                    row["isOff"] = True
                summary[str(i)] = row
            fallthrough: dict[str, Any] = ({"variation": live[0]} if len(live) == 1 else {
                "rollout": {"variations": [{"variation": i, "weight": int(round(p * 100_000))}
                                           for i, p in enumerate(st[1])]}})
            envs[env] = {
                "on": st[0], "archived": archived, "salt": f"{self.rng.getrandbits(64):016x}",
                "sel": f"{self.rng.getrandbits(128):032x}", "lastModified": st[7], "version": st[5],
                "fallthrough": fallthrough, "offVariation": st[2],
                "_site": _link(f"/{project}/{env}/features/{f.key}", "text/html"),
                "_environmentName": env_name,
                "trackEvents": False, "trackEventsFallthrough": False,
                "_summary": {"variations": summary, "prerequisites": 0},
            }
        variations = [{"_id": _uuid(self.rng), "value": v, "name": name}
                      for v, name in zip(f.values, f.var_names, strict=True)]
        rep: dict[str, Any] = {
            "name": self.name, "kind": "boolean" if f.boolean else "multivariate",
            "description": f.description,
            "key": f.key, "_version": self.version, "creationDate": f.created, "includeInSnippet": False,
            "clientSideAvailability": {"usingMobileKey": project == "mobile-app",
                                       "usingEnvironmentId": project == "web-storefront"},
            "variations": variations, "temporary": f.temporary, "tags": list(f.tags),
            "_links": {"parent": _link(f"/api/v2/flags/{project}"),
                       "self": _link(f"/api/v2/flags/{project}/{f.key}")},
            "maintainerId": maint["id"],
            "_maintainer": {"_links": {"self": _link(f"/api/v2/members/{maint['id']}")}, "_id": maint["id"],
                            "firstName": maint["firstName"], "lastName": maint["lastName"],
                            "role": b.people[f.maintainer][4], "email": maint["email"]},
            "experiments": {"baselineIdx": 0, "items": []}, "customProperties": {}, "archived": archived,
            "deprecated": f.deprecated_at is not None and f.deprecated_at < b.now,
            "defaults": {"onVariation": 0, "offVariation": f.off_var},
            "environments": envs,
        }
        if archived:
            rep["archivedDate"] = f.archived_at
        if rep["deprecated"]:
            rep["deprecatedDate"] = f.deprecated_at
        return rep

    def status_rep(self, env: str) -> dict[str, Any]:
        """LaunchDarkly's flag status: new (recent, never requested), inactive (no requests for 7 days),
        launched (one variation for everyone, unchanged for 7 days), active (everything else)."""
        f, b = self.f, self.b
        st = self.state[env]
        project = f.project["key"]
        now = b.now
        deployed = f.deployed.get(env, 1 << 62)
        requested = self.traffic(env, now - 1) > 0
        if not requested:
            last = f.retired if f.retired is not None and deployed < f.retired and deployed < now else None
            name = "new" if last is None and now - f.created < 7 * DAY_MS else "inactive"
            last_requested = iso_ms(last - self.rng.randrange(1, HOUR_MS)) if last is not None else None
        else:
            single = sum(1 for p in self.eff(st) if p > 0) == 1
            name = "launched" if single and now - st[6] > 7 * DAY_MS else "active"
            last_requested = iso_ms(now - self.rng.randrange(1_000, 10 * MINUTE_MS))
        rep: dict[str, Any] = {"name": name, "lastRequested": last_requested}
        if last_requested is not None:
            rep["default"] = f.values[f.off_var]
        rep["_links"] = {"parent": _link(f"/api/v2/flags/{project}/{f.key}"),
                         "self": _link(f"/api/v2/flag-statuses/{project}/{env}/{f.key}")}
        return rep


def _pct_text(p: float) -> str:
    value = round(p * 100, 1)
    return f"{int(value)}%" if value == int(value) else f"{value}%"


def generate_account(seed: int = 7, now_ms: int | None = None, events_target: int = 50_000) -> DemoAccount:
    """The demo account for ``seed`` as of ``now_ms`` (default: start of today, UTC).

    Scripted stories (releases, experiments, rollbacks, flapping, archiving) are always generated; churn
    (targeting work, renames, tag changes) fills up to ``events_target`` events in the last 180 days. A
    target below the scripted count (about 1,600 events for seed 7) yields just the scripted events.
    """
    now = default_now_ms() if now_ms is None else int(now_ms)
    b = _Builder(seed, now, events_target)
    members = b.build_members()
    b.build_projects()
    b.build_flags()
    for f in b.flags:
        b.story(f, f.fresh)
    # a few incidents: kill switches (or releases) that flap in one environment
    for project in b.projects:
        pool = [f for f in b.flags
                if f.project is project and f.archetype == "ops" and f.created < b.window_start]
        for f in b.rng.sample(pool, min(len(pool), 2)):
            b.flapping(f, "production" if b.rng.random() < 0.7 else "staging")
    scripted = sum(1 for f in b.flags for s in f.specs if b.window_start <= s[0] < now)
    b.churn(events_target - scripted)

    events: list[dict[str, Any]] = []
    flags: dict[str, list[dict[str, Any]]] = {p["key"]: [] for p in b.projects}
    statuses: dict[tuple[str, str], list[dict[str, Any]]] = {
        (p["key"], e["key"]): [] for p in b.projects for e in p["environments"]}
    replays = []
    for f in b.flags:
        replay = _Replay(b, f)
        replay.run()
        events.extend(replay.events)
        replays.append(replay)
    for replay in sorted(replays, key=lambda r: (-r.f.created, r.f.key)):
        project = replay.f.project["key"]
        flags[project].append(replay.flag_rep())
        for env in b.envs(replay.f):
            statuses[(project, env)].append(replay.status_rep(env))
    events.sort(key=_event_order)
    return DemoAccount(seed=seed, now_ms=now, projects=b.projects, flags=flags, statuses=statuses,
                       events=events, members=members)
