"""The service API's sends: one notification to one or many users, and batches."""

from __future__ import annotations

from flask import current_app, request

from notifier.api.requests import created, idempotency_of, parse_send_body, schedule, send
from notifier.model.requests import BatchRequest, SendRequest
from notifier.sending import deliveries_of


def send_notification():
    """Send one notification to one user or to up to 1000 users, atomically, now or at send_at."""
    return _send_or_schedule(parse_send_body(SendRequest, root_field="user_id"))


def send_batch():
    """Send up to 1000 different notifications in one atomic call, now or at send_at."""
    request.max_content_length = current_app.config["MAX_BATCH_BODY"]
    return _send_or_schedule(parse_send_body(BatchRequest))


def _send_or_schedule(body: SendRequest | BatchRequest):
    if body.send_at is not None:
        return schedule(body)
    contents, deliveries = deliveries_of(body)
    outcome = send(contents, deliveries, idempotency_of(body.idempotency_key, body))
    return created([user_id for user_id, _ in deliveries], outcome)
