"""The service API's sends: one notification to one or many users, and batches."""

from __future__ import annotations

from flask import current_app, request

from notifier.api.requests import created, idempotency_of, parse_send_body, schedule, send
from notifier.model.requests import BatchRequest, SendRequest


def send_notification():
    """Send one notification to one user or to up to 1000 users, atomically, now or at send_at."""
    body = parse_send_body(SendRequest, root_field="user_id")
    if body.send_at is not None:
        return schedule(body)
    recipients = body.recipients()
    outcome = send([body], [(u, 0) for u in recipients],
                    idempotency_of(body.idempotency_key, body))
    return created(recipients, outcome)


def send_batch():
    """Send up to 1000 different notifications in one atomic call, now or at send_at."""
    request.max_content_length = current_app.config["MAX_BATCH_BODY"]
    body = parse_send_body(BatchRequest)
    if body.send_at is not None:
        return schedule(body)
    items = body.notifications
    outcome = send(items, [(item.user_id, i) for i, item in enumerate(items)],
                    idempotency_of(body.idempotency_key, body))
    return created([item.user_id for item in items], outcome)
