"""HTTP API v1: broadcasts, announcements to every user."""

from __future__ import annotations

from flask import g, jsonify

from notifier.api.requests import accepted, idempotency_of, limit_arg, parse_body
from notifier.backend import backend
from notifier.core.errors import ApiError
from notifier.core.idempotency import IdempotencyConflict
from notifier.core.ids import parse_broadcast_id
from notifier.model.requests import BroadcastRequest
from notifier.scheduling.announcements import schedule_broadcast
from notifier.stores.broadcasts import Broadcast, BroadcastError


def _broadcast_id(value: str) -> str:
    if parse_broadcast_id(value) is None:
        raise ApiError(422, "invalid_field", "id must be a broadcast id (b<ms>-<seq>)", "id")
    return value


def _found(broadcast: Broadcast | None) -> Broadcast:
    if broadcast is None:
        raise ApiError(404, "not_found", "No such broadcast.")
    return broadcast


def create_broadcast():
    """Announce something to every user, now or at send_at: stored once, merged into
    every feed."""
    body = parse_body(BroadcastRequest, root_field="title")
    idempotency = idempotency_of(body.idempotency_key, body)
    try:
        if body.send_at is not None:
            return accepted(schedule_broadcast(
                body, created_by=f"api:{g.api_key.key_id}", idempotency=idempotency))
        broadcast_id, duplicate = backend().broadcasts.create(body, idempotency=idempotency)
    except IdempotencyConflict:
        raise ApiError(422, "idempotency_conflict", "This idempotency_key was already used "
                       "with a different request.", "idempotency_key") from None
    response = jsonify(broadcast=_found(backend().broadcasts.get(broadcast_id)).to_dict())
    response.status_code = 201
    if duplicate:
        response.headers["Idempotent-Replayed"] = "true"
    return response


def list_broadcasts():
    """The newest retained broadcasts, expired ones included, newest first."""
    return jsonify(broadcasts=[b.to_dict() for b in backend().broadcasts.recent(limit_arg())])


def get_broadcast(broadcast_id: str):
    """One broadcast."""
    return jsonify(_found(backend().broadcasts.get(_broadcast_id(broadcast_id))).to_dict())


def end_broadcast(broadcast_id: str):
    """End the window a broadcast announces now (e.g. maintenance finished early)."""
    try:
        ended = backend().broadcasts.end_now(_broadcast_id(broadcast_id))
    except BroadcastError as exc:
        raise ApiError(409, "conflict", str(exc)) from None
    return jsonify(_found(ended).to_dict())
