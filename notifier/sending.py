"""Sending a send request, the one way every sender does it: the HTTP API's send routes
and the in-process publisher (:mod:`notifier.publisher`).

A validated :class:`~notifier.model.requests.SendRequest` or
:class:`~notifier.model.requests.BatchRequest` becomes the contents and deliveries the
inbox stores (routing by preferences and live delivery happen there), or a scheduled
send when it has ``send_at``. Idempotency keys are scoped per sender and compared by a
fingerprint of the whole request.
"""

from __future__ import annotations

import hashlib

from pydantic import BaseModel

from notifier.backend import backend
from notifier.core.errors import ApiError
from notifier.core.idempotency import IdempotencyConflict
from notifier.model.requests import BatchRequest, NotificationContent, SendRequest
from notifier.scheduling.notifications import schedule_notifications
from notifier.scheduling.scheduler import ScheduledItem
from notifier.stores.inbox import SendOutcome


def fingerprint(body: BaseModel) -> str:
    """The digest that tells a repeat of ``body`` from another request under its key."""
    canonical = body.model_dump_json(exclude={"idempotency_key"})
    return hashlib.sha256(canonical.encode()).hexdigest()


def idempotency(scope: str, body: SendRequest | BatchRequest) -> tuple[str, str, str] | None:
    """``(scope, idempotency key, fingerprint)`` of a request that gave a key, else None."""
    if body.idempotency_key is None:
        return None
    return scope, body.idempotency_key, fingerprint(body)


def deliveries_of(
    body: SendRequest | BatchRequest,
) -> tuple[list[NotificationContent], list[tuple[str, int]]]:
    """The contents and ``(user_id, content index)`` deliveries ``body`` asks for."""
    if isinstance(body, BatchRequest):
        items = list(body.notifications)
        return items, [(item.user_id, i) for i, item in enumerate(items)]
    return [body], [(user_id, 0) for user_id in body.recipients()]


def conflict_error() -> ApiError:
    """The 422 for an idempotency key reused with another request."""
    return ApiError(422, "idempotency_conflict", "This idempotency_key was already used "
                    "with a different request.", "idempotency_key")


def store(contents, deliveries, idempotency, **options) -> SendOutcome:
    """Store and deliver now (``options`` go to the inbox's send); a 422
    :class:`ApiError` when the idempotency key was used for another request."""
    try:
        return backend().inbox.send(contents, deliveries, idempotency=idempotency, **options)
    except IdempotencyConflict:
        raise conflict_error() from None


def send_now(body: SendRequest | BatchRequest, scope: str,
             **options) -> tuple[list[str], SendOutcome]:
    """Send ``body`` now: its recipients in order, and the outcome."""
    contents, deliveries = deliveries_of(body)
    outcome = store(contents, deliveries, idempotency(scope, body), **options)
    return [user_id for user_id, _ in deliveries], outcome


def schedule(body: SendRequest | BatchRequest, scope: str, created_by: str) -> ScheduledItem:
    """Schedule ``body`` for its ``send_at``; a 422 :class:`ApiError` on a reused key."""
    try:
        return schedule_notifications(body, created_by=created_by,
                                      idempotency=idempotency(scope, body))
    except IdempotencyConflict:
        raise conflict_error() from None
