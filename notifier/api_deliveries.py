"""HTTP API v1: a notification's delivery timeline (routes on the API blueprint)."""

from __future__ import annotations

from flask import jsonify

from .api import bp
from .api_errors import ApiError
from .backend import backend
from .ids import is_notification_id, is_user_id


@bp.get("/notifications/<user_id>/<notification_id>/deliveries")
def notification_deliveries(user_id: str, notification_id: str):
    """Every delivery attempt of one of the user's notifications, per channel and target,
    oldest first; 404 when the user has no such notification."""
    if not is_user_id(user_id):
        raise ApiError(422, "invalid_field", "user_id must be 1-64 characters of "
                       "letters, digits and _ . : @ -", "user_id")
    if not is_notification_id(notification_id):
        raise ApiError(422, "invalid_field", "notification_id must be a notification id "
                       "(<ms>-<seq>)", "notification_id")
    state = backend()
    events = state.deliveries.timeline(user_id, notification_id)
    if not events and not state.redis.xrange(state.keys.inbox(user_id), notification_id,
                                             notification_id, count=1):
        raise ApiError(404, "not_found", "No such notification for this user.")
    return jsonify(user_id=user_id, notification_id=notification_id, deliveries=events)
