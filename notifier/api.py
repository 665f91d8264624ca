"""HTTP API v1 for services: send notifications and manage users' inboxes.

Every route but the OpenAPI document takes ``Authorization: Bearer <api key>`` of a key
with the scope the route needs (:mod:`notifier.api_scopes`).
The routes of scheduled sends are in ``notifier.api_scheduled``.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import TypeVar

from flask import Blueprint, current_app, g, jsonify, request
from pydantic import BaseModel, ValidationError

from . import tokens
from .api_errors import ApiError, from_validation_error
from .api_keys import ApiKey
from .api_scopes import require_scope
from .backend import backend
from .ids import is_item_id, is_user_id
from .inbox import IdempotencyConflict, SendOutcome, iso_utc
from .limiter import api_rate_limit
from .openapi import openapi_document
from .scheduled_notifications import schedule_notifications
from .scheduler import ScheduledItem
from .schemas import BatchRequest, MarkReadRequest, SendRequest, WidgetTokenRequest
from .stats import COUNTERS

bp = Blueprint("api", __name__, url_prefix="/api/v1")

Model = TypeVar("Model", bound=BaseModel)

#: Largest page of notifications one listing returns.
MAX_LIMIT = 100


def authenticated_key() -> ApiKey:
    """The request's API key, verified once per request; a 401 without a valid one."""
    key = g.get("api_key")
    if key is not None:
        return key
    scheme, _, presented = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not presented.strip():
        raise ApiError(401, "unauthorized", "Send an API key as 'Authorization: Bearer <key>'.")
    key = backend().api_keys.verify(presented.strip())
    if key is None:
        raise ApiError(401, "unauthorized", "The API key is unknown or revoked.")
    g.api_key = key
    return key


@bp.before_request
def _authenticate() -> None:
    if request.endpoint != "api.openapi":
        key = authenticated_key()
        method = "GET" if request.method == "HEAD" else request.method
        require_scope(method, request.url_rule.rule, key.scopes)


# Sender limits: one budget per API key across every route of the API. Flask-Limiter
# checks it before the blueprint's own hooks, so its key function authenticates: a
# request spends only a verified key's budget, and a bad key is a 401, never a 429.
api_rate_limit(bp, key_func=lambda: authenticated_key().key_id,
               exempt=lambda: request.endpoint == "api.openapi")


def parse_body(model: type[Model], root_field: str | None = None) -> Model:
    """The request's JSON body as ``model``; a 4xx :class:`ApiError` naming the field if not."""
    try:
        return model.model_validate_json(request.get_data() or b"null")
    except ValidationError as exc:
        raise from_validation_error(exc, root_field) from None


def limit_arg(default: int = 50, maximum: int = MAX_LIMIT) -> int:
    """The ``limit`` query argument: a page size from 1 to ``maximum``."""
    try:
        limit = int(request.args.get("limit", default))
    except ValueError:
        limit = 0
    if not 1 <= limit <= maximum:
        raise ApiError(422, "invalid_field", f"limit must be a whole number from 1 to "
                       f"{maximum}", "limit")
    return limit


def _user_id(value: str) -> str:
    if not is_user_id(value):
        raise ApiError(422, "invalid_field", "user_id must be 1-64 characters of "
                       "letters, digits and _ . : @ -", "user_id")
    return value


def _idempotency(key: str | None, body: BaseModel) -> tuple[str, str, str] | None:
    if key is None:
        return None
    canonical = body.model_dump_json(exclude={"idempotency_key"})
    return g.api_key.key_id, key, hashlib.sha256(canonical.encode()).hexdigest()


def _send(contents, deliveries, idempotency) -> SendOutcome:
    try:
        return backend().inbox.send(contents, deliveries, idempotency=idempotency)
    except IdempotencyConflict:
        raise ApiError(422, "idempotency_conflict", "This idempotency_key was already used "
                       "with a different request.", "idempotency_key") from None


def _schedule(body: SendRequest | BatchRequest):
    try:
        item = schedule_notifications(body, created_by=f"api:{g.api_key.key_id}",
                                      idempotency=_idempotency(body.idempotency_key, body))
    except IdempotencyConflict:
        raise ApiError(422, "idempotency_conflict", "This idempotency_key was already used "
                       "with a different request.", "idempotency_key") from None
    return _accepted(item)


def _accepted(item: ScheduledItem):
    response = jsonify(scheduled={"id": item.id, "kind": item.kind,
                                  "send_at": iso_utc(item.send_at)})
    response.status_code = 202
    if item.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return response


def _created(recipients: list[str], outcome: SendOutcome):
    sent = [{"user_id": u, "id": i} for u, i in zip(recipients, outcome.ids, strict=True)]
    response = jsonify(notifications=sent)
    response.status_code = 201
    if outcome.duplicate:
        response.headers["Idempotent-Replayed"] = "true"
    else:
        COUNTERS.sent += len(recipients)
    return response


@bp.post("/notifications")
def send_notification():
    """Send one notification to one user or to up to 1000 users, atomically, now or at send_at."""
    body = parse_body(SendRequest, root_field="user_id")
    if body.send_at is not None:
        return _schedule(body)
    recipients = body.recipients()
    outcome = _send([body], [(u, 0) for u in recipients],
                    _idempotency(body.idempotency_key, body))
    return _created(recipients, outcome)


@bp.post("/notifications/batch")
def send_batch():
    """Send up to 1000 different notifications in one atomic call, now or at send_at."""
    request.max_content_length = current_app.config["MAX_BATCH_BODY"]
    body = parse_body(BatchRequest)
    if body.send_at is not None:
        return _schedule(body)
    items = body.notifications
    outcome = _send(items, [(item.user_id, i) for i, item in enumerate(items)],
                    _idempotency(body.idempotency_key, body))
    return _created([item.user_id for item in items], outcome)


# The inbox of one user, as services see it here and the widget API
# (notifier.api_me) shows it to the user: one implementation for both.
def feed_page(user_id: str):
    """A page of the user's feed from the request's ``limit``, ``before`` and ``unread``."""
    args = request.args
    limit = limit_arg()
    before = args.get("before") or None
    if before is not None and not is_item_id(before):
        raise ApiError(422, "invalid_field", "before must be a notification or broadcast id",
                       "before")
    unread = args.get("unread", "0").lower()
    if unread not in ("0", "1", "true", "false"):
        raise ApiError(422, "invalid_field", "unread must be 1 or 0", "unread")
    items, cursor = backend().feed.page(
        user_id, limit=limit, before=before, unread_only=unread in ("1", "true"))
    return jsonify(notifications=[n.to_dict() for n in items], next=cursor)


def feed_mark_read(user_id: str):
    """Mark what the request's body names read; the ``{"marked", "unread"}`` answer."""
    changed, count = mark_read_as_asked(user_id, parse_body(MarkReadRequest, root_field="ids"))
    return jsonify(marked=changed, unread=count)


def mark_read_as_asked(user_id: str, body: MarkReadRequest) -> tuple[int, int]:
    """Mark what ``body`` names read (``/ws`` too); how many were newly read, and the unread
    count."""
    feed = backend().feed
    if body.all:
        return feed.mark_all_read(user_id, body.up_to)
    return feed.mark_read(user_id, body.ids or [])


def feed_delete(user_id: str, notification_id: str):
    """Delete one of the user's notifications (dismiss a broadcast); 404 when not theirs."""
    if not is_item_id(notification_id):
        raise ApiError(422, "invalid_field", "id must be a notification or broadcast id", "id")
    existed, count = backend().feed.delete(user_id, notification_id)
    if not existed:
        raise ApiError(404, "not_found", "No such notification for this user.")
    return jsonify(deleted=notification_id, unread=count)


@bp.get("/users/<user_id>/notifications")
def list_notifications(user_id: str):
    """A page of the user's notifications, newest first, with the next page's cursor."""
    return feed_page(_user_id(user_id))


@bp.get("/users/<user_id>/unread-count")
def unread_count(user_id: str):
    """How many unread, unexpired notifications and broadcasts the user has."""
    user_id = _user_id(user_id)
    return jsonify(user_id=user_id, unread=backend().feed.unread_count(user_id))


@bp.post("/users/<user_id>/notifications/read")
def mark_read(user_id: str):
    """Mark some notifications read (``ids``), or all of them (``all``)."""
    return feed_mark_read(_user_id(user_id))


@bp.delete("/users/<user_id>/notifications/<item_id:notification_id>")
def delete_notification(user_id: str, notification_id: str):
    """Delete one notification from the user's inbox (or dismiss a broadcast for them)."""
    return feed_delete(_user_id(user_id), notification_id)


@bp.post("/widget-tokens")
def create_widget_token():
    """A short-lived token that opens one user's event stream and widget API, from the
    origins it names (each allowed for this API key)."""
    body = parse_body(WidgetTokenRequest)
    shortest = int(current_app.config["WIDGET_TOKEN_MIN_TTL"])
    if body.ttl_seconds < shortest:
        raise ApiError(422, "invalid_field", f"ttl_seconds must be at least {shortest}",
                       "ttl_seconds")
    origins = list(dict.fromkeys(body.origins))
    allowed = g.api_key.origins
    refused = [o for o in origins if o not in allowed]
    if refused:
        hint = ("this API key allows none: an admin sets them in the console's API keys "
                "page or with `notifier api-keys set-origins`") if not allowed else \
            "allowed: " + ", ".join(allowed)
        raise ApiError(422, "origin_not_allowed",
                       f"origins: {refused[0]} is not among this API key's allowed origins "
                       f"({hint})", "origins")
    token, grant = tokens.mint(current_app.config["SECRET_KEY"], body.user_id,
                               body.ttl_seconds, origins, key_id=g.api_key.key_id)
    response = jsonify(token=token, user_id=grant.user_id,
                       expires_at=iso_utc(datetime.fromtimestamp(grant.expires_at, UTC)),
                       expires_in=body.ttl_seconds, origins=origins)
    response.status_code = 201
    return response


@bp.get("/openapi.json")
def openapi():
    """The OpenAPI 3.1 document of this API."""
    return jsonify(openapi_document(int(current_app.config["WIDGET_TOKEN_MIN_TTL"])))
