"""The generic JSON webhook: ``{"items": [...]}``, signed with HMAC-SHA256 when a secret is set.

The signature is ``X-Flag-Health-Signature: sha256=<hex HMAC-SHA256 of the exact body bytes>``; every item
carries its ``idempotency_key``, so a receiver can drop a repeat (delivery is at least once: a digest killed
after sending and before recording sends those items again, with the same keys).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping, Sequence
from typing import Any

import httpx

from ..settings import Secret
from .delivery import DeliveryError

SIGNATURE_HEADER = "X-Flag-Health-Signature"
DIGEST_HEADER = "X-Flag-Health-Digest"


def body_bytes(items: Sequence[Mapping[str, Any]]) -> bytes:
    return json.dumps({"items": list(items)}, separators=(",", ":"), ensure_ascii=False).encode()


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def post(url: Secret, body: bytes, headers: dict[str, str], timeout_s: float, what: str) -> httpx.Response:
    """POST ``body``; a failure is a DeliveryError whose message never holds the URL or the server's text."""
    try:
        response = httpx.post(
            url.reveal(), content=body, headers=headers, timeout=timeout_s, follow_redirects=False
        )
    except httpx.TimeoutException:
        raise DeliveryError(f"{what} timed out") from None
    except httpx.HTTPError as exc:
        raise DeliveryError(f"{what} could not be reached ({type(exc).__name__})") from None
    if not 200 <= response.status_code < 300:
        raise DeliveryError(f"{what} answered HTTP {response.status_code}")
    return response


class WebhookSender:
    kind = "webhook"
    max_batch = 500

    def __init__(
        self, name: str, url: Secret, secret: Secret | None = None, *, timeout_s: float = 10.0
    ) -> None:
        self.name = name
        self._url = url
        self._secret = secret
        self._timeout = timeout_s

    def __repr__(self) -> str:
        return f"WebhookSender({self.name!r})"

    def send(self, items: Sequence[Mapping[str, Any]], digest_id: str) -> None:
        body = body_bytes(items)
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "flag-health-digest",
            DIGEST_HEADER: digest_id,
        }
        if self._secret:
            headers[SIGNATURE_HEADER] = signature(self._secret.reveal(), body)
        post(self._url, body, headers, self._timeout, "the webhook")
