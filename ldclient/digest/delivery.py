"""Exactly once per item and destination, at least once across crashes: the delivery state machine.

For each destination, under the store's claim on it (so two digests started at once send once):

1. every collected item the destination has not seen is recorded ``pending`` (before anything is sent);
2. all of its pending items (these and any left by an earlier run) are sent in batches, each retried with
   backoff within the run;
3. a batch the destination accepted is marked ``sent`` at once; a batch that still fails stays pending,
   and so does everything after it, for the next run.

A process killed between 2 and 3 sends that batch again next time, with the same ``idempotency_key`` per
item, so a receiver can drop the repeat: nothing is lost, and nothing is doubled for a receiver that
deduplicates. "New" is per item, never a time watermark: an event indexed late is still new.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..store import DigestRun, EventStore, StoreKey
from .items import item_json_text, item_time_ms


class DeliveryError(Exception):
    """A destination did not accept a digest. The message is ours (never a URL or a server's text)."""


class Sender(Protocol):
    name: str
    kind: str
    max_batch: int

    def send(self, items: Sequence[Mapping[str, Any]], digest_id: str) -> None: ...


@dataclass
class Result:
    """What one digest did for one destination."""

    destination: str
    kind: str
    outcome: str  # "delivered", "failed", "empty", "dry-run" or "replay"
    items: list[dict[str, Any]] = field(default_factory=list)  # what it tried to deliver (or would)
    delivered: list[dict[str, Any]] = field(default_factory=list)
    pending: int = 0  # items left pending for the next run
    message: str = ""
    digest_id: str = ""
    attempts: int = 0

    @property
    def ok(self) -> bool:
        return self.outcome != "failed"

    def to_json(self) -> dict[str, Any]:
        return {
            "destination": self.destination,
            "kind": self.kind,
            "outcome": self.outcome,
            "digest_id": self.digest_id,
            "items": len(self.items),
            "delivered": len(self.delivered),
            "pending": self.pending,
            "attempts": self.attempts,
            "message": self.message,
        }


def claim_key(destination: str) -> StoreKey:
    return StoreKey("flag-health:digest", "destination", destination)


def _send_with_retry(
    sender: Sender,
    batch: Sequence[Mapping[str, Any]],
    digest_id: str,
    *,
    attempts: int,
    backoff_s: float,
    sleep: Callable[[float], None],
    scrub: Callable[[str], str],
) -> tuple[int, str | None]:
    """(tries made, None) once the destination accepted the batch; (tries, why) when it never did."""
    why = ""
    for attempt in range(attempts):
        if attempt:
            sleep(backoff_s * 2 ** (attempt - 1))
        try:
            sender.send(batch, digest_id)
            return attempt + 1, None
        except DeliveryError as exc:
            why = scrub(str(exc))
    return attempts, why


def deliver(
    store: EventStore,
    sender: Sender,
    items: Sequence[Mapping[str, Any]],
    *,
    now: Callable[[], int],
    attempts: int = 3,
    backoff_s: float = 2.0,
    sleep: Callable[[float], None] | None = None,
    scrub: Callable[[str], str] = lambda text: text,
    dry_run: bool = False,
    replay: bool = False,
) -> Result:
    """Deliver ``items`` (item JSON, with ``idempotency_key`` and ``time``) and whatever is pending to ``sender``.

    ``dry_run`` reports what would be sent and writes nothing; ``replay`` sends ``items`` as they are and
    writes nothing (``digest --since``). ``sleep`` is the backoff's wait (tests pass a recorder).
    """
    import time

    wait = sleep or time.sleep
    result = Result(sender.name, sender.kind, "dry-run" if dry_run else "replay" if replay else "empty")
    result.digest_id = uuid.uuid4().hex[:16]
    by_key = {str(i["idempotency_key"]): dict(i) for i in items}
    if replay or dry_run:
        if dry_run and not replay:
            known = {s.item_key: s for s in store.digest_states(sender.name, list(by_key))}
            pending = [json.loads(s.item_json) for s in store.digest_pending(sender.name)]
            fresh = [i for k, i in by_key.items() if k not in known]
            result.items = _ordered({str(i["idempotency_key"]): i for i in [*pending, *fresh]}.values())
        else:
            result.items = _ordered(by_key.values())
        if replay and not dry_run:
            _send_all(sender, result, result.items, attempts, backoff_s, wait, scrub, mark=None)
        return result

    with store.claim(claim_key(sender.name)):
        started = now()
        store.digest_add_pending(
            sender.name, [(k, item_time_ms(i), item_json_text(i)) for k, i in by_key.items()], started
        )
        result.items = _ordered(json.loads(s.item_json) for s in store.digest_pending(sender.name))

        def mark(batch: Sequence[Mapping[str, Any]]) -> None:
            store.digest_mark_sent(
                sender.name, [str(i["idempotency_key"]) for i in batch], result.digest_id, now()
            )

        _send_all(sender, result, result.items, attempts, backoff_s, wait, scrub, mark=mark)
        failed = result.items[len(result.delivered) :]
        if failed:
            store.digest_note_attempt(sender.name, [str(i["idempotency_key"]) for i in failed])
        result.pending = len(failed)
        store.digest_record_run(
            DigestRun(
                digest_id=result.digest_id,
                destination=sender.name,
                started_ms=started,
                finished_ms=now(),
                outcome=result.outcome,
                items=len(result.items),
                delivered=len(result.delivered),
                message=result.message[:500],
                item_keys=tuple(str(i["idempotency_key"]) for i in result.items),
            )
        )
    return result


def _send_all(
    sender: Sender,
    result: Result,
    items: Sequence[dict[str, Any]],
    attempts: int,
    backoff_s: float,
    sleep: Callable[[float], None],
    scrub: Callable[[str], str],
    *,
    mark: Callable[[Sequence[Mapping[str, Any]]], None] | None,
) -> None:
    if not items:
        result.message = "nothing new"
        return
    size = max(1, sender.max_batch)
    for start in range(0, len(items), size):
        batch = items[start : start + size]
        tries, why = _send_with_retry(
            sender, batch, result.digest_id, attempts=attempts, backoff_s=backoff_s, sleep=sleep, scrub=scrub
        )
        result.attempts += tries
        if why is not None:
            result.outcome = "failed"
            result.message = (
                f"{why} after {tries} tr{'ies' if tries != 1 else 'y'}; {len(items) - start} pending"
            )
            return
        if mark is not None:
            mark(batch)
        result.delivered.extend(batch)
    if result.outcome in ("empty",):
        result.outcome = "delivered"
    result.message = f"{len(result.delivered)} delivered"


def _ordered(items: Any) -> list[dict[str, Any]]:
    return sorted((dict(i) for i in items), key=lambda i: (str(i.get("time")), str(i.get("idempotency_key"))))
