"""Who works at the demo company and what they build: people, timezones, words, value sets, and
the small helpers (ids, timestamps, impact sizes) every other demo module uses."""

from __future__ import annotations

import datetime as dt
import random
import unicodedata
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

from ..vocabulary import DAY_MS, HOUR_MS, MINUTE_MS

WINDOW_DAYS = 180
HISTORY_DAYS = 730
SPRINT_STARTS_DAYS_AGO = (
    62  # the demo teams' cleanup sprint (generator.cleanup_sprint), a Monday-ish two months ago
)

EVENT_TYPES: dict[str, str] = {
    "flag-created": "A flag was created (global).",
    "flag-updated": "A flag's targeting or serving changed in one environment, or its settings globally.",
    "flag-deprecated": "A flag was marked deprecated (global).",
    "flag-archived": "A flag was archived (global).",
}
SERVING_ACTIONS = frozenset(
    {"updateOn", "updateFallthrough", "updateRules", "updateTargets", "updateOffVariation"}
)

# --- who works here -----------------------------------------------------------------------------------

_TEAMS: dict[str, str] = {
    "checkout": "Checkout",
    "growth": "Growth",
    "mobile": "Mobile",
    "payments": "Payments",
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
        "key": "web-storefront",
        "name": "Web Storefront",
        "tags": ["web", "customer-facing"],
        "teams": ("checkout", "growth"),
        "envs": ("production", "staging", "test"),
        "traffic": 1.0,
        "nouns": (
            "checkout-flow",
            "apple-pay",
            "google-pay",
            "product-recommendations",
            "search-autocomplete",
            "cart-drawer",
            "wishlist",
            "guest-checkout",
            "one-click-buy",
            "address-autocomplete",
            "free-shipping-banner",
            "product-reviews",
            "size-guide",
            "store-locator",
            "promo-codes",
            "gift-cards",
            "loyalty-points",
            "order-tracking",
            "live-chat",
            "dark-mode",
            "mega-menu",
            "infinite-scroll",
            "image-zoom",
            "price-alerts",
            "bundle-discounts",
            "express-delivery",
            "click-and-collect",
            "returns-portal",
            "newsletter-popup",
            "cookie-banner",
            "homepage-hero",
            "category-filters",
            "recently-viewed",
            "cross-sell-carousel",
            "product-videos",
            "klarna",
            "paypal-express",
            "seo-landing-pages",
            "cdn-images",
            "web-vitals-beacon",
            "checkout-upsell",
            "saved-addresses",
        ),
    },
    {
        "key": "mobile-app",
        "name": "Mobile App",
        "tags": ["mobile", "ios", "android"],
        "teams": ("mobile", "growth"),
        "envs": ("production", "staging", "test"),
        "traffic": 0.7,
        "nouns": (
            "onboarding-carousel",
            "biometric-login",
            "push-notifications",
            "in-app-review",
            "offline-mode",
            "deep-links",
            "bottom-nav",
            "app-rating-prompt",
            "home-widget",
            "dark-theme",
            "haptic-feedback",
            "barcode-scanner",
            "ar-try-on",
            "voice-search",
            "image-search",
            "saved-carts",
            "quick-reorder",
            "location-services",
            "background-refresh",
            "crash-reporter",
            "profile-screen",
            "account-deletion",
            "social-login",
            "sign-in-with-apple",
            "magic-link-login",
            "home-feed",
            "stories",
            "product-detail",
            "tablet-layout",
            "split-view",
            "app-clips",
            "mini-player",
            "rich-notifications",
            "in-app-messages",
            "referral-program",
            "coupon-wallet",
            "store-mode",
            "image-cache",
            "graphql-client",
            "ios-paywall",
        ),
    },
    {
        "key": "payments-platform",
        "name": "Payments Platform",
        "tags": ["payments", "backend", "pci"],
        "teams": ("payments",),
        "envs": ("production", "prod-eu", "staging", "test"),
        "traffic": 1.4,
        "nouns": (
            "3ds2-challenge",
            "sca-exemptions",
            "stripe-connect",
            "adyen-routing",
            "card-tokenization",
            "network-tokens",
            "payout-batching",
            "fraud-scoring",
            "risk-engine",
            "chargeback-alerts",
            "refund-automation",
            "partial-refunds",
            "multi-currency",
            "fx-rates-cache",
            "sepa-direct-debit",
            "ideal",
            "bancontact",
            "apple-pay-merchant",
            "invoice-pdf",
            "ledger-reconciliation",
            "idempotency-keys",
            "webhook-retries",
            "payment-links",
            "subscription-billing",
            "dunning-emails",
            "tax-calculation",
            "vat-validation",
            "psd2-consent",
            "settlement-reports",
            "kyc-verification",
            "aml-screening",
            "velocity-limits",
            "retry-declines",
            "smart-routing",
            "installments",
            "bnpl",
            "wallet-balance",
            "merchant-onboarding",
            "pci-vault",
            "audit-trail",
        ),
    },
)

_TEMPLATES: dict[str, tuple[str, ...]] = {
    "release": (
        "new-{n}",
        "enable-{n}",
        "{n}-v2",
        "release-{n}",
        "show-{n}",
        "{n}-redesign",
        "use-{n}",
        "rollout-{n}",
    ),
    "experiment": ("exp-{n}", "{n}-ab-test", "{n}-experiment"),
    "ops": ("kill-switch-{n}", "disable-{n}", "{n}-circuit-breaker", "{n}-fallback"),
    "config": ("{n}-config", "{n}-provider", "{n}-variant", "{n}-layout"),
    "entitlement": ("allow-{n}", "{n}-beta-access", "{n}-early-access", "{n}-allowlist"),
}
_ARCHETYPE_WEIGHTS = (
    ("release", 0.50),
    ("experiment", 0.08),
    ("ops", 0.14),
    ("config", 0.12),
    ("entitlement", 0.16),
)
_WORDS = {
    "v2": "v2",
    "ab": "A/B",
    "ios": "iOS",
    "3ds2": "3DS2",
    "sca": "SCA",
    "pci": "PCI",
    "kyc": "KYC",
    "aml": "AML",
    "psd2": "PSD2",
    "fx": "FX",
    "vat": "VAT",
    "sepa": "SEPA",
    "bnpl": "BNPL",
    "seo": "SEO",
    "cdn": "CDN",
    "ar": "AR",
    "pdf": "PDF",
    "apple": "Apple",
    "google": "Google",
    "stripe": "Stripe",
    "adyen": "Adyen",
    "klarna": "Klarna",
    "paypal": "PayPal",
    "ideal": "iDEAL",
    "bancontact": "Bancontact",
    "graphql": "GraphQL",
    "exp": "Experiment:",
    "ms": "ms",
}
_EXTRA_TAGS = (
    "q3-launch",
    "q4-launch",
    "tech-debt",
    "seo",
    "a11y",
    "performance",
    "holiday-season",
    "compliance",
    "beta",
    "revenue",
    "retention",
    "security",
)
_STRING_VALUE_SETS = (
    ("grid", "list", "carousel"),
    ("v1", "v2", "v3"),
    ("low", "medium", "high"),
    ("control", "compact", "expanded"),
)
_JSON_VALUE_SETS = (
    (
        {"provider": "primary", "timeoutMs": 2000, "retries": 2},
        {"provider": "secondary", "timeoutMs": 3500, "retries": 3},
        {"provider": "primary", "timeoutMs": 800, "retries": 0},
    ),
    (
        {"layout": "grid", "columns": 3, "showBadges": True},
        {"layout": "grid", "columns": 4, "showBadges": True},
        {"layout": "list", "columns": 1, "showBadges": False},
    ),
    ({"batchSize": 100, "intervalSec": 60}, {"batchSize": 500, "intervalSec": 300}),
)
_SEGMENTS = (
    "internal-employees",
    "beta-testers",
    "qa-team",
    "enterprise-accounts",
    "eu-customers",
    "vip-customers",
    "new-signups",
)
_CLAUSES = (
    ("country", "is one of", "DE, AT, CH"),
    ("email", "ends with", f"@{EMAIL_DOMAIN}"),
    ("plan", "is", "enterprise"),
    ("appVersion", "semVer >=", "5.2.0"),
    ("platform", "is", "ios"),
    ("region", "is one of", "us-east-1, eu-west-1"),
    ("accountAgeDays", "<", "30"),
)
_RENAME_SUFFIXES = ("(web)", "(beta)", "(GA)", "(EU)", "(legacy)", "v2")
_BOTS = ("crm-segment-sync", "release-pipeline", "terraform")
_WORK_HOURS = (8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18)
_WORK_WEIGHTS = (0.3, 0.8, 1.0, 1.0, 0.6, 0.7, 1.0, 1.0, 0.9, 0.6, 0.25)
_WORK_START_MS = 8 * HOUR_MS + 30 * MINUTE_MS
_WORK_END_MS = 18 * HOUR_MS + 30 * MINUTE_MS


def default_now_ms() -> int:
    """Start of the current UTC day: the demo never looks old, yet stays identical all day long."""
    from ..clock import now_ms

    return now_ms() // DAY_MS * DAY_MS


def iso_ms(ms: int) -> str:
    """LaunchDarkly's timestamp text, e.g. ``2024-05-01T09:30:00.123Z``."""
    stamp = dt.datetime.fromtimestamp(ms / 1000, dt.UTC)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


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


def _pct_text(p: float) -> str:
    value = round(p * 100, 1)
    return f"{int(value)}%" if value == int(value) else f"{value}%"


class ChangeSpec(NamedTuple):
    """One scripted change, before replay turns it into a ``FlagEventRep``. Ordered by ``time`` then ``seq``."""

    time: int
    seq: int  # creation order: breaks ties between changes at the same millisecond
    env: str | None  # None: a global (flag-level) change
    kind: str  # "create", "on", "dist", "revert", "rules", ...: what the replay does
    arg: Any  # the kind's details (a distribution, a note, ...), or None
    member: int  # index into the demo's people; -1 for an automated change (a bot)
    origin: str  # "story" (the flag's scripted life) or "churn" (everyday background changes)
