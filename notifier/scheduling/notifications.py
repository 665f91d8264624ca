"""The ``notifications`` kind of scheduled send: a send request that fires later.

The scheduler stores the validated request (``POST /api/v1/notifications`` or
its batch endpoint) without ``send_at`` and ``idempotency_key``; when it is due
the request is validated again into the same models and sent with an
idempotency key made from the schedule id, so however often a crashed runner's
item is run again, it is stored once.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

from notifier.backend import backend
from notifier.model.requests import FIRING, BatchRequest, NotificationContent, SendRequest
from notifier.scheduling.scheduler import ScheduledItem, fingerprint

log = logging.getLogger(__name__)

KIND = "notifications"

#: Idempotency scope of scheduled sends in the inbox (API key ids are hex, never this).
IDEMPOTENCY_SCOPE = "sched"


def schedule_notifications(
    request: SendRequest | BatchRequest,
    *,
    created_by: str,
    idempotency: tuple[str, str, str] | None = None,
) -> ScheduledItem:
    """Schedule a validated send request for its ``send_at``."""
    if request.send_at is None:
        raise ValueError("the request has no send_at")
    stored = request.model_dump(mode="json", exclude={"send_at", "idempotency_key"})
    if isinstance(request, BatchRequest):
        items = request.notifications
        title = items[0].title + (f" (+{len(items) - 1} more)" if len(items) > 1 else "")
        recipients = len({item.user_id for item in items})
        body = {"endpoint": "batch", "request": stored}
    else:
        title, recipients = request.title, len(request.recipients())
        body = {"endpoint": "notifications", "request": stored}
    return backend().scheduler.schedule(
        KIND, body, request.send_at, created_by=created_by, title=title,
        recipients=recipients, idempotency=idempotency)


def send_scheduled_notifications(body: dict[str, Any], schedule_id: str) -> None:
    """Send a scheduled request now; a repeat for the same schedule stores nothing."""
    raw = json.dumps(body["request"])
    context = {FIRING: True}
    contents: list[NotificationContent]
    if body["endpoint"] == "notifications":
        single = SendRequest.model_validate_json(raw, context=context)
        contents = [single]
        deliveries = [(user_id, 0) for user_id in single.recipients()]
    elif body["endpoint"] == "batch":
        batch = BatchRequest.model_validate_json(raw, context=context)
        contents = list(batch.notifications)
        deliveries = [(item.user_id, i) for i, item in enumerate(batch.notifications)]
    else:
        raise ValueError(f"unknown endpoint {body['endpoint']!r}")
    # Fired late (the scheduler was down), some may have expired: they would only
    # show as toasts and vanish, so they are left out.
    now = datetime.now(UTC)
    live = [(user_id, i) for user_id, i in deliveries
            if contents[i].expires_at is None or contents[i].expires_at > now]
    if len(live) < len(deliveries):
        log.info("scheduled %s: %d of %d notifications expired before it fired",
                 schedule_id, len(deliveries) - len(live), len(deliveries))
    if live:
        backend().inbox.send(contents, live,
                             idempotency=(IDEMPOTENCY_SCOPE, schedule_id, fingerprint(body)))

