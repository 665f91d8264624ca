"""What the service API's routes share: the verified key, bodies, arguments and answers."""

from __future__ import annotations

from typing import TypeVar

from flask import g, jsonify, request
from pydantic import BaseModel, ValidationError
from werkzeug.exceptions import HTTPException

from notifier import sending
from notifier.api.limiter import api_limits, over_api_budget, spend_api_budget
from notifier.backend import backend
from notifier.core.clock import iso_utc
from notifier.core.errors import ApiError, from_validation_error
from notifier.core.ids import is_user_id
from notifier.model.requests import BatchRequest, SendRequest
from notifier.scheduling.scheduler import ScheduledItem
from notifier.sending import fingerprint
from notifier.stores.api_keys import ApiKey
from notifier.stores.inbox import OverLimit, SendOutcome
from notifier.stores.worker_stats import COUNTERS

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


def parse_body(model: type[Model], root_field: str | None = None) -> Model:
    """The request's JSON body as ``model``; a 4xx :class:`ApiError` naming the field if not."""
    try:
        return model.model_validate_json(request.get_data() or b"null")
    except ValidationError as exc:
        raise from_validation_error(exc, root_field, content_type=request.content_type) from None


def parse_send_body(model: type[Model], root_field: str | None = None) -> Model:
    """:func:`parse_body` for the send routes, which spend the key's rate budget in their
    send script: a body refused here spends it first (a 429 when there is no room)."""
    try:
        return parse_body(model, root_field)
    except (ApiError, HTTPException):
        spend_api_budget(authenticated_key().key_id)
        raise


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


def user_id_arg(value: str) -> str:
    """``value`` when it is a user id; a 422 naming ``user_id`` if not."""
    if not is_user_id(value):
        raise ApiError(422, "invalid_field", "user_id must be 1-64 characters of "
                       "letters, digits and _ . : @ -", "user_id")
    return value


def idempotency_of(key: str | None, body: BaseModel) -> tuple[str, str, str] | None:
    """The (API key, idempotency key, body fingerprint) of a request that gave a key."""
    if key is None:
        return None
    return g.api_key.key_id, key, fingerprint(body)


def send(contents, deliveries, idempotency) -> SendOutcome:
    """Store and deliver the notifications, spending the key's rate budget in the same
    round trip; a 429 without room in it, a 422 when the idempotency key was used for
    another request."""
    key_id = g.api_key.key_id
    try:
        return sending.store(contents, deliveries, idempotency, limits=api_limits(key_id))
    except OverLimit as exc:
        raise over_api_budget(key_id, exc.limit) from None


def schedule(body: SendRequest | BatchRequest):
    """Schedule the send for ``body.send_at``: the 202 answer."""
    key_id = g.api_key.key_id
    spend_api_budget(key_id)
    return accepted(sending.schedule(body, key_id, created_by=f"api:{key_id}"))


def accepted(item: ScheduledItem):
    """The 202 answer naming a scheduled send."""
    response = jsonify(scheduled={"id": item.id, "kind": item.kind,
                                  "send_at": iso_utc(item.send_at)})
    response.status_code = 202
    if item.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return response


def created(recipients: list[str], outcome: SendOutcome):
    """The 201 answer listing each recipient's new notification id."""
    sent = [{"user_id": u, "id": i} for u, i in zip(recipients, outcome.ids, strict=True)]
    response = jsonify(notifications=sent)
    response.status_code = 201
    if outcome.duplicate:
        response.headers["Idempotent-Replayed"] = "true"
    else:
        COUNTERS.sent += len(recipients)
    return response
