"""HTTP API v1: who is online (routes on the API blueprint, behind its key check)."""

from __future__ import annotations

from datetime import datetime

from flask import jsonify, request

from notifier.api.requests import limit_arg
from notifier.backend import backend
from notifier.core.clock import iso_utc
from notifier.core.errors import ApiError
from notifier.core.ids import is_user_id

#: Largest page of online users one listing returns.
MAX_PRESENCE_LIMIT = 1000


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else iso_utc(moment)


def online_users():
    """The online users in user id order, with how many are online and the next page's cursor."""
    limit = limit_arg(default=100, maximum=MAX_PRESENCE_LIMIT)
    cursor = request.args.get("cursor") or None
    if cursor is not None and not is_user_id(cursor):
        raise ApiError(422, "invalid_field", "cursor must be the next of a previous page",
                       "cursor")
    page = backend().presence.online_page(limit, cursor)
    return jsonify(online=page.count, next=page.next,
                   users=[{"user_id": user_id, "since": _iso(since)}
                          for user_id, since in page.users])


def user_presence(user_id: str):
    """Whether the user is online now, since when, and when they were last seen."""
    if not is_user_id(user_id):
        raise ApiError(422, "invalid_field", "user_id must be 1-64 characters of "
                       "letters, digits and _ . : @ -", "user_id")
    status = backend().presence.status(user_id)
    return jsonify(user_id=user_id, online=status.online, since=_iso(status.since),
                   last_seen=_iso(status.last_seen))
