"""HTTP API v1 for scheduled sends: list them, look one up, cancel one.

Sends are scheduled by giving ``send_at`` to the send endpoints (``notifier.api``);
these routes live on the same blueprint and authenticate the same way.
"""

from __future__ import annotations

import re

from flask import Response, jsonify, request

from notifier.api.requests import limit_arg
from notifier.backend import backend
from notifier.core.errors import ApiError
from notifier.core.ids import is_schedule_id
from notifier.scheduling.scheduler import KIND_PATTERN, is_cursor

_KIND = re.compile(KIND_PATTERN)


def _schedule_id(value: str) -> str:
    if not is_schedule_id(value):
        raise ApiError(422, "invalid_field", "id must be a schedule id (sch_ and 24 hex "
                       "digits)", "id")
    return value


def list_scheduled():
    """Scheduled sends not yet done (waiting, running, retrying or failed), soonest first."""
    limit = limit_arg()
    after = request.args.get("after") or None
    if after is not None and not is_cursor(after):
        raise ApiError(422, "invalid_field", "after must be the next of a previous page",
                       "after")
    kind = request.args.get("kind") or None
    if kind is not None and not _KIND.fullmatch(kind):
        raise ApiError(422, "invalid_field", "kind must be a lowercase slug", "kind")
    items, cursor = backend().scheduler.list(limit=limit, after=after, kind=kind)
    return jsonify(scheduled=[item.to_dict() for item in items], next=cursor)


def get_scheduled(schedule_id: str):
    """One scheduled send; 404 once it was sent or cancelled."""
    item = backend().scheduler.get(_schedule_id(schedule_id))
    if item is None:
        raise ApiError(404, "not_found", "No such scheduled send (it may have been sent "
                       "or cancelled).")
    return jsonify(item.to_dict())


def cancel_scheduled(schedule_id: str):
    """Cancel a scheduled send that has not started: 204, else 404."""
    if not backend().scheduler.cancel(_schedule_id(schedule_id)):
        raise ApiError(404, "not_found", "No scheduled send to cancel: unknown, already "
                       "sent or running, or cancelled.")
    return Response(status=204)
