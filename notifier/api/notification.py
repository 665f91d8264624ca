"""HTTP API v1: one notification as its sender sees it (routes on the API blueprint).

Its content and read state, its receipts (seen, read, clicked:
:mod:`notifier.stores.receipts`) and its delivery timeline per channel.
"""

from __future__ import annotations

from flask import jsonify

from notifier.backend import backend
from notifier.core.errors import ApiError
from notifier.core.ids import is_notification_id, is_user_id


def _checked(user_id: str, notification_id: str) -> None:
    if not is_user_id(user_id):
        raise ApiError(422, "invalid_field", "user_id must be 1-64 characters of "
                       "letters, digits and _ . : @ -", "user_id")
    if not is_notification_id(notification_id):
        raise ApiError(422, "invalid_field", "notification_id must be a notification id "
                       "(<ms>-<seq>)", "notification_id")


def notification_receipts(user_id: str, notification_id: str):
    """One of the user's notifications with its receipts and delivery timeline; 404 when the
    user has no such notification (deleted, trimmed or expired)."""
    _checked(user_id, notification_id)
    state = backend()
    notification = state.inbox.get(user_id, notification_id)
    if notification is None:
        raise ApiError(404, "not_found", "No such notification for this user.")
    return jsonify(notification=notification.to_dict(),
                   receipts=state.receipts.get(user_id, notification_id),
                   deliveries=state.deliveries.timeline(user_id, notification_id))


def notification_deliveries(user_id: str, notification_id: str):
    """Every delivery attempt of one of the user's notifications, per channel and target,
    oldest first; 404 when the user has no such notification."""
    _checked(user_id, notification_id)
    state = backend()
    events = state.deliveries.timeline(user_id, notification_id)
    if not events and not state.redis.xrange(state.keys.inbox(user_id), notification_id,
                                             notification_id, count=1):
        raise ApiError(404, "not_found", "No such notification for this user.")
    return jsonify(user_id=user_id, notification_id=notification_id, deliveries=events)
