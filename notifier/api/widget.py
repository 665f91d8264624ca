"""The widget API: a user's own inbox, for pages holding a widget token.

Every route takes ``Authorization: Bearer <widget token>`` (never an API key)
and acts for the token's user only, from the origins the token allows, with
CORS for those origins (:mod:`notifier.api.widget_access`). The answers are those of
the service API's inbox routes (:mod:`notifier.api`), from the same code.
"""

from __future__ import annotations

from flask import Blueprint, g, jsonify, request

from notifier.api import widget_access
from notifier.api.inbox import (
    feed_archive,
    feed_delete,
    feed_mark_read,
    feed_mark_thread_read,
    feed_page,
    feed_snooze,
    feed_unsnooze,
)
from notifier.api.limiter import spend_widget_budget
from notifier.api.requests import parse_body
from notifier.backend import backend
from notifier.core.errors import ApiError
from notifier.core.ids import is_notification_id
from notifier.model.requests import ClickRequest, SeenRequest
from notifier.model.types import chip_labels
from notifier.stores.clicks import NotFollowable, follow

bp = Blueprint("api_me", __name__, url_prefix="/api/v1/me")


@bp.before_request
def _authorize():
    if request.method == "OPTIONS":
        return widget_access.preflight(request.url_rule.methods)
    scheme, _, presented = request.headers.get("Authorization", "").partition(" ")
    token = presented.strip() if scheme.lower() == "bearer" else None
    g.widget = widget_access.authorize(token)
    spend_widget_budget(g.widget.user_id)
    return None


bp.after_request(widget_access.add_cors_headers)


@bp.get("/notifications")
def list_notifications():
    """A page of the user's notifications and broadcasts, newest first, with the next cursor."""
    return feed_page(g.widget.user_id)


@bp.get("/unread-count")
def unread_count():
    """How many unread, unexpired notifications and broadcasts the user has."""
    user_id = g.widget.user_id
    return jsonify(user_id=user_id, unread=backend().feed.unread_count(user_id))


@bp.get("/types")
def type_chips():
    """How to name each notification type's chip: described labels, broadcast kinds, and
    the untyped type (no chip)."""
    return jsonify(chip_labels(backend().types.catalog()))


@bp.post("/notifications/read")
def mark_read():
    """Mark some of the user's notifications read (``ids``), or all (``all``)."""
    return feed_mark_read(g.widget.user_id)


@bp.post("/threads/<thread>/read")
def mark_thread_read(thread: str):
    """Mark every unread notification of one of the user's threads read."""
    return feed_mark_thread_read(g.widget.user_id, thread)


@bp.delete("/notifications/<item_id:notification_id>")
def delete_notification(notification_id: str):
    """Delete one of the user's notifications (dismiss a broadcast for them)."""
    return feed_delete(g.widget.user_id, notification_id)


@bp.post("/notifications/archive")
@bp.post("/notifications/<notification_id>/archive")
def archive(notification_id: str | None = None):
    """Archive some of the user's notifications (out of the inbox list, read)."""
    return feed_archive(g.widget.user_id, notification_id)


@bp.post("/notifications/unarchive")
@bp.post("/notifications/<notification_id>/unarchive")
def unarchive(notification_id: str | None = None):
    """Restore some of the user's archived notifications to the inbox list."""
    return feed_archive(g.widget.user_id, notification_id, restore=True)


@bp.post("/notifications/snooze")
@bp.post("/notifications/<notification_id>/snooze")
def snooze(notification_id: str | None = None):
    """Snooze some of the user's notifications until the body's ``until``."""
    return feed_snooze(g.widget.user_id, notification_id)


@bp.post("/notifications/unsnooze")
@bp.post("/notifications/<notification_id>/unsnooze")
def unsnooze(notification_id: str | None = None):
    """Bring some of the user's snoozed notifications back now, unread."""
    return feed_unsnooze(g.widget.user_id, notification_id)


@bp.post("/notifications/seen")
def mark_seen():
    """Record that the client showed these notifications (``seen_at``, the first time)."""
    body = parse_body(SeenRequest, root_field="ids")
    return jsonify(seen=backend().receipts.seen(g.widget.user_id, body.ids))


@bp.post("/notifications/<notification_id>/clicks")
def record_click(notification_id: str):
    """Record a click on the notification or one of its actions (it is read then), and
    answer the URL to open."""
    if not is_notification_id(notification_id):
        raise ApiError(422, "invalid_field", "id must be a notification id", "id")
    body = parse_body(ClickRequest, root_field="target")
    try:
        url = follow(backend(), g.widget.user_id, notification_id, str(body.target))
    except NotFollowable:
        raise ApiError(404, "not_found", "No such notification, or no such action on it.",
                       "target") from None
    return jsonify(url=url)
